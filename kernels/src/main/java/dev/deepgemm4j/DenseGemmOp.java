package dev.deepgemm4j;

/** Validation and dispatch of the dense FP8 GEMMs (nt, nn, tn, tt; 1D2D and 1D1D). */
final class DenseGemmOp {
    private DenseGemmOp() {
    }

    static void run(GemmLayout layout, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c, Recipe recipe) {
        throw new UnsupportedOperationException("TODO");
    }
}
