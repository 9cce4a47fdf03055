package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration of the Hopper small-M GEMM ({@code sm90_fp8_gemm_1d2d_small_m.cu}, sm_90a only): tiles of
 * {@code blockRows} rows of B by {@code tokens} token columns, {@code stages} TMA pipeline stages. The split-K factor
 * is a launch argument, not part of the configuration, so one binary serves every split.
 */
public record Sm90SmallMGemmConfig(int tokens, int blockRows, int stages) implements KernelConfig {

    public Sm90SmallMGemmConfig {
        // Failing here names the configuration, not a later compile.
        CudaSources.requireSm90SmallM(tokens, blockRows, stages);
    }

    /** The configuration with the deepest pipeline that fits in shared memory (as the verified harness builds). */
    public static Sm90SmallMGemmConfig of(int tokens, int blockRows) {
        return new Sm90SmallMGemmConfig(tokens, blockRows, CudaSources.sm90SmallMMaxStages(tokens, blockRows));
    }

    @Override
    public KernelSource source() {
        return CudaSources.sm90Fp8Gemm1d2dSmallM(tokens, blockRows, stages);
    }

    @Override
    public int threads() {
        return CudaSources.sm90SmallMThreads(blockRows);
    }

    @Override
    public int staticSharedBytes() {
        return 0;
    }

    /** Dynamic shared memory per CTA. */
    public int dynamicSharedBytes() {
        return CudaSources.sm90SmallMSharedBytes(tokens, blockRows, stages);
    }

    /** Row tiles of B for {@code n} rows. */
    public long tiles(long n) {
        return (n + blockRows - 1) / blockRows;
    }

    /** Work units of a launch: every row tile once per K split. */
    public long units(long n, int splits) {
        return tiles(n) * splits;
    }

    /** FP32 partials a launch with {@code splits} K splits needs (0 without split-K). */
    public long workspaceFloats(long n, int splits) {
        return splits > 1 ? CudaSources.sm90SmallMWorkspaceFloats(tokens, blockRows, n, splits) : 0;
    }

    /** The persistent grid: one CTA per work unit, at most one per SM (the kernel needs all of one SM's smem). */
    LaunchGeometry geometry(long n, int splits, int numSms) {
        int ctas = (int) Math.min(units(n, splits), numSms);
        return new LaunchGeometry(Math.max(1, ctas), 1, 1, threads(), dynamicSharedBytes());
    }

    @Override
    public String toString() {
        return "sm90 1D2D small-M " + tokens + " tokens x " + blockRows + " rows, " + stages + " stages, "
                + threads() + " threads, " + dynamicSharedBytes() + " B smem";
    }
}
