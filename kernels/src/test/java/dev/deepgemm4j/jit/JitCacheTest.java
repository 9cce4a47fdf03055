package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The two-level cache: layout, atomic publication, validation and rebuild, locks, counters. */
class JitCacheTest {

    private static final JitCache.LockTiming FAST =
            new JitCache.LockTiming(Duration.ofMillis(100), Duration.ofMillis(800), Duration.ofSeconds(20));
    private static final String ARCH = "sm_90a";

    @TempDir
    Path dir;

    private static KernelSource source(int n) {
        return new KernelSource("fp8_gemm", "fp8_gemm_" + n,
                "extern \"C\" __global__ void fp8_gemm_" + n + "(float* d) { d[0] = " + n + ".0f; }\n");
    }

    private JitConfig config(Path root) {
        return JitConfig.from(Map.of("DG_JIT_CACHE_DIR", root.toString())::get);
    }

    private JitCache cache(FakeCompiler compiler) {
        return new JitCache(config(dir), compiler, FAST);
    }

    @Test
    void compilesOnceThenServesFromMemoryThenFromDisk() throws IOException {
        FakeCompiler fc = new FakeCompiler();
        JitCache cache = cache(fc);
        KernelSource src = source(1);

        CompiledKernel first = cache.get(src, ARCH);
        CompiledKernel second = cache.get(src, ARCH);
        CompiledKernel third = cache(fc).get(src, ARCH);

        assertEquals(1, fc.compiles.get());
        assertEquals(CompiledKernel.Outcome.COMPILED, first.outcome());
        assertEquals(CompiledKernel.Outcome.MEMORY_HIT, second.outcome());
        assertEquals(CompiledKernel.Outcome.DISK_HIT, third.outcome());
        for (CompiledKernel k : List.of(first, second, third)) {
            assertArrayEquals(FakeCompiler.cubinFor(src, ARCH), k.cubin());
            assertEquals("fp8_gemm_1", k.kernelName());
            assertEquals(cache.entryDir(src, ARCH), k.entryDir());
            assertEquals(40, k.ptxasReport().maxRegisters());
        }
        JitStats s = cache.stats();
        assertEquals(1, s.compiles());
        assertEquals(1, s.memoryHits());
        assertEquals(0, s.diskHits());
        byte[] copy = first.cubin();
        copy[0] ^= 1;
        assertArrayEquals(FakeCompiler.cubinFor(src, ARCH), first.cubin(), "cubin() hands out copies");
        assertEquals(1, Files.readAllLines(dir.resolve("compile.log")).size());
    }

    @Test
    void entryLayoutAndOwnerOnlyPermissions() throws IOException {
        Path root = dir.resolve("fresh/root");
        JitCache cache = new JitCache(config(root), new FakeCompiler(), FAST);
        KernelSource src = source(2);
        Path entry = cache.get(src, ARCH).entryDir();

        assertEquals(root.resolve("cache/fp8_gemm." + cache.key(src, ARCH)), entry);
        assertTrue(cache.key(src, ARCH).matches("[0-9a-f]{32}"));
        for (Path d : List.of(root, root.resolve("cache"), root.resolve("tmp"), root.resolve("locks"), entry)) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d)), d.toString());
        }
        for (String f : List.of("kernel.cu", "kernel.cubin", "meta", "compile.log")) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(entry.resolve(f))),
                    f);
        }
        assertEquals(src.code(), Files.readString(entry.resolve("kernel.cu")));
        String meta = Files.readString(entry.resolve("meta"));
        byte[] cubin = FakeCompiler.cubinFor(src, ARCH);
        assertTrue(meta.contains("cubin.size=" + cubin.length + "\n"), meta);
        assertTrue(meta.contains("cubin.sha256=" + JitCache.sha256Hex(cubin) + "\n"), meta);
        assertTrue(meta.contains("cu.sha256=" + JitCache.sha256Hex(src.code().getBytes(StandardCharsets.UTF_8))));
        assertTrue(meta.contains("compiler=FAKE1.0\n"));
        try (Stream<Path> s = Files.list(root.resolve("tmp"))) {
            assertEquals(0, s.count(), "the build directory was renamed into place");
        }
        try (Stream<Path> s = Files.list(root.resolve("locks"))) {
            assertEquals(0, s.count(), "the lock was released");
        }
    }

    @Test
    void cacheDirVariableIsRespected() {
        Path root = dir.resolve("from-variable");
        JitConfig c = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", root.toString())::get);
        JitCache cache = new JitCache(c, new FakeCompiler(), FAST);
        assertTrue(cache.get(source(3), ARCH).entryDir().startsWith(root.resolve("cache")));
        assertEquals(root, cache.root());
    }

    @Test
    void keyDependsOnCodeArchCompilerAndOptions() {
        JitCache cache = cache(new FakeCompiler());
        KernelCompiler other = new FakeCompiler() {
            @Override
            public String identity() {
                return "FAKE1.1";
            }
        };
        KernelCompiler otherOptions = new FakeCompiler() {
            @Override
            public List<String> options(String arch) {
                return List.of("-arch=" + arch, "-fake", "-lineinfo");
            }
        };
        String k = cache.key(source(4), ARCH);
        assertEquals(k, cache.key(source(4), ARCH));
        Set<String> keys = Set.of(k, cache.key(source(5), ARCH), cache.key(source(4), "sm_100a"),
                new JitCache(config(dir), other, FAST).key(source(4), ARCH),
                new JitCache(config(dir), otherOptions, FAST).key(source(4), ARCH));
        assertEquals(5, keys.size());
    }

    @Test
    void corruptedTruncatedOrIncompleteEntriesAreRefusedAndRebuilt() throws IOException {
        KernelSource src = source(6);
        FakeCompiler fc = new FakeCompiler();
        Path entry = cache(fc).get(src, ARCH).entryDir();
        Path cubin = entry.resolve("kernel.cubin");

        byte[] bytes = Files.readAllBytes(cubin);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(cubin, bytes);
        JitCache afterFlip = cache(fc);
        CompiledKernel rebuilt = afterFlip.get(src, ARCH);
        assertEquals(CompiledKernel.Outcome.COMPILED, rebuilt.outcome());
        assertEquals(2, fc.compiles.get());
        assertEquals(1, afterFlip.stats().refusedEntries());
        assertArrayEquals(FakeCompiler.cubinFor(src, ARCH), Files.readAllBytes(cubin), "the entry was replaced");

        Files.write(cubin, java.util.Arrays.copyOf(bytes, 5));
        assertEquals(CompiledKernel.Outcome.COMPILED, cache(fc).get(src, ARCH).outcome());
        assertEquals(3, fc.compiles.get());

        Files.delete(entry.resolve("meta"));
        assertEquals(CompiledKernel.Outcome.COMPILED, cache(fc).get(src, ARCH).outcome());

        Files.writeString(entry.resolve("kernel.cu"), "// edited\n" + src.code());
        assertEquals(CompiledKernel.Outcome.COMPILED, cache(fc).get(src, ARCH).outcome());
        assertEquals(5, fc.compiles.get());
        assertEquals(CompiledKernel.Outcome.DISK_HIT, cache(fc).get(src, ARCH).outcome(), "healthy again");
        assertArrayEquals(FakeCompiler.cubinFor(src, ARCH), cache(fc).get(src, ARCH).cubin());
    }

    @Test
    void entriesOwnedByAnotherUserAreRefused() throws IOException {
        KernelSource src = source(7);
        FakeCompiler fc = new FakeCompiler();
        Path entry = cache(fc).get(src, ARCH).entryDir();
        Path cubin = entry.resolve("kernel.cubin");
        try {
            Files.setAttribute(cubin, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException e) {
            assumeTrue(false, "cannot chown here (not root?): " + e);
        }
        assumeTrue((Integer) Files.getAttribute(cubin, "unix:uid") == 65534, "chown had no effect");

        JitCache fresh = cache(fc);
        CompiledKernel k = fresh.get(src, ARCH);

        assertEquals(CompiledKernel.Outcome.COMPILED, k.outcome());
        assertEquals(2, fc.compiles.get());
        assertEquals(1, fresh.stats().refusedEntries());
        int me = (Integer) Files.getAttribute(dir, "unix:uid");
        assertEquals(me, Files.getAttribute(entry.resolve("kernel.cubin"), "unix:uid"), "replaced by our own");
    }

    @Test
    void readersNeverSeeAPartialEntry() throws Exception {
        FakeCompiler fc = new FakeCompiler();
        JitCache cache = cache(fc);
        Path entries = dir.resolve("cache");
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<String> violation = new AtomicReference<>();
        AtomicInteger seen = new AtomicInteger();
        Thread reader = new Thread(() -> {
            while (!done.get() && violation.get() == null) {
                try (Stream<Path> s = Files.list(entries)) {
                    for (Path e : s.toList()) {
                        for (String f : List.of("kernel.cu", "kernel.cubin", "meta", "compile.log")) {
                            if (!Files.isRegularFile(e.resolve(f))) {
                                violation.set(e + " lacks " + f);
                            }
                        }
                        seen.incrementAndGet();
                    }
                } catch (IOException ex) {
                    violation.set(ex.toString());
                }
            }
        });
        reader.start();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<CompiledKernel>> futures = new ArrayList<>();
            for (int i = 100; i < 140; i++) {
                KernelSource s = source(i);
                futures.add(pool.submit(() -> cache.get(s, ARCH)));
            }
            for (Future<CompiledKernel> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
            done.set(true);
            reader.join();
        }
        assertNull(violation.get());
        assertTrue(seen.get() > 0, "the reader saw entries");
        assertEquals(40, fc.compiles.get());
    }

    @Test
    void concurrentRequestsInOneProcessShareOneCompile() throws Exception {
        FakeCompiler fc = new FakeCompiler(300, null, "");
        JitCache cache = cache(fc);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<CompiledKernel>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                futures.add(pool.submit(() -> cache.get(source(8), ARCH)));
            }
            Set<CompiledKernel.Outcome> outcomes = ConcurrentHashMap.newKeySet();
            for (Future<CompiledKernel> f : futures) {
                CompiledKernel k = f.get();
                outcomes.add(k.outcome());
                assertArrayEquals(FakeCompiler.cubinFor(source(8), ARCH), k.cubin());
            }
            assertTrue(outcomes.contains(CompiledKernel.Outcome.COMPILED));
        } finally {
            pool.shutdown();
        }
        assertEquals(1, fc.compiles.get());
    }

    @Test
    void aLiveHolderIsWaitedForNotBroken() throws Exception {
        KernelSource src = source(9);
        FakeCompiler slow = new FakeCompiler(2000, null, "");
        FakeCompiler other = new FakeCompiler();
        JitCache holderCache = cache(slow);
        JitCache waiterCache = cache(other);
        Path lock = dir.resolve("locks").resolve(holderCache.entryDir(src, ARCH).getFileName() + ".lock");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<CompiledKernel> holder = pool.submit(() -> holderCache.get(src, ARCH));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!Files.exists(lock) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(Files.exists(lock), "the holder took the lock");

            CompiledKernel waited = waiterCache.get(src, ARCH);

            assertEquals(CompiledKernel.Outcome.WAITED, waited.outcome());
            assertEquals(CompiledKernel.Outcome.COMPILED, holder.get().outcome());
            assertArrayEquals(holder.get().cubin(), waited.cubin());
        } finally {
            pool.shutdown();
        }
        assertEquals(0, other.compiles.get(), "the heartbeat kept the lock alive for longer than the stale timeout");
        assertEquals(1, slow.compiles.get());
        assertEquals(0, waiterCache.stats().staleLocksBroken());
        assertEquals(1, waiterCache.stats().waits());
    }

    @Test
    void lockOfADeadProcessOnThisHostIsBrokenAtOnce() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        JitCache cache = new JitCache(config(dir), new FakeCompiler(), new JitCache.LockTiming(Duration.ofMillis(100),
                Duration.ofHours(1), Duration.ofSeconds(10)));
        KernelSource src = source(10);
        writeLock(cache, src, gone.pid(), CacheLock.HOST, Instant.now());

        assertEquals(CompiledKernel.Outcome.COMPILED, cache.get(src, ARCH).outcome());
        assertEquals(1, cache.stats().staleLocksBroken());
    }

    @Test
    void lockOfAnotherHostIsBrokenWhenItsHeartbeatIsLongGone() throws Exception {
        JitCache cache = new JitCache(config(dir), new FakeCompiler(), new JitCache.LockTiming(Duration.ofMillis(100),
                Duration.ofSeconds(60), Duration.ofSeconds(10)));
        KernelSource src = source(11);
        writeLock(cache, src, 1, "elsewhere/pid:[1]", Instant.now().minus(Duration.ofHours(2)));

        assertEquals(CompiledKernel.Outcome.COMPILED, cache.get(src, ARCH).outcome());
        assertEquals(1, cache.stats().staleLocksBroken());
    }

    @Test
    void lockOfAnotherHostIsBrokenWhenItsMtimeStopsMoving() throws Exception {
        JitCache cache = cache(new FakeCompiler());
        KernelSource src = source(12);
        writeLock(cache, src, 1, "elsewhere/pid:[1]", Instant.now());

        CompiledKernel k = cache.get(src, ARCH);

        assertEquals(CompiledKernel.Outcome.COMPILED, k.outcome());
        assertEquals(1, cache.stats().staleLocksBroken());
        assertEquals(1, cache.stats().waits());
    }

    private void writeLock(JitCache cache, KernelSource src, long pid, String host, Instant mtime)
            throws IOException {
        Path lock = dir.resolve("locks").resolve(cache.entryDir(src, ARCH).getFileName() + ".lock");
        Files.writeString(lock, "pid=" + pid + "\nhost=" + host + "\nstart=\ntoken=someone-else\n");
        Files.setLastModifiedTime(lock, FileTime.from(mtime));
    }

    @Test
    void compileFailureKeepsTheSourceAndPublishesNothing() throws IOException {
        FakeCompiler fc = new FakeCompiler();
        JitCache cache = cache(fc);
        KernelSource bad = new KernelSource("fp8_gemm", "broken", "#error broken kernel\n");

        CompileException e = assertThrows(CompileException.class, () -> cache.get(bad, ARCH));

        assertTrue(e.log().contains("#error directive"));
        assertTrue(Files.isRegularFile(e.sourcePath()), "the generated source is kept for inspection");
        assertEquals(bad.code(), Files.readString(e.sourcePath()));
        assertTrue(e.getMessage().contains(e.sourcePath().toString()));
        assertFalse(Files.exists(cache.entryDir(bad, ARCH)));
        assertEquals(1, cache.stats().compileFailures());
        try (Stream<Path> s = Files.list(dir.resolve("locks"))) {
            assertEquals(0, s.count(), "the lock was released after the failure");
        }
        assertThrows(CompileException.class, () -> cache.get(bad, ARCH), "failures are not cached");
        assertEquals(2, fc.compiles.get());
    }

    @Test
    void ptxasCheckRejectsSpills() {
        String spilling = "ptxas info    : Function properties for k\n"
                + "    16 bytes stack frame, 16 bytes spill stores, 16 bytes spill loads\n"
                + "ptxas info    : Used 255 registers\n";
        JitConfig checking = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", dir.toString(), "DG_JIT_PTXAS_CHECK", "1")::get);
        var e = assertThrows(CompileException.class, () -> new JitCache(checking, new FakeCompiler(0, null, spilling),
                FAST).get(source(13), ARCH));
        assertTrue(e.getMessage().contains("DG_JIT_PTXAS_CHECK"), e.getMessage());
        JitCache lenient = new JitCache(config(dir), new FakeCompiler(0, null, spilling), FAST);
        assertEquals(16, lenient.get(source(13), ARCH).ptxasReport().spillStoreBytes());
    }

    @Test
    void disabledCacheCompilesEveryProcessAndWritesNothing() throws IOException {
        JitConfig off = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", dir.toString(), "DG_JIT_DISABLE_CACHE", "1")::get);
        FakeCompiler fc = new FakeCompiler();
        CompiledKernel a = new JitCache(off, fc, FAST).get(source(14), ARCH);
        CompiledKernel b = new JitCache(off, fc, FAST).get(source(14), ARCH);
        assertEquals(2, fc.compiles.get());
        assertNull(a.entryDir());
        assertArrayEquals(a.cubin(), b.cubin());
        try (Stream<Path> s = Files.list(dir.resolve("cache"))) {
            assertEquals(0, s.count());
        }
        try (Stream<Path> s = Files.list(dir.resolve("tmp"))) {
            assertEquals(0, s.count(), "build directories are removed");
        }
    }

    @Test
    void dumpPtxStoresItInTheEntryAndArchIsValidated() throws IOException {
        JitConfig dump = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", dir.toString(), "DG_JIT_DUMP_PTX", "1")::get);
        Path entry = new JitCache(dump, new FakeCompiler(), FAST).get(source(15), ARCH).entryDir();
        assertEquals("// ptx", Files.readString(entry.resolve("kernel.ptx")));
        assertThrows(IllegalArgumentException.class, () -> cache(new FakeCompiler()).get(source(15), "90a"));
        assertNotEquals(cache(new FakeCompiler()).key(source(15), ARCH), "");
    }
}
