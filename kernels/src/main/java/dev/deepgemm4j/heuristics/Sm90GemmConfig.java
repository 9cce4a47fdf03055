package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration of the Hopper GEMM ({@code sm90_fp8_gemm_1d2d.cu}, sm_90a only): a {@code blockM × blockN} tile per
 * step of a persistent CTA, {@code stages} TMA pipeline stages, tile order planned for {@code numSms} SMs, and the
 * GEMM it is built for ({@link Type}: dense, or one of the M-grouped MoE layouts); a configuration may run in
 * clusters of {@code clusterM} = 2 CTAs on consecutive tiles that share each B tile by TMA multicast where both
 * tiles read the same one (1: no cluster; 2 needs at least two M blocks, see {@link #fits}).
 */
public record Sm90GemmConfig(int blockM, int blockN, int stages, int numSms, Type type, int clusterM)
        implements KernelConfig {

    /** What the kernel computes (its DG_GEMM_TYPE). */
    public enum Type {
        DENSE(CudaSources.SM90_DENSE),
        /** M-grouped contiguous, one expert id (or −1) per row. */
        CONTIGUOUS_INDEX(CudaSources.SM90_CONTIGUOUS_INDEX),
        /** M-grouped contiguous, each expert's end row. */
        CONTIGUOUS_PSUM(CudaSources.SM90_CONTIGUOUS_PSUM),
        /** M-grouped masked, masked_m read on the device. */
        MASKED(CudaSources.SM90_MASKED);

        final int code;

        Type(int code) {
            this.code = code;
        }
    }

    /** A dense configuration. */
    public Sm90GemmConfig(int blockM, int blockN, int stages, int numSms) {
        this(blockM, blockN, stages, numSms, Type.DENSE);
    }

    /** A configuration without clusters. */
    public Sm90GemmConfig(int blockM, int blockN, int stages, int numSms, Type type) {
        this(blockM, blockN, stages, numSms, type, 1);
    }

    public Sm90GemmConfig {
        if (type == null) {
            throw new IllegalArgumentException("type must not be null");
        }
        if (clusterM != 1 && clusterM != 2) {
            throw new IllegalArgumentException("clusterM must be 1 or 2, got " + clusterM);
        }
        if (clusterM > numSms) {
            throw new IllegalArgumentException("clusters of " + clusterM + " need numSms >= " + clusterM + ", got "
                    + numSms);
        }
    }

    /** The dense configuration in clusters of 2 along M with the deepest pipeline that fits in shared memory. */
    public static Sm90GemmConfig clustered(int blockM, int blockN, int numSms) {
        return new Sm90GemmConfig(blockM, blockN, CudaSources.sm90MaxStages(blockM, blockN), numSms, Type.DENSE, 2);
    }

    /** The dense configuration with the deepest pipeline that fits in shared memory (as the verified harness builds). */
    public static Sm90GemmConfig of(int blockM, int blockN, int numSms) {
        return of(blockM, blockN, numSms, Type.DENSE);
    }

    /** The configuration of {@code type} with the deepest pipeline that fits in shared memory. */
    public static Sm90GemmConfig of(int blockM, int blockN, int numSms, Type type) {
        return new Sm90GemmConfig(blockM, blockN, CudaSources.sm90MaxStages(blockM, blockN), numSms, type);
    }

    @Override
    public KernelSource source() {
        return CudaSources.sm90Fp8GemmGrouped1d2d(blockM, blockN, stages, numSms, type.code, clusterM);
    }

    @Override
    public int threads() {
        return CudaSources.sm90Threads(blockM);
    }

    @Override
    public int staticSharedBytes() {
        return 0;
    }

    /** Dynamic shared memory per CTA. */
    public int dynamicSharedBytes() {
        return CudaSources.sm90SharedBytes(blockM, blockN, stages);
    }

    /** Tiles of D for an {@code m × n} output. */
    public long tiles(long m, long n) {
        return ceilDiv(m, blockM) * ceilDiv(n, blockN);
    }

    /**
     * Whether this configuration suits an {@code m × n} output: a cluster of 2 needs at least two M blocks, since
     * the kernel pairs tiles 2p and 2p + 1 in the two CTAs and multicasts B only where they are M blocks of one N
     * block (with a single M block no pair ever shares B). An odd number of M blocks or of tiles is fine: the kernel
     * decides multicast per tile pair.
     */
    public boolean fits(long m, long n) {
        return m > 0 && n > 0 && ceilDiv(m, blockM) >= clusterM;
    }

    /**
     * The persistent grid for an {@code m × n} output: the fewest clusters (CTAs) that keep the number of waves over
     * {@link #numSms}, so that every CTA gets the same number of tiles ± 1.
     *
     * @throws IllegalArgumentException if the configuration does not {@link #fits fit} the output
     */
    LaunchGeometry geometry(long m, long n) {
        if (!fits(m, n)) {
            throw new IllegalArgumentException("m = " + m + " gives " + ceilDiv(m, blockM) + " blocks of " + blockM
                    + " rows, fewer than the cluster of " + clusterM);
        }
        return new LaunchGeometry(gridCtas(m, n), 1, 1, threads(), dynamicSharedBytes(), clusterM);
    }

    /** CTAs of {@link #geometry}: a multiple of {@code clusterM}, at most {@code numSms} rounded down to one. */
    int gridCtas(long m, long n) {
        long units = ceilDiv(tiles(m, n), clusterM);
        long slots = numSms / clusterM;
        long waves = ceilDiv(units, slots);
        return LaunchGeometry.blocks(units, waves) * clusterM;
    }

    /**
     * The persistent grid of a masked launch over {@code groups} groups of at most {@code maxM} rows: masked_m is only
     * known on the device, so the grid covers the most tiles the groups can have, capped at {@link #numSms} (CTAs
     * without a tile exit at once). The launch is then the same whatever masked_m holds, as graph replay needs.
     */
    LaunchGeometry maskedGeometry(long groups, long maxM, long n) {
        long units = ceilDiv(groups * tiles(maxM, n), clusterM);
        int ctas = (int) Math.max(1, Math.min(units, numSms / clusterM)) * clusterM;
        return new LaunchGeometry(ctas, 1, 1, threads(), dynamicSharedBytes(), clusterM);
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public String toString() {
        String kind = switch (type) {
            case DENSE -> "sm90 1D2D ";
            case CONTIGUOUS_INDEX -> "sm90 1D2D contiguous (index) ";
            case CONTIGUOUS_PSUM -> "sm90 1D2D contiguous (psum) ";
            case MASKED -> "sm90 1D2D masked ";
        };
        return kind + blockM + "x" + blockN + ", " + stages + " stages, " + threads() + " threads, "
                + dynamicSharedBytes() + " B smem, planned for " + numSms + " SMs"
                + (clusterM > 1 ? ", clusters of " + clusterM + " along M (B multicast)" : "");
    }
}
