package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration of the Hopper weight-gradient GEMM ({@code sm90_fp8_gemm_1d1d.cu}, sm_90a only): a
 * {@code blockM × blockN} FP32 tile per step of a persistent CTA, {@code stages} TMA pipeline stages, tile order
 * planned for {@code numSms} SMs, dense or K-grouped.
 */
public record Sm90Gemm1d1dConfig(int blockM, int blockN, int stages, int numSms, boolean kGrouped)
        implements KernelConfig {

    /** The configuration with the deepest pipeline that fits in shared memory (as the harness builds it). */
    public static Sm90Gemm1d1dConfig of(int blockM, int blockN, int numSms, boolean kGrouped) {
        return new Sm90Gemm1d1dConfig(blockM, blockN, CudaSources.sm90Gemm1d1dMaxStages(blockM, blockN), numSms,
                kGrouped);
    }

    @Override
    public KernelSource source() {
        return CudaSources.sm90Fp8Gemm1d1d(blockM, blockN, stages, numSms, kGrouped);
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
        return CudaSources.sm90Gemm1d1dSharedBytes(blockM, blockN, stages);
    }

    /** Tiles of one group's {@code m × n} output. */
    public long tiles(long m, long n) {
        return Sm90GemmConfig.ceilDiv(m, blockM) * Sm90GemmConfig.ceilDiv(n, blockN);
    }

    /** The persistent grid over {@code tiles} tiles: the fewest CTAs that keep the number of waves. */
    LaunchGeometry geometry(long tiles) {
        long waves = Sm90GemmConfig.ceilDiv(Math.max(tiles, 1), numSms);
        return new LaunchGeometry(LaunchGeometry.blocks(Math.max(tiles, 1), waves), 1, 1, threads(),
                dynamicSharedBytes());
    }

    @Override
    public String toString() {
        return "sm90 1D1D " + (kGrouped ? "k-grouped " : "") + blockM + "x" + blockN + ", " + stages + " stages, "
                + threads() + " threads, " + dynamicSharedBytes() + " B smem, planned for " + numSms + " SMs";
    }
}
