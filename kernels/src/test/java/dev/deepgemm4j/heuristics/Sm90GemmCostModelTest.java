package dev.deepgemm4j.heuristics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The cost model against the H100 harness timings of every verified tile on the benchmark shapes. */
class Sm90GemmCostModelTest {

    private static final Path HARNESS_LOG = Path.of("..", "docs", "perf", "2026-11-23-h100-sm90-fp8-gemm-1d2d.txt");
    /** The current kernel: M = 4096 over the wide tiles (and 256-row ones), M = 128 over the 64-row tiles. */
    private static final Path CURRENT_HARNESS_LOG = Path.of("..", "docs", "perf", "2026-12-07-h100-sm90-gemm-1d2d.txt");
    private static final Pattern SHAPE = Pattern.compile("^shape M=(\\d+) N=(\\d+) K=(\\d+)");
    private static final Pattern TIMING = Pattern.compile("^\\s+cfg_(\\d+)x(\\d+)\\s+grid\\s+\\d+\\s+PASS.*?([\\d.]+) us");

    @Test
    void theModelsPickIsNearTheMeasuredBestTile() throws IOException {
        Map<String, Map<Sm90GemmConfig, Double>> measured = measured(HARNESS_LOG);
        assertEquals(21, measured.size(), "shapes in " + HARNESS_LOG);
        assertPicksNearTheBest(measured, 1.12, 1.03);
    }

    /** The same for the current kernel's timings: among the tiles timed per shape, the model's pick is near the best. */
    @Test
    void theModelsPickIsNearTheMeasuredBestTileOnTheCurrentKernel() throws IOException {
        Map<String, Map<Sm90GemmConfig, Double>> measured = measured(CURRENT_HARNESS_LOG);
        assertEquals(14, measured.size(), "timed shapes in " + CURRENT_HARNESS_LOG);
        assertPicksNearTheBest(measured, 1.05, 1.02);
    }

    private static void assertPicksNearTheBest(Map<String, Map<Sm90GemmConfig, Double>> measured, double worst,
            double geomean) {
        double logSlowdown = 0;
        for (var shape : measured.entrySet()) {
            long[] mnk = java.util.Arrays.stream(shape.getKey().split("x")).mapToLong(Long::parseLong).toArray();
            Sm90GemmConfig picked = null;
            double bestPredicted = Double.POSITIVE_INFINITY;
            double bestMeasured = Double.POSITIVE_INFINITY;
            for (var timing : shape.getValue().entrySet()) {
                double predicted = Sm90GemmCostModel.denseMicros(timing.getKey(), mnk[0], mnk[1], mnk[2]);
                assertTrue(predicted > timing.getValue() / 2 && predicted < timing.getValue() * 2,
                        shape.getKey() + " " + timing.getKey() + ": predicted " + predicted + " us, measured "
                                + timing.getValue());
                if (predicted < bestPredicted) {
                    bestPredicted = predicted;
                    picked = timing.getKey();
                }
                bestMeasured = Math.min(bestMeasured, timing.getValue());
            }
            double slowdown = shape.getValue().get(picked) / bestMeasured;
            assertTrue(slowdown <= worst, shape.getKey() + ": picked " + picked + " is " + slowdown + "x the best");
            logSlowdown += Math.log(slowdown);
        }
        assertTrue(Math.exp(logSlowdown / measured.size()) <= geomean, "geometric-mean slowdown of the picks");
    }

    @Test
    void moreSmsAndNoWorkNeverCostMore() {
        Sm90GemmConfig tile = Sm90GemmConfig.of(128, 128, 132);
        assertTrue(Sm90GemmCostModel.denseMicros(Sm90GemmConfig.of(128, 128, 66), 4096, 4096, 7168)
                > Sm90GemmCostModel.denseMicros(tile, 4096, 4096, 7168));
        assertTrue(Sm90GemmCostModel.micros(128, 128, 0, 56, false, 0, 132)
                < Sm90GemmCostModel.denseMicros(tile, 128, 128, 128));
    }

    @Test
    void multicastHelpsOnlyWhereL2ToSmBinds() {
        // 128x128 over 4096x4096: 128 CTAs x 32 KB per K block through L2 is the binding limit; multicast halves B's
        // share, so the pair is predicted faster.
        assertTrue(Sm90GemmCostModel.denseMicros(Sm90GemmConfig.clustered(128, 128, 132), 4096, 4096, 7168)
                < Sm90GemmCostModel.denseMicros(Sm90GemmConfig.of(128, 128, 132), 4096, 4096, 7168));
        // 128x256 is tensor-core bound: no predicted gain, so the plain kernel (first in the ranking) keeps the shape.
        assertEquals(Sm90GemmCostModel.denseMicros(Sm90GemmConfig.of(128, 256, 132), 4096, 7168, 16384),
                Sm90GemmCostModel.denseMicros(Sm90GemmConfig.clustered(128, 256, 132), 4096, 7168, 16384), 1e-9);
        // Odd SM counts: the clustered grid uses 130 of 131 SMs, never more.
        assertTrue(Sm90GemmConfig.clustered(128, 128, 131).gridCtas(4096, 4096) <= 130);
    }

    /** "MxNxK" to the measured µs of each unclustered tile of a harness log (all built for 132 SMs). */
    private static Map<String, Map<Sm90GemmConfig, Double>> measured(Path log) throws IOException {
        Map<String, Map<Sm90GemmConfig, Double>> byShape = new LinkedHashMap<>();
        Map<Sm90GemmConfig, Double> current = null;
        for (String line : Files.readAllLines(log)) {
            Matcher shape = SHAPE.matcher(line);
            if (shape.find()) {
                current = byShape.computeIfAbsent(shape.group(1) + "x" + shape.group(2) + "x" + shape.group(3),
                        s -> new LinkedHashMap<>());
                continue;
            }
            Matcher timing = TIMING.matcher(line);
            if (current != null && timing.find()) {
                current.put(Sm90GemmConfig.of(Integer.parseInt(timing.group(1)), Integer.parseInt(timing.group(2)),
                        132), Double.parseDouble(timing.group(3)));
            }
        }
        byShape.values().removeIf(Map::isEmpty);
        return byShape;
    }
}
