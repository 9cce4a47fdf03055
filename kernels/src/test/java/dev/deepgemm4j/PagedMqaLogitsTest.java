package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Paged (decode) MQA logits on the CPU backend against a float64 reference through the block table. */
class PagedMqaLogitsTest {

    static final int MAX_CONTEXT = 640;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(
            ByteOrder.LITTLE_ENDIAN);

    /**
     * A paged problem: the KV of batch row b at logical position p lives in a shuffled physical block; everything
     * no visible position needs (spare blocks, slots past the batch's longest context, block padding) is NaN.
     */
    record Problem(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable, int nextN,
            int d, float[][][] kv, float[][] kvScale) {

        static Problem random(SplittableRandom rng, int[] lens, int nextN, int h, int d, int blockKv, int padBytes) {
            int batch = lens.length / nextN;
            int maxBlocks = Math.ceilDiv(MAX_CONTEXT, blockKv);
            int[] batchLen = new int[batch];
            int used = 0;
            for (int r = 0; r < lens.length; r++) {
                batchLen[r / nextN] = Math.max(batchLen[r / nextN], lens[r]);
            }
            for (int len : batchLen) {
                used += Math.ceilDiv(len, blockKv);
            }
            int numBlocks = used + 3;
            int[] physical = shuffled(rng, numBlocks);
            int[] table = new int[batch * maxBlocks];
            java.util.Arrays.fill(table, -1);
            long pitch = (long) blockKv * (d + 4) + padBytes;
            Tensor flat = Tensor.zeros(DType.UINT8, numBlocks * pitch);
            MemorySegment seg = flat.hostSegment();
            seg.fill(Fp8E4M3.NAN);
            for (int blk = 0; blk < numBlocks; blk++) {
                for (int slot = 0; slot < blockKv; slot++) {
                    seg.set(F32_LE, blk * pitch + (long) blockKv * d + 4L * slot, Float.NaN);
                }
            }
            float[][][] kv = new float[batch][][];
            float[][] kvScale = new float[batch][];
            int next = 0;
            for (int b = 0; b < batch; b++) {
                kv[b] = new float[batchLen[b]][d];
                kvScale[b] = new float[batchLen[b]];
                for (int p = 0; p < batchLen[b]; p++) {
                    if (p % blockKv == 0) {
                        table[b * maxBlocks + p / blockKv] = physical[next++];
                    }
                    long blockStart = table[b * maxBlocks + p / blockKv] * pitch;
                    int slot = p % blockKv;
                    for (int k = 0; k < d; k++) {
                        byte code = RandomTensors.randomFp8Code(rng);
                        seg.set(ValueLayout.JAVA_BYTE, blockStart + (long) slot * d + k, code);
                        kv[b][p][k] = Fp8E4M3.toFloat(code);
                    }
                    kvScale[b][p] = (float) Math.scalb(1.0 + rng.nextDouble(), -10 + rng.nextInt(6));
                    seg.set(F32_LE, blockStart + (long) blockKv * d + 4L * slot, kvScale[b][p]);
                }
            }
            Tensor cache = flat.asStrided(new long[] {numBlocks, blockKv, 1, d + 4},
                    new long[] {pitch, d + 4, d + 4, 1}, 0);
            return new Problem(RandomTensors.fp8(rng, batch, nextN, h, d), cache,
                    RandomTensors.uniform(rng, DType.FP32, (long) batch * nextN, h), Tensor.ofInts(lens, batch, nextN),
                    Tensor.ofInts(table, batch, maxBlocks), nextN, d, kv, kvScale);
        }

        Tensor schedule() {
            return DeepGemm.getPagedMqaLogitsMetadata(contextLens, (int) kvCache.size(1), DeepGemm.getNumSms());
        }

        Tensor run(Tensor scheduleMeta, boolean clean) {
            return DeepGemm.fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, scheduleMeta,
                    MAX_CONTEXT, clean);
        }

        Tensor run(Tensor scheduleMeta, boolean clean, DType logitsDtype) {
            return DeepGemm.fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, scheduleMeta,
                    MAX_CONTEXT, clean, logitsDtype);
        }

        double expected(int row, int p) {
            return MqaLogitsTest.referenceLogit(q.view(weights.size(0), weights.size(1) * d).select(0, row)
                    .toFloatArray(), weights.select(0, row).toFloatArray(), kv[row / nextN][p],
                    kvScale[row / nextN][p], d);
        }

        void assertMatches(Tensor logits, boolean clean) {
            assertArrayEquals(new long[] {weights.size(0), MAX_CONTEXT}, logits.shape());
            int rows = (int) weights.size(0);
            MqaLogitsTest.assertLogits(logits, new int[rows], contextLens.toIntArray(), new int[rows], clean,
                    this::expected);
        }
    }

    private static int[] shuffled(SplittableRandom rng, int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    /** Five batch rows of next_n tokens: empty, length 1, tile-boundary and full lengths, plus a random one. */
    static int[] contexts(SplittableRandom rng, int nextN) {
        int[][] pairs = {{0, 0}, {1, 1}, {599, 600}, {257, 256}, {rng.nextInt(1, 600), rng.nextInt(1, 600)}};
        int[] single = {0, 1, 256, 600, rng.nextInt(1, 600)};
        if (nextN == 1) {
            return single;
        }
        pairs[0][1] = 300; // one token of the pair sees nothing, the other 300 positions
        int[] lens = new int[10];
        for (int b = 0; b < 5; b++) {
            lens[2 * b] = pairs[b][0];
            lens[2 * b + 1] = pairs[b][1];
        }
        return lens;
    }

    @ParameterizedTest(name = "next_n={0} H={1} D={2} block_kv={3} block padding={4}")
    @CsvSource({"1,32,64,64,0", "2,64,128,64,0", "2,32,32,32,64", "1,64,64,32,16"})
    void cleanLogitsMatchReferenceAndMaskExactly(int nextN, int h, int d, int blockKv, int pad) {
        SplittableRandom rng = new SplittableRandom(nextN * 100 + h + d + blockKv + pad);
        Problem p = Problem.random(rng, contexts(rng, nextN), nextN, h, d, blockKv, pad);
        p.assertMatches(p.run(p.schedule(), true), true);
    }

    @Test
    void uncleanLogitsMatchAtVisiblePositions() {
        SplittableRandom rng = new SplittableRandom(21);
        Problem p = Problem.random(rng, contexts(rng, 2), 2, 32, 64, 64, 0);
        p.assertMatches(p.run(p.schedule(), false), false);
    }

    @Test
    void outputIsAViewOfARowPaddedBuffer() {
        SplittableRandom rng = new SplittableRandom(22);
        Problem p = Problem.random(rng, contexts(rng, 1), 1, 32, 64, 64, 0);
        Tensor logits = p.run(p.schedule(), true);
        assertArrayEquals(new long[] {768, 1}, logits.strides()); // align(640, 256)
    }

    @ParameterizedTest(name = "next_n={0} clean={1}")
    @CsvSource({"1,true", "1,false", "2,true", "2,false"})
    void bf16LogitsAreTheFp32LogitsRoundedToNearestEven(int nextN, boolean clean) {
        SplittableRandom rng = new SplittableRandom(30 + 2 * nextN + (clean ? 1 : 0));
        Problem p = Problem.random(rng, contexts(rng, nextN), nextN, 64, 64, 32, 16);
        Tensor schedule = p.schedule();
        Tensor bf16 = p.run(schedule, clean, DType.BF16);
        assertEquals(DType.BF16, bf16.dtype());
        MqaLogitsTest.assertBf16IsRounded(p.run(schedule, clean), bf16, clean);
    }

    @Test
    void bf16RowsStartOnTheSameByteBoundaryAsFp32Rows() {
        SplittableRandom rng = new SplittableRandom(26);
        Problem p = Problem.random(rng, contexts(rng, 1), 1, 32, 64, 64, 0);
        // align(640, 512) BF16 elements: 2048-byte rows (FP32: align(640, 256) elements, 3072 bytes).
        assertArrayEquals(new long[] {1024, 1}, p.run(p.schedule(), true, DType.BF16).strides());
    }

    @Test
    void everyNumSmsGivesBitwiseIdenticalLogits() {
        SplittableRandom rng = new SplittableRandom(23);
        Problem p = Problem.random(rng, contexts(rng, 2), 2, 32, 64, 64, 0);
        int original = DeepGemm.getNumSms();
        float[] first = p.run(p.schedule(), true).toFloatArray();
        try {
            for (int n : new TreeSet<>(java.util.List.of(1, Math.max(1, original / 2), original))) {
                DeepGemm.setNumSms(n);
                assertArrayEquals(first, p.run(p.schedule(), true).toFloatArray(), "num_sms = " + n);
            }
        } finally {
            DeepGemm.setNumSms(original);
        }
    }

    @Test
    void theScheduleDecidesWhatIsComputed() {
        SplittableRandom rng = new SplittableRandom(24);
        int[] lens = contexts(rng, 1);
        Problem p = Problem.random(rng, lens, 1, 32, 64, 64, 0);
        // A schedule for empty contexts has no work units: every SM starts at the sentinel and computes nothing,
        // so the visible logits keep the zeros they were allocated with.
        Tensor idle = DeepGemm.getPagedMqaLogitsMetadata(Tensor.ofInts(new int[lens.length], lens.length, 1), 64,
                DeepGemm.getNumSms());
        Tensor logits = p.run(idle, false);
        int visible = 0;
        for (int r = 0; r < lens.length; r++) {
            for (int pos = 0; pos < lens[r]; pos++, visible++) {
                assertEquals(0f, logits.getFloat(r, pos));
            }
        }
        assertTrue(visible > 0);
        assertTrue(Math.abs(p.run(p.schedule(), false).getFloat(3, 599)) > 0f, "the proper schedule computes it");
    }

    @Test
    void emptyBatchGivesEmptyLogits() {
        Problem p = Problem.random(new SplittableRandom(25), new int[0], 1, 32, 64, 64, 0);
        assertArrayEquals(new long[] {0, MAX_CONTEXT}, p.run(p.schedule(), true).shape());
    }
}
