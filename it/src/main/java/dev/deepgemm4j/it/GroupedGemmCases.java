package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The MoE GEMMs: M-grouped contiguous (index and psum layouts, nt and nn), M-grouped masked, K-grouped nt and tn. */
final class GroupedGemmCases {

    private static final byte POISON = 0x7F;

    private GroupedGemmCases() {
    }

    static List<BenchCase> all(Sizes s) {
        int g = s.groups();
        int n = s.groupN();
        int k = s.groupK();
        int[] rows = expertRows(s);
        long realRows = java.util.Arrays.stream(rows).sum();
        String shape = "G=" + g + " M=" + realRows + " N=" + n + " K=" + k;
        double flops = 2.0 * realRows * n * k;
        List<BenchCase> cases = new ArrayList<>();
        cases.add(BenchCase.flops("m_grouped_fp8_gemm_nt_contiguous", "index", shape, flops, BenchCase.BF16_OUTPUT,
                () -> new ContiguousTrial(rows, n, k, false, false)));
        cases.add(BenchCase.flops("m_grouped_fp8_gemm_nt_contiguous", "psum", shape, flops, BenchCase.BF16_OUTPUT,
                () -> new ContiguousTrial(rows, n, k, true, false)));
        cases.add(BenchCase.flops("m_grouped_fp8_gemm_nn_contiguous", "index", shape, flops, BenchCase.BF16_OUTPUT,
                () -> new ContiguousTrial(rows, n, k, false, true)));

        int[] masked = new SplittableRandom(11).ints(g, 1, s.maskedMaxM() + 1).toArray();
        long maskedRows = java.util.Arrays.stream(masked).sum();
        cases.add(BenchCase.flops("m_grouped_fp8_gemm_nt_masked", "",
                "G=" + g + " M_max=" + s.maskedMaxM() + " ΣM=" + maskedRows + " N=" + n + " K=" + k,
                2.0 * maskedRows * n * k, BenchCase.BF16_OUTPUT, () -> new MaskedTrial(masked, s.maskedMaxM(), n, k)));

        int[] ks = new SplittableRandom(13).ints(g, 1, s.kGroupMaxBlocks() + 1).map(blocks -> blocks * 128).toArray();
        long sumK = java.util.Arrays.stream(ks).sum();
        String kShape = "G=" + g + " M=" + s.kGroupM() + " N=" + s.kGroupN() + " ΣK=" + sumK;
        double kFlops = 2.0 * s.kGroupM() * s.kGroupN() * sumK;
        cases.add(BenchCase.flops("k_grouped_fp8_gemm_nt_contiguous", "", kShape, kFlops, BenchCase.FP32_OUTPUT,
                () -> new KGroupedTrial(ks, s.kGroupM(), s.kGroupN(), false)));
        cases.add(BenchCase.flops("k_grouped_fp8_gemm_tn_contiguous", "", kShape, kFlops, BenchCase.FP32_OUTPUT,
                () -> new KGroupedTrial(ks, s.kGroupM(), s.kGroupN(), true)));
        return cases;
    }

    /** Tokens per expert: between a quarter and one and a half alignments, so both padding and multi-block occur. */
    private static int[] expertRows(Sizes s) {
        int alignment = DeepGemm.getMkAlignmentForContiguousLayout();
        return new SplittableRandom(5).ints(s.groups(), alignment / 4, alignment * 3 / 2).toArray();
    }

    private static Fp8Tensor transposedMatrices(Fp8Tensor x) {
        return new Fp8Tensor(x.data().transpose(1, 2), x.scales().transpose(1, 2));
    }

    /** Dequantised group {@code g} of a [G, R, K] operand with scales per (granRows rows, 128 K). */
    private static double[] group(Fp8Tensor x, int g, int granRows) {
        return Reference.dequantize(x.data().select(0, g), x.scales().select(0, g), granRows, 128);
    }

    /**
     * Experts laid end to end in A, each starting at a multiple of the alignment. The index layout marks every row
     * with its expert (−1 for padding); the psum layout lists each expert's end row.
     */
    private static final class ContiguousTrial extends Trial {
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor d;
        private final Tensor layout;
        private final boolean psum;
        private final boolean bKByN;
        private final int[] starts;
        private final int[] rows;
        private final int n;
        private final double[][] reference;

        ContiguousTrial(int[] rows, int n, int k, boolean psum, boolean bKByN) {
            this.rows = rows;
            this.n = n;
            this.psum = psum;
            this.bKByN = bKByN;
            int alignment = DeepGemm.getMkAlignmentForContiguousLayout();
            int groups = rows.length;
            starts = new int[groups];
            int[] ends = new int[groups];
            int next = 0;
            for (int g = 0; g < groups; g++) {
                starts[g] = next;
                ends[g] = next + rows[g];
                next = Reference.align(ends[g], alignment);
            }
            int mTotal = next;
            SplittableRandom rng = new SplittableRandom(17);
            int kBlocks = Reference.ceilDiv(k, 128);
            a = own(new Fp8Tensor(Reference.fp8(rng, mTotal, k), Reference.scales(rng, mTotal, kBlocks)));
            b = own(new Fp8Tensor(Reference.fp8(rng, groups, n, k),
                    Reference.scales(rng, groups, Reference.ceilDiv(n, 128), kBlocks)));
            if (psum) {
                layout = own(Tensor.ofInts(ends, groups));
            } else {
                int[] index = new int[mTotal];
                java.util.Arrays.fill(index, -1);
                for (int g = 0; g < groups; g++) {
                    java.util.Arrays.fill(index, starts[g], ends[g], g);
                }
                layout = own(Tensor.ofInts(index, mTotal));
            }
            d = own(Tensor.zeros(DType.BF16, mTotal, n));
            d.fillBytes(POISON);
            double[] aAll = Reference.dequantize(a.data(), a.scales(), 1, 128);
            reference = new double[groups][];
            for (int g = 0; g < groups; g++) {
                reference[g] = Reference.gemmNt(Reference.slice(aAll, starts[g] * k, ends[g] * k), group(b, g, 128),
                        null, rows[g], n, k);
            }
        }

        @Override
        void run() {
            if (bKByN) {
                DeepGemm.mGroupedFp8GemmNnContiguous(a, transposedMatrices(b), d, layout, psum);
            } else if (psum) {
                DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout, true);
            } else {
                DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout);
            }
        }

        @Override
        Check check() {
            double[] got = Reference.values(d);
            double[] out = new double[0];
            double[] ref = new double[0];
            long gapBytesWritten = 0;
            for (int g = 0; g < rows.length; g++) {
                out = concat(out, Reference.slice(got, starts[g] * n, (starts[g] + rows[g]) * n));
                ref = concat(ref, reference[g]);
                int gapEnd = g + 1 < rows.length ? starts[g + 1] : (int) d.size(0);
                gapBytesWritten += Reference.bytesNotEqualTo(d.narrow(0, starts[g] + rows[g],
                        gapEnd - starts[g] - rows[g]), POISON);
            }
            // Only the psum layout promises to leave the rows between experts alone.
            String problem = psum && gapBytesWritten > 0 ? gapBytesWritten + " bytes of D between experts written"
                    : null;
            return new Check(Reference.calcDiff(out, ref), problem);
        }

    }

    private static double[] concat(double[] x, double[] y) {
        double[] r = java.util.Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    /** Group g computes only its first masked_m[g] rows; the rest of D must stay as it was. */
    private static final class MaskedTrial extends Trial {
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor d;
        private final Tensor maskedM;
        private final int[] masked;
        private final int maxM;
        private final int n;
        private final double[][] reference;

        MaskedTrial(int[] masked, int maxM, int n, int k) {
            this.masked = masked;
            this.maxM = maxM;
            this.n = n;
            int groups = masked.length;
            SplittableRandom rng = new SplittableRandom(19);
            int kBlocks = Reference.ceilDiv(k, 128);
            a = own(new Fp8Tensor(Reference.fp8(rng, groups, maxM, k),
                    Reference.scales(rng, groups, maxM, kBlocks)));
            b = own(new Fp8Tensor(Reference.fp8(rng, groups, n, k),
                    Reference.scales(rng, groups, Reference.ceilDiv(n, 128), kBlocks)));
            maskedM = own(Tensor.ofInts(masked, groups));
            d = own(Tensor.zeros(DType.BF16, groups, maxM, n));
            d.fillBytes(POISON);
            reference = new double[groups][];
            for (int g = 0; g < groups; g++) {
                double[] ag = Reference.slice(group(a, g, 1), 0, masked[g] * k);
                reference[g] = Reference.gemmNt(ag, group(b, g, 128), null, masked[g], n, k);
            }
        }

        @Override
        void run() {
            int expectedM = Math.max(1, java.util.Arrays.stream(masked).sum() / masked.length);
            DeepGemm.mGroupedFp8GemmNtMasked(a, b, d, maskedM, expectedM);
        }

        @Override
        Check check() {
            double[] out = new double[0];
            double[] ref = new double[0];
            long written = 0;
            for (int g = 0; g < masked.length; g++) {
                Tensor dg = d.select(0, g);
                out = concat(out, Reference.values(dg.narrow(0, 0, masked[g])));
                ref = concat(ref, reference[g]);
                written += Reference.bytesNotEqualTo(dg.narrow(0, masked[g], maxM - masked[g]), POISON);
            }
            return new Check(Reference.calcDiff(out, ref),
                    written > 0 ? written + " bytes of D beyond masked_m written" : null);
        }

    }

    /**
     * Weight-gradient GEMM, groups along K. The same logical per-group matrices serve both entry points: nt takes
     * flat per-group [M, K_g] K-major blocks, tn takes tokens as rows ([ΣK, M]); scales are per 128 tokens.
     */
    private static final class KGroupedTrial extends Trial {
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor c;
        private final Tensor d;
        private final Tensor ksTensor;
        private final int[] ks;
        private final boolean tn;
        private final double[] reference;

        KGroupedTrial(int[] ks, int m, int n, boolean tn) {
            this.ks = ks;
            this.tn = tn;
            int groups = ks.length;
            int sumK = java.util.Arrays.stream(ks).sum();
            int sumBlocks = sumK / 128;
            SplittableRandom rng = new SplittableRandom(23);
            // Token-major data and scales: [ΣK, M], [ΣK/128, M] (and the same for B with N).
            Tensor aTokens = own(Reference.fp8(rng, sumK, m));
            Tensor bTokens = own(Reference.fp8(rng, sumK, n));
            Tensor sfa = own(Reference.scales(rng, sumBlocks, m));
            Tensor sfb = own(Reference.scales(rng, sumBlocks, n));
            if (tn) {
                a = new Fp8Tensor(aTokens, sfa);
                b = new Fp8Tensor(bTokens, sfb);
            } else {
                a = new Fp8Tensor(own(perGroupKMajor(aTokens, ks)), sfa.t());
                b = new Fp8Tensor(own(perGroupKMajor(bTokens, ks)), sfb.t());
            }
            c = own(Reference.uniform(rng, DType.FP32, groups, m, n));
            d = own(Tensor.zeros(DType.FP32, groups, m, n));
            d.fillBytes(POISON);
            ksTensor = own(Tensor.ofInts(ks, groups));
            double[] ref = Reference.values(c);
            int token = 0;
            for (int g = 0; g < groups; g++) {
                Tensor aBlock = aTokens.narrow(0, token, ks[g]).t();
                Tensor bBlock = bTokens.narrow(0, token, ks[g]).t();
                Tensor sfaBlock = sfa.narrow(0, token / 128, ks[g] / 128).t();
                Tensor sfbBlock = sfb.narrow(0, token / 128, ks[g] / 128).t();
                double[] dg = Reference.gemmNt(Reference.dequantize(aBlock, sfaBlock, 1, 128),
                        Reference.dequantize(bBlock, sfbBlock, 1, 128), null, m, n, ks[g]);
                for (int i = 0; i < dg.length; i++) {
                    ref[g * m * n + i] += dg[i];
                }
                token += ks[g];
            }
            reference = ref;
        }

        /** Flat FP8 buffer holding each group's [rows, K_g] K-major block, groups end to end. */
        private static Tensor perGroupKMajor(Tensor tokens, int[] ks) {
            long rows = tokens.size(1);
            Tensor flat = Tensor.zeros(DType.FP8_E4M3, tokens.size(0) * rows);
            long token = 0;
            for (int k : ks) {
                flat.narrow(0, token * rows, k * rows).view(rows, k).copyFrom(tokens.narrow(0, token, k).t());
                token += k;
            }
            return flat;
        }

        @Override
        void run() {
            if (tn) {
                DeepGemm.kGroupedFp8GemmTnContiguous(a, b, d, ks, ksTensor, c);
            } else {
                DeepGemm.kGroupedFp8GemmNtContiguous(a, b, d, ks, ksTensor, c);
            }
        }

        @Override
        Check check() {
            return Check.of(Reference.calcDiff(Reference.values(d), reference));
        }

    }
}
