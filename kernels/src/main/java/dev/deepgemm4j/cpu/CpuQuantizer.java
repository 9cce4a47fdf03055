package dev.deepgemm4j.cpu;

import dev.deepgemm4j.Tensor;

/** CPU reference of the FP8 quantizers and UE8M0 packing. */
final class CpuQuantizer {
    private CpuQuantizer() {
    }

    static void cast(Tensor x, int granRows, int granCols, boolean ue8m0, Tensor data, Tensor scales) {
        throw new UnsupportedOperationException("TODO");
    }

    static void packUe8m0(Tensor sf, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }
}
