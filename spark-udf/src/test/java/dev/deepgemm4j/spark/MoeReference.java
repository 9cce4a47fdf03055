package dev.deepgemm4j.spark;

import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.SplittableRandom;

/** Float64 references for the tests: the MoE layer from its quantised operands, and helpers. */
final class MoeReference {

    private MoeReference() {
    }

    /** Expert e of w ([E, R, C] FP8 with 128×128 scales) dequantised, [R·C] row-major, in float64. */
    static double[] expert(Fp8Tensor w, int e) {
        int rows = (int) w.data().size(1);
        int cols = (int) w.data().size(2);
        byte[] codes = w.data().select(0, e).toByteArray();
        float[] scales = w.scales().select(0, e).toFloatArray();
        int colBlocks = (cols + 127) / 128;
        double[] out = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = (double) Fp8E4M3.toFloat(codes[r * cols + c])
                        * scales[r / 128 * colBlocks + c / 128];
            }
        }
        return out;
    }

    /** x after per-token (1×128) FP8 quantisation, as the kernels see it, in float64. */
    static double[] quantized(float[] x) {
        try (Tensor t = Tensor.ofFloats(x, 1, x.length); Fp8Tensor q = DeepGemm.perTokenCastToFp8(t, false)) {
            byte[] codes = q.data().toByteArray();
            float[] scales = q.scales().toFloatArray();
            double[] out = new double[x.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = (double) Fp8E4M3.toFloat(codes[i]) * scales[i / 128];
            }
            return out;
        }
    }

    /**
     * The layer on the quantised operands in float64, rounding where the pipeline stores BF16 (the GEMM outputs):
     * what {@link MoeLayer#score} must reproduce up to FP32 accumulation.
     *
     * @param quantizeActivations false for the "unquantised" reference (float64 activations, no BF16 rounding)
     */
    static float[] score(MoeModel m, float[] hidden, Routing r, boolean quantizeActivations) {
        int d = m.hidden();
        int f = m.intermediate();
        double[][] w13 = new double[m.experts()][];
        double[][] w2 = new double[m.experts()][];
        for (int e = 0; e < m.experts(); e++) {
            w13[e] = expert(m.w13(), e);
            w2[e] = expert(m.w2(), e);
        }
        float[] out = new float[r.tokens() * d];
        for (int t = 0; t < r.tokens(); t++) {
            float[] h = java.util.Arrays.copyOfRange(hidden, t * d, (t + 1) * d);
            double[] a = quantizeActivations ? quantized(h) : toDoubles(h);
            for (int s = r.offsets()[t]; s < r.offsets()[t + 1]; s++) {
                int e = r.experts()[s];
                double[] gateUp = matVec(w13[e], a, 2 * f, d, quantizeActivations);
                float[] act = new float[f];
                double[] actExact = new double[f];
                for (int j = 0; j < f; j++) {
                    double g = gateUp[j];
                    act[j] = (float) (g / (1 + Math.exp(-g))) * (float) gateUp[f + j];
                    actExact[j] = g / (1 + Math.exp(-g)) * gateUp[f + j];
                }
                double[] y = matVec(w2[e], quantizeActivations ? quantized(act) : actExact, d, f,
                        quantizeActivations);
                for (int j = 0; j < d; j++) {
                    out[t * d + j] += (float) (r.weights()[s] * y[j]);
                }
            }
        }
        return out;
    }

    private static double[] matVec(double[] w, double[] x, int rows, int cols, boolean bf16) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            for (int c = 0; c < cols; c++) {
                acc += w[r * cols + c] * x[c];
            }
            y[r] = bf16 ? Bf16.round((float) acc) : acc;
        }
        return y;
    }

    /** DeepGEMM's calc_diff in float64. */
    static double calcDiff(float[] x, float[] y) {
        double xy = 0;
        double xx = 0;
        for (int i = 0; i < x.length; i++) {
            xy += (double) x[i] * y[i];
            xx += (double) x[i] * x[i] + (double) y[i] * y[i];
        }
        return xx == 0 ? 0 : 1 - 2 * xy / xx;
    }

    static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    static float[] gaussian(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    /** Random routing: token t gets 0..3 distinct experts with positive weights; token 0 gets none. */
    static Routing randomRouting(SplittableRandom rng, int tokens, int experts) {
        int[] offsets = new int[tokens + 1];
        java.util.List<Integer> ids = new java.util.ArrayList<>();
        java.util.List<Float> ws = new java.util.ArrayList<>();
        for (int t = 0; t < tokens; t++) {
            int k = t == 0 ? 0 : 1 + rng.nextInt(Math.min(3, experts));
            java.util.List<Integer> pool = new java.util.ArrayList<>();
            for (int e = 0; e < experts; e++) {
                pool.add(e);
            }
            java.util.Collections.shuffle(pool, new java.util.Random(rng.nextLong()));
            for (int j = 0; j < k; j++) {
                ids.add(pool.get(j));
                ws.add((float) rng.nextDouble(0.1, 1));
            }
            offsets[t + 1] = ids.size();
        }
        float[] w = new float[ws.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = ws.get(i);
        }
        return new Routing(offsets, ids.stream().mapToInt(Integer::intValue).toArray(), w);
    }
}
