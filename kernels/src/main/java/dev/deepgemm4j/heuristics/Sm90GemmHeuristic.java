package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.Jit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tile choice of the Hopper dense GEMM ({@link Sm90GemmConfig}) among the nine tiles verified on an H100
 * (docs/perf/2026-11-23-h100-sm90-fp8-gemm-1d2d.txt), each with the deepest pipeline that fits: the tile with the
 * lowest time predicted by {@link Sm90GemmCostModel} for the shape and SM count.
 */
public final class Sm90GemmHeuristic {

    /** The tiles measured on the H100, {blockM, blockN}. */
    static final int[][] VERIFIED_TILES = {{64, 64}, {64, 128}, {64, 256}, {128, 112}, {128, 128}, {128, 144},
        {128, 160}, {128, 192}, {128, 256}};
    /** SM count of the H100 SXM the configurations are compiled for ahead of time. */
    static final int CATALOG_NUM_SMS = 132;
    /** Bounds the memo of choices; a workload uses a handful of shapes, so a full memo is simply dropped. */
    private static final int MAX_MEMO = 4096;
    private static final Map<Problem, Launch<Sm90GemmConfig>> CHOICES = new ConcurrentHashMap<>();

    private record Problem(long m, long n, long k, int numSms) {
    }

    private Sm90GemmHeuristic() {
    }

    /**
     * The configuration and persistent-grid geometry for {@code D [m, n] = A [m, k] · B [n, k]ᵀ}; prints the choice
     * when DG_PRINT_CONFIGS is set.
     *
     * @param numSms SMs the grid may occupy (set_num_sms, else the device's count)
     */
    public static Launch<Sm90GemmConfig> choose(long m, long n, long k, int numSms) {
        Problem problem = new Problem(m, n, k, numSms);
        Launch<Sm90GemmConfig> launch = CHOICES.get(problem);
        if (launch == null) {
            // Ranking the tiles costs more than the rest of a small GEMM's host path, so each shape is ranked once;
            // DG_PRINT_CONFIGS therefore prints each distinct shape once.
            launch = rank(m, n, k, numSms);
            if (CHOICES.size() >= MAX_MEMO) {
                CHOICES.clear();
            }
            CHOICES.put(problem, launch);
        }
        return launch;
    }

    private static Launch<Sm90GemmConfig> rank(long m, long n, long k, int numSms) {
        DenseGemmHeuristic.requireShape(m, n, k, numSms);
        Sm90GemmConfig config = null;
        double micros = Double.POSITIVE_INFINITY;
        for (int[] tile : VERIFIED_TILES) {
            Sm90GemmConfig candidate = Sm90GemmConfig.of(tile[0], tile[1], numSms);
            double predicted = Sm90GemmCostModel.denseMicros(candidate, m, n, k);
            if (predicted < micros) {
                config = candidate;
                micros = predicted;
            }
        }
        Launch<Sm90GemmConfig> launch = new Launch<>(config, config.geometry(m, n));
        if (Jit.config().printConfigs()) {
            System.out.printf("deepgemm4j: fp8_gemm M=%d N=%d K=%d -> %s, grid %d, predicted %.1f us%n", m, n, k,
                    config, launch.geometry().gridX(), micros);
        }
        return launch;
    }

    /** Every configuration {@link #choose} can return on an H100 SXM (what CI compiles for sm_90a). */
    public static List<Sm90GemmConfig> allConfigs() {
        List<Sm90GemmConfig> all = new ArrayList<>();
        for (int[] tile : VERIFIED_TILES) {
            all.add(Sm90GemmConfig.of(tile[0], tile[1], CATALOG_NUM_SMS));
        }
        return all;
    }
}
