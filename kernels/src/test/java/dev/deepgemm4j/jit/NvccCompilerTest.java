package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real NVCC compiles (skipped without nvcc): CUBIN, ptxas report, errors with log and source path, ptxas check. */
class NvccCompilerTest {

    static final KernelSource ADD_ONE = new KernelSource("jit_test", "add_one",
            "extern \"C\" __global__ void add_one(float* x, int n) {\n"
            + "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
            + "    if (i < n) x[i] += 1.0f;\n}\n");

    @TempDir
    Path dir;

    @BeforeAll
    static void requireNvcc() {
        assumeTrue(nvccAvailable(), "nvcc not found on PATH / CUDA_HOME");
    }

    static boolean nvccAvailable() {
        return Files.isExecutable(JitConfig.fromEnvironment().nvccPath());
    }

    private JitConfig config(String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put("DG_JIT_CACHE_DIR", dir.toString());
        env.put("PATH", System.getenv("PATH"));
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        String home = System.getenv("CUDA_HOME");
        if (home != null) {
            env.put("CUDA_HOME", home);
        }
        return JitConfig.from(env::get);
    }

    @Test
    void compilesATinyKernelForSm90aAndReportsPtxas() throws IOException {
        NvccCompiler nvcc = new NvccCompiler(config());
        assertTrue(nvcc.identity().matches("NVCC\\d+\\.\\d+(\\.\\d+)? /.*"), nvcc.identity());
        assertEquals("sm_90a", TargetArch.forDevice(9, 0, nvcc.version()[0], nvcc.version()[1]));

        CompiledKernel k = new JitCache(config(), nvcc).get(ADD_ONE, "sm_90a");

        byte[] elf = {0x7F, 'E', 'L', 'F'};
        assertArrayEquals(elf, Arrays.copyOf(k.cubin(), 4), "a CUBIN is an ELF file");
        PtxasReport report = k.ptxasReport();
        assertTrue(report.found(), k.compilerLog());
        assertTrue(report.maxRegisters() > 0);
        assertEquals(0, report.spillStoreBytes());
        assertEquals(0, report.spillLoadBytes());
        assertTrue(!report.usesLocalMemory());
        assertTrue(k.compilerLog().contains("add_one") && k.compilerLog().contains("sm_90a"), k.compilerLog());
        try (var files = Files.list(k.entryDir())) {
            assertEquals(java.util.Set.of("kernel.cu", "kernel.cubin", "meta", "compile.log"),
                    files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()),
                    "NVCC leaves nothing of its own in the entry");
        }
    }

    @Test
    void facadeCompilesThroughTheConfiguredCompiler() {
        try {
            Jit.configure(config("DG_JIT_USE_NVRTC", "0"));
            assertTrue(Jit.cache().compiler() instanceof NvccCompiler);
            String arch = Jit.targetArch(9, 0);
            assertEquals("sm_90a", arch);
            CompiledKernel k = Jit.get(ADD_ONE, arch);
            assertEquals(CompiledKernel.Outcome.COMPILED, k.outcome());
            assertEquals(CompiledKernel.Outcome.MEMORY_HIT, Jit.get(ADD_ONE, arch).outcome());
            assertEquals(1, Jit.stats().compiles());
            assertEquals(1, Jit.stats().memoryHits());
        } finally {
            Jit.reset();
        }
    }

    @Test
    void autoFallsBackToNvccOnlyWhenNvrtcCannotLoad() {
        boolean nvrtcLoads;
        try {
            dev.deepgemm4j.cuda.Nvrtc.load();
            nvrtcLoads = true;
        } catch (IllegalStateException e) {
            nvrtcLoads = false;
        }
        KernelCompiler auto = Jit.createCompiler(config());
        assertEquals(nvrtcLoads, auto instanceof NvrtcCompiler, auto.identity());
        if (!nvrtcLoads) {
            assertThrows(IllegalStateException.class, () -> Jit.createCompiler(config("DG_JIT_USE_NVRTC", "1")));
        }
    }

    @Test
    void brokenKernelThrowsWithLogAndSourcePath() throws IOException {
        KernelSource broken = new KernelSource("jit_test", "broken",
                "extern \"C\" __global__ void broken(float* x) { x[0] = undefined_thing; }\n");
        CompileException e = assertThrows(CompileException.class,
                () -> new JitCache(config(), new NvccCompiler(config())).get(broken, "sm_90a"));
        assertTrue(e.log().contains("undefined_thing") && e.log().contains("error"), e.log());
        assertEquals(broken.code(), Files.readString(e.sourcePath()));
        assertTrue(e.getMessage().contains("exited with"), e.getMessage());
    }

    @Test
    void ptxasCheckRejectsAKernelUsingLocalMemory() {
        KernelSource local = new KernelSource("jit_test", "uses_stack",
                "extern \"C\" __global__ void uses_stack(float* x, int n) {\n"
                + "    float a[64];\n"
                + "    for (int i = 0; i < 64; i++) a[i] = x[(i * n) % 97];\n"
                + "    x[threadIdx.x] = a[n & 63];\n}\n");
        JitConfig checking = config("DG_JIT_PTXAS_CHECK", "1");
        CompileException e = assertThrows(CompileException.class,
                () -> new JitCache(checking, new NvccCompiler(checking)).get(local, "sm_90a"));
        assertTrue(e.getMessage().contains("DG_JIT_PTXAS_CHECK"), e.getMessage());
        assertTrue(e.log().contains("Local memory used"), e.log());
    }

    @Test
    void dumpPtxWritesThePtxIntoTheEntry() throws IOException {
        JitConfig dump = config("DG_JIT_DUMP_PTX", "1", "DG_JIT_WITH_LINEINFO", "1");
        NvccCompiler nvcc = new NvccCompiler(dump);
        assertTrue(nvcc.options("sm_90a").contains("-lineinfo"));
        CompiledKernel k = new JitCache(dump, nvcc).get(ADD_ONE, "sm_90a");
        String ptx = Files.readString(k.entryDir().resolve("kernel.ptx"));
        assertTrue(ptx.contains(".entry add_one"), ptx);
    }
}
