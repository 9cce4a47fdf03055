package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DeepGEMM's JIT variables, with DeepGEMM's meaning and our defaults. */
class JitConfigTest {

    @TempDir
    Path dir;

    @Test
    void defaults() {
        JitConfig c = JitConfig.from(Map.<String, String>of()::get);
        assertEquals(Path.of(System.getProperty("user.home"), ".deepgemm4j"), c.cacheDir());
        assertEquals(JitConfig.CompilerChoice.AUTO, c.compiler());
        assertEquals(17, c.cppStandard());
        assertEquals(Path.of("/usr/local/cuda/bin/nvcc"), c.nvccPath());
        assertFalse(c.debug() || c.printCompilerCommand() || c.ptxasVerbose() || c.ptxasCheck() || c.withLineinfo()
                || c.dumpPtx() || c.dumpSass() || c.disableCache() || c.printConfigs() || c.autotune());
    }

    @Test
    void everyVariableSetsItsField() {
        Map<String, String> env = new HashMap<>();
        env.put("DG_JIT_CACHE_DIR", dir.toString());
        env.put("DG_JIT_USE_NVRTC", "0");
        env.put("DG_JIT_NVCC_COMPILER", "/opt/nvcc");
        env.put("DG_JIT_CPP_STANDARD", "20");
        for (String flag : new String[] {"DG_JIT_DEBUG", "DG_JIT_PRINT_COMPILER_COMMAND", "DG_JIT_PTXAS_VERBOSE",
            "DG_JIT_PTXAS_CHECK", "DG_JIT_WITH_LINEINFO", "DG_JIT_DUMP_PTX", "DG_JIT_DUMP_SASS",
            "DG_JIT_DISABLE_CACHE", "DG_PRINT_CONFIGS", "DG_AUTOTUNE"}) {
            env.put(flag, "1");
        }
        JitConfig c = JitConfig.from(env::get);
        assertEquals(new JitConfig(dir, JitConfig.CompilerChoice.NVCC, Path.of("/opt/nvcc"), 20, true, true, true,
                true, true, true, true, true, true, true), c);
    }

    @Test
    void flagsAreSetWhenNonZero() {
        assertEquals(JitConfig.CompilerChoice.NVRTC, JitConfig.from(Map.of("DG_JIT_USE_NVRTC", "1")::get).compiler());
        assertEquals(JitConfig.CompilerChoice.NVRTC, JitConfig.from(Map.of("DG_JIT_USE_NVRTC", "7")::get).compiler());
        assertEquals(JitConfig.CompilerChoice.NVCC,
                JitConfig.from(Map.of("DG_JIT_USE_NVRTC", "false")::get).compiler());
        assertFalse(JitConfig.from(Map.of("DG_JIT_DEBUG", "0")::get).debug());
        assertTrue(JitConfig.from(Map.of("DG_JIT_DEBUG", "true")::get).debug());
        JitConfig asm = JitConfig.from(Map.of("DG_JIT_DUMP_ASM", "1")::get);
        assertTrue(asm.dumpPtx() && asm.dumpSass());
    }

    @Test
    void badValuesNameTheVariable() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> JitConfig.from(Map.of("DG_JIT_PTXAS_CHECK", "yes please")::get));
        assertTrue(e.getMessage().contains("DG_JIT_PTXAS_CHECK"), e.getMessage());
        var std = assertThrows(IllegalArgumentException.class,
                () -> JitConfig.from(Map.of("DG_JIT_CPP_STANDARD", "14")::get));
        assertTrue(std.getMessage().contains("DG_JIT_CPP_STANDARD"), std.getMessage());
    }

    @Test
    void nvccIsFoundUnderCudaHomeThenOnThePath() throws IOException {
        assertEquals(Path.of("/ch/bin/nvcc"),
                JitConfig.from(Map.of("CUDA_HOME", "/ch", "CUDA_PATH", "/cp")::get).nvccPath());
        assertEquals(Path.of("/cp/bin/nvcc"), JitConfig.from(Map.of("CUDA_PATH", "/cp")::get).nvccPath());
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path nvcc = Files.createFile(bin.resolve("nvcc"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        assertEquals(nvcc, JitConfig.from(Map.of("PATH", dir.resolve("nope") + ":" + bin)::get).nvccPath());
    }

    @Test
    void systemPropertiesOverrideTheEnvironment() {
        assertEquals("deepgemm4j.jit.cache_dir", JitConfig.propertyName("DG_JIT_CACHE_DIR"));
        assertEquals("deepgemm4j.jit.print_configs", JitConfig.propertyName("DG_PRINT_CONFIGS"));
        try {
            System.setProperty("deepgemm4j.jit.cache_dir", dir.toString());
            System.setProperty("deepgemm4j.jit.use_nvrtc", "0");
            System.setProperty("deepgemm4j.jit.ptxas_check", "1");
            JitConfig c = JitConfig.fromEnvironment();
            assertEquals(dir, c.cacheDir());
            assertEquals(JitConfig.CompilerChoice.NVCC, c.compiler());
            assertTrue(c.ptxasCheck());
        } finally {
            System.clearProperty("deepgemm4j.jit.cache_dir");
            System.clearProperty("deepgemm4j.jit.use_nvrtc");
            System.clearProperty("deepgemm4j.jit.ptxas_check");
        }
    }
}
