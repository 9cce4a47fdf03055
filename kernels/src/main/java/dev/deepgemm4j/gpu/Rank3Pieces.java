package dev.deepgemm4j.gpu;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts an elementwise traversal of tensors of any rank into pieces of rank 3, the most the copy and fill kernels
 * take: size-1 dimensions are dropped, dimensions that are contiguous with their inner neighbour in every tensor are
 * merged, and whatever stays above three dimensions is looped over on the host (one launch per piece).
 */
final class Rank3Pieces {

    /**
     * One launch: per tensor, the element offset of the piece's first element and its three strides; the piece's
     * three extents.
     */
    record Piece(long[] offsets, long[][] strides, long[] shape) {
    }

    private Rank3Pieces() {
    }

    /** The pieces covering {@code shape} as viewed through each of {@code strides}; empty when nothing is covered. */
    static List<Piece> of(long[] shape, long[]... strides) {
        int tensors = strides.length;
        List<Long> dims = new ArrayList<>();
        List<long[]> dimStrides = new ArrayList<>();
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) {
                return List.of();
            }
            if (shape[d] == 1) {
                continue;
            }
            long[] s = new long[tensors];
            for (int t = 0; t < tensors; t++) {
                s[t] = strides[t][d];
            }
            int last = dims.size() - 1;
            if (last >= 0 && mergeable(dimStrides.get(last), s, shape[d])) {
                dims.set(last, dims.get(last) * shape[d]);
                dimStrides.set(last, s);
            } else {
                dims.add(shape[d]);
                dimStrides.add(s);
            }
        }
        while (dims.size() < 3) {
            dims.addFirst(1L);
            dimStrides.addFirst(new long[tensors]);
        }
        int loops = dims.size() - 3;
        long[] inner = {dims.get(loops), dims.get(loops + 1), dims.get(loops + 2)};
        long[][] innerStrides = new long[tensors][3];
        for (int t = 0; t < tensors; t++) {
            for (int i = 0; i < 3; i++) {
                innerStrides[t][i] = dimStrides.get(loops + i)[t];
            }
        }
        List<Piece> pieces = new ArrayList<>();
        long[] index = new long[loops];
        while (true) {
            long[] offsets = new long[tensors];
            for (int d = 0; d < loops; d++) {
                for (int t = 0; t < tensors; t++) {
                    offsets[t] += index[d] * dimStrides.get(d)[t];
                }
            }
            pieces.add(new Piece(offsets, innerStrides, inner));
            int d = loops - 1;
            while (d >= 0 && ++index[d] == dims.get(d)) {
                index[d--] = 0;
            }
            if (d < 0) {
                return pieces;
            }
        }
    }

    /** An outer dimension with strides {@code outer} folds into an inner one of {@code innerSize} with {@code inner}. */
    private static boolean mergeable(long[] outer, long[] inner, long innerSize) {
        for (int t = 0; t < outer.length; t++) {
            if (outer[t] != inner[t] * innerSize) {
                return false;
            }
        }
        return true;
    }
}
