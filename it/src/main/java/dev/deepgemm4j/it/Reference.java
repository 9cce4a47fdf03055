package dev.deepgemm4j.it;

import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Float64 reference arithmetic for the benchmark's checks, and reading outputs back from wherever they live.
 * Operands are host tensors (the generated originals), read through their strides.
 */
final class Reference {

    private Reference() {
    }

    // ------------------------------------------------------------------ reading

    /** Element {@code [r, c]} of a 2-D host tensor, widened. */
    static double at(Tensor t, long r, long c) {
        return Tensor.readFloat(t.hostSegment(), t.dtype(), t.offset() + r * t.stride(0) + c * t.stride(1));
    }

    /**
     * Row {@code r} of an FP8 matrix [R, C] dequantised: element c times the scale
     * {@code scales[r / granRows, c / granCols]} (both 2-D host tensors, any strides).
     */
    static double[] dequantizedRow(Tensor data, Tensor scales, long r, int granRows, int granCols) {
        int cols = Math.toIntExact(data.size(1));
        double[] row = new double[cols];
        MemorySegment seg = data.hostSegment();
        long base = data.offset() + r * data.stride(0);
        double scale = 0;
        for (int c = 0; c < cols; c++) {
            if (c % granCols == 0) {
                scale = at(scales, r / granRows, c / granCols);
            }
            row[c] = Tensor.readFloat(seg, data.dtype(), base + c * data.stride(1)) * scale;
        }
        return row;
    }

    /** All elements of {@code t} (host or device) in row-major logical order, widened. */
    static double[] values(Tensor t) {
        Tensor host = t.toHost();
        try {
            float[] f = host.toFloatArray();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            return d;
        } finally {
            if (host != t) {
                host.close();
            }
        }
    }

    /** Runs {@code action} on a host copy of {@code t} (or {@code t} itself when it is in host memory). */
    static <R> R onHost(Tensor t, java.util.function.Function<Tensor, R> action) {
        Tensor host = t.toHost();
        try {
            return action.apply(host);
        } finally {
            if (host != t) {
                host.close();
            }
        }
    }

    /**
     * Rows {@code rows} of a 2-D tensor (host or device), each widened. A device tensor is copied back row by row
     * unless every row is asked for.
     */
    static double[][] rows(Tensor t, int[] rows) {
        double[][] out = new double[rows.length][];
        if (rows.length == t.size(0) && java.util.stream.IntStream.range(0, rows.length).allMatch(i -> rows[i] == i)) {
            double[] all = values(t);
            int cols = Math.toIntExact(t.size(1));
            for (int i = 0; i < rows.length; i++) {
                out[i] = java.util.Arrays.copyOfRange(all, rows[i] * cols, (rows[i] + 1) * cols);
            }
            return out;
        }
        for (int i = 0; i < rows.length; i++) {
            out[i] = values(t.narrow(0, rows[i], 1));
        }
        return out;
    }

    // ------------------------------------------------------------------ arithmetic

    static double dot(double[] x, double[] y) {
        double acc = 0;
        for (int i = 0; i < x.length; i++) {
            acc += x[i] * y[i];
        }
        return acc;
    }

    /** DeepGEMM's calc_diff: {@code 1 − 2·Σxy / Σ(x² + y²)}, 0 when both are all zero. */
    static double calcDiff(double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("lengths differ: " + x.length + " vs " + y.length);
        }
        double xy = 0;
        double squares = 0;
        for (int i = 0; i < x.length; i++) {
            xy += x[i] * y[i];
            squares += x[i] * x[i] + y[i] * y[i];
        }
        return squares == 0 ? 0 : 1 - 2 * xy / squares;
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int align(int a, int b) {
        return ceilDiv(a, b) * b;
    }

    /** Number of bytes of {@code t} (host or device) that differ from {@code pattern}. */
    static long bytesNotEqualTo(Tensor t, byte pattern) {
        if (t.numel() == 0) {
            return 0;
        }
        return onHost(t, host -> {
            MemorySegment seg = host.hostSegment();
            int size = host.dtype().byteSize();
            long[] changed = {0};
            host.forEachOffset(off -> {
                for (int b = 0; b < size; b++) {
                    if (seg.get(ValueLayout.JAVA_BYTE, off * size + b) != pattern) {
                        changed[0]++;
                    }
                }
            });
            return changed[0];
        });
    }

    /** Sets every byte of a contiguous host tensor to {@code pattern} (a poisoned output). */
    static Tensor poison(Tensor t, byte pattern) {
        t.hostSegment().fill(pattern);
        return t;
    }
}
