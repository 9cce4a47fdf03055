package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * End to end: quantise unquantised operands with the library's own quantizers, multiply them with the FP8 GEMM and
 * compare with the float64 product of the unquantised inputs, DeepGEMM's acceptance test (calc_diff &lt; 1e-3).
 */
class QuantizeGemmTest {

    private final SplittableRandom rng = new SplittableRandom(29);

    /** C + x·wᵀ in float64 (C may be null). */
    private static double[] reference(Tensor x, Tensor w, Tensor c) {
        int m = (int) x.size(0);
        int n = (int) w.size(0);
        int k = (int) x.size(1);
        float[] xv = x.toFloatArray();
        float[] wv = w.toFloatArray();
        float[] cv = c == null ? new float[m * n] : c.toFloatArray();
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = cv[i * n + j];
                for (int kk = 0; kk < k; kk++) {
                    s += (double) xv[i * k + kk] * wv[j * k + kk];
                }
                out[i * n + j] = s;
            }
        }
        return out;
    }

    @Test
    void perTokenTimesPerBlockMatchesTheUnquantisedProduct() {
        // Tails everywhere: M and N not multiples of the tile, K not a multiple of 128.
        int m = 96;
        int n = 200;
        int k = 320;
        for (boolean ue8m0 : new boolean[] {false, true}) {
            try (Tensor x = RandomTensors.uniform(rng, DType.BF16, m, k);
                    Tensor w = RandomTensors.uniform(rng, DType.BF16, n, k);
                    Fp8Tensor a = DeepGemm.perTokenCastToFp8(x, ue8m0);
                    Fp8Tensor b = DeepGemm.perBlockCastToFp8(w, ue8m0);
                    Tensor d = Tensor.zeros(DType.BF16, m, n)) {
                d.fill(Float.NaN);
                DeepGemm.fp8GemmNt(a, b, d);
                double diff = RandomTensors.calcDiff(RandomTensors.toDoubles(d.toFloatArray()), reference(x, w, null));
                assertTrue(diff < 1e-3, "ue8m0=" + ue8m0 + " calc_diff " + diff);
            }
        }
    }

    @Test
    void perTokenTimesPerTokenAccumulatesIntoC() {
        int m = 64;
        int n = 136;
        int k = 384;
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, m, k);
                Tensor w = RandomTensors.uniform(rng, DType.FP32, n, k);
                Tensor c = RandomTensors.uniform(rng, DType.FP32, m, n);
                Fp8Tensor a = DeepGemm.perTokenCastToFp8(x, false);
                Fp8Tensor b = DeepGemm.perTokenCastToFp8(w, false);
                Tensor d = Tensor.zeros(DType.FP32, m, n)) {
            d.fill(Float.NaN);
            DeepGemm.fp8GemmNt(a, b, d, c, Recipe.PER_TOKEN_PER_TOKEN);
            double diff = RandomTensors.calcDiff(RandomTensors.toDoubles(d.toFloatArray()), reference(x, w, c));
            assertTrue(diff < 1e-3, "calc_diff " + diff);
        }
    }
}
