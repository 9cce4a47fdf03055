package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.Jit;
import java.util.ArrayList;
import java.util.List;

/**
 * Tile and split-K choice of the Hopper small-M GEMM ({@link Sm90SmallMGemmConfig}). With few tokens the GEMM
 * streams B from HBM, so the model counts, per SM, the B bytes its CTA reads on the critical path: a unit of one
 * 128-deep K block of a 64-row tile costs 1, a 128-row tile 2. A CTA runs ceil(units / SMs) waves of
 * ceil(kBlocks / splits) K blocks; every split-K unit adds {@link #UNIT_COST} + tokens/32 (partial write, fence,
 * counter) and the last arriver reads all partials ({@code splits · (READ_COST + tokens/32)}). Constants fitted to
 * the first H100 sweep of the harness (kernels/src/test/cuda/sm90_small_m_bench.cu mirrors this model).
 */
public final class Sm90SmallMGemmHeuristic {

    /** Largest M the small-M path takes; above it the tiled kernel's 64-row tiles waste little. */
    public static final int MAX_M = 64;
    /** Token widths compiled: the narrowest ≥ M is used (powers of two keep the catalog small). */
    static final int[] TOKENS = {8, 16, 32, 64};
    static final int[] BLOCK_ROWS = {128, 64};
    static final int MAX_SPLITS = 32;
    static final double UNIT_COST = 4.0;
    static final double READ_COST = 0.5;
    /** Microseconds per cost unit on 132 SMs: 8 KB per SM at about 3 TB/s over 132 SMs (H100 SXM HBM3). */
    static final double MICROS_PER_UNIT_132 = 0.36;
    /** Launch and tail of a small grid, added to the predicted time. */
    static final double FIXED_MICROS = 2.0;
    private static final ChoiceMemo<Problem, Choice> CHOICES = new ChoiceMemo<>(
            p -> rank(p.m(), p.n(), p.k(), p.numSms(), p.splitK() ? MAX_SPLITS : 1));

    private record Problem(long m, long n, long k, int numSms, boolean splitK) {
    }

    /**
     * A launch of the small-M kernel: the configuration and grid, the K split factor and the model's time.
     *
     * @param splits K ranges per row tile, in [1, ceil(k/128)]
     * @param predictedMicros the model's kernel time (rough: for logs and comparisons, not a promise)
     */
    public record Choice(Launch<Sm90SmallMGemmConfig> launch, int splits, double predictedMicros) {

        public Choice {
            if (splits < 1) {
                throw new IllegalArgumentException("splits must be positive, got " + splits);
            }
        }

        public Sm90SmallMGemmConfig config() {
            return launch.config();
        }
    }

    private Sm90SmallMGemmHeuristic() {
    }

    /**
     * The configuration, grid and split factor for {@code D [m, n] = A [m, k] · B [n, k]ᵀ} with {@code m ≤ MAX_M};
     * prints the choice once per shape when DG_PRINT_CONFIGS is set.
     *
     * @param numSms SMs the grid may occupy (set_num_sms, else the device's count)
     * @param splitK whether K may be split (a split launch needs a workspace)
     */
    public static Choice choose(long m, long n, long k, int numSms, boolean splitK) {
        return CHOICES.get(new Problem(m, n, k, numSms, splitK));
    }

    /** The narrowest compiled token width that holds {@code m} tokens. */
    static int tokensFor(long m) {
        for (int t : TOKENS) {
            if (m <= t) {
                return t;
            }
        }
        throw new IllegalArgumentException("m must be at most " + MAX_M + " for the small-M kernel, got " + m);
    }

    /** The model's cost (units of one 64-row K block of B per SM) of one tile height and split factor. */
    static double cost(int tokens, int blockRows, long n, long k, int splits, int numSms) {
        long kBlocks = (k + 127) / 128;
        long tiles = (n + blockRows - 1) / blockRows;
        long waves = (tiles * splits + numSms - 1) / numSms;
        double perUnit = ((kBlocks + splits - 1) / splits) * (blockRows / 64.0);
        if (splits == 1) {
            return waves * perUnit;
        }
        return waves * (perUnit + UNIT_COST + tokens / 32.0) + splits * (READ_COST + tokens / 32.0);
    }

    private static Choice rank(long m, long n, long k, int numSms, int maxSplits) {
        DenseGemmHeuristic.requireShape(m, n, k, numSms);
        if (k < 16 || k % 16 != 0) {
            throw new IllegalArgumentException("k must be a positive multiple of 16 for the small-M kernel (TMA row"
                    + " pitch), got " + k);
        }
        int tokens = tokensFor(m);
        long kBlocks = (k + 127) / 128;
        int bestRows = 0;
        int bestSplits = 0;
        double best = Double.POSITIVE_INFINITY;
        for (int rows : BLOCK_ROWS) {
            for (int s = 1; s <= Math.min(kBlocks, maxSplits); s++) {
                double c = cost(tokens, rows, n, k, s, numSms);
                if (c < best - 1e-9) {
                    best = c;
                    bestRows = rows;
                    bestSplits = s;
                }
            }
        }
        Sm90SmallMGemmConfig config = Sm90SmallMGemmConfig.of(tokens, bestRows);
        double micros = FIXED_MICROS + best * MICROS_PER_UNIT_132 * 132.0 / numSms;
        Choice choice = new Choice(new Launch<>(config, config.geometry(n, bestSplits, numSms)), bestSplits, micros);
        if (Jit.config().printConfigs()) {
            System.out.printf("deepgemm4j: fp8_gemm M=%d N=%d K=%d -> %s, split-K %d, grid %d, predicted %.1f us%n",
                    m, n, k, config, bestSplits, choice.launch().geometry().gridX(), micros);
        }
        return choice;
    }

    /**
     * Every configuration {@link #choose} can return (each token width with both tile heights, deepest pipeline):
     * eight binaries, what CI compiles for sm_90a. The split factor and SM count are launch arguments.
     */
    public static List<Sm90SmallMGemmConfig> allConfigs() {
        List<Sm90SmallMGemmConfig> all = new ArrayList<>();
        for (int t : TOKENS) {
            for (int rows : BLOCK_ROWS) {
                all.add(Sm90SmallMGemmConfig.of(t, rows));
            }
        }
        return all;
    }
}
