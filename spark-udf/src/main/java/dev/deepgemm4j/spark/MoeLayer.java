package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.util.Arrays;

/**
 * The MoE scorer's batch path, without Spark: one batch of tokens through a {@link MoeModel}, each projection as ONE
 * grouped FP8 GEMM over all experts. It runs where the model's weights live (a GPU, or the host on the CPU backend);
 * activations are quantised there per token (1×128), so a token's result does not depend on the batch it is in.
 *
 * <p>Per batch: the tokens' (token, expert) slots are sorted by expert into the grouped operand (contiguous: expert
 * segments aligned to {@link DeepGemm#getMkAlignmentForContiguousLayout()}, padding rows marked −1; masked: one
 * [M_max, D] block per expert with {@code masked_m} = its token count); GEMM 1 gives gate and up
 * ([rows, 2F], BF16); SiLU(gate)·up is quantised per token; GEMM 2 gives [rows, D]; each token's output is the sum of
 * its slots' rows times their routing weights.
 */
public final class MoeLayer {

    /** How the experts' rows are laid out for the grouped GEMMs. */
    public enum ExpertLayout {
        /** {@link DeepGemm#mGroupedFp8GemmNtContiguous}: experts end to end, each segment aligned. */
        CONTIGUOUS,
        /** {@link DeepGemm#mGroupedFp8GemmNtMasked}: a fixed-size block per expert, its first rows valid. */
        MASKED
    }

    /**
     * One scored batch.
     *
     * @param values the outputs, [tokens, D] row-major
     * @param gemmRows rows of each grouped GEMM's A operand (slots plus layout padding)
     */
    public record Output(float[] values, int gemmRows) {
    }

    private final MoeModel model;
    private final ExpertLayout layout;

    /** A layer over {@code model}'s weights (which stay owned by the caller). */
    public MoeLayer(MoeModel model, ExpertLayout layout) {
        this.model = model;
        this.layout = layout;
    }

    /** The model. */
    public MoeModel model() {
        return model;
    }

    /**
     * Top-k routing of {@code hidden} ([tokens, D]) by the model's router.
     *
     * @throws IllegalStateException if the model has no router
     */
    public Routing route(float[] hidden, int tokens, int topK) {
        Tensor router = model.router();
        if (router == null) {
            throw new IllegalStateException("the model has no router: give the routing with the tokens");
        }
        int e = model.experts();
        int d = model.hidden();
        float[] w = router.toFloatArray();
        float[] logits = new float[tokens * e];
        for (int t = 0; t < tokens; t++) {
            for (int x = 0; x < e; x++) {
                float acc = 0;
                for (int j = 0; j < d; j++) {
                    acc += w[x * d + j] * hidden[t * d + j];
                }
                logits[t * e + x] = acc;
            }
        }
        return Routing.topK(logits, tokens, e, topK);
    }

    /**
     * Scores one batch.
     *
     * @param hidden [tokens, D] row-major, tokens = {@code routing.tokens()}
     * @param routing every token's experts and weights (ids in [0, E))
     */
    public Output score(float[] hidden, Routing routing) {
        int d = model.hidden();
        int f = model.intermediate();
        int experts = model.experts();
        int tokens = routing.tokens();
        if (hidden.length != (long) tokens * d) {
            throw new IllegalArgumentException("hidden has " + hidden.length + " values, " + tokens + " tokens of D = "
                    + d + " need " + (long) tokens * d);
        }
        int[] counts = new int[experts];
        for (int s = 0; s < routing.slots(); s++) {
            int e = routing.experts()[s];
            if (e < 0 || e >= experts) {
                throw new IllegalArgumentException("expert id " + e + " of slot " + s + " is outside [0, " + experts
                        + ")");
            }
            counts[e]++;
        }
        float[] out = new float[tokens * d];
        if (routing.slots() == 0) {
            return new Output(out, 0);
        }
        Plan plan = layout == ExpertLayout.CONTIGUOUS ? Plan.contiguous(counts) : Plan.masked(counts);
        int[] rowOfSlot = plan.assignRows(routing);

        float[] x = new float[plan.rows * d];
        for (int t = 0; t < tokens; t++) {
            for (int s = routing.offsets()[t]; s < routing.offsets()[t + 1]; s++) {
                System.arraycopy(hidden, t * d, x, rowOfSlot[s] * d, d);
            }
        }
        float[] gateUp = project(plan, x, d, model.w13());
        float[] act = new float[plan.rows * f];
        for (int r : plan.usedRows()) {
            for (int j = 0; j < f; j++) {
                float g = gateUp[r * 2 * f + j];
                act[r * f + j] = (float) (g / (1 + Math.exp(-g))) * gateUp[r * 2 * f + f + j];
            }
        }
        float[] y = project(plan, act, f, model.w2());
        for (int t = 0; t < tokens; t++) {
            for (int s = routing.offsets()[t]; s < routing.offsets()[t + 1]; s++) {
                float w = routing.weights()[s];
                int row = rowOfSlot[s] * d;
                for (int j = 0; j < d; j++) {
                    out[t * d + j] += w * y[row + j];
                }
            }
        }
        return new Output(out, plan.rows);
    }

    /** {@code input} [rows, k] through one grouped GEMM against {@code w} [E, n, k]: [rows, n] as floats. */
    private float[] project(Plan plan, float[] input, int k, Fp8Tensor w) {
        Location at = model.location();
        int n = (int) w.data().size(1);
        int experts = model.experts();
        try (Tensor hostInput = Tensor.ofFloats(input, plan.rows, k);
                Tensor in = hostInput.to(at);
                Fp8Tensor a = DeepGemm.perTokenCastToFp8(in, false);
                Tensor hostLayout = Tensor.ofInts(plan.layout, plan.layout.length);
                Tensor groupLayout = hostLayout.to(at);
                Tensor d = Tensor.zeros(at, DType.BF16, plan.rows, n)) {
            if (layout == ExpertLayout.CONTIGUOUS) {
                DeepGemm.mGroupedFp8GemmNtContiguous(a, w, d, groupLayout);
            } else {
                int mMax = plan.rows / experts;
                Fp8Tensor grouped = new Fp8Tensor(a.data().view(experts, mMax, k),
                        a.scales().view(experts, mMax, a.scales().size(1)));
                DeepGemm.mGroupedFp8GemmNtMasked(grouped, w, d.view(experts, mMax, n), groupLayout,
                        plan.expectedM);
            }
            try (Tensor host = d.toHost()) {
                return host.toFloatArray();
            }
        }
    }

    /** Where each expert's rows go in the grouped operand. */
    private static final class Plan {
        final int rows;
        final int[] start;
        /** m_indices (contiguous) or masked_m (masked). */
        final int[] layout;
        final int expectedM;
        private final int[] counts;

        private Plan(int rows, int[] start, int[] layout, int expectedM, int[] counts) {
            this.rows = rows;
            this.start = start;
            this.layout = layout;
            this.expectedM = expectedM;
            this.counts = counts;
        }

        static Plan contiguous(int[] counts) {
            int align = DeepGemm.getMkAlignmentForContiguousLayout();
            int[] start = new int[counts.length];
            int rows = 0;
            for (int e = 0; e < counts.length; e++) {
                start[e] = rows;
                rows += (counts[e] + align - 1) / align * align;
            }
            int[] mIndices = new int[rows];
            Arrays.fill(mIndices, -1);
            for (int e = 0; e < counts.length; e++) {
                Arrays.fill(mIndices, start[e], start[e] + counts[e], e);
            }
            return new Plan(rows, start, mIndices, 0, counts);
        }

        static Plan masked(int[] counts) {
            int mMax = Arrays.stream(counts).max().orElse(0);
            int slots = Arrays.stream(counts).sum();
            int[] start = new int[counts.length];
            for (int e = 0; e < counts.length; e++) {
                start[e] = e * mMax;
            }
            int expected = Math.max(1, (slots + counts.length - 1) / counts.length);
            return new Plan(counts.length * mMax, start, counts.clone(), expected, counts);
        }

        /** Row of every slot: experts in id order, each expert's slots in token order. */
        int[] assignRows(Routing routing) {
            int[] next = start.clone();
            int[] rowOf = new int[routing.slots()];
            for (int s = 0; s < rowOf.length; s++) {
                rowOf[s] = next[routing.experts()[s]]++;
            }
            return rowOf;
        }

        /** The rows that hold a slot. */
        int[] usedRows() {
            int[] used = new int[Arrays.stream(counts).sum()];
            int i = 0;
            for (int e = 0; e < counts.length; e++) {
                for (int r = 0; r < counts[e]; r++) {
                    used[i++] = start[e] + r;
                }
            }
            return used;
        }
    }
}
