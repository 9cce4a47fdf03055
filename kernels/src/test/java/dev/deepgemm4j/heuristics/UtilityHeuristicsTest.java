package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** MQA logits, quantiser, scale-layout and transpose heuristics, and the catalogue over all of them. */
class UtilityHeuristicsTest {

    @Test
    void mqaLaunchesCoverEveryPosition() {
        for (int h : MqaLogitsHeuristic.HEADS) {
            for (int d : MqaLogitsHeuristic.HEAD_DIMS) {
                for (long rows : new long[] {1, 7, 4096}) {
                    for (long cols : new long[] {1, 255, 256, 257, 65536}) {
                        Launch<MqaConfig> plain = MqaLogitsHeuristic.plain(rows, cols, h, d);
                        assertEquals(rows, plain.geometry().gridX());
                        assertCoversColumns(plain.geometry(), cols, plain.config().tileKv());
                        Launch<MqaConfig> paged = MqaLogitsHeuristic.paged(rows, cols, h, d);
                        assertEquals(rows, paged.geometry().gridX());
                        assertCoversColumns(paged.geometry(), cols, paged.config().tileKv());
                        assertTrue(plain.config().staticSharedBytes() <= 48 * 1024);
                        // One warp per row and 8192 columns, 8 warps a CTA, at most 1024 CTAs (warps then stride).
                        Launch<SimpleKernelConfig> clean = MqaLogitsHeuristic.clean(rows, cols);
                        long units = rows * Math.ceilDiv(cols, 8192);
                        assertEquals(Math.min(1024, Math.ceilDiv(units, 8)), clean.geometry().gridX());
                        assertEquals(1, clean.geometry().gridY());
                    }
                }
            }
        }
        assertEquals(1, MqaLogitsHeuristic.metadata().geometry().ctas());
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.plain(4, 4, 16, 128));
        assertThrows(IllegalArgumentException.class, () -> MqaLogitsHeuristic.paged(4, 4, 64, 256));
    }

    @Test
    void quantiserRunsOneCtaPerScaleBlock() {
        for (int[] g : QuantizeHeuristic.GRANULARITIES) {
            for (long rows : new long[] {1, 7, 128, 129, 4097}) {
                for (long cols : new long[] {1, 7, 128, 7168}) {
                    Launch<SimpleKernelConfig> l = QuantizeHeuristic.cast(3, rows, cols, g[0], g[1], true, false);
                    assertEquals(Math.ceilDiv(rows, g[0]) * Math.ceilDiv(cols, g[1]), l.geometry().gridX());
                    assertEquals(3, l.geometry().gridZ());
                    assertTrue(l.geometry().threads() % 32 == 0 && l.geometry().threads() <= 256);
                    assertTrue(QuantizeHeuristic.allConfigs().contains(l.config()));
                }
            }
        }
        assertEquals(128, QuantizeHeuristic.cast(1, 1, 128, 1, 128, false, false).geometry().threads());
        assertEquals(256, QuantizeHeuristic.cast(1, 128, 128, 128, 128, false, false).geometry().threads());
    }

    @Test
    void gridStrideKernelsGetAtLeastOneCtaAndAtMostSixteenPerSm() {
        assertEquals(1, ScaleLayoutHeuristic.copy(4, 0, 132).geometry().gridX());
        assertEquals(1, ScaleLayoutHeuristic.fill(2, 7, 132).geometry().gridX());
        assertEquals(4, ScaleLayoutHeuristic.packUe8m0(1000, 132).geometry().gridX());
        assertEquals(132 * 16, ScaleLayoutHeuristic.copy(1, 1L << 40, 132).geometry().gridX());
        assertThrows(IllegalArgumentException.class, () -> ScaleLayoutHeuristic.copy(3, 10, 132));
    }

    @Test
    void transposeRunsOneCtaPerTileUpToSixteenPerSm() {
        // 131 x 257 bytes: 2 x 3 tiles of 128 x 128, times the batch.
        assertEquals(18, TransposeHeuristic.transpose(3, 131, 257, 132).geometry().gridX());
        assertEquals(1, TransposeHeuristic.transpose(1, 0, 5, 132).geometry().gridX());
        // 34816 token rows of 7168 bytes: 272 x 56 tiles, more than 16 per SM; the CTAs stride over the rest.
        Launch<SimpleKernelConfig> big = TransposeHeuristic.transpose(1, 34816, 7168, 132);
        assertEquals(132 * 16, big.geometry().gridX());
        assertEquals(256, big.geometry().threads());
        assertEquals(TransposeHeuristic.TILE * TransposeHeuristic.TILE, big.config().staticSharedBytes());
        assertTrue(KernelCatalog.all().contains(big.config()));
        assertThrows(IllegalArgumentException.class, () -> TransposeHeuristic.transpose(1, -1, 5, 132));
        assertThrows(IllegalArgumentException.class, () -> TransposeHeuristic.transpose(1, 5, 5, 0));
    }

    @Test
    void catalogueHasUniqueLegalConfigurations() {
        List<KernelConfig> all = KernelCatalog.all();
        Set<String> names = new HashSet<>();
        for (KernelConfig c : all) {
            assertTrue(names.add(c.source().kernelName()), "duplicate " + c.source().kernelName());
            assertTrue(c.threads() >= 32 && c.threads() <= LaunchGeometry.MAX_THREADS, c.toString());
            assertTrue(c.staticSharedBytes() <= 48 * 1024, c.toString());
        }
        // The upper bound guards CI time: KernelCompileTest compiles every entry (about 2 s each on 2 cores).
        assertTrue(all.size() >= 100 && all.size() <= 200, "catalogue size " + all.size());
    }

    @Test
    void geometryEnforcesCudaLimits() {
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(0, 1, 1, 256, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(1, 65536, 1, 256, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(1, 1, 1, 1025, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(1, 1, 1, 256, 228 * 1024));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.blocks(1L << 40, 1));
        assertEquals(1, LaunchGeometry.blocks(0, 64));
    }

    private static void assertCoversColumns(LaunchGeometry g, long cols, int perCta) {
        assertTrue((long) g.gridY() * perCta >= cols && (long) (g.gridY() - 1) * perCta < Math.max(cols, 1),
                g + " for " + cols);
    }
}
