package dev.deepgemm4j.it;

import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Which output elements a check compares with the float64 reference: all of them when the reference is cheap, else
 * a grid of {@value #PICKS} rows × {@value #PICKS} columns (about 256 elements) that always includes the first and last
 * row and column, where tiling and bounds mistakes show first.
 *
 * @param rows the row indices, ascending
 * @param cols the column indices, ascending
 * @param full whether every element is compared
 */
record Sample(int[] rows, int[] cols, boolean full) {

    /** Rows and columns picked along each dimension of a large output. */
    static final int PICKS = 16;
    /** Largest reference cost (multiply-adds) computed in full. */
    static final long FULL_WORK = 1L << 27;
    /** Largest output compared in full. */
    static final long FULL_ELEMENTS = 1L << 20;

    /**
     * The sample for an output of {@code rows × cols} elements, each costing {@code inner} multiply-adds in the
     * reference.
     */
    static Sample of(long seed, int rows, int cols, long inner) {
        long elements = (long) rows * cols;
        if (elements <= FULL_ELEMENTS && elements * Math.max(1, inner) <= FULL_WORK) {
            return new Sample(IntStream.range(0, rows).toArray(), IntStream.range(0, cols).toArray(), true);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        return new Sample(pick(rng, rows, PICKS), pick(rng, cols, PICKS), false);
    }

    /** Up to {@code count} distinct indices in [0, n), ascending, including 0 and n − 1. */
    static int[] pick(SplittableRandom rng, int n, int count) {
        if (n <= count) {
            return IntStream.range(0, n).toArray();
        }
        TreeSet<Integer> picked = new TreeSet<>();
        picked.add(0);
        picked.add(n - 1);
        while (picked.size() < count) {
            picked.add(rng.nextInt(n));
        }
        return picked.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Number of elements compared. */
    long size() {
        return (long) rows.length * cols.length;
    }
}
