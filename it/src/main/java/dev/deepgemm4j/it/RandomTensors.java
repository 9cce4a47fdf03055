package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Random contiguous host tensors, filled in parallel chunks: the GPU shapes reach gigabytes, which one thread would
 * take seconds to fill. Each chunk draws from its own generator derived from the seed and the chunk index, so the
 * contents depend on the seed only, not on the number of threads.
 */
final class RandomTensors {

    /** Elements per parallel chunk: a multiple of {@link #QUANT_GROUP}, so that chunks hold whole runs. */
    private static final long CHUNK = 1 << 20;
    /** Elements that share one quantisation scale along the innermost dimension, as in a 1×128 per-token cast. */
    static final int QUANT_GROUP = 128;

    /** What the FP8 operands hold. */
    enum Fp8Values {
        /**
         * Standard normals cast to E4M3 in runs of 128 elements scaled so that each run's largest magnitude becomes
         * 448, as DeepGEMM's tests and benchmark quantise {@code torch.randn} data (and as real activations look).
         */
        NORMAL,
        /**
         * Every finite, non-zero code equally likely. The tensor cores draw more power on these bits: on an H100 at
         * its 700 W cap a long compute-bound GEMM ran 5–9% slower than on quantised normals.
         */
        UNIFORM_CODES
    }

    /** The benchmark's FP8 operand values: chosen once from the command line, before any case is built. */
    private static volatile Fp8Values fp8Values = Fp8Values.NORMAL;
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

    /** Sets what {@link #fp8} and {@link #fp8Codes} draw from now on. */
    static void useFp8Values(Fp8Values values) {
        fp8Values = Objects.requireNonNull(values, "values");
    }

    /** FP8 tensor of random values of the current {@link Fp8Values} kind. */
    static Tensor fp8(long seed, long... shape) {
        return fp8Codes(seed, DType.FP8_E4M3, shape);
    }

    /** A one-byte tensor of {@code dtype} (FP8 or raw UINT8) holding random FP8 codes of the current kind. */
    static Tensor fp8Codes(long seed, DType dtype, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        fillFp8(t.hostSegment(), 0, t.numel(), seed);
        return t;
    }

    /** Bytes [from, from + count) of {@code seg} become random FP8 codes of the current {@link Fp8Values} kind. */
    static void fillFp8(MemorySegment seg, long from, long count, long seed) {
        if (fp8Values == Fp8Values.NORMAL) {
            fillQuantisedNormals(seg.asSlice(from, count), count, seed);
        } else {
            fillUniformCodes(seg.asSlice(from, count), count, seed);
        }
    }

    /**
     * Runs of {@link #QUANT_GROUP} standard normals, each run scaled by 448 over its largest magnitude and rounded to
     * E4M3, zeros nudged to the smallest subnormal (the last run may be shorter). Chunks hold whole runs, so the
     * result does not depend on the thread count.
     */
    private static void fillQuantisedNormals(MemorySegment seg, long count, long seed) {
        fill(seg, count, seed, (s, lo, hi, rng) -> {
            float[] run = new float[QUANT_GROUP];
            for (long i = lo; i < hi; i += QUANT_GROUP) {
                int n = (int) Math.min(QUANT_GROUP, hi - i);
                float amax = 0;
                for (int j = 0; j < n; j++) {
                    run[j] = (float) rng.nextGaussian();
                    amax = Math.max(amax, Math.abs(run[j]));
                }
                float scale = amax > 0 ? Fp8E4M3.MAX / amax : 1;
                for (int j = 0; j < n; j++) {
                    byte code = Fp8E4M3.fromFloat(run[j] * scale);
                    // The few values that round to zero become the smallest subnormal: no operand holds a zero.
                    s.set(ValueLayout.JAVA_BYTE, i + j, (code & 0x7F) == 0 ? (byte) (code | 1) : code);
                }
            }
        });
    }

    /** Random finite, non-zero codes, eight per draw. */
    private static void fillUniformCodes(MemorySegment seg, long count, long seed) {
        fill(seg, count, seed, (s, lo, hi, rng) -> {
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
