package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.Jit;
import java.util.ArrayList;
import java.util.List;

/**
 * Tile choice of the Hopper dense GEMM ({@link Sm90GemmConfig}) among the nine tiles verified on an H100
 * (docs/perf/2026-11-23-h100-sm90-fp8-gemm-1d2d.txt), each with the deepest pipeline that fits.
 *
 * <p>Up to 128 rows the GEMM is bandwidth-bound: 64-row tiles, 64 columns wide while one wave of them covers D
 * (more CTAs streaming B), else 128. Above 128 rows it is compute-bound: 128-row tiles of 128 to 192 columns (the
 * wider 256 and narrower 112 lost everywhere they were measured), choosing the smallest per-SM work
 * {@code waves × blockN} (a partly filled last wave costs a full one), ties to the wider tile (fewer epilogues). On the
 * measured shapes this picks the fastest tile or one within 3% of it.
 */
public final class Sm90GemmHeuristic {

    /** The tiles measured on the H100, {blockM, blockN}. */
    static final int[][] VERIFIED_TILES = {{64, 64}, {64, 128}, {64, 256}, {128, 112}, {128, 128}, {128, 144},
        {128, 160}, {128, 192}, {128, 256}};
    /** Tiles of the compute-bound regime, narrowest first. */
    private static final int[] LARGE_M_BLOCK_N = {128, 144, 160, 192};
    /** SM count of the H100 SXM the configurations are compiled for ahead of time. */
    static final int CATALOG_NUM_SMS = 132;

    private Sm90GemmHeuristic() {
    }

    /**
     * The configuration and persistent-grid geometry for {@code D [m, n] = A [m, k] · B [n, k]ᵀ}; prints the choice
     * when DG_PRINT_CONFIGS is set.
     *
     * @param numSms SMs the grid may occupy (set_num_sms, else the device's count)
     */
    public static Launch<Sm90GemmConfig> choose(long m, long n, long k, int numSms) {
        DenseGemmHeuristic.requireShape(m, n, k, numSms);
        Sm90GemmConfig config = m <= 128 ? smallM(m, n, numSms) : largeM(m, n, numSms);
        Launch<Sm90GemmConfig> launch = new Launch<>(config, config.geometry(m, n));
        if (Jit.config().printConfigs()) {
            System.out.println("deepgemm4j: fp8_gemm M=" + m + " N=" + n + " K=" + k + " -> " + config + ", grid "
                    + launch.geometry().gridX());
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

    private static Sm90GemmConfig smallM(long m, long n, int numSms) {
        Sm90GemmConfig narrow = Sm90GemmConfig.of(64, 64, numSms);
        return narrow.tiles(m, n) <= numSms ? narrow : Sm90GemmConfig.of(64, 128, numSms);
    }

    private static Sm90GemmConfig largeM(long m, long n, int numSms) {
        Sm90GemmConfig best = null;
        long bestWork = Long.MAX_VALUE;
        for (int blockN : LARGE_M_BLOCK_N) {
            Sm90GemmConfig c = Sm90GemmConfig.of(128, blockN, numSms);
            long work = Sm90GemmConfig.ceilDiv(c.tiles(m, n), numSms) * blockN;
            if (work <= bestWork) {
                best = c;
                bestWork = work;
            }
        }
        return best;
    }
}
