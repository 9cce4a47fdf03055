package dev.deepgemm4j;

/**
 * UE8M0 scale helpers: a UE8M0 byte is the 8 exponent bits of a float32 power of two, value 2^(e-127). Four of them
 * pack into one 32-bit word, the first K block in the lowest byte ({@link DType#UE8M0_PACKED}).
 */
public final class Ue8m0 {

    private Ue8m0() {
    }

    /**
     * Rounds a positive scale up to the next power of two (exact powers of two are kept), with the exponent clamped
     * to [1, 254] so the result is a finite, normal float.
     */
    public static float ceilToPowerOfTwo(float scale) {
        int bits = Float.floatToRawIntBits(scale);
        int exp = (bits >>> 23) & 0xFF;
        if ((bits & 0x7FFFFF) != 0) {
            exp++;
        }
        exp = Math.clamp(exp, 1, 254);
        return Float.intBitsToFloat(exp << 23);
    }

    /**
     * The UE8M0 byte of a float that is an exact positive power of two.
     *
     * @throws IllegalArgumentException if {@code scale} has a sign or mantissa bit set
     */
    public static int encode(float scale) {
        int bits = Float.floatToRawIntBits(scale);
        if ((bits & 0x807FFFFF) != 0) {
            throw new IllegalArgumentException("scale " + scale + " is not a positive power of two; "
                    + "round it with Ue8m0.ceilToPowerOfTwo first");
        }
        return (bits >>> 23) & 0xFF;
    }

    /** The float value 2^(e-127) of a UE8M0 byte; byte 0 gives 2^-127 (a subnormal float). */
    public static float decode(int ue8m0) {
        int e = ue8m0 & 0xFF;
        return e == 0 ? 0x1p-127f : Float.intBitsToFloat(e << 23);
    }

    /** Byte {@code j} (0..3) of a packed word, decoded. */
    public static float unpack(int packed, int j) {
        return decode(packed >>> (8 * j));
    }
}
