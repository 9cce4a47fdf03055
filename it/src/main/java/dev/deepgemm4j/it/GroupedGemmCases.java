package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The MoE GEMMs: M-grouped contiguous (index and psum layouts, nt and nn), M-grouped masked, K-grouped nt and tn.
 * Group sizes are drawn as DeepGEMM's tests draw them: uniform in [0.7, 1.3] × the expected size.
 */
final class GroupedGemmCases {

    private GroupedGemmCases() {
    }

    /** The contiguous entry points and layouts. */
    enum ContiguousKind {
        /** nt, one expert id (or −1) per row. */
        INDEX("m_grouped_fp8_gemm_nt_contiguous", "index"),
        /** nt, each expert's end row. */
        PSUM("m_grouped_fp8_gemm_nt_contiguous", "psum"),
        /** nn (B as [G, K, N]), index layout. */
        NN("m_grouped_fp8_gemm_nn_contiguous", "index");

        final String op;
        final String variant;

        ContiguousKind(String op, String variant) {
            this.op = op;
            this.variant = variant;
        }
    }

    /** Contiguous problem: {@code groups} experts of about {@code expectedM} rows each, sharing N and K. */
    record Contiguous(ContiguousKind kind, int groups, int expectedM, int n, int k) {
    }

    /** Masked problem: A [groups, maxM, K] of which group g uses its first masked_m[g] ≈ expectedM rows. */
    record Masked(int groups, int maxM, int expectedM, int n, int k) {
    }

    /** K-grouped problem: D[g] [M, N] += A_g · B_gᵀ over about {@code expectedK} tokens per group. */
    record KGrouped(boolean tn, int groups, int m, int n, int expectedK) {
    }

    static List<BenchCase> cases(List<Contiguous> contiguous, List<Masked> masked, List<KGrouped> kGrouped) {
        List<BenchCase> cases = new ArrayList<>();
        for (Contiguous p : contiguous) {
            int[] rows = expertRows(p);
            long real = Arrays.stream(rows).sum();
            cases.add(new BenchCase(p.kind().op, p.kind().variant, "G=" + p.groups() + " M=" + real + " N=" + p.n()
                    + " K=" + p.k(), 2.0 * real * p.n() * p.k(), gemmBytes(real, p.groups(), p.n(), p.k()),
                    BenchCase.BF16_OUTPUT, location -> new ContiguousTrial(location, p, rows)));
        }
        for (Masked p : masked) {
            int[] rows = maskedRows(p);
            long real = Arrays.stream(rows).sum();
            cases.add(new BenchCase("m_grouped_fp8_gemm_nt_masked", "", "G=" + p.groups() + " M_max=" + p.maxM()
                    + " ΣM=" + real + " N=" + p.n() + " K=" + p.k(), 2.0 * real * p.n() * p.k(),
                    gemmBytes(real, p.groups(), p.n(), p.k()), BenchCase.BF16_OUTPUT,
                    location -> new MaskedTrial(location, p, rows)));
        }
        for (KGrouped p : kGrouped) {
            int[] ks = groupKs(p);
            long sumK = Arrays.stream(ks).sum();
            double bytes = (double) sumK * (p.m() + p.n()) * (1 + 4.0 / 128) + 8.0 * p.groups() * p.m() * p.n();
            cases.add(new BenchCase(p.tn() ? "k_grouped_fp8_gemm_tn_contiguous" : "k_grouped_fp8_gemm_nt_contiguous",
                    "", "G=" + p.groups() + " M=" + p.m() + " N=" + p.n() + " ΣK=" + sumK,
                    2.0 * p.m() * p.n() * sumK, bytes, BenchCase.FP32_OUTPUT,
                    location -> new KGroupedTrial(location, p, ks)));
        }
        return cases;
    }

    /** Bytes of the used A rows, all of B (G experts), their FP32 scales and the BF16 D rows. */
    private static double gemmBytes(long aRows, int groups, int n, int k) {
        long kBlocks = Reference.ceilDiv(k, 128);
        long bScaleRows = (long) groups * Reference.ceilDiv(n, 128);
        return (double) (aRows + (long) groups * n) * k + 4.0 * kBlocks * (aRows + bScaleRows) + 2.0 * aRows * n;
    }

    private static int[] expertRows(Contiguous p) {
        return RandomTensors.around(5L * p.groups() + p.expectedM(), p.groups(), p.expectedM(), 1, 1,
                Integer.MAX_VALUE);
    }

    private static int[] maskedRows(Masked p) {
        return RandomTensors.around(11L * p.groups() + p.expectedM(), p.groups(), p.expectedM(), 1, 0, p.maxM());
    }

    private static int[] groupKs(KGrouped p) {
        return RandomTensors.around(13L * p.groups() + p.expectedK(), p.groups(), p.expectedK(), 128, 128,
                Integer.MAX_VALUE);
    }

    /**
     * A grouped GEMM trial checked element by element: the reference of output row r of group g, column j, is
     * {@code aRow(g, r) · bRow(g, j) + c(g, r, j)}.
     */
    private abstract static class GroupedTrial extends Trial {
        /** Per group, the output rows compared. */
        int[][] sampleRows;
        /** The output columns compared. */
        int[] sampleCols;
        boolean sampled;

        GroupedTrial(Location location) {
            super(location);
        }

        /**
         * Picks every row of every group when the reference is cheap, else a few rows per group (its first and last
         * among them) and {@link Sample#PICKS} columns.
         */
        final void pickSample(long seed, int[] groupRows, int n, long k) {
            long rows = Arrays.stream(groupRows).asLongStream().sum();
            Sample whole = Sample.of(seed, (int) Math.min(Integer.MAX_VALUE, rows), n, k);
            SplittableRandom rng = new SplittableRandom(seed);
            sampled = !whole.full();
            int perGroup = Math.max(2, Sample.PICKS / groupRows.length);
            sampleRows = new int[groupRows.length][];
            for (int g = 0; g < groupRows.length; g++) {
                sampleRows[g] = sampled ? Sample.pick(rng, groupRows[g], perGroup)
                        : IntStream.range(0, groupRows[g]).toArray();
            }
            sampleCols = sampled ? Sample.pick(rng, n, Sample.PICKS) : IntStream.range(0, n).toArray();
        }

        abstract double[] aRow(int g, int r);

        /**
         * A's per-token scales in the layout the kernels read (MN-major, TMA-aligned), made once here as a
         * latency-minded caller does, so the timed call is the GEMM alone, as in DeepGEMM's benchmark (and the Hopper
         * kernel reads them as they are).
         */
        final Fp8Tensor kernelReadyScales(Fp8Tensor x) {
            Tensor aligned = DeepGemm.getMnMajorTmaAlignedTensor(x.scales());
            return new Fp8Tensor(x.data(), aligned == x.scales() ? aligned : own(aligned));
        }

        abstract double[] bRow(int g, int j);

        double c(int g, int r, int j) {
            return 0;
        }

        /** Output rows {@code rows} of group g, read back. */
        abstract double[][] outputRows(int g, int[] rows);

        final Check compare() {
            int count = Arrays.stream(sampleRows).mapToInt(r -> r.length).sum() * sampleCols.length;
            double[] output = new double[count];
            double[] reference = new double[count];
            int at = 0;
            for (int g = 0; g < sampleRows.length; g++) {
                if (sampleRows[g].length == 0) {
                    continue;
                }
                int group = g;
                int[] rows = sampleRows[g];
                int base = at;
                double[][] bRows = new double[sampleCols.length][];
                IntStream.range(0, bRows.length).parallel().forEach(j -> bRows[j] = bRow(group, sampleCols[j]));
                double[][] got = outputRows(g, rows);
                IntStream.range(0, rows.length).parallel().forEach(i -> {
                    double[] a = aRow(group, rows[i]);
                    for (int j = 0; j < sampleCols.length; j++) {
                        output[base + i * sampleCols.length + j] = got[i][sampleCols[j]];
                        reference[base + i * sampleCols.length + j] = Reference.dot(a, bRows[j])
                                + c(group, rows[i], sampleCols[j]);
                    }
                });
                at += rows.length * sampleCols.length;
            }
            return Check.of(Reference.calcDiff(output, reference), count, sampled);
        }

        /**
         * Bytes of {@code region} (rows [from, to) of a 2-D output) that are no longer poisoned: every row when
         * checking in full, else the first and last row.
         */
        final long writtenRows(Tensor out, int from, int to) {
            if (from >= to) {
                return 0;
            }
            if (!sampled) {
                return Reference.bytesNotEqualTo(out.narrow(0, from, to - from), POISON);
            }
            long written = Reference.bytesNotEqualTo(out.narrow(0, from, 1), POISON);
            return to - 1 > from ? written + Reference.bytesNotEqualTo(out.narrow(0, to - 1, 1), POISON) : written;
        }
    }

    /**
     * Experts laid end to end in A, each starting at a multiple of the alignment. The index layout marks every row
     * with its expert (−1 for padding); the psum layout lists each expert's end row.
     */
    private static final class ContiguousTrial extends GroupedTrial {
        private final Contiguous p;
        private final Fp8Tensor hostA;
        private final Fp8Tensor hostB;
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor d;
        private final Tensor layout;
        private final int[] starts;
        private final int[] rows;

        ContiguousTrial(Location location, Contiguous p, int[] rows) {
            super(location);
            this.p = p;
            this.rows = rows;
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
            long seed = 17L * groups + p.n() + p.k();
            int kBlocks = Reference.ceilDiv(p.k(), 128);
            hostA = own(new Fp8Tensor(RandomTensors.fp8(seed, mTotal, p.k()),
                    RandomTensors.scales(seed + 1, mTotal, kBlocks)));
            hostB = own(new Fp8Tensor(RandomTensors.fp8(seed + 2, groups, p.n(), p.k()),
                    RandomTensors.scales(seed + 3, groups, Reference.ceilDiv(p.n(), 128), kBlocks)));
            Tensor hostLayout;
            if (p.kind() == ContiguousKind.PSUM) {
                hostLayout = own(Tensor.ofInts(ends, groups));
            } else {
                int[] index = new int[mTotal];
                Arrays.fill(index, -1);
                for (int g = 0; g < groups; g++) {
                    Arrays.fill(index, starts[g], ends[g], g);
                }
                hostLayout = own(Tensor.ofInts(index, mTotal));
            }
            a = kernelReadyScales(onTarget(hostA));
            b = onTarget(hostB);
            layout = onTarget(hostLayout);
            d = onTarget(Reference.poison(own(Tensor.zeros(DType.BF16, mTotal, p.n())), POISON));
            pickSample(seed, rows, p.n(), p.k());
        }

        @Override
        void run() {
            switch (p.kind()) {
                case INDEX -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout);
                case PSUM -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout, true);
                case NN -> DeepGemm.mGroupedFp8GemmNnContiguous(a, new Fp8Tensor(b.data().transpose(1, 2),
                        b.scales().transpose(1, 2)), d, layout, false);
            }
        }

        @Override
        double[] aRow(int g, int r) {
            return Reference.dequantizedRow(hostA.data(), hostA.scales(), starts[g] + r, 1, 128);
        }

        @Override
        double[] bRow(int g, int j) {
            return Reference.dequantizedRow(hostB.data().select(0, g), hostB.scales().select(0, g), j, 128, 128);
        }

        @Override
        double[][] outputRows(int g, int[] groupRows) {
            int[] global = Arrays.stream(groupRows).map(r -> starts[g] + r).toArray();
            return Reference.rows(d, global);
        }

        @Override
        Check check() {
            Check check = compare();
            if (p.kind() != ContiguousKind.PSUM) {
                return check; // only the psum layout promises to leave the rows between experts alone
            }
            long written = 0;
            for (int g = 0; g < rows.length; g++) {
                int gapEnd = g + 1 < rows.length ? starts[g + 1] : (int) d.size(0);
                written += writtenRows(d, starts[g] + rows[g], gapEnd);
            }
            return check.withProblem(written > 0 ? written + " bytes of D between experts written" : null);
        }
    }

    /** Group g computes only its first masked_m[g] rows; the rest of D must stay as it was. */
    private static final class MaskedTrial extends GroupedTrial {
        private final Masked p;
        private final Fp8Tensor hostA;
        private final Fp8Tensor hostB;
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor d;
        private final Tensor maskedM;
        private final int[] masked;

        MaskedTrial(Location location, Masked p, int[] masked) {
            super(location);
            this.p = p;
            this.masked = masked;
            int groups = masked.length;
            long seed = 19L * groups + p.n() + p.k();
            int kBlocks = Reference.ceilDiv(p.k(), 128);
            // Rows past masked_m are never read: only the rows a group uses get random data.
            Tensor data = Tensor.zeros(DType.FP8_E4M3, groups, p.maxM(), p.k());
            for (int g = 0; g < groups; g++) {
                RandomTensors.fillFp8(data.hostSegment(), (long) g * p.maxM() * p.k(), (long) masked[g] * p.k(),
                        seed + 4 + g);
            }
            hostA = own(new Fp8Tensor(data, RandomTensors.scales(seed + 1, groups, p.maxM(), kBlocks)));
            hostB = own(new Fp8Tensor(RandomTensors.fp8(seed + 2, groups, p.n(), p.k()),
                    RandomTensors.scales(seed + 3, groups, Reference.ceilDiv(p.n(), 128), kBlocks)));
            a = kernelReadyScales(onTarget(hostA));
            b = onTarget(hostB);
            maskedM = onTarget(own(Tensor.ofInts(masked, groups)));
            d = onTarget(Reference.poison(own(Tensor.zeros(DType.BF16, groups, p.maxM(), p.n())), POISON));
            pickSample(seed, masked, p.n(), p.k());
        }

        @Override
        void run() {
            DeepGemm.mGroupedFp8GemmNtMasked(a, b, d, maskedM, p.expectedM());
        }

        @Override
        double[] aRow(int g, int r) {
            return Reference.dequantizedRow(hostA.data().select(0, g), hostA.scales().select(0, g), r, 1, 128);
        }

        @Override
        double[] bRow(int g, int j) {
            return Reference.dequantizedRow(hostB.data().select(0, g), hostB.scales().select(0, g), j, 128, 128);
        }

        @Override
        double[][] outputRows(int g, int[] rows) {
            return Reference.rows(d.select(0, g), rows);
        }

        @Override
        Check check() {
            long written = 0;
            for (int g = 0; g < masked.length; g++) {
                written += writtenRows(d.select(0, g), masked[g], p.maxM());
            }
            return compare().withProblem(written > 0 ? written + " bytes of D beyond masked_m written" : null);
        }
    }

    /**
     * Weight-gradient GEMM, groups along K, scales per 128 tokens. nt takes flat per-group [M, K_g] K-major blocks
     * laid end to end, with scales [M, ΣK/128] (the transpose of a contiguous [ΣK/128, M]); tn takes tokens as rows,
     * A [ΣK, M] and B [ΣK, N], with scales [ΣK/128, M] and [ΣK/128, N].
     */
    private static final class KGroupedTrial extends GroupedTrial {
        private final KGrouped p;
        private final int[] ks;
        private final int[] tokenStarts;
        private final Tensor hostA;
        private final Tensor hostB;
        private final Tensor hostSfa;
        private final Tensor hostSfb;
        private final Tensor hostC;
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor c;
        private final Tensor d;
        private final Tensor ksTensor;

        KGroupedTrial(Location location, KGrouped p, int[] ks) {
            super(location);
            this.p = p;
            this.ks = ks;
            int groups = ks.length;
            tokenStarts = new int[groups];
            for (int g = 1; g < groups; g++) {
                tokenStarts[g] = tokenStarts[g - 1] + ks[g - 1];
            }
            long sumK = Arrays.stream(ks).asLongStream().sum();
            long seed = 23L * groups + p.m() + p.n();
            hostA = own(p.tn() ? RandomTensors.fp8(seed, sumK, p.m()) : RandomTensors.fp8(seed, sumK * p.m()));
            hostB = own(p.tn() ? RandomTensors.fp8(seed + 1, sumK, p.n()) : RandomTensors.fp8(seed + 1, sumK * p.n()));
            hostSfa = own(RandomTensors.scales(seed + 2, sumK / 128, p.m()));
            hostSfb = own(RandomTensors.scales(seed + 3, sumK / 128, p.n()));
            hostC = own(RandomTensors.uniform(seed + 4, groups, p.m(), p.n()));
            Tensor sfa = onTarget(hostSfa);
            Tensor sfb = onTarget(hostSfb);
            a = new Fp8Tensor(onTarget(hostA), p.tn() ? sfa : sfa.t());
            b = new Fp8Tensor(onTarget(hostB), p.tn() ? sfb : sfb.t());
            c = onTarget(hostC);
            d = onTarget(Reference.poison(own(Tensor.zeros(DType.FP32, groups, p.m(), p.n())), POISON));
            ksTensor = onTarget(own(Tensor.ofInts(ks, groups)));
            int[] rowsPerGroup = new int[groups];
            Arrays.fill(rowsPerGroup, p.m());
            pickSample(seed, rowsPerGroup, p.n(), sumK / groups);
        }

        @Override
        void prepare() {
            d.copyFrom(c);
        }

        /** In place (C = D, which prepare() filled with C): the GEMM alone, as DeepGEMM's benchmark times it. */
        @Override
        void run() {
            if (p.tn()) {
                DeepGemm.kGroupedFp8GemmTnContiguous(a, b, d, ks, ksTensor, d);
            } else {
                DeepGemm.kGroupedFp8GemmNtContiguous(a, b, d, ks, ksTensor, d);
            }
        }

        /** Row {@code r} of group g's [rows, K_g] operand, dequantised with the per-(row, 128 tokens) scales. */
        private double[] groupRow(Tensor data, Tensor scales, int g, int r, int rows) {
            MemorySegment seg = data.hostSegment();
            double[] out = new double[ks[g]];
            for (int t = 0; t < ks[g]; t++) {
                long token = tokenStarts[g] + t;
                long offset = p.tn() ? token * rows + r : (long) tokenStarts[g] * rows + (long) r * ks[g] + t;
                out[t] = Tensor.readFloat(seg, DType.FP8_E4M3, offset) * Reference.at(scales, token / 128, r);
            }
            return out;
        }

        @Override
        double[] aRow(int g, int r) {
            return groupRow(hostA, hostSfa, g, r, p.m());
        }

        @Override
        double[] bRow(int g, int j) {
            return groupRow(hostB, hostSfb, g, j, p.n());
        }

        @Override
        double c(int g, int r, int j) {
            return Reference.at(hostC.select(0, g), r, j);
        }

        @Override
        double[][] outputRows(int g, int[] rows) {
            return Reference.rows(d.select(0, g), rows);
        }

        @Override
        Check check() {
            return compare();
        }
    }
}
