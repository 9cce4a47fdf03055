package dev.deepgemm4j.spark;

import static dev.deepgemm4j.spark.SparkAssertions.assertBadRow;
import static dev.deepgemm4j.spark.SparkAssertions.boxed;
import static dev.deepgemm4j.spark.SparkAssertions.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batch MoE scorer in local[2] against its Spark-free batch path and the float64 reference. */
class MoeScorerTest {

    static final int EXPERTS = 4;
    static final int D = 256;
    static final int F = 128;
    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("hidden", DataTypes.createArrayType(DataTypes.FloatType, true), true)
            .add("routing", new StructType()
                    .add("experts", DataTypes.createArrayType(DataTypes.IntegerType, true))
                    .add("weights", DataTypes.createArrayType(DataTypes.FloatType, true)), true);

    @TempDir
    static Path dir;
    private static SparkSession spark;
    private static MoeModel model;
    private static WeightRef ref;

    @BeforeAll
    static void start() throws IOException {
        spark = LocalSpark.session();
        model = MoeModel.generate(21, EXPERTS, D, F);
        Path file = dir.resolve("moe.dgw");
        WeightFile.write(file, model.toTensors());
        ref = WeightRef.of(file.toString());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Tokens with random hidden states and random routing (token 0 routed nowhere), as rows. */
    record Tokens(float[] hidden, Routing routing, List<Row> rows) {
        static Tokens random(long seed, int n) {
            SplittableRandom rng = new SplittableRandom(seed);
            float[] hidden = MoeReference.gaussian(rng, n * D);
            Routing routing = MoeReference.randomRouting(rng, n, EXPERTS);
            List<Row> rows = new ArrayList<>();
            for (int t = 0; t < n; t++) {
                int s0 = routing.offsets()[t];
                int s1 = routing.offsets()[t + 1];
                List<Integer> ids = Arrays.stream(Arrays.copyOfRange(routing.experts(), s0, s1)).boxed().toList();
                rows.add(RowFactory.create((long) t, boxed(Arrays.copyOfRange(hidden, t * D, (t + 1) * D)),
                        RowFactory.create(ids, boxed(Arrays.copyOfRange(routing.weights(), s0, s1)))));
            }
            return new Tokens(hidden, routing, rows);
        }

        Dataset<Row> frame(int partitions) {
            return spark.createDataFrame(rows, SCHEMA).repartition(partitions);
        }
    }

    private static Map<Long, Row> byId(List<Row> rows) {
        Map<Long, Row> out = new HashMap<>();
        rows.forEach(r -> out.put(r.getLong(0), r));
        return out;
    }

    @Test
    void scoresEqualTheBatchPathBitForBitAndTheFloat64Reference() {
        int n = 300;
        Tokens tokens = Tokens.random(1, n);
        MoeScorer scorer = new MoeScorer().setModel(ref).setRoutingCol("routing").setMetricsCol("batch")
                .setBatchTokens(64);
        Dataset<Row> scored = scorer.transform(tokens.frame(3));
        assertEquals(List.of("id", "hidden", "routing", "scored", "batch"), Arrays.asList(scored.columns()));
        List<Row> out = scored.collectAsList();

        float[] direct = new MoeLayer(model, ExpertLayout.CONTIGUOUS).score(tokens.hidden, tokens.routing).values();
        float[] all = new float[n * D];
        Map<Long, Row> rows = byId(out);
        for (int t = 0; t < n; t++) {
            float[] y = floats(rows.get((long) t), 3);
            assertArrayEquals(Arrays.copyOfRange(direct, t * D, (t + 1) * D), y, "token " + t);
            System.arraycopy(y, 0, all, t * D, D);
        }
        float[] ref64 = MoeReference.score(model, tokens.hidden, tokens.routing, true);
        assertTrue(MoeReference.calcDiff(ref64, all) < 1e-5, "calcDiff " + MoeReference.calcDiff(ref64, all));

        // Per-batch metrics: every batch of a partition holds <= 64 rows and the batches cover all rows.
        Map<String, Row> batches = new HashMap<>();
        for (Row r : out) {
            Row b = r.getStruct(4);
            batches.put(b.getInt(0) + "/" + b.getInt(1), b);
            assertEquals("cpu", b.getString(5));
            assertEquals("driver", b.getString(6));
        }
        assertEquals(n, batches.values().stream().mapToInt(b -> b.getInt(2)).sum());
        assertTrue(batches.values().stream().allMatch(b -> b.getInt(2) <= 64 && b.getInt(3) % 128 == 0
                && b.getDouble(4) > 0));
        // No GPU here and precompilation on auto: no kernel is compiled or loaded.
        assertEquals(new MoeScorer.ScoringTotals(n, batches.size(), scorer.totals().batchSeconds(), 0, 0),
                scorer.totals());
    }

    @Test
    void routerRoutingInBothLayoutsMatchesTheBatchPath() {
        Tokens tokens = Tokens.random(2, 90);
        Dataset<Row> frame = tokens.frame(2).drop("routing");
        Map<Long, Row> contiguous = byId(new MoeScorer().setModel(ref).setTopK(2).setBatchTokens(50)
                .transform(frame).collectAsList());
        Map<Long, Row> masked = byId(new MoeScorer().setModel(ref).setTopK(2).setBatchTokens(1000)
                .setLayout(ExpertLayout.MASKED).transform(frame).collectAsList());
        MoeLayer layer = new MoeLayer(model, ExpertLayout.CONTIGUOUS);
        float[] direct = layer.score(tokens.hidden, layer.route(tokens.hidden, 90, 2)).values();
        for (long t = 0; t < 90; t++) {
            float[] expected = Arrays.copyOfRange(direct, (int) t * D, (int) (t + 1) * D);
            assertArrayEquals(expected, floats(contiguous.get(t), 2), "contiguous, token " + t);
            assertArrayEquals(expected, floats(masked.get(t), 2), "masked, token " + t);
        }
    }

    @Test
    void theModelIsLoadedOncePerExecutorJvmAndTheRuntimeStartsOnce() throws IOException {
        Path file = dir.resolve("once.dgw");
        try (MoeModel other = MoeModel.generate(22, EXPERTS, D, F)) {
            WeightFile.write(file, other.toTensors());
        }
        WeightRef once = WeightRef.of(file.toString());
        long loads = DeepGemmRuntime.get().weightLoads();
        Dataset<Row> frame = Tokens.random(3, 120).frame(4);
        for (int run = 0; run < 2; run++) {
            assertEquals(120, new MoeScorer().setModel(once).setRoutingCol("routing").setBatchTokens(16)
                    .transform(frame).count());
        }
        assertEquals(loads + 1, DeepGemmRuntime.get().weightLoads(), "8 tasks, 2 jobs, 1 load");
        assertEquals(1, DeepGemmRuntime.initializations());
        List<RuntimeEvent> events = DeepGemmPlugin.events();
        assertEquals(1, events.stream().filter(e -> e.kind() == RuntimeEvent.Kind.INIT).count(), events.toString());
        assertEquals(1, events.stream().filter(e -> e.kind() == RuntimeEvent.Kind.WEIGHT_LOAD
                && e.detail().contains(file.toString())).count(), events.toString());
        assertEquals(DeepGemmRuntime.get().concurrentTasks(), DeepGemmRuntime.get().availablePermits());
    }

    @Test
    void nullHiddenStatesScoreToNull() {
        List<Row> rows = new ArrayList<>(Tokens.random(4, 3).rows);
        rows.set(1, RowFactory.create(1L, null, rows.get(1).get(2)));
        List<Row> out = new MoeScorer().setModel(ref).setRoutingCol("routing")
                .transform(spark.createDataFrame(rows, SCHEMA)).orderBy("id").collectAsList();
        assertNull(out.get(1).get(3));
        assertEquals(D, floats(out.get(2), 3).length);
    }

    /** One bad row among good ones, in the given column. */
    private static Dataset<Row> withBadRow(Object hidden, Object routing) {
        List<Row> rows = new ArrayList<>(Tokens.random(5, 20).rows);
        Row good = rows.get(7);
        rows.set(7, RowFactory.create(7L, hidden == null ? good.get(1) : hidden, routing == null ? good.get(2)
                : routing));
        return spark.createDataFrame(rows, SCHEMA).coalesce(1);
    }

    @Test
    void badRowsFailTheJobWithAnErrorNamingTheColumnAndRow() {
        MoeScorer scorer = new MoeScorer().setModel(ref).setRoutingCol("routing");
        assertBadRow(() -> scorer.transform(withBadRow(boxed(new float[5]), null)).collectAsList(), "hidden",
                "row 7 of partition 0: has 5 values, the model's hidden size is 256");
        List<Float> holes = new ArrayList<>(boxed(new float[D]));
        holes.set(3, null);
        assertBadRow(() -> scorer.transform(withBadRow(holes, null)).collectAsList(), "hidden",
                "element 3 is null");
        List<Float> nan = new ArrayList<>(boxed(new float[D]));
        nan.set(9, Float.NaN);
        assertBadRow(() -> scorer.transform(withBadRow(nan, null)).collectAsList(), "hidden",
                "element 9 is not finite (NaN)");
        assertBadRow(() -> scorer.transform(withBadRow(null, RowFactory.create(List.of(1, 7), List.of(.5f, .5f))))
                .collectAsList(), "routing", "expert id 7 is outside [0, 4)");
        assertBadRow(() -> scorer.transform(withBadRow(null, RowFactory.create(List.of(1, 2), List.of(.5f))))
                .collectAsList(), "routing", "2 experts but 1 weights");
        assertBadRow(() -> scorer.transform(withBadRow(null, RowFactory.create(List.of(1), List.of(Float.NaN))))
                .collectAsList(), "routing", "weight 0 is NaN");
    }

    @Test
    void wrongColumnsAreRejectedAtTransformTime() {
        Dataset<Row> frame = Tokens.random(6, 2).frame(1);
        assertEquals("nope", assertThrows(DeepGemmArgumentException.class,
                () -> new MoeScorer().setModel(ref).setInputCol("nope").transform(frame)).argument());
        assertEquals("id", assertThrows(DeepGemmArgumentException.class,
                () -> new MoeScorer().setModel(ref).setRoutingCol("id").transform(frame)).argument());
        assertEquals("hidden", assertThrows(DeepGemmArgumentException.class,
                () -> new MoeScorer().setModel(ref).setOutputCol("hidden").transform(frame)).argument());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new MoeScorer().transform(frame))
                .getMessage().contains("setModel"));
        assertThrows(IllegalArgumentException.class, () -> new MoeScorer().setBatchTokens(0));
    }
}
