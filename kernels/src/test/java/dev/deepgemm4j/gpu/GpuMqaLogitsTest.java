package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.copyInto;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static dev.deepgemm4j.gpu.GpuTestSupport.viewBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuGraph;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.testing.RandomTensors;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * MQA logits on the GPU against the CPU reference: plain (clean, unclean, compressed), the paged schedule
 * metadata, and paged logits. Every specified position (the visible logits, and with {@code clean_logits} the −inf
 * masks; positions outside the visible range of an unclean output are unspecified and not compared) must match byte
 * for byte, and the visible logits also agree by calc_diff below 1e-10. Where a Hopper kernel ran (another
 * summation order) only the visible logits may differ, by calc_diff below 1e-5.
 * BF16 logits are held to the same rules against the CPU's BF16 logits (where the FP32 sums differ slightly, their
 * roundings may differ by one BF16 ulp, well within the calc_diff bound) and must be the GPU's own FP32 logits rounded
 * to nearest even, bit for bit.
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
        PlainProblem p = PlainProblem.random(new SplittableRandom(h * 1000L + d + maxSeqlenK), S_KV, h, d, maxSeqlenK);
        Tensor cpu = p.cpu(clean, maxSeqlenK, DType.FP32);
        long sm90 = MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum();
        Tensor gpu = p.gpu(clean, maxSeqlenK, DType.FP32);
        boolean hopperRan = MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum() > sm90;
        assertEquals(GpuTestSupport.hopper(), hopperRan, "the Hopper kernel runs exactly on sm_90");
        assertOutput(cpu, gpu, p.ranges()[0], p.ranges()[1], p.base(maxSeqlenK), clean, hopperRan);
    }

    /** BF16 plain logits: the BF16 kernels (Hopper on sm_90) against the CPU's BF16 and the GPU's FP32 logits. */
    @ParameterizedTest(name = "H={0} D={1} clean={2} max_seqlen_k={3} S_kv={4}")
    @CsvSource({"64,128,true,0,700", "32,64,false,0,700", "64,32,true,0,200", "32,128,false,320,700"})
    void plainBf16(int h, int d, boolean clean, int maxSeqlenK, int sKv) {
        PlainProblem p = PlainProblem.random(new SplittableRandom(7000L + h * 1000L + d + maxSeqlenK + sKv), sKv, h, d,
                maxSeqlenK);
        Tensor cpu = p.cpu(clean, maxSeqlenK, DType.BF16);
        long sm90 = MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum();
        Tensor gpu = p.gpu(clean, maxSeqlenK, DType.BF16);
        boolean hopperRan = MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum() > sm90;
        // S_kv = 200 is less than one Hopper KV tile: the SIMT kernel everywhere.
        assertEquals(GpuTestSupport.hopper() && sKv >= 256, hopperRan, "the Hopper kernel runs exactly on sm_90");
        assertEquals(DType.BF16, gpu.dtype());
        assertOutput(cpu, gpu, p.ranges()[0], p.ranges()[1], p.base(maxSeqlenK), clean, hopperRan);
        assertRoundedFromFp32(p.gpu(clean, maxSeqlenK, DType.FP32).toHost(), gpu.toHost(),
                p.specified(clean, maxSeqlenK));
    }

    /** A plain problem of S queries: its inputs on the host and their GPU copies. */
    private record PlainProblem(int[][] ranges, Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke,
            Tensor qGpu, Fp8Tensor kvGpu, Tensor wGpu, Tensor ksGpu, Tensor keGpu) {

        /** Random ragged ranges (cut to {@code maxSeqlenK} keys when positive), q, kv and weights. */
        static PlainProblem random(SplittableRandom rng, int sKv, int h, int d, int maxSeqlenK) {
            int[][] ranges = GpuTestSupport.ranges(rng, S, sKv);
            if (maxSeqlenK > 0) {
                for (int i = 0; i < S; i++) {
                    ranges[1][i] = Math.min(ranges[1][i], ranges[0][i] + maxSeqlenK);
                }
            }
            Tensor q = RandomTensors.fp8(rng, S, h, d);
            Fp8Tensor kv = new Fp8Tensor(RandomTensors.fp8(rng, sKv, d), RandomTensors.scales(rng, sKv));
            Tensor weights = RandomTensors.uniform(rng, DType.FP32, S, h);
            Tensor ks = Tensor.ofInts(ranges[0], S);
            Tensor ke = Tensor.ofInts(ranges[1], S);
            return new PlainProblem(ranges, q, kv, weights, ks, ke, toGpu(q), toGpu(kv), toGpu(weights), toGpu(ks),
                    toGpu(ke));
        }

        Tensor cpu(boolean clean, int maxSeqlenK, DType logitsDtype) {
            return DeepGemm.fp8MqaLogits(q, kv, weights, ks, ke, clean, maxSeqlenK, logitsDtype);
        }

        Tensor gpu(boolean clean, int maxSeqlenK, DType logitsDtype) {
            return DeepGemm.fp8MqaLogits(qGpu, kvGpu, wGpu, ksGpu, keGpu, clean, maxSeqlenK, logitsDtype);
        }

        /** Key index of each row's column 0: its range start when compressed, else 0. */
        int[] base(int maxSeqlenK) {
            return maxSeqlenK > 0 ? ranges[0] : new int[S];
        }

        Specified specified(boolean clean, int maxSeqlenK) {
            return new Specified(ranges[0], ranges[1], base(maxSeqlenK), clean);
        }
    }

    /**
     * The positions of a logits view the API defines: column c of row i is key index base[i] + c, visible in
     * [from[i], to[i]); with {@code clean} every other position of the view too (−inf), without it only the visible.
     */
    private record Specified(int[] from, int[] to, int[] base, boolean clean) {

        boolean at(int row, int col) {
            int j = base[row] + col;
            return clean || (j >= from[row] && j < to[row]);
        }

        /** The bytes of {@code t}'s specified elements in row-major order. */
        byte[] bytes(Tensor t) {
            Tensor host = t.toHost();
            int size = host.dtype().byteSize();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 0; i < host.size(0); i++) {
                for (int c = 0; c < host.size(1); c++) {
                    if (at(i, c)) {
                        long at = (long) size * host.elementOffset(i, c);
                        for (int b = 0; b < size; b++) {
                            out.write(host.hostSegment().get(ValueLayout.JAVA_BYTE, at + b));
                        }
                    }
                }
            }
            return out.toByteArray();
        }
    }

    /**
     * The Hopper plain kernel (the SIMT one elsewhere) on ragged ranges — empty rows, length-1 ranges, ranges across
     * the 256-row KV tile edges and the 128-row q block edges — with some negative KV scales, every (H, D), and a
     * narrowed SM count so that each CTA walks several query blocks through its pipeline rings: exact masks, the
     * visible logits close to the CPU's, and 20 reruns bitwise identical.
     */
    @ParameterizedTest(name = "H={0} D={1} clean={2} num_sms={3}")
    @CsvSource({"64,128,true,0", "64,128,false,7", "32,128,true,0", "64,64,true,7", "32,64,false,0",
        "64,32,true,0", "32,32,true,5"})
    void plainHopperRaggedAndReproducible(int h, int d, boolean clean, int numSms) {
        SplittableRandom rng = new SplittableRandom(31L * h + d + numSms + (clean ? 1 : 0));
        int s = 90;
        int sKv = 1100;
        int[][] ranges = GpuTestSupport.ranges(rng, s, sKv);
        Tensor q = RandomTensors.fp8(rng, s, h, d);
        float[] sf = RandomTensors.scales(rng, sKv).toFloatArray();
        for (int j = 3; j < sKv; j += 7) {
            sf[j] = -sf[j]; // ReLU(s·x) with s < 0: the kernel flips those rows' accumulators
        }
        Fp8Tensor kv = new Fp8Tensor(RandomTensors.fp8(rng, sKv, d), Tensor.ofFloats(sf, sKv));
        Tensor weights = RandomTensors.uniform(rng, DType.FP32, s, h);
        Tensor ks = Tensor.ofInts(ranges[0], s);
        Tensor ke = Tensor.ofInts(ranges[1], s);
        Tensor cpu = DeepGemm.fp8MqaLogits(q, kv, weights, ks, ke, clean, 0);
        Tensor qGpu = toGpu(q);
        Fp8Tensor kvGpu = toGpu(kv);
        Tensor wGpu = toGpu(weights);
        Tensor ksGpu = toGpu(ks);
        Tensor keGpu = toGpu(ke);
        withNumSms(numSms, () -> {
            Supplier<Tensor> run = () -> DeepGemm.fp8MqaLogits(qGpu, kvGpu, wGpu, ksGpu, keGpu, clean, 0);
            long sm90 = MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum();
            Tensor first = run.get();
            assertEquals(GpuTestSupport.hopper() ? sm90 + 1 : sm90, MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum(),
                    "Hopper plain launches");
            assertOutput(cpu, first, ranges[0], ranges[1], new int[s], clean, GpuTestSupport.hopper());
            Specified specified = new Specified(ranges[0], ranges[1], new int[s], clean);
            byte[] want = specified.bytes(first);
            for (int rerun = 0; rerun < 20; rerun++) {
                Tensor again = run.get();
                assertArrayEquals(want, specified.bytes(again), "rerun " + rerun + " differs");
                again.close();
            }
            first.close();
        });
    }

    /**
     * A plain or paged output against the CPU's: every specified position byte for byte where the SIMT kernel ran
     * (the CPU's summation order); where the Hopper kernel ran, the −inf masks of a cleaned output exactly (−inf has
     * one encoding per dtype) and the visible logits finite and within calc_diff 1e-5. Storage outside the view, and without {@code clean} the
     * positions outside the visible range, hold whatever the allocator left there (no zero fill) and are not compared.
     */
    private static void assertOutput(Tensor cpu, Tensor gpu, int[] from, int[] to, int[] base, boolean clean,
            boolean hopperRan) {
        assertArrayEquals(cpu.shape(), gpu.shape(), "shape");
        assertArrayEquals(cpu.strides(), gpu.strides(), "strides");
        Specified specified = new Specified(from, to, base, clean);
        if (!hopperRan) {
            assertArrayEquals(specified.bytes(cpu), specified.bytes(gpu), "logits");
            assertVisibleClose(cpu, gpu.toHost(), from, to, base, clean, 1e-10);
            return;
        }
        assertVisibleClose(cpu, gpu.toHost(), from, to, base, clean, 1e-5);
    }

    /** Batches of 1100 and 1500 sequences span several of the kernel's 512-atom chunks. */
    @ParameterizedTest(name = "next_n={0} num_sms={1} batch={2}")
    @CsvSource({"1,132,9", "2,132,9", "2,7,9", "1,1,9", "1,132,1500", "2,78,1100", "1,3,1500"})
    void pagedMetadata(int nextN, int numSms, int batch) {
        SplittableRandom rng = new SplittableRandom(nextN * 10L + numSms + batch);
        Tensor lens = contextLens(rng, batch, nextN);
        Tensor cpu = DeepGemm.getPagedMqaLogitsMetadata(lens, 64, numSms);
        Tensor gpu = DeepGemm.getPagedMqaLogitsMetadata(toGpu(lens), 64, numSms);
        assertArrayEquals(cpu.toIntArray(), gpu.toHost().toIntArray());
    }

    /**
     * Paged logits: the Hopper kernel on sm_90 (the SIMT one elsewhere), with the SM count narrowed in some cases so
     * that the schedule (recomputed for it) gives each CTA many units; 5 reruns bitwise identical.
     */
    @ParameterizedTest(name = "next_n={0} H={1} D={2} block_kv={3} clean={4} num_sms={5}")
    @CsvSource({"1,64,128,64,true,0", "2,64,128,64,true,0", "2,32,64,32,false,0", "1,32,32,32,true,5",
        "2,64,64,64,false,0", "2,64,128,64,true,3", "1,64,128,32,false,7", "2,32,128,64,true,0"})
    void paged(int nextN, int h, int d, int blockKv, boolean clean, int numSms) {
        PagedProblem p = PagedProblem.random(
                new SplittableRandom(nextN * 7L + h + d + blockKv + (clean ? 1 : 0) + numSms), nextN, h, d, blockKv);
        withNumSms(numSms, () -> {
            Tensor scheduleCpu = p.scheduleCpu();
            Tensor cpu = p.cpu(scheduleCpu, clean, DType.FP32);
            Tensor scheduleGpu = p.scheduleGpu();
            assertArrayEquals(scheduleCpu.toIntArray(), scheduleGpu.toHost().toIntArray(), "schedule");
            long sm90 = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum();
            Supplier<Tensor> run = () -> p.gpu(scheduleGpu, clean, DType.FP32);
            Tensor gpu = run.get();
            boolean hopperRan = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum() > sm90;
            assertEquals(GpuTestSupport.hopper(), hopperRan, "the Hopper paged kernel runs exactly on sm_90");
            p.assertMatches(cpu, gpu, clean, hopperRan);
            byte[] want = p.specified(clean).bytes(gpu);
            for (int rerun = 0; rerun < 5; rerun++) {
                assertArrayEquals(want, p.specified(clean).bytes(run.get()), "rerun " + rerun + " differs");
            }
        });
    }

    /** BF16 paged logits: the BF16 kernels against the CPU's BF16 logits and the GPU's FP32 logits. */
    @ParameterizedTest(name = "next_n={0} H={1} D={2} block_kv={3} clean={4} num_sms={5}")
    @CsvSource({"1,64,128,64,true,0", "2,64,128,64,true,0", "2,32,64,32,false,0", "1,32,32,32,true,5",
        "2,64,128,64,false,3"})
    void pagedBf16(int nextN, int h, int d, int blockKv, boolean clean, int numSms) {
        PagedProblem p = PagedProblem.random(
                new SplittableRandom(9000L + nextN * 7L + h + d + blockKv + (clean ? 1 : 0) + numSms), nextN, h, d,
                blockKv);
        withNumSms(numSms, () -> {
            Tensor cpu = p.cpu(p.scheduleCpu(), clean, DType.BF16);
            Tensor scheduleGpu = p.scheduleGpu();
            long sm90 = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum();
            Tensor gpu = p.gpu(scheduleGpu, clean, DType.BF16);
            boolean hopperRan = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum() > sm90;
            assertEquals(GpuTestSupport.hopper(), hopperRan, "the Hopper paged kernel runs exactly on sm_90");
            assertEquals(DType.BF16, gpu.dtype());
            p.assertMatches(cpu, gpu, clean, hopperRan);
            assertRoundedFromFp32(p.gpu(scheduleGpu, clean, DType.FP32).toHost(), gpu.toHost(), p.specified(clean));
        });
    }

    /** A paged problem of 6 sequences: its inputs on the host and their GPU copies. */
    private record PagedProblem(int blockKv, Tensor lens, Tensor q, Tensor weights, GpuTestSupport.PagedCache cache,
            Tensor lensGpu, Tensor qGpu, Tensor cacheGpu, Tensor wGpu, Tensor tableGpu) {

        static PagedProblem random(SplittableRandom rng, int nextN, int h, int d, int blockKv) {
            int batch = 6;
            GpuTestSupport.PagedCache cache = GpuTestSupport.PagedCache.random(rng, batch, MAX_CONTEXT, d, blockKv);
            Tensor lens = contextLens(rng, batch, nextN);
            Tensor q = RandomTensors.fp8(rng, batch, nextN, h, d);
            Tensor weights = RandomTensors.uniform(rng, DType.FP32, (long) batch * nextN, h);
            return new PagedProblem(blockKv, lens, q, weights, cache, toGpu(lens), toGpu(q), toGpu(cache.kvCache()),
                    toGpu(weights), toGpu(cache.blockTable()));
        }

        /** The schedule for the current SM count, computed on the host / on the GPU. */
        Tensor scheduleCpu() {
            return DeepGemm.getPagedMqaLogitsMetadata(lens, blockKv, DeepGemm.getNumSms());
        }

        Tensor scheduleGpu() {
            return DeepGemm.getPagedMqaLogitsMetadata(lensGpu, blockKv, DeepGemm.getNumSms());
        }

        Tensor cpu(Tensor schedule, boolean clean, DType logitsDtype) {
            return DeepGemm.fp8PagedMqaLogits(q, cache.kvCache(), weights, lens, cache.blockTable(), schedule,
                    MAX_CONTEXT, clean, logitsDtype);
        }

        Tensor gpu(Tensor schedule, boolean clean, DType logitsDtype) {
            return DeepGemm.fp8PagedMqaLogits(qGpu, cacheGpu, wGpu, lensGpu, tableGpu, schedule, MAX_CONTEXT, clean,
                    logitsDtype);
        }

        /** {@link #assertOutput} for paged logits: row r's visible positions are [0, context length). */
        void assertMatches(Tensor cpu, Tensor gpu, boolean clean, boolean hopperRan) {
            int rows = (int) (lens.size(0) * lens.size(1));
            assertOutput(cpu, gpu, new int[rows], lens.toIntArray(), new int[rows], clean, hopperRan);
        }

        Specified specified(boolean clean) {
            int rows = (int) (lens.size(0) * lens.size(1));
            return new Specified(new int[rows], lens.toIntArray(), new int[rows], clean);
        }
    }

    /** Runs {@code body} with the SM count set to {@code numSms} (0: left as it is), restoring it after. */
    private static void withNumSms(int numSms, Runnable body) {
        int savedSms = DeepGemm.getNumSms();
        if (numSms > 0) {
            DeepGemm.setNumSms(numSms);
        }
        try {
            body.run();
        } finally {
            DeepGemm.setNumSms(savedSms);
        }
    }

    /**
     * Every specified element of {@code bf16} is the FP32 element of {@code fp32} (the same call with FP32 logits)
     * rounded to nearest even, bit for bit: the two variants compute the same FP32 sums, and −inf maps to itself.
     */
    private static void assertRoundedFromFp32(Tensor fp32, Tensor bf16, Specified specified) {
        assertArrayEquals(fp32.shape(), bf16.shape(), "shape");
        for (int i = 0; i < fp32.size(0); i++) {
            for (int c = 0; c < fp32.size(1); c++) {
                if (!specified.at(i, c)) {
                    continue;
                }
                float v = fp32.getFloat(i, c);
                short bits = bf16.hostSegment().get(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * bf16.elementOffset(i, c));
                if (bits != Bf16.fromFloat(v)) {
                    throw new AssertionError("BF16 logit at row " + i + " col " + c + " is 0x"
                            + Integer.toHexString(bits & 0xFFFF) + ", the FP32 logit " + v + " rounds to 0x"
                            + Integer.toHexString(Bf16.fromFloat(v) & 0xFFFF));
                }
            }
        }
    }

    /**
     * The scheduling metadata and the paged logits captured together in one CUDA graph (into preallocated outputs),
     * then replayed for new context lengths written into the same device tensor: each replay recomputes the
     * schedule and the logits, which match the CPU's for those lengths.
     */
    @ParameterizedTest(name = "next_n={0}")
    @CsvSource({"1", "2"})
    void pagedMetadataAndLogitsReplayFromOneGraph(int nextN) {
        SplittableRandom rng = new SplittableRandom(500L + nextN);
        int batch = 7;
        int h = 64;
        int d = 128;
        int blockKv = 64;
        GpuTestSupport.PagedCache cache = GpuTestSupport.PagedCache.random(rng, batch, MAX_CONTEXT, d, blockKv);
        Tensor q = RandomTensors.fp8(rng, batch, nextN, h, d);
        Tensor weights = RandomTensors.uniform(rng, DType.FP32, (long) batch * nextN, h);
        Tensor qGpu = toGpu(q);
        Tensor cacheGpu = toGpu(cache.kvCache());
        Tensor wGpu = toGpu(weights);
        Tensor tableGpu = toGpu(cache.blockTable());
        Tensor lensGpu = toGpu(contextLens(rng, batch, nextN));
        int numSms = DeepGemm.getNumSms();
        // Compiles and loads the kernels and allocates the outputs the graph will write.
        Tensor scheduleGpu = DeepGemm.getPagedMqaLogitsMetadata(lensGpu, blockKv, numSms);
        Tensor logitsGpu = DeepGemm.fp8PagedMqaLogits(qGpu, cacheGpu, wGpu, lensGpu, tableGpu, scheduleGpu,
                MAX_CONTEXT, true);
        Backend backend = Backends.forTensor("q", qGpu);
        long sm90 = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum();
        try (GpuGraph graph = Gpu.capture(() -> {
            backend.pagedMqaLogitsMetadata(lensGpu, blockKv, numSms, scheduleGpu);
            backend.fp8PagedMqaLogits(qGpu, cacheGpu, wGpu, lensGpu, tableGpu, scheduleGpu, logitsGpu, true);
        })) {
            boolean hopperRan = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum() > sm90;
            assertEquals(GpuTestSupport.hopper(), hopperRan, "the capture recorded the Hopper paged kernel on sm_90");
            for (int round = 0; round < 3; round++) {
                Tensor lens = contextLens(rng, batch, nextN);
                if (round == 2) {
                    lens = Tensor.ofInts(new int[batch * nextN], batch, nextN); // nothing visible: all −inf
                }
                copyInto(lens, lensGpu);
                graph.replay();
                Tensor scheduleCpu = DeepGemm.getPagedMqaLogitsMetadata(lens, blockKv, numSms);
                assertArrayEquals(scheduleCpu.toIntArray(), scheduleGpu.toHost().toIntArray(), "replayed schedule");
                Tensor cpu = DeepGemm.fp8PagedMqaLogits(q, cache.kvCache(), weights, lens, cache.blockTable(),
                        scheduleCpu, MAX_CONTEXT, true);
                int rows = batch * nextN;
                if (round == 2) {
                    assertArrayEquals(viewBytes(cpu), viewBytes(logitsGpu), "all -inf");
                } else {
                    assertOutput(cpu, logitsGpu, new int[rows], lens.toIntArray(), new int[rows], true, hopperRan);
                }
            }
        }
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
     * Visible positions (column c of row i is index base[i] + c, visible in [from[i], to[i])) are finite and agree
     * by calc_diff below {@code tolerance}; with {@code clean} every other position is −inf.
     */
    private static void assertVisibleClose(Tensor cpu, Tensor gpu, int[] from, int[] to, int[] base,
            boolean clean, double tolerance) {
        List<Double> want = new ArrayList<>();
        List<Double> got = new ArrayList<>();
        int masked = 0;
        for (int i = 0; i < gpu.size(0); i++) {
            for (int c = 0; c < gpu.size(1); c++) {
                int j = base[i] + c;
                float v = gpu.getFloat(i, c);
                if (j >= from[i] && j < to[i]) {
                    assertTrue(Float.isFinite(v), "row " + i + " col " + c + " is " + v);
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
        assertTrue(diff < tolerance, "calc_diff(GPU, CPU) = " + diff + " over " + want.size() + " positions");
    }
}
