package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Random contiguous host tensors, filled in parallel chunks: the GPU shapes reach gigabytes, which one thread would
 * take seconds to fill. Each chunk draws from its own generator derived from the seed and the chunk index, so the
 * contents depend on the seed only, not on the number of threads.
 */
final class RandomTensors {

    private static final long CHUNK = 1 << 20;
    /** The finite, non-zero E4M3 codes (252 of the 256). */
    private static final byte[] FP8_CODES = finiteNonZeroFp8Codes();
    /** A finite, non-zero code for every random byte (four codes twice as likely: harmless for a benchmark). */
    private static final byte[] CODE_OF_BYTE = new byte[256];

    static {
        for (int b = 0; b < 256; b++) {
            CODE_OF_BYTE[b] = FP8_CODES[b % FP8_CODES.length];
        }
    }

    private RandomTensors() {
    }

    /** Writes elements [from, to) of a segment from a generator. */
    @FunctionalInterface
    interface ChunkFiller {
        void fill(MemorySegment seg, long from, long to, SplittableRandom rng);
    }

    /** Draws one FP32 value. */
    @FunctionalInterface
    interface FloatSource {
        float next(SplittableRandom rng);
    }

    /** Writes elements [0, count) of {@code seg} with {@code filler}, in parallel chunks. */
    static void fill(MemorySegment seg, long count, long seed, ChunkFiller filler) {
        long chunks = (count + CHUNK - 1) / CHUNK;
        LongStream.range(0, chunks).parallel().forEach(c -> filler.fill(seg, c * CHUNK,
                Math.min(count, (c + 1) * CHUNK), new SplittableRandom(seed * 0x9E3779B97F4A7C15L + c)));
    }

    /** A contiguous FP32 host tensor of values drawn from {@code source}. */
    static Tensor floats(long seed, FloatSource source, long... shape) {
        Tensor t = Tensor.zeros(DType.FP32, shape);
        fill(t.hostSegment(), t.numel(), seed, (seg, from, to, rng) -> {
            for (long i = from; i < to; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, source.next(rng));
            }
        });
        return t;
    }

    /** FP8 tensor of random finite, non-zero codes. */
    static Tensor fp8(long seed, long... shape) {
        return fp8Codes(seed, DType.FP8_E4M3, shape);
    }

    /** A one-byte tensor of {@code dtype} (FP8 or raw UINT8) holding random finite, non-zero FP8 codes. */
    static Tensor fp8Codes(long seed, DType dtype, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        fillFp8(t.hostSegment(), 0, t.numel(), seed);
        return t;
    }

    /** Bytes [from, from + count) of {@code seg} become random finite, non-zero FP8 codes, eight per draw. */
    static void fillFp8(MemorySegment seg, long from, long count, long seed) {
        fill(seg.asSlice(from, count), count, seed, (s, lo, hi, rng) -> {
            long i = lo;
            for (; i + 8 <= hi; i += 8) {
                long bits = rng.nextLong();
                long codes = 0;
                for (int b = 0; b < 64; b += 8) {
                    codes |= (CODE_OF_BYTE[(int) (bits >>> b) & 0xFF] & 0xFFL) << b;
                }
                s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, codes);
            }
            for (; i < hi; i++) {
                s.set(ValueLayout.JAVA_BYTE, i, fp8Code(rng));
            }
        });
    }

    /** A random finite, non-zero E4M3 code. */
    static byte fp8Code(SplittableRandom rng) {
        return FP8_CODES[rng.nextInt(FP8_CODES.length)];
    }

    /** FP32 scales in [2^-10, 2^-4), the range of amax/448 for typical activations. */
    static Tensor scales(long seed, long... shape) {
        return floats(seed, RandomTensors::scale, shape);
    }

    /** One scale in [2^-10, 2^-4). */
    static float scale(SplittableRandom rng) {
        return (float) Math.scalb(1 + rng.nextDouble(), -10 + rng.nextInt(6));
    }

    /** FP32 powers of two from 2^-20 to 2^5 (UE8M0-representable scales). */
    static Tensor powerOfTwoScales(long seed, long... shape) {
        return floats(seed, rng -> Math.scalb(1f, rng.nextInt(-20, 6)), shape);
    }

    /** FP32 tensor with non-zero values uniform in (-1, 1). */
    static Tensor uniform(long seed, long... shape) {
        return floats(seed, RandomTensors::nonZero, shape);
    }

    /**
     * FP32 rows with magnitudes spread over 2^-8 … 2^8 (one magnitude per row), so that every quantisation block
     * gets its own scale.
     */
    static Tensor spreadRows(long seed, long rows, long cols) {
        Tensor t = Tensor.zeros(DType.FP32, rows, cols);
        float[] rowScale = new float[Math.toIntExact(rows)];
        SplittableRandom magnitudes = new SplittableRandom(seed);
        for (int r = 0; r < rows; r++) {
            rowScale[r] = Math.scalb(1f, magnitudes.nextInt(-8, 9));
        }
        fill(t.hostSegment(), rows * cols, seed + 1, (seg, from, to, rng) -> {
            for (long i = from; i < to; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, nonZero(rng) * rowScale[(int) (i / cols)]);
            }
        });
        return t;
    }

    private static float nonZero(SplittableRandom rng) {
        double v;
        do {
            v = rng.nextDouble(-1, 1);
        } while ((float) v == 0);
        return (float) v;
    }

    /**
     * {@code n} values uniform in [0.7, 1.3] × {@code expected}, each rounded up to a multiple of {@code multiple}
     * and clamped to [{@code min}, {@code max}]: DeepGEMM's way of drawing per-group sizes around an expected value.
     */
    static int[] around(long seed, int n, int expected, int multiple, int min, int max) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            int raw = (int) Math.ceil(expected * rng.nextDouble(0.7, 1.3));
            v[i] = Math.max(min, Math.min(max, Reference.align(raw, multiple)));
        }
        return v;
    }

    private static byte[] finiteNonZeroFp8Codes() {
        byte[] codes = new byte[256];
        int n = 0;
        for (int c = 0; c < 256; c++) {
            float v = Fp8E4M3.toFloat((byte) c);
            if (!Float.isNaN(v) && v != 0) {
                codes[n++] = (byte) c;
            }
        }
        return java.util.Arrays.copyOf(codes, n);
    }
}
