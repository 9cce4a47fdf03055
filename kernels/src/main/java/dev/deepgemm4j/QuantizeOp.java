package dev.deepgemm4j;

/** Validation and dispatch of the FP8 quantizers, and calc_diff. */
final class QuantizeOp {
    private QuantizeOp() {
    }

    static Fp8Tensor cast(Tensor x, int granRows, int granCols, boolean ue8m0, String name) {
        throw new UnsupportedOperationException("TODO");
    }

    static double calcDiff(Tensor x, Tensor y) {
        throw new UnsupportedOperationException("TODO");
    }
}
