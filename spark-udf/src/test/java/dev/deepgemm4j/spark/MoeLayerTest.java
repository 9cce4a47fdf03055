package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The scorer's batch path on the CPU backend against float64 references. */
class MoeLayerTest {

    private static final int EXPERTS = 5;
    private static final int D = 256;
    private static final int F = 128;
    private static MoeModel model;

    @BeforeAll
    static void model() {
        model = MoeModel.generate(11, EXPERTS, D, F);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void contiguousBatchMatchesTheQuantizedFloat64Reference() {
        SplittableRandom rng = new SplittableRandom(1);
        int tokens = 150;
        float[] hidden = MoeReference.gaussian(rng, tokens * D);
        Routing routing = MoeReference.randomRouting(rng, tokens, EXPERTS);
        MoeLayer.Output out = new MoeLayer(model, ExpertLayout.CONTIGUOUS).score(hidden, routing);

        float[] ref = MoeReference.score(model, hidden, routing, true);
        assertTrue(MoeReference.calcDiff(ref, out.values()) < 1e-5, "calcDiff " + MoeReference.calcDiff(ref,
                out.values()));
        float[] unquantized = MoeReference.score(model, hidden, routing, false);
        assertTrue(MoeReference.calcDiff(unquantized, out.values()) < 1e-3);
        // Token 0 has no experts: exactly zero.
        for (int j = 0; j < D; j++) {
            assertEquals(0f, out.values()[j]);
        }
        // Every expert segment is padded to the contiguous alignment (128).
        int[] counts = new int[EXPERTS];
        Arrays.stream(routing.experts()).forEach(e -> counts[e]++);
        assertEquals(Arrays.stream(counts).map(c -> (c + 127) / 128 * 128).sum(), out.gemmRows());
    }

    @Test
    void maskedLayoutAndAnyBatchingGiveTheSameBits() {
        SplittableRandom rng = new SplittableRandom(2);
        int tokens = 97;
        float[] hidden = MoeReference.gaussian(rng, tokens * D);
        Routing routing = MoeReference.randomRouting(rng, tokens, EXPERTS);
        MoeLayer contiguous = new MoeLayer(model, ExpertLayout.CONTIGUOUS);
        float[] whole = contiguous.score(hidden, routing).values();
        assertArrayEquals(whole, new MoeLayer(model, ExpertLayout.MASKED).score(hidden, routing).values());

        // Token by token: a token's result does not depend on its batch.
        for (int t = 0; t < tokens; t += 13) {
            int s0 = routing.offsets()[t];
            int s1 = routing.offsets()[t + 1];
            Routing one = new Routing(new int[] {0, s1 - s0}, Arrays.copyOfRange(routing.experts(), s0, s1),
                    Arrays.copyOfRange(routing.weights(), s0, s1));
            float[] alone = contiguous.score(Arrays.copyOfRange(hidden, t * D, (t + 1) * D), one).values();
            assertArrayEquals(Arrays.copyOfRange(whole, t * D, (t + 1) * D), alone, "token " + t);
        }
    }

    @Test
    void routerTopKPicksTheLargestLogitsAndRenormalises() {
        SplittableRandom rng = new SplittableRandom(3);
        int tokens = 40;
        float[] hidden = MoeReference.gaussian(rng, tokens * D);
        Routing r = new MoeLayer(model, ExpertLayout.CONTIGUOUS).route(hidden, tokens, 2);
        float[] router = model.router().toFloatArray();
        for (int t = 0; t < tokens; t++) {
            double[] logits = new double[EXPERTS];
            for (int e = 0; e < EXPERTS; e++) {
                for (int j = 0; j < D; j++) {
                    logits[e] += (double) router[e * D + j] * hidden[t * D + j];
                }
            }
            Integer[] order = {0, 1, 2, 3, 4};
            Arrays.sort(order, (a, b) -> Double.compare(logits[b], logits[a]));
            assertEquals(order[0], r.experts()[2 * t]);
            assertEquals(order[1], r.experts()[2 * t + 1]);
            double p0 = 1 / (1 + Math.exp(logits[order[1]] - logits[order[0]]));
            assertEquals(p0, r.weights()[2 * t], 1e-5);
            assertEquals(1.0, r.weights()[2 * t] + r.weights()[2 * t + 1], 1e-6);
        }
    }

    @Test
    void badBatchesAreRejectedBeforeAnyWork() {
        MoeLayer layer = new MoeLayer(model, ExpertLayout.CONTIGUOUS);
        Routing toNine = new Routing(new int[] {0, 1}, new int[] {9}, new float[] {1});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> layer.score(new float[D], toNine));
        assertTrue(e.getMessage().contains("expert id 9"), e.getMessage());
        Routing one = new Routing(new int[] {0, 1}, new int[] {0}, new float[] {1});
        e = assertThrows(IllegalArgumentException.class, () -> layer.score(new float[D + 1], one));
        assertTrue(e.getMessage().contains("hidden has " + (D + 1)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Routing(new int[] {0, 2}, new int[] {0},
                new float[] {1}));
    }
}
