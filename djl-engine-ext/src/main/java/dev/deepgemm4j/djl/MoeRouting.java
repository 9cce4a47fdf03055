package dev.deepgemm4j.djl;

import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;

/**
 * Where each token of an MoE layer goes: softmax over the router logits, the top-k experts per token (ties to the
 * lower expert index) with their probabilities as combine weights, and the contiguous grouped layout those choices
 * give: expert e owns rows [start_e, start_e + count_e), each start a multiple of the alignment, tokens in order
 * within a segment, and the padding rows up to the next segment marked −1.
 */
final class MoeRouting {

    private final int tokens;
    private final int topK;
    /** [T·k] the j-th expert of token t at t·k + j. */
    private final int[] experts;
    /** [T·k] the router probability of that choice. */
    private final float[] gates;
    /** [T·k] the row of the permuted layout that holds that choice. */
    private final int[] rows;
    /** [M_total] the expert of each permuted row, −1 for padding. */
    private final int[] mIndices;

    private MoeRouting(int tokens, int topK, int[] experts, float[] gates, int[] rows, int[] mIndices) {
        this.tokens = tokens;
        this.topK = topK;
        this.experts = experts;
        this.gates = gates;
        this.rows = rows;
        this.mIndices = mIndices;
    }

    /**
     * @param logits [T, E] router logits, row-major
     * @param alignment segment alignment, {@code DeepGemm.getMkAlignmentForContiguousLayout()}
     */
    static MoeRouting route(double[] logits, int tokens, int numExperts, int topK, int alignment) {
        int[] experts = new int[tokens * topK];
        float[] gates = new float[tokens * topK];
        int[] counts = new int[numExperts];
        double[] probs = new double[numExperts];
        boolean[] taken = new boolean[numExperts];
        for (int t = 0; t < tokens; t++) {
            softmax(logits, t * numExperts, probs);
            Arrays.fill(taken, false);
            for (int j = 0; j < topK; j++) {
                int best = -1;
                for (int e = 0; e < numExperts; e++) {
                    if (!taken[e] && (best < 0 || probs[e] > probs[best])) {
                        best = e;
                    }
                }
                taken[best] = true;
                experts[t * topK + j] = best;
                gates[t * topK + j] = (float) probs[best];
                counts[best]++;
            }
        }
        int[] starts = new int[numExperts];
        int total = 0;
        for (int e = 0; e < numExperts; e++) {
            starts[e] = total;
            total += ceilTo(counts[e], alignment);
        }
        int[] mIndices = new int[total];
        Arrays.fill(mIndices, -1);
        int[] filled = new int[numExperts];
        int[] rows = new int[tokens * topK];
        for (int i = 0; i < rows.length; i++) {
            int e = experts[i];
            rows[i] = starts[e] + filled[e]++;
            mIndices[rows[i]] = e;
        }
        return new MoeRouting(tokens, topK, experts, gates, rows, mIndices);
    }

    private static void softmax(double[] logits, int offset, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int e = 0; e < out.length; e++) {
            max = Math.max(max, logits[offset + e]);
        }
        double sum = 0;
        for (int e = 0; e < out.length; e++) {
            out[e] = Math.exp(logits[offset + e] - max);
            sum += out[e];
        }
        for (int e = 0; e < out.length; e++) {
            out[e] /= sum;
        }
    }

    private static int ceilTo(int v, int alignment) {
        return (v + alignment - 1) / alignment * alignment;
    }

    /** M_total: rows of the permuted layout, padding included. */
    int rowCount() {
        return mIndices.length;
    }

    /** The expert of each permuted row, −1 for padding (the grouped GEMM's m_indices). */
    int[] mIndices() {
        return mIndices.clone();
    }

    /** The chosen experts, [T, k] row-major. */
    int[] experts() {
        return experts.clone();
    }

    /** The router probabilities of the chosen experts, [T, k] row-major. */
    float[] gates() {
        return gates.clone();
    }

    /** Token rows x [T, width] copied to their permuted rows [M_total, width]; padding rows are zeros. */
    float[] permute(float[] x, int width) {
        float[] out = new float[mIndices.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(x, (i / topK) * width, out, rows[i] * width, width);
        }
        return out;
    }

    /** {@code f} applied to every non-padding element of permuted rows [M_total, width]; padding rows become 0. */
    float[] mapRows(float[] permuted, int width, DoubleUnaryOperator f) {
        float[] out = new float[permuted.length];
        for (int r = 0; r < mIndices.length; r++) {
            if (mIndices[r] >= 0) {
                for (int c = r * width; c < (r + 1) * width; c++) {
                    out[c] = (float) f.applyAsDouble(permuted[c]);
                }
            }
        }
        return out;
    }

    /** Per token, the gate-weighted sum of its experts' permuted rows [M_total, width]: [T, width]. */
    float[] combine(float[] permuted, int width) {
        double[] acc = new double[width];
        float[] out = new float[tokens * width];
        for (int t = 0; t < tokens; t++) {
            Arrays.fill(acc, 0);
            for (int j = 0; j < topK; j++) {
                int i = t * topK + j;
                int base = rows[i] * width;
                for (int c = 0; c < width; c++) {
                    acc[c] += (double) gates[i] * permuted[base + c];
                }
            }
            for (int c = 0; c < width; c++) {
                out[t * width + c] = (float) acc[c];
            }
        }
        return out;
    }
}
