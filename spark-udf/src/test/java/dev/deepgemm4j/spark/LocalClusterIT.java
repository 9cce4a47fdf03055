package dev.deepgemm4j.spark;

import static dev.deepgemm4j.spark.SparkAssertions.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real executor JVMs ({@code local-cluster[2,1,1024]}) with the plugin: each starts its runtime once and loads
 * each weight set once, however many tasks and jobs use it, and the results equal the CPU batch path.
 */
class LocalClusterIT {

    private static final int TOKENS = 240;
    private static final int PARTITIONS = 8;
    /** Whether NVCC is on the PATH, so kernels can be compiled without a GPU. */
    private static final boolean NVCC = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
            .anyMatch(d -> Files.isExecutable(Path.of(d.isEmpty() ? "." : d, "nvcc")));

    @TempDir
    static Path dir;
    private static SparkSession spark;

    @BeforeAll
    static void startCluster() throws Exception {
        Files.createDirectories(Path.of(System.getenv("SPARK_HOME"), "jars"));
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(p -> Path.of(p).toAbsolutePath().toString()).collect(Collectors.joining(java.io.File.pathSeparator));
        DeepGemmPlugin.clearEvents();
        SparkSession.Builder builder = SparkSession.builder();
        if (NVCC) {
            // The driver compiles with NVCC into its own cache and ships the kernels; each executor has its own cache.
            builder.config(DeepGemmConf.JIT_PRECOMPILE, "true").config(DeepGemmConf.JIT_COMPILER, "nvcc")
                    .config(DeepGemmConf.JIT_CACHE_DIR, dir.resolve("jit-{executor}").toString());
        }
        spark = builder
                .master("local-cluster[2,1,1024]")
                .appName("deepgemm4j-local-cluster-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.executor.extraClassPath", classPath)
                .config("spark.executor.extraJavaOptions",
                        System.getProperty("deepgemm4j.executor.jvm.args", "").strip().replaceAll("\\s+", " "))
                .config("spark.plugins", DeepGemmPlugin.class.getName())
                .config("spark.metrics.namespace", "deepgemm4j-it")
                .config("spark.sql.catalog.dg", DeepGemmCatalog.class.getName())
                .getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
    }

    @AfterAll
    static void stopCluster() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** Waits (events travel asynchronously) until {@code done} holds for the driver's events; returns them. */
    private static List<RuntimeEvent> eventsWhen(Predicate<List<RuntimeEvent>> done) throws InterruptedException {
        for (int i = 0; i < 200 && !done.test(DeepGemmPlugin.events()); i++) {
            Thread.sleep(50);
        }
        return DeepGemmPlugin.events();
    }

    private static Map<String, Long> countByExecutor(List<RuntimeEvent> events, RuntimeEvent.Kind kind,
            String detail) {
        return events.stream().filter(e -> e.kind() == kind && e.detail().contains(detail))
                .collect(Collectors.groupingBy(RuntimeEvent::executorId, Collectors.counting()));
    }

    @Test
    void eachExecutorStartsOnceAndLoadsTheModelOnceForEveryTaskAndJob() throws Exception {
        Path file = dir.resolve("cluster-moe.dgw");
        MoeScorerTest.Tokens tokens;
        float[] direct;
        try (MoeModel model = MoeModel.generate(41, MoeScorerTest.EXPERTS, MoeScorerTest.D, MoeScorerTest.F)) {
            WeightFile.write(file, model.toTensors());
            tokens = MoeScorerTest.Tokens.random(7, TOKENS);
            direct = new MoeLayer(model, ExpertLayout.CONTIGUOUS).score(tokens.hidden(), tokens.routing()).values();
        }
        Dataset<Row> frame = spark.createDataFrame(tokens.rows(), MoeScorerTest.SCHEMA).repartition(PARTITIONS);
        MoeScorer scorer = new MoeScorer().setModel(WeightRef.of(file.toString())).setRoutingCol("routing")
                .setMetricsCol("batch").setBatchTokens(16);

        List<Row> first = scorer.transform(frame).collectAsList();
        MoeScorer.ScoringTotals firstTotals = scorer.totals();
        List<Row> second = scorer.transform(frame).collectAsList();
        MoeScorer.ScoringTotals secondTotals = scorer.totals();
        assertEquals(TOKENS, firstTotals.tokens());
        assertKernelsCompiledOnceForTheCluster(firstTotals, secondTotals);

        for (Row row : first) {
            int t = (int) row.getLong(0);
            assertArrayEquals(Arrays.copyOfRange(direct, t * MoeScorerTest.D, (t + 1) * MoeScorerTest.D),
                    floats(row, 3), "token " + t);
        }
        Set<String> scoringExecutors = first.stream().map(r -> r.getStruct(4).getString(6)).collect(Collectors.toSet());
        scoringExecutors.addAll(second.stream().map(r -> r.getStruct(4).getString(6)).toList());
        assertEquals(Set.of("0", "1"), scoringExecutors, "both executors scored");

        List<RuntimeEvent> events = eventsWhen(e -> countByExecutor(e, RuntimeEvent.Kind.WEIGHT_LOAD,
                file.toString()).size() == 2);
        List<RuntimeEvent> inits = events.stream().filter(e -> e.kind() == RuntimeEvent.Kind.INIT).toList();
        assertEquals(2, inits.size(), events.toString());
        assertEquals(Set.of("0", "1"), inits.stream().map(RuntimeEvent::executorId).collect(Collectors.toSet()));
        assertTrue(inits.stream().allMatch(e -> e.count() == 1 && e.detail().equals("host")), inits.toString());
        assertNotEquals(inits.get(0).pid(), inits.get(1).pid(), "two executor JVMs");
        assertTrue(inits.stream().noneMatch(e -> e.pid() == ProcessHandle.current().pid()));
        assertEquals(Map.of("0", 1L, "1", 1L), countByExecutor(events, RuntimeEvent.Kind.WEIGHT_LOAD,
                file.toString()), "one load per executor for " + PARTITIONS * 2 + " tasks in two jobs");
    }

    /**
     * With NVCC: the driver compiled every kernel key once (its compile log and its cache agree), each executor got
     * them into its own cache without compiling (no compile log there) and loaded each once from disk; the second
     * job compiled nothing. Without NVCC nothing is compiled anywhere.
     */
    private static void assertKernelsCompiledOnceForTheCluster(MoeScorer.ScoringTotals first,
            MoeScorer.ScoringTotals second) throws Exception {
        if (!NVCC) {
            assertEquals(0, first.kernelCompiles() + second.kernelCompiles());
            return;
        }
        Set<String> driverEntries = entries(dir.resolve("jit-driver"));
        long n = driverEntries.size();
        assertTrue(n >= 2, "the quantiser and at least one grouped GEMM: " + driverEntries);
        List<String> compiles = Files.readAllLines(dir.resolve("jit-driver").resolve("compile.log"));
        assertEquals(n, compiles.size(), compiles.toString());
        assertEquals(driverEntries, compiles.stream().map(l -> l.split(" ")[3]).collect(Collectors.toSet()));
        for (String executor : List.of("0", "1")) {
            Path root = dir.resolve("jit-" + executor);
            assertEquals(driverEntries, entries(root), "executor " + executor + " has the driver's kernels");
            assertTrue(!Files.exists(root.resolve("compile.log")), "executor " + executor + " compiled something");
        }
        assertEquals(n, first.kernelCompiles(), "one compile per key for the whole job");
        assertEquals(2 * n, first.kernelCacheHits(), "each executor loaded each kernel once, from disk");
        assertEquals(0, second.kernelCompiles());
        assertEquals(3 * n, second.kernelCacheHits(), "driver and executors: every kernel from memory");
    }

    private static Set<String> entries(Path cacheRoot) throws Exception {
        try (var list = Files.list(cacheRoot.resolve("cache"))) {
            return list.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    @Test
    void gemmWeightSetsAreLoadedOncePerExecutorToo() throws Exception {
        SplittableRandom rng = new SplittableRandom(9);
        int n = 64;
        int k = 128;
        Path file = dir.resolve("cluster-proj.dgw");
        WeightSets.writeGemmWeights(file, MoeReference.gaussian(rng, n * k), n, k);
        WeightSets.register("cluster_proj", file.toString());
        spark.range(0, 64, 1, PARTITIONS).selectExpr("transform(sequence(1, " + k + "), i -> CAST(id * i % 7 AS FLOAT)"
                + " - 3) AS x").createOrReplaceTempView("acts");
        List<Row> out = spark.sql("SELECT dg.fp8_gemm('cluster_proj', x) FROM acts").collectAsList();
        assertEquals(64, out.size());
        assertTrue(out.stream().allMatch(r -> r.getList(0).size() == n));
        Map<String, Long> loads = countByExecutor(eventsWhen(e -> countByExecutor(e, RuntimeEvent.Kind.WEIGHT_LOAD,
                file.toString()).size() == 2), RuntimeEvent.Kind.WEIGHT_LOAD, file.toString());
        assertTrue(loads.values().stream().allMatch(c -> c == 1) && !loads.isEmpty(), loads.toString());
    }
}
