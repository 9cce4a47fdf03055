package dev.deepgemm4j.heuristics;

import java.util.List;

/** The tile shapes of the SIMT GEMM kernels and the rule that picks one. */
final class GemmTiles {

    /** {blockM, blockN} pairs the heuristics choose from. */
    static final List<int[]> TILES = List.of(new int[] {16, 64}, new int[] {32, 64}, new int[] {64, 64},
            new int[] {128, 64}, new int[] {64, 128});

    private GemmTiles() {
    }

    /**
     * The smallest blockM (16, 32, 64, 128) that covers {@code rowsHint} rows, stepping down from 128 to 64 when 128
     * would leave SMs idle; blockN 128 only for 64-row tiles that still fill every SM, else 64. Small tiles for small
     * M waste no rows (decode shapes); bigger tiles share more operand loads once the GPU is full.
     *
     * @param rowsHint the rows one group really has (expected_m, the alignment, or M)
     * @param rows rows of D per group (the grid's extent)
     * @param cols columns of D
     * @param groups groups in the grid
     */
    static int[] choose(long rowsHint, long rows, long cols, long groups, int numSms) {
        int blockM = rowsHint <= 16 ? 16 : rowsHint <= 32 ? 32 : rowsHint <= 64 ? 64 : 128;
        if (blockM == 128 && ctas(rows, 128, cols, 64, groups) < numSms) {
            blockM = 64;
        }
        int blockN = blockM == 64 && ctas(rows, 64, cols, 128, groups) >= numSms ? 128 : 64;
        return new int[] {blockM, blockN};
    }

    private static long ctas(long rows, int blockM, long cols, int blockN, long groups) {
        return Math.ceilDiv(Math.max(rows, 1), blockM) * Math.ceilDiv(Math.max(cols, 1), blockN) * groups;
    }
}
