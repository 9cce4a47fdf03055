package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Fp8E4M3Test {

    /** The value of an E4M3 code from the format definition, in double: bias 7, subnormals m·2^-9, S.1111.111 NaN. */
    private static double expected(int code) {
        int sign = code >> 7 & 1;
        int exponent = code >> 3 & 0xF;
        int mantissa = code & 7;
        if (exponent == 15 && mantissa == 7) {
            return Double.NaN;
        }
        double magnitude = exponent == 0 ? mantissa / 512.0 : (8 + mantissa) / 8.0 * Math.pow(2, exponent - 7);
        return sign == 1 ? -magnitude : magnitude;
    }

    @Test
    void everyCodeDecodesToItsDefinedValueAndReencodesToItself() {
        for (int code = 0; code < 256; code++) {
            float value = Fp8E4M3.toFloat((byte) code);
            double want = expected(code);
            if (Double.isNaN(want)) {
                assertTrue(Float.isNaN(value), "code " + code);
                assertTrue(Float.isNaN(Fp8E4M3.toFloat(Fp8E4M3.fromFloat(value))), "NaN re-encodes to NaN");
                continue;
            }
            assertEquals(want, value, 0.0, "code " + code);
            // Bitwise: -0 (0x80) must come back as 0x80, not 0x00.
            assertEquals((byte) code, Fp8E4M3.fromFloat(value), "re-encoding code " + code);
        }
        assertEquals(448.0f, Fp8E4M3.toFloat((byte) 0x7E));
        assertEquals(-448.0f, Fp8E4M3.toFloat((byte) 0xFE));
        assertEquals(0x1p-9f, Fp8E4M3.toFloat((byte) 0x01));
        assertEquals(0x1p-6f, Fp8E4M3.toFloat((byte) 0x08));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(Fp8E4M3.toFloat((byte) 0x80)));
    }

    @Test
    void midpointsRoundToEvenAndNeighboursRoundToNearest() {
        for (int sign = 0; sign <= 0x80; sign += 0x80) {
            for (int code = 0; code < 0x7E; code++) {
                float lo = (float) expected(sign | code);
                float hi = (float) expected(sign | (code + 1));
                float mid = (lo + hi) / 2; // exact: E4M3 values have 4 significant bits
                assertEquals((lo + (double) hi) / 2, mid, 0.0);
                // The code's lowest bit is the mantissa's lowest bit, also across binade boundaries.
                int even = (code & 1) == 0 ? code : code + 1;
                assertEquals((byte) (sign | even), Fp8E4M3.fromFloat(mid), "midpoint after code " + code);
                float towardLo = sign == 0 ? Math.nextDown(mid) : Math.nextUp(mid);
                float towardHi = sign == 0 ? Math.nextUp(mid) : Math.nextDown(mid);
                assertEquals((byte) (sign | code), Fp8E4M3.fromFloat(towardLo), "just below midpoint " + code);
                assertEquals((byte) (sign | (code + 1)), Fp8E4M3.fromFloat(towardHi), "just above midpoint " + code);
            }
        }
    }

    @Test
    void subnormalsAndTinyValues() {
        assertEquals((byte) 0x03, Fp8E4M3.fromFloat(3 * 0x1p-9f));
        assertEquals((byte) 0x00, Fp8E4M3.fromFloat(0x1p-10f), "half the smallest subnormal ties to 0");
        assertEquals((byte) 0x01, Fp8E4M3.fromFloat(Math.nextUp(0x1p-10f)));
        assertEquals((byte) 0x00, Fp8E4M3.fromFloat(1e-30f));
        assertEquals((byte) 0x00, Fp8E4M3.fromFloat(Float.MIN_VALUE));
        assertEquals((byte) 0x80, Fp8E4M3.fromFloat(-1e-30f), "sign of an underflowed value is kept");
        assertEquals((byte) 0x08, Fp8E4M3.fromFloat(Math.nextDown(0x1p-6f)), "largest subnormal region rounds up");
        assertEquals((byte) 0x87, Fp8E4M3.fromFloat(-7 * 0x1p-9f));
    }

    @Test
    void beyondRangeSaturatesAndNanStaysNan() {
        float[] big = {Math.nextUp(448f), 460f, 464f, 465f, 480f, 1e6f, Float.MAX_VALUE, Float.POSITIVE_INFINITY};
        for (float v : big) {
            assertEquals((byte) 0x7E, Fp8E4M3.fromFloat(v), "+" + v);
            assertEquals((byte) 0xFE, Fp8E4M3.fromFloat(-v), "-" + v);
        }
        assertEquals((byte) 0x7E, Fp8E4M3.fromFloat(448f));
        assertEquals((byte) 0x7D, Fp8E4M3.fromFloat(416f));
        assertTrue(Float.isNaN(Fp8E4M3.toFloat(Fp8E4M3.fromFloat(Float.NaN))));
        assertTrue(Float.isNaN(Fp8E4M3.toFloat(Fp8E4M3.fromFloat(Float.intBitsToFloat(0xFFC00001)))));
        assertEquals(Fp8E4M3.NAN, Fp8E4M3.fromFloat(Float.NaN));
    }

    @Test
    void randomFloatsEncodeToTheNearestCode() {
        // Independent reference: brute-force nearest finite code by distance in double, ties to the even code.
        SplittableRandom rng = new SplittableRandom(7);
        for (int i = 0; i < 20_000; i++) {
            float x = (float) Math.scalb(rng.nextDouble(-1, 1), rng.nextInt(-12, 10));
            int best = -1;
            double bestDist = Double.POSITIVE_INFINITY;
            for (int code = 0; code < 256; code++) {
                double v = expected(code);
                if (Double.isNaN(v) || (code & 0x80) != (Float.floatToRawIntBits(x) >>> 24 & 0x80)) {
                    continue;
                }
                double dist = Math.abs(v - x);
                if (dist < bestDist || (dist == bestDist && (code & 1) == 0)) {
                    best = code;
                    bestDist = dist;
                }
            }
            assertEquals((byte) best, Fp8E4M3.fromFloat(x), "x = " + x);
        }
    }
}
