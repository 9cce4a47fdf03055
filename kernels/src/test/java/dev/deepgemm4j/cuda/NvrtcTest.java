package dev.deepgemm4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where NVRTC is looked for, what happens when it is not found, and the FFM binding against a fake libnvrtc. */
class NvrtcTest {

    @TempDir
    Path root;

    private static Path touch(Path p) throws IOException {
        Files.createDirectories(p.getParent());
        return Files.writeString(p, "not a library");
    }

    @Test
    void candidatesFollowTheDocumentedSearchOrder() throws IOException {
        Path usrLocal = root.resolve("usr/local");
        Path home = root.resolve("toolkit");
        Path explicit = touch(root.resolve("custom/libnvrtc.so.13.0.88"));
        Path homeLib = touch(home.resolve("lib64/libnvrtc.so.13"));
        Path homeTarget = touch(home.resolve("targets/x86_64-linux/lib/libnvrtc.so"));
        Path cuda = touch(usrLocal.resolve("cuda/lib64/libnvrtc.so.12"));
        Path v129 = touch(usrLocal.resolve("cuda-12.9/lib64/libnvrtc.so.12"));
        Path v1210 = touch(usrLocal.resolve("cuda-12.10/targets/x86_64-linux/lib/libnvrtc.so"));
        Path v13 = touch(usrLocal.resolve("cuda-13.0/lib64/libnvrtc.so.13"));
        touch(usrLocal.resolve("cuda-13.0/lib64/libnvrtc.so.11"));
        Files.createDirectories(usrLocal.resolve("cuda-notaversion/lib64"));
        assumeTrue("amd64".equals(System.getProperty("os.arch")), "layout written for x86_64");

        var env = Map.of("NVRTC_LIB", explicit.toString(), "CUDA_HOME", home.toString());
        NvrtcLocator locator = new NvrtcLocator(env::get, usrLocal);

        assertEquals(List.of(explicit, homeLib, homeTarget, cuda, v13, v1210, v129), locator.existing());
        List<Path> all = locator.candidates();
        assertEquals(explicit, all.get(0));
        assertEquals(home.resolve("lib64/libnvrtc.so"), all.get(1), "libnvrtc.so first, then .so.13, .so.12");
        assertEquals(home.resolve("lib64/libnvrtc.so.13"), all.get(2));
        assertEquals(home.resolve("lib64/libnvrtc.so.12"), all.get(3));
        assertTrue(all.indexOf(home.resolve("lib/libnvrtc.so")) < all.indexOf(usrLocal.resolve(
                "cuda/lib64/libnvrtc.so")), "CUDA_HOME/lib before /usr/local/cuda");
        assertTrue(all.stream().noneMatch(p -> p.toString().contains("notaversion")));
    }

    @Test
    void cudaPathIsUsedWhenCudaHomeIsUnset() throws IOException {
        Path lib = touch(root.resolve("cp/lib/libnvrtc.so.13"));
        NvrtcLocator locator = new NvrtcLocator(Map.of("CUDA_PATH", root.resolve("cp").toString())::get,
                root.resolve("empty"));
        assertEquals(List.of(lib), locator.existing());
    }

    @Test
    void includeDirIsFoundNextToTheLibraryOrUnderCudaHome() throws IOException {
        Path lib = touch(root.resolve("tk/targets/x86_64-linux/lib/libnvrtc.so"));
        touch(root.resolve("tk/targets/x86_64-linux/include/cuda_fp16.h"));
        NvrtcLocator bare = new NvrtcLocator(k -> null, root.resolve("none"));
        assertEquals(Optional.of(root.resolve("tk/targets/x86_64-linux/include")), bare.includeDir(lib));
        touch(root.resolve("home/include/cuda_fp16.h"));
        NvrtcLocator withHome = new NvrtcLocator(Map.of("CUDA_HOME", root.resolve("home").toString())::get,
                root.resolve("none"));
        assertEquals(Optional.of(root.resolve("home/include")), withHome.includeDir(lib));
        assertEquals(Optional.empty(), bare.includeDir(root.resolve("x/y/libnvrtc.so")));
    }

    @Test
    void notFoundReportsEveryPlaceItLooked() throws IOException {
        Path broken = touch(root.resolve("cuda/lib64/libnvrtc.so"));
        NvrtcLocator locator = new NvrtcLocator(k -> null, root);
        var e = assertThrows(IllegalStateException.class,
                () -> Nvrtc.load(locator, List.of("libnvrtc-deepgemm4j-test-absent.so.99")));
        assertTrue(e.getMessage().startsWith("NVRTC not found"), e.getMessage());
        assertTrue(e.getMessage().contains(broken.toString()), "the unloadable candidate is named");
        assertTrue(e.getMessage().contains("libnvrtc-deepgemm4j-test-absent.so.99"));
        assertTrue(e.getMessage().contains(root.resolve("cuda/targets/x86_64-linux/lib/libnvrtc.so.12").toString())
                || !"amd64".equals(System.getProperty("os.arch")));
    }

    @Test
    void bindingMarshalsSourceOptionsAndOutputs() {
        assumeTrue(FakeCudaLibraries.find("gcc").isPresent(), "gcc not found");
        Nvrtc nvrtc = Nvrtc.open(FakeCudaLibraries.nvrtc(), new NvrtcLocator(k -> null, root));
        assertEquals("13.0", nvrtc.version());
        String src = "// fake-signature: kern ipm\nextern \"C\" __global__ void kern() {}\n";
        List<String> options = List.of("--gpu-architecture=sm_90a", "-std=c++17", "--ptxas-options=-v");

        Nvrtc.Result ok = nvrtc.compile(src, "kernel.cu", options);

        assertTrue(ok.success());
        assertEquals("FAKECUBIN\nkern ipm\n// options:\n" + String.join("\n", options) + "\n\0",
                new String(ok.cubin(), StandardCharsets.US_ASCII));
        assertNull(ok.ptx(), "no PTX for an sm_ target in the fake");
        assertTrue(ok.log().startsWith(String.join("\n", options)), ok.log());
        assertTrue(ok.log().contains("Used 42 registers"));

        Nvrtc.Result ptxOnly = nvrtc.compile(src, "kernel.cu", List.of("--gpu-architecture=compute_90a"));
        assertTrue(ptxOnly.success());
        assertNull(ptxOnly.cubin(), "nvrtcGetCUBINSize failing for a PTX target is not an error");
        assertEquals("// fake ptx for compute_90a\n", new String(ptxOnly.ptx(), StandardCharsets.US_ASCII));

        Nvrtc.Result bad = nvrtc.compile("#error nope\n", "kernel.cu", List.of());
        assertTrue(!bad.success());
        assertNull(bad.cubin());
        assertTrue(bad.log().contains("fake compile error"), bad.log());
        assertTrue(bad.log().contains("NVRTC_ERROR_COMPILATION (6)"), bad.log());
    }
}
