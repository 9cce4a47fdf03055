package dev.deepgemm4j.spark;

import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.spark.MoeLayer.ExpertLayout;
import java.io.Serializable;
import java.lang.reflect.Array;
import java.util.AbstractList;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.stream.IntStream;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.KernelCache;
import dev.deepgemm4j.KernelPack;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Scores a column of hidden states through a Mixture-of-Experts layer ({@link MoeModel}) in a Spark batch job, in
 * the manner of a Spark ML transformer: column parameters with fluent setters, then {@link #transform(Dataset)}.
 *
 * <pre>{@code
 * Dataset<Row> scored = new MoeScorer()
 *         .setModel(WeightRef.of("hdfs:///models/moe.dgw"))
 *         .setInputCol("hidden")          // ARRAY<FLOAT> of length D
 *         .setRoutingCol("routing")       // STRUCT<experts: ARRAY<INT>, weights: ARRAY<FLOAT>>; or unset + setTopK
 *         .setOutputCol("scored")         // ARRAY<FLOAT> of length D
 *         .setMetricsCol("batch")         // optional per-batch metrics
 *         .transform(tokens);
 * }</pre>
 *
 * <p><b>How it runs.</b> Each partition is cut into batches of {@link #setBatchTokens batchTokens} rows; each batch
 * is one {@link MoeLayer#score} call: ONE grouped FP8 GEMM per projection over all experts (contiguous layout, or
 * masked with {@link #setLayout}), on the executor's device ({@link DeepGemmRuntime}: a GPU if there is one, where
 * the model is loaded once per executor; otherwise the CPU backend, same results). A token's output does not depend
 * on its batch.
 *
 * <p><b>Kernels.</b> On a GPU the batches run JIT-compiled kernels. {@link #transform} plans the kernels this job's
 * shapes can need and, per {@link DeepGemmConf#JIT_PRECOMPILE}, compiles them on the driver into a
 * {@link dev.deepgemm4j.KernelPack} and broadcasts it; each executor installs it into its kernel cache once. {@link #totals()} counts the compiles and
 * cache hits of the driver and the executors.
 *
 * <p><b>Routing.</b> From the routing column (each token's expert ids and combine weights; any number of experts per
 * token), or, when no routing column is set, top-{@link #setTopK k} of the softmax of the model's router logits,
 * renormalised.
 *
 * <p><b>Output.</b> The input columns, then the output column, then (if set) the metrics column
 * {@code STRUCT<partition INT, batch INT, tokens INT, gemm_rows INT, millis DOUBLE, backend STRING, executor STRING>}
 * describing the batch the row was scored in. {@link #totals()} sums tokens and batch time over the last transform
 * (Spark accumulators, filled when an action runs). A null hidden state scores to null.
 *
 * <p><b>Bad rows.</b> A hidden state of the wrong length or with a null or non-finite element, a null routing, an
 * expert id outside [0, E), a non-finite weight or id/weight arrays of different lengths fail the task with a
 * {@link DeepGemmArgumentException} naming the column and the row.
 */
public final class MoeScorer implements Serializable {

    private static final Logger LOG = LoggerFactory.getLogger(MoeScorer.class);

    /** Schema of the metrics column. */
    public static final StructType METRICS_TYPE = new StructType()
            .add("partition", DataTypes.IntegerType, false)
            .add("batch", DataTypes.IntegerType, false)
            .add("tokens", DataTypes.IntegerType, false)
            .add("gemm_rows", DataTypes.IntegerType, false)
            .add("millis", DataTypes.DoubleType, false)
            .add("backend", DataTypes.StringType, false)
            .add("executor", DataTypes.StringType, false);

    private String inputCol = "hidden";
    private String routingCol;
    private String outputCol = "scored";
    private String metricsCol;
    private WeightRef model;
    private int batchTokens = 4096;
    private int topK = 2;
    private ExpertLayout layout = ExpertLayout.CONTIGUOUS;
    private transient Accumulators lastRun;

    /** The hidden-state column, ARRAY&lt;FLOAT&gt; (or any numeric array) of length D. Default {@code hidden}. */
    public MoeScorer setInputCol(String column) {
        this.inputCol = Objects.requireNonNull(column);
        return this;
    }

    /**
     * The routing column, {@code STRUCT<experts: ARRAY<INT>, weights: ARRAY<FLOAT>>}; null (the default) computes
     * top-k routing with the model's router.
     */
    public MoeScorer setRoutingCol(String column) {
        this.routingCol = column;
        return this;
    }

    /** The output column, ARRAY&lt;FLOAT&gt; of length D. Default {@code scored}. */
    public MoeScorer setOutputCol(String column) {
        this.outputCol = Objects.requireNonNull(column);
        return this;
    }

    /** The per-batch metrics column, or null (the default) for none. */
    public MoeScorer setMetricsCol(String column) {
        this.metricsCol = column;
        return this;
    }

    /** The model's weight file ({@link MoeModel} tensors in a {@link WeightFile}). */
    public MoeScorer setModel(WeightRef model) {
        this.model = Objects.requireNonNull(model);
        return this;
    }

    /** Rows per batch, i.e. tokens per grouped GEMM (default 4096). */
    public MoeScorer setBatchTokens(int tokens) {
        if (tokens < 1) {
            throw new IllegalArgumentException("batchTokens must be >= 1, got " + tokens);
        }
        this.batchTokens = tokens;
        return this;
    }

    /** Experts per token when routing is computed from the router (default 2). */
    public MoeScorer setTopK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("topK must be >= 1, got " + k);
        }
        this.topK = k;
        return this;
    }

    /** The grouped-GEMM layout (default contiguous). */
    public MoeScorer setLayout(ExpertLayout layout) {
        this.layout = Objects.requireNonNull(layout);
        return this;
    }

    /** The input column. */
    public String getInputCol() {
        return inputCol;
    }

    /** The routing column, or null. */
    public String getRoutingCol() {
        return routingCol;
    }

    /** The output column. */
    public String getOutputCol() {
        return outputCol;
    }

    /** The metrics column, or null. */
    public String getMetricsCol() {
        return metricsCol;
    }

    /** The model, or null when not set. */
    public WeightRef getModel() {
        return model;
    }

    /** Rows per batch. */
    public int getBatchTokens() {
        return batchTokens;
    }

    /** Experts per token for computed routing. */
    public int getTopK() {
        return topK;
    }

    /** The grouped-GEMM layout. */
    public ExpertLayout getLayout() {
        return layout;
    }

    /**
     * The output schema for {@code schema}.
     *
     * @throws IllegalArgumentException if a column is missing, has the wrong type, or the output exists
     */
    public StructType transformSchema(StructType schema) {
        if (model == null) {
            throw new IllegalArgumentException("no model: call setModel first");
        }
        DataType input = type(schema, inputCol, "input");
        if (!(input instanceof ArrayType a && a.elementType() instanceof NumericType)) {
            throw new DeepGemmArgumentException(inputCol, "input column must be an array of numbers, got "
                    + input.simpleString());
        }
        if (routingCol != null) {
            DataType routing = type(schema, routingCol, "routing");
            if (!(routing instanceof StructType s && s.fields().length == 2
                    && s.fields()[0].dataType() instanceof ArrayType ids && ids.elementType() instanceof IntegerType
                    && s.fields()[1].dataType() instanceof ArrayType w && w.elementType() instanceof NumericType)) {
                throw new DeepGemmArgumentException(routingCol, "routing column must be STRUCT<experts: ARRAY<INT>,"
                        + " weights: ARRAY<FLOAT>>, got " + routing.simpleString());
            }
        }
        for (String out : metricsCol == null ? List.of(outputCol) : List.of(outputCol, metricsCol)) {
            if (Arrays.asList(schema.fieldNames()).contains(out)) {
                throw new DeepGemmArgumentException(out, "output column already exists in " + schema.simpleString());
            }
        }
        StructType out = schema.add(outputCol, DataTypes.createArrayType(DataTypes.FloatType, false), true);
        return metricsCol == null ? out : out.add(metricsCol, METRICS_TYPE, false);
    }

    /** The scored dataset (lazy, like every transformation; {@link #totals()} fills when an action runs it). */
    public Dataset<Row> transform(Dataset<?> dataset) {
        Dataset<Row> rows = dataset.toDF();
        StructType outSchema = transformSchema(rows.schema());
        SparkContext sc = rows.sparkSession().sparkContext();
        lastRun = new Accumulators(sc.longAccumulator("deepgemm4j.tokens"), sc.longAccumulator("deepgemm4j.batches"),
                sc.longAccumulator("deepgemm4j.batchNanos"), sc.longAccumulator("deepgemm4j.jit.compiles"),
                sc.longAccumulator("deepgemm4j.jit.cacheHits"));
        Broadcast<KernelPack> kernels = precompile(sc, lastRun);
        ScorePartition fn = new ScorePartition(this, rows.schema().fieldIndex(inputCol),
                routingCol == null ? -1 : rows.schema().fieldIndex(routingCol), lastRun, kernels);
        return rows.mapPartitions(fn, Encoders.row(outSchema));
    }

    /**
     * Compiles on the driver the kernels this job's shapes need (per {@link DeepGemmConf#JIT_PRECOMPILE}), counting
     * the compiles and hits in {@code acc}; returns them broadcast to the executors, or null when nothing is shipped.
     */
    private Broadcast<KernelPack> precompile(SparkContext sc, Accumulators acc) {
        DeepGemmConf conf = DeepGemmConf.from(sc.getConf());
        boolean wanted = switch (conf.jitPrecompile()) {
            case "true" -> true;
            case "false" -> false;
            default -> sc.getConf().getDouble("spark.executor.resource.gpu.amount", 0) > 0
                    || conf.device().startsWith("cuda") || DeepGemmRuntime.gpuUsable(Location.cuda(0));
        };
        KernelCache cache = wanted ? JitSetup.cache(conf, "driver") : null;
        if (cache == null) {
            return null;
        }
        long[] shape = WeightFile.shapes(model.uri()).get("w13");
        if (shape == null || shape.length != 3) {
            throw new IllegalArgumentException("model " + model + " has no [E, 2F, D] tensor 'w13'");
        }
        int experts = (int) shape[0];
        KernelPack.Plan plan = KernelPlan.moeScorer(experts, (int) shape[2], (int) (shape[1] / 2), batchTokens,
                routingCol == null ? topK : experts, layout, DeepGemm.getMkAlignmentForContiguousLayout(),
                conf.jitTarget());
        JitSetup.drain(cache); // earlier work of this JVM belongs to earlier jobs
        KernelPack pack = plan.compile(cache);
        long[] counts = JitSetup.drain(cache);
        acc.compiles.add(counts[0]);
        acc.cacheHits.add(counts[1]);
        LOG.info("deepgemm4j: {} kernel(s) for {} ready on the driver ({} compiled, {} cache hits)",
                pack.size(), pack.arch(), counts[0], counts[1]);
        return conf.jitShip() ? JavaSparkContext.fromSparkContext(sc).broadcast(pack) : null;
    }

    /** Totals of the last {@link #transform} so far. */
    public ScoringTotals totals() {
        if (lastRun == null) {
            return new ScoringTotals(0, 0, 0, 0, 0);
        }
        return new ScoringTotals(lastRun.tokens.value(), lastRun.batches.value(), lastRun.batchNanos.value() / 1e9,
                lastRun.compiles.value(), lastRun.cacheHits.value());
    }

    /**
     * What a transform did, summed over its tasks (and, for the kernels, the driver).
     *
     * @param tokens tokens scored
     * @param batches batches (grouped-GEMM pairs) run
     * @param batchSeconds time spent scoring batches, summed over tasks (device work and host preparation)
     * @param kernelCompiles kernels compiled for the job, on the driver and the executors
     * @param kernelCacheHits kernel requests served from a kernel cache (memory or disk)
     */
    public record ScoringTotals(long tokens, long batches, double batchSeconds, long kernelCompiles,
            long kernelCacheHits) {
    }

    private static DataType type(StructType schema, String column, String role) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new DeepGemmArgumentException(column, role + " column not found in " + schema.simpleString());
        }
        return schema.apply(column).dataType();
    }

    /**
     * The elements of an array value: a Scala sequence when Spark deserialised the row, or the Java array or list an
     * upstream Java function put there (Spark may skip the round trip between two object operators).
     */
    static List<?> values(Object array) {
        return switch (array) {
            case scala.collection.Seq<?> seq -> CollectionConverters.asJava(seq);
            case List<?> list -> list;
            case float[] f -> new AbstractList<Float>() {
                @Override
                public Float get(int i) {
                    return f[i];
                }

                @Override
                public int size() {
                    return f.length;
                }
            };
            case Object other when other.getClass().isArray() -> IntStream.range(0, Array.getLength(other))
                    .mapToObj(i -> Array.get(other, i)).toList();
            default -> throw new IllegalArgumentException("not an array value: " + array.getClass().getName());
        };
    }

    private record Accumulators(LongAccumulator tokens, LongAccumulator batches, LongAccumulator batchNanos,
            LongAccumulator compiles, LongAccumulator cacheHits) implements Serializable {

        void addJit(long[] counts) {
            compiles.add(counts[0]);
            cacheHits.add(counts[1]);
        }
    }

    /** The per-partition work: batches of rows through the executor's resident model. */
    private static final class ScorePartition implements MapPartitionsFunction<Row, Row> {
        private final MoeScorer params;
        private final int inputIndex;
        private final int routingIndex;
        private final Accumulators acc;
        private final Broadcast<KernelPack> kernels;

        ScorePartition(MoeScorer params, int inputIndex, int routingIndex, Accumulators acc,
                Broadcast<KernelPack> kernels) {
            this.params = params;
            this.inputIndex = inputIndex;
            this.routingIndex = routingIndex;
            this.acc = acc;
            this.kernels = kernels;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            return new Iterator<>() {
                private final ArrayDeque<Row> ready = new ArrayDeque<>();
                private final TaskContext task = TaskContext.get();
                private MoeLayer layer;
                private int batchIndex;
                private long rowIndex;

                @Override
                public boolean hasNext() {
                    while (ready.isEmpty() && input.hasNext()) {
                        scoreNextBatch();
                    }
                    return !ready.isEmpty();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return ready.poll();
                }

                private void scoreNextBatch() {
                    DeepGemmRuntime runtime = DeepGemmRuntime.get();
                    if (layer == null) {
                        if (kernels != null) {
                            runtime.prepareKernels(kernels.value());
                        }
                        layer = new MoeLayer(runtime.model(params.model), params.layout);
                    }
                    List<Row> batch = new ArrayList<>();
                    List<Row> scored = new ArrayList<>();
                    while (batch.size() < params.batchTokens && input.hasNext()) {
                        batch.add(input.next());
                    }
                    int d = layer.model().hidden();
                    float[] hidden = new float[batch.size() * d];
                    RoutingBuilder routing = new RoutingBuilder(batch.size());
                    for (Row row : batch) {
                        long at = rowIndex++;
                        if (row.isNullAt(inputIndex)) {
                            continue;
                        }
                        readHidden(row, at, d, hidden, scored.size() * d);
                        if (routingIndex >= 0) {
                            routing.add(row, at);
                        }
                        scored.add(row);
                    }
                    int n = scored.size();
                    long start = System.nanoTime();
                    float[] values = hidden;
                    int gemmRows = 0;
                    if (n > 0) {
                        float[] h = Arrays.copyOf(hidden, n * d);
                        Routing r = routingIndex >= 0 ? routing.build() : layer.route(h, n, params.topK);
                        MoeLayer.Output out = runtime.onDevice(() -> layer.score(h, r));
                        values = out.values();
                        gemmRows = out.gemmRows();
                    }
                    long nanos = System.nanoTime() - start;
                    acc.tokens.add(n);
                    acc.batches.add(1);
                    acc.batchNanos.add(nanos);
                    acc.addJit(runtime.drainJitCounts());
                    Row metrics = RowFactory.create(partition(), batchIndex++, n, gemmRows, nanos / 1e6,
                            runtime.backend(), DeepGemmRuntime.executorId());
                    int next = 0;
                    for (Row row : batch) {
                        float[] y = null;
                        if (!row.isNullAt(inputIndex)) {
                            y = Arrays.copyOfRange(values, next * d, (next + 1) * d);
                            next++;
                        }
                        ready.add(append(row, y, metrics));
                    }
                }

                private Row append(Row row, float[] y, Row metrics) {
                    int width = row.length();
                    Object[] values = new Object[width + (params.metricsCol == null ? 1 : 2)];
                    for (int i = 0; i < width; i++) {
                        values[i] = row.get(i);
                    }
                    values[width] = y;
                    if (params.metricsCol != null) {
                        values[width + 1] = metrics;
                    }
                    return RowFactory.create(values);
                }

                private void readHidden(Row row, long at, int d, float[] into, int offset) {
                    List<?> h = values(row.get(inputIndex));
                    if (h.size() != d) {
                        throw badRow(params.inputCol, at, "has " + h.size() + " values, the model's hidden size is "
                                + d);
                    }
                    for (int j = 0; j < d; j++) {
                        float v = h.get(j) instanceof Number num ? num.floatValue() : Float.NaN;
                        if (!Float.isFinite(v)) {
                            throw badRow(params.inputCol, at, "element " + j + " is " + (h.get(j) == null ? "null"
                                    : "not finite (" + h.get(j) + ")"));
                        }
                        into[offset + j] = v;
                    }
                }

                private int partition() {
                    return task == null ? 0 : task.partitionId();
                }

                private DeepGemmArgumentException badRow(String column, long at, String rule) {
                    return new DeepGemmArgumentException(column, "row " + at + " of partition " + partition() + ": "
                            + rule);
                }

                /** Routing read from the routing column, validated against the model. */
                private final class RoutingBuilder {
                    private final int[] offsets;
                    private int[] experts = new int[16];
                    private float[] weights = new float[16];
                    private int tokens;

                    RoutingBuilder(int capacity) {
                        offsets = new int[capacity + 1];
                    }

                    void add(Row row, long at) {
                        String col = params.routingCol;
                        if (row.isNullAt(routingIndex)) {
                            throw badRow(col, at, "routing is null");
                        }
                        Row r = row.getStruct(routingIndex);
                        if (r.isNullAt(0) || r.isNullAt(1)) {
                            throw badRow(col, at, "experts and weights must not be null");
                        }
                        List<?> ids = values(r.get(0));
                        List<?> ws = values(r.get(1));
                        if (ids.size() != ws.size()) {
                            throw badRow(col, at, ids.size() + " experts but " + ws.size() + " weights");
                        }
                        int base = offsets[tokens];
                        if (base + ids.size() > experts.length) {
                            int grown = Math.max(2 * experts.length, base + ids.size());
                            experts = Arrays.copyOf(experts, grown);
                            weights = Arrays.copyOf(weights, grown);
                        }
                        int e = layer.model().experts();
                        for (int j = 0; j < ids.size(); j++) {
                            if (!(ids.get(j) instanceof Integer id) || id < 0 || id >= e) {
                                throw badRow(col, at, "expert id " + ids.get(j) + " is outside [0, " + e + ")");
                            }
                            float w = ws.get(j) instanceof Number num ? num.floatValue() : Float.NaN;
                            if (!Float.isFinite(w)) {
                                throw badRow(col, at, "weight " + j + " is " + ws.get(j));
                            }
                            experts[base + j] = id;
                            weights[base + j] = w;
                        }
                        offsets[++tokens] = base + ids.size();
                    }

                    Routing build() {
                        int slots = offsets[tokens];
                        return new Routing(Arrays.copyOf(offsets, tokens + 1), Arrays.copyOf(experts, slots),
                                Arrays.copyOf(weights, slots));
                    }
                }
            };
        }
    }
}
