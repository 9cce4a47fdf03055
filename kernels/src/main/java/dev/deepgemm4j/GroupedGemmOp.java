package dev.deepgemm4j;

/** Validation and dispatch of the M-grouped (contiguous, psum, masked) and K-grouped FP8 GEMMs. */
final class GroupedGemmOp {
    private GroupedGemmOp() {
    }

    static void contiguous(boolean bIsKByN, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout, boolean psum) {
        throw new UnsupportedOperationException("TODO");
    }

    static void masked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        throw new UnsupportedOperationException("TODO");
    }

    static void kGrouped(boolean tn, Fp8Tensor a, Fp8Tensor b, Tensor d, int[] ks, Tensor ksTensor, Tensor c) {
        throw new UnsupportedOperationException("TODO");
    }
}
