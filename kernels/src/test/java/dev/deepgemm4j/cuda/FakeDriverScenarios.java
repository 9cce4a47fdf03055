package dev.deepgemm4j.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.jit.CompiledKernel;
import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.JitConfig;
import dev.deepgemm4j.jit.KernelSource;
import dev.deepgemm4j.jit.NvrtcCompiler;
import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The runtime end to end (probe, contexts, memory, copies, streams, events, graphs, modules, launches, JIT) against the
 * fake driver linked as {@code libcuda.so.1}, so that JCuda's real native library runs against it too. Runs in a child
 * JVM started by {@link FakeDriverRuntimeTest} with {@code -Ddeepgemm4j.cuda.driverLib=<fake>}; prints one
 * {@code SCENARIO <name> OK|FAIL} line per scenario. Arguments: the fake driver, the fake NVRTC, a scratch directory.
 */
public final class FakeDriverScenarios {

    private static FakeCudaLibraries.State fake;
    private static Path nvrtcLib;
    private static Path scratch;

    /** The scenarios, in the order they run. */
    static final Map<String, ThrowingRunnable> SCENARIOS = new LinkedHashMap<>();

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    static {
        SCENARIOS.put("probe", FakeDriverScenarios::probe);
        SCENARIOS.put("context", FakeDriverScenarios::context);
        SCENARIOS.put("memoryRoundTrip", FakeDriverScenarios::memoryRoundTrip);
        SCENARIOS.put("outOfMemory", FakeDriverScenarios::outOfMemory);
        SCENARIOS.put("wrapUserMemory", FakeDriverScenarios::wrapUserMemory);
        SCENARIOS.put("tensors", FakeDriverScenarios::tensors);
        SCENARIOS.put("streamsAndAsync", FakeDriverScenarios::streamsAndAsync);
        SCENARIOS.put("wrappedStreams", FakeDriverScenarios::wrappedStreams);
        SCENARIOS.put("events", FakeDriverScenarios::events);
        SCENARIOS.put("moduleAndLaunch", FakeDriverScenarios::moduleAndLaunch);
        SCENARIOS.put("graphCapture", FakeDriverScenarios::graphCapture);
        SCENARIOS.put("tensorMapOnDeviceMemory", FakeDriverScenarios::tensorMapOnDeviceMemory);
        SCENARIOS.put("jitThroughNvrtcToLaunch", FakeDriverScenarios::jitThroughNvrtcToLaunch);
        SCENARIOS.put("launchAllocationPerCall", FakeDriverScenarios::launchAllocationPerCall);
    }

    public static void main(String[] args) {
        fake = new FakeCudaLibraries.State(Path.of(args[0]));
        nvrtcLib = Path.of(args[1]);
        scratch = Path.of(args[2]);
        int failures = 0;
        for (var e : SCENARIOS.entrySet()) {
            try {
                e.getValue().run();
                System.out.println("SCENARIO " + e.getKey() + " OK");
            } catch (Throwable t) {
                failures++;
                java.io.StringWriter w = new java.io.StringWriter();
                t.printStackTrace(new java.io.PrintWriter(w));
                System.out.println("SCENARIO " + e.getKey() + " FAIL " + w.toString().replace("\n", " | "));
            }
            System.out.flush();
        }
        System.exit(failures == 0 ? 0 : 1);
    }

    static void probe() {
        assertTrue(CudaRuntime.isAvailable(), CudaRuntime.unavailableReason());
        assertEquals(13000, CudaRuntime.availability().driverVersion());
        assertEquals(1, CudaRuntime.deviceCount());
        CudaDevice d = CudaRuntime.device(0);
        assertEquals(new CudaDevice(0, "NVIDIA Fake H100", 132, 9, 0, 232448, 50 << 20, 64L << 20), d);
        assertEquals(90, d.computeCapability());
        assertThrows(IllegalArgumentException.class, () -> CudaRuntime.device(1));
        assertTrue(CudaRuntime.driver().resolvedThroughProcAddress());
    }

    static void context() throws Exception {
        long sets = fake.stat(1);
        CudaContext c = CudaContext.makeCurrent(0);
        assertEquals(sets + 1, fake.stat(1), "first makeCurrent sets the context");
        assertEquals(-1L, fake.poolReleaseThreshold(0), "the default pool keeps freed memory (UINT64_MAX)");
        assertEquals(c, CudaContext.of(0));
        CudaContext.makeCurrent(0);
        c.makeCurrent();
        assertEquals(sets + 1, fake.stat(1), "already current: no cuCtxSetCurrent");
        assertNotEquals(0, c.rawHandle());
        CudaRuntime.driver().setCurrentContext(0);
        c.makeCurrent();
        assertEquals(sets + 3, fake.stat(1), "someone else changed the thread's context: set again");
        Thread t = new Thread(() -> CudaContext.makeCurrent(0));
        t.start();
        t.join();
        assertEquals(sets + 4, fake.stat(1), "a new thread needs its own set");
        assertEquals(64L << 20, c.freeMemoryBytes() + fake.stat(3));
        c.synchronize();
    }

    static void memoryRoundTrip() {
        SplittableRandom rng = new SplittableRandom(5);
        long live = fake.stat(2);
        try (Arena arena = Arena.ofConfined(); DeviceMemory a = DeviceMemory.allocate(0, 1 << 20);
                DeviceMemory b = DeviceMemory.allocate(CudaContext.of(0), 1 << 20)) {
            assertEquals(live + 2, fake.stat(2));
            assertEquals(Location.cuda(0), a.location());
            assertTrue(a.ownsMemory());
            assertThrows(UnsupportedOperationException.class, a::hostSegment);
            byte[] data = new byte[4096];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) rng.nextInt(256);
            }
            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_BYTE, data);
            CudaCopy.hostToDevice(src, a, 1000);
            CudaCopy.deviceToDevice(a, 1000, b, 77, data.length);
            MemorySegment back = arena.allocate(data.length);
            CudaCopy.deviceToHost(b, 77, back);
            assertArrayEquals(data, back.toArray(ValueLayout.JAVA_BYTE));
            byte[] heap = new byte[16];
            CudaCopy.deviceToHost(a, 1000, MemorySegment.ofArray(heap));
            assertArrayEquals(java.util.Arrays.copyOf(data, 16), heap, "heap segments are staged");

            CudaCopy.memsetD8(a, 3, 5, (byte) 0x7F);
            CudaCopy.memsetD16(a, 8, 2, (short) 0x7FC1);
            CudaCopy.memsetD32(a, 12, 2, 0xDEADBEEF);
            MemorySegment head = arena.allocate(20);
            head.fill((byte) 1);
            CudaCopy.hostToDevice(head.asSlice(0, 3), a, 0);
            CudaCopy.deviceToHost(a, 0, head);
            ByteBuffer bb = ByteBuffer.wrap(head.toArray(ValueLayout.JAVA_BYTE)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0x7F7F7F7F7F010101L, bb.getLong(0));
            assertEquals((short) 0x7FC1, bb.getShort(8));
            assertEquals((short) 0x7FC1, bb.getShort(10));
            assertEquals(0xDEADBEEF, bb.getInt(12));
            assertEquals(0xDEADBEEF, bb.getInt(16));

            assertThrows(IndexOutOfBoundsException.class, () -> CudaCopy.hostToDevice(src, a, (1 << 20) - 100));
            assertThrows(IndexOutOfBoundsException.class, () -> CudaCopy.deviceToDevice(a, -1, b, 0, 8));
            assertThrows(IllegalArgumentException.class, () -> CudaCopy.memsetD32(a, 2, 1, 0));
        }
        assertEquals(live, fake.stat(2), "closed allocations are freed");
        DeviceMemory m = DeviceMemory.allocate(0, 256);
        m.close();
        m.close();
        assertTrue(m.isClosed());
        assertThrows(IllegalStateException.class, m::address);
        assertEquals(live, fake.stat(2));
        try (DeviceMemory empty = DeviceMemory.allocate(0, 0)) {
            assertEquals(0, empty.byteSize());
            assertEquals(live, fake.stat(2), "zero bytes allocate nothing");
        }
    }

    static void outOfMemory() {
        long live = fake.stat(2);
        long bytes = fake.stat(3);
        var e = assertThrows(CudaOutOfMemoryException.class, () -> DeviceMemory.allocate(0, 1L << 30));
        assertEquals(1L << 30, e.requestedBytes());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY") && e.getMessage().contains("cuda:0"),
                e.getMessage());
        CudaStream s = CudaStream.create(0);
        assertThrows(CudaOutOfMemoryException.class, () -> DeviceMemory.allocateAsync(s, 1L << 30));
        s.close();
        assertEquals(live, fake.stat(2));
        assertEquals(bytes, fake.stat(3));
    }

    static void wrapUserMemory() {
        CudaContext.makeCurrent(0);
        CUdeviceptr user = new CUdeviceptr();
        assertEquals(0, JCudaDriver.cuMemAlloc(user, 512));
        long live = fake.stat(2);
        DeviceMemory w = DeviceMemory.wrap(0, user, 512);
        assertTrue(!w.ownsMemory());
        assertEquals(JCudaHandles.address(user), w.address());
        assertNotEquals(0, w.address());
        DeviceMemory offset = DeviceMemory.wrap(0, user.withByteOffset(64), 448);
        assertEquals(w.address() + 64, offset.address());
        assertEquals(w.address() + 8, JCudaHandles.address(w.pointer(8)));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocateFrom(ValueLayout.JAVA_INT, 1, 2, 3, 4);
            CudaCopy.hostToDevice(v, offset, 0);
            MemorySegment back = arena.allocate(16);
            CudaCopy.deviceToHost(w, 64, back);
            assertArrayEquals(new int[] {1, 2, 3, 4}, back.toArray(ValueLayout.JAVA_INT));
        }
        w.close();
        offset.close();
        assertEquals(live, fake.stat(2), "wrapped memory is not freed");
        assertEquals(0, JCudaDriver.cuMemFree(user));
        assertThrows(IllegalArgumentException.class, () -> DeviceMemory.wrap(0, 0L, 16));
    }

    static void tensors() {
        SplittableRandom rng = new SplittableRandom(9);
        long live = fake.stat(2);
        try (Tensor host = RandomTensors.uniform(rng, DType.FP32, 6, 10);
                Tensor strided = host.transpose(0, 1);
                Tensor dev = CudaCopy.toDevice(strided, 0);
                Tensor back = CudaCopy.toHost(dev)) {
            assertEquals(Location.cuda(0), dev.location());
            assertArrayEquals(strided.strides(), dev.strides());
            assertArrayEquals(strided.toFloatArray(), back.toFloatArray());

            Tensor other = RandomTensors.uniform(rng, DType.BF16, 3, 5);
            try (Tensor d2 = CudaCopy.toDevice(Tensor.zeros(DType.BF16, 3, 5), 0)) {
                CudaCopy.copy(other, d2);
                Tensor hostCopy = Tensor.zeros(DType.BF16, 3, 5);
                hostCopy.fillBytes((byte) 0x7F);
                CudaCopy.copy(d2, hostCopy);
                assertArrayEquals(other.toFloatArray(), hostCopy.toFloatArray());
                assertThrows(IllegalArgumentException.class,
                        () -> CudaCopy.copy(Tensor.zeros(DType.BF16, 5, 3).transpose(0, 1), d2));
                assertThrows(IllegalArgumentException.class, () -> CudaCopy.copy(Tensor.zeros(DType.FP32, 3, 5), d2));
                LaunchArgs args = new LaunchArgs().addPointer(d2);
                assertEquals(1, args.count());
                assertThrows(IllegalArgumentException.class, () -> args.addPointer(other));
            }
        }
        assertEquals(live, fake.stat(2), "device tensors own and free their memory");
    }

    static void streamsAndAsync() {
        long streams = fake.stat(11);
        long asyncFrees = fake.stat(13);
        try (CudaStream s = CudaStream.create(0); Arena arena = Arena.ofConfined()) {
            assertTrue(s.ownsStream());
            assertEquals(streams + 1, fake.stat(11));
            DeviceMemory m = DeviceMemory.allocateAsync(s, 64);
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_LONG, 1, 2, 3, 4, 5, 6, 7, 8);
            CudaCopy.hostToDeviceAsync(in, m, 0, s);
            CudaCopy.memsetD32Async(m, 0, 2, 9, s);
            MemorySegment out = arena.allocate(64);
            CudaCopy.deviceToHostAsync(m, 0, out, s);
            s.synchronize();
            assertEquals(9, out.get(ValueLayout.JAVA_INT, 0));
            assertEquals(9, out.get(ValueLayout.JAVA_INT, 4));
            assertEquals(2, out.getAtIndex(ValueLayout.JAVA_LONG, 1));
            m.close();
            assertEquals(asyncFrees + 1, fake.stat(13), "stream-ordered memory is freed on its stream");
            try (DeviceMemory small = DeviceMemory.allocate(0, 8)) {
                assertThrows(IllegalArgumentException.class,
                        () -> CudaCopy.deviceToHostAsync(small, 0, MemorySegment.ofArray(new byte[8]), s));
            }
        }
        assertEquals(streams, fake.stat(11), "owned streams are destroyed on close");
        CudaStream s2 = CudaStream.create(0);
        DeviceMemory m2 = DeviceMemory.allocateAsync(s2, 32);
        s2.close();
        long frees = fake.stat(13);
        m2.close();
        assertEquals(frees, fake.stat(13), "after its stream closed, memory is freed synchronously");
        assertThrows(IllegalStateException.class, s2::synchronize);
        CudaStream.defaultStream(0).synchronize();
    }

    static void wrappedStreams() {
        CudaContext.makeCurrent(0);
        CUstream user = new CUstream();
        assertEquals(0, JCudaDriver.cuStreamCreate(user, 0));
        long streams = fake.stat(11);
        CudaStream w = CudaStream.wrap(0, user);
        assertTrue(!w.ownsStream());
        assertNotEquals(0, w.rawHandle());
        CudaStream raw = CudaStream.wrapRaw(0, w.rawHandle());
        assertEquals(w.rawHandle(), JCudaHandles.raw(raw.handle()));
        raw.synchronize();
        w.close();
        raw.close();
        assertEquals(streams, fake.stat(11), "borrowed streams are not destroyed");
        assertEquals(0, JCudaDriver.cuStreamDestroy(user));
    }

    static void events() throws Exception {
        try (CudaStream s = CudaStream.create(0); CudaEvent a = CudaEvent.create(0);
                CudaEvent b = CudaEvent.create(CudaContext.of(0))) {
            a.record(s);
            Thread.sleep(30);
            b.record(s).synchronize();
            assertTrue(b.isComplete());
            float ms = CudaEvent.elapsedMillis(a, b);
            assertTrue(ms >= 25 && ms < 5000, "elapsed " + ms);
            s.waitFor(a);
        }
        assertEquals(0, fake.stat(12), "events are destroyed on close");
    }

    static void moduleAndLaunch() {
        byte[] image = "FAKECUBIN\nother_kernel i\nfp8_gemm_kernel ipm\n\0".getBytes(StandardCharsets.US_ASCII);
        long loads = fake.stat(9);
        long unloads = fake.stat(10);
        try (CudaModule module = CudaModule.load(0, image); CudaStream s = CudaStream.create(0);
                DeviceMemory d = DeviceMemory.allocate(0, 1 << 16)) {
            assertEquals(loads + 1, fake.stat(9));
            CudaFunction f = module.function("fp8_gemm_kernel");
            assertTrue(f == module.function("fp8_gemm_kernel"), "functions are cached");
            assertEquals(168, f.numRegisters());
            assertEquals(0, f.localMemoryBytes());
            var missing = assertThrows(CudaException.class, () -> module.function("nope"));
            assertEquals(500, missing.result());

            TensorMap map = TensorMap.encode2d(TensorMap.DataType.UINT8, d.address(), 256, 256, 256, 128, 64,
                    TensorMap.Swizzle.B128);
            LaunchArgs args = LaunchArgs.forCurrentThread().addInt(4096).addPointer(d.address()).addTensorMap(map);
            long setAttrs = fake.stat(4);
            LaunchConfig cfg = LaunchConfig.of(132, 384).withDynamicSharedMemory(200_000).withCluster(2, 1, 1);
            KernelLauncher.launch(f, cfg, s, args);
            assertEquals(setAttrs + 1, fake.stat(4), "smem above 48 KB opts in once");
            assertEquals(200_000, fake.stat(15));
            assertEquals(2, fake.launch(0));
            assertEquals(f.rawHandle(), fake.launch(1));
            assertEquals(s.rawHandle(), fake.launch(9));
            assertEquals(2, fake.launch(11));
            assertEquals(CudaContext.of(0).rawHandle(), fake.launch(17));
            ByteBuffer want = ByteBuffer.allocate(140).order(ByteOrder.LITTLE_ENDIAN).putInt(4096)
                    .putLong(d.address()).put(map.toByteArray());
            assertArrayEquals(want.array(), fake.params(140));

            KernelLauncher.launch(f, cfg.withDynamicSharedMemory(150_000), s, LaunchArgs.forCurrentThread()
                    .addInt(1).addPointer(d.address()).addTensorMap(map));
            assertEquals(setAttrs + 1, fake.stat(4), "a smaller request needs no new opt-in");
            KernelLauncher.launch(f, LaunchConfig.of(4, 128), s, args);
            assertEquals(1, fake.launch(0));

            assertThrows(IllegalArgumentException.class, () -> KernelLauncher.launch(f,
                    LaunchConfig.of(1, 128).withDynamicSharedMemory(300_000), s, args));
            CudaFunction other = module.function("other_kernel");
            // the fake driver fails launches whose grid x is 0xDEAD
            var rejected = assertThrows(CudaException.class, () -> KernelLauncher.launch(other,
                    LaunchConfig.of(0xDEAD, 32), s, LaunchArgs.forCurrentThread().addInt(1)));
            assertEquals(701, rejected.result());
            assertTrue(rejected.getMessage().contains("cuLaunchKernel(other_kernel, grid 57005x1x1"),
                    rejected.getMessage());
        }
        assertEquals(unloads + 1, fake.stat(10), "module unloaded on close");
    }

    static void graphCapture() {
        byte[] image = "FAKECUBIN\nstep i\n\0".getBytes(StandardCharsets.US_ASCII);
        try (CudaModule module = CudaModule.load(0, image); CudaStream s = CudaStream.create(0)) {
            CudaFunction f = module.function("step");
            long executed = fake.stat(0);
            CudaGraph graph = CudaGraph.capture(s, () -> {
                assertTrue(s.isCapturing());
                for (int i = 0; i < 3; i++) {
                    KernelLauncher.launch(f, LaunchConfig.of(1, 32), s, LaunchArgs.forCurrentThread().addInt(i));
                }
            });
            assertTrue(!s.isCapturing());
            assertEquals(executed, fake.stat(0), "captured launches do not run");
            graph.launch(s);
            graph.launch(s);
            s.synchronize();
            assertEquals(executed + 6, fake.stat(0), "each replay runs the 3 captured launches");
            graph.close();
            graph.close();
            assertThrows(IllegalStateException.class, () -> graph.launch(s));
            assertThrows(IllegalStateException.class, () -> CudaGraph.capture(s, () -> {
                throw new IllegalStateException("body failed");
            }));
            assertTrue(!s.isCapturing(), "a failed capture is ended");
            assertThrows(IllegalArgumentException.class, () -> CudaGraph.beginCapture(CudaStream.defaultStream(0)));
        }
    }

    static void tensorMapOnDeviceMemory() {
        try (DeviceMemory d = DeviceMemory.allocate(0, 1 << 20)) {
            TensorMap.encode2d(TensorMap.DataType.BFLOAT16, d.address(), 512, 512, 1024, 64, 32,
                    TensorMap.Swizzle.B128);
            assertEquals(d.address(), fake.tmap(2));
            assertEquals(9, fake.tmap(0));
            assertEquals(1024, fake.tmap(8));
        }
    }

    static void jitThroughNvrtcToLaunch() throws Exception {
        JitConfig config = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", scratch.resolve("jit").toString())::get);
        NvrtcCompiler compiler = new NvrtcCompiler(config, Nvrtc.open(nvrtcLib, NvrtcLocator.system()));
        JitCache cache = new JitCache(config, compiler);
        KernelSource src = new KernelSource("fake_family", "k_fake",
                "// fake-signature: k_fake ip\nextern \"C\" __global__ void k_fake(int n, float* x) {}\n");
        CompiledKernel k = cache.get(src, "sm_90a");
        assertEquals(CompiledKernel.Outcome.COMPILED, k.outcome());
        assertEquals(42, k.ptxasReport().maxRegisters());
        try (CudaModule m = CudaModule.load(0, k.cubin()); CudaStream s = CudaStream.create(0)) {
            KernelLauncher.launch(m.function(k.kernelName()), LaunchConfig.of(2, 64), s,
                    LaunchArgs.forCurrentThread().addInt(7).addPointer(0x1000L));
            assertEquals(2, fake.launch(2));
            assertEquals(7, ByteBuffer.wrap(fake.params(4)).order(ByteOrder.LITTLE_ENDIAN).getInt());
        }
        assertTrue(Files.isDirectory(k.entryDir()));
    }

    /** A steady-state launch allocates (close to) nothing on the Java heap. */
    static void launchAllocationPerCall() {
        byte[] image = "FAKECUBIN\nhot ipm\n\0".getBytes(StandardCharsets.US_ASCII);
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (CudaModule module = CudaModule.load(0, image); CudaStream s = CudaStream.create(0);
                DeviceMemory d = DeviceMemory.allocate(0, 4096)) {
            CudaFunction f = module.function("hot");
            TensorMap map = TensorMap.encode2d(TensorMap.DataType.UINT8, d.address(), 64, 64, 64, 64, 64,
                    TensorMap.Swizzle.NONE);
            LaunchConfig cfg = LaunchConfig.of(132, 384).withDynamicSharedMemory(100_000).withCluster(2, 1, 1)
                    .withProgrammaticDependentLaunch(true);
            long address = d.address();
            Runnable launch = () -> KernelLauncher.launch(f, cfg, s,
                    LaunchArgs.forCurrentThread().addInt(1).addPointer(address).addTensorMap(map));
            for (int i = 0; i < 20_000; i++) {
                launch.run();
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            int n = 20_000;
            for (int i = 0; i < n; i++) {
                launch.run();
            }
            long perLaunch = (threads.getCurrentThreadAllocatedBytes() - before) / n;
            System.out.println("launch allocates " + perLaunch + " B per call");
            assertTrue(perLaunch <= 64, perLaunch + " B per launch");
        }
    }
}
