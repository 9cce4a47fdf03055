package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.jit.CudaSources;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class Sm90GemmHeuristicTest {

    /** The (N, K) pairs and M values of the H100 harness run, plus its edge shapes. */
    private static final long[][] NK = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384},
        {4096, 7168}, {7168, 2048}};
    private static final long[][] EDGES = {{1, 136, 128}, {7, 136, 7168}, {65, 136, 1552}, {65, 2112, 7168},
        {129, 264, 640}, {200, 4096, 16}, {4097, 136, 7168}, {4097, 2112, 7168}, {4097, 7168, 208},
        {1536, 1408, 1024}, {1536, 1416, 1024}};

    @Test
    void stagesAndSharedMemoryMatchTheVerifiedHarnessBuilds() {
        // From docs/perf/2026-11-23-h100-sm90-fp8-gemm-1d2d.txt: blockM, blockN, stages, threads, smem bytes.
        int[][] harness = {{64, 64, 13, 256, 224928}, {64, 128, 8, 256, 215296}, {64, 256, 4, 256, 197760},
            {128, 112, 6, 384, 216256}, {128, 128, 5, 384, 199328}, {128, 144, 5, 384, 213664},
            {128, 160, 5, 384, 228000}, {128, 192, 4, 384, 215168}, {128, 256, 3, 384, 214624},
            {64, 32, 16, 256, 205312}, {128, 32, 10, 384, 218432}, {128, 64, 8, 384, 217344}};
        List<Sm90GemmConfig> all = Sm90GemmHeuristic.allConfigs();
        for (int i = 0; i < harness.length; i++) {
            Sm90GemmConfig c = all.get(i);
            int[] h = harness[i];
            assertEquals(List.of(h[0], h[1], h[2], h[3], h[4]), List.of(c.blockM(), c.blockN(), c.stages(),
                    c.threads(), c.dynamicSharedBytes()), c.toString());
            assertTrue(c.dynamicSharedBytes() <= LaunchGeometry.MAX_SHARED_BYTES);
            assertTrue(c.source().code().contains("#define DG_STAGES " + h[2] + "\n"));
            assertEquals(1, c.clusterM());
        }
        // Then the clustered configurations, each a verified cluster tile, its own kernel name, within the budget.
        List<Sm90GemmConfig> clustered = all.subList(harness.length, all.size());
        assertTrue(!clustered.isEmpty() && clustered.size() <= 4, clustered.toString());
        for (Sm90GemmConfig c : clustered) {
            assertEquals(2, c.clusterM());
            assertTrue(Arrays.stream(Sm90GemmHeuristic.VERIFIED_CLUSTER_TILES).anyMatch(t -> t[0] == c.blockM()
                    && t[1] == c.blockN()), c.toString());
            assertTrue(c.source().kernelName().endsWith("_c2"), c.source().kernelName());
            assertTrue(c.source().code().contains("#define DG_CLUSTER_M 2\n"));
            assertTrue(c.dynamicSharedBytes() <= LaunchGeometry.MAX_SHARED_BYTES);
        }
        assertEquals(all.size(), all.stream().map(c -> c.source().kernelName()).distinct().count(), "distinct kernels");
    }

    @Test
    void tuningCandidatesStartWithTheChoiceAndStayNearItsPrediction() {
        for (long[] nk : NK) {
            for (long m : new long[] {65, 128, 4096}) {
                for (int sms : new int[] {132, 78}) {
                    List<Launch<Sm90GemmConfig>> c = Sm90GemmHeuristic.tuningCandidates(m, nk[0], nk[1], sms);
                    String shape = m + "x" + nk[0] + "x" + nk[1] + " on " + sms;
                    assertEquals(Sm90GemmHeuristic.choose(m, nk[0], nk[1], sms), c.getFirst(), shape);
                    assertTrue(c.size() >= 2 && c.size() <= Sm90GemmHeuristic.TUNING_CANDIDATES, shape + ": " + c);
                    assertEquals(c.size(), c.stream().map(Launch::config).distinct().count(), shape);
                    double best = Sm90GemmCostModel.denseMicros(c.getFirst().config(), m, nk[0], nk[1]);
                    double previous = best;
                    for (Launch<Sm90GemmConfig> l : c) {
                        Sm90GemmConfig config = l.config();
                        double predicted = Sm90GemmCostModel.denseMicros(config, m, nk[0], nk[1]);
                        assertTrue(predicted >= previous && predicted <= best * Sm90GemmHeuristic.TUNING_SLACK,
                                shape + ": " + config + " predicted " + predicted + " after " + previous);
                        previous = predicted;
                        assertTrue(config.fits(m, nk[0]) && config.numSms() == sms, shape + ": " + config);
                        assertEquals(config.geometry(m, nk[0]), l.geometry(), shape);
                    }
                }
            }
        }
    }

    @Test
    void everyStandardShapeChoiceIsLegalAndLargeShapesUseClusters() {
        for (long[] nk : NK) {
            for (long m : new long[] {128, 2048, 4096, 8192}) {
                checkLegal(m, nk[0], nk[1], 132);
                checkLegal(m, nk[0], nk[1], 131); // an odd SM count: clusters fill 130 of them
            }
            // Every clustered pick for the standard shapes is in the catalog CI compiles.
            for (long m : Sm90GemmHeuristic.CATALOG_MS) {
                Sm90GemmConfig c = Sm90GemmHeuristic.choose(m, nk[0], nk[1], 132).config();
                assertTrue(Sm90GemmHeuristic.allConfigs().contains(c), m + "x" + nk[0] + "x" + nk[1] + " -> " + c);
            }
        }
        // M = 128 is a single M block: a pair of tiles along N never shares B, so no cluster.
        assertEquals(1, Sm90GemmHeuristic.choose(128, 7168, 16384, 132).config().clusterM());
        long clusteredAt2048 = Arrays.stream(NK).filter(nk -> Sm90GemmHeuristic.choose(2048, nk[0], nk[1], 132)
                .config().clusterM() == 2).count();
        assertTrue(clusteredAt2048 >= 1, clusteredAt2048 + " of 7 standard shapes clustered at M = 2048");
    }

    @Test
    void clusteredGridIsEvenAndKeepsTheWaveCount() {
        Sm90GemmConfig c = Sm90GemmConfig.clustered(128, 256, 132);
        // 4096 x 7168: 32 x 28 = 896 tiles = 448 pairs over 66 cluster slots: 7 waves -> 64 clusters, 128 CTAs.
        LaunchGeometry g = c.geometry(4096, 7168);
        assertEquals(128, g.gridX());
        assertEquals(2, g.clusterX());
        // 4 M blocks x 1 N block = 2 pairs: 2 clusters.
        assertEquals(4, c.geometry(512, 256).gridX());
        // 3 M blocks x 1 N block = 3 tiles: 2 clusters, the second CTA of the last one runs its peer's pace only.
        assertEquals(4, c.geometry(300, 256).gridX());
        // A single M block never multicasts.
        assertThrowsIae(() -> c.geometry(100, 4096));
        assertTrue(!c.fits(128, 4096) && c.fits(300, 256) && c.fits(256, 8));
        assertThrowsIae(() -> new Sm90GemmConfig(128, 128, 5, 132, Sm90GemmConfig.Type.DENSE, 3));
        assertThrowsIae(() -> new Sm90GemmConfig(128, 128, 5, 1, Sm90GemmConfig.Type.DENSE, 2));
        // M-grouped layouts cluster too: a masked grid covers the most tile pairs, an even number of CTAs.
        Sm90GemmConfig masked = new Sm90GemmConfig(128, 192, CudaSources.sm90MaxStages(128, 192), 132,
                Sm90GemmConfig.Type.MASKED, 2);
        LaunchGeometry mg = masked.maskedGeometry(1, 300, 192);
        assertEquals(4, mg.gridX());  // 3 M blocks x 1 N block = 3 tiles: 2 pairs
        assertEquals(2, mg.clusterX());
        assertEquals(132, masked.maskedGeometry(32, 4096, 6144).gridX());
        assertThrowsIae(() -> new LaunchGeometry(3, 1, 1, 384, 0, 2));
        assertThrowsIae(() -> new LaunchGeometry(16, 1, 1, 384, 0, 16));
        assertTrue(c.toString().contains("clusters of 2"), c.toString());
    }

    @Test
    void everyBenchmarkShapeMapsToAVerifiedConfigWithALegalGrid() {
        for (long[] nk : NK) {
            for (long m : new long[] {1, 128, 4096}) {
                checkLegal(m, nk[0], nk[1], 132);
                checkLegal(m, nk[0], nk[1], 78); // set_num_sms below the device's count
            }
        }
        for (long[] e : EDGES) {
            checkLegal(e[0], e[1], e[2], 132);
        }
    }

    @Test
    void choosesTheMeasuredBestTileOnMostBenchmarkShapes() {
        // Best (or within 3%) per the H100 runs (M = 4096: the 2026-12-07 harness; M = 128: the session-12 harness's
        // kernel times, docs/perf/2026-12-07-h100-session12.txt); the cost model's choice per shape.
        assertEquals(List.of(64, 32), tile(128, 2112, 7168));
        assertEquals(List.of(64, 32), tile(128, 576, 7168));
        // (128 x 24576 x 1536 and 128 x 32768 x 512 pick 128 x 112, which that run did not time; the best timed tiles were
        // 128 x 64 and 128 x 128, 12% and 8% faster than the old 64 x 128 pick.)
        assertEquals(List.of(128, 64), tile(128, 7168, 16384));
        assertEquals(List.of(128, 32), tile(128, 4096, 7168));
        assertEquals(List.of(128, 64), tile(128, 7168, 2048));
        assertEquals(List.of(128, 192), tile(4096, 2112, 7168));
        assertEquals(List.of(128, 144), tile(4096, 576, 7168));
        assertEquals(List.of(128, 256), tile(4096, 7168, 16384));
        assertEquals(List.of(128, 256), tile(4096, 4096, 7168));
        assertEquals(List.of(128, 256), tile(4096, 7168, 2048));
    }

    @Test
    void persistentGridKeepsTheWaveCountWithTheFewestCtas() {
        // 4096 x 2112 with 128x192: 32 x 11 = 352 tiles, 3 waves over 132 SMs -> 118 CTAs (the harness's grid).
        assertEquals(118, Sm90GemmConfig.of(128, 192, 132).geometry(4096, 2112).gridX());
        // set_num_sms(100): 4 waves -> 88 CTAs, and the tile order is planned for 100 SMs.
        Launch<Sm90GemmConfig> l = Sm90GemmHeuristic.choose(4096, 2112, 7168, 100);
        assertTrue(l.geometry().gridX() <= 100);
        assertEquals(100, l.config().numSms());
        assertTrue(l.source().code().contains("#define DG_NUM_SMS 100\n"));
    }

    @Test
    void sourceBakesTheTileAndRejectsIllegalOnes() {
        String code = CudaSources.sm90Fp8Gemm1d2d(128, 160, 5, 132).code();
        assertTrue(code.contains("#define DG_BLOCK_M 128\n#define DG_BLOCK_N 160\n"));
        assertTrue(code.contains("#define DG_KERNEL_NAME dg_sm90_fp8_gemm_1d2d_m128n160_s5_sms132\n"));
        assertTrue(code.contains("DG_KERNEL_NAME(const __grid_constant__"));
        assertThrowsIae(() -> CudaSources.sm90Fp8Gemm1d2d(96, 128, 4, 132));
        assertThrowsIae(() -> CudaSources.sm90Fp8Gemm1d2d(128, 120, 4, 132));
        assertThrowsIae(() -> CudaSources.sm90Fp8Gemm1d2d(128, 160, 6, 132)); // 6 stages exceed 227 KB
        assertThrowsIae(() -> CudaSources.sm90Fp8Gemm1d2d(128, 128, 1, 132));
        assertThrowsIae(() -> CudaSources.sm90Fp8Gemm1d2d(128, 128, 5, 132, 4));
        String clustered = CudaSources.sm90Fp8Gemm1d2d(128, 160, 5, 132, 2).code();
        assertTrue(clustered.contains("#define DG_KERNEL_NAME dg_sm90_fp8_gemm_1d2d_m128n160_s5_sms132_c2\n"));
        assertTrue(clustered.contains("#define DG_CLUSTER_M 2\n"));
        assertTrue(!code.contains("DG_CLUSTER_M 2"), "the plain kernel is unchanged");
    }

    private static void assertThrowsIae(Runnable r) {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, r::run);
    }

    private static List<Integer> tile(long m, long n, long k) {
        Sm90GemmConfig c = Sm90GemmHeuristic.choose(m, n, k, 132).config();
        return List.of(c.blockM(), c.blockN());
    }

    private static void checkLegal(long m, long n, long k, int numSms) {
        Launch<Sm90GemmConfig> l = Sm90GemmHeuristic.choose(m, n, k, numSms);
        Sm90GemmConfig c = l.config();
        String what = m + "x" + n + "x" + k + " on " + numSms + " SMs -> " + c;
        int[][] verified = c.clusterM() == 1 ? Sm90GemmHeuristic.DENSE_TILES
                : Sm90GemmHeuristic.VERIFIED_CLUSTER_TILES;
        assertTrue(Arrays.stream(verified).anyMatch(t -> t[0] == c.blockM() && t[1] == c.blockN()), what);
        assertEquals(CudaSources.sm90MaxStages(c.blockM(), c.blockN()), c.stages(), what);
        long tiles = c.tiles(m, n);
        int grid = l.geometry().gridX();
        assertTrue(grid >= 1 && grid <= Math.min(tiles, numSms), what + ", grid " + grid);
        int cluster = c.clusterM();
        assertEquals(cluster, l.geometry().clusterX(), what);
        // Cluster rules: the grid is a whole number of clusters, and the M blocks pair up.
        assertEquals(0, grid % cluster, what + ", grid " + grid);
        assertEquals(0, ((m + c.blockM() - 1) / c.blockM()) % cluster, what);
        long slots = numSms / cluster;
        long waves = (tiles / cluster + slots - 1) / slots;
        assertEquals(waves, (tiles / cluster + grid / cluster - 1) / (grid / cluster), what
                + ": the grid keeps the wave count");
        assertEquals(c.threads(), l.geometry().threads());
        assertEquals(c.dynamicSharedBytes(), l.geometry().dynamicSharedBytes());
    }

    @Test
    void eachShapeIsRankedOnceAndReused() {
        var first = Sm90GemmHeuristic.choose(4096, 7168, 2048, 132);
        assertSame(first, Sm90GemmHeuristic.choose(4096, 7168, 2048, 132));
        assertNotSame(first, Sm90GemmHeuristic.choose(4096, 7168, 2048, 66),
                "the SM count is part of the problem");
    }
}
