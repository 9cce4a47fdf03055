package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Plain (prefill) MQA logits on the CPU backend against a float64 reference over the decoded FP8 inputs. */
class MqaLogitsTest {

    private static final int S = 40;
    private static final int S_KV = 700;

    /** Inputs of one plain call, with the decoded values the reference needs. */
    private record Problem(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, int h, int d) {

        static Problem random(SplittableRandom rng, int s, int sKv, int h, int d) {
            int[][] ranges = raggedRanges(rng, s, sKv);
            return new Problem(RandomTensors.fp8(rng, s, h, d),
                    new Fp8Tensor(RandomTensors.fp8(rng, sKv, d), RandomTensors.scales(rng, sKv)),
                    RandomTensors.uniform(rng, DType.FP32, s, h), Tensor.ofInts(ranges[0], s),
                    Tensor.ofInts(ranges[1], s), h, d);
        }

        Tensor run(boolean clean, int maxSeqlenK) {
            return DeepGemm.fp8MqaLogits(q, kv, weights, ks, ke, clean, maxSeqlenK);
        }

        Tensor run(boolean clean, int maxSeqlenK, DType logitsDtype) {
            return DeepGemm.fp8MqaLogits(q, kv, weights, ks, ke, clean, maxSeqlenK, logitsDtype);
        }

        int longestRange() {
            int[] lo = ks.toIntArray();
            int[] hi = ke.toIntArray();
            int longest = 0;
            for (int i = 0; i < lo.length; i++) {
                longest = Math.max(longest, hi[i] - lo[i]);
            }
            return longest;
        }

        /** The float64 logit of query row i and KV row j. */
        double expected(int i, int j) {
            return referenceLogit(q.select(0, i).toFloatArray(), weights.select(0, i).toFloatArray(),
                    kv.data().select(0, j).toFloatArray(), kv.scales().getFloat(j), d);
        }
    }

    /**
     * Σ_h w[h]·ReLU(scale·Σ_d q[h,d]·kv[d]) in float64; {@code q} holds H·D decoded values, {@code w} H weights.
     */
    static double referenceLogit(float[] q, float[] w, float[] kv, double scale, int d) {
        double sum = 0;
        for (int h = 0; h < w.length; h++) {
            double dot = 0;
            for (int k = 0; k < d; k++) {
                dot += (double) q[h * d + k] * kv[k];
            }
            sum += w[h] * Math.max(0.0, scale * dot);
        }
        return sum;
    }

    /**
     * Ranges [ks, ke) covering the awkward cases first (empty at both ends and inside, length 1, crossing the 128
     * and 256 tile boundaries, the whole KV), then random ones.
     */
    static int[][] raggedRanges(SplittableRandom rng, int s, int sKv) {
        int[][] special = {{0, 0}, {sKv, sKv}, {350, 350}, {0, 1}, {sKv - 1, sKv}, {128, 129}, {100, 300},
            {255, 257}, {127, 129}, {250, 520}, {0, sKv}, {256, 512}};
        int[] ks = new int[s];
        int[] ke = new int[s];
        for (int i = 0; i < s; i++) {
            if (i < special.length) {
                ks[i] = Math.clamp(special[i][0], 0, sKv);
                ke[i] = Math.clamp(special[i][1], ks[i], sKv);
            } else {
                ks[i] = rng.nextInt(sKv + 1);
                ke[i] = ks[i] + rng.nextInt(sKv - ks[i] + 1);
            }
        }
        return new int[][] {ks, ke};
    }

    /**
     * Checks every visible position against the reference (calcDiff over all of them), and, when {@code clean},
     * that exactly the invisible positions hold −inf. Column c of row i is KV index base[i] + c.
     */
    static void assertLogits(Tensor logits, int[] visibleFrom, int[] visibleTo, int[] base, boolean clean,
            Expected expected) {
        List<Double> want = new ArrayList<>();
        List<Double> got = new ArrayList<>();
        for (int i = 0; i < logits.size(0); i++) {
            for (int c = 0; c < logits.size(1); c++) {
                int j = base[i] + c;
                float v = logits.getFloat(i, c);
                boolean visible = j >= visibleFrom[i] && j < visibleTo[i];
                if (visible) {
                    assertTrue(Float.isFinite(v), "row " + i + " col " + c + " is " + v);
                    want.add(expected.at(i, j));
                    got.add((double) v);
                } else if (clean) {
                    assertEquals(Float.NEGATIVE_INFINITY, v, "row " + i + " col " + c + " is invisible");
                }
            }
        }
        assertFalse(want.isEmpty(), "no visible position to compare");
        double diff = RandomTensors.calcDiff(want.stream().mapToDouble(x -> x).toArray(),
                got.stream().mapToDouble(x -> x).toArray());
        assertTrue(diff < 1e-9, "calcDiff " + diff + " over " + want.size() + " positions");
    }

    /** The reference value of row i at KV index j. */
    interface Expected {
        double at(int i, int j);
    }

    private static int[] zeros(int n) {
        return new int[n];
    }

    @Test
    void cleanLogitsMatchReferenceAndMaskExactly() {
        Problem p = Problem.random(new SplittableRandom(1), S, S_KV, 32, 64);
        Tensor logits = p.run(true, 0);
        assertArrayEquals(new long[] {S, S_KV}, logits.shape());
        assertLogits(logits, p.ks.toIntArray(), p.ke.toIntArray(), zeros(S), true, p::expected);
    }

    @ParameterizedTest(name = "H={0} D={1}")
    @CsvSource({"32,32", "32,128", "64,32", "64,64", "64,128"})
    void everyHeadCountAndHeadDim(int h, int d) {
        Problem p = Problem.random(new SplittableRandom(h * 1000L + d), 13, 300, h, d);
        assertLogits(p.run(true, 0), p.ks.toIntArray(), p.ke.toIntArray(), zeros(13), true, p::expected);
    }

    @Test
    void uncleanLogitsMatchAtVisiblePositions() {
        Problem p = Problem.random(new SplittableRandom(2), S, S_KV, 64, 64);
        assertLogits(p.run(false, 0), p.ks.toIntArray(), p.ke.toIntArray(), zeros(S), false, p::expected);
    }

    @ParameterizedTest(name = "max_seqlen_k = longest range + {0}")
    @CsvSource({"0", "37"})
    void compressedColumnsStartAtKs(int slack) {
        Problem p = Problem.random(new SplittableRandom(3), S, S_KV, 32, 64);
        int[] ks = p.ks.toIntArray();
        int[] ke = p.ke.toIntArray();
        int longest = 0;
        for (int i = 0; i < S; i++) {
            longest = Math.max(longest, ke[i] - ks[i]);
        }
        Tensor logits = p.run(false, longest + slack);
        assertArrayEquals(new long[] {S, longest + slack}, logits.shape());
        assertLogits(logits, ks, ke, ks, false, p::expected);
    }

    @ParameterizedTest(name = "H={0}")
    @CsvSource({"32", "64"})
    void outputIsAViewOfARowPaddedBuffer(int h) {
        int s = 7;
        Problem p = Problem.random(new SplittableRandom(4), s, 300, h, 32);
        Tensor logits = p.run(true, 0);
        long rowStride = 768; // align(300 + 256, 256)
        assertArrayEquals(new long[] {rowStride, 1}, logits.strides());
        long paddedRows = Checks.align(s, 128 / h);
        assertTrue(logits.storage().byteSize() >= paddedRows * rowStride * 4,
                "buffer holds whole query blocks: " + logits.storage().byteSize());
        Tensor compressed = p.run(false, 513);
        assertEquals(1024, compressed.stride(0)); // align(513 + 256, 256)
    }

    @ParameterizedTest(name = "clean={0} max_seqlen_k={1} H={2} D={3}")
    @CsvSource({"true,0,32,64", "false,0,64,128", "false,-1,32,64", "true,0,64,32"})
    void bf16LogitsAreTheFp32LogitsRoundedToNearestEven(boolean clean, int maxSeqlenK, int h, int d) {
        Problem p = Problem.random(new SplittableRandom(40L + h + d + maxSeqlenK), S, S_KV, h, d);
        int m = maxSeqlenK < 0 ? p.longestRange() + 11 : maxSeqlenK; // -1: compressed, with spare columns
        Tensor fp32 = p.run(clean, m);
        Tensor bf16 = p.run(clean, m, DType.BF16);
        assertEquals(DType.BF16, bf16.dtype());
        assertEquals(DType.FP32, p.run(clean, m, DType.FP32).dtype());
        assertBf16IsRounded(fp32, bf16, clean);
        assertArrayEquals(fp32.toFloatArray(), p.run(clean, m, DType.FP32).toFloatArray(), "FP32 is the default");
    }

    /**
     * Every element of {@code bf16} (same shape) is {@link Bf16#fromFloat} of the FP32 element, bit for bit, the −inf
     * positions are the same ones (and exist when {@code clean}), and some logits are not BF16 values, so that the
     * rounding is exercised.
     */
    static void assertBf16IsRounded(Tensor fp32, Tensor bf16, boolean clean) {
        assertArrayEquals(fp32.shape(), bf16.shape(), "shape");
        int rounded = 0;
        int masked = 0;
        for (int i = 0; i < fp32.size(0); i++) {
            for (int c = 0; c < fp32.size(1); c++) {
                float v = fp32.getFloat(i, c);
                short bits = bf16.hostSegment().get(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * bf16.elementOffset(i, c));
                assertEquals(Bf16.fromFloat(v), bits, "row " + i + " col " + c + ": FP32 " + v);
                assertEquals(v == Float.NEGATIVE_INFINITY, bf16.getFloat(i, c) == Float.NEGATIVE_INFINITY);
                rounded += Bf16.round(v) != v ? 1 : 0;
                masked += v == Float.NEGATIVE_INFINITY ? 1 : 0;
            }
        }
        assertTrue(rounded > 0, "no logit needed rounding");
        assertEquals(clean, masked > 0, "masked positions: " + masked);
    }

    @Test
    void bf16RowsStartOnTheSameByteBoundaryAsFp32Rows() {
        Problem p = Problem.random(new SplittableRandom(8), 7, 300, 32, 32);
        assertEquals(768, p.run(true, 0).stride(0)); // FP32: align(300 + 256, 256) elements, 3072 bytes
        Tensor bf16 = p.run(true, 0, DType.BF16);
        assertArrayEquals(new long[] {1024, 1}, bf16.strides()); // align(300 + 256, 512) elements, 2048 bytes
        assertEquals(0, bf16.stride(0) * 2 % 1024);
        assertTrue(bf16.storage().byteSize() >= Checks.align(7, 4) * 1024 * 2, "whole query blocks");
        assertEquals(1024, p.run(false, 513, DType.BF16).stride(0)); // align(513 + 256, 512)
        assertEquals(512, p.run(false, 200, DType.BF16).stride(0)); // align(200 + 256, 512)
    }

    @Test
    void closingTheLogitsFreesThePaddedBuffer() {
        Problem p = Problem.random(new SplittableRandom(9), 5, 100, 32, 32);
        Tensor logits = p.run(true, 0);
        assertFalse(logits.storage().isClosed());
        logits.close();
        assertTrue(logits.storage().isClosed());
    }

    @Test
    void repeatedRunsAreBitwiseIdentical() {
        Problem p = Problem.random(new SplittableRandom(5), S, S_KV, 32, 64);
        assertArrayEquals(p.run(true, 0).toFloatArray(), p.run(true, 0).toFloatArray());
    }

    @Test
    void emptyQueryGivesEmptyLogits() {
        Problem p = Problem.random(new SplittableRandom(6), 0, 50, 32, 64);
        assertArrayEquals(new long[] {0, 50}, p.run(true, 0).shape());
        assertArrayEquals(new long[] {0, 8}, p.run(false, 8).shape());
    }

    @Test
    void emptyKvGivesEmptyRows() {
        Problem p = Problem.random(new SplittableRandom(7), 5, 0, 32, 64);
        assertArrayEquals(new long[] {5, 0}, p.run(true, 0).shape());
    }
}
