package dev.deepgemm4j;

import static dev.deepgemm4j.DenseGemmTestSupport.assertPoisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.assertSameBits;
import static dev.deepgemm4j.DenseGemmTestSupport.ceilDiv;
import static dev.deepgemm4j.DenseGemmTestSupport.poisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.reference;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Grouped FP8 GEMMs on the CPU backend against per-group float64 references; unowned rows stay poisoned. */
class GroupedGemmTest {

    private static final int ALIGN = 128;

    /** G experts' B [G, N, K] with per-block scales [G, ceil(N/128), ceil(K/128)]. */
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

    /** Collects (reference, output) pairs of several row ranges and compares them as one. */
    private static final class Segments {
        private final List<double[]> expected = new ArrayList<>();
        private final List<Tensor> actual = new ArrayList<>();

        void add(double[] reference, Tensor out) {
            expected.add(reference);
            actual.add(out);
        }

        void assertClose(DType dtype) {
            int total = expected.stream().mapToInt(e -> e.length).sum();
            double[] ref = new double[total];
            Tensor out = Tensor.zeros(dtype, total);
            int at = 0;
            for (int i = 0; i < expected.size(); i++) {
                double[] e = expected.get(i);
                System.arraycopy(e, 0, ref, at, e.length);
                out.narrow(0, at, e.length).copyFrom(actual.get(i).contiguousCopy().view(e.length));
                at += e.length;
            }
            DenseGemmTestSupport.assertClose(ref, out);
        }
    }

    /**
     * Index layout over five aligned blocks: expert 2 with 130 rows (two blocks, the second padded), a block of
     * padding, expert 1 with a single row, expert 3 with 64 rows; expert 0 has no rows.
     */
    @ParameterizedTest(name = "bIsKByN={0}")
    @ValueSource(booleans = {false, true})
    void contiguousIndexLayout(boolean bIsKByN) {
        SplittableRandom rng = new SplittableRandom(bIsKByN ? 2 : 1);
        int groups = 4;
        long n = 144;
        long k = 320;
        long[][] segments = {{0, 130, 2}, {384, 1, 1}, {512, 64, 3}}; // start, rows, expert
        int mTotal = 5 * ALIGN;
        int[] indices = new int[mTotal];
        Arrays.fill(indices, -1);
        for (long[] s : segments) {
            Arrays.fill(indices, (int) s[0], (int) (s[0] + s[1]), (int) s[2]);
        }
        Fp8Tensor a = DenseGemmTestSupport.operand(rng, mTotal, k, false);
        Fp8Tensor b = experts(rng, groups, n, k);
        Tensor d = poisoned(DType.BF16, mTotal, n);

        Fp8Tensor bArg = b;
        if (bIsKByN) {
            // B as [G, K, N] (MN-major after normalisation), sfb transposed in its last two dims.
            bArg = new Fp8Tensor(b.data().transpose(1, 2).contiguousCopy(), b.scales().transpose(1, 2));
        }
        if (bIsKByN) {
            DeepGemm.mGroupedFp8GemmNnContiguous(a, bArg, d, Tensor.ofInts(indices, mTotal), false);
        } else {
            DeepGemm.mGroupedFp8GemmNtContiguous(a, bArg, d, Tensor.ofInts(indices, mTotal));
        }

        Segments check = new Segments();
        for (long[] s : segments) {
            check.add(reference(rows(a, s[0], s[1]), group(b, s[2]), true, null), d.narrow(0, s[0], s[1]));
        }
        check.assertClose(DType.BF16);
        for (int r = 0; r < mTotal; r++) {
            if (indices[r] == -1) {
                assertPoisoned(d.select(0, r));
            }
        }
    }

    /**
     * Psum layout: expert 0 ends at row 100, expert 1 is empty (end 100 again), expert 2 starts at align(100) = 128
     * and ends at 165, expert 3 covers [256, 384); rows 384..399 belong to no one.
     */
    @Test
    void contiguousPsumLayoutLeavesGapsUntouched() {
        SplittableRandom rng = new SplittableRandom(3);
        int mTotal = 400;
        long n = 136;
        long k = 384;
        int[] ends = {100, 100, 165, 384};
        long[][] segments = {{0, 100, 0}, {128, 37, 2}, {256, 128, 3}};
        Fp8Tensor a = DenseGemmTestSupport.operand(rng, mTotal, k, false);
        Fp8Tensor b = experts(rng, ends.length, n, k);
        Tensor d = poisoned(DType.BF16, mTotal, n);
        DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, Tensor.ofInts(ends, ends.length), true);

        Segments check = new Segments();
        for (long[] s : segments) {
            check.add(reference(rows(a, s[0], s[1]), group(b, s[2]), true, null), d.narrow(0, s[0], s[1]));
        }
        check.assertClose(DType.BF16);
        assertPoisoned(d.narrow(0, 100, 28));
        assertPoisoned(d.narrow(0, 165, 91));
        assertPoisoned(d.narrow(0, 384, 16));
    }

    @Test
    void maskedComputesOnlyValidRows() {
        SplittableRandom rng = new SplittableRandom(4);
        int groups = 3;
        long mMax = 40;
        long n = 136;
        long k = 256;
        int[] maskedM = {0, 40, 17};
        Fp8Tensor a = new Fp8Tensor(RandomTensors.fp8(rng, groups, mMax, k),
                RandomTensors.scales(rng, groups, mMax, ceilDiv(k, 128)));
        Fp8Tensor b = experts(rng, groups, n, k);
        Tensor d = poisoned(DType.BF16, groups, mMax, n);
        DeepGemm.mGroupedFp8GemmNtMasked(a, b, d, Tensor.ofInts(maskedM, groups), 24);

        Segments check = new Segments();
        for (int g = 0; g < groups; g++) {
            Tensor dg = d.select(0, g);
            if (maskedM[g] > 0) {
                check.add(reference(rows(group(a, g), 0, maskedM[g]), group(b, g), true, null),
                        dg.narrow(0, 0, maskedM[g]));
            }
            assertPoisoned(dg.narrow(0, maskedM[g], mMax - maskedM[g]));
        }
        check.assertClose(DType.BF16);
    }

    /** K-grouped weight gradient with an empty middle group, C separate or D itself, NT and TN layouts. */
    @ParameterizedTest(name = "tn={0} cIsD={1}")
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void kGrouped(boolean tn, boolean cIsD) {
        SplittableRandom rng = new SplittableRandom(tn ? 5 : 6);
        int[] ks = {256, 0, 128};
        int groups = ks.length;
        long m = 48;
        long n = 80;
        long sumK = 384;
        List<Fp8Tensor> aGroups = new ArrayList<>();
        List<Fp8Tensor> bGroups = new ArrayList<>();
        for (int kg : ks) {
            aGroups.add(DenseGemmTestSupport.operand(rng, m, kg, false));
            bGroups.add(DenseGemmTestSupport.operand(rng, n, kg, false));
        }
        Fp8Tensor a = tn ? tokenRows(aGroups, m, sumK) : flatBlocks(aGroups, m, sumK);
        Fp8Tensor b = tn ? tokenRows(bGroups, n, sumK) : flatBlocks(bGroups, n, sumK);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, groups, m, n);
        Tensor d = cIsD ? c.contiguousCopy() : poisoned(DType.FP32, groups, m, n);
        Tensor ksTensor = Tensor.ofInts(ks, groups);
        if (tn) {
            DeepGemm.kGroupedFp8GemmTnContiguous(a, b, d, ks, ksTensor, cIsD ? d : c);
        } else {
            DeepGemm.kGroupedFp8GemmNtContiguous(a, b, d, ks, null, cIsD ? d : c);
        }

        Segments check = new Segments();
        for (int g = 0; g < groups; g++) {
            check.add(reference(aGroups.get(g), bGroups.get(g), false, c.select(0, g)), d.select(0, g));
        }
        check.assertClose(DType.FP32);
        assertSameBits(c.select(0, 1), d.select(0, 1)); // the empty group: D = C exactly
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

    /** TN storage: tokens as rows, data [ΣK, MN], scales [ΣKB, MN]. */
    private static Fp8Tensor tokenRows(List<Fp8Tensor> groups, long mn, long sumK) {
        Tensor data = Tensor.zeros(DType.FP8_E4M3, sumK, mn);
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
}
