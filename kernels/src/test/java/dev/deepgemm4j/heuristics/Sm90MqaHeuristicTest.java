package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.jit.CudaSources;
import java.util.List;
import org.junit.jupiter.api.Test;

class Sm90MqaHeuristicTest {

    @Test
    void everyHeadsAndDimGetsTheFourWarpgroupKernelWithTheDeepestPipelineThatFits() {
        // D: stages, dynamic shared memory (1 KB slack + 2 q stages of 128·D + stages·(256·D + 65 rows of 4 scales in
        // 1152 bytes) + 1 KB of barriers).
        int[][] expected = {{32, 8, 84992}, {64, 8, 158720}, {128, 5, 204416}};
        for (int h : MqaLogitsHeuristic.HEADS) {
            for (int[] e : expected) {
                Sm90MqaConfig c = MqaLogitsHeuristic.sm90Plain(4096, h, e[0], 132).config();
                assertEquals(List.of(h, e[0], 128, 4, false, e[1]), List.of(c.heads(), c.headDim(), c.qRows(),
                        c.mathWgs(), c.pingpong(), c.stages()), c.toString());
                assertEquals(640, c.threads());
                assertEquals(256, c.blockKv());
                assertEquals(128 / h, c.blockQ());
                assertEquals(e[2], c.dynamicSharedBytes());
                assertTrue(c.dynamicSharedBytes() <= LaunchGeometry.MAX_SHARED_BYTES);
                String code = c.source().code();
                assertEquals("sm90_fp8_mqa_logits", c.source().family());
                assertTrue(code.contains("#define DG_KV_STAGES " + e[1] + "\n"), "stages baked");
                assertTrue(code.contains("#define DG_HEADS " + h + "\n") && code.contains("#define DG_HEAD_DIM " + e[0]
                        + "\n"), "shape baked");
            }
        }
    }

    @Test
    void oneCtaPerQueryBlockUpToTheSmCount() {
        // H=64: 2 queries per block; H=32: 4.
        assertEquals(132, MqaLogitsHeuristic.sm90Plain(8192, 64, 128, 132).geometry().gridX());
        assertEquals(78, MqaLogitsHeuristic.sm90Plain(8192, 64, 128, 78).geometry().gridX());
        assertEquals(1, MqaLogitsHeuristic.sm90Plain(1, 64, 128, 132).geometry().gridX());
        assertEquals(19, MqaLogitsHeuristic.sm90Plain(37, 64, 64, 132).geometry().gridX());
        assertEquals(10, MqaLogitsHeuristic.sm90Plain(37, 32, 64, 132).geometry().gridX());
        assertEquals(132, MqaLogitsHeuristic.sm90Plain(529, 32, 32, 132).geometry().gridX());
        LaunchGeometry g = MqaLogitsHeuristic.sm90Plain(2048, 64, 128, 132).geometry();
        assertEquals(List.of(1, 1, 640, 204416), List.of(g.gridY(), g.gridZ(), g.threads(), g.dynamicSharedBytes()));
    }

    @Test
    void theCatalogHoldsExactlyTheConfigurationsTheHeuristicPicks() {
        List<KernelConfig> catalog = KernelCatalog.all();
        List<KernelConfig> sm90 = catalog.stream().filter(c -> c instanceof Sm90MqaConfig).toList();
        assertEquals(12, sm90.size(), "one per (H, D, logits dtype)");
        for (int h : MqaLogitsHeuristic.HEADS) {
            for (int d : MqaLogitsHeuristic.HEAD_DIMS) {
                for (long s : new long[] {1, 2048, 8192}) {
                    for (boolean bf16 : new boolean[] {false, true}) {
                        assertTrue(sm90.contains(MqaLogitsHeuristic.sm90Plain(s, h, d, 132, bf16).config()));
                        assertTrue(sm90.contains(MqaLogitsHeuristic.sm90Plain(s, h, d, 78, bf16).config()));
                    }
                }
            }
        }
    }

    /**
     * BF16 logits: every kernel that writes logits has a BF16 variant with its own name (the JIT cache key) and
     * DG_LOGITS_BF16 baked, and the same launch geometry; the FP32 variants keep their names and bake nothing new.
     */
    @Test
    void bf16LogitsPickDistinctKernelsWithTheSameGeometry() {
        List<Variants> pairs = List.of(
                new Variants(MqaLogitsHeuristic.sm90Plain(8192, 64, 128, 132),
                        MqaLogitsHeuristic.sm90Plain(8192, 64, 128, 132, true)),
                new Variants(MqaLogitsHeuristic.sm90Paged(64, 128, 2, 64, 132),
                        MqaLogitsHeuristic.sm90Paged(64, 128, 2, 64, 132, true)),
                new Variants(MqaLogitsHeuristic.plain(40, 700, 32, 64),
                        MqaLogitsHeuristic.plain(40, 700, 32, 64, true)),
                new Variants(MqaLogitsHeuristic.paged(6, 640, 64, 32),
                        MqaLogitsHeuristic.paged(6, 640, 64, 32, true)),
                new Variants(MqaLogitsHeuristic.clean(8192, 65536),
                        MqaLogitsHeuristic.clean(8192, 65536, true)),
                new Variants(MqaLogitsHeuristic.pagedClean(512, 70000),
                        MqaLogitsHeuristic.pagedClean(512, 70000, true)));
        List<KernelConfig> catalog = KernelCatalog.all();
        for (Variants p : pairs) {
            var fp32 = p.fp32().config().source();
            var bf16 = p.bf16().config().source();
            assertEquals(fp32.family(), bf16.family());
            assertEquals(fp32.kernelName() + "_bf16", bf16.kernelName());
            assertFalse(fp32.kernelName().contains("bf16"), fp32.kernelName());
            assertTrue(bf16.code().contains("#define DG_LOGITS_BF16 1\n"), bf16.kernelName());
            assertFalse(fp32.code().contains("#define DG_LOGITS_BF16 1"), fp32.kernelName());
            assertEquals(p.fp32().geometry(), p.bf16().geometry(), bf16.kernelName());
            assertEquals(p.fp32().config().threads(), p.bf16().config().threads());
            assertNotEquals(p.fp32().config(), p.bf16().config());
            assertTrue(catalog.contains(p.fp32().config()) && catalog.contains(p.bf16().config()), bf16.kernelName());
        }
        assertTrue(MqaLogitsHeuristic.sm90Plain(8192, 64, 128, 132, true).config().toString().endsWith("BF16 logits"));
        assertEquals("dg_sm90_fp8_mqa_logits_h64_d128_q128_w4_s5_bf16",
                MqaLogitsHeuristic.sm90Plain(8192, 64, 128, 132, true).config().source().kernelName());
    }

    private record Variants(Launch<? extends KernelConfig> fp32, Launch<? extends KernelConfig> bf16) {
    }

    @Test
    void pagedKernelRunsOneCtaPerScheduleRowWithThreeStagesForOneTokenElseTheDeepestThatFits() {
        // {H, D, next_n, block_kv, stages, smem}: 1 KB slack + 2 q stages (1 KB aligned) + stages·256·(D + 4 scale
        // bytes) + 1 KB.
        int[][] expected = {{64, 128, 2, 64, 5, 203776}, {64, 128, 1, 64, 3, 119808}, {32, 32, 1, 32, 3, 31744},
            {64, 64, 2, 64, 8, 157696}};
        for (int[] e : expected) {
            Launch<Sm90PagedMqaConfig> launch = MqaLogitsHeuristic.sm90Paged(e[0], e[1], e[2], e[3], 132);
            Sm90PagedMqaConfig c = launch.config();
            assertEquals(List.of(e[4], e[5], 640, e[2] * e[0]), List.of(c.stages(), c.dynamicSharedBytes(),
                    c.threads(), c.qRows()), c.toString());
            assertEquals(132, launch.geometry().gridX());
            assertEquals(e[5], launch.geometry().dynamicSharedBytes());
            assertTrue(c.source().code().contains("#define DG_NEXT_N " + e[2] + "\n"));
            assertTrue(c.source().code().contains("#define DG_BLOCK_KV " + e[3] + "\n"));
        }
        // set_num_sms(7): the schedule has 8 rows, the grid 7 CTAs.
        assertEquals(7, MqaLogitsHeuristic.sm90Paged(64, 128, 2, 64, 7).geometry().gridX());
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Paged(64, 128, 2, 64, 0));
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Paged(64, 128, 3, 64, 132));
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Paged(64, 128, 2, 16, 132));
        List<KernelConfig> catalog = KernelCatalog.all();
        for (int nextN : new int[] {1, 2}) {
            assertTrue(catalog.contains(MqaLogitsHeuristic.sm90Paged(64, 128, nextN, 64, 132).config()),
                    "the benchmark's paged configurations are compiled ahead of time");
        }
        assertTrue(catalog.contains(MqaLogitsHeuristic.pagedClean(512, 70000).config()));
        // 512 rows × 9 chunks of 8192 columns, one warp each, 8 warps a CTA.
        assertEquals(576, MqaLogitsHeuristic.pagedClean(512, 70000).geometry().gridX());
        assertEquals(1, MqaLogitsHeuristic.pagedClean(512, 70000).geometry().gridY());
        assertEquals("paged_mqa_logits_clean", MqaLogitsHeuristic.pagedClean(512, 70000).source().family());
    }

    @Test
    void badShapesAndConfigurationsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Plain(8, 16, 128, 132));
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Plain(8, 64, 256, 132));
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Plain(0, 64, 128, 132));
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.sm90Plain(8, 64, 128, 0));
        // Ping-pong needs 2 math warpgroups; 256-row blocks too; 7 stages of 256·128 B do not fit.
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8MqaLogits(64, 128, 128, 4, true, 4));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8MqaLogits(64, 128, 256, 4, false, 4));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8MqaLogits(64, 128, 128, 4, false, 7));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8MqaLogits(64, 128, 128, 4, false, 1));
        // The variants the harness also measures are valid sources.
        assertFalse(CudaSources.sm90Fp8MqaLogits(64, 128, 128, 2, true, 4).code().isEmpty());
        assertFalse(CudaSources.sm90Fp8MqaLogits(64, 128, 256, 2, false, 3).code().isEmpty());
    }
}
