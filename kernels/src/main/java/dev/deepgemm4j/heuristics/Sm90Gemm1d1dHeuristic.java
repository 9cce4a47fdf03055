package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.Jit;
import java.util.ArrayList;
import java.util.List;

/**
 * Tile choice of the Hopper weight-gradient GEMM ({@link Sm90Gemm1d1dConfig}), dense and K-grouped: among the tiles
 * the nvcc harness verified (kernels/src/test/cuda/sm90_gemm_1d1d_bench.cu), the one with the lowest time that
 * {@link Sm90GemmCostModel} predicts, with the FP32 output read and written once by the reduce-add as HBM traffic.
 */
public final class Sm90Gemm1d1dHeuristic {

    /**
     * The tiles, {blockM, blockN}. Only widths of 8 mod 16 columns: their FP32 staging stores hit every shared-memory
     * bank evenly (a 128-wide row pitch puts all 8 rows of a store on the same banks, 8-way conflicts); 184 is the
     * widest whose two accumulator sets fit the math warpgroups' registers.
     */
    static final int[][] TILES = {{128, 152}, {128, 184}, {64, 152}};
    /**
     * Least time of one 128-deep K block of a 128-row tile, ns. The promotion costs two FP32 operations per
     * accumulator, so the kernel runs well below the tensor-core rate and a K block costs about the same at 152 and
     * 184 columns: H100, 1D1D harness with ping-pong, 7168 × 4096 × 16384 (docs/perf/2026-12-07-h100-session10.txt):
     * 768 ns at 128 × 152, 805 ns at 128 × 184 (the 1D2D model's tensor-core terms: 483 and 585). With this floor the
     * wider tile wins where it needs fewer tiles per CTA, as it did on all 7 dense benchmark shapes.
     */
    static final double FLOOR_128_NS = 780;
    /**
     * The same for a 64-row tile, whose one math warpgroup cannot hide its promotion behind another's WGMMAs: H100,
     * 1D1D harness at 64 × 152 (docs/perf/2026-12-07-h100-session11.txt), 472, 483 and 487 ns per K block on
     * 7168 × 4096 × 16384, 2112 × 4096 × 7168 and 4096 × 4096 × 7168. Per row it costs more than a 128-row tile, so
     * the 64-row tile wins only where it puts more SMs to work (small M and N), never on the 7 benchmark shapes.
     */
    static final double FLOOR_64_NS = 480;
    /** SM count of the H100 SXM the configurations are compiled for ahead of time. */
    static final int CATALOG_NUM_SMS = 132;
    private static final ChoiceMemo<Problem, Launch<Sm90Gemm1d1dConfig>> CHOICES = new ChoiceMemo<>(
            Sm90Gemm1d1dHeuristic::rank);

    private record Problem(int groups, long m, long n, long k, int numSms, boolean kGrouped) {
    }

    private Sm90Gemm1d1dHeuristic() {
    }

    /** Dense {@code D [m, n] += A [m, k] · B [n, k]ᵀ}; prints the choice when DG_PRINT_CONFIGS is set. */
    public static Launch<Sm90Gemm1d1dConfig> dense(long m, long n, long k, int numSms) {
        return choose(new Problem(1, m, n, k, numSms, false));
    }

    /**
     * K-grouped: {@code groups} non-empty groups of one {@code m × n} output each, {@code totalK} tokens among them.
     */
    public static Launch<Sm90Gemm1d1dConfig> kGrouped(int groups, long m, long n, long totalK, int numSms) {
        if (groups < 1) {
            throw new IllegalArgumentException("groups must be positive (empty groups are not launched), got "
                    + groups);
        }
        return choose(new Problem(groups, m, n, totalK, numSms, true));
    }

    private static Launch<Sm90Gemm1d1dConfig> choose(Problem p) {
        return CHOICES.get(p);
    }

    private static Launch<Sm90Gemm1d1dConfig> rank(Problem p) {
        DenseGemmHeuristic.requireShape(p.m, p.n, p.k, p.numSms);
        Sm90Gemm1d1dConfig best = null;
        double bestMicros = Double.POSITIVE_INFINITY;
        for (int[] tile : TILES) {
            Sm90Gemm1d1dConfig c = Sm90Gemm1d1dConfig.of(tile[0], tile[1], p.numSms, p.kGrouped);
            double us = predictedMicros(c, p.groups, p.m, p.n, p.k);
            if (us < bestMicros) {
                best = c;
                bestMicros = us;
            }
        }
        Launch<Sm90Gemm1d1dConfig> launch = new Launch<>(best, best.geometry(p.groups * best.tiles(p.m, p.n)));
        if (Jit.config().printConfigs()) {
            System.out.printf("deepgemm4j: %s G=%d M=%d N=%d K=%d -> %s, grid %d, predicted %.1f us%n",
                    p.kGrouped ? "k_grouped_fp8_gemm" : "fp8_gemm_1d1d", p.groups, p.m, p.n, p.k, best,
                    launch.geometry().gridX(), bestMicros);
        }
        return launch;
    }

    /**
     * Predicted µs of {@code groups} outputs of {@code m × n} over {@code totalK} tokens in all: the persistent-GEMM
     * model with the groups' K spread evenly, FP32 D read and written once, and an FP32 epilogue twice the BF16 one.
     */
    static double predictedMicros(Sm90Gemm1d1dConfig c, int groups, long m, long n, long totalK) {
        long tiles = groups * c.tiles(m, n);
        long kBlocks = Math.max(1, Sm90GemmConfig.ceilDiv(Sm90GemmConfig.ceilDiv(totalK, 128), groups));
        long uniqueBytes = m * totalK + n * totalK + 8L * groups * m * n;
        long perCta = Sm90GemmConfig.ceilDiv(tiles, Math.min(tiles, c.numSms()));
        return Sm90GemmCostModel.micros(c.blockM(), c.blockN(), tiles, kBlocks, false, uniqueBytes, c.numSms(),
                c.blockM() == 128 ? FLOOR_128_NS : FLOOR_64_NS) + perCta * 0.57;
    }

    /** Every configuration the heuristic can return on an H100 SXM (what CI compiles for sm_90a). */
    public static List<Sm90Gemm1d1dConfig> allConfigs() {
        List<Sm90Gemm1d1dConfig> all = new ArrayList<>();
        for (boolean kGrouped : new boolean[] {false, true}) {
            for (int[] tile : TILES) {
                all.add(Sm90Gemm1d1dConfig.of(tile[0], tile[1], CATALOG_NUM_SMS, kGrouped));
            }
        }
        return all;
    }
}
