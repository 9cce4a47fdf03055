package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.assertSameStorage;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.testing.RandomTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * MQA logits on the GPU against the CPU reference: plain (clean, unclean, compressed), the paged schedule
 * metadata, and paged logits. Whole output buffers must match byte for byte (so the −inf masks are exact and
 * positions neither side writes keep their zeros); visible logits also agree by calc_diff below 1e-10.
 */
@Tag("gpu")
class GpuMqaLogitsTest {

    private static final int S = 40;
    private static final int S_KV = 700;
    private static final int MAX_CONTEXT = 640;

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    @ParameterizedTest(name = "H={0} D={1} clean={2} max_seqlen_k={3}")
    @CsvSource({"64,128,true,0", "32,64,false,0", "64,32,true,0", "32,128,false,320"})
    void plain(int h, int d, boolean clean, int maxSeqlenK) {
        SplittableRandom rng = new SplittableRandom(h * 1000L + d + maxSeqlenK);
        int[][] ranges = GpuTestSupport.ranges(rng, S, S_KV);
        if (maxSeqlenK > 0) {
            for (int i = 0; i < S; i++) {
                ranges[1][i] = Math.min(ranges[1][i], ranges[0][i] + maxSeqlenK);
            }
        }
        Tensor q = RandomTensors.fp8(rng, S, h, d);
        Fp8Tensor kv = new Fp8Tensor(RandomTensors.fp8(rng, S_KV, d), RandomTensors.scales(rng, S_KV));
        Tensor weights = RandomTensors.uniform(rng, DType.FP32, S, h);
        Tensor ks = Tensor.ofInts(ranges[0], S);
        Tensor ke = Tensor.ofInts(ranges[1], S);
        Tensor cpu = DeepGemm.fp8MqaLogits(q, kv, weights, ks, ke, clean, maxSeqlenK);
        Tensor gpu = DeepGemm.fp8MqaLogits(toGpu(q), toGpu(kv), toGpu(weights), toGpu(ks), toGpu(ke), clean,
                maxSeqlenK);
        assertSameStorage(cpu, gpu);
        Tensor host = gpu.toHost();
        int[] base = maxSeqlenK > 0 ? ranges[0] : new int[S];
        assertVisibleClose(cpu, host, ranges[0], ranges[1], base, clean);
    }

    @ParameterizedTest(name = "next_n={0} num_sms={1}")
    @CsvSource({"1,132", "2,132", "2,7", "1,1"})
    void pagedMetadata(int nextN, int numSms) {
        SplittableRandom rng = new SplittableRandom(nextN * 10L + numSms);
        Tensor lens = contextLens(rng, 9, nextN);
        Tensor cpu = DeepGemm.getPagedMqaLogitsMetadata(lens, 64, numSms);
        Tensor gpu = DeepGemm.getPagedMqaLogitsMetadata(toGpu(lens), 64, numSms);
        assertArrayEquals(cpu.toIntArray(), gpu.toHost().toIntArray());
    }

    @ParameterizedTest(name = "next_n={0} H={1} D={2} block_kv={3} clean={4}")
    @CsvSource({"1,64,128,64,true", "2,64,128,64,true", "2,32,64,32,false", "1,32,32,32,true",
        "2,64,64,64,false"})
    void paged(int nextN, int h, int d, int blockKv, boolean clean) {
        SplittableRandom rng = new SplittableRandom(nextN * 7L + h + d + blockKv + (clean ? 1 : 0));
        int batch = 6;
        GpuTestSupport.PagedCache cache = GpuTestSupport.PagedCache.random(rng, batch, MAX_CONTEXT, d, blockKv);
        Tensor lens = contextLens(rng, batch, nextN);
        Tensor q = RandomTensors.fp8(rng, batch, nextN, h, d);
        Tensor weights = RandomTensors.uniform(rng, DType.FP32, (long) batch * nextN, h);
        Tensor scheduleCpu = DeepGemm.getPagedMqaLogitsMetadata(lens, blockKv, DeepGemm.getNumSms());
        Tensor cpu = DeepGemm.fp8PagedMqaLogits(q, cache.kvCache(), weights, lens, cache.blockTable(), scheduleCpu,
                MAX_CONTEXT, clean);
        Tensor lensGpu = toGpu(lens);
        Tensor scheduleGpu = DeepGemm.getPagedMqaLogitsMetadata(lensGpu, blockKv, DeepGemm.getNumSms());
        Tensor gpu = DeepGemm.fp8PagedMqaLogits(toGpu(q), toGpu(cache.kvCache()), toGpu(weights), lensGpu,
                toGpu(cache.blockTable()), scheduleGpu, MAX_CONTEXT, clean);
        assertSameStorage(cpu, gpu);
        int rows = batch * nextN;
        assertVisibleClose(cpu, gpu.toHost(), new int[rows], lens.toIntArray(), new int[rows], clean);
    }

    /** Context lengths of {@code batch} rows of next_n tokens: 0, 1, tile boundaries, the maximum, then random. */
    private static Tensor contextLens(SplittableRandom rng, int batch, int nextN) {
        int[] special = {0, 1, 255, 256, MAX_CONTEXT, 257, 64, 513};
        int[] lens = new int[batch * nextN];
        for (int i = 0; i < lens.length; i++) {
            lens[i] = i < special.length ? special[i] : rng.nextInt(MAX_CONTEXT + 1);
        }
        return Tensor.ofInts(lens, batch, nextN);
    }

    /**
     * Visible positions (column c of row i is index base[i] + c, visible in [from[i], to[i])) agree by calc_diff
     * below 1e-10; with {@code clean} every other position is −inf.
     */
    private static void assertVisibleClose(Tensor cpu, Tensor gpu, int[] from, int[] to, int[] base,
            boolean clean) {
        List<Double> want = new ArrayList<>();
        List<Double> got = new ArrayList<>();
        int masked = 0;
        for (int i = 0; i < gpu.size(0); i++) {
            for (int c = 0; c < gpu.size(1); c++) {
                int j = base[i] + c;
                float v = gpu.getFloat(i, c);
                if (j >= from[i] && j < to[i]) {
                    want.add((double) cpu.getFloat(i, c));
                    got.add((double) v);
                } else if (clean) {
                    assertEquals(Float.NEGATIVE_INFINITY, v, "row " + i + " col " + c + " is invisible");
                    masked++;
                }
            }
        }
        assertTrue(!want.isEmpty() && (!clean || masked > 0), "nothing to compare");
        double diff = RandomTensors.calcDiff(want.stream().mapToDouble(x -> x).toArray(),
                got.stream().mapToDouble(x -> x).toArray());
        assertTrue(diff < 1e-10, "calc_diff(GPU, CPU) = " + diff + " over " + want.size() + " positions");
    }
}
