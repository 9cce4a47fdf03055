package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.jit.CudaSources;
import java.util.List;
import org.junit.jupiter.api.Test;

class Sm90Gemm1d1dHeuristicTest {

    /** Weight-gradient (M, N, K) of anchors.md (1D1D, FP32 accumulation) and the harness's edge shapes. */
    private static final long[][] DENSE = {{2112, 4096, 7168}, {576, 4096, 7168}, {24576, 4096, 1536},
        {32768, 4096, 512}, {7168, 4096, 16384}, {4096, 4096, 7168}, {7168, 4096, 2048}, {1, 8, 16},
        {200, 264, 640}, {129, 136, 2064}, {4097, 1000, 208}, {65, 4100, 7168}};
    /** K-grouped (groups, M, N, total K) of anchors.md. */
    private static final long[][] K_GROUPED = {{4, 4096, 7168, 34304}, {4, 7168, 2048, 32896},
        {8, 4096, 7168, 35968}, {8, 7168, 2048, 33920}, {16, 4096, 7168, 34432}, {16, 7168, 2048, 34304},
        {1, 64, 128, 128}};

    @Test
    void stagesAndSharedMemoryMatchTheHarnessBuilds() {
        // blockM, blockN, stages, threads, dynamic smem: the kernel's own constants (kStages, kSmemBytes) as the
        // nvcc harness prints them for these tiles.
        int[][] harness = {{128, 152, 4, 384, 225856}, {128, 184, 3, 384, 217904}, {64, 152, 6, 256, 210272}};
        List<Sm90Gemm1d1dConfig> all = Sm90Gemm1d1dHeuristic.allConfigs();
        assertEquals(2 * harness.length, all.size(), "dense and K-grouped of each tile");
        for (int i = 0; i < all.size(); i++) {
            Sm90Gemm1d1dConfig c = all.get(i);
            int[] h = harness[i % harness.length];
            assertEquals(i >= harness.length, c.kGrouped());
            assertEquals(List.of(h[0], h[1], h[2], h[3], h[4]), List.of(c.blockM(), c.blockN(), c.stages(),
                    c.threads(), c.dynamicSharedBytes()), c.toString());
            assertTrue(c.source().code().contains("#define DG_K_GROUPED " + (c.kGrouped() ? 1 : 0) + "\n"));
            assertTrue(c.source().code().contains("#define DG_STAGES " + h[2] + "\n"));
        }
    }

    @Test
    void everyBenchmarkShapeGetsALegalCatalogedConfig() {
        List<Sm90Gemm1d1dConfig> catalog = Sm90Gemm1d1dHeuristic.allConfigs();
        for (long[] s : DENSE) {
            for (int sms : new int[] {132, 78}) {
                Launch<Sm90Gemm1d1dConfig> l = Sm90Gemm1d1dHeuristic.dense(s[0], s[1], s[2], sms);
                checkLegal(l, l.config().tiles(s[0], s[1]), sms);
                assertTrue(!l.config().kGrouped());
                if (sms == 132) {
                    assertTrue(catalog.contains(l.config()), l.config() + " not in the catalog");
                }
            }
        }
        for (long[] s : K_GROUPED) {
            Launch<Sm90Gemm1d1dConfig> l = Sm90Gemm1d1dHeuristic.kGrouped((int) s[0], s[1], s[2], s[3], 132);
            checkLegal(l, s[0] * l.config().tiles(s[1], s[2]), 132);
            assertTrue(l.config().kGrouped());
            assertTrue(catalog.contains(l.config()), l.config() + " not in the catalog");
        }
    }

    private static void checkLegal(Launch<Sm90Gemm1d1dConfig> l, long tiles, int sms) {
        Sm90Gemm1d1dConfig c = l.config();
        assertTrue(c.stages() >= 2, c.toString());
        assertTrue(c.dynamicSharedBytes() <= CudaSources.SM90_SMEM_LIMIT, c.toString());
        assertEquals(c.blockM() == 128 ? 384 : 256, l.geometry().threads());
        assertEquals(c.dynamicSharedBytes(), l.geometry().dynamicSharedBytes());
        int grid = l.geometry().gridX();
        assertTrue(grid >= 1 && grid <= sms && grid <= tiles, "grid " + grid + " for " + tiles + " tiles");
        // The persistent grid keeps the wave count of one CTA per SM.
        assertEquals((tiles + sms - 1) / sms, (tiles + grid - 1) / grid, "waves");
        assertEquals(sms, c.numSms());
    }

    @Test
    void memoryBoundShapesAndComputeBoundShapesRankAsTheModelSays() {
        // K = 512 over a 32768 x 4096 FP32 output: reading and writing D (1 GiB) dominates, so the prediction is at
        // least that traffic at HBM speed, whatever the tile.
        Sm90Gemm1d1dConfig c = Sm90Gemm1d1dHeuristic.dense(32768, 4096, 512, 132).config();
        double us = Sm90Gemm1d1dHeuristic.predictedMicros(c, 1, 32768, 4096, 512);
        assertTrue(us > 8.0 * 32768 * 4096 / 2.9e12 * 1e6, "predicted " + us + " us");
        // Twice the groups over the same tokens costs more (twice the output), never less.
        double four = Sm90Gemm1d1dHeuristic.predictedMicros(Sm90Gemm1d1dConfig.of(128, 152, 132, true), 4, 4096, 7168,
                34304);
        double sixteen = Sm90Gemm1d1dHeuristic.predictedMicros(Sm90Gemm1d1dConfig.of(128, 152, 132, true), 16, 4096,
                7168, 34304);
        assertTrue(sixteen > four, sixteen + " vs " + four);
    }

    @Test
    void wideTilesWinWhereTheyNeedFewerTilesPerCta() {
        // The promotion floor makes a 128-row K block cost about the same at 152 and 184 columns (as the H100 harness
        // measured), so on 7168 x 4096 x 16384 the 184-wide tile (10 tiles per CTA) beats the 152-wide one (12), which
        // the tensor-core terms alone rank the other way round.
        assertEquals(184, Sm90Gemm1d1dHeuristic.dense(7168, 4096, 16384, 132).config().blockN());
        assertEquals(184, Sm90Gemm1d1dHeuristic.dense(4096, 4096, 7168, 132).config().blockN());
        double floorless152 = Sm90GemmCostModel.micros(128, 152, 56 * 27, 128, false, 0, 132);
        double floorless184 = Sm90GemmCostModel.micros(128, 184, 56 * 23, 128, false, 0, 132);
        assertTrue(floorless152 < floorless184, floorless152 + " vs " + floorless184);
        for (int blockN : new int[] {152, 184}) {
            Sm90Gemm1d1dConfig c = Sm90Gemm1d1dConfig.of(128, blockN, 132, false);
            double us = Sm90Gemm1d1dHeuristic.predictedMicros(c, 1, 7168, 4096, 16384);
            long tilesPerCta = (c.tiles(7168, 4096) + 131) / 132;
            assertTrue(us >= tilesPerCta * 128 * Sm90Gemm1d1dHeuristic.FLOOR_128_NS * 1e-3, blockN + ": " + us);
        }
    }

    @Test
    void everyTileIsEightModSixteenColumnsWide() {
        for (Sm90Gemm1d1dConfig c : Sm90Gemm1d1dHeuristic.allConfigs()) {
            assertEquals(8, c.blockN() % 16, c.toString());
        }
    }

    @Test
    void rejectsIllegalTilesAndEmptyLaunches() {
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8Gemm1d1d(128, 200, 2, 132, false));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8Gemm1d1d(128, 12, 2, 132, false));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8Gemm1d1d(256, 128, 2, 132, false));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.sm90Fp8Gemm1d1d(128, 184, 4, 132, false),
                "4 stages of 128x184 exceed 227 KB");
        assertThrows(IllegalArgumentException.class, () -> Sm90Gemm1d1dHeuristic.kGrouped(0, 64, 64, 128, 132));
    }
}
