package dev.deepgemm4j.it.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import dev.deepgemm4j.djl.DeepGemmEngine;
import dev.deepgemm4j.djl.Fp8Linear;
import dev.deepgemm4j.djl.Fp8Moe;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The DJL example runs, and its predictor gives what its blocks compute directly. */
class MoeExampleTest {

    @Test
    void mainPrintsOneLinePerTokenWithoutFallbacks() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MoeExample.run(5, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(7, lines.length, String.join("\n", lines));
        assertTrue(lines[0].startsWith("engine " + DeepGemmEngine.ENGINE_NAME), lines[0]);
        for (int t = 0; t < 5; t++) {
            assertTrue(lines[t + 1].startsWith("token " + t + ": class "), lines[t + 1]);
        }
        assertEquals("operators that fell back to another engine: 0", lines[6]);
    }

    @Test
    void predictorMatchesTheBlocksAppliedByHand() throws Exception {
        float[][] tokens = MoeExample.randomTokens(11, 7);
        try (Model model = MoeExample.buildModel(Device.cpu())) {
            float[][] scores = MoeExample.score(model, tokens);
            assertEquals(11, scores.length);
            assertEquals(MoeExample.CLASSES, scores[0].length);
            Block net = model.getBlock();
            Fp8Moe moe = (Fp8Moe) net.getChildren().valueAt(0);
            Fp8Linear head = (Fp8Linear) net.getChildren().valueAt(1);
            try (NDManager m = model.getNDManager().newSubManager()) {
                NDArray direct = head.apply(moe.apply(m.create(tokens)));
                float[] flat = direct.toFloatArray();
                double norm = 0;
                for (int t = 0; t < 11; t++) {
                    float[] row = new float[MoeExample.CLASSES];
                    System.arraycopy(flat, t * row.length, row, 0, row.length);
                    assertArrayEquals(row, scores[t]);
                    for (float v : row) {
                        assertTrue(Float.isFinite(v));
                        norm += v * v;
                    }
                }
                assertTrue(norm > 0, "scores are not all zero");
            }
        }
    }
}
