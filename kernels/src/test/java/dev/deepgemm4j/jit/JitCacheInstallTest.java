package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Moving a cache entry from one cache into another: export, install, and what install refuses. */
class JitCacheInstallTest {

    private static final String ARCH = "sm_90a";
    private static final KernelSource SOURCE = new KernelSource("fp8_gemm", "fp8_gemm_7",
            "extern \"C\" __global__ void fp8_gemm_7(float* d) { d[0] = 7.0f; }\n");

    @TempDir
    Path dir;

    private static JitCache cache(Path root, KernelCompiler compiler, boolean disabled) {
        return new JitCache(JitConfig.from(Map.of("DG_JIT_CACHE_DIR", root.toString(), "DG_JIT_DISABLE_CACHE",
                disabled ? "1" : "0")::get), compiler);
    }

    @Test
    void anExportedEntryInstallsAsADiskHit() {
        JitCache from = cache(dir.resolve("a"), new FakeCompiler(), false);
        Map<String, byte[]> files = from.exportEntry(SOURCE, ARCH).orElseThrow();
        assertTrue(files.keySet().containsAll(java.util.Set.of("kernel.cu", "kernel.cubin", "meta")), files.keySet()
                .toString());
        FakeCompiler fc = new FakeCompiler();
        JitCache to = cache(dir.resolve("b"), fc, false);
        assertTrue(to.installEntry(SOURCE, ARCH, files));
        assertFalse(to.installEntry(SOURCE, ARCH, files), "already there");
        CompiledKernel k = to.get(SOURCE, ARCH);
        assertEquals(CompiledKernel.Outcome.DISK_HIT, k.outcome());
        assertArrayEquals(FakeCompiler.cubinFor(SOURCE, ARCH), k.cubin());
        assertEquals(0, fc.compiles.get());
    }

    @Test
    void refusesNamesThatAreNotPlainFileNames() {
        Map<String, byte[]> files = new TreeMap<>(cache(dir.resolve("a"), new FakeCompiler(), false)
                .exportEntry(SOURCE, ARCH).orElseThrow());
        JitCache to = cache(dir.resolve("b"), new FakeCompiler(), false);
        for (String bad : new String[] {"../meta", "sub/kernel.cu", "..", ".hidden", ""}) {
            Map<String, byte[]> withBad = new TreeMap<>(files);
            withBad.put(bad, new byte[1]);
            var e = assertThrows(IllegalArgumentException.class, () -> to.installEntry(SOURCE, ARCH, withBad), bad);
            assertTrue(e.getMessage().startsWith("files:"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("meta")));
        assertFalse(Files.exists(to.entryDir(SOURCE, ARCH)));
    }

    @Test
    void aDisabledCacheNeitherExportsNorInstalls() {
        JitCache disabled = cache(dir.resolve("a"), new FakeCompiler(), true);
        assertTrue(disabled.exportEntry(SOURCE, ARCH).isEmpty());
        Map<String, byte[]> files = cache(dir.resolve("b"), new FakeCompiler(), false).exportEntry(SOURCE, ARCH)
                .orElseThrow();
        assertFalse(disabled.installEntry(SOURCE, ARCH, files));
    }
}
