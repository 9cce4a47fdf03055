package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Recipe;
import java.util.ArrayList;
import java.util.List;

/**
 * What one benchmark run measures: the problems of every operator family, in the order the rows are printed, and
 * how many timed calls each row gets.
 *
 * <p>The CPU plans use small problems, because the CPU reference computes them (and the float64 checks are full):
 * {@link #CPU} takes well under a minute on two cores. The GPU plans use DeepGEMM's standard test shapes (the HEAD
 * column of its test suite): {@link Size#QUICK} one shape per operator, {@link Size#DEFAULT} every standard shape of
 * each family's main variant plus one shape for every other variant, {@link Size#FULL} every shape for every
 * variant.
 *
 * @param name the plan's name, as reported
 * @param maxRuns the most timed calls per row
 * @param runBudgetMs timed calls stop at about this much time per row (at least {@link #MIN_RUNS} calls)
 */
record Plan(String name, int maxRuns, double runBudgetMs, List<DenseGemmCases.Problem> dense,
        List<GroupedGemmCases.Contiguous> contiguous, List<GroupedGemmCases.Masked> masked,
        List<GroupedGemmCases.KGrouped> kGrouped, List<MqaLogitsCases.Plain> mqa, List<MqaLogitsCases.Paged> paged,
        List<QuantizeLayoutCases.Cast> casts, List<QuantizeLayoutCases.Layout> layouts) {

    /** How much of the standard shape list a GPU run covers. */
    enum Size {
        QUICK, DEFAULT, FULL
    }

    /** Fewest timed calls per row. */
    static final int MIN_RUNS = 3;
    /** Timed calls per GPU row when they are fast. */
    static final int GPU_RUNS = 10;

    private static final GemmLayout[] LAYOUTS = GemmLayout.values();
    private static final Recipe[] RECIPES = {Recipe.PER_TOKEN_PER_BLOCK, Recipe.PER_TOKEN_PER_TOKEN};

    /** Dense forward (N, K) of DeepSeek-V3, with M ∈ {1, 128, 4096}. */
    static final int[][] DENSE_NK = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384},
        {4096, 7168}, {7168, 2048}};
    static final int[] DENSE_M = {1, 128, 4096};
    /** Weight-gradient (M, N, K) of the 1D1D kernel with FP32 accumulation. */
    static final int[][] WGRAD_MNK = {{2112, 4096, 7168}, {576, 4096, 7168}, {24576, 4096, 1536},
        {32768, 4096, 512}, {7168, 4096, 16384}, {4096, 4096, 7168}, {7168, 4096, 2048}};
    /** (N, K) of the M-grouped GEMMs. */
    static final int[][] GROUPED_NK = {{6144, 7168}, {7168, 3072}, {4096, 4096}, {4096, 2048}};
    /** (groups, expected rows per group) of the contiguous layout. */
    static final int[][] CONTIGUOUS_GE = {{4, 8192}, {8, 4096}};
    /** (groups, expected rows per group) of the masked layout, M_max = {@value #MASKED_MAX_M}. */
    static final int[][] MASKED_GE = {{32, 192}, {6, 1024}, {32, 20}, {6, 20}};
    static final int MASKED_MAX_M = 4096;
    /** (groups, M, N, expected K per group) of the K-grouped weight-gradient GEMM. */
    static final int[][] K_GROUPED = {{4, 4096, 7168, 8192}, {4, 7168, 2048, 8192}, {8, 4096, 7168, 4096},
        {8, 7168, 2048, 4096}, {16, 4096, 7168, 2048}, {16, 7168, 2048, 2048}};
    /** Indexer heads and head dimension of DeepSeek-V3.2. */
    static final int MQA_HEADS = 64;
    static final int MQA_DIM = 128;

    int runsFor(double warmMs) {
        int byBudget = (int) Math.min(maxRuns, Math.ceil(runBudgetMs / Math.max(warmMs, 1e-3)));
        return Math.max(Math.min(MIN_RUNS, maxRuns), byBudget);
    }

    /** Small problems for the CPU reference backend. */
    static Plan cpu(boolean quick) {
        if (quick) {
            return new Plan("cpu-quick", 3, Double.POSITIVE_INFINITY, everyDenseVariant(64, 128, 256),
                    everyContiguousVariant(2, 96, 128, 256), List.of(new GroupedGemmCases.Masked(2, 64, 40, 128,
                            256)), bothKGrouped(2, 64, 64, 256), List.of(new MqaLogitsCases.Plain(32, 128, 32, 32)),
                    List.of(new MqaLogitsCases.Paged(4, 192, 32, 32)), List.of(new QuantizeLayoutCases.Cast(128,
                            512)), List.of(new QuantizeLayoutCases.Layout(257, 7)));
        }
        return new Plan("cpu", 5, Double.POSITIVE_INFINITY, everyDenseVariant(128, 256, 1024),
                everyContiguousVariant(4, 128, 256, 512), List.of(new GroupedGemmCases.Masked(4, 128, 96, 256, 512)),
                bothKGrouped(4, 128, 256, 320), List.of(new MqaLogitsCases.Plain(128, 512, 32, 64)),
                List.of(new MqaLogitsCases.Paged(16, 640, 32, 64),
                        new MqaLogitsCases.Paged(16, 640, 32, 64, 2)), List.of(new QuantizeLayoutCases.Cast(512, 2048)),
                List.of(new QuantizeLayoutCases.Layout(2049, 56)));
    }

    /** DeepGEMM's standard shapes for a GPU. */
    static Plan gpu(Size size) {
        return switch (size) {
            case QUICK -> new Plan("gpu-quick", GPU_RUNS, 500, everyDenseVariant(128, 4096, 7168),
                    everyContiguousVariant(4, 8192, 4096, 2048),
                    List.of(new GroupedGemmCases.Masked(6, MASKED_MAX_M, 1024, 4096, 2048)),
                    bothKGrouped(4, 7168, 2048, 8192), List.of(new MqaLogitsCases.Plain(2048, 8192, MQA_HEADS,
                            MQA_DIM)), List.of(new MqaLogitsCases.Paged(256, 8192, MQA_HEADS, MQA_DIM)),
                    List.of(new QuantizeLayoutCases.Cast(4096, 7168)), List.of(new QuantizeLayoutCases.Layout(4097,
                            57)));
            case DEFAULT -> new Plan("gpu", GPU_RUNS, 1000, defaultDense(), defaultContiguous(), defaultMasked(),
                    defaultKGrouped(), List.of(new MqaLogitsCases.Plain(2048, 8192, MQA_HEADS, MQA_DIM)),
                    List.of(new MqaLogitsCases.Paged(256, 8192, MQA_HEADS, MQA_DIM)),
                    List.of(new QuantizeLayoutCases.Cast(4096, 7168)),
                    List.of(new QuantizeLayoutCases.Layout(4097, 57)));
            case FULL -> new Plan("gpu-full", GPU_RUNS, 1000, fullDense(), fullContiguous(), fullMasked(),
                    fullKGrouped(), List.of(new MqaLogitsCases.Plain(2048, 8192, MQA_HEADS, MQA_DIM),
                            new MqaLogitsCases.Plain(2048, 65536, MQA_HEADS, MQA_DIM),
                            new MqaLogitsCases.Plain(8192, 65536, MQA_HEADS, MQA_DIM),
                            new MqaLogitsCases.Plain(8192, 65536, MQA_HEADS, MQA_DIM, false, DType.BF16),
                            new MqaLogitsCases.Plain(8192, 65536, MQA_HEADS, MQA_DIM, true)),
                    List.of(new MqaLogitsCases.Paged(256, 8192, MQA_HEADS, MQA_DIM),
                            new MqaLogitsCases.Paged(256, 65536, MQA_HEADS, MQA_DIM),
                            new MqaLogitsCases.Paged(256, 65536, MQA_HEADS, MQA_DIM, 2),
                            new MqaLogitsCases.Paged(4096, 8192, MQA_HEADS, MQA_DIM)),
                    List.of(new QuantizeLayoutCases.Cast(4096, 7168), new QuantizeLayoutCases.Cast(4097, 7296)),
                    fullLayouts());
        };
    }

    /** This plan with at most {@code runs} timed calls per row. */
    Plan withMaxRuns(int runs) {
        return new Plan(name, runs, runBudgetMs, dense, contiguous, masked, kGrouped, mqa, paged, casts, layouts);
    }

    // ------------------------------------------------------------------ dense

    private static List<DenseGemmCases.Problem> everyDenseVariant(int m, int n, int k) {
        List<DenseGemmCases.Problem> all = new ArrayList<>();
        for (Recipe recipe : RECIPES) {
            for (GemmLayout layout : LAYOUTS) {
                all.add(new DenseGemmCases.Problem(layout, recipe, m, n, k));
            }
        }
        return all;
    }

    /** NT 1D2D at every forward shape; the other layouts and 1D1D at one shape. */
    private static List<DenseGemmCases.Problem> defaultDense() {
        List<DenseGemmCases.Problem> all = new ArrayList<>();
        for (Recipe recipe : RECIPES) {
            for (GemmLayout layout : LAYOUTS) {
                if (layout == GemmLayout.NT && recipe == Recipe.PER_TOKEN_PER_BLOCK) {
                    all.addAll(forwardShapes(layout));
                } else {
                    all.add(new DenseGemmCases.Problem(layout, recipe, 4096, 4096, 7168));
                }
            }
        }
        return all;
    }

    private static List<DenseGemmCases.Problem> fullDense() {
        List<DenseGemmCases.Problem> all = new ArrayList<>();
        for (GemmLayout layout : LAYOUTS) {
            all.addAll(forwardShapes(layout));
        }
        for (GemmLayout layout : LAYOUTS) {
            for (int[] mnk : WGRAD_MNK) {
                all.add(new DenseGemmCases.Problem(layout, Recipe.PER_TOKEN_PER_TOKEN, mnk[0], mnk[1], mnk[2]));
            }
        }
        return all;
    }

    private static List<DenseGemmCases.Problem> forwardShapes(GemmLayout layout) {
        List<DenseGemmCases.Problem> all = new ArrayList<>();
        for (int m : DENSE_M) {
            for (int[] nk : DENSE_NK) {
                all.add(new DenseGemmCases.Problem(layout, Recipe.PER_TOKEN_PER_BLOCK, m, nk[0], nk[1]));
            }
        }
        return all;
    }

    // ------------------------------------------------------------------ grouped

    private static List<GroupedGemmCases.Contiguous> everyContiguousVariant(int groups, int expectedM, int n,
            int k) {
        List<GroupedGemmCases.Contiguous> all = new ArrayList<>();
        for (GroupedGemmCases.ContiguousKind kind : GroupedGemmCases.ContiguousKind.values()) {
            all.add(new GroupedGemmCases.Contiguous(kind, groups, expectedM, n, k));
        }
        return all;
    }

    /** The index layout at every standard shape; psum and nn at one. */
    private static List<GroupedGemmCases.Contiguous> defaultContiguous() {
        List<GroupedGemmCases.Contiguous> all = new ArrayList<>(
                contiguousShapes(GroupedGemmCases.ContiguousKind.INDEX));
        all.add(new GroupedGemmCases.Contiguous(GroupedGemmCases.ContiguousKind.PSUM, 4, 8192, 4096, 4096));
        all.add(new GroupedGemmCases.Contiguous(GroupedGemmCases.ContiguousKind.NN, 4, 8192, 4096, 4096));
        return all;
    }

    private static List<GroupedGemmCases.Contiguous> fullContiguous() {
        List<GroupedGemmCases.Contiguous> all = new ArrayList<>();
        for (GroupedGemmCases.ContiguousKind kind : GroupedGemmCases.ContiguousKind.values()) {
            all.addAll(contiguousShapes(kind));
        }
        return all;
    }

    private static List<GroupedGemmCases.Contiguous> contiguousShapes(GroupedGemmCases.ContiguousKind kind) {
        List<GroupedGemmCases.Contiguous> all = new ArrayList<>();
        for (int[] ge : CONTIGUOUS_GE) {
            for (int[] nk : GROUPED_NK) {
                all.add(new GroupedGemmCases.Contiguous(kind, ge[0], ge[1], nk[0], nk[1]));
            }
        }
        return all;
    }

    /** The three group patterns of DeepGEMM's masked benchmark, at the first (N, K). */
    private static List<GroupedGemmCases.Masked> defaultMasked() {
        List<GroupedGemmCases.Masked> all = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            all.add(new GroupedGemmCases.Masked(MASKED_GE[i][0], MASKED_MAX_M, MASKED_GE[i][1], GROUPED_NK[0][0],
                    GROUPED_NK[0][1]));
        }
        return all;
    }

    private static List<GroupedGemmCases.Masked> fullMasked() {
        List<GroupedGemmCases.Masked> all = new ArrayList<>();
        for (int[] ge : MASKED_GE) {
            for (int[] nk : GROUPED_NK) {
                all.add(new GroupedGemmCases.Masked(ge[0], MASKED_MAX_M, ge[1], nk[0], nk[1]));
            }
        }
        return all;
    }

    private static List<GroupedGemmCases.KGrouped> bothKGrouped(int groups, int m, int n, int expectedK) {
        return List.of(new GroupedGemmCases.KGrouped(false, groups, m, n, expectedK),
                new GroupedGemmCases.KGrouped(true, groups, m, n, expectedK));
    }

    /** nt at every standard shape; tn at one. */
    private static List<GroupedGemmCases.KGrouped> defaultKGrouped() {
        List<GroupedGemmCases.KGrouped> all = new ArrayList<>(kGroupedShapes(false));
        int[] first = K_GROUPED[0];
        all.add(new GroupedGemmCases.KGrouped(true, first[0], first[1], first[2], first[3]));
        return all;
    }

    private static List<GroupedGemmCases.KGrouped> fullKGrouped() {
        List<GroupedGemmCases.KGrouped> all = new ArrayList<>(kGroupedShapes(false));
        all.addAll(kGroupedShapes(true));
        return all;
    }

    private static List<GroupedGemmCases.KGrouped> kGroupedShapes(boolean tn) {
        List<GroupedGemmCases.KGrouped> all = new ArrayList<>();
        for (int[] s : K_GROUPED) {
            all.add(new GroupedGemmCases.KGrouped(tn, s[0], s[1], s[2], s[3]));
        }
        return all;
    }

    // ------------------------------------------------------------------ layouts

    /** DeepGEMM's layout test: MN ∈ {4096, 4097, 8192} × K ∈ {128, 7168, 7296} (SFK = K / 128). */
    private static List<QuantizeLayoutCases.Layout> fullLayouts() {
        List<QuantizeLayoutCases.Layout> all = new ArrayList<>();
        for (int mn : new int[] {4096, 4097, 8192}) {
            for (int sfk : new int[] {1, 56, 57}) {
                all.add(new QuantizeLayoutCases.Layout(mn, sfk));
            }
        }
        return all;
    }
}
