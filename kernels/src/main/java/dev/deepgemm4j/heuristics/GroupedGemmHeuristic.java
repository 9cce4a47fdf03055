package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.GemmScales;
import java.util.ArrayList;
import java.util.List;

/**
 * Tile choice and launch geometry of the grouped GEMM kernels ({@code grouped_gemm_contiguous.cu},
 * {@code grouped_gemm_masked.cu}, {@code k_grouped_gemm.cu}); 256 threads and no dynamic shared memory throughout.
 */
public final class GroupedGemmHeuristic {

    /** Contiguous layouts: blockM never exceeds this, nor the segment alignment, so tiles rarely straddle experts. */
    private static final int CONTIGUOUS_MAX_BLOCK_M = 64;

    private GroupedGemmHeuristic() {
    }

    /**
     * M-grouped contiguous: grid (ceil(mTotal/blockM), ceil(n/blockN), 1). blockM ≤ min(alignment, 64), so with a
     * valid layout every tile belongs to one expert (the kernel copes with mixed tiles anyway).
     *
     * @param alignment the segment alignment (a power of two ≥ 16)
     */
    public static Launch<GemmConfig> contiguous(long mTotal, long n, long k, int alignment, boolean psumLayout,
            GemmScales scales, int numSms) {
        DenseGemmHeuristic.requireShape(mTotal, n, k, numSms);
        if (alignment < 1) {
            throw new IllegalArgumentException("alignment must be positive, got " + alignment);
        }
        int[] tile = GemmTiles.choose(Math.min(alignment, CONTIGUOUS_MAX_BLOCK_M), mTotal, n, 1, numSms);
        GemmConfig config = new GemmConfig(psumLayout ? GemmConfig.Kind.CONTIGUOUS_PSUM
                : GemmConfig.Kind.CONTIGUOUS_INDEX, tile[0], tile[1], scales, true);
        return new Launch<>(config, config.geometry(mTotal, n, 1));
    }

    /**
     * M-grouped masked: grid (ceil(maxM/blockM), ceil(n/blockN), numGroups), tiles sized for {@code expectedM} rows
     * per group (the real counts are read on the device).
     */
    public static Launch<GemmConfig> masked(int numGroups, long maxM, long expectedM, long n, long k,
            GemmScales scales, int numSms) {
        DenseGemmHeuristic.requireShape(maxM, n, k, numSms);
        requireGroups(numGroups);
        long hint = Math.clamp(expectedM, 1, maxM);
        int[] tile = GemmTiles.choose(hint, hint, n, numGroups, numSms);
        GemmConfig config = new GemmConfig(GemmConfig.Kind.MASKED, tile[0], tile[1], scales, true);
        return new Launch<>(config, config.geometry(maxM, n, numGroups));
    }

    /** K-grouped: grid (ceil(m/blockM), ceil(n/blockN), numGroups). */
    public static Launch<GemmConfig> kGrouped(int numGroups, long m, long n, boolean mnMajor, int numSms) {
        DenseGemmHeuristic.requireShape(m, n, 0, numSms);
        requireGroups(numGroups);
        int[] tile = GemmTiles.choose(m, m, n, numGroups, numSms);
        GemmConfig config = new GemmConfig(mnMajor ? GemmConfig.Kind.K_GROUPED_TN : GemmConfig.Kind.K_GROUPED_NT,
                tile[0], tile[1], GemmScales.FP32_PER_ROW_B, false);
        return new Launch<>(config, config.geometry(m, n, numGroups));
    }

    /** Every configuration the three methods can return. */
    public static List<GemmConfig> allConfigs() {
        List<GemmConfig> all = new ArrayList<>();
        for (int[] tile : GemmTiles.TILES) {
            for (GemmScales scales : GemmScales.values()) {
                if (tile[0] <= CONTIGUOUS_MAX_BLOCK_M) {
                    all.add(new GemmConfig(GemmConfig.Kind.CONTIGUOUS_INDEX, tile[0], tile[1], scales, true));
                    all.add(new GemmConfig(GemmConfig.Kind.CONTIGUOUS_PSUM, tile[0], tile[1], scales, true));
                }
                all.add(new GemmConfig(GemmConfig.Kind.MASKED, tile[0], tile[1], scales, true));
            }
            all.add(new GemmConfig(GemmConfig.Kind.K_GROUPED_NT, tile[0], tile[1], GemmScales.FP32_PER_ROW_B, false));
            all.add(new GemmConfig(GemmConfig.Kind.K_GROUPED_TN, tile[0], tile[1], GemmScales.FP32_PER_ROW_B, false));
        }
        return all;
    }

    private static void requireGroups(int numGroups) {
        if (numGroups < 1 || numGroups > LaunchGeometry.MAX_GRID_YZ) {
            throw new IllegalArgumentException("numGroups must be in [1, 65535], got " + numGroups);
        }
    }
}
