package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.Jit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Tile choice of the Hopper dense GEMM ({@link Sm90GemmConfig}) among the nine tiles verified on an H100
 * (docs/perf/2026-11-23-h100-sm90-fp8-gemm-1d2d.txt), three narrow tiles for decode-sized M ({@link #DECODE_TILES})
 * and the 128-row tiles in 2-CTA clusters that multicast B (timed
 * at M = 4096 in docs/perf/2026-12-07-h100-sm90-gemm-1d2d.txt), each with the deepest pipeline that fits: the
 * candidate with the lowest time predicted by {@link Sm90GemmCostModel} for the shape and SM count. A clustered
 * candidate is considered only where it can multicast: at least two M blocks and at least 2 SMs.
 */
public final class Sm90GemmHeuristic {

    /** The tiles measured on the H100, {blockM, blockN}. */
    static final int[][] VERIFIED_TILES = {{64, 64}, {64, 128}, {64, 256}, {128, 112}, {128, 128}, {128, 144},
        {128, 160}, {128, 192}, {128, 256}};
    /**
     * Narrow tiles measured on the H100 for decode-sized dense GEMMs (M = 128: 128 × 64 and 128 × 32 beat every
     * verified tile on 5 of the 7 standard (N, K), by 8–12%; 64 × 32 on the two narrowest N; correct on every edge
     * shape of the harness; docs/perf/2026-12-07-h100-session12.txt), {blockM, blockN}. Candidates of the dense GEMM
     * up to M = {@link Sm90GemmCostModel#DECODE_ROWS} only, where they were timed; the M-grouped kernels have not been
     * timed with them.
     */
    static final int[][] DECODE_TILES = {{64, 32}, {128, 32}, {128, 64}};
    /** The tiles measured on the H100 in clusters of 2 along M, {blockM, blockN}. */
    static final int[][] VERIFIED_CLUSTER_TILES = {{128, 128}, {128, 144}, {128, 160}, {128, 192}, {128, 256}};
    /** The plain tiles the dense GEMM chooses among up to M = {@link Sm90GemmCostModel#DECODE_ROWS}. */
    static final int[][] DENSE_TILES = Stream.concat(Arrays.stream(VERIFIED_TILES),
            Arrays.stream(DECODE_TILES)).toArray(int[][]::new);
    /** The M values of the standard shapes whose clustered choices CI compiles. */
    static final long[] CATALOG_MS = {2048, 4096, 8192};
    /** The standard (N, K) pairs (DeepGEMM's dense benchmark). */
    static final long[][] STANDARD_NK = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384},
        {4096, 7168}, {7168, 2048}};
    /** Clustered configurations CI compiles whether or not a standard shape picks them. */
    static final int[][] CLUSTER_SAMPLES = {{128, 128}};
    /** The most configurations the tuner times per shape ({@link #tuningCandidates}). */
    public static final int TUNING_CANDIDATES = 8;
    /** How much slower than the best a prediction may be for the tuner to time it. */
    public static final double TUNING_SLACK = 1.6;
    /** SM count of the H100 SXM the configurations are compiled for ahead of time. */
    static final int CATALOG_NUM_SMS = 132;
    private static final ChoiceMemo<Problem, Launch<Sm90GemmConfig>> CHOICES = new ChoiceMemo<>(
            p -> rank(p.m(), p.n(), p.k(), p.numSms()));

    private record Problem(long m, long n, long k, int numSms) {
    }

    /** An M-grouped shape: {@code m} = M_total (contiguous) or M_max (masked); alignment / expectedM 0 where unused. */
    private record GroupedProblem(Sm90GemmConfig.Type type, long m, long n, long k, long groups, long alignment,
            long expectedM, int numSms) {
    }

    private static final ChoiceMemo<GroupedProblem, Launch<Sm90GemmConfig>> GROUPED_CHOICES = new ChoiceMemo<>(
            Sm90GemmHeuristic::rankGrouped);
    /** Rows of the tile the M-grouped rule gives decode-sized masked groups. */
    static final int SMALL_GROUP_ROWS = 64;

    private Sm90GemmHeuristic() {
    }

    /**
     * The configuration and persistent-grid geometry for {@code D [m, n] = A [m, k] · B [n, k]ᵀ}; prints the choice
     * when DG_PRINT_CONFIGS is set.
     *
     * @param numSms SMs the grid may occupy (set_num_sms, else the device's count)
     */
    public static Launch<Sm90GemmConfig> choose(long m, long n, long k, int numSms) {
        return CHOICES.get(new Problem(m, n, k, numSms));
    }

    private static Launch<Sm90GemmConfig> rank(long m, long n, long k, int numSms) {
        DenseGemmHeuristic.requireShape(m, n, k, numSms);
        Sm90GemmConfig config = best(m, n, k, numSms);
        double micros = Sm90GemmCostModel.denseMicros(config, m, n, k);
        Launch<Sm90GemmConfig> launch = new Launch<>(config, config.geometry(m, n));
        if (Jit.config().printConfigs()) {
            System.out.printf("deepgemm4j: fp8_gemm M=%d N=%d K=%d -> %s, grid %d, predicted %.1f us%n", m, n, k,
                    config, launch.geometry().gridX(), micros);
        }
        return launch;
    }

    /**
     * The configuration and grid of the M-grouped contiguous GEMM: {@code mTotal} rows of experts laid end to end,
     * each starting at a multiple of {@code alignment}, against B [groups, n, k]. Only tiles whose rows divide the
     * alignment are legal (a tile must never hold two experts). Returns null when none is (alignment below 64).
     *
     * <p>Rule: when 128-row tiles are legal and the problem fills every SM with 128 × 192 tiles, the tile the grouped
     * harness ({@code kernels/src/test/cuda/sm90_grouped_bench.cu}, which times both wide tiles per goal shape)
     * measured best on the H100 (docs/perf/2026-12-07-h100-sm90-grouped.txt): 128 × 256 for {@code k ≤ 4096}
     * (8–19% faster than 128 × 192 on every goal shape with K = 2048, 3072 or 4096), else 128 × 192 (K = 7168: within
     * a few percent either way). Clusters of 2 (B multicast per tile pair) measured no consistent gain there, so
     * grouped launches stay unclustered. The dense cost model is not used there: it was fitted to dense timings only.
     * Smaller problems take the legal tile the cost model ranks first, as a dense GEMM of {@code mTotal} rows (tiles of
     * padding only are few and cheap).
     */
    public static Launch<Sm90GemmConfig> contiguous(long mTotal, long n, long k, long groups, int alignment,
            boolean psumLayout, int numSms) {
        DenseGemmHeuristic.requireShape(mTotal, n, k, numSms);
        if (groups < 1 || alignment < 1) {
            throw new IllegalArgumentException("need groups, alignment >= 1, got groups=" + groups + " alignment="
                    + alignment);
        }
        if (alignment % SMALL_GROUP_ROWS != 0) {
            return null; // every verified tile has 64 or 128 rows
        }
        Sm90GemmConfig.Type type = psumLayout ? Sm90GemmConfig.Type.CONTIGUOUS_PSUM
                : Sm90GemmConfig.Type.CONTIGUOUS_INDEX;
        return GROUPED_CHOICES.get(new GroupedProblem(type, mTotal, n, k, groups, alignment, 0, numSms));
    }

    /**
     * The configuration and grid of the M-grouped masked GEMM: {@code groups} groups of at most {@code maxM} rows,
     * about {@code expectedM} of them used (masked_m itself stays on the device). The grid covers every tile the groups
     * can have, capped at the SM count, so that one launch serves any masked_m.
     *
     * <p>Rule: decode-sized groups ({@code expectedM ≤ 64}) take 64 × 128 (one math warpgroup: half the rows of a
     * 128-row tile would be empty); groups that fill every SM with 128 × 192 tiles take 128 × 256 for
     * {@code k ≤ 4096}, else 128 × 192 (as the contiguous rule); the rest the tile the cost model ranks first for
     * {@code groups × expectedM} rows.
     */
    public static Launch<Sm90GemmConfig> masked(long groups, long maxM, long expectedM, long n, long k, int numSms) {
        DenseGemmHeuristic.requireShape(maxM, n, k, numSms);
        if (groups < 1) {
            throw new IllegalArgumentException("groups must be >= 1, got " + groups);
        }
        long expected = Math.clamp(expectedM, 1, maxM);
        return GROUPED_CHOICES.get(new GroupedProblem(Sm90GemmConfig.Type.MASKED, maxM, n, k, groups, 0, expected, numSms));
    }

    private static Launch<Sm90GemmConfig> rankGrouped(GroupedProblem p) {
        boolean masked = p.type() == Sm90GemmConfig.Type.MASKED;
        // Rows the tiles cover: the expected rows of every group, or all rows of the contiguous layout.
        long rows = masked ? p.expectedM() : p.m();
        long copies = masked ? p.groups() : 1;
        Sm90GemmConfig config = null;
        double micros = Double.NaN;
        Sm90GemmConfig wide = Sm90GemmConfig.of(128, p.k() <= 4096 ? 256 : 192, p.numSms(), p.type());
        boolean wideLegal = masked || p.alignment() % 128 == 0;
        if (masked && p.expectedM() <= SMALL_GROUP_ROWS) {
            config = Sm90GemmConfig.of(SMALL_GROUP_ROWS, 128, p.numSms(), p.type());
        } else if (wideLegal && copies * Sm90GemmConfig.of(128, 192, p.numSms()).tiles(rows, p.n()) >= p.numSms()) {
            config = wide;
        } else {
            micros = Double.POSITIVE_INFINITY;
            for (int[] tile : VERIFIED_TILES) {
                if (!masked && p.alignment() % tile[0] != 0) {
                    continue;
                }
                Sm90GemmConfig candidate = Sm90GemmConfig.of(tile[0], tile[1], p.numSms(), p.type());
                long uniqueBytes = copies * (rows * p.k() + 2 * rows * p.n()) + p.groups() * p.n() * p.k();
                double predicted = Sm90GemmCostModel.micros(tile[0], tile[1], copies * candidate.tiles(rows, p.n()),
                        ceilDiv(p.k(), 128), Sm90GemmCostModel.streamsB(rows, tile[0]), uniqueBytes, p.numSms());
                if (predicted < micros) {
                    config = candidate;
                    micros = predicted;
                }
            }
        }
        Launch<Sm90GemmConfig> launch = new Launch<>(config, masked ? config.maskedGeometry(p.groups(), p.m(), p.n())
                : config.geometry(p.m(), p.n()));
        if (Jit.config().printConfigs()) {
            String how = Double.isNaN(micros) ? "by rule" : String.format("predicted %.1f us", micros);
            if (masked) {
                System.out.printf("deepgemm4j: m_grouped_fp8_gemm_masked G=%d M_max=%d expected_m=%d N=%d K=%d -> %s,"
                        + " grid %d, %s%n", p.groups(), p.m(), p.expectedM(), p.n(), p.k(), config,
                        launch.geometry().gridX(), how);
            } else {
                System.out.printf("deepgemm4j: m_grouped_fp8_gemm_contiguous G=%d M=%d N=%d K=%d alignment=%d -> %s,"
                        + " grid %d, %s%n", p.groups(), p.m(), p.n(), p.k(), p.alignment(), config,
                        launch.geometry().gridX(), how);
            }
        }
        return launch;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * The M-grouped configurations CI compiles for an H100 SXM: what {@link #contiguous} and {@link #masked} pick for
     * the benchmark's shapes (the rule's tiles for each layout), plus a fixed sample of the cost model's one-warpgroup
     * picks (64 × 128, the contiguous layouts' tile under alignment 64). Other shapes compile on first use.
     */
    public static List<Sm90GemmConfig> groupedConfigs() {
        List<Sm90GemmConfig> all = new ArrayList<>();
        for (Sm90GemmConfig.Type type : new Sm90GemmConfig.Type[] {Sm90GemmConfig.Type.CONTIGUOUS_INDEX,
            Sm90GemmConfig.Type.CONTIGUOUS_PSUM, Sm90GemmConfig.Type.MASKED}) {
            all.add(Sm90GemmConfig.of(128, 192, CATALOG_NUM_SMS, type));
            all.add(Sm90GemmConfig.of(128, 256, CATALOG_NUM_SMS, type));
        }
        all.add(Sm90GemmConfig.of(SMALL_GROUP_ROWS, 128, CATALOG_NUM_SMS, Sm90GemmConfig.Type.MASKED));
        all.add(Sm90GemmConfig.of(SMALL_GROUP_ROWS, 128, CATALOG_NUM_SMS, Sm90GemmConfig.Type.CONTIGUOUS_INDEX));
        all.add(Sm90GemmConfig.of(SMALL_GROUP_ROWS, 128, CATALOG_NUM_SMS, Sm90GemmConfig.Type.CONTIGUOUS_PSUM));
        return all;
    }

    /** The dense candidate with the lowest predicted time; plain tiles win ties. */
    private static Sm90GemmConfig best(long m, long n, long k, int numSms) {
        return ranked(m, n, k, numSms).getFirst().config();
    }

    /** A candidate and its predicted time. */
    private record Ranked(Sm90GemmConfig config, double micros) {
    }

    /** Every dense candidate that fits, fastest predicted first; plain tiles come first among equal predictions. */
    private static List<Ranked> ranked(long m, long n, long k, int numSms) {
        List<Ranked> all = new ArrayList<>();
        for (int clusterM = 1; clusterM <= 2 && clusterM <= numSms; clusterM++) {
            int[][] tiles = clusterM > 1 ? VERIFIED_CLUSTER_TILES
                    : m <= Sm90GemmCostModel.DECODE_ROWS ? DENSE_TILES : VERIFIED_TILES;
            for (int[] tile : tiles) {
                Sm90GemmConfig candidate = clusterM == 1 ? Sm90GemmConfig.of(tile[0], tile[1], numSms)
                        : Sm90GemmConfig.clustered(tile[0], tile[1], numSms);
                if (candidate.fits(m, n)) {
                    all.add(new Ranked(candidate, Sm90GemmCostModel.denseMicros(candidate, m, n, k)));
                }
            }
        }
        all.sort(Comparator.comparingDouble(Ranked::micros)); // stable: enumeration order breaks ties
        return all;
    }

    /**
     * What the opt-in tuner times for a dense shape: {@link #choose}'s configuration first, then the next ones the
     * cost model ranks, fastest predicted first, as long as their prediction is within {@link #TUNING_SLACK} of the
     * best; at most {@link #TUNING_CANDIDATES} in all. The slack is wide because the model's error is: within about
     * 25% at M = 4096, and up to 70% too slow on the slower decode tiles (see {@link Sm90GemmCostModel}).
     */
    public static List<Launch<Sm90GemmConfig>> tuningCandidates(long m, long n, long k, int numSms) {
        Launch<Sm90GemmConfig> chosen = choose(m, n, k, numSms);
        List<Launch<Sm90GemmConfig>> out = new ArrayList<>();
        out.add(chosen);
        List<Ranked> ranked = ranked(m, n, k, numSms);
        double limit = ranked.getFirst().micros() * TUNING_SLACK;
        for (Ranked r : ranked) {
            if (out.size() == TUNING_CANDIDATES || r.micros() > limit) {
                break;
            }
            if (!r.config().equals(chosen.config())) {
                out.add(new Launch<>(r.config(), r.config().geometry(m, n)));
            }
        }
        return out;
    }

    /**
     * What CI compiles of the dense GEMM for sm_90a: every plain tile {@link #choose} can return on an H100 SXM, then
     * the clustered configurations it picks for the standard shapes (M in {@link #CATALOG_MS}, (N, K) in
     * {@link #STANDARD_NK}) and {@link #CLUSTER_SAMPLES}. Other shapes may pick another clustered tile; it then
     * compiles at first use.
     */
    public static List<Sm90GemmConfig> allConfigs() {
        List<Sm90GemmConfig> all = new ArrayList<>();
        for (int[] tile : DENSE_TILES) {
            all.add(Sm90GemmConfig.of(tile[0], tile[1], CATALOG_NUM_SMS));
        }
        for (long m : CATALOG_MS) {
            for (long[] nk : STANDARD_NK) {
                Sm90GemmConfig c = best(m, nk[0], nk[1], CATALOG_NUM_SMS);
                if (c.clusterM() > 1 && !all.contains(c)) {
                    all.add(c);
                }
            }
        }
        for (int[] tile : CLUSTER_SAMPLES) {
            Sm90GemmConfig c = Sm90GemmConfig.clustered(tile[0], tile[1], CATALOG_NUM_SMS);
            if (!all.contains(c)) {
                all.add(c);
            }
        }
        return all;
    }
}
