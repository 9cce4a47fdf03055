package dev.deepgemm4j.djl;

import static dev.deepgemm4j.djl.TestSupport.engine;
import static dev.deepgemm4j.djl.TestSupport.pytorch;
import static dev.deepgemm4j.djl.TestSupport.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Location;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The engine, its manager and arrays on host memory, with PyTorch's CPU engine as the alternative engine. */
class DeepGemmEngineTest {

    private final SplittableRandom rng = new SplittableRandom(5);
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void registeredWithDjlButNeverTheDefault() {
        assertSame(engine(), Engine.getEngine(DeepGemmEngine.ENGINE_NAME));
        assertEquals(DeepGemmEngine.RANK, engine().getRank());
        assertTrue(engine().getRank() > 15, "DJL's own engines rank 0..15");
        assertNotEquals(DeepGemmEngine.ENGINE_NAME, Engine.getDefaultEngineName());
        assertEquals("PyTorch", engine().getAlternativeEngine().getEngineName());
        assertTrue(engine().getVersion().startsWith("0."), engine().getVersion());
    }

    @Test
    void withoutGpuBackendTheDeviceIsTheCpuAndGpuManagersAreRefused() {
        assumeFalse(Files.exists(Path.of("/proc/driver/nvidia/version")), "this machine has an NVIDIA driver");
        assertFalse(engine().hasCapability(StandardCapabilities.CUDA));
        assertEquals(Device.cpu(), engine().defaultDevice());
        assertEquals(0, engine().getGpuCount());
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class,
                () -> NDManager.newBaseManager(Device.gpu(), DeepGemmEngine.ENGINE_NAME));
        assertEquals("device", e.argument());
    }

    @Test
    void arraysRoundTripEverySupportedType() {
        float[] f = uniform(rng, 6, 10);
        int[] ints = rng.ints(6, -1000, 1000).toArray();
        byte[] bytes = {1, -2, 3, 127, -128, 0};
        NDArray a = manager.create(f, new Shape(2, 3));
        NDArray b = manager.create(ints, new Shape(3, 2));
        NDArray c = manager.create(ByteBuffer.wrap(bytes), new Shape(6), DataType.UINT8);
        NDArray d = manager.create(bytes);
        assertInstanceOf(DeepGemmNDArray.class, a);
        assertEquals(Location.HOST, ((DeepGemmNDArray) a).location());
        assertArrayEquals(f, a.toFloatArray());
        assertEquals(new Shape(2, 3), a.getShape());
        assertArrayEquals(ints, b.toIntArray());
        assertArrayEquals(bytes, c.toByteArray());
        assertEquals(DataType.INT8, d.getDataType());
        assertArrayEquals(bytes, d.toByteArray());
        assertFalse(((DeepGemmNDArray) c).isFp8(), "a UINT8 array made by create carries no FP8 marker");
    }

    @Test
    void unsupportedDataTypesAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> manager.create(new double[] {1, 2}));
        assertTrue(e.getMessage().contains("FLOAT64"), e.getMessage());
    }

    @Test
    void factoriesFillAsAsked() {
        assertArrayEquals(new float[6], manager.zeros(new Shape(2, 3)).toFloatArray());
        assertArrayEquals(new int[] {1, 1, 1}, manager.ones(new Shape(3), DataType.INT32).toIntArray());
        assertArrayEquals(new float[] {2.5f, 2.5f}, manager.full(new Shape(2), 2.5f).toFloatArray());
        float[] uniform = manager.randomUniform(-2, 3, new Shape(4000)).toFloatArray();
        double mean = 0;
        for (float v : uniform) {
            assertTrue(v >= -2 && v < 3, "uniform sample " + v + " outside [-2, 3)");
            mean += v / uniform.length;
        }
        assertEquals(0.5, mean, 0.15);
        float[] normal = manager.randomNormal(1, 2, new Shape(4000), DataType.FLOAT32).toFloatArray();
        double m = 0;
        double sq = 0;
        for (float v : normal) {
            m += v / normal.length;
            sq += (double) v * v / normal.length;
        }
        assertEquals(1, m, 0.15);
        assertEquals(2, Math.sqrt(sq - m * m), 0.15);
    }

    @Test
    void unimplementedOperatorsFallBackToPyTorchAndAreCounted() {
        float[] values = uniform(rng, 8, 4);
        NDArray a = manager.create(values, new Shape(2, 4));
        long before = engine().fallbackCount();
        NDArray sum = a.add(1f);
        assertInstanceOf(PtNDArray.class, sum);
        float[] expected = new float[8];
        for (int i = 0; i < 8; i++) {
            expected[i] = values[i] + 1;
        }
        assertArrayEquals(expected, sum.toFloatArray());
        assertEquals(before + 1, engine().fallbackCount());
        a.transpose();
        assertEquals(before + 2, engine().fallbackCount(), "every fallback re-syncs the host copy");
        a.toFloatArray();
        a.duplicate();
        a.toDevice(Device.cpu(), true);
        assertEquals(before + 2, engine().fallbackCount(), "reads and copies are the engine's own");
    }

    @Test
    void withTheAlternativeDisabledUnimplementedOperatorsThrow() {
        System.setProperty(DeepGemmEngine.DISABLE_ALTERNATIVE_PROPERTY, "true");
        try (NDManager alone = NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME)) {
            NDArray a = alone.create(new float[] {1, 2});
            assertThrows(UnsupportedOperationException.class, () -> a.add(1f));
        } finally {
            System.clearProperty(DeepGemmEngine.DISABLE_ALTERNATIVE_PROPERTY);
        }
    }

    @Test
    void arraysCrossToAndFromPyTorch() {
        float[] values = uniform(rng, 12, 3);
        NDArray theirs = pytorch().create(values, new Shape(3, 4));
        theirs.setName("w");
        NDArray ours = manager.from(theirs);
        assertInstanceOf(DeepGemmNDArray.class, ours);
        assertEquals("w", ours.getName());
        assertArrayEquals(values, ours.toFloatArray());
        assertSame(ours, manager.from(ours));
        NDArray back = pytorch().from(ours);
        assertInstanceOf(PtNDArray.class, back);
        assertTrue(back.contentEquals(theirs));
        try (NDManager sub = pytorch().newSubManager()) {
            NDArray bytes = sub.from(manager.create(ByteBuffer.wrap(new byte[] {7, -7}), new Shape(2),
                    DataType.UINT8));
            assertEquals(DataType.UINT8, bytes.getDataType());
            assertArrayEquals(new byte[] {7, -7}, bytes.toByteArray());
        }
    }

    @Test
    void setInternDetachAndToDevice() {
        NDArray a = manager.create(new float[] {1, 2, 3});
        a.set(new float[] {4, 5, 6});
        assertArrayEquals(new float[] {4, 5, 6}, a.toFloatArray());
        NDArray b = manager.create(new float[] {7, 8, 9});
        a.intern(b);
        assertArrayEquals(new float[] {7, 8, 9}, a.toFloatArray());
        assertTrue(b.isReleased());
        NDArray copy = a.toDevice(Device.cpu(), true);
        a.set(new float[] {0, 0, 1});
        assertArrayEquals(new float[] {7, 8, 9}, copy.toFloatArray(), "a copy is independent of its source");
        copy.detach();
        long live = engine().liveArrayCount();
        manager.close();
        assertEquals(live - 1, engine().liveArrayCount(), "only a was left in the manager");
        assertFalse(copy.isReleased(), "a detached array outlives its manager");
        assertArrayEquals(new float[] {7, 8, 9}, copy.toFloatArray());
        copy.close();
    }

    @Test
    void encodedArraysDecodeIntoTheEngine() {
        float[] values = uniform(rng, 10, 5);
        NDArray a = manager.create(values, new Shape(2, 5));
        a.setName("p");
        NDArray back = manager.decode(a.encode());
        assertInstanceOf(DeepGemmNDArray.class, back);
        assertEquals("p", back.getName());
        assertArrayEquals(values, back.toFloatArray());
    }

    @Test
    void closingAManagerFreesEverythingBelowIt() {
        long live = engine().liveArrayCount();
        NDManager sub = manager.newSubManager();
        NDManager subSub = sub.newSubManager();
        DeepGemmNDArray a = (DeepGemmNDArray) sub.create(uniform(rng, 64, 1), new Shape(8, 8));
        NDArray b = subSub.zeros(new Shape(3));
        NDArray fallbackResult = a.mul(2f);
        assertEquals(live + 2, engine().liveArrayCount());
        var storage = a.tensor().storage();
        sub.close();
        assertEquals(live, engine().liveArrayCount());
        assertTrue(a.isReleased() && b.isReleased());
        assertTrue(storage.isClosed(), "the array's memory is freed");
        assertTrue(fallbackResult.isReleased(), "the alternative engine's results go with the manager");
        assertThrows(IllegalStateException.class, a::tensor);
    }
}
