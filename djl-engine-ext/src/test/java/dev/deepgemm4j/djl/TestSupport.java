package dev.deepgemm4j.djl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Shared data and arithmetic for the DJL tests. One PyTorch manager per JVM: loading its natives is slow. */
final class TestSupport {

    static {
        // DJL's Engine calls home when first loaded unless told not to; the GPU bundle runs these tests without
        // Maven's system properties, on hosts that may be offline.
        System.setProperty("OPT_OUT_TRACKING", System.getProperty("OPT_OUT_TRACKING", "true"));
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
    }

    private static NDManager pytorch;

    private TestSupport() {
    }

    static DeepGemmEngine engine() {
        return DeepGemmEngine.getInstance();
    }

    /** A PyTorch CPU manager shared by all tests (never closed: it lives as long as the JVM). */
    static synchronized NDManager pytorch() {
        if (pytorch == null) {
            pytorch = NDManager.newBaseManager("PyTorch");
        }
        return pytorch;
    }

    static void assumeGpu() {
        assumeTrue(engine().hasCapability(StandardCapabilities.CUDA), "no deepgemm4j GPU backend on this machine");
    }

    /** Non-zero values uniform in (-scale, scale). */
    static float[] uniform(SplittableRandom rng, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            do {
                v[i] = (float) rng.nextDouble(-scale, scale);
            } while (v[i] == 0);
        }
        return v;
    }

    static NDArray array(NDManager manager, float[] values, long... shape) {
        return manager.create(values, new Shape(shape));
    }

    /** An FP32 tensor of non-zero values uniform in (-1, 1). */
    static Tensor uniformTensor(SplittableRandom rng, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= Math.toIntExact(d);
        }
        return Tensor.ofFloats(uniform(rng, n, 1), shape);
    }

    /** An FP8 tensor of random finite non-zero codes. */
    static Tensor fp8(SplittableRandom rng, long... shape) {
        Tensor t = Tensor.zeros(DType.FP8_E4M3, shape);
        var seg = t.hostSegment();
        t.forEachOffset(off -> seg.set(ValueLayout.JAVA_BYTE, off, fp8Code(rng)));
        return t;
    }

    static byte fp8Code(SplittableRandom rng) {
        while (true) {
            byte code = (byte) rng.nextInt(256);
            float v = Fp8E4M3.toFloat(code);
            if (!Float.isNaN(v) && v != 0) {
                return code;
            }
        }
    }

    /** The tensor as an array of {@code manager} (a copy). */
    static NDArray array(NDManager manager, Tensor t) {
        return NDArrayTensors.toNDArray(manager, t);
    }

    /** The operand as arrays of {@code manager} (copies). */
    static Fp8Operand operand(NDManager manager, Fp8Tensor t) {
        return new Fp8Operand(array(manager, t.data()), array(manager, t.scales()));
    }

    /** DeepGEMM's calc_diff in float64. */
    static double calcDiff(float[] x, float[] y) {
        try (Tensor a = Tensor.ofFloats(x, x.length); Tensor b = Tensor.ofFloats(y, y.length)) {
            return DeepGemm.calcDiff(a, b);
        }
    }

    /** The real values of a per-block (128×128) quantised [N, K] or [G, N, K] operand, row-major. */
    static double[] dequantizePerBlock(Fp8Tensor q) {
        Tensor data = q.data();
        boolean grouped = data.dim() == 3;
        long groups = grouped ? data.size(0) : 1;
        long n = data.size(-2);
        long k = data.size(-1);
        double[] out = new double[Math.toIntExact(groups * n * k)];
        int i = 0;
        for (long g = 0; g < groups; g++) {
            for (long r = 0; r < n; r++) {
                for (long c = 0; c < k; c++) {
                    double v = grouped ? data.getFloat(g, r, c) : data.getFloat(r, c);
                    double s = grouped ? q.scales().getFloat(g, r / 128, c / 128)
                            : q.scales().getFloat(r / 128, c / 128);
                    out[i++] = v * s;
                }
            }
        }
        return out;
    }

    /** x [rows, k] · w[n, k]ᵀ in float64, as floats. */
    static float[] matmulNt(double[] x, double[] w, int rows, int n, int k, int wOffset) {
        float[] out = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int c = 0; c < k; c++) {
                    acc += x[r * k + c] * w[wOffset + j * k + c];
                }
                out[r * n + j] = (float) acc;
            }
        }
        return out;
    }

    static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
