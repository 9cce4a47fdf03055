package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.assertGroupedKernel;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertGroupedOutput;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertSameStorage;
import static dev.deepgemm4j.gpu.GpuTestSupport.copyInto;
import static dev.deepgemm4j.gpu.GpuTestSupport.hopper;
import static dev.deepgemm4j.gpu.GpuTestSupport.launches;
import static dev.deepgemm4j.gpu.GpuTestSupport.storageBytes;
import static dev.deepgemm4j.gpu.GpuTestSupport.ceilDiv;
import static dev.deepgemm4j.gpu.GpuTestSupport.concat;
import static dev.deepgemm4j.gpu.GpuTestSupport.operand;
import static dev.deepgemm4j.gpu.GpuTestSupport.poisoned;
import static dev.deepgemm4j.gpu.GpuTestSupport.reference;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static dev.deepgemm4j.gpu.GpuTestSupport.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuGraph;
import dev.deepgemm4j.Tensor;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Grouped GEMMs on the GPU against the CPU reference: M-grouped contiguous (index and psum layouts, experts with 0
 * and 1 rows, padding rows), masked (masked_m = 0 and = M_max) and K-grouped (an empty group; flat and padded
 * operands). Outputs start poisoned. Where the SIMT kernels run every storage byte must equal the CPU's, so rows no
 * expert owns stay poisoned; where the M-grouped GEMMs run on the Hopper kernel (sm_90, K-major B, K % 16 == 0,
 * N % 8 == 0; another summation order) the same elements must be written, the rest stay poisoned byte for byte, and
 * the values are within calc_diff 1e-5. Each M-grouped test asserts which kernel ran.
 */
@Tag("gpu")
class GpuGroupedGemmTest {

    private static final int ALIGN = 128;

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    private static Fp8Tensor experts(SplittableRandom rng, int groups, long n, long k) {
        return new Fp8Tensor(RandomTensors.fp8(rng, groups, n, k),
                RandomTensors.scales(rng, groups, ceilDiv(n, 128), ceilDiv(k, 128)));
    }

    private static Fp8Tensor rows(Fp8Tensor x, long start, long length) {
        return new Fp8Tensor(x.data().narrow(0, start, length), x.scales().narrow(0, start, length));
    }

    private static Fp8Tensor group(Fp8Tensor x, long g) {
        return new Fp8Tensor(x.data().select(0, g), x.scales().select(0, g));
    }

    /**
     * Index layout over six aligned blocks: expert 2 with 130 rows (the second block padded), a padding block,
     * expert 1 with one row, expert 3 with 64 rows, expert 4 with 128; expert 0 owns nothing. B given as [G, N, K]
     * or as [G, K, N].
     */
    @ParameterizedTest(name = "N={0} K={1} bIsKByN={2}")
    @CsvSource({"2112,512,false", "576,512,true", "136,384,false", "136,0,false"})
    void contiguousIndexLayout(long n, long k, boolean bIsKByN) {
        SplittableRandom rng = new SplittableRandom(n + k);
        int groups = 5;
        long[][] segments = {{0, 130, 2}, {384, 1, 1}, {512, 64, 3}, {640, 128, 4}}; // start, rows, expert
        int mTotal = 6 * ALIGN;
        int[] indices = new int[mTotal];
        Arrays.fill(indices, -1);
        for (long[] s : segments) {
            Arrays.fill(indices, (int) s[0], (int) (s[0] + s[1]), (int) s[2]);
        }
        Fp8Tensor a = operand(rng, mTotal, k, false);
        Fp8Tensor b = experts(rng, groups, n, k);
        Fp8Tensor bGiven = bIsKByN
                ? new Fp8Tensor(b.data().transpose(1, 2).contiguousCopy(), b.scales().transpose(1, 2)) : b;
        Tensor layout = Tensor.ofInts(indices, mTotal);
        Tensor dCpu = poisoned(DType.BF16, mTotal, n);
        Tensor dGpu = toGpu(dCpu);
        // B given K by N is not K-major and K = 0 has nothing to load: both stay on the SIMT kernel.
        boolean sm90 = !bIsKByN && k > 0;
        if (bIsKByN) {
            DeepGemm.mGroupedFp8GemmNnContiguous(a, bGiven, dCpu, layout, false);
            assertGroupedKernel(false, sm90, () -> DeepGemm.mGroupedFp8GemmNnContiguous(toGpu(a), toGpu(bGiven), dGpu,
                    toGpu(layout), false));
        } else {
            DeepGemm.mGroupedFp8GemmNtContiguous(a, bGiven, dCpu, layout);
            assertGroupedKernel(false, sm90, () -> DeepGemm.mGroupedFp8GemmNtContiguous(toGpu(a), toGpu(bGiven), dGpu,
                    toGpu(layout)));
        }
        assertGroupedOutput(dCpu, dGpu, sm90 && hopper());
        if (k > 0) {
            double[][] refs = new double[segments.length][];
            Tensor[] outs = new Tensor[segments.length];
            for (int i = 0; i < segments.length; i++) {
                long[] s = segments[i];
                refs[i] = reference(rows(a, s[0], s[1]), group(b, s[2]), true, null);
                outs[i] = dGpu.narrow(0, s[0], s[1]);
            }
            assertBelow(RandomTensors.calcDiff(concat(refs), values(outs)), 1e-5);
        }
    }

    /**
     * Psum layout: expert 0 ends at row 100, expert 1 is empty (end 100 again), expert 2 starts at align(100) =
     * 128 and has a single row, expert 3 covers [256, 384); rows 384..399 belong to no one.
     */
    @Test
    void contiguousPsumLayout() {
        SplittableRandom rng = new SplittableRandom(21);
        int[] ends = {100, 100, 129, 384};
        long mTotal = 400;
        long n = 576;
        long k = 512;
        Fp8Tensor a = operand(rng, mTotal, k, false);
        Fp8Tensor b = experts(rng, ends.length, n, k);
        Tensor layout = Tensor.ofInts(ends, ends.length);
        Tensor dCpu = poisoned(DType.BF16, mTotal, n);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.mGroupedFp8GemmNtContiguous(a, b, dCpu, layout, true);
        assertGroupedKernel(false, true, () -> DeepGemm.mGroupedFp8GemmNtContiguous(toGpu(a), toGpu(b), dGpu,
                toGpu(layout), true));
        assertGroupedOutput(dCpu, dGpu, hopper());
        double[] ref = concat(reference(rows(a, 0, 100), group(b, 0), true, null),
                reference(rows(a, 128, 1), group(b, 2), true, null),
                reference(rows(a, 256, 128), group(b, 3), true, null));
        double[] got = values(dGpu.narrow(0, 0, 100), dGpu.narrow(0, 128, 1), dGpu.narrow(0, 256, 128));
        assertBelow(RandomTensors.calcDiff(ref, got), 1e-5);
    }

    /** masked_m of 0, M_max, 1 and random; rows at or past masked_m keep their poison. */
    @ParameterizedTest(name = "M_max={0} N={1} K={2}")
    @CsvSource({"64,2112,512", "127,576,512", "7,136,384", "256,136,0"})
    void masked(int mMax, long n, long k) {
        SplittableRandom rng = new SplittableRandom(mMax + n + k);
        int[] maskedM = {0, mMax, 1, rng.nextInt(mMax + 1), mMax / 2};
        int groups = maskedM.length;
        Fp8Tensor a = new Fp8Tensor(RandomTensors.fp8(rng, groups, mMax, k),
                RandomTensors.scales(rng, groups, mMax, ceilDiv(k, 128)));
        Fp8Tensor b = experts(rng, groups, n, k);
        Tensor masked = Tensor.ofInts(maskedM, groups);
        Tensor dCpu = poisoned(DType.BF16, groups, mMax, n);
        Tensor dGpu = toGpu(dCpu);
        DeepGemm.mGroupedFp8GemmNtMasked(a, b, dCpu, masked, Math.max(1, mMax / 2));
        assertGroupedKernel(true, k > 0, () -> DeepGemm.mGroupedFp8GemmNtMasked(toGpu(a), toGpu(b), dGpu,
                toGpu(masked), Math.max(1, mMax / 2)));
        assertGroupedOutput(dCpu, dGpu, k > 0 && hopper());
        if (k > 0) {
            List<double[]> refs = new ArrayList<>();
            List<Tensor> outs = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                if (maskedM[g] > 0) {
                    refs.add(reference(rows(group(a, g), 0, maskedM[g]), group(b, g), true, null));
                    outs.add(dGpu.select(0, g).narrow(0, 0, maskedM[g]));
                }
            }
            assertBelow(RandomTensors.calcDiff(concat(refs.toArray(double[][]::new)),
                    values(outs.toArray(Tensor[]::new))), 1e-5);
        }
    }

    /**
     * The Hopper path over several waves of 128-row tiles, each layout: experts of 300, 0, 1 and 520 rows (an empty
     * expert, a one-row expert, partial tiles, a trailing padding tile), sfa given K-major (copied into the kernel's
     * layout first) and MN-major TMA-aligned; 20 reruns bitwise identical to the first, which matches the CPU.
     */
    @ParameterizedTest(name = "layout={0}")
    @ValueSource(strings = {"index", "psum", "masked"})
    void hopperPathIsDeterministic(String kind) {
        SplittableRandom rng = new SplittableRandom(kind.hashCode());
        int[] expertRows = {300, 0, 1, 520};
        int groups = expertRows.length;
        long n = 4096;
        long k = 896;
        boolean masked = kind.equals("masked");
        int mMax = 520;
        int[] starts = new int[groups];
        int[] ends = new int[groups];
        int next = 0;
        for (int g = 0; g < groups; g++) {
            starts[g] = next;
            ends[g] = next + expertRows[g];
            next = (int) ceilDiv(ends[g], ALIGN) * ALIGN;
        }
        int mTotal = next + ALIGN; // one all-padding tile at the end
        Fp8Tensor a = masked ? new Fp8Tensor(RandomTensors.fp8(rng, groups, mMax, k),
                RandomTensors.scales(rng, groups, mMax, ceilDiv(k, 128))) : operand(rng, mTotal, k, false);
        Fp8Tensor b = experts(rng, groups, n, k);
        Tensor layout;
        if (masked) {
            layout = Tensor.ofInts(expertRows, groups);
        } else if (kind.equals("psum")) {
            layout = Tensor.ofInts(ends, groups);
        } else {
            int[] indices = new int[mTotal];
            Arrays.fill(indices, -1);
            for (int g = 0; g < groups; g++) {
                Arrays.fill(indices, starts[g], ends[g], g);
            }
            layout = Tensor.ofInts(indices, mTotal);
        }
        Tensor dCpu = masked ? poisoned(DType.BF16, groups, mMax, n) : poisoned(DType.BF16, mTotal, n);
        run(masked, kind, a, b, dCpu, layout);
        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor aMnMajor = new Fp8Tensor(aGpu.data(), DeepGemm.getMnMajorTmaAlignedTensor(aGpu.scales()));
        Fp8Tensor bGpu = toGpu(b);
        Tensor layoutGpu = toGpu(layout);
        byte[] first = null;
        for (int rerun = 0; rerun < 20; rerun++) {
            Tensor dGpu = toGpu(poisoned(DType.BF16, dCpu.shape()));
            Fp8Tensor lhs = rerun % 2 == 0 ? aGpu : aMnMajor;
            assertGroupedKernel(masked, true, () -> run(masked, kind, lhs, bGpu, dGpu, layoutGpu));
            byte[] bytes = storageBytes(dGpu);
            if (first == null) {
                assertGroupedOutput(dCpu, dGpu, hopper());
                List<double[]> refs = new ArrayList<>();
                List<Tensor> outs = new ArrayList<>();
                for (int g = 0; g < groups; g++) {
                    if (expertRows[g] > 0) {
                        Fp8Tensor aRows = masked ? rows(group(a, g), 0, expertRows[g])
                                : rows(a, starts[g], expertRows[g]);
                        refs.add(reference(aRows, group(b, g), true, null));
                        outs.add(masked ? dGpu.select(0, g).narrow(0, 0, expertRows[g])
                                : dGpu.narrow(0, starts[g], expertRows[g]));
                    }
                }
                assertBelow(RandomTensors.calcDiff(concat(refs.toArray(double[][]::new)),
                        values(outs.toArray(Tensor[]::new))), 1e-5);
                first = bytes;
            } else {
                assertArrayEquals(first, bytes, "rerun " + rerun + (rerun % 2 == 0 ? " (K-major sfa)"
                        : " (MN-major sfa)"));
            }
            dGpu.close();
        }
    }

    private static void run(boolean masked, String kind, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor layout) {
        if (masked) {
            DeepGemm.mGroupedFp8GemmNtMasked(a, b, d, layout, 256);
        } else {
            DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout, kind.equals("psum"));
        }
    }

    /**
     * A masked GEMM on the Hopper path captured once (sfa MN-major, so the capture holds the GEMM alone) replays with
     * whatever masked_m holds: mixed, all 0, all M_max; rows past masked_m keep their poison.
     */
    @Test
    void capturedHopperMaskedGemmFollowsMaskedM() {
        SplittableRandom rng = new SplittableRandom(77);
        int groups = 3;
        int mMax = 200;
        long n = 576;
        long k = 640;
        Fp8Tensor a = new Fp8Tensor(RandomTensors.fp8(rng, groups, mMax, k),
                RandomTensors.scales(rng, groups, mMax, ceilDiv(k, 128)));
        Fp8Tensor b = experts(rng, groups, n, k);
        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor aKernel = new Fp8Tensor(aGpu.data(), DeepGemm.getMnMajorTmaAlignedTensor(aGpu.scales()));
        Fp8Tensor bGpu = toGpu(b);
        Tensor poison = poisoned(DType.BF16, groups, mMax, n);
        Tensor dGpu = toGpu(poison);
        Tensor maskedGpu = toGpu(Tensor.ofInts(new int[] {mMax, 1, 0}, groups));
        DeepGemm.mGroupedFp8GemmNtMasked(aKernel, bGpu, dGpu, maskedGpu, 100); // compiles and loads before capture
        long before = launches();
        long sm90Before = GroupedGemmLauncher.SM90_MASKED_LAUNCHES.sum();
        try (GpuGraph graph = Gpu.capture(() -> DeepGemm.mGroupedFp8GemmNtMasked(aKernel, bGpu, dGpu, maskedGpu,
                100))) {
            for (int[] maskedM : new int[][] {{129, mMax, 0}, {0, 0, 0}, {mMax, mMax, mMax}, {1, 64, 65}}) {
                Tensor maskedHost = Tensor.ofInts(maskedM, groups);
                copyInto(maskedHost, maskedGpu);
                copyInto(poison, dGpu);
                graph.replay();
                Tensor dCpu = poison.contiguousCopy();
                DeepGemm.mGroupedFp8GemmNtMasked(a, b, dCpu, maskedHost, 100);
                assertGroupedOutput(dCpu, dGpu, hopper());
            }
        }
        assertEquals(before + 1, launches(), "the capture records one launch; replays are graph launches");
        assertEquals(sm90Before + (hopper() ? 1 : 0), GroupedGemmLauncher.SM90_MASKED_LAUNCHES.sum());
    }

    /**
     * K-grouped weight gradient, ks with an empty group, C separate or D itself; "nt" flat blocks and "tn" token
     * rows, the latter also with a padded row pitch and with M = 130 (scales whose row pitch is no multiple of 16
     * bytes). On sm_90 both layouts run the Hopper 1D1D kernel, "tn" after transposing its operands K-major (counted;
     * another summation order: calc_diff against the CPU and float64, and reruns from the same C bitwise identical);
     * elsewhere the SIMT kernels match the CPU byte for byte (one launch, or one per group for the padded pitch).
     */
    @ParameterizedTest(name = "tn={0} paddedPitch={1} cIsD={2} M={3}")
    @CsvSource({"false,false,false,144", "false,false,true,144", "true,false,false,144", "true,false,true,144",
        "true,true,false,144", "true,true,true,130"})
    void kGrouped(boolean tn, boolean paddedPitch, boolean cIsD, long m) {
        SplittableRandom rng = new SplittableRandom((tn ? 5 : 6) + (paddedPitch ? 10 : 0) + (cIsD ? 20 : 0) + m);
        int[] ks = {256, 0, 128, 512};
        int groups = ks.length;
        long n = 80;
        long sumK = Arrays.stream(ks).sum();
        List<Fp8Tensor> aGroups = new ArrayList<>();
        List<Fp8Tensor> bGroups = new ArrayList<>();
        for (int kg : ks) {
            aGroups.add(operand(rng, m, kg, false));
            bGroups.add(operand(rng, n, kg, false));
        }
        long pitchPad = paddedPitch ? 16 : 0;
        Fp8Tensor a = tn ? tokenRows(aGroups, m, sumK, pitchPad) : flatBlocks(aGroups, m, sumK);
        Fp8Tensor b = tn ? tokenRows(bGroups, n, sumK, pitchPad) : flatBlocks(bGroups, n, sumK);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, groups, m, n);
        Tensor dCpu = cIsD ? c.contiguousCopy() : poisoned(DType.FP32, groups, m, n);
        Tensor dGpu = toGpu(dCpu);
        Tensor ksTensor = Tensor.ofInts(ks, groups);
        Fp8Tensor aGpu = toGpu(a);
        Fp8Tensor bGpu = toGpu(b);
        Tensor cGpu = toGpu(c);
        Tensor ksGpu = toGpu(ksTensor);
        Runnable gemm;
        if (tn) {
            DeepGemm.kGroupedFp8GemmTnContiguous(a, b, dCpu, ks, ksTensor, cIsD ? dCpu : c);
            gemm = () -> DeepGemm.kGroupedFp8GemmTnContiguous(aGpu, bGpu, dGpu, ks, ksGpu, cIsD ? dGpu : cGpu);
        } else {
            DeepGemm.kGroupedFp8GemmNtContiguous(a, b, dCpu, ks, null, cIsD ? dCpu : c);
            gemm = () -> DeepGemm.kGroupedFp8GemmNtContiguous(aGpu, bGpu, dGpu, ks, null, cIsD ? dGpu : cGpu);
        }
        long hopperBefore = Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum();
        long tnBefore = Sm90Gemm1d1dLauncher.K_GROUPED_TN_LAUNCHES.sum();
        gemm.run();
        boolean sm90 = hopper();
        assertEquals(hopperBefore + (sm90 ? 1 : 0), Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum(),
                "Hopper K-grouped launches");
        assertEquals(tnBefore + (sm90 && tn ? 1 : 0), Sm90Gemm1d1dLauncher.K_GROUPED_TN_LAUNCHES.sum(),
                "Hopper K-grouped launches on transposed \"tn\" operands");
        double[][] refs = new double[groups][];
        for (int g = 0; g < groups; g++) {
            refs[g] = reference(aGroups.get(g), bGroups.get(g), false, c.select(0, g));
        }
        if (!sm90) {
            assertSameStorage(dCpu, dGpu);
            GpuTestSupport.assertClose(dCpu, dGpu, concat(refs));
            return;
        }
        // The Hopper 1D1D kernel: another summation order than the CPU's.
        GpuGemm1d1dTest.assertCloseToReference(dCpu, dGpu, concat(refs));
        if (tn) {
            // Reruns get scratch from the stream's pool (likely the same addresses: the memoised group table).
            byte[] first = storageBytes(dGpu);
            for (int rerun = 0; rerun < 3; rerun++) {
                copyInto(cIsD ? c : poisoned(DType.FP32, groups, m, n), dGpu);
                gemm.run();
                assertArrayEquals(first, storageBytes(dGpu), "rerun " + rerun);
            }
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

    /**
     * TN storage: tokens as rows, data [ΣK, MN] with rows align(MN, 16) + {@code pad} bytes apart (a TMA-legal
     * pitch), scales [ΣKB, MN].
     */
    private static Fp8Tensor tokenRows(List<Fp8Tensor> groups, long mn, long sumK, long pad) {
        long pitch = ceilDiv(mn, 16) * 16 + pad;
        Tensor data = Tensor.zerosStrided(DType.FP8_E4M3, new long[] {sumK, mn}, new long[] {pitch, 1});
        Tensor scales = Tensor.zeros(DType.FP32, sumK / 128, mn);
        long kOff = 0;
        for (Fp8Tensor g : groups) {
            long kg = g.data().size(1);
            if (kg > 0) {
                data.narrow(0, kOff, kg).copyFrom(g.data().t());
                scales.narrow(0, kOff / 128, kg / 128).copyFrom(g.scales().t());
            }
            kOff += kg;
        }
        return new Fp8Tensor(data, scales);
    }

    private static void assertBelow(double diff, double tolerance) {
        assertTrue(diff < tolerance, "calc_diff " + diff + " is not below " + tolerance);
    }
}
