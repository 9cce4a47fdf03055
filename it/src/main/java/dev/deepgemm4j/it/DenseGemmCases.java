package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** fp8_gemm_{nt,nn,tn,tt} with per-block B scales (1D2D, BF16 D) and per-token B scales (1D1D, FP32 D = C + A·B). */
final class DenseGemmCases {

    private DenseGemmCases() {
    }

    static List<BenchCase> all(Sizes s) {
        List<BenchCase> cases = new ArrayList<>();
        for (Recipe recipe : List.of(Recipe.PER_TOKEN_PER_BLOCK, Recipe.PER_TOKEN_PER_TOKEN)) {
            for (GemmLayout layout : GemmLayout.values()) {
                boolean perBlock = recipe.isPerBlockB();
                cases.add(BenchCase.flops("fp8_gemm_" + layout.suffix(), perBlock ? "1D2D" : "1D1D",
                        "M=" + s.denseM() + " N=" + s.denseN() + " K=" + s.denseK(),
                        2.0 * s.denseM() * s.denseN() * s.denseK(),
                        perBlock ? BenchCase.BF16_OUTPUT : BenchCase.FP32_OUTPUT,
                        () -> new DenseTrial(layout, recipe, s.denseM(), s.denseN(), s.denseK())));
            }
        }
        return cases;
    }

    /**
     * The operands are K-major A [M, K] and B [N, K] with their scales; a layout that takes A or B transposed gets
     * transposed views of both data and scales, as DeepGEMM's nn/tn/tt entry points do.
     */
    private static final class DenseTrial extends Trial {
        private final GemmLayout layout;
        private final Fp8Tensor a;
        private final Fp8Tensor b;
        private final Tensor c;
        private final Tensor d;
        private final double[] reference;

        DenseTrial(GemmLayout layout, Recipe recipe, int m, int n, int k) {
            this.layout = layout;
            SplittableRandom rng = new SplittableRandom(m * 31L + n * 7L + k);
            int kBlocks = Reference.ceilDiv(k, 128);
            int granB = recipe.granMnB();
            a = own(new Fp8Tensor(Reference.fp8(rng, m, k), Reference.scales(rng, m, kBlocks)));
            b = own(new Fp8Tensor(Reference.fp8(rng, n, k),
                    Reference.scales(rng, Reference.ceilDiv(n, granB), kBlocks)));
            boolean accumulate = !recipe.isPerBlockB();
            c = accumulate ? own(Reference.uniform(rng, DType.FP32, m, n)) : null;
            d = own(Tensor.zeros(accumulate ? DType.FP32 : DType.BF16, m, n));
            d.fillBytes((byte) 0x7F);
            reference = Reference.gemmNt(Reference.dequantize(a.data(), a.scales(), 1, 128),
                    Reference.dequantize(b.data(), b.scales(), granB, 128),
                    c == null ? null : Reference.values(c), m, n, k);
        }

        private static Fp8Tensor transposed(Fp8Tensor x) {
            return new Fp8Tensor(x.data().t(), x.scales().t());
        }

        /** Calls the layout's own entry point; the recipe follows from B's scale shape, as users rely on. */
        @Override
        void run() {
            Fp8Tensor x = layout.aTransposed() ? transposed(a) : a;
            Fp8Tensor y = layout.bGivenAsKByN() ? transposed(b) : b;
            if (c == null) {
                switch (layout) {
                    case NT -> DeepGemm.fp8GemmNt(x, y, d);
                    case NN -> DeepGemm.fp8GemmNn(x, y, d);
                    case TN -> DeepGemm.fp8GemmTn(x, y, d);
                    case TT -> DeepGemm.fp8GemmTt(x, y, d);
                }
            } else {
                switch (layout) {
                    case NT -> DeepGemm.fp8GemmNt(x, y, d, c);
                    case NN -> DeepGemm.fp8GemmNn(x, y, d, c);
                    case TN -> DeepGemm.fp8GemmTn(x, y, d, c);
                    case TT -> DeepGemm.fp8GemmTt(x, y, d, c);
                }
            }
        }

        @Override
        Check check() {
            return Check.of(Reference.calcDiff(Reference.values(d), reference));
        }

    }
}
