package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.assertBitwiseReruns;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertDenseKernel;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertGemmOutput;
import static dev.deepgemm4j.gpu.GpuTestSupport.hopper;
import static dev.deepgemm4j.gpu.GpuTestSupport.operand;
import static dev.deepgemm4j.gpu.GpuTestSupport.poisoned;
import static dev.deepgemm4j.gpu.GpuTestSupport.reference;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.heuristics.Sm90SmallMGemmHeuristic;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The small-M (decode) Hopper kernel against the CPU reference: M ≤ 64 with 1D2D scales and BF16 D runs it on sm_90
 * (asserted through the launch counter), with N not a multiple of its row tiles and K split over several units; the
 * output's row padding stays poisoned, calc_diff stays below 1e-5 of the float64 reference, and split-K reruns are
 * bitwise identical. Elsewhere the same calls run the SIMT kernel and must match the CPU byte for byte.
 */
@Tag("gpu")
class GpuSmallMGemmTest {

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    /** Runs {@code gemm} and checks that the small-M kernel ran exactly when {@code expected} on an sm_90 device. */
    private static void assertSmallM(boolean expected, Runnable gemm) {
        long before = DenseGemmLauncher.SM90_SMALL_M_LAUNCHES.sum();
        gemm.run();
        assertEquals(before + (expected && hopper() ? 1 : 0), DenseGemmLauncher.SM90_SMALL_M_LAUNCHES.sum(),
                "small-M kernel launches");
    }

    private static int splits(long m, long n, long k) {
        return Sm90SmallMGemmHeuristic.choose(m, n, k, Math.min(DeepGemm.getNumSms(), Gpu.smCount(0)), true).splits();
    }

    @ParameterizedTest(name = "M={0} N={1} K={2}")
    @CsvSource({"1,200,7168", "7,200,7168", "33,200,7168", "64,200,7168", "1,576,7168", "7,2112,1536",
        "33,136,384", "64,4104,2048", "1,24576,1536"})
    void matchesTheReference(int m, long n, long k) {
        SplittableRandom rng = new SplittableRandom(m * 131L + n * 7 + k);
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, true);
        Tensor dCpu = poisoned(DType.BF16, new long[] {m, n}, n + 8);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(a, b, dCpu);
        assertSmallM(true, () -> assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu)));
        assertGemmOutput(dCpu, dGpu, reference(a, b, true, null), hopper());
    }

    /** The shapes above that split K: the test would prove nothing about the reduction if none did. */
    @Test
    void theShapesSplitK() {
        assertTrue(splits(1, 200, 7168) > 1);
        assertTrue(splits(64, 200, 7168) > 1);
        assertTrue(splits(1, 576, 7168) > 1);
    }

    /**
     * Split-K is reduced by the last unit to arrive, in split order: 20 reruns (K-major and MN-major sfa alternating)
     * give the same bytes whichever unit finishes last.
     */
    @ParameterizedTest(name = "M={0}")
    @CsvSource({"1", "33"})
    void splitKIsDeterministic(int m) {
        long n = 200;
        long k = 7168;
        assertTrue(splits(m, n, k) > 1);
        SplittableRandom rng = new SplittableRandom(77 + m);
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, true);
        Tensor dCpu = poisoned(DType.BF16, new long[] {m, n}, n + 8);
        DeepGemm.fp8GemmNt(a, b, dCpu);
        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor bGpu = toGpu(b);
        Fp8Tensor aMnMajor = new Fp8Tensor(aGpu.data(), DeepGemm.getMnMajorTmaAlignedTensor(aGpu.scales()));
        // Even runs pass sfa K-major (copied into the kernel's layout first), odd runs MN-major TMA-aligned.
        assertBitwiseReruns(20, poisoned(DType.BF16, new long[] {m, n}, n + 8), (run, dGpu) -> assertSmallM(true,
                () -> DeepGemm.fp8GemmNt(run % 2 == 0 ? aGpu : aMnMajor, bGpu, dGpu)),
                dGpu -> assertGemmOutput(dCpu, dGpu, reference(a, b, true, null), hopper()));
    }

    /**
     * Accumulation (1D1D, FP32 D += A·Bᵀ) is not the small-M kernel's: at M = 7 the Hopper 1D1D kernel runs it; the
     * same operands without accumulation (BF16 D, per-block B scales) do run the small-M kernel.
     */
    @Test
    void accumulateRunsThe1d1dKernel() {
        SplittableRandom rng = new SplittableRandom(5);
        int m = 7;
        long n = 200;
        long k = 7168;
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, false);
        Tensor c = dev.deepgemm4j.testing.RandomTensors.uniform(rng, DType.FP32, m, n);
        Tensor dCpu = c.contiguousCopy();
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(a, b, dCpu, dCpu);
        assertSmallM(false, () -> assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu, dGpu)));
        assertGemmOutput(dCpu, dGpu, reference(a, b, false, c), hopper());

        Fp8Tensor bBlock = operand(rng, n, k, true);
        Tensor eCpu = poisoned(DType.BF16, m, n);
        Tensor eGpu = toGpu(eCpu);
        DeepGemm.fp8GemmNt(a, bBlock, eCpu);
        assertSmallM(true, () -> DeepGemm.fp8GemmNt(toGpu(a), toGpu(bBlock), eGpu));
        assertGemmOutput(eCpu, eGpu, reference(a, bBlock, true, null), hopper());
    }

    /** M = 65 is past the small-M path: the tiled Hopper kernel takes it. */
    @Test
    void m65RunsTheTiledKernel() {
        SplittableRandom rng = new SplittableRandom(65);
        Fp8Tensor a = operand(rng, 65, 1536, false);
        Fp8Tensor b = operand(rng, 200, 1536, true);
        Tensor dCpu = poisoned(DType.BF16, 65, 200);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(a, b, dCpu);
        assertSmallM(false, () -> assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu)));
        assertGemmOutput(dCpu, dGpu, reference(a, b, true, null), hopper());
    }

    /** Once a shape ran, reruns on the stream reuse its split-K workspace: no new cache entry, same memory. */
    @Test
    void steadyStateReusesTheWorkspace() {
        SplittableRandom rng = new SplittableRandom(3);
        Fp8Tensor a = toGpu(operand(rng, 1, 7168, false));
        Fp8Tensor b = toGpu(operand(rng, 576, 7168, true));
        Tensor d = Tensor.zeros(GpuTestSupport.GPU, DType.BF16, 1, 576);
        DeepGemm.fp8GemmNt(a, b, d);
        if (!hopper()) {
            return;
        }
        var stream = CurrentStream.of(0);
        Sm90SmallMGemmLauncher.Workspace ws = Sm90SmallMGemmLauncher.cachedWorkspace(stream);
        assertTrue(ws != null, "a split-K launch cached a workspace for the stream");
        int cached = Sm90SmallMGemmLauncher.workspaceCount();
        for (int i = 0; i < 5; i++) {
            DeepGemm.fp8GemmNt(a, b, d);
        }
        assertEquals(cached, Sm90SmallMGemmLauncher.workspaceCount());
        assertTrue(ws == Sm90SmallMGemmLauncher.cachedWorkspace(stream), "same workspace");
    }
}
