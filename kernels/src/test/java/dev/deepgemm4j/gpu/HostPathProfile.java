package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.FakeCudaLibraries;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;

/**
 * The Java side of one small GEMM call against the fake driver (whose launch does almost nothing): nanoseconds and
 * bytes allocated per call, after warm-up. Run by hand to see what the host path costs without a GPU:
 * {@code java -cp <test classpath> -Ddeepgemm4j.cuda.driverLib=<fake libcuda> dev.deepgemm4j.gpu.HostPathProfile
 * <fake libcuda>}.
 */
public final class HostPathProfile {

    private HostPathProfile() {
    }

    public static void main(String[] args) {
        new FakeCudaLibraries.State(Path.of(args[0]));
        CudaBackendProvider.binariesForTesting = new FakeDriverBackendScenarios.SignatureCompiler();
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
        Location gpu = Location.cuda(0);
        try (Tensor a = Tensor.zeros(gpu, DType.FP8_E4M3, 1, 128);
                Tensor sfa = Tensor.zeros(gpu, DType.FP32, 1, 1);
                Tensor b = Tensor.zeros(gpu, DType.FP8_E4M3, 128, 128);
                Tensor sfb = Tensor.zeros(gpu, DType.FP32, 1, 1);
                Tensor d = Tensor.zeros(gpu, DType.BF16, 1, 128)) {
            Fp8Tensor x = new Fp8Tensor(a, sfa);
            Fp8Tensor y = new Fp8Tensor(b, sfb);
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            for (int round = 0; round < 5; round++) {
                long bytes = threads.getCurrentThreadAllocatedBytes();
                long start = System.nanoTime();
                for (int i = 0; i < calls; i++) {
                    DeepGemm.fp8GemmNt(x, y, d);
                }
                long ns = System.nanoTime() - start;
                long allocated = threads.getCurrentThreadAllocatedBytes() - bytes;
                System.out.printf("round %d: %.3f us/call, %.1f bytes/call%n", round, ns / 1e3 / calls,
                        (double) allocated / calls);
            }
        }
    }
}
