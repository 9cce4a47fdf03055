package dev.deepgemm4j;

import static dev.deepgemm4j.FakeDeviceTensors.onDevice;
import static dev.deepgemm4j.MqaLogitsValidationTest.rejects;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One test per argument rule of fp8_paged_mqa_logits and get_paged_mqa_logits_metadata: each bad input is rejected,
 * naming the argument.
 */
class PagedMqaLogitsValidationTest {

    private static final int B = 3;
    private static final int NEXT_N = 2;
    private static final int H = 32;
    private static final int D = 64;
    private static final int BLOCK_KV = 64;
    private static final int MAX_BLOCKS = 4;
    private static final int NUM_BLOCKS = 9;
    private static final int MAX_CONTEXT = 200;

    private final SplittableRandom rng = new SplittableRandom(31);
    private final Tensor q = RandomTensors.fp8(rng, B, NEXT_N, H, D);
    private final Tensor cache = randomCache(NUM_BLOCKS, BLOCK_KV, D);
    private final Tensor weights = RandomTensors.uniform(rng, DType.FP32, B * NEXT_N, H);
    private final Tensor lens = Tensor.ofInts(new int[] {10, 11, 0, 200, 130, 64}, B, NEXT_N);
    /** Batch 0 needs block 0 only, batch 1 blocks 0-3, batch 2 blocks 0-2; unused entries are -1. */
    private final Tensor table = Tensor.ofInts(new int[] {4, -1, -1, -1, 0, 8, 2, 6, 1, 3, 5, -1}, B, MAX_BLOCKS);

    private Tensor randomCache(int numBlocks, int blockKv, int d) {
        Tensor t = Tensor.zeros(DType.UINT8, numBlocks, blockKv, 1, d + 4);
        // Random FP8 codes everywhere; the scale bytes are then overwritten with positive scales.
        t.forEachOffset(off -> t.hostSegment().set(ValueLayout.JAVA_BYTE, off,
                RandomTensors.randomFp8Code(rng)));
        for (int blk = 0; blk < numBlocks; blk++) {
            for (int slot = 0; slot < blockKv; slot++) {
                t.hostSegment().set(ValueLayout.JAVA_FLOAT_UNALIGNED,
                        (long) blk * blockKv * (d + 4) + (long) blockKv * d + 4L * slot, 0.01f);
            }
        }
        return t;
    }

    private Tensor schedule() {
        return DeepGemm.getPagedMqaLogitsMetadata(lens, BLOCK_KV, DeepGemm.getNumSms());
    }

    private Tensor call(Tensor q, Tensor cache, Tensor weights, Tensor lens, Tensor table, Tensor meta, int maxCtx) {
        return DeepGemm.fp8PagedMqaLogits(q, cache, weights, lens, table, meta, maxCtx, true);
    }

    private Tensor call(Tensor q, Tensor cache, Tensor weights, Tensor lens, Tensor table) {
        return call(q, cache, weights, lens, table, schedule(), MAX_CONTEXT);
    }

    private static Tensor ints(int[] values, long... shape) {
        return Tensor.ofInts(values, shape);
    }

    @Test
    void validCallPassesAndIgnoresUnusedTableEntries() {
        Tensor logits = call(q, cache, weights, lens, table);
        assertEquals(B * NEXT_N, logits.size(0));
        assertEquals(Float.NEGATIVE_INFINITY, logits.getFloat(0, 10));
    }

    // ------------------------------------------------------------------ q

    @Test
    void qMustBeFp8() {
        rejects("q", "dtype", () -> call(RandomTensors.uniform(rng, DType.FP32, B, NEXT_N, H, D), cache, weights,
                lens, table));
    }

    @Test
    void qMustBe4d() {
        rejects("q", "4-D", () -> call(q.view(B * NEXT_N, H, D), cache, weights, lens, table));
    }

    @Test
    void qMustBeContiguous() {
        Tensor strided = RandomTensors.fp8(rng, NEXT_N, B, H, D).transpose(0, 1);
        rejects("q", "contiguous", () -> call(strided, cache, weights, lens, table));
    }

    @Test
    void nextNMustBe1Or2() {
        rejects("q", "next_n", () -> call(RandomTensors.fp8(rng, 2, 3, H, D), cache,
                RandomTensors.uniform(rng, DType.FP32, 6, H), ints(new int[6], 2, 3), table.narrow(0, 0, 2)));
    }

    @Test
    void headsMustBe32Or64() {
        rejects("q", "H (heads)", () -> call(RandomTensors.fp8(rng, B, NEXT_N, 48, D), cache, weights, lens, table));
    }

    @Test
    void headDimMustBe32Or64Or128() {
        rejects("q", "D (head dim)", () -> call(RandomTensors.fp8(rng, B, NEXT_N, H, 16), cache, weights, lens,
                table));
    }

    // ------------------------------------------------------------------ kv_cache

    @Test
    void kvCacheMustBeUint8() {
        rejects("kv_cache", "dtype", () -> call(q, Tensor.zeros(DType.FP8_E4M3, NUM_BLOCKS, BLOCK_KV, 1, D + 4),
                weights, lens, table));
    }

    @Test
    void kvCacheMustBe4d() {
        rejects("kv_cache", "4-D", () -> call(q, cache.view(NUM_BLOCKS, BLOCK_KV, D + 4), weights, lens, table));
    }

    @Test
    void blockKvMustBe32Or64() {
        rejects("kv_cache", "block_kv must be 32 or 64", () -> call(q, randomCache(3, 128, D), weights, lens,
                table));
    }

    @Test
    void kvCacheRowsMustHoldDPlusFourBytes() {
        rejects("kv_cache", "D + 4", () -> call(q, randomCache(NUM_BLOCKS, BLOCK_KV, 128), weights, lens, table));
    }

    @Test
    void kvCacheRowStrideMustBeDPlusFour() {
        Tensor wide = Tensor.zeros(DType.UINT8, NUM_BLOCKS, BLOCK_KV, 1, D + 8).narrow(3, 0, D + 4);
        rejects("kv_cache", "stride(1) == D + 4", () -> call(q, wide, weights, lens, table));
    }

    @Test
    void kvCacheBlockStrideMustBeAMultipleOfFour() {
        long pitch = BLOCK_KV * (D + 4) + 2;
        Tensor odd = Tensor.zeros(DType.UINT8, NUM_BLOCKS * pitch).asStrided(
                new long[] {NUM_BLOCKS, BLOCK_KV, 1, D + 4}, new long[] {pitch, D + 4, D + 4, 1}, 0);
        rejects("kv_cache", "multiple of 4 bytes", () -> call(q, odd, weights, lens, table));
    }

    // ------------------------------------------------------------------ weights

    @Test
    void weightsMustBeFp32() {
        rejects("weights", "dtype", () -> call(q, cache, RandomTensors.uniform(rng, DType.BF16, B * NEXT_N, H), lens,
                table));
    }

    @Test
    void weightsMustHaveOneRowPerToken() {
        rejects("weights", "[B * next_n, H]", () -> call(q, cache, RandomTensors.uniform(rng, DType.FP32, B, H),
                lens, table));
    }

    @Test
    void weightsMustBeContiguous() {
        Tensor padded = RandomTensors.uniform(rng, DType.FP32, B * NEXT_N, H + 4).narrow(1, 0, H);
        rejects("weights", "contiguous", () -> call(q, cache, padded, lens, table));
    }

    // ------------------------------------------------------------------ context_lens

    @Test
    void contextLensMustBe2d() {
        rejects("context_lens", "2-D", () -> call(q, cache, weights, lens.view(B * NEXT_N), table));
    }

    @Test
    void contextLensMustBeInt32() {
        rejects("context_lens", "dtype", () -> call(q, cache, weights, RandomTensors.uniform(rng, DType.FP32, B,
                NEXT_N), table));
    }

    @Test
    void contextLensMustMatchQ() {
        rejects("context_lens", "[B, next_n]", () -> call(q, cache, weights, ints(new int[B], B, 1), table));
    }

    @Test
    void contextLensMustNotBeNegative() {
        rejects("context_lens", ">= 0", () -> call(q, cache, weights, ints(new int[] {10, -1, 0, 0, 0, 0}, B, NEXT_N),
                table));
    }

    @Test
    void contextLensMustNotPassMaxContextLen() {
        rejects("context_lens", "max_context_len = 150", () -> call(q, cache, weights, lens, table, schedule(), 150));
    }

    @Test
    void contextLensMustFitTheBlockTable() {
        Tensor narrowTable = Tensor.ofInts(new int[] {4, -1, 0, 8, 1, 3}, B, 2);
        rejects("context_lens", "max_blocks * block_kv = 128", () -> call(q, cache, weights, lens, narrowTable));
    }

    // ------------------------------------------------------------------ block_table

    @Test
    void blockTableMustBeInt32() {
        rejects("block_table", "dtype", () -> call(q, cache, weights, lens, RandomTensors.uniform(rng, DType.FP32, B,
                MAX_BLOCKS)));
    }

    @Test
    void blockTableMustHaveOneRowPerBatch() {
        rejects("block_table", "[B, max_blocks]", () -> call(q, cache, weights, lens, table.narrow(0, 0, 2)));
    }

    @Test
    void blockTableMustBeRowMajor() {
        Tensor colMajor = Tensor.ofInts(new int[B * MAX_BLOCKS], MAX_BLOCKS, B).t();
        rejects("block_table", "stride(-1) == 1", () -> call(q, cache, weights, lens, colMajor));
    }

    @Test
    void visibleBlocksMustExist() {
        Tensor bad = Tensor.ofInts(new int[] {4, -1, -1, -1, 0, 8, 2, 6, 1, 3, NUM_BLOCKS, -1}, B, MAX_BLOCKS);
        rejects("block_table", "[0, num_blocks = 9)", () -> call(q, cache, weights, lens, bad));
    }

    // ------------------------------------------------------------------ schedule_meta, max_context_len, devices

    @Test
    void scheduleMustMatchTheCurrentNumSms() {
        Tensor stale = DeepGemm.getPagedMqaLogitsMetadata(lens, BLOCK_KV, DeepGemm.getNumSms() + 1);
        rejects("schedule_meta", "set_num_sms", () -> call(q, cache, weights, lens, table, stale, MAX_CONTEXT));
    }

    @Test
    void scheduleMustBeInt32() {
        Tensor floats = Tensor.zeros(DType.FP32, DeepGemm.getNumSms() + 1, 2);
        rejects("schedule_meta", "dtype", () -> call(q, cache, weights, lens, table, floats, MAX_CONTEXT));
    }

    @Test
    void scheduleMustBeForThisBatch() {
        Tensor other = DeepGemm.getPagedMqaLogitsMetadata(ints(new int[] {5, 5}, 1, NEXT_N), BLOCK_KV,
                DeepGemm.getNumSms());
        rejects("schedule_meta", "sentinel", () -> call(q, cache, weights, lens, table, other, MAX_CONTEXT));
    }

    @Test
    void scheduleEntriesMustBeUnitsOfThisBatch() {
        Tensor meta = schedule();
        meta.setInt(-1, 0, 1);
        rejects("schedule_meta", "row 0", () -> call(q, cache, weights, lens, table, meta, MAX_CONTEXT));
    }

    @Test
    void maxContextLenMustNotBeNegative() {
        rejects("max_context_len", ">= 0", () -> call(q, cache, weights, lens, table, schedule(), -1));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FP8_E4M3", "INT32", "UINT8", "UE8M0_PACKED"})
    void logitsDtypeMustBeFp32OrBf16(DType bad) {
        rejects("logits_dtype", "must be FP32 or BF16, got " + bad, () -> DeepGemm.fp8PagedMqaLogits(q, cache,
                weights, lens, table, schedule(), MAX_CONTEXT, true, bad));
    }

    @Test
    void logitsDtypeMustNotBeNull() {
        rejects("logits_dtype", "got null", () -> DeepGemm.fp8PagedMqaLogits(q, cache, weights, lens, table,
                schedule(), MAX_CONTEXT, false, null));
    }

    @Test
    void inputsMustShareOneDevice() {
        rejects("block_table", "same device", () -> call(q, cache, weights, lens, onDevice(DType.INT32, B,
                MAX_BLOCKS)));
    }

    // ------------------------------------------------------------------ metadata

    @Test
    void metadataNeedsContextLens() {
        rejects("context_lens", "null", () -> DeepGemm.getPagedMqaLogitsMetadata(null, BLOCK_KV, 4));
    }

    @Test
    void metadataContextLensMustBeInt32() {
        rejects("context_lens", "dtype", () -> DeepGemm.getPagedMqaLogitsMetadata(RandomTensors.uniform(rng,
                DType.FP32, B, NEXT_N), BLOCK_KV, 4));
    }

    @Test
    void metadataContextLensMustBe2d() {
        rejects("context_lens", "2-D", () -> DeepGemm.getPagedMqaLogitsMetadata(ints(new int[] {3, 4}, 2), BLOCK_KV,
                4));
    }

    @Test
    void metadataNeedsAtLeastOneToken() {
        rejects("context_lens", ">= 1", () -> DeepGemm.getPagedMqaLogitsMetadata(Tensor.zeros(DType.INT32, 3, 0),
                BLOCK_KV, 4));
    }

    @Test
    void metadataContextLensMustBeContiguous() {
        Tensor strided = ints(new int[12], B, 4).narrow(1, 0, NEXT_N);
        rejects("context_lens", "contiguous", () -> DeepGemm.getPagedMqaLogitsMetadata(strided, BLOCK_KV, 4));
    }

    @Test
    void metadataContextLensMustNotBeNegative() {
        rejects("context_lens", ">= 0", () -> DeepGemm.getPagedMqaLogitsMetadata(ints(new int[] {3, -4}, 2, 1),
                BLOCK_KV, 4));
    }

    @Test
    void metadataBlockKvMustBe32Or64() {
        rejects("block_kv", "32 or 64", () -> DeepGemm.getPagedMqaLogitsMetadata(lens, 16, 4));
    }

    @Test
    void metadataNumSmsMustBePositive() {
        rejects("num_sms", "[1, 65536]", () -> DeepGemm.getPagedMqaLogitsMetadata(lens, BLOCK_KV, 0));
    }

    @Test
    void metadataNumSmsHasACeiling() {
        rejects("num_sms", "[1, 65536]", () -> DeepGemm.getPagedMqaLogitsMetadata(lens, BLOCK_KV, 65537));
        assertEquals(65537, DeepGemm.getPagedMqaLogitsMetadata(lens, BLOCK_KV, 65536).size(0));
    }
}
