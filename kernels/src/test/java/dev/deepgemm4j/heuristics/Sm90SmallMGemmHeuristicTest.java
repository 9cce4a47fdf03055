package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.jit.CudaSources;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Sm90SmallMGemmHeuristicTest {

    /** The decode (N, K) pairs of the benchmark, plus edge shapes (N not a tile multiple, one K block, huge N). */
    private static final long[][] NK = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384},
        {4096, 7168}, {7168, 2048}, {8, 16}, {136, 384}, {200, 112}, {65, 7168}, {1000, 4096}, {1 << 20, 128}};

    @Test
    void everyChoiceIsLegalAndInTheCatalog() {
        Set<Sm90SmallMGemmConfig> catalog = new HashSet<>(Sm90SmallMGemmHeuristic.allConfigs());
        for (int numSms : new int[] {1, 78, 114, 132}) {
            for (long m : new long[] {1, 2, 7, 8, 9, 16, 17, 33, 63, 64}) {
                for (long[] nk : NK) {
                    for (boolean splitK : new boolean[] {true, false}) {
                        long n = nk[0];
                        long k = nk[1];
                        var choice = Sm90SmallMGemmHeuristic.choose(m, n, k, numSms, splitK);
                        Sm90SmallMGemmConfig c = choice.config();
                        String what = "M=" + m + " N=" + n + " K=" + k + " SMs=" + numSms + " " + c;
                        assertTrue(catalog.contains(c), what + " is compiled ahead of time");
                        assertTrue(c.tokens() >= m && (c.tokens() == 8 || c.tokens() / 2 < m), what + ": narrowest width");
                        long kBlocks = (k + 127) / 128;
                        assertTrue(choice.splits() >= 1 && choice.splits() <= Math.min(kBlocks, 32), what + " splits");
                        if (!splitK) {
                            assertEquals(1, choice.splits(), what + ": no split when the caller forbids it");
                        }
                        LaunchGeometry g = choice.launch().geometry();
                        assertTrue(g.gridX() >= 1 && g.gridX() <= numSms && g.gridX() <= c.units(n, choice.splits()),
                                what + ": grid " + g.gridX());
                        assertEquals(c.threads(), g.threads());
                        assertTrue(g.dynamicSharedBytes() <= CudaSources.SM90_SMEM_LIMIT, what);
                        assertTrue(choice.predictedMicros() > 0 && Double.isFinite(choice.predictedMicros()), what);
                        assertEquals(choice.splits() > 1 ? (long) choice.splits() * c.tiles(n) * c.tokens()
                                * c.blockRows() : 0, c.workspaceFloats(n, choice.splits()), what + " workspace");
                    }
                }
            }
        }
    }

    @Test
    void narrowBSplitsKAndWideBDoesNot() {
        // (576, 7168) at M = 1: 9 tiles of 64 rows would leave 123 of 132 SMs idle without split-K.
        var narrow = Sm90SmallMGemmHeuristic.choose(1, 576, 7168, 132, true);
        assertTrue(narrow.splits() > 1, "split-K for " + narrow);
        // (7168, 16384): most SMs get a unit either way (112 tiles of 64 rows, or 56 of 128 split in two).
        var deep = Sm90SmallMGemmHeuristic.choose(1, 7168, 16384, 132, true);
        assertTrue(deep.config().units(7168, deep.splits()) >= 100, "most SMs get a unit: " + deep);
        // (32768, 512): 256 tiles of 128 rows and only 4 K blocks: splitting only adds reduction work.
        assertEquals(1, Sm90SmallMGemmHeuristic.choose(1, 32768, 512, 132, true).splits());
        // The model's choice is the cheapest of its candidates.
        double chosen = Sm90SmallMGemmHeuristic.cost(8, deep.config().blockRows(), 7168, 16384, deep.splits(), 132);
        for (int rows : new int[] {64, 128}) {
            for (int s = 1; s <= 32; s++) {
                assertTrue(chosen <= Sm90SmallMGemmHeuristic.cost(8, rows, 7168, 16384, s, 132) + 1e-9);
            }
        }
    }

    @Test
    void catalogHoldsEachWidthWithBothTileHeights() {
        List<Sm90SmallMGemmConfig> all = Sm90SmallMGemmHeuristic.allConfigs();
        assertEquals(8, all.size());
        assertEquals(8, new HashSet<>(all).size());
        assertTrue(KernelCatalog.all().containsAll(all));
        // The kernel's stage count rule (DG_STAGES = 0): 8 tokens x 128 rows = 17568 B a stage, 13 stages.
        Sm90SmallMGemmConfig t8 = Sm90SmallMGemmConfig.of(8, 128);
        assertEquals(13, t8.stages());
        assertEquals(13 * 17568 + 16, t8.dynamicSharedBytes());
        assertEquals(384, t8.threads());
        assertEquals(256, Sm90SmallMGemmConfig.of(64, 64).threads());
    }

    @Test
    void badInputIsRefusedWithTheRule() {
        var tooMany = assertThrows(IllegalArgumentException.class,
                () -> Sm90SmallMGemmHeuristic.choose(65, 2112, 7168, 132, true));
        assertTrue(tooMany.getMessage().contains("m must be at most 64"), tooMany.getMessage());
        var oddK = assertThrows(IllegalArgumentException.class,
                () -> Sm90SmallMGemmHeuristic.choose(1, 2112, 7160 + 4, 132, true));
        assertTrue(oddK.getMessage().contains("multiple of 16"), oddK.getMessage());
        var rows = assertThrows(IllegalArgumentException.class, () -> new Sm90SmallMGemmConfig(8, 96, 4));
        assertTrue(rows.getMessage().contains("blockRows must be 64 or 128"), rows.getMessage());
        var stages = assertThrows(IllegalArgumentException.class, () -> new Sm90SmallMGemmConfig(64, 128, 12));
        assertTrue(stages.getMessage().contains("stages"), stages.getMessage());
    }
}
