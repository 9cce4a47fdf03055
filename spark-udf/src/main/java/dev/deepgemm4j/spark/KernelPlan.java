package dev.deepgemm4j.spark;

import dev.deepgemm4j.heuristics.GroupedGemmHeuristic;
import dev.deepgemm4j.heuristics.KernelConfig;
import dev.deepgemm4j.heuristics.QuantizeHeuristic;
import dev.deepgemm4j.jit.GemmScales;
import dev.deepgemm4j.jit.KernelSource;
import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The kernels a {@link MoeLayer} batch can need on a GPU, from the job's shapes: the per-token quantiser of the
 * activations and, for each projection, every configuration the grouped-GEMM heuristic can choose for the batch's
 * possible row counts (which depend on the routing, so all of them up to the largest batch are enumerated).
 */
final class KernelPlan {

    private KernelPlan() {
    }

    /**
     * @param maxSlotsPerToken the most experts one token can go to (top-k, or E when routing comes with the rows)
     * @param alignment the contiguous layout's segment alignment
     * @param numSms the executors' SM count
     */
    static List<KernelSource> moeScorer(int experts, int hidden, int intermediate, int batchTokens,
            int maxSlotsPerToken, ExpertLayout layout, int alignment, int numSms) {
        Set<KernelConfig> configs = new LinkedHashSet<>();
        configs.add(QuantizeHeuristic.cast(1, 1, hidden, 1, 128, false, false).config());
        configs.add(QuantizeHeuristic.cast(1, 1, intermediate, 1, 128, false, false).config());
        long maxSlots = (long) batchTokens * maxSlotsPerToken;
        for (long[] nk : new long[][] {{2L * intermediate, hidden}, {hidden, intermediate}}) {
            if (layout == ExpertLayout.CONTIGUOUS) {
                for (long rows = alignment; rows <= maxSlots + (long) experts * alignment; rows += alignment) {
                    configs.add(GroupedGemmHeuristic.contiguous(rows, nk[0], nk[1], alignment, false,
                            GemmScales.FP32_PER_BLOCK_B, numSms).config());
                }
            } else {
                for (long expected = 1; expected <= maxSlots; expected++) {
                    configs.add(GroupedGemmHeuristic.masked(experts, expected, expected, nk[0], nk[1],
                            GemmScales.FP32_PER_BLOCK_B, numSms).config());
                }
            }
        }
        return configs.stream().map(KernelConfig::source).distinct().toList();
    }
}
