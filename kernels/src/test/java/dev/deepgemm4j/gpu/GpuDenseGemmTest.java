package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.assertBitwiseReruns;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertClose;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertDenseKernel;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertGemmOutput;
import static dev.deepgemm4j.gpu.GpuTestSupport.hopper;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertSameStorage;
import static dev.deepgemm4j.gpu.GpuTestSupport.operand;
import static dev.deepgemm4j.gpu.GpuTestSupport.poisoned;
import static dev.deepgemm4j.gpu.GpuTestSupport.reference;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.heuristics.Sm90GemmHeuristic;
import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dense FP8 GEMMs on the GPU against the CPU reference backend. Where the SIMT kernel runs: every output storage
 * byte equal (values and the untouched row padding), calc_diff GPU vs CPU below 1e-10 and, for BF16, vs the float64
 * reference below 1e-5. Where a Hopper kernel runs (1D2D or 1D1D, K-major, aligned, on sm_90; another summation order):
 * row padding untouched and calc_diff below 1e-5 vs the float64 reference. Each test asserts which kernel ran.
 */
@Tag("gpu")
class GpuDenseGemmTest {


    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    /**
     * DeepGEMM's M families against its (N, K) shapes: (2112, 7168) in full for decode-sized M, scaled to K = 896
     * for every M so that the CPU reference of M = 4097 stays quick.
     */
    static Stream<Arguments> shapes() {
        long[][] nk = {{2112, 896}, {576, 512}, {136, 384}};
        return Stream.concat(
                Stream.of(1, 7, 65, 127, 4097).flatMap(m -> Stream.of(nk).map(s -> Arguments.of(m, s[0], s[1]))),
                Stream.of(1, 65, 127).map(m -> Arguments.of(m, 2112L, 7168L)));
    }

    @ParameterizedTest(name = "M={0} N={1} K={2}")
    @MethodSource("shapes")
    void ntPerBlockScales(int m, long n, long k) {
        SplittableRandom rng = new SplittableRandom(m * 31L + n + k);
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, true);
        // D rows padded by 8 elements: the padding must come back poisoned.
        Tensor dCpu = poisoned(DType.BF16, new long[] {m, n}, n + 8);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(a, b, dCpu);
        assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu));
        assertGemmOutput(dCpu, dGpu, reference(a, b, true, null), hopper());
    }

    /**
     * The Hopper kernel over 128-row tiles and several waves: sfa given K-major (copied into the TMA layout first) and
     * already MN-major TMA-aligned give the same bytes, and 20 reruns are bitwise identical.
     */
    @Test
    void hopperKernelIsDeterministicAndTakesBothSfaLayouts() {
        NtProblem p = NtProblem.random(4242, 4097, 2112, 896);
        Fp8Tensor aGpu = toGpu(p.a());
        Fp8Tensor bGpu = toGpu(p.b());
        Fp8Tensor aMnMajor = new Fp8Tensor(aGpu.data(), DeepGemm.getMnMajorTmaAlignedTensor(aGpu.scales()));
        // Even runs pass sfa K-major (copied into the kernel's layout first), odd runs MN-major TMA-aligned.
        assertBitwiseReruns(20, p.poisonedOutput(), (run, dGpu) -> assertDenseKernel(true,
                () -> DeepGemm.fp8GemmNt(run % 2 == 0 ? aGpu : aMnMajor, bGpu, dGpu)), p::assertOutput);
    }

    /** A random NT problem (A per-token, B per-block scales) and the CPU's D in a poisoned buffer with padded rows. */
    private record NtProblem(long m, long n, Fp8Tensor a, Fp8Tensor b, Tensor dCpu) {

        static NtProblem random(long seed, long m, long n, long k) {
            SplittableRandom rng = new SplittableRandom(seed);
            Fp8Tensor a = operand(rng, m, k, false);
            Fp8Tensor b = operand(rng, n, k, true);
            Tensor dCpu = poisoned(DType.BF16, new long[] {m, n}, n + 8);
            DeepGemm.fp8GemmNt(a, b, dCpu);
            return new NtProblem(m, n, a, b, dCpu);
        }

        /** A host D [m, n] with rows 8 elements apart more than needed, every byte poisoned. */
        Tensor poisonedOutput() {
            return poisoned(DType.BF16, new long[] {m, n}, n + 8);
        }

        /** A Hopper or SIMT result against the CPU's and the float64 reference. */
        void assertOutput(Tensor dGpu) {
            assertGemmOutput(dCpu, dGpu, reference(a, b, true, null), hopper());
        }
    }

    /**
     * The opt-in tuner: the first call times the candidates (or finds a choice kept on disk by an earlier run) and
     * writes the caller's D with the kept one, which matches the reference; later calls launch that one kernel alone
     * and give the same bytes.
     */
    @Test
    void autotunedHopperKernelMatchesTheReferenceAndKeepsItsChoice() {
        org.junit.jupiter.api.Assumptions.assumeTrue(hopper(), "the tuner serves the Hopper kernel");
        long m = 512;
        long n = 2112;
        long k = 896;
        NtProblem p = NtProblem.random(515, m, n, k);
        Fp8Tensor aK = toGpu(p.a());
        // Scales already in the kernel's layout, so that the call launches only GEMMs.
        Fp8Tensor aGpu = new Fp8Tensor(aK.data(), DeepGemm.getMnMajorTmaAlignedTensor(aK.scales()));
        Fp8Tensor bGpu = toGpu(p.b());
        DeepGemm.setAutotune(true);
        try {
            assertBitwiseReruns(5, p.poisonedOutput(), (run, dGpu) -> {
                long tunings = LaunchTuner.TUNINGS.sum();
                long before = GpuTestSupport.launches();
                assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(aGpu, bGpu, dGpu));
                long launched = GpuTestSupport.launches() - before;
                boolean tuned = LaunchTuner.TUNINGS.sum() == tunings + 1;
                assertEquals(run == 0 && tuned ? 1 + (1 + LaunchTuner.TIMED_RUNS)
                        * Sm90GemmHeuristic.tuningCandidates(m, n, k, Math.min(DeepGemm.getNumSms(),
                                dev.deepgemm4j.Gpu.smCount(0))).size() : 1, launched,
                        "run " + run + (tuned ? " (tuned)" : " (kept choice)"));
                assertTrue(run == 0 || !tuned, "tuned once");
            }, p::assertOutput);
        } finally {
            DeepGemm.setAutotune(false);
        }
    }

    /**
     * Shapes the heuristic runs in 2-CTA clusters: 8 M blocks of 128 that pair up, the last one partial; and 9 M
     * blocks over 29 N blocks, 261 tiles, so that some tile pairs straddle two N blocks (no multicast) and the last
     * cluster's second CTA has no tile (it only paces its peer's pipeline).
     */
    static Stream<Arguments> clusteredShapes() {
        return Stream.of(Arguments.of(1000L, 4224L, 2048L), Arguments.of(1100L, 3712L, 2048L));
    }

    /**
     * The Hopper kernel in 2-CTA clusters (each B tile multicast into two CTAs where their tiles share it) against
     * the CPU and the float64 reference with poisoned output, then 20 bitwise-identical reruns.
     */
    @ParameterizedTest(name = "M={0} N={1} K={2}")
    @MethodSource("clusteredShapes")
    void clusteredHopperKernelMatchesTheReferenceAndIsDeterministic(long m, long n, long k) {
        int numSms = Math.min(DeepGemm.getNumSms(), dev.deepgemm4j.Gpu.smCount(0));
        boolean clustered = hopper() && numSms >= 2;
        if (clustered) {
            assertEquals(2, Sm90GemmHeuristic.choose(m, n, k, numSms).config().clusterM(),
                    "the heuristic no longer clusters this shape: pick another");
        }
        SplittableRandom rng = new SplittableRandom(777 + m);
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, true);
        Tensor dCpu = poisoned(DType.BF16, new long[] {m, n}, n + 8);
        DeepGemm.fp8GemmNt(a, b, dCpu);
        double[] ref = reference(a, b, true, null);
        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor bGpu = toGpu(b);
        assertBitwiseReruns(20, poisoned(DType.BF16, new long[] {m, n}, n + 8), (run, dGpu) -> {
            long before = Sm90DenseGemmLauncher.CLUSTER_LAUNCHES.sum();
            assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(aGpu, bGpu, dGpu));
            assertEquals(before + (clustered ? 1 : 0), Sm90DenseGemmLauncher.CLUSTER_LAUNCHES.sum(), "clustered");
        }, dGpu -> assertGemmOutput(dCpu, dGpu, ref, hopper()));
    }

    /** The transposed layouts arrive at the kernel as MN-major views with transposed scales. */
    @ParameterizedTest
    @EnumSource(GemmLayout.class)
    void everyLayout(GemmLayout layout) {
        SplittableRandom rng = new SplittableRandom(layout.ordinal() + 100);
        long m = 96;
        long n = 144;
        long k = 384;
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, true);
        Fp8Tensor aGiven = layout.aTransposed() ? new Fp8Tensor(a.data().t().contiguousCopy(), a.scales().t()) : a;
        Fp8Tensor bGiven = layout.bGivenAsKByN() ? new Fp8Tensor(b.data().t().contiguousCopy(), b.scales().t()) : b;
        Tensor dCpu = poisoned(DType.BF16, m, n);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8Gemm(layout, aGiven, bGiven, dCpu, null, null);
        boolean kMajor = layout == GemmLayout.NT;
        assertDenseKernel(kMajor, () -> DeepGemm.fp8Gemm(layout, toGpu(aGiven), toGpu(bGiven), dGpu, null, null));
        assertGemmOutput(dCpu, dGpu, reference(a, b, true, null), kMajor && hopper());
    }

    /**
     * 1D1D: per-token B scales, FP32 D = C + A·Bᵀ, with C as D itself or as a separate column-major tensor (copied
     * into D on the device by the strided copy kernel first).
     */
    @ParameterizedTest(name = "M={0} N={1} K={2} cIsD={3}")
    @CsvSource({"127,136,384,true", "127,136,384,false", "65,576,512,false", "4097,136,256,true"})
    void perTokenScalesAccumulate(int m, long n, long k, boolean cIsD) {
        SplittableRandom rng = new SplittableRandom(m + n + k + (cIsD ? 1 : 0));
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, false);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, m, n);
        Tensor cGiven = cIsD ? null : c.t().contiguousCopy().t();
        Tensor dCpu = cIsD ? c.contiguousCopy() : poisoned(DType.FP32, m, n);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(a, b, dCpu, cIsD ? dCpu : cGiven);
        // K-major, K % 16 == 0 and N % 4 == 0: on sm_90 the Hopper 1D1D kernel (another summation order).
        assertDenseKernel(true, () -> DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu, cIsD ? dGpu : toGpu(cGiven)));
        assertGemmOutput(dCpu, dGpu, reference(a, b, false, c), hopper());
    }

    /**
     * Packed UE8M0 scales (MN-major, TMA-aligned words, K blocks not a multiple of 4), BF16 or FP32 out, from a
     * quantisation with power-of-two scales; the reference uses those scales unpacked.
     */
    @ParameterizedTest(name = "bf16Out={0}")
    @ValueSource(booleans = {true, false})
    void packedUe8m0Scales(boolean bf16Out) {
        SplittableRandom rng = new SplittableRandom(bf16Out ? 7 : 8);
        long m = 65;
        long n = 136;
        long k = 640;
        Fp8Tensor a = DeepGemm.perTokenCastToFp8(RandomTensors.uniform(rng, DType.FP32, m, k), true);
        Fp8Tensor b = DeepGemm.perTokenCastToFp8(RandomTensors.uniform(rng, DType.FP32, n, k), true);
        Fp8Tensor aPacked = new Fp8Tensor(a.data(), DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(a.scales()));
        Fp8Tensor bPacked = new Fp8Tensor(b.data(), DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(b.scales()));
        DType out = bf16Out ? DType.BF16 : DType.FP32;
        Tensor dCpu = poisoned(out, m, n);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(aPacked, bPacked, dCpu);
        assertDenseKernel(false, () -> DeepGemm.fp8GemmNt(toGpu(aPacked), toGpu(bPacked), dGpu));
        assertSameStorage(dCpu, dGpu);
        assertClose(dCpu, dGpu, reference(a, b, false, null));
    }

    /** K = 0: D becomes zeros (the fill kernel) or a copy of C. */
    @Test
    void emptyKFillsOrCopies() {
        SplittableRandom rng = new SplittableRandom(9);
        Fp8Tensor a = operand(rng, 33, 0, false);
        Fp8Tensor b = operand(rng, 136, 0, true);
        Tensor dCpu = poisoned(DType.BF16, new long[] {33, 136}, 144);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.fp8GemmNt(a, b, dCpu);
        DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu);
        assertSameStorage(dCpu, dGpu);

        Fp8Tensor bRow = operand(rng, 136, 0, false);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, 33, 136);
        Tensor d32Cpu = poisoned(DType.FP32, 33, 136);
        Tensor d32Gpu = toGpu(d32Cpu);
        DeepGemm.fp8GemmNt(a, bRow, d32Cpu, c, Recipe.PER_TOKEN_PER_TOKEN);
        DeepGemm.fp8GemmNt(toGpu(a), toGpu(bRow), d32Gpu, toGpu(c), Recipe.PER_TOKEN_PER_TOKEN);
        assertSameStorage(d32Cpu, d32Gpu);
    }
}
