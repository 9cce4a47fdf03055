package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import java.util.SplittableRandom;

/** Random inputs and float64 reference arithmetic for the benchmark's checks. */
final class Reference {

    private Reference() {
    }

    // ------------------------------------------------------------------ data

    /** FP8 tensor of random finite, non-zero codes, row-major. */
    static Tensor fp8(SplittableRandom rng, long... shape) {
        Tensor t = Tensor.zeros(DType.FP8_E4M3, shape);
        var seg = t.hostSegment();
        t.forEachOffset(off -> seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off, randomFp8Code(rng)));
        return t;
    }

    static byte randomFp8Code(SplittableRandom rng) {
        while (true) {
            byte code = (byte) rng.nextInt(256);
            float v = Fp8E4M3.toFloat(code);
            if (!Float.isNaN(v) && v != 0) {
                return code;
            }
        }
    }

    /** FP32 scales in [2^-10, 2^-4), the range of amax/448 for typical activations, row-major. */
    static Tensor scales(SplittableRandom rng, long... shape) {
        return fill(Tensor.zeros(DType.FP32, shape), () -> (float) Math.scalb(1 + rng.nextDouble(), -10
                + rng.nextInt(6)));
    }

    /** FP32 powers of two from 2^-20 to 2^5 (UE8M0-representable scales), row-major. */
    static Tensor powerOfTwoScales(SplittableRandom rng, long... shape) {
        return fill(Tensor.zeros(DType.FP32, shape), () -> Math.scalb(1f, rng.nextInt(-20, 6)));
    }

    /** Tensor of {@code dtype} with non-zero values uniform in (-1, 1), row-major. */
    static Tensor uniform(SplittableRandom rng, DType dtype, long... shape) {
        return fill(Tensor.zeros(dtype, shape), () -> {
            double v;
            do {
                v = rng.nextDouble(-1, 1);
            } while (v == 0);
            return (float) v;
        });
    }

    private static Tensor fill(Tensor t, java.util.function.Supplier<Float> values) {
        var seg = t.hostSegment();
        t.forEachOffset(off -> Tensor.writeFloat(seg, t.dtype(), off, values.get()));
        return t;
    }

    // ------------------------------------------------------------------ arithmetic

    /** The tensor's values in row-major logical order, widened. */
    static double[] values(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /**
     * The real values of an FP8 matrix [R, C] whose scale [r / granRows, c / granCols] applies to element [r, c];
     * both tensors are read through their logical (possibly transposed) views.
     */
    static double[] dequantize(Tensor data, Tensor scales, int granRows, int granCols) {
        int rows = Math.toIntExact(data.size(0));
        int cols = Math.toIntExact(data.size(1));
        int scaleCols = Math.toIntExact(scales.size(1));
        double[] v = values(data);
        double[] s = values(scales);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                v[r * cols + c] *= s[(r / granRows) * scaleCols + c / granCols];
            }
        }
        return v;
    }

    /** {@code d[m, n] = c[m, n] + Σ_k a[m, k] · b[n, k]} (c may be null). */
    static double[] gemmNt(double[] a, double[] b, double[] c, int m, int n, int k) {
        double[] d = c == null ? new double[m * n] : c.clone();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    acc += a[i * k + p] * b[j * k + p];
                }
                d[i * n + j] += acc;
            }
        }
        return d;
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

    /** Elements {@code [from, to)} of a row-major array. */
    static double[] slice(double[] values, int from, int to) {
        return java.util.Arrays.copyOfRange(values, from, to);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int align(int a, int b) {
        return ceilDiv(a, b) * b;
    }

    /** Number of bytes of {@code t} that differ from {@code pattern} (a poisoned region that must stay poisoned). */
    static long bytesNotEqualTo(Tensor t, byte pattern) {
        var seg = t.hostSegment();
        int size = t.dtype().byteSize();
        long[] changed = {0};
        t.forEachOffset(off -> {
            for (int b = 0; b < size; b++) {
                if (seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off * size + b) != pattern) {
                    changed[0]++;
                }
            }
        });
        return changed[0];
    }
}
