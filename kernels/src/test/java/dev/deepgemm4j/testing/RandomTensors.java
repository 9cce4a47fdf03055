package dev.deepgemm4j.testing;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import java.util.SplittableRandom;

/** Random test data: never zeros, never NaN, reproducible from a seed. */
public final class RandomTensors {

    private RandomTensors() {
    }

    /** Host FP8 tensor of random finite, non-zero codes (magnitudes spread over the whole E4M3 range). */
    public static Tensor fp8(SplittableRandom rng, long... shape) {
        Tensor t = Tensor.zeros(DType.FP8_E4M3, shape);
        t.forEachOffset(off -> t.hostSegment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, off, randomFp8Code(rng)));
        return t;
    }

    /** A random finite, non-zero E4M3 code with magnitude in [2^-4, 448]. */
    public static byte randomFp8Code(SplittableRandom rng) {
        while (true) {
            byte code = (byte) rng.nextInt(256);
            float v = Fp8E4M3.toFloat(code);
            if (!Float.isNaN(v) && Math.abs(v) >= 0x1p-4f) {
                return code;
            }
        }
    }

    /** Host FP32 tensor of positive scales in [2^-10, 2^-4) (typical amax/448 values), row-major. */
    public static Tensor scales(SplittableRandom rng, long... shape) {
        Tensor t = Tensor.zeros(DType.FP32, shape);
        t.forEachOffset(off -> Tensor.writeFloat(t.hostSegment(), DType.FP32, off,
                (float) Math.scalb(1.0 + rng.nextDouble(), -10 + rng.nextInt(6))));
        return t;
    }

    /** Host tensor of {@code dtype} with uniform values in [-1, 1) (never exactly zero), row-major. */
    public static Tensor uniform(SplittableRandom rng, DType dtype, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        t.forEachOffset(off -> {
            double v;
            do {
                v = rng.nextDouble(-1.0, 1.0);
            } while (v == 0.0);
            Tensor.writeFloat(t.hostSegment(), dtype, off, (float) v);
        });
        return t;
    }

    /** Host INT32 tensor with values drawn uniformly from [lo, hi). */
    public static Tensor ints(SplittableRandom rng, int lo, int hi, long... shape) {
        Tensor t = Tensor.zeros(DType.INT32, shape);
        t.forEachOffset(off -> Tensor.writeFloat(t.hostSegment(), DType.INT32, off, rng.nextInt(lo, hi)));
        return t;
    }

    /** DeepGEMM's calc_diff in float64 over two equally long arrays: 1 - 2Σxy / Σ(x² + y²). */
    public static double calcDiff(double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("lengths differ: " + x.length + " vs " + y.length);
        }
        double xy = 0;
        double xxyy = 0;
        for (int i = 0; i < x.length; i++) {
            xy += x[i] * y[i];
            xxyy += x[i] * x[i] + y[i] * y[i];
        }
        return xxyy == 0 ? 0 : 1 - 2 * xy / xxyy;
    }

    /** Widens a float array for {@link #calcDiff}. */
    public static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
