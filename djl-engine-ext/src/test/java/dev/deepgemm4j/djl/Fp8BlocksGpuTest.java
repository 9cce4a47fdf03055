package dev.deepgemm4j.djl;

import static dev.deepgemm4j.djl.TestSupport.assumeGpu;
import static dev.deepgemm4j.djl.TestSupport.calcDiff;
import static dev.deepgemm4j.djl.TestSupport.engine;
import static dev.deepgemm4j.djl.TestSupport.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import dev.deepgemm4j.Location;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Fp8Linear} and {@link Fp8Moe} in a GPU model, loaded from the parameters of a CPU model, against that CPU
 * model and the float64 reference. No PyTorch. Skipped without a deepgemm4j GPU backend.
 */
@Tag("gpu")
class Fp8BlocksGpuTest {

    private static final int TOKENS = 300;
    private final SplittableRandom rng = new SplittableRandom(31);

    /**
     * Outputs of the same block (saved on the CPU, loaded on the GPU) for {@code x}: {GPU, CPU}. Both models are
     * closed and must leave no array behind.
     */
    private float[][] cpuAndGpu(Supplier<Block> blocks, float[] x, Shape shape, Path dir, float[][] cpuParams)
            throws IOException, MalformedModelException {
        long live = engine().liveArrayCount();
        float[] onCpu;
        float[] onGpu;
        try (Model cpu = Model.newInstance("b", Device.cpu(), DeepGemmEngine.ENGINE_NAME)) {
            Block block = blocks.get();
            cpu.setBlock(block);
            block.initialize(cpu.getNDManager(), DataType.FLOAT32, shape);
            onCpu = apply(block, cpu.getNDManager().create(x, shape));
            for (int i = 0; i < cpuParams.length; i++) {
                cpuParams[i] = block.getDirectParameters().valueAt(i).getArray().toFloatArray();
            }
            cpu.save(dir, "b");
        }
        try (Model gpu = Model.newInstance("b", Device.gpu(), DeepGemmEngine.ENGINE_NAME)) {
            Block block = blocks.get();
            gpu.setBlock(block);
            gpu.load(dir, "b");
            NDArray y = block instanceof Fp8Linear l ? l.apply(gpu.getNDManager().create(x, shape))
                    : ((Fp8Moe) block).apply(gpu.getNDManager().create(x, shape));
            assertEquals(Location.cuda(0), ((DeepGemmNDArray) y).location());
            onGpu = y.toFloatArray();
        }
        assertEquals(live, engine().liveArrayCount(), "closing the models frees everything, GPU memory included");
        return new float[][] {onGpu, onCpu};
    }

    private static float[] apply(Block block, NDArray x) {
        return (block instanceof Fp8Linear l ? l.apply(x) : ((Fp8Moe) block).apply(x)).toFloatArray();
    }

    @Test
    void linearOnTheGpuAgreesWithTheCpu(@TempDir Path dir) throws IOException, MalformedModelException {
        assumeGpu();
        float[] x = uniform(rng, TOKENS * 512, 1);
        float[][] out = cpuAndGpu(() -> Fp8Linear.builder().setUnits(384).build(), x, new Shape(TOKENS, 512), dir,
                new float[1][]);
        double diff = calcDiff(out[0], out[1]);
        assertTrue(diff < 1e-5, "calc_diff GPU vs CPU " + diff);
    }

    @Test
    void moeOnTheGpuAgreesWithTheReference(@TempDir Path dir) throws IOException, MalformedModelException {
        assumeGpu();
        float[] x = uniform(rng, TOKENS * Fp8BlocksTest.HIDDEN, 1);
        Fp8Moe reference = Fp8BlocksTest.moe(Fp8Moe.Activation.SILU);
        float[][] params = new float[3][];
        float[][] out = cpuAndGpu(() -> Fp8BlocksTest.moe(Fp8Moe.Activation.SILU), x,
                new Shape(TOKENS, Fp8BlocksTest.HIDDEN), dir, params);
        double gpuVsCpu = calcDiff(out[0], out[1]);
        assertTrue(gpuVsCpu < 1e-4, "calc_diff GPU vs CPU " + gpuVsCpu);
        try (var m = ai.djl.ndarray.NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME)) {
            reference.initialize(m, DataType.FLOAT32, new Shape(TOKENS, Fp8BlocksTest.HIDDEN));
            String[] names = {"router", "up", "down"};
            for (int i = 0; i < 3; i++) {
                reference.getDirectParameters().get(names[i]).getArray().set(params[i]);
            }
            double vsFloat = calcDiff(Fp8BlocksTest.moeReference(reference, x, TOKENS, Fp8Moe.Activation.SILU),
                    out[0]);
            assertTrue(vsFloat < 1e-3, "calc_diff GPU vs float64 " + vsFloat);
        }
    }
}
