package dev.deepgemm4j;

/**
 * Bit-exact codec for FP8 E4M3 ("e4m3fn": bias 7, no infinities, one NaN code per sign, largest finite 448).
 *
 * <p>Encoding rounds to nearest, ties to even, keeps subnormals, maps NaN to NaN and saturates everything beyond
 * ±448 (infinities included) to ±448, as CUDA's {@code satfinite} conversion does.
 */
public final class Fp8E4M3 {

    /** Largest finite magnitude. */
    public static final float MAX = 448.0f;
    /** Encoding of NaN (positive sign). */
    public static final byte NAN = 0x7F;

    private static final float[] DECODE = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            DECODE[b] = decodeSlow(b);
        }
    }

    private Fp8E4M3() {
    }

    /** Decodes one FP8 byte. */
    public static float toFloat(byte code) {
        return DECODE[code & 0xFF];
    }

    private static float decodeSlow(int b) {
        int sign = (b >>> 7) & 1;
        int exp = (b >>> 3) & 0xF;
        int man = b & 7;
        float magnitude;
        if (exp == 15 && man == 7) {
            magnitude = Float.NaN;
        } else if (exp == 0) {
            magnitude = man * 0x1p-9f;
        } else {
            magnitude = (1.0f + man / 8.0f) * Math.scalb(1.0f, exp - 7);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    /** Encodes a float (round to nearest even, saturating to ±448, NaN to NaN). */
    public static byte fromFloat(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 24) & 0x80;
        if (Float.isNaN(x)) {
            return (byte) (sign | 0x7F);
        }
        float a = Math.abs(x);
        int code;
        if (a < 0x1p-6f) {
            // Subnormal range: the code is the count of 2^-9 steps; 8 steps is the smallest normal, code 0x08.
            code = (int) Math.rint(a * 512.0f);
        } else if (a >= MAX) {
            code = 0x7E;
        } else {
            int abits = bits & 0x7FFFFFFF;
            int exp = (abits >>> 23) - 127 + 7;
            int mant = abits & 0x7FFFFF;
            int m3 = mant >>> 20;
            int rem = mant & 0xFFFFF;
            if (rem > 0x80000 || (rem == 0x80000 && (m3 & 1) == 1)) {
                m3++;
            }
            if (m3 == 8) {
                m3 = 0;
                exp++;
            }
            code = Math.min((exp << 3) | m3, 0x7E);
        }
        return (byte) (sign | code);
    }
}
