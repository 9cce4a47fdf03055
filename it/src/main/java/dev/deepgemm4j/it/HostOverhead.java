package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuGraph;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;

/**
 * What one call costs the host: {@value #CALLS} calls of a tiny GEMM (fp8_gemm_nt, M = 1, N = K = 128), timed with the
 * host clock. The enqueue figure is the median over batches of {@value #BATCH} calls, with a synchronisation between
 * batches and outside the timed region: a batch fits in the driver's launch queue, so the figure is the host's own
 * cost, not the GPU's run time showing through a full queue. The completion figure times all calls back to back until
 * they have run; the graph figure replays a captured call. The goal is at most {@value #GOAL_US} µs per call.
 */
final class HostOverhead {

    static final int CALLS = 2000;
    static final int BATCH = 100;
    static final int WARMUP = 20_000;
    static final double GOAL_US = 5;
    private static final int M = 1;
    private static final int N = 128;
    private static final int K = 128;

    private HostOverhead() {
    }

    /**
     * The figures, per call.
     *
     * @param op the operator and shape called
     * @param calls calls per measurement
     * @param enqueueUs host time per call to issue all calls
     * @param completedUs host time per call until all calls have run (a synchronisation after the loop)
     * @param graphReplayUs host time per call replaying a graph that captured one call, until all have run, or null
     * @param note why a figure is missing, or null
     */
    record Result(String op, int calls, Double enqueueUs, Double completedUs, Double graphReplayUs, String note) {
    }

    static Result measure(Location location) {
        String op = "fp8_gemm_nt [1D2D] M=" + M + " N=" + N + " K=" + K;
        try (Fp8Tensor hostA = new Fp8Tensor(RandomTensors.fp8(61, M, K), RandomTensors.scales(62, M, 1));
                Fp8Tensor hostB = new Fp8Tensor(RandomTensors.fp8(63, N, K), RandomTensors.scales(64, 1, 1));
                Tensor a = hostA.data().to(location);
                Tensor sfa = hostA.scales().to(location);
                Tensor b = hostB.data().to(location);
                Tensor sfb = hostB.scales().to(location);
                Tensor d = Tensor.zeros(location, DType.BF16, M, N)) {
            Fp8Tensor x = new Fp8Tensor(a, sfa);
            Fp8Tensor y = new Fp8Tensor(b, sfb);
            Runnable call = () -> DeepGemm.fp8GemmNt(x, y, d);
            for (int i = 0; i < WARMUP; i++) {
                call.run();
            }
            Gpu.synchronize();
            double enqueueUs = medianBatchEnqueueUs(call);
            long start = System.nanoTime();
            for (int i = 0; i < CALLS; i++) {
                call.run();
            }
            Gpu.synchronize();
            long done = System.nanoTime();
            Double graphUs = null;
            String note = null;
            try {
                graphUs = graphReplayUs(call);
            } catch (RuntimeException e) {
                note = "graph replay: " + e;
            }
            return new Result(op, CALLS, enqueueUs, (done - start) / 1e3 / CALLS, graphUs, note);
        } catch (RuntimeException | LinkageError e) {
            return new Result(op, CALLS, null, null, null, e.toString());
        }
    }

    private static double medianBatchEnqueueUs(Runnable call) {
        double[] perCall = new double[CALLS / BATCH];
        for (int b = 0; b < perCall.length; b++) {
            long start = System.nanoTime();
            for (int i = 0; i < BATCH; i++) {
                call.run();
            }
            perCall[b] = (System.nanoTime() - start) / 1e3 / BATCH;
            Gpu.synchronize();
        }
        java.util.Arrays.sort(perCall);
        return perCall[perCall.length / 2];
    }

    private static double graphReplayUs(Runnable call) {
        try (GpuGraph graph = Gpu.capture(call)) {
            for (int i = 0; i < WARMUP; i++) {
                graph.replay();
            }
            Gpu.synchronize();
            long start = System.nanoTime();
            for (int i = 0; i < CALLS; i++) {
                graph.replay();
            }
            Gpu.synchronize();
            return (System.nanoTime() - start) / 1e3 / CALLS;
        }
    }
}
