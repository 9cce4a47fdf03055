package dev.deepgemm4j.cpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.List;

/** CPU reference of the grouped FP8 GEMMs. */
final class CpuGroupedGemm {
    private CpuGroupedGemm() {
    }

    static void contiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout, boolean psum, int alignment) {
        throw new UnsupportedOperationException("TODO");
    }

    static void masked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM) {
        throw new UnsupportedOperationException("TODO");
    }

    static void kGrouped(List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d) {
        throw new UnsupportedOperationException("TODO");
    }
}
