package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deepgemm4j.cuda.FakeCudaLibraries;
import dev.deepgemm4j.cuda.Nvrtc;
import dev.deepgemm4j.cuda.NvrtcLocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NVRTC compiler's options, identity and error handling, through a fake libnvrtc. */
class NvrtcCompilerTest {

    @TempDir
    Path dir;

    private Nvrtc fakeNvrtc() throws IOException {
        assumeTrue(FakeCudaLibraries.unavailable() == null, FakeCudaLibraries::unavailable);
        Files.createDirectories(dir.resolve("home/include"));
        Files.writeString(dir.resolve("home/include/cuda_fp16.h"), "");
        return Nvrtc.open(FakeCudaLibraries.nvrtc(),
                new NvrtcLocator(Map.of("CUDA_HOME", dir.resolve("home").toString())::get, dir.resolve("none")));
    }

    @Test
    void optionsFollowTheConfigAndReachNvrtc() throws IOException {
        JitConfig config = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", dir.resolve("c").toString(),
                "DG_JIT_PTXAS_CHECK", "1", "DG_JIT_WITH_LINEINFO", "1", "DG_JIT_CPP_STANDARD", "20")::get);
        NvrtcCompiler compiler = new NvrtcCompiler(config, fakeNvrtc());
        assertEquals(List.of("--gpu-architecture=sm_90a", "-std=c++20", "-default-device", "--ptxas-options=-v",
                "--include-path=" + dir.resolve("home/include"), "-lineinfo",
                "--ptxas-options=--warn-on-local-memory-usage", "--ptxas-options=--warn-on-spills"),
                compiler.options("sm_90a"));
        assertTrue(compiler.identity().startsWith("NVRTC13.0 /"), compiler.identity());
        assertEquals(List.of(13, 0), List.of(compiler.version()[0], compiler.version()[1]));

        KernelSource src = new KernelSource("jit_test", "k", "// fake-signature: k i\n");
        CompiledKernel k = new JitCache(config, compiler).get(src, "sm_90a");
        String cubin = new String(k.cubin(), StandardCharsets.US_ASCII);
        assertTrue(cubin.startsWith("FAKECUBIN\nk i\n// options:\n" + String.join("\n", compiler.options("sm_90a"))),
                cubin);
        assertEquals(42, k.ptxasReport().maxRegisters());
    }

    @Test
    void failuresCarryLogAndSourcePath() throws IOException {
        JitConfig config = JitConfig.from(Map.of("DG_JIT_CACHE_DIR", dir.resolve("c").toString())::get);
        NvrtcCompiler compiler = new NvrtcCompiler(config, fakeNvrtc());
        KernelSource bad = new KernelSource("jit_test", "bad", "#error no\n");
        CompileException e = assertThrows(CompileException.class, () -> new JitCache(config, compiler).get(bad,
                "sm_90a"));
        assertTrue(e.log().contains("fake compile error") && e.log().contains("NVRTC_ERROR_COMPILATION"), e.log());
        assertEquals(bad.code(), Files.readString(e.sourcePath()));
        CompileException ptxTarget = assertThrows(CompileException.class,
                () -> new JitCache(config, compiler).get(new KernelSource("jit_test", "k", "// x\n"), "compute_90a"));
        assertTrue(ptxTarget.getMessage().contains("sm_XX"), ptxTarget.getMessage());
    }
}
