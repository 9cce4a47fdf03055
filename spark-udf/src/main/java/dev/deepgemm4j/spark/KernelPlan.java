package dev.deepgemm4j.spark;

import dev.deepgemm4j.GpuTarget;
import dev.deepgemm4j.KernelPack;
import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;

/**
 * The kernels a {@link MoeLayer} batch can need on a GPU, from the job's shapes: the per-token quantiser of the
 * activations and, for each projection, the grouped GEMM for every row count a batch can have (it depends on the
 * routing, so all of them up to the largest batch are planned).
 */
final class KernelPlan {

    private KernelPlan() {
    }

    /**
     * @param maxSlotsPerToken the most experts one token can go to (top-k, or E when routing comes with the rows)
     * @param alignment the contiguous layout's segment alignment
     * @param target the executors' GPUs
     */
    static KernelPack.Plan moeScorer(int experts, int hidden, int intermediate, int batchTokens,
            int maxSlotsPerToken, ExpertLayout layout, int alignment, GpuTarget target) {
        KernelPack.Plan plan = KernelPack.plan(target).quantizePerToken(hidden).quantizePerToken(intermediate);
        long maxSlots = (long) batchTokens * maxSlotsPerToken;
        for (long[] nk : new long[][] {{2L * intermediate, hidden}, {hidden, intermediate}}) {
            if (layout == ExpertLayout.CONTIGUOUS) {
                // Each expert's segment is padded up to the alignment: at most one partial segment per expert.
                plan.groupedGemmContiguous(maxSlots + (long) experts * alignment, nk[0], nk[1], alignment);
            } else {
                plan.groupedGemmMasked(experts, maxSlots, nk[0], nk[1]);
            }
        }
        return plan;
    }
}
