package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The scorer's batch path on GPU 0, without Spark, against the CPU backend and the float64 reference. */
@Tag("gpu")
class MoeLayerGpuTest {

    private static final Location GPU = Location.cuda(0);

    private static void requireGpu() {
        try (Tensor probe = Tensor.zeros(GPU, DType.FP32, 1)) {
            assertEquals(GPU, probe.location());
        } catch (RuntimeException e) {
            Assumptions.abort("no GPU backend: " + e.getMessage());
        }
    }

    @Test
    void bothLayoutsOnTheGpuMatchTheCpuBackend() {
        requireGpu();
        SplittableRandom rng = new SplittableRandom(8);
        int experts = 8;
        int d = 512;
        int tokens = 1000;
        try (MoeModel host = MoeModel.generate(51, experts, d, 256); MoeModel device = host.to(GPU)) {
            assertEquals(GPU, device.location());
            float[] hidden = MoeReference.gaussian(rng, tokens * d);
            Routing routing = new MoeLayer(host, ExpertLayout.CONTIGUOUS).route(hidden, tokens, 2);
            float[] cpu = new MoeLayer(host, ExpertLayout.CONTIGUOUS).score(hidden, routing).values();
            float[] ref = MoeReference.score(host, hidden, routing, true);
            // The Hopper kernels sum in another order than the CPU, and the BF16 rounding of the expert outputs
            // follows; a wrong kernel is off by far more than 1e-4 (DeepGEMM's own tests accept 1e-3).
            for (ExpertLayout layout : ExpertLayout.values()) {
                float[] gpu = new MoeLayer(device, layout).score(hidden, routing).values();
                assertTrue(MoeReference.calcDiff(cpu, gpu) < 1e-4, layout + " vs CPU: "
                        + MoeReference.calcDiff(cpu, gpu));
                assertTrue(MoeReference.calcDiff(ref, gpu) < 1e-4, layout + " vs float64: "
                        + MoeReference.calcDiff(ref, gpu));
            }
        }
    }

    /** Prints (asserts nothing about speed) the batch path's throughput at the main job's shapes, GPU and CPU. */
    @Test
    void reportsTheBatchThroughputAtTheMainJobShapes() {
        requireGpu();
        int tokens = 4096;
        try (MoeModel host = MoeModel.generate(42, 8, 256, 256); MoeModel device = host.to(GPU)) {
            float[] hidden = MoeReference.gaussian(new SplittableRandom(9), tokens * 256);
            Routing routing = new MoeLayer(host, ExpertLayout.CONTIGUOUS).route(hidden, tokens, 2);
            for (MoeModel m : new MoeModel[] {device, host}) {
                MoeLayer layer = new MoeLayer(m, ExpertLayout.CONTIGUOUS);
                layer.score(hidden, routing); // warm-up: kernels loaded, JIT compiled
                long t0 = System.nanoTime();
                int reps = 5;
                for (int i = 0; i < reps; i++) {
                    layer.score(hidden, routing);
                }
                double seconds = (System.nanoTime() - t0) / 1e9 / reps;
                System.out.printf(java.util.Locale.ROOT, "MoeLayer batch (E=8, D=256, F=256, top-2, %d tokens) on %s:"
                        + " %.1f ms, %.0f tokens/s%n", tokens, m.location(), seconds * 1e3, tokens / seconds);
            }
        }
    }
}
