package dev.deepgemm4j.djl;

import static dev.deepgemm4j.djl.TestSupport.calcDiff;
import static dev.deepgemm4j.djl.TestSupport.engine;
import static dev.deepgemm4j.djl.TestSupport.pytorch;
import static dev.deepgemm4j.djl.TestSupport.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.engine.PtNDArray;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Fp8Linear} and {@link Fp8Moe} against a float64 computation with the same (per-block quantised) weights,
 * with this engine's and PyTorch's arrays, through save and load.
 */
class Fp8BlocksTest {

    static final int HIDDEN = 256;
    static final int INNER = 128;
    static final int EXPERTS = 4;
    static final int TOP_K = 2;

    private final SplittableRandom rng = new SplittableRandom(23);
    private NDManager ours;

    @BeforeEach
    void open() {
        ours = NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME);
    }

    @AfterEach
    void close() {
        ours.close();
    }

    static float[] parameter(Block block, String name) {
        return block.getDirectParameters().get(name).getArray().toFloatArray();
    }

    /** The per-block quantised values of an FP32 weight [N, K] or [G, N, K], as deepgemm4j quantises it. */
    static double[] quantised(float[] values, long... shape) {
        try (Tensor w = Tensor.ofFloats(values, shape)) {
            if (shape.length == 2) {
                try (Fp8Tensor q = DeepGemm.perBlockCastToFp8(w, false)) {
                    return TestSupport.dequantizePerBlock(q);
                }
            }
            double[] out = new double[values.length];
            int groupSize = (int) (shape[1] * shape[2]);
            for (int g = 0; g < shape[0]; g++) {
                try (Fp8Tensor q = DeepGemm.perBlockCastToFp8(w.select(0, g), false)) {
                    System.arraycopy(TestSupport.dequantizePerBlock(q), 0, out, g * groupSize, groupSize);
                }
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ Fp8Linear

    private Fp8Linear linear(NDManager manager, int units, Shape input) {
        Fp8Linear block = Fp8Linear.builder().setUnits(units).build();
        block.initialize(manager, DataType.FLOAT32, input);
        return block;
    }

    @Test
    void linearMatchesFloatComputationWithTheQuantisedWeight() {
        Fp8Linear block = linear(ours, 136, new Shape(3, 7, HIDDEN));
        float[] x = uniform(rng, 21 * HIDDEN, 2);
        NDArray y = block.apply(ours.create(x, new Shape(3, 7, HIDDEN)));
        assertInstanceOf(DeepGemmNDArray.class, y);
        assertEquals(new Shape(3, 7, 136), y.getShape());
        assertEquals(DataType.FLOAT32, y.getDataType());
        double[] w = quantised(parameter(block, "weight"), 136, HIDDEN);
        float[] expected = TestSupport.matmulNt(TestSupport.widen(x), w, 21, 136, HIDDEN, 0);
        double diff = calcDiff(expected, y.toFloatArray());
        assertTrue(diff < 1e-3, "calc_diff " + diff);
        // With the activations quantised per token as well, only the BF16 output rounding remains.
        try (Tensor xt = Tensor.ofFloats(x, 21, HIDDEN); Fp8Tensor xq = DeepGemm.perTokenCastToFp8(xt, false)) {
            double[] xDeq = new double[x.length];
            for (int r = 0; r < 21; r++) {
                for (int c = 0; c < HIDDEN; c++) {
                    xDeq[r * HIDDEN + c] = (double) xq.data().getFloat(r, c) * xq.scales().getFloat(r, c / 128);
                }
            }
            double tight = calcDiff(TestSupport.matmulNt(xDeq, w, 21, 136, HIDDEN, 0), y.toFloatArray());
            assertTrue(tight < 1e-5, "calc_diff against quantised inputs " + tight);
        }
    }

    @Test
    void linearTakesAndReturnsPyTorchArrays() {
        Fp8Linear block = linear(ours, 64, new Shape(5, HIDDEN));
        float[] x = uniform(rng, 5 * HIDDEN, 1);
        NDArray theirs = pytorch().create(x, new Shape(5, HIDDEN));
        NDArray y = block.apply(theirs);
        assertInstanceOf(PtNDArray.class, y);
        assertEquals(pytorch(), y.getManager());
        assertArrayEquals(block.apply(ours.create(x, new Shape(5, HIDDEN))).toFloatArray(), y.toFloatArray());
    }

    @Test
    void linearQuantisesItsWeightOnceNotPerForward() throws IOException, MalformedModelException {
        try (NDManager params = pytorch().newSubManager()) {
            long imports = engine().importCount();
            Fp8Linear block = linear(params, 64, new Shape(4, HIDDEN));
            assertEquals(imports + 1, engine().importCount(), "the PyTorch weight is copied in once, at initialize");
            NDArray x = pytorch().create(uniform(rng, 4 * HIDDEN, 1), new Shape(4, HIDDEN));
            float[] first = block.apply(x).toFloatArray();
            float[] second = block.apply(x).toFloatArray();
            assertEquals(imports + 3, engine().importCount(), "each forward copies only its input");
            assertArrayEquals(first, second);
            Fp8Linear other = linear(params, 64, new Shape(4, HIDDEN));
            ByteArrayOutputStream saved = new ByteArrayOutputStream();
            other.saveParameters(new DataOutputStream(saved));
            long beforeLoad = engine().importCount();
            block.loadParameters(params, new DataInputStream(new ByteArrayInputStream(saved.toByteArray())));
            assertEquals(beforeLoad + 1, engine().importCount(), "a loaded weight is quantised again");
            assertArrayEquals(other.apply(x).toFloatArray(), block.apply(x).toFloatArray());
        }
    }

    @Test
    void linearSavesAndLoadsLikeAnyBlock() throws IOException, MalformedModelException {
        Fp8Linear block = linear(ours, 72, new Shape(2, HIDDEN));
        NDArray x = ours.create(uniform(rng, 2 * HIDDEN, 1), new Shape(2, HIDDEN));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        block.saveParameters(new DataOutputStream(bytes));
        Fp8Linear loaded = Fp8Linear.builder().setUnits(72).build();
        try (NDManager other = NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME)) {
            loaded.loadParameters(other, new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
            assertArrayEquals(block.apply(x).toFloatArray(), loaded.apply(x).toFloatArray());
            Fp8Linear wrongUnits = Fp8Linear.builder().setUnits(8).build();
            assertThrows(MalformedModelException.class, () -> wrongUnits.loadParameters(other,
                    new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()))));
        }
    }

    @Test
    void linearRulesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Fp8Linear.builder().setUnits(12).build());
        Fp8Linear odd = Fp8Linear.builder().setUnits(8).build();
        assertThrows(IllegalArgumentException.class, () -> odd.initialize(ours, DataType.FLOAT32, new Shape(2, 40)));
        Fp8Linear block = linear(ours, 8, new Shape(2, HIDDEN));
        NDArray wrong = ours.create(new float[2 * 128], new Shape(2, 128));
        assertEquals("x", assertThrows(DeepGemmArgumentException.class, () -> block.apply(wrong)).argument());
    }

    // ------------------------------------------------------------------ Fp8Moe

    static Fp8Moe moe(Fp8Moe.Activation activation) {
        return Fp8Moe.builder().setNumExperts(EXPERTS).setTopK(TOP_K).setIntermediateSize(INNER)
                .optActivation(activation).build();
    }

    /** The MoE layer in float64 with the quantised experts and unquantised activations. */
    static float[] moeReference(Fp8Moe block, float[] x, int tokens, Fp8Moe.Activation activation) {
        float[] router = parameter(block, "router");
        double[] up = quantised(parameter(block, "up"), EXPERTS, INNER, HIDDEN);
        double[] down = quantised(parameter(block, "down"), EXPERTS, HIDDEN, INNER);
        float[] y = new float[tokens * HIDDEN];
        for (int t = 0; t < tokens; t++) {
            double[] xt = TestSupport.widen(Arrays.copyOfRange(x, t * HIDDEN, (t + 1) * HIDDEN));
            double[] p = new double[EXPERTS];
            double sum = 0;
            for (int e = 0; e < EXPERTS; e++) {
                double logit = 0;
                for (int h = 0; h < HIDDEN; h++) {
                    logit += xt[h] * router[e * HIDDEN + h];
                }
                p[e] = Math.exp(logit);
                sum += p[e];
            }
            double total = sum;
            Integer[] order = IntStream.range(0, EXPERTS).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(e -> -p[e]));
            double[] acc = new double[HIDDEN];
            for (int j = 0; j < TOP_K; j++) {
                int e = order[j];
                float[] hidden = TestSupport.matmulNt(xt, up, 1, INNER, HIDDEN, e * INNER * HIDDEN);
                double[] act = new double[INNER];
                for (int i = 0; i < INNER; i++) {
                    act[i] = activation.apply(hidden[i]);
                }
                float[] out = TestSupport.matmulNt(act, down, 1, HIDDEN, INNER, e * HIDDEN * INNER);
                for (int h = 0; h < HIDDEN; h++) {
                    acc[h] += p[e] / total * out[h];
                }
            }
            for (int h = 0; h < HIDDEN; h++) {
                y[t * HIDDEN + h] = (float) acc[h];
            }
        }
        return y;
    }

    @ParameterizedTest
    @EnumSource(Fp8Moe.Activation.class)
    void moeMatchesFloatComputationWithTheQuantisedExperts(Fp8Moe.Activation activation) {
        int tokens = 37;
        Fp8Moe block = moe(activation);
        block.initialize(ours, DataType.FLOAT32, new Shape(tokens, HIDDEN));
        float[] x = uniform(rng, tokens * HIDDEN, 1);
        NDArray y = block.apply(ours.create(x, new Shape(tokens, HIDDEN)));
        assertEquals(new Shape(tokens, HIDDEN), y.getShape());
        double diff = calcDiff(moeReference(block, x, tokens, activation), y.toFloatArray());
        assertTrue(diff < 1e-3, "calc_diff " + diff);
    }

    @Test
    void moeTakesAnyLeadingShapeAndPyTorchArrays() {
        Fp8Moe block = moe(Fp8Moe.Activation.SILU);
        block.initialize(ours, DataType.FLOAT32, new Shape(2, 3, HIDDEN));
        float[] x = uniform(rng, 6 * HIDDEN, 1);
        NDArray y = block.apply(pytorch().create(x, new Shape(2, 3, HIDDEN)));
        assertInstanceOf(PtNDArray.class, y);
        assertEquals(new Shape(2, 3, HIDDEN), y.getShape());
        assertArrayEquals(block.apply(ours.create(x, new Shape(6, HIDDEN))).toFloatArray(), y.toFloatArray());
    }

    @Test
    void moeSavesAndLoadsThroughAModel(@TempDir Path dir) throws IOException, MalformedModelException {
        float[] x = uniform(rng, 9 * HIDDEN, 1);
        float[] before;
        long live = engine().liveArrayCount();
        try (Model model = Model.newInstance("moe", Device.cpu(), DeepGemmEngine.ENGINE_NAME)) {
            Fp8Moe block = moe(Fp8Moe.Activation.GELU);
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(9, HIDDEN));
            before = block.apply(model.getNDManager().create(x, new Shape(9, HIDDEN))).toFloatArray();
            model.save(dir, "moe");
        }
        assertEquals(live, engine().liveArrayCount(), "closing the model frees weights, FP8 copies and outputs");
        try (Model model = Model.newInstance("moe", Device.cpu(), DeepGemmEngine.ENGINE_NAME)) {
            Fp8Moe block = moe(Fp8Moe.Activation.GELU);
            model.setBlock(block);
            model.load(dir, "moe");
            NDArray after = block.apply(model.getNDManager().create(x, new Shape(9, HIDDEN)));
            assertArrayEquals(before, after.toFloatArray());
        }
        assertEquals(live, engine().liveArrayCount());
    }

    @Test
    void moeRulesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Fp8Moe.builder().setNumExperts(4).setTopK(5)
                .setIntermediateSize(INNER).build());
        assertThrows(IllegalArgumentException.class, () -> Fp8Moe.builder().setNumExperts(4).setTopK(1)
                .setIntermediateSize(100).build());
        Fp8Moe block = moe(Fp8Moe.Activation.SILU);
        assertThrows(IllegalArgumentException.class, () -> block.initialize(ours, DataType.FLOAT32,
                new Shape(2, 100)));
        block.initialize(ours, DataType.FLOAT32, new Shape(2, HIDDEN));
        NDArray wrong = ours.create(new float[2 * 128], new Shape(2, 128));
        assertEquals("x", assertThrows(DeepGemmArgumentException.class, () -> block.apply(wrong)).argument());
    }
}
