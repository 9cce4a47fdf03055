package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.jit.GemmScales;
import java.util.List;
import org.junit.jupiter.api.Test;

class GemmHeuristicsTest {

    private static final long[] MS = {1, 7, 16, 17, 40, 64, 65, 127, 128, 129, 328, 4096, 4097};
    private static final long[] NS = {7, 64, 136, 2112, 7168};
    private static final int[] SMS = {1, 78, 132};

    @Test
    void denseLaunchesCoverDExactlyWithLegalGeometry() {
        List<GemmConfig> all = DenseGemmHeuristic.allConfigs();
        for (long m : MS) {
            for (long n : NS) {
                for (int sms : SMS) {
                    for (GemmScales scales : GemmScales.values()) {
                        Launch<GemmConfig> l = DenseGemmHeuristic.choose(m, n, 512, sms, scales, true);
                        assertTrue(all.contains(l.config()), l.config() + " is not in allConfigs");
                        assertEquals(GemmConfig.Kind.DENSE, l.config().kind());
                        assertEquals(scales, l.config().scales());
                        assertCovers(l, m, n, 1);
                    }
                }
            }
        }
    }

    @Test
    void decodeShapesGetTheSmallestTileAndLargeShapesTheTallest() {
        assertEquals(16, DenseGemmHeuristic.choose(1, 7168, 7168, 132, GemmScales.FP32_PER_BLOCK_B, true).config()
                .blockM());
        assertEquals(32, DenseGemmHeuristic.choose(17, 7168, 7168, 132, GemmScales.FP32_PER_BLOCK_B, true).config()
                .blockM());
        GemmConfig big = DenseGemmHeuristic.choose(4096, 7168, 7168, 132, GemmScales.FP32_PER_BLOCK_B, true).config();
        assertEquals(128, big.blockM());
        // 128-row tiles would leave most SMs idle for this one: step down.
        assertEquals(64, DenseGemmHeuristic.choose(200, 64, 7168, 132, GemmScales.FP32_PER_BLOCK_B, true).config()
                .blockM());
    }

    @Test
    void groupedLaunchesAreLegal() {
        List<GemmConfig> all = GroupedGemmHeuristic.allConfigs();
        for (long m : MS) {
            for (long n : NS) {
                for (int sms : SMS) {
                    for (int alignment : new int[] {16, 32, 64, 128, 1024}) {
                        for (boolean psum : new boolean[] {false, true}) {
                            Launch<GemmConfig> l = GroupedGemmHeuristic.contiguous(m, n, 256, alignment, psum,
                                    GemmScales.FP32_PER_BLOCK_B, sms);
                            assertTrue(all.contains(l.config()), l.config().toString());
                            assertTrue(l.config().blockM() <= alignment, "tile taller than a segment: " + l.config());
                            assertCovers(l, m, n, 1);
                        }
                    }
                    for (int groups : new int[] {1, 4, 32}) {
                        Launch<GemmConfig> masked = GroupedGemmHeuristic.masked(groups, m, Math.max(1, m / 2), n, 128,
                                GemmScales.UE8M0_PER_ROW, sms);
                        assertTrue(all.contains(masked.config()), masked.config().toString());
                        assertCovers(masked, m, n, groups);
                        for (boolean mnMajor : new boolean[] {false, true}) {
                            Launch<GemmConfig> k = GroupedGemmHeuristic.kGrouped(groups, m, n, mnMajor, sms);
                            assertTrue(all.contains(k.config()), k.config().toString());
                            assertEquals(GemmScales.FP32_PER_ROW_B, k.config().scales());
                            assertCovers(k, m, n, groups);
                        }
                    }
                }
            }
        }
    }

    @Test
    void maskedTilesFollowExpectedMNotMaxM() {
        Launch<GemmConfig> l = GroupedGemmHeuristic.masked(8, 4096, 10, 7168, 7168, GemmScales.FP32_PER_BLOCK_B, 132);
        assertEquals(16, l.config().blockM());
        assertCovers(l, 4096, 7168, 8);
    }

    @Test
    void rejectsImpossibleProblems() {
        assertThrows(IllegalArgumentException.class, () -> DenseGemmHeuristic.choose(0, 7, 128, 132,
                GemmScales.FP32_PER_BLOCK_B, true));
        assertThrows(IllegalArgumentException.class, () -> DenseGemmHeuristic.choose(1, 7, 128, 0,
                GemmScales.FP32_PER_BLOCK_B, true));
        assertThrows(IllegalArgumentException.class, () -> GroupedGemmHeuristic.masked(70_000, 64, 64, 64, 128,
                GemmScales.FP32_PER_BLOCK_B, 132));
        // More column tiles than grid y allows.
        assertThrows(IllegalArgumentException.class, () -> DenseGemmHeuristic.choose(1, 64L * 65536, 128, 132,
                GemmScales.FP32_PER_BLOCK_B, true));
        assertThrows(IllegalArgumentException.class, () -> new GemmConfig(GemmConfig.Kind.K_GROUPED_NT, 64, 64,
                GemmScales.FP32_PER_BLOCK_B, false));
        assertThrows(IllegalArgumentException.class, () -> new GemmConfig(GemmConfig.Kind.MASKED, 64, 64,
                GemmScales.FP32_PER_BLOCK_B, false));
    }

    /** The grid covers [groups, rows, cols] with no CTA wholly outside it; resources fit an SM. */
    private static void assertCovers(Launch<GemmConfig> l, long rows, long cols, int groups) {
        LaunchGeometry g = l.geometry();
        GemmConfig c = l.config();
        String what = c + " " + g + " for " + rows + "x" + cols + "x" + groups;
        assertTrue((long) g.gridX() * c.blockM() >= rows && (long) (g.gridX() - 1) * c.blockM() < rows, what);
        assertTrue((long) g.gridY() * c.blockN() >= cols && (long) (g.gridY() - 1) * c.blockN() < cols, what);
        assertEquals(groups, g.gridZ(), what);
        assertEquals(256, g.threads(), what);
        assertEquals(0, g.dynamicSharedBytes(), what);
        assertTrue(c.staticSharedBytes() <= 48 * 1024, what);
    }
}
