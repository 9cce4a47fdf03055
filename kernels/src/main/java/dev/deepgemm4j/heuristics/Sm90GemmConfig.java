package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration of the Hopper dense GEMM ({@code sm90_fp8_gemm_1d2d.cu}, sm_90a only): a {@code blockM × blockN}
 * tile per step of a persistent CTA, {@code stages} TMA pipeline stages, tile order planned for {@code numSms} SMs.
 */
public record Sm90GemmConfig(int blockM, int blockN, int stages, int numSms) implements KernelConfig {

    /** The configuration with the deepest pipeline that fits in shared memory (as the verified harness builds). */
    public static Sm90GemmConfig of(int blockM, int blockN, int numSms) {
        return new Sm90GemmConfig(blockM, blockN, CudaSources.sm90MaxStages(blockM, blockN), numSms);
    }

    @Override
    public KernelSource source() {
        return CudaSources.sm90Fp8Gemm1d2d(blockM, blockN, stages, numSms);
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
     * The persistent grid for an {@code m × n} output: the fewest CTAs that keep the number of waves over
     * {@link #numSms}, so that every CTA gets the same number of tiles ± 1.
     */
    LaunchGeometry geometry(long m, long n) {
        long tiles = tiles(m, n);
        long waves = ceilDiv(tiles, numSms);
        return new LaunchGeometry(LaunchGeometry.blocks(tiles, waves), 1, 1, threads(), dynamicSharedBytes());
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public String toString() {
        return "sm90 1D2D " + blockM + "x" + blockN + ", " + stages + " stages, " + threads() + " threads, "
                + dynamicSharedBytes() + " B smem, planned for " + numSms + " SMs";
    }
}
