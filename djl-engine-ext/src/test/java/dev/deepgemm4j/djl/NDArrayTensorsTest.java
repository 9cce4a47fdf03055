package dev.deepgemm4j.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Round trips through DJL's PyTorch CPU engine (natives from Maven, no download). */
class NDArrayTensorsTest {

    private static NDManager manager;
    private final SplittableRandom rng = new SplittableRandom(20261123);

    @BeforeAll
    static void openManager() {
        manager = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void closeManager() {
        manager.close();
    }

    private float[] randomFloats(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            do {
                v[i] = (float) rng.nextDouble(-8, 8);
            } while (v[i] == 0);
        }
        return v;
    }

    @Test
    void float32ArrayBecomesTensorWithSameShapeAndValues() {
        float[] values = randomFloats(3 * 130);
        NDArray array = manager.create(values, new Shape(3, 130));
        try (Tensor t = NDArrayTensors.toTensor(array)) {
            assertEquals(DType.FP32, t.dtype());
            assertArrayEquals(new long[] {3, 130}, t.shape());
            assertArrayEquals(values, t.toFloatArray());
            assertEquals(values[130 + 7], t.getFloat(1, 7));
        }
    }

    @Test
    void stridedTensorBecomesArrayInLogicalOrder() {
        float[] values = randomFloats(4 * 6);
        try (Tensor t = Tensor.ofFloats(values, 4, 6)) {
            NDArray transposed = NDArrayTensors.toNDArray(manager, t.t());
            assertEquals(new Shape(6, 4), transposed.getShape());
            assertEquals(DataType.FLOAT32, transposed.getDataType());
            // PyTorch's own transpose of the same data is the oracle.
            assertTrue(manager.create(values, new Shape(4, 6)).transpose().contentEquals(transposed));
        }
    }

    @Test
    void bf16TensorWidensExactlyToFloat32Array() {
        try (Tensor t = Tensor.fromFloats(DType.BF16, randomFloats(5 * 16), 5, 16)) {
            NDArray array = NDArrayTensors.toNDArray(manager, t.t());
            assertEquals(DataType.FLOAT32, array.getDataType());
            assertEquals(new Shape(16, 5), array.getShape());
            try (Tensor transposed = t.t().contiguousCopy()) {
                assertArrayEquals(transposed.toFloatArray(), array.toFloatArray());
            }
        }
    }

    @Test
    void int32RoundTrips() {
        int[] values = rng.ints(7 * 3, -1000, 1000).toArray();
        try (Tensor t = Tensor.ofInts(values, 7, 3); Tensor back = NDArrayTensors.toTensor(
                NDArrayTensors.toNDArray(manager, t))) {
            assertEquals(DType.INT32, back.dtype());
            assertArrayEquals(values, back.toIntArray());
        }
    }

    @Test
    void fp8OperandTravelsAsUint8CodesAndFloatScales() {
        byte[] codes = new byte[2 * 256];
        for (int i = 0; i < codes.length; i++) {
            float v;
            do {
                codes[i] = (byte) rng.nextInt(256);
                v = Fp8E4M3.toFloat(codes[i]);
            } while (Float.isNaN(v) || v == 0);
        }
        Tensor data = Tensor.zeros(DType.FP8_E4M3, 2, 256);
        for (int i = 0; i < codes.length; i++) {
            data.setByte(codes[i], i / 256, i % 256);
        }
        float[] scaleValues = {0.5f, 0.25f, 0.125f, 2.0f};
        try (Fp8Tensor operand = new Fp8Tensor(data, Tensor.ofFloats(scaleValues, 2, 2))) {
            NDList list = NDArrayTensors.toNDList(manager, operand);
            assertEquals(DataType.UINT8, list.get(0).getDataType());
            assertArrayEquals(codes, list.get(0).toByteArray());
            assertArrayEquals(scaleValues, list.get(1).toFloatArray());
            try (Fp8Tensor back = NDArrayTensors.toFp8Tensor(list.get(0), list.get(1))) {
                assertEquals(DType.FP8_E4M3, back.data().dtype());
                assertArrayEquals(codes, back.data().toByteArray());
                assertEquals(Fp8E4M3.toFloat(codes[300]), back.data().getFloat(1, 300 - 256));
                assertArrayEquals(scaleValues, back.scales().toFloatArray());
            }
        }
    }

    @Test
    void unsupportedDataTypeIsNamed() {
        NDArray doubles = manager.create(new double[] {1.5, -2.5});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NDArrayTensors.toTensor(doubles));
        assertTrue(e.getMessage().contains(DataType.FLOAT64.toString()), e.getMessage());
    }

    @Test
    void fp8CodesMustBeUint8() {
        NDArray notCodes = manager.create(randomFloats(4), new Shape(1, 4));
        NDArray scales = manager.create(new float[] {1f}, new Shape(1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NDArrayTensors.toFp8Tensor(notCodes, scales));
        assertTrue(e.getMessage().contains("codes must be UINT8"), e.getMessage());
    }
}
