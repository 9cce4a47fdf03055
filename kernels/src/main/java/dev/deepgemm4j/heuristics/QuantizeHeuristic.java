package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import java.util.ArrayList;
import java.util.List;

/** Launch geometry of the FP8 quantiser ({@code cast_to_fp8.cu}): one CTA per scale block. */
public final class QuantizeHeuristic {

    /** The granularities the API produces: per token (1×128), per block (128×128), per channel (128×1). */
    public static final List<int[]> GRANULARITIES = List.of(new int[] {1, 128}, new int[] {128, 128},
            new int[] {128, 1});
    private static final int MAX_THREADS = 256;

    private QuantizeHeuristic() {
    }

    /**
     * x [batch, rows, cols] with granRows × granCols blocks: grid (ceil(rows/granRows)·ceil(cols/granCols), 1,
     * batch), threads = the block's element count rounded up to a warp, at most 256.
     */
    public static Launch<SimpleKernelConfig> cast(long batch, long rows, long cols, int granRows, int granCols,
            boolean bf16Input, boolean ue8m0) {
        if (batch < 1 || rows < 1 || cols < 1) {
            throw new IllegalArgumentException("need batch, rows, cols >= 1, got " + batch + ", " + rows + ", " + cols);
        }
        SimpleKernelConfig config = config(granRows, granCols, bf16Input, ue8m0);
        long blocks = Math.ceilDiv(rows, granRows) * Math.ceilDiv(cols, granCols);
        return new Launch<>(config, new LaunchGeometry(LaunchGeometry.blocks(blocks, 1), 1,
                Math.toIntExact(batch), config.threads(), 0));
    }

    /** Every configuration {@link #cast} can return for the API's granularities. */
    public static List<KernelConfig> allConfigs() {
        List<KernelConfig> all = new ArrayList<>();
        for (int[] g : GRANULARITIES) {
            for (boolean bf16Input : new boolean[] {false, true}) {
                for (boolean ue8m0 : new boolean[] {false, true}) {
                    all.add(config(g[0], g[1], bf16Input, ue8m0));
                }
            }
        }
        return all;
    }

    private static SimpleKernelConfig config(int granRows, int granCols, boolean bf16Input, boolean ue8m0) {
        int elements = Math.multiplyExact(granRows, granCols);
        int threads = Math.min(MAX_THREADS, (elements + 31) / 32 * 32);
        int warps = threads / 32;
        return new SimpleKernelConfig(CudaSources.castToFp8(granRows, granCols, bf16Input, ue8m0, threads), threads,
                4 * warps + 4);
    }
}
