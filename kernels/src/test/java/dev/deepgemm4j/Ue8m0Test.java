package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Ue8m0Test {

    @Test
    void ceilToPowerOfTwoKeepsPowersAndRoundsOthersUp() {
        assertEquals(1.0f, Ue8m0.ceilToPowerOfTwo(1.0f));
        assertEquals(2.0f, Ue8m0.ceilToPowerOfTwo(Math.nextUp(1.0f)));
        assertEquals(1.0f, Ue8m0.ceilToPowerOfTwo(0.75f));
        assertEquals(4.0f, Ue8m0.ceilToPowerOfTwo(3.0f));
        assertEquals(0x1p-7f, Ue8m0.ceilToPowerOfTwo(0.006f));
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            float s = (float) Math.scalb(1 + rng.nextDouble(), rng.nextInt(-120, 120));
            float p = Ue8m0.ceilToPowerOfTwo(s);
            assertEquals(0, Float.floatToRawIntBits(p) & 0x807FFFFF, "power of two for " + s);
            assertTrue(p >= s && p < 2 * s, s + " -> " + p);
        }
    }

    @Test
    void ceilToPowerOfTwoClampsToNormalFiniteExponents() {
        assertEquals(0x1p-126f, Ue8m0.ceilToPowerOfTwo(0x1p-126f));
        assertEquals(0x1p-126f, Ue8m0.ceilToPowerOfTwo(0x1p-130f), "subnormals clamp to the smallest normal");
        assertEquals(0x1p-126f, Ue8m0.ceilToPowerOfTwo(0.0f));
        assertEquals(0x1p127f, Ue8m0.ceilToPowerOfTwo(0x1p127f));
        assertEquals(0x1p127f, Ue8m0.ceilToPowerOfTwo(Float.MAX_VALUE), "exponent clamps at 254");
        assertEquals(0x1p127f, Ue8m0.ceilToPowerOfTwo(Float.POSITIVE_INFINITY));
    }

    @Test
    void encodeDecodeRoundTripEveryNormalExponent() {
        for (int e = 1; e <= 254; e++) {
            float value = Math.scalb(1.0f, e - 127);
            assertEquals(e, Ue8m0.encode(value));
            assertEquals(value, Ue8m0.decode(e));
        }
        assertEquals(127, Ue8m0.encode(1.0f));
        assertEquals(0x1p-127f, Ue8m0.decode(0), "byte 0 is 2^-127, a float subnormal");
        assertEquals(1.0f, Ue8m0.decode(0x17F), "only the low byte counts");
    }

    @Test
    void encodeRejectsValuesThatAreNotPositivePowersOfTwo() {
        for (float bad : new float[] {3.0f, 1.5f, -1.0f, -0.5f, 0x1p-130f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ue8m0.encode(bad));
            assertTrue(e.getMessage().contains("power of two"), e.getMessage());
        }
    }

    @Test
    void unpackReadsBytesLowestFirst() {
        int[] exps = {127, 1, 120, 200};
        int word = exps[0] | exps[1] << 8 | exps[2] << 16 | exps[3] << 24;
        for (int j = 0; j < 4; j++) {
            assertEquals(Math.scalb(1.0f, exps[j] - 127), Ue8m0.unpack(word, j), "byte " + j);
        }
        assertTrue(word < 0, "the top byte sets the sign bit and must still unpack");
    }
}
