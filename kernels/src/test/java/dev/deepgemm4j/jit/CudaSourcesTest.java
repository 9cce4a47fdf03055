package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.heuristics.KernelCatalog;
import dev.deepgemm4j.heuristics.KernelConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class CudaSourcesTest {

    private static final Pattern SIGNATURE = Pattern.compile("DG_KERNEL_NAME\\(([^)]*)\\)\\s*\\{");

    @Test
    void everyCatalogUnitIsSelfContainedWithOneEntryPoint() {
        List<KernelConfig> all = KernelCatalog.all();
        Set<String> names = new HashSet<>();
        for (KernelConfig config : all) {
            KernelSource src = config.source();
            String code = src.code();
            assertEquals(1, count(code, "extern \"C\""), src.kernelName());
            assertEquals(1, count(code, "__global__"), src.kernelName());
            assertFalse(code.contains("#include"), src.kernelName() + " still includes something");
            assertFalse(code.contains("#pragma once"), src.kernelName());
            assertTrue(code.contains("#define DG_KERNEL_NAME " + src.kernelName() + "\n"), src.kernelName());
            assertTrue(names.add(src.kernelName()), "kernel name used twice: " + src.kernelName());
        }
    }

    @Test
    void theDenseHopperGemmTakes256RowTilesUpTo128ColumnsWithTwoMathWarpgroups() {
        KernelSource tall = CudaSources.sm90Fp8Gemm1d2d(256, 128, 3, 132);
        assertTrue(tall.code().contains("#define DG_BLOCK_M 256\n"));
        assertEquals(384, CudaSources.sm90Threads(256), "a producer and two math warpgroups");
        assertEquals(384, CudaSources.sm90Threads(128));
        assertEquals(256, CudaSources.sm90Threads(64));
        assertEquals(3, CudaSources.sm90MaxStages(256, 128), "64 KB of D staging, then 49 KB stages (A 32 KB, B 16 KB, scales, barriers)");
        IllegalArgumentException wide = assertThrows(IllegalArgumentException.class,
                () -> CudaSources.sm90Fp8Gemm1d2d(256, 144, 2, 132));
        assertTrue(wide.getMessage().contains("[16, 128]"), wide.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CudaSources.sm90Fp8GemmGrouped1d2d(256, 128, 3, 132, CudaSources.SM90_MASKED));
    }

    @Test
    void everyKernelDocumentsEachParameterInItsHeader() {
        for (KernelConfig config : KernelCatalog.all()) {
            String code = config.source().code();
            Matcher m = SIGNATURE.matcher(code);
            assertTrue(m.find(), config.source().kernelName());
            String header = code.substring(0, m.start());
            for (String parameter : m.group(1).split(",")) {
                String[] words = parameter.strip().split("\\s+");
                String name = words[words.length - 1];
                assertTrue(Pattern.compile("(?m)^//\\s{2,}\\S.*\\b" + name + "\\b").matcher(header).find(),
                        config.source().family() + ": parameter " + name + " is not documented");
            }
        }
    }

    @Test
    void bakesConstantsBeforeTheCode() {
        KernelSource src = CudaSources.denseGemm(64, 128, GemmScales.FP32_PER_ROW_B, false);
        String code = src.code();
        assertEquals("dense_gemm", src.family());
        assertEquals("dg_dense_gemm_m64n128_pr_f32", src.kernelName());
        int firstCode = code.indexOf("typedef");
        for (String define : new String[] {"#define DG_BLOCK_M 64\n", "#define DG_BLOCK_N 128\n",
                "#define DG_SCALES 1\n", "#define DG_OUT_BF16 0\n"}) {
            int at = code.indexOf(define);
            assertTrue(at >= 0 && at < firstCode, define.strip() + " must precede the code");
        }
        assertTrue(CudaSources.groupedGemmContiguous(32, 64, GemmScales.UE8M0_PER_ROW, true).code()
                .contains("#define DG_PSUM_LAYOUT 1\n"));
        assertTrue(CudaSources.kGroupedGemm(16, 64, true).code().contains("#define DG_MN_MAJOR 1\n"));
    }

    @Test
    void inlinesEachLocalHeaderOnceInIncludeOrder() {
        Map<String, String> files = Map.of(
                "fam.cu", "#include \"b.cuh\"\n#include \"c.cuh\"\nextern \"C\" __global__ void DG_KERNEL_NAME() {}\n",
                "b.cuh", "#pragma once\nint from_b;\n",
                "c.cuh", "#pragma once\n#include \"b.cuh\"\n#  include \"d.cuh\"\nint from_c;\n",
                "d.cuh", "int from_d;\n");
        String code = new SourceAssembler(files::get).assemble("fam", "k", Map.of("DG_X", 3L)).code();
        assertEquals(1, count(code, "int from_b;"));
        assertEquals(1, count(code, "int from_d;"));
        assertTrue(code.indexOf("#define DG_X 3") < code.indexOf("int from_b;"));
        assertTrue(code.indexOf("int from_b;") < code.indexOf("int from_d;"));
        assertTrue(code.indexOf("int from_d;") < code.indexOf("int from_c;"));
        assertTrue(code.indexOf("int from_c;") < code.indexOf("extern"));
        assertFalse(code.contains("#include") || code.contains("#pragma once"));
    }

    @Test
    void rejectsIncludesNvrtcCannotResolve() {
        for (String include : new String[] {"#include <cuda_fp8.h>", "#include \"common.h\"",
                "#include \"../x.cuh\"", " # include <stdint.h>"}) {
            Map<String, String> files = Map.of("fam.cu", "int a;\n" + include + "\n");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SourceAssembler(files::get).assemble("fam", "k", Map.of()));
            assertTrue(e.getMessage().contains("fam.cu:2"), e.getMessage());
        }
        Map<String, String> missing = Map.of("fam.cu", "#include \"nope.cuh\"\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SourceAssembler(missing::get).assemble("fam", "k", Map.of()));
        assertTrue(e.getMessage().contains("nope.cuh") && e.getMessage().contains("fam.cu"), e.getMessage());
    }

    @Test
    void rejectsBadConstantNames() {
        Map<String, String> files = Map.of("fam.cu", "int a;\n");
        SourceAssembler assembler = new SourceAssembler(files::get);
        assertThrows(IllegalArgumentException.class, () -> assembler.assemble("fam", "k", Map.of("BLOCK", 1L)));
        assertThrows(IllegalArgumentException.class, () -> assembler.assemble("fam", "k",
                Map.of("DG_KERNEL_NAME", 1L)));
    }

    @Test
    void rejectsConfigurationsTheKernelsCannotBuild() {
        assertThrows(IllegalArgumentException.class, () -> CudaSources.denseGemm(64, 96, GemmScales.FP32_PER_BLOCK_B,
                true));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.denseGemm(8, 64, GemmScales.FP32_PER_BLOCK_B,
                true));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.denseGemm(128, 128,
                GemmScales.FP32_PER_BLOCK_B, true));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.mqaLogits(65, 128, 256));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.pagedMqaLogits(64, 40, 256));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.mqaLogits(64, 128, 100));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.stridedCopy(3, 256));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.fp8Transpose(96));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.fp8Transpose(512));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.castToFp8(0, 128, false, false, 128));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.pagedMqaMetadata(0, 2, false));
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length())) {
            n++;
        }
        return n;
    }
}
