package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CalcDiffTest {

    private final SplittableRandom rng = new SplittableRandom(13);

    private static Tensor scaled(Tensor x, float factor) {
        Tensor y = x.contiguousCopy();
        y.forEachOffset(off -> Tensor.writeFloat(y.hostSegment(), y.dtype(), off,
                factor * Tensor.readFloat(y.hostSegment(), y.dtype(), off)));
        return y;
    }

    private static void assertRejected(String argument, String fragment, Runnable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call::run);
        assertEquals(argument, e.argument());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void knownValues() {
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, 17, 33);
                Tensor negated = scaled(x, -1f);
                Tensor doubled = scaled(x, 2f);
                Tensor zeros = Tensor.zeros(DType.FP32, 17, 33);
                Tensor zeros2 = Tensor.zeros(DType.BF16, 17, 33)) {
            assertEquals(0.0, DeepGemm.calcDiff(x, x));
            assertEquals(2.0, DeepGemm.calcDiff(x, negated), 1e-12);
            assertEquals(1 - 4.0 / 5.0, DeepGemm.calcDiff(x, doubled), 1e-12);
            assertEquals(1.0, DeepGemm.calcDiff(x, zeros), 1e-12);
            assertEquals(0.0, DeepGemm.calcDiff(zeros, zeros2), "both all-zero");
        }
        try (Tensor a = Tensor.zeros(DType.FP32, 0, 5); Tensor b = Tensor.zeros(DType.FP8_E4M3, 0, 5)) {
            assertEquals(0.0, DeepGemm.calcDiff(a, b));
        }
    }

    @Test
    void matchesAFloat64ReferenceAcrossDtypesAndStrides() {
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, 40, 24);
                Tensor yT = RandomTensors.uniform(rng, DType.BF16, 24, 40)) {
            // y is a transposed view, so the two tensors are walked with different strides.
            Tensor y = yT.t();
            double want = RandomTensors.calcDiff(RandomTensors.toDoubles(x.toFloatArray()),
                    RandomTensors.toDoubles(y.toFloatArray()));
            assertEquals(want, DeepGemm.calcDiff(x, y), 1e-12);
            assertEquals(want, DeepGemm.calcDiff(y, x), 1e-12);
            try (Tensor fp8 = Tensor.fromFloats(DType.FP8_E4M3, y.toFloatArray(), 40, 24);
                    Tensor decoded = Tensor.ofFloats(fp8.toFloatArray(), 40, 24)) {
                assertEquals(0.0, DeepGemm.calcDiff(fp8, decoded), "FP8 is decoded exactly");
                assertTrue(DeepGemm.calcDiff(fp8, y) > 0, "FP8 rounding shows");
                assertTrue(DeepGemm.calcDiff(fp8, y) < 1e-2);
            }
        }
    }

    @Test
    void validation() {
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, 4, 8);
                Tensor other = RandomTensors.uniform(rng, DType.FP32, 8, 4);
                Tensor ints = Tensor.zeros(DType.INT32, 4, 8)) {
            assertRejected("y", "shape", () -> DeepGemm.calcDiff(x, other));
            assertRejected("y", "shape", () -> DeepGemm.calcDiff(x, x.view(32)));
            assertRejected("x", "dtype", () -> DeepGemm.calcDiff(ints, x));
            assertRejected("y", "dtype", () -> DeepGemm.calcDiff(x, ints));
            assertRejected("x", "null", () -> DeepGemm.calcDiff(null, x));
            assertRejected("y", "null", () -> DeepGemm.calcDiff(x, null));
            Tensor onDevice = FakeDeviceTensors.onDevice(DType.FP32, 4, 8);
            assertRejected("x", "host", () -> DeepGemm.calcDiff(onDevice, x));
            assertRejected("y", "host", () -> DeepGemm.calcDiff(x, onDevice));
            Tensor closed = RandomTensors.uniform(rng, DType.FP32, 4, 8);
            closed.close();
            assertRejected("y", "freed", () -> DeepGemm.calcDiff(x, closed));
        }
    }
}
