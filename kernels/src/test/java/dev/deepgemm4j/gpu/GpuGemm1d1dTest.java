package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.assertClose;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertSameStorage;
import static dev.deepgemm4j.gpu.GpuTestSupport.calcDiff;
import static dev.deepgemm4j.gpu.GpuTestSupport.concat;
import static dev.deepgemm4j.gpu.GpuTestSupport.copyInto;
import static dev.deepgemm4j.gpu.GpuTestSupport.hopper;
import static dev.deepgemm4j.gpu.GpuTestSupport.operand;
import static dev.deepgemm4j.gpu.GpuTestSupport.poisoned;
import static dev.deepgemm4j.gpu.GpuTestSupport.reference;
import static dev.deepgemm4j.gpu.GpuTestSupport.storageBytes;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.heuristics.Sm90Gemm1d1dHeuristic;
import dev.deepgemm4j.testing.RandomTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Weight-gradient GEMMs (1D1D: per-token scales on both operands, FP32 {@code D = C + A·Bᵀ}) on the GPU against the
 * CPU reference and a float64 reference, dense and K-grouped. On sm_90 the Hopper kernel
 * ({@code sm90_fp8_gemm_1d1d.cu}) must run (launch counters) and agree within calc_diff 1e-5 (another summation
 * order than the CPU's); elsewhere the SIMT kernels must match the CPU byte for byte. Every case also checks 20
 * reruns from the same C are bitwise identical (the reduce-add epilogue adds each tile exactly once).
 */
@Tag("gpu")
class GpuGemm1d1dTest {

    private static final int RERUNS = 20;

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    /**
     * The shapes below reach every tile height the heuristic picks: one math warpgroup (64 rows) on the small ones,
     * two taking turns on the tensor core (128 rows, ping-pong) on the last dense and k-grouped ones.
     */
    @Test
    void theShapesCoverBothTileHeights() {
        int sms = Math.min(DeepGemm.getNumSms(), Gpu.smCount(0));
        assertEquals(64, Sm90Gemm1d1dHeuristic.dense(256, 264, 640, sms).config().blockM());
        assertEquals(128, Sm90Gemm1d1dHeuristic.dense(1100, 1900, 640, sms).config().blockM());
        assertEquals(128, Sm90Gemm1d1dHeuristic.kGrouped(3, 1000, 2000, 1024, sms).config().blockM());
    }

    /** M, N tails; K tails (K % 128 != 0); a single row; several waves of tiles; C as D or as a separate tensor. */
    @ParameterizedTest(name = "M={0} N={1} K={2} cIsD={3}")
    @CsvSource({"256,264,640,true", "200,264,640,false", "129,136,2064,false", "1,8,128,true", "4097,152,256,true",
        "65,4100,384,false", "1100,1900,640,true"})
    void dense(int m, long n, long k, boolean cIsD) {
        SplittableRandom rng = new SplittableRandom(m * 7L + n + k);
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, false);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, m, n);
        Tensor dCpu = cIsD ? c.contiguousCopy() : poisoned(DType.FP32, m, n);
        DeepGemm.fp8GemmNt(a, b, dCpu, cIsD ? dCpu : c, Recipe.PER_TOKEN_PER_TOKEN);

        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor bGpu = toGpu(b);
        Tensor cGpu = toGpu(c);
        Tensor dGpu = toGpu(cIsD ? c.contiguousCopy() : poisoned(DType.FP32, m, n));
        Runnable gemm = () -> DeepGemm.fp8GemmNt(aGpu, bGpu, dGpu, cIsD ? dGpu : cGpu, Recipe.PER_TOKEN_PER_TOKEN);
        long before = Sm90Gemm1d1dLauncher.DENSE_LAUNCHES.sum();
        gemm.run();
        assertEquals(before + (hopper() ? 1 : 0), Sm90Gemm1d1dLauncher.DENSE_LAUNCHES.sum(), "Hopper 1D1D launches");
        double[] ref = reference(a, b, false, c);
        assertOutput(dCpu, dGpu, ref);
        assertRerunsIdentical(dGpu, () -> {
            if (cIsD) {
                copyInto(cGpu, dGpu);
            } else {
                copyInto(toGpu(poisoned(DType.FP32, m, n)), dGpu);
            }
            gemm.run();
        });
    }

    /** Accumulating twice into the same D: D = C + 2·A·Bᵀ (the kernel adds to what D holds, never overwrites). */
    @Test
    void accumulatesIntoExistingOutput() {
        SplittableRandom rng = new SplittableRandom(11);
        long m = 300;
        long n = 456;
        long k = 1024;
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, false);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, m, n);
        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor bGpu = toGpu(b);
        Tensor dGpu = toGpu(c.contiguousCopy());
        DeepGemm.fp8GemmNt(aGpu, bGpu, dGpu, dGpu, Recipe.PER_TOKEN_PER_TOKEN);
        DeepGemm.fp8GemmNt(aGpu, bGpu, dGpu, dGpu, Recipe.PER_TOKEN_PER_TOKEN);
        double[] once = reference(a, b, false, null);
        double[] cv = GpuTestSupport.doubles(c);
        double[] want = new double[once.length];
        for (int i = 0; i < want.length; i++) {
            want[i] = cv[i] + 2 * once[i];
        }
        double diff = calcDiff(want, dGpu);
        assertTrue(diff < 1e-5, "calc_diff(GPU, C + 2AB) = " + diff);
    }

    /** Groups along K (one empty, one of 128 tokens), M and N not multiples of the tile, C as D or separate. */
    @ParameterizedTest(name = "M={0} N={1} cIsD={2}")
    @CsvSource({"144,80,true", "144,80,false", "200,1000,true", "64,8,false", "1000,2000,false"})
    void kGrouped(long m, long n, boolean cIsD) {
        SplittableRandom rng = new SplittableRandom(m + n + (cIsD ? 1 : 0));
        int[] ks = {256, 0, 128, 640};
        int groups = ks.length;
        long sumK = Arrays.stream(ks).sum();
        List<Fp8Tensor> aGroups = new ArrayList<>();
        List<Fp8Tensor> bGroups = new ArrayList<>();
        for (int kg : ks) {
            aGroups.add(operand(rng, m, kg, false));
            bGroups.add(operand(rng, n, kg, false));
        }
        Fp8Tensor a = flatBlocks(aGroups, m, sumK);
        Fp8Tensor b = flatBlocks(bGroups, n, sumK);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, groups, m, n);
        Tensor dCpu = cIsD ? c.contiguousCopy() : poisoned(DType.FP32, groups, m, n);
        DeepGemm.kGroupedFp8GemmNtContiguous(a, b, dCpu, ks, null, cIsD ? dCpu : c);

        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor bGpu = toGpu(b);
        Tensor cGpu = toGpu(c);
        Tensor dGpu = toGpu(cIsD ? c.contiguousCopy() : poisoned(DType.FP32, groups, m, n));
        Runnable gemm = () -> DeepGemm.kGroupedFp8GemmNtContiguous(aGpu, bGpu, dGpu, ks, null, cIsD ? dGpu : cGpu);
        long before = Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum();
        gemm.run();
        assertEquals(before + (hopper() ? 1 : 0), Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum(),
                "Hopper K-grouped launches");
        double[][] refs = new double[groups][];
        for (int g = 0; g < groups; g++) {
            refs[g] = reference(aGroups.get(g), bGroups.get(g), false, c.select(0, g));
        }
        assertOutput(dCpu, dGpu, concat(refs));
        assertRerunsIdentical(dGpu, () -> {
            copyInto(cGpu, dGpu);
            gemm.run();
        });
    }

    // ---------------------------------------------------------------- helpers

    /** Hopper: calc_diff below 1e-5 against the CPU and the float64 reference; elsewhere the CPU's exact bytes. */
    private static void assertOutput(Tensor dCpu, Tensor dGpu, double[] ref) {
        if (hopper()) {
            assertCloseToReference(dCpu, dGpu, ref);
        } else {
            assertSameStorage(dCpu, dGpu);
            assertClose(dCpu, dGpu, ref);
        }
    }

    /** calc_diff of the GPU output below 1e-5 against the CPU's and against float64 (a poisoned NaN fails both). */
    static void assertCloseToReference(Tensor dCpu, Tensor dGpu, double[] ref) {
        double vsCpu = calcDiff(dCpu, dGpu);
        double vsRef = calcDiff(ref, dGpu);
        assertTrue(vsCpu < 1e-5, "calc_diff(GPU, CPU) = " + vsCpu);
        assertTrue(vsRef < 1e-5, "calc_diff(GPU, float64) = " + vsRef);
    }

    /** {@code rerun} (reset D, run again) {@value #RERUNS} times: every result equals the first byte for byte. */
    private static void assertRerunsIdentical(Tensor dGpu, Runnable rerun) {
        byte[] first = storageBytes(dGpu);
        for (int r = 0; r < RERUNS; r++) {
            rerun.run();
            assertArrayEquals(first, storageBytes(dGpu), "rerun " + r + " differs");
        }
    }

    /** NT storage: group blocks [MN, K_g] end to end in a flat buffer; scales the transpose of [ΣKB, MN]. */
    private static Fp8Tensor flatBlocks(List<Fp8Tensor> groups, long mn, long sumK) {
        Tensor data = Tensor.zeros(DType.FP8_E4M3, sumK * mn);
        Tensor scalesT = Tensor.zeros(DType.FP32, sumK / 128, mn);
        long kOff = 0;
        for (Fp8Tensor g : groups) {
            long kg = g.data().size(1);
            if (kg > 0) {
                data.narrow(0, kOff * mn, kg * mn).view(mn, kg).copyFrom(g.data());
                scalesT.narrow(0, kOff / 128, kg / 128).copyFrom(g.scales().t());
            }
            kOff += kg;
        }
        return new Fp8Tensor(data, scalesT.t());
    }
}
