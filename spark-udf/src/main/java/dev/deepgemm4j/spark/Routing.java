package dev.deepgemm4j.spark;

import java.util.Arrays;

/**
 * Which experts each token of a batch goes to, and with what weight: token t owns the slots
 * {@code [offsets[t], offsets[t+1])}, slot s sending the token to expert {@code experts[s]} with combine weight
 * {@code weights[s]}. Tokens may have different slot counts (zero slots score to a zero vector).
 *
 * @param offsets slot ranges per token, length tokens + 1, starting at 0 and non-decreasing
 * @param experts expert id per slot
 * @param weights combine weight per slot
 */
public record Routing(int[] offsets, int[] experts, float[] weights) {

    public Routing {
        if (offsets.length == 0 || offsets[0] != 0 || offsets[offsets.length - 1] != experts.length
                || experts.length != weights.length) {
            throw new IllegalArgumentException("offsets must run from 0 to the slot count " + experts.length
                    + " (weights: " + weights.length + "), got " + offsets.length + " offsets");
        }
        for (int t = 1; t < offsets.length; t++) {
            if (offsets[t] < offsets[t - 1]) {
                throw new IllegalArgumentException("offsets must be non-decreasing, got " + Arrays.toString(offsets));
            }
        }
    }

    /** Number of tokens. */
    public int tokens() {
        return offsets.length - 1;
    }

    /** Number of (token, expert) slots. */
    public int slots() {
        return experts.length;
    }

    /**
     * Top-k routing from router logits: softmax over the experts, the {@code k} most probable (ties to the lower id),
     * weights renormalised to sum to 1 per token.
     *
     * @param logits [tokens, experts], row-major
     */
    public static Routing topK(float[] logits, int tokens, int experts, int k) {
        if (k < 1 || k > experts) {
            throw new IllegalArgumentException("top-k must be in [1, experts = " + experts + "], got " + k);
        }
        int[] offsets = new int[tokens + 1];
        int[] ids = new int[tokens * k];
        float[] weights = new float[tokens * k];
        double[] p = new double[experts];
        for (int t = 0; t < tokens; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[t * experts + e]);
            }
            for (int e = 0; e < experts; e++) {
                p[e] = Math.exp(logits[t * experts + e] - max);
            }
            double kept = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (p[e] >= 0 && (best < 0 || p[e] > p[best])) {
                        best = e;
                    }
                }
                ids[t * k + j] = best;
                weights[t * k + j] = (float) p[best];
                kept += p[best];
                p[best] = -1; // taken
            }
            for (int j = 0; j < k; j++) {
                weights[t * k + j] = (float) (weights[t * k + j] / kept);
            }
            offsets[t + 1] = (t + 1) * k;
        }
        return new Routing(offsets, ids, weights);
    }
}
