package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.jit.CudaSources;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Sm90GroupedGemmHeuristicTest {

    /** The (N, K) pairs for the M-grouped goals. */
    private static final long[][] NK = {{6144, 7168}, {7168, 3072}, {4096, 4096}, {4096, 2048}};
    /** M_total of the goal shapes (4 and 8 experts, ~32K rows, 128-aligned). */
    private static final long[] CONTIGUOUS_ROWS = {31104, 32896, 35456, 36096, 30976, 31232, 33280, 38272};
    /** Masked goals: {groups, M_max, expected_m}. */
    private static final long[][] MASKED = {{32, 4096, 192}, {6, 4096, 1024}, {32, 4096, 20}, {6, 4096, 20},
        {32, 256, 20}};

    @Test
    void goalShapesPickCatalogConfigurationsWithLegalGrids() {
        List<Sm90GemmConfig> catalog = Sm90GemmHeuristic.groupedConfigs();
        for (long[] nk : NK) {
            for (long m : CONTIGUOUS_ROWS) {
                for (boolean psum : new boolean[] {false, true}) {
                    for (long groups : new long[] {4, 8}) {
                        Launch<Sm90GemmConfig> l = Sm90GemmHeuristic.contiguous(m, nk[0], nk[1], groups, 128, psum,
                                132);
                        assertTrue(catalog.contains(l.config()), l.config() + " is compiled ahead of time");
                        checkContiguous(l, m, nk[0], 128, psum, 132);
                    }
                }
            }
            for (long[] p : MASKED) {
                Launch<Sm90GemmConfig> l = Sm90GemmHeuristic.masked(p[0], p[1], p[2], nk[0], nk[1], 132);
                assertTrue(catalog.contains(l.config()), l.config() + " is compiled ahead of time");
                checkMasked(l, p[0], p[1], nk[0], 132);
            }
        }
    }

    @Test
    void ruleTakesTheWideTileForFullProblemsAndSmallTilesForDecodeGroups() {
        assertEquals(List.of(128, 192), tile(Sm90GemmHeuristic.contiguous(35456, 6144, 7168, 4, 128, false, 132)));
        assertEquals(List.of(128, 256), tile(Sm90GemmHeuristic.contiguous(36096, 7168, 3072, 4, 128, true, 132)));
        assertEquals(List.of(128, 256), tile(Sm90GemmHeuristic.contiguous(32896, 4096, 2048, 4, 128, false, 132)));
        assertEquals(List.of(128, 256), tile(Sm90GemmHeuristic.masked(32, 4096, 192, 4096, 4096, 132)));
        assertEquals(List.of(128, 192), tile(Sm90GemmHeuristic.masked(32, 4096, 192, 6144, 7168, 132)));
        // Grouped launches stay unclustered (the harness measured no consistent gain from B multicast there).
        assertEquals(1, Sm90GemmHeuristic.contiguous(35456, 6144, 7168, 4, 128, false, 132).config().clusterM());
        assertEquals(List.of(128, 256), tile(Sm90GemmHeuristic.masked(6, 4096, 1024, 4096, 2048, 132)));
        assertEquals(List.of(64, 128), tile(Sm90GemmHeuristic.masked(32, 256, 20, 7168, 3072, 132)));
        // expected_m beyond M_max is clamped: the groups cannot have more rows than M_max.
        assertEquals(List.of(64, 128), tile(Sm90GemmHeuristic.masked(4, 48, 4000, 4096, 2048, 132)));
    }

    @Test
    void contiguousTilesNeverHoldTwoExperts() {
        // Alignment 64: only one-warpgroup tiles, also where the rule would take a 128-row tile.
        for (long[] nk : NK) {
            Launch<Sm90GemmConfig> l = Sm90GemmHeuristic.contiguous(32768, nk[0], nk[1], 8, 64, false, 132);
            assertEquals(64, l.config().blockM(), l.config().toString());
            checkContiguous(l, 32768, nk[0], 64, false, 132);
        }
        for (int alignment : new int[] {64, 128, 256, 512, 1024}) {
            for (long m : new long[] {alignment, 3L * alignment, 64L * alignment}) {
                for (boolean psum : new boolean[] {false, true}) {
                    checkContiguous(Sm90GemmHeuristic.contiguous(m, 576, 7168, 3, alignment, psum, 132), m, 576,
                            alignment, psum, 132);
                    checkContiguous(Sm90GemmHeuristic.contiguous(m, 4096, 512, 3, alignment, psum, 78), m, 4096,
                            alignment, psum, 78);
                }
            }
        }
        // No verified tile divides 16 or 32 rows: the launcher keeps the SIMT kernel.
        assertNull(Sm90GemmHeuristic.contiguous(4096, 4096, 4096, 4, 32, false, 132));
        assertNull(Sm90GemmHeuristic.contiguous(4096, 4096, 4096, 4, 16, true, 132));
    }

    @Test
    void maskedGridCoversEveryPossibleTileUpToTheSmCount() {
        // 2 groups of at most 64 rows, N = 128, 64x128 tiles: at most 2 tiles, so 2 CTAs.
        Launch<Sm90GemmConfig> small = Sm90GemmHeuristic.masked(2, 64, 40, 128, 256, 132);
        assertEquals(2, small.geometry().gridX());
        // The grid does not depend on expected_m (masked_m is unknown on the host): a full machine either way.
        assertEquals(132, Sm90GemmHeuristic.masked(32, 4096, 192, 4096, 4096, 132).geometry().gridX());
        assertEquals(132, Sm90GemmHeuristic.masked(32, 4096, 1, 4096, 4096, 132).geometry().gridX());
        assertEquals(66, Sm90GemmHeuristic.masked(32, 4096, 192, 4096, 4096, 66).geometry().gridX());
        for (long[] p : new long[][] {{1, 1, 1}, {3, 300, 129}, {16, 8, 8}, {6, 4096, 2048}}) {
            checkMasked(Sm90GemmHeuristic.masked(p[0], p[1], p[2], 200, 400, 132), p[0], p[1], 200, 132);
        }
    }

    @Test
    void catalogEntriesAreDistinctKernelsThatFit() {
        List<Sm90GemmConfig> catalog = Sm90GemmHeuristic.groupedConfigs();
        Set<String> names = new HashSet<>();
        for (Sm90GemmConfig c : catalog) {
            assertFalse(c.type() == Sm90GemmConfig.Type.DENSE, c.toString());
            assertTrue(c.dynamicSharedBytes() <= CudaSources.SM90_SMEM_LIMIT, c.toString());
            assertTrue(names.add(c.source().kernelName()), "duplicate " + c);
            assertTrue(c.source().code().contains("#define DG_GEMM_TYPE " + c.type().code + "\n"), c.toString());
        }
        for (Sm90GemmConfig c : Sm90GemmHeuristic.allConfigs()) {
            assertTrue(names.add(c.source().kernelName()), "dense and grouped kernels have distinct names: " + c);
            String code = c.source().code();
            String baked = code.substring(0, code.indexOf("// deepgemm4j: persistent"));
            assertFalse(baked.contains("DG_GEMM_TYPE"), "dense sources stay as they were (the kernel's default)");
        }
        assertTrue(KernelCatalog.all().containsAll(catalog));
    }

    @Test
    void sourceRejectsAnUnknownGemmType() {
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8GemmGrouped1d2d(128, 128, 4, 132, 4));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8GemmGrouped1d2d(128, 128, 4, 132, -1));
        assertThrows(IllegalArgumentException.class, () -> new Sm90GemmConfig(128, 128, 4, 132, null));
        assertThrows(IllegalArgumentException.class, () -> Sm90GemmHeuristic.masked(0, 64, 64, 128, 128, 132));
        assertThrows(IllegalArgumentException.class,
                () -> Sm90GemmHeuristic.contiguous(128, 128, 128, 0, 128, false, 132));
    }

    @Test
    void eachGroupedShapeIsRankedOnce() {
        var first = Sm90GemmHeuristic.masked(8, 512, 100, 1024, 1024, 132);
        assertSame(first, Sm90GemmHeuristic.masked(8, 512, 100, 1024, 1024, 132));
        var index = Sm90GemmHeuristic.contiguous(4096, 1024, 1024, 4, 128, false, 132);
        var psum = Sm90GemmHeuristic.contiguous(4096, 1024, 1024, 4, 128, true, 132);
        assertEquals(Sm90GemmConfig.Type.CONTIGUOUS_INDEX, index.config().type());
        assertEquals(Sm90GemmConfig.Type.CONTIGUOUS_PSUM, psum.config().type());
    }

    private static List<Integer> tile(Launch<Sm90GemmConfig> l) {
        return List.of(l.config().blockM(), l.config().blockN());
    }

    private static void checkCommon(Launch<Sm90GemmConfig> l, int numSms, String what) {
        Sm90GemmConfig c = l.config();
        assertTrue(Arrays.stream(Sm90GemmHeuristic.VERIFIED_TILES).anyMatch(t -> t[0] == c.blockM()
                && t[1] == c.blockN()), what);
        assertEquals(CudaSources.sm90MaxStages(c.blockM(), c.blockN()), c.stages(), what);
        assertTrue(c.dynamicSharedBytes() <= CudaSources.SM90_SMEM_LIMIT, what);
        assertEquals(c.threads(), l.geometry().threads(), what);
        assertEquals(c.dynamicSharedBytes(), l.geometry().dynamicSharedBytes(), what);
        assertEquals(numSms, c.numSms(), what);
        assertTrue(l.geometry().gridX() >= 1 && l.geometry().gridX() <= numSms, what + ", grid "
                + l.geometry().gridX());
    }

    private static void checkContiguous(Launch<Sm90GemmConfig> l, long m, long n, int alignment, boolean psum,
            int numSms) {
        assertNotNull(l);
        Sm90GemmConfig c = l.config();
        String what = "contiguous M=" + m + " N=" + n + " alignment " + alignment + " -> " + c;
        checkCommon(l, numSms, what);
        assertEquals(0, alignment % c.blockM(), what + ": a tile would straddle two experts");
        assertEquals(psum ? Sm90GemmConfig.Type.CONTIGUOUS_PSUM : Sm90GemmConfig.Type.CONTIGUOUS_INDEX, c.type());
        assertTrue(l.geometry().gridX() <= c.tiles(m, n), what);
    }

    private static void checkMasked(Launch<Sm90GemmConfig> l, long groups, long maxM, long n, int numSms) {
        Sm90GemmConfig c = l.config();
        String what = "masked G=" + groups + " M_max=" + maxM + " N=" + n + " -> " + c;
        checkCommon(l, numSms, what);
        assertEquals(Sm90GemmConfig.Type.MASKED, c.type());
        assertEquals(Math.min(numSms, groups * c.tiles(maxM, n)), l.geometry().gridX(), what);
    }
}
