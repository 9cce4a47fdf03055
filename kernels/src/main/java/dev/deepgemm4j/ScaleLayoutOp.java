package dev.deepgemm4j;

/** Scale-factor layout utilities (TMA alignment, MN-major transform, UE8M0 packing, the per-GEMM transform). */
final class ScaleLayoutOp {
    private ScaleLayoutOp() {
    }

    static long tmaAlignedSize(long x, int elementSize) {
        throw new UnsupportedOperationException("TODO");
    }

    static Tensor mnMajorTmaAligned(Tensor sf) {
        throw new UnsupportedOperationException("TODO");
    }

    static Tensor mnMajorTmaAlignedPackedUe8m0(Tensor sf) {
        throw new UnsupportedOperationException("TODO");
    }

    static Tensor transformSf(Tensor sf, long mn, long k, Recipe recipe, int numGroups, boolean isSfa,
            boolean disableUe8m0Cast) {
        throw new UnsupportedOperationException("TODO");
    }
}
