package dev.deepgemm4j.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Routing decisions and the contiguous layout they produce. */
class MoeRoutingTest {

    private static final int TOKENS = 50;
    private static final int EXPERTS = 6;
    private static final int TOP_K = 2;
    private final SplittableRandom rng = new SplittableRandom(17);

    private double[] randomLogits() {
        return rng.doubles(TOKENS * EXPERTS, -3, 3).toArray();
    }

    @Test
    void choosesTheMostProbableExpertsWithTheirProbabilities() {
        double[] logits = randomLogits();
        MoeRouting r = MoeRouting.route(logits, TOKENS, EXPERTS, TOP_K, 128);
        int[] experts = r.experts();
        float[] gates = r.gates();
        for (int t = 0; t < TOKENS; t++) {
            double[] p = softmax(Arrays.copyOfRange(logits, t * EXPERTS, (t + 1) * EXPERTS));
            Integer[] order = IntStream.range(0, EXPERTS).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(e -> -p[e]));
            for (int j = 0; j < TOP_K; j++) {
                assertEquals(order[j], experts[t * TOP_K + j], "token " + t + " choice " + j);
                assertEquals((float) p[order[j]], gates[t * TOP_K + j], 1e-7);
            }
        }
    }

    @Test
    void tiesGoToTheLowerExpert() {
        MoeRouting r = MoeRouting.route(new double[2 * EXPERTS], 2, EXPERTS, 3, 128);
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2}, r.experts());
    }

    @Test
    void layoutHasOneAlignedSegmentPerExpertPaddedWithMinusOne() {
        int alignment = 32;
        MoeRouting r = MoeRouting.route(randomLogits(), TOKENS, EXPERTS, TOP_K, alignment);
        int[] idx = r.mIndices();
        assertEquals(0, idx.length % alignment);
        int[] expected = new int[EXPERTS];
        for (int e : r.experts()) {
            expected[e]++;
        }
        int[] seen = new int[EXPERTS];
        int row = 0;
        int lastExpert = -1;
        while (row < idx.length) {
            assertEquals(0, row % alignment, "segments start aligned");
            int e = idx[row];
            assertTrue(e > lastExpert, "experts in order, one segment each");
            int end = row;
            while (end < idx.length && idx[end] == e) {
                end++;
            }
            seen[e] = end - row;
            int paddedEnd = (end + alignment - 1) / alignment * alignment;
            for (int p = end; p < paddedEnd; p++) {
                assertEquals(-1, idx[p], "padding up to the next aligned row");
            }
            lastExpert = e;
            row = paddedEnd;
        }
        assertArrayEquals(expected, seen);
    }

    @Test
    void permuteThenCombineWeighsEachTokensRows() {
        int width = 5;
        MoeRouting r = MoeRouting.route(randomLogits(), TOKENS, EXPERTS, TOP_K, 128);
        float[] x = new float[TOKENS * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextDouble(-1, 1);
        }
        float[] permuted = r.permute(x, width);
        int[] idx = r.mIndices();
        for (int row = 0; row < idx.length; row++) {
            if (idx[row] < 0) {
                assertEquals(0f, permuted[row * width], "padding rows are zero");
            }
        }
        // Expert e multiplies by (e + 1): token t's result is x_t · Σ_j gate_j · (e_j + 1).
        float[] scaled = permuted.clone();
        for (int row = 0; row < idx.length; row++) {
            for (int c = 0; c < width; c++) {
                scaled[row * width + c] *= idx[row] + 1;
            }
        }
        float[] y = r.combine(scaled, width);
        int[] experts = r.experts();
        float[] gates = r.gates();
        for (int t = 0; t < TOKENS; t++) {
            double factor = 0;
            for (int j = 0; j < TOP_K; j++) {
                factor += gates[t * TOP_K + j] * (experts[t * TOP_K + j] + 1.0);
            }
            for (int c = 0; c < width; c++) {
                assertEquals(x[t * width + c] * factor, y[t * width + c], 1e-5);
            }
        }
    }

    @Test
    void mapRowsSkipsPadding() {
        MoeRouting r = MoeRouting.route(randomLogits(), TOKENS, EXPERTS, TOP_K, 128);
        float[] ones = new float[r.rowCount() * 2];
        Arrays.fill(ones, 1f);
        float[] mapped = r.mapRows(ones, 2, v -> v + 1);
        int[] idx = r.mIndices();
        for (int row = 0; row < idx.length; row++) {
            assertEquals(idx[row] < 0 ? 0f : 2f, mapped[row * 2]);
        }
        assertNotEquals(0, r.rowCount());
    }

    @Test
    void noTokensNoRows() {
        assertEquals(0, MoeRouting.route(new double[0], 0, EXPERTS, TOP_K, 128).rowCount());
    }

    private static double[] softmax(double[] logits) {
        double max = Arrays.stream(logits).max().orElseThrow();
        double[] p = Arrays.stream(logits).map(l -> Math.exp(l - max)).toArray();
        double sum = Arrays.stream(p).sum();
        return Arrays.stream(p).map(v -> v / sum).toArray();
    }
}
