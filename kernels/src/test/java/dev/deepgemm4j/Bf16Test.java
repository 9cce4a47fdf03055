package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Bf16Test {

    /** The value of a bfloat16 code from the format definition: 8 exponent bits (bias 127), 7 mantissa bits. */
    private static double expected(int code) {
        int sign = code >> 15 & 1;
        int exponent = code >> 7 & 0xFF;
        int mantissa = code & 0x7F;
        double magnitude;
        if (exponent == 0xFF) {
            magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exponent == 0) {
            magnitude = mantissa * Math.pow(2, -133);
        } else {
            magnitude = (128 + mantissa) / 128.0 * Math.pow(2, exponent - 127);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    /** Magnitude of a positive finite code, with code 0x7F80 read as 2^128 (where rounding past the max lands). */
    private static double magnitude(int code) {
        return code == 0x7F80 ? Math.pow(2, 128) : expected(code);
    }

    @Test
    void everyCodeDecodesToItsDefinedValueAndReencodesToItself() {
        for (int code = 0; code < 0x10000; code++) {
            float value = Bf16.toFloat((short) code);
            double want = expected(code);
            if (Double.isNaN(want)) {
                assertTrue(Float.isNaN(value), "code " + code);
                assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(value))), "NaN re-encodes to NaN, code " + code);
                continue;
            }
            assertEquals(want, value, 0.0, "code " + code);
            assertEquals((short) code, Bf16.fromFloat(value), "re-encoding code " + code);
        }
    }

    @Test
    void midpointsRoundToEvenAndNeighboursRoundToNearest() {
        for (int sign = 0; sign <= 0x8000; sign += 0x8000) {
            for (int code = 0; code < 0x7F80; code++) {
                // Midpoints need 9 significant bits, so they are exact floats; the one above the max is 2^128 - 2^119.
                double mid = (magnitude(code) + magnitude(code + 1)) / 2;
                float m = (float) (sign == 0 ? mid : -mid);
                assertEquals(sign == 0 ? mid : -mid, m, 0.0);
                int even = (code & 1) == 0 ? code : code + 1;
                assertEquals((short) (sign | even), Bf16.fromFloat(m), "midpoint after code " + code);
                float towardLo = sign == 0 ? Math.nextDown(m) : Math.nextUp(m);
                float towardHi = sign == 0 ? Math.nextUp(m) : Math.nextDown(m);
                assertEquals((short) (sign | code), Bf16.fromFloat(towardLo), "below midpoint " + code);
                if (code + 1 < 0x7F80 || !Float.isInfinite(towardHi)) {
                    assertEquals((short) (sign | (code + 1)), Bf16.fromFloat(towardHi), "above midpoint " + code);
                }
            }
        }
    }

    @Test
    void overflowRoundsToInfinity() {
        assertEquals((short) 0x7F80, Bf16.fromFloat(Float.MAX_VALUE));
        assertEquals((short) 0xFF80, Bf16.fromFloat(-Float.MAX_VALUE));
        assertEquals((short) 0x7F80, Bf16.fromFloat(Float.POSITIVE_INFINITY));
        assertEquals((short) 0xFF80, Bf16.fromFloat(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x7F7F, Bf16.fromFloat(Float.intBitsToFloat(0x7F7F7FFF)), "just below the tie");
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.intBitsToFloat(0x7F7F8000)), "tie to even = inf");
    }

    @Test
    void nanStaysNanWhateverItsPayload() {
        int[] nans = {0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7F80FFFF, 0x7FFFFFFF};
        for (int bits : nans) {
            assertTrue(Float.isNaN(Bf16.round(Float.intBitsToFloat(bits))), Integer.toHexString(bits));
        }
    }

    @Test
    void randomFloatsMatchAnIndependentReference() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int i = 0; i < 200_000; i++) {
            int bits = rng.nextInt();
            float x = Float.intBitsToFloat(bits);
            if (Float.isNaN(x) || Float.isInfinite(x)) {
                continue;
            }
            // Candidates: the truncation and the next code away from zero; pick the nearer, ties to even.
            int lo = (bits >>> 16) & 0x7FFF;
            int hi = lo + 1;
            double ax = Math.abs((double) x);
            double dLo = ax - magnitude(lo);
            double dHi = magnitude(hi) - ax;
            int want = dLo < dHi || (dLo == dHi && (lo & 1) == 0) ? lo : hi;
            int sign = (bits >>> 16) & 0x8000;
            assertEquals((short) (sign | want), Bf16.fromFloat(x), "x = " + x + " bits " + Integer.toHexString(bits));
        }
    }
}
