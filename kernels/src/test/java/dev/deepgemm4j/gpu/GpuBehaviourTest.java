package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.GPU;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertGemmOutput;
import static dev.deepgemm4j.gpu.GpuTestSupport.assertSameStorage;
import static dev.deepgemm4j.gpu.GpuTestSupport.hopper;
import static dev.deepgemm4j.gpu.GpuTestSupport.ceilDiv;
import static dev.deepgemm4j.gpu.GpuTestSupport.copyInto;
import static dev.deepgemm4j.gpu.GpuTestSupport.launches;
import static dev.deepgemm4j.gpu.GpuTestSupport.operand;
import static dev.deepgemm4j.gpu.GpuTestSupport.poisoned;
import static dev.deepgemm4j.gpu.GpuTestSupport.storageBytes;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static dev.deepgemm4j.gpu.GpuTestSupport.viewBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuGraph;
import dev.deepgemm4j.GpuStream;
import dev.deepgemm4j.GpuTimer;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.CudaContext;
import dev.deepgemm4j.cuda.CudaOutOfMemoryException;
import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * How GPU operations behave beyond their values: reruns are bitwise identical, concurrent callers get correct
 * results, a captured masked GEMM follows masked_m at every replay, bad input never reaches the GPU, running out of
 * memory is an exception that leaks nothing, and tensors move between host, device and user-owned memory intact.
 */
@Tag("gpu")
class GpuBehaviourTest {

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    @Test
    void twentyRerunsAreBitwiseIdentical() {
        SplittableRandom rng = new SplittableRandom(1);
        Fp8Tensor a = toGpu(operand(rng, 127, 896, false));
        Fp8Tensor b = toGpu(operand(rng, 2112, 896, true));
        Tensor q = toGpu(RandomTensors.fp8(rng, 16, 64, 128));
        Fp8Tensor kv = toGpu(new Fp8Tensor(RandomTensors.fp8(rng, 600, 128), RandomTensors.scales(rng, 600)));
        Tensor weights = toGpu(RandomTensors.uniform(rng, DType.FP32, 16, 64));
        int[][] ranges = GpuTestSupport.ranges(rng, 16, 600);
        Tensor ks = toGpu(Tensor.ofInts(ranges[0], 16));
        Tensor ke = toGpu(Tensor.ofInts(ranges[1], 16));
        byte[] firstGemm = null;
        byte[] firstLogits = null;
        for (int run = 0; run < 20; run++) {
            Tensor d = toGpu(poisoned(DType.BF16, 127, 2112));
            DeepGemm.fp8GemmNt(a, b, d);
            byte[] gemm = storageBytes(d);
            // The logits' view only: a cleaned output's padding is never written.
            byte[] logits = viewBytes(DeepGemm.fp8MqaLogits(q, kv, weights, ks, ke, true, 0));
            if (run == 0) {
                firstGemm = gemm;
                firstLogits = logits;
            } else {
                assertArrayEquals(firstGemm, gemm, "GEMM run " + run);
                assertArrayEquals(firstLogits, logits, "MQA logits run " + run);
            }
            d.close();
        }
    }

    /** Eight threads at once, each with its own problem and stream usage (half on created streams). */
    @Test
    void eightThreadsAtOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    SplittableRandom rng = new SplittableRandom(1000 + seed);
                    long m = 33 + 16 * seed;
                    Fp8Tensor a = operand(rng, m, 512, false);
                    Fp8Tensor b = operand(rng, 576, 512, true);
                    Tensor dCpu = poisoned(DType.BF16, m, 576);
                    DeepGemm.fp8GemmNt(a, b, dCpu);
                    for (int repeat = 0; repeat < 5; repeat++) {
                        if (seed % 2 == 0) {
                            try (GpuStream s = GpuStream.create(); GpuStream.Scope scope = GpuStream.use(s)) {
                                Tensor dGpu = toGpu(poisoned(DType.BF16, m, 576));
                                DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu);
                                assertGemmOutput(dCpu, dGpu, null, hopper());
                            }
                        } else {
                            Tensor dGpu = toGpu(poisoned(DType.BF16, m, 576));
                            DeepGemm.fp8GemmNt(toGpu(a), toGpu(b), dGpu);
                            assertGemmOutput(dCpu, dGpu, null, hopper());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : results) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A masked GEMM captured once replays with whatever masked_m holds at replay time: three contents (mixed, all
     * zero, all M_max), each checked against the CPU, rows past masked_m untouched. sfa is given in the kernels'
     * layout (MN-major, TMA-aligned), so that the Hopper path too captures the GEMM alone.
     */
    @Test
    void capturedMaskedGemmFollowsMaskedM() {
        SplittableRandom rng = new SplittableRandom(3);
        int groups = 4;
        int mMax = 64;
        long n = 576;
        long k = 512;
        Fp8Tensor a = new Fp8Tensor(RandomTensors.fp8(rng, groups, mMax, k),
                RandomTensors.scales(rng, groups, mMax, ceilDiv(k, 128)));
        Fp8Tensor b = new Fp8Tensor(RandomTensors.fp8(rng, groups, n, k),
                RandomTensors.scales(rng, groups, ceilDiv(n, 128), ceilDiv(k, 128)));
        Fp8Tensor aRowMajor = toGpu(a);
        Fp8Tensor aGpu = new Fp8Tensor(aRowMajor.data(), DeepGemm.getMnMajorTmaAlignedTensor(aRowMajor.scales()));
        Fp8Tensor bGpu = toGpu(b);
        Tensor poison = poisoned(DType.BF16, groups, mMax, n);
        Tensor dGpu = toGpu(poison);
        Tensor maskedGpu = toGpu(Tensor.ofInts(new int[] {mMax, 1, 0, 17}, groups));
        DeepGemm.mGroupedFp8GemmNtMasked(aGpu, bGpu, dGpu, maskedGpu, 32); // compiles and loads before capture
        long before = launches();
        try (GpuGraph graph = Gpu.capture(() -> DeepGemm.mGroupedFp8GemmNtMasked(aGpu, bGpu, dGpu, maskedGpu, 32))) {
            for (int[] masked : new int[][] {{5, mMax, 33, 0}, {0, 0, 0, 0}, {mMax, mMax, mMax, mMax}}) {
                Tensor maskedM = Tensor.ofInts(masked, groups);
                copyInto(maskedM, maskedGpu);
                copyInto(poison, dGpu);
                graph.replay();
                Tensor dCpu = poison.contiguousCopy();
                DeepGemm.mGroupedFp8GemmNtMasked(a, b, dCpu, maskedM, 32);
                GpuTestSupport.assertGroupedOutput(dCpu, dGpu, GpuTestSupport.hopper());
            }
        }
        assertEquals(before + 1, launches(), "the capture records one launch; replays are graph launches");
    }

    /** Wrong shapes and mixed locations are rejected before anything is queued on the GPU. */
    @Test
    void badInputNeverReachesTheGpu() {
        SplittableRandom rng = new SplittableRandom(4);
        Fp8Tensor a = toGpu(operand(rng, 64, 256, false));
        Fp8Tensor b = toGpu(operand(rng, 128, 256, true));
        Tensor d = toGpu(poisoned(DType.BF16, 64, 128));
        Tensor dWrong = toGpu(poisoned(DType.BF16, 64, 136));
        Tensor dHost = poisoned(DType.BF16, 64, 128);
        Fp8Tensor bWrongK = toGpu(operand(rng, 128, 384, true));
        Tensor masked = toGpu(Tensor.ofInts(new int[] {1, 2, 3}, 3));
        Fp8Tensor a3 = toGpu(new Fp8Tensor(RandomTensors.fp8(rng, 2, 64, 256), RandomTensors.scales(rng, 2, 64, 2)));
        Fp8Tensor b3 = toGpu(new Fp8Tensor(RandomTensors.fp8(rng, 2, 128, 256), RandomTensors.scales(rng, 2, 1, 2)));
        Tensor d3 = toGpu(poisoned(DType.BF16, 2, 64, 128));
        Tensor q = toGpu(RandomTensors.fp8(rng, 8, 48, 64));
        Fp8Tensor kv = toGpu(new Fp8Tensor(RandomTensors.fp8(rng, 100, 64), RandomTensors.scales(rng, 100)));
        Tensor w = toGpu(RandomTensors.uniform(rng, DType.FP32, 8, 48));
        Tensor ks = toGpu(Tensor.ofInts(new int[8], 8));
        byte[] dBefore = storageBytes(d);
        long before = launches();
        rejects("d", () -> DeepGemm.fp8GemmNt(a, b, dWrong));
        rejects("b", () -> DeepGemm.fp8GemmNt(a, bWrongK, d));
        rejects("d", () -> DeepGemm.fp8GemmNt(a, b, dHost));
        rejects("masked_m", () -> DeepGemm.mGroupedFp8GemmNtMasked(a3, b3, d3, masked, 8));
        rejects("q", () -> DeepGemm.fp8MqaLogits(q, kv, w, ks, ks, true, 0));
        rejects("x", () -> DeepGemm.perTokenCastToFp8(toGpu(RandomTensors.fp8(rng, 4, 128)), false));
        assertEquals(before, launches(), "a rejected call launched a kernel");
        assertArrayEquals(dBefore, storageBytes(d), "a rejected call wrote to d");
    }

    private static void rejects(String argument, Executable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call);
        assertEquals(argument, e.argument(), e.getMessage());
    }

    /** A 10 TB allocation fails with an exception and leaves the device's free memory as it was. */
    @Test
    void outOfMemoryIsAnExceptionAndLeaksNothing() {
        CudaContext context = CudaContext.of(0);
        long freeBefore = settledFreeMemory(context);
        long launchesBefore = launches();
        assertThrows(CudaOutOfMemoryException.class, () -> Tensor.zeros(GPU, DType.UINT8, 10L << 40));
        assertEquals(freeBefore, settledFreeMemory(context), "free device memory changed");
        assertEquals(launchesBefore, launches());
        // The device still works afterwards.
        Tensor ok = Tensor.zeros(GPU, DType.FP32, 1024);
        assertEquals(0f, ok.toHost().getFloat(1023));
        ok.close();
    }

    /** Free device memory once tensors the tests dropped have been collected and freed (two equal readings). */
    private static long settledFreeMemory(CudaContext context) {
        long previous = -1;
        for (int i = 0; i < 20; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            Gpu.synchronize();
            long free = context.freeMemoryBytes();
            if (free == previous) {
                return free;
            }
            previous = free;
        }
        return previous;
    }

    /** Host → GPU → host for every dtype and for strided views of up to four dimensions, both directions. */
    @Test
    void tensorsRoundTrip() {
        SplittableRandom rng = new SplittableRandom(5);
        for (DType dtype : new DType[] {DType.FP32, DType.BF16, DType.FP8_E4M3, DType.INT32, DType.UINT8}) {
            Tensor host = Tensor.zeros(dtype, 3, 5, 7, 9);
            for (int i = 0; i < host.hostSegment().byteSize(); i++) {
                host.hostSegment().set(ValueLayout.JAVA_BYTE, i, (byte) rng.nextInt(256));
            }
            Tensor strided = host.transpose(1, 3).narrow(2, 1, 5);
            // Contiguous upload, then a 4-D strided download (the copy kernel, one launch per outer index).
            Tensor gpu = host.to(GPU);
            assertEquals(GPU, gpu.location());
            assertSameElements(strided, gpu.transpose(1, 3).narrow(2, 1, 5).toHost());
            // Strided upload (host staging), contiguous download.
            assertSameElements(strided, strided.to(GPU).toHost());
            // Device to device between different strides (the public copyFrom), then back.
            Tensor target = Tensor.zeros(GPU, dtype, 5, 9, 3, 5);
            target.copyFrom(strided.to(GPU).transpose(0, 2));
            assertSameElements(strided.transpose(0, 2), target.toHost());
            // copyFrom does not move data between host and device: to() does.
            assertThrows(DeepGemmArgumentException.class, () -> target.copyFrom(strided.transpose(0, 2)));
        }
    }

    private static void assertSameElements(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        assertArrayEquals(bytes(expected), bytes(actual), "elements of " + expected.dtype());
    }

    private static byte[] bytes(Tensor t) {
        Tensor c = t.contiguousCopy();
        return storageBytes(c);
    }

    /** Memory allocated by JCuda and wrapped keeps its bytes, serves as operator input and is not freed by close. */
    @Test
    void wrapsJCudaMemory() {
        SplittableRandom rng = new SplittableRandom(6);
        Tensor x = RandomTensors.uniform(rng, DType.FP32, 130, 256);
        long bytes = x.numel() * 4;
        CudaContext.makeCurrent(0);
        CUdeviceptr pointer = new CUdeviceptr();
        assertEquals(0, JCudaDriver.cuMemAlloc(pointer, bytes));
        try {
            assertEquals(0, JCudaDriver.cuMemcpyHtoD(pointer, Pointer.to(x.hostSegment().asByteBuffer()), bytes));
            Tensor wrapped = Gpu.wrap(pointer, bytes, DType.FP32, new long[] {130, 256}, new long[] {256, 1}, 0);
            assertEquals(GPU, wrapped.location());
            assertArrayEquals(x.toFloatArray(), wrapped.toHost().toFloatArray());
            Fp8Tensor cpu = DeepGemm.perTokenCastToFp8(x, false);
            Fp8Tensor gpu = DeepGemm.perTokenCastToFp8(wrapped, false);
            assertSameStorage(cpu.data(), gpu.data());
            wrapped.close();
            assertThrows(IllegalArgumentException.class,
                    () -> Gpu.wrap(pointer, bytes, DType.FP32, new long[] {131, 256}, new long[] {256, 1}, 0));
            // Still ours to read and free.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment back = arena.allocate(bytes);
                CudaContext.makeCurrent(0);
                assertEquals(0, JCudaDriver.cuMemcpyDtoH(Pointer.to(back.asByteBuffer()), pointer, bytes));
                assertArrayEquals(x.toFloatArray(), back.toArray(ValueLayout.JAVA_FLOAT));
            }
        } finally {
            CudaContext.makeCurrent(0);
            JCudaDriver.cuMemFree(pointer);
        }
    }

    /** use() scopes nest and restore; a created stream, timing and the L2 flush work. */
    @Test
    void streamsScopesTimerAndL2Flush() {
        GpuStream fallback = GpuStream.current();
        assertTrue(fallback.isDefault());
        assertTrue(Gpu.deviceCount() >= 1);
        assertFalse(Gpu.deviceName(0).isBlank());
        assertTrue(Gpu.smCount(0) > 0);
        assertNull(Gpu.unavailableReason());
        try (GpuStream outer = GpuStream.create(); GpuStream inner = GpuStream.create()) {
            assertNotEquals(outer, inner);
            try (GpuStream.Scope s1 = GpuStream.use(outer)) {
                assertEquals(outer, GpuStream.current());
                try (GpuStream.Scope s2 = GpuStream.use(inner)) {
                    assertEquals(inner, GpuStream.current());
                    try (GpuTimer timer = new GpuTimer()) {
                        SplittableRandom rng = new SplittableRandom(7);
                        Fp8Tensor a = toGpu(operand(rng, 256, 1024, false));
                        Fp8Tensor b = toGpu(operand(rng, 1024, 1024, true));
                        Tensor d = Tensor.zeros(GPU, DType.BF16, 256, 1024);
                        Gpu.flushL2();
                        timer.start();
                        DeepGemm.fp8GemmNt(a, b, d);
                        double ms = timer.stopMillis();
                        assertTrue(ms > 0 && Double.isFinite(ms), "elapsed " + ms);
                    }
                    inner.synchronize();
                }
                assertEquals(outer, GpuStream.current());
            }
        }
        assertEquals(fallback, GpuStream.current());
        Gpu.synchronize();
    }
}
