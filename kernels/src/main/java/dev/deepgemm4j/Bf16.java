package dev.deepgemm4j;

/** Bit-exact codec for bfloat16 (round to nearest even; NaN stays NaN; overflow rounds to infinity). */
public final class Bf16 {

    private Bf16() {
    }

    /** Decodes bfloat16 bits. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Encodes a float to bfloat16 bits, rounding to nearest even. */
    public static short fromFloat(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) {
            // Keep sign and payload top bits, force the quiet bit so truncation can never produce infinity.
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Rounds a float to the nearest bfloat16 value and returns it as a float. */
    public static float round(float x) {
        return toFloat(fromFloat(x));
    }
}
