package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RandomTensorsTest {

    @AfterEach
    void restoreDefault() {
        RandomTensors.useFp8Values(RandomTensors.Fp8Values.NORMAL);
    }

    @Test
    void normalsAreQuantisedPerRunOf128LikeAPerTokenCast() {
        // 3 rows of 2.5 parallel chunks each, so runs sit on both sides of chunk boundaries.
        long cols = (5L << 20) / 2;
        try (Tensor t = RandomTensors.fp8(11, 3, cols)) {
            byte[] c = t.toByteArray();
            int nearZero = 0;
            for (int run = 0; run < c.length / RandomTensors.QUANT_GROUP; run++) {
                float amax = 0;
                for (int j = 0; j < RandomTensors.QUANT_GROUP; j++) {
                    float v = Fp8E4M3.toFloat(c[run * RandomTensors.QUANT_GROUP + j]);
                    assertFalse(Float.isNaN(v));
                    amax = Math.max(amax, Math.abs(v));
                    nearZero += Math.abs(v) < 448f / 64 ? 1 : 0;
                }
                assertEquals(Fp8E4M3.MAX, amax, "run " + run + " is scaled so that its largest magnitude is 448");
            }
            // Normals: |x| < amax/64 (about 0.04 sigma) holds for about 3% of the values; uniform codes put 61% there.
            double share = nearZero / (double) c.length;
            assertTrue(share > 0.01 && share < 0.06, "share of small magnitudes " + share);
        }
    }

    @Test
    void uniformCodesAreFiniteNonZeroAndSpreadOverEveryExponent() {
        RandomTensors.useFp8Values(RandomTensors.Fp8Values.UNIFORM_CODES);
        try (Tensor t = RandomTensors.fp8(12, 1000, 100)) {
            int[] perExponent = new int[16];
            for (byte b : t.toByteArray()) {
                float v = Fp8E4M3.toFloat(b);
                assertTrue(!Float.isNaN(v) && v != 0, "code " + b);
                perExponent[(b >> 3) & 0xF]++;
            }
            for (int e = 0; e < 16; e++) {
                assertTrue(perExponent[e] > 100000 / 16 / 2, "exponent " + e + ": " + perExponent[e]);
            }
        }
    }
}
