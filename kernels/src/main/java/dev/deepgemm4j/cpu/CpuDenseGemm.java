package dev.deepgemm4j.cpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;

/** CPU reference of the dense FP8 GEMM. */
final class CpuDenseGemm {
    private CpuDenseGemm() {
    }

    static void gemm(Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        throw new UnsupportedOperationException("TODO");
    }
}
