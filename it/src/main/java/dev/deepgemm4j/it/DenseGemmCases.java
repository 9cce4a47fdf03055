package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import java.util.List;
import java.util.stream.IntStream;

/** fp8_gemm_{nt,nn,tn,tt} with per-block B scales (1D2D, BF16 D) and per-token B scales (1D1D, FP32 D = C + A·B). */
final class DenseGemmCases {

    private DenseGemmCases() {
    }

    /**
     * One dense problem: {@code D [m, n] (+)= A [m, k] · B [n, k]ᵀ}.
     *
     * @param layout which entry point (and so which operands arrive transposed)
     * @param recipe 1D2D (BF16 D) or 1D1D (FP32 D accumulating into C)
     */
    record Problem(GemmLayout layout, Recipe recipe, int m, int n, int k) {

        boolean accumulates() {
            return !recipe.isPerBlockB();
        }

        String variant() {
            return recipe.isPerBlockB() ? "1D2D" : "1D1D";
        }

        String shape() {
            return "M=" + m + " N=" + n + " K=" + k;
        }

        /** Bytes of A, B, their scales and D, plus C when accumulating. */
        double bytes() {
            int kBlocks = Reference.ceilDiv(k, 128);
            double scaleRowsB = recipe.isPerBlockB() ? Reference.ceilDiv(n, 128) : n;
            double out = accumulates() ? 8.0 : 2.0;
            return (double) m * k + (double) n * k + 4.0 * kBlocks * (m + scaleRowsB) + out * m * n;
        }
    }

    static List<BenchCase> cases(List<Problem> problems) {
        return problems.stream().map(p -> new BenchCase("fp8_gemm_" + p.layout().suffix(), p.variant(), p.shape(),
                2.0 * p.m() * p.n() * p.k(), p.bytes(), p.accumulates() ? BenchCase.FP32_OUTPUT
                        : BenchCase.BF16_OUTPUT, location -> new DenseTrial(location, p))).toList();
    }

    /**
     * The operands are generated K-major, A [M, K] and B [N, K] with their scales; a layout that takes A or B
     * transposed gets transposed views of both data and scales, as DeepGEMM's nn/tn/tt entry points do.
     */
    static final class DenseTrial extends Trial {
        final Problem problem;
        /** The host originals: what the reference (and the cuBLASLt baseline) read. */
        final Fp8Tensor hostA;
        final Fp8Tensor hostB;
        private final Tensor hostC;
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor c;
        private final Tensor d;
        private final Sample sample;

        DenseTrial(Location location, Problem p) {
            super(location);
            this.problem = p;
            long seed = p.m() * 31L + p.n() * 7L + p.k();
            int kBlocks = Reference.ceilDiv(p.k(), 128);
            hostA = own(new Fp8Tensor(RandomTensors.fp8(seed, p.m(), p.k()),
                    RandomTensors.scales(seed + 1, p.m(), kBlocks)));
            hostB = own(new Fp8Tensor(RandomTensors.fp8(seed + 2, p.n(), p.k()),
                    RandomTensors.scales(seed + 3, Reference.ceilDiv(p.n(), p.recipe().granMnB()), kBlocks)));
            hostC = p.accumulates() ? own(RandomTensors.uniform(seed + 4, p.m(), p.n())) : null;
            a = kernelReadyScales(onTarget(hostA), p.layout());
            // B's per-token scales (1D1D) likewise; its 128 x 128 block scales are read as they are.
            b = p.recipe().granMnB() == 1 ? kernelReadyScales(onTarget(hostB), p.layout()) : onTarget(hostB);
            c = hostC == null ? null : onTarget(hostC);
            d = onTarget(Reference.poison(own(Tensor.zeros(p.accumulates() ? DType.FP32 : DType.BF16, p.m(),
                    p.n())), POISON));
            sample = Sample.of(seed, p.m(), p.n(), p.k());
        }

        /**
         * For NT, an operand's per-token scales in the layout the kernels read (MN-major, TMA-aligned), made once here
         * as a latency-minded caller does, so the timed call is the GEMM alone, as in DeepGEMM's benchmark.
         */
        private Fp8Tensor kernelReadyScales(Fp8Tensor x, GemmLayout layout) {
            if (layout != GemmLayout.NT) {
                return x;
            }
            Tensor aligned = DeepGemm.getMnMajorTmaAlignedTensor(x.scales());
            return new Fp8Tensor(x.data(), aligned == x.scales() ? aligned : own(aligned));
        }

        private static Fp8Tensor transposed(Fp8Tensor x) {
            return new Fp8Tensor(x.data().t(), x.scales().t());
        }

        /** Calls the layout's own entry point; the recipe follows from B's scale shape, as users rely on. */
        @Override
        void run() {
            Fp8Tensor x = problem.layout().aTransposed() ? transposed(a) : a;
            Fp8Tensor y = problem.layout().bGivenAsKByN() ? transposed(b) : b;
            if (c == null) {
                switch (problem.layout()) {
                    case NT -> DeepGemm.fp8GemmNt(x, y, d);
                    case NN -> DeepGemm.fp8GemmNn(x, y, d);
                    case TN -> DeepGemm.fp8GemmTn(x, y, d);
                    case TT -> DeepGemm.fp8GemmTt(x, y, d);
                }
            } else {
                // In place (C = D, which prepare() filled with C): the GEMM alone, as DeepGEMM's benchmark times it;
                // a separate C would add a copy of it into D to the timed call.
                switch (problem.layout()) {
                    case NT -> DeepGemm.fp8GemmNt(x, y, d, d);
                    case NN -> DeepGemm.fp8GemmNn(x, y, d, d);
                    case TN -> DeepGemm.fp8GemmTn(x, y, d, d);
                    case TT -> DeepGemm.fp8GemmTt(x, y, d, d);
                }
            }
        }

        @Override
        void prepare() {
            if (c != null) {
                d.copyFrom(c);
            }
        }

        @Override
        Check check() {
            return checkOutput(d);
        }

        /**
         * Compares the sampled elements of {@code out} (any D [≥ M, N], host or device, e.g. the cuBLASLt baseline's)
         * with the float64 product of the quantised operands.
         */
        Check checkOutput(Tensor out) {
            int granB = problem.recipe().granMnB();
            double[][] got = Reference.rows(out, sample.rows());
            int[] rows = sample.rows();
            int[] cols = sample.cols();
            double[][] bRows = new double[cols.length][];
            IntStream.range(0, cols.length).parallel().forEach(j -> bRows[j] = Reference.dequantizedRow(
                    hostB.data(), hostB.scales(), cols[j], granB, 128));
            double[] output = new double[Math.toIntExact(sample.size())];
            double[] reference = new double[output.length];
            IntStream.range(0, rows.length).parallel().forEach(i -> {
                double[] aRow = Reference.dequantizedRow(hostA.data(), hostA.scales(), rows[i], 1, 128);
                for (int j = 0; j < cols.length; j++) {
                    output[i * cols.length + j] = got[i][cols[j]];
                    reference[i * cols.length + j] = Reference.dot(aRow, bRows[j])
                            + (hostC == null ? 0 : Reference.at(hostC, rows[i], cols[j]));
                }
            });
            return Check.of(Reference.calcDiff(output, reference), output.length, !sample.full());
        }
    }
}
