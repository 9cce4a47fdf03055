package dev.deepgemm4j.spark.job;

import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.spark.DeepGemmConf;
import dev.deepgemm4j.spark.DeepGemmPlugin;
import dev.deepgemm4j.spark.MoeLayer;
import dev.deepgemm4j.spark.MoeModel;
import dev.deepgemm4j.spark.MoeScorer;
import dev.deepgemm4j.spark.WeightFile;
import dev.deepgemm4j.spark.WeightRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The README's main job: scores a generated token set through a generated MoE layer with {@link MoeScorer} on Spark
 * in local mode (the GPU when there is one, else the CPU backend), writes the result as Parquet, and prints the
 * throughput, the JIT's compile and cache-hit counts, a spot check of the output against a direct
 * {@link MoeLayer} call on the CPU backend, and where the output went.
 *
 * <p>Options (all optional): {@code --tokens N} (default 16384), {@code --experts E} (8), {@code --hidden D} (256),
 * {@code --intermediate F} (256), {@code --top-k K} (2), {@code --batch-tokens B} (4096), {@code --partitions P}
 * (2), {@code --master M} (local[2]), {@code --out DIR} (target/main-job), {@code --seed S} (42),
 * {@code --jit-precompile auto|true|false} (auto: compile the job's kernels on the driver when there is a GPU; true
 * compiles them with any CUDA compiler found, even without a GPU).
 */
public final class MainJob {

    private static final int CHECKED_TOKENS = 8;

    private MainJob() {
    }

    /** Runs the job. */
    public static void main(String[] args) throws IOException {
        Map<String, String> opt = parse(args);
        int tokens = Integer.parseInt(opt.getOrDefault("tokens", "16384"));
        int experts = Integer.parseInt(opt.getOrDefault("experts", "8"));
        int hidden = Integer.parseInt(opt.getOrDefault("hidden", "256"));
        int intermediate = Integer.parseInt(opt.getOrDefault("intermediate", "256"));
        int topK = Integer.parseInt(opt.getOrDefault("top-k", "2"));
        int batchTokens = Integer.parseInt(opt.getOrDefault("batch-tokens", "4096"));
        int partitions = Integer.parseInt(opt.getOrDefault("partitions", "2"));
        long seed = Long.parseLong(opt.getOrDefault("seed", "42"));
        Path out = Path.of(opt.getOrDefault("out", "target/main-job")).toAbsolutePath();
        Files.createDirectories(out);

        Path modelFile = out.resolve("moe-model.dgw");
        try (MoeModel model = MoeModel.generate(seed, experts, hidden, intermediate)) {
            WeightFile.write(modelFile, model.toTensors());
        }
        WeightRef ref = WeightRef.of(modelFile.toString());

        SparkSession spark = SparkSession.builder()
                .master(opt.getOrDefault("master", "local[2]"))
                .appName("deepgemm4j main job")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.plugins", DeepGemmPlugin.class.getName())
                .config("spark.metrics.namespace", "deepgemm4j")
                .config(DeepGemmConf.JIT_PRECOMPILE, opt.getOrDefault("jit-precompile", "auto"))
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            StructType schema = new StructType().add("id", DataTypes.LongType, false)
                    .add("hidden", DataTypes.createArrayType(DataTypes.FloatType, false), false);
            Dataset<Row> input = spark.range(0, tokens, 1, partitions).toDF()
                    .mapPartitions(new HiddenStates(hidden, seed), Encoders.row(schema));
            MoeScorer scorer = new MoeScorer().setModel(ref).setInputCol("hidden").setOutputCol("scored")
                    .setMetricsCol("batch").setTopK(topK).setBatchTokens(batchTokens);
            Path parquet = out.resolve("scored.parquet");

            // transform compiles the job's kernels on the driver when there is a GPU: not part of the throughput.
            Dataset<Row> scored = scorer.transform(input);
            long start = System.nanoTime();
            scored.write().mode("overwrite").parquet(parquet.toString());
            double seconds = (System.nanoTime() - start) / 1e9;

            MoeScorer.ScoringTotals totals = scorer.totals();
            Dataset<Row> written = spark.read().parquet(parquet.toString());
            List<String> backends = written.select("batch.backend").distinct().as(Encoders.STRING()).collectAsList();
            double worst = spotCheck(written, modelFile, ref, topK);

            System.out.printf(Locale.ROOT, "deepgemm4j main job: MoE scoring on Spark %s (%s)%n", spark.version(),
                    spark.sparkContext().master());
            System.out.printf(Locale.ROOT, "  model      E=%d experts, D=%d, F=%d, top-%d routing (%s)%n", experts,
                    hidden, intermediate, topK, modelFile);
            System.out.printf(Locale.ROOT, "  backend    %s%n", String.join(", ", backends));
            System.out.printf(Locale.ROOT, "  tokens     %d in %d batches of up to %d%n", totals.tokens(),
                    totals.batches(), batchTokens);
            System.out.printf(Locale.ROOT, "  throughput %.0f tokens/s end to end (%.2f s: generate, score, write);"
                    + " %.0f tokens/s in batch scoring (%.2f s summed over tasks)%n", tokens / seconds, seconds,
                    totals.tokens() / Math.max(totals.batchSeconds(), 1e-9), totals.batchSeconds());
            System.out.printf(Locale.ROOT, "  jit        %d kernel compiles, %d kernel cache hits%s%n",
                    totals.kernelCompiles(), totals.kernelCacheHits(), totals.kernelCompiles()
                    + totals.kernelCacheHits() == 0 ? " (the CPU backend runs no CUDA kernels)" : "");
            System.out.printf(Locale.ROOT, "  check      %d tokens re-scored directly on the CPU backend: worst"
                    + " calcDiff %.2e%n", CHECKED_TOKENS, worst);
            System.out.printf(Locale.ROOT, "  output     %s%n", parquet);
            if (!(worst < 1e-5)) {
                throw new IllegalStateException("spot check failed: calcDiff " + worst);
            }
        } finally {
            spark.stop();
        }
    }

    /** The worst calcDiff between written outputs and a direct CPU scoring of the same tokens. */
    private static double spotCheck(Dataset<Row> written, Path modelFile, WeightRef ref, int topK) {
        List<Row> rows = written.orderBy("id").limit(CHECKED_TOKENS).collectAsList();
        double worst = 0;
        try (MoeModel model = MoeModel.fromTensors(WeightFile.read(modelFile.toString(), ref.checksum()))) {
            MoeLayer layer = new MoeLayer(model, MoeLayer.ExpertLayout.CONTIGUOUS);
            for (Row row : rows) {
                float[] h = floats(row.getList(row.fieldIndex("hidden")));
                float[] expected = layer.score(h, layer.route(h, 1, topK)).values();
                float[] got = floats(row.getList(row.fieldIndex("scored")));
                try (Tensor x = Tensor.ofFloats(expected, expected.length);
                        Tensor y = Tensor.ofFloats(got, got.length)) {
                    worst = Math.max(worst, DeepGemm.calcDiff(x, y));
                }
            }
        }
        return worst;
    }

    private static float[] floats(List<Object> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) values.get(i)).floatValue();
        }
        return out;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 == args.length) {
                throw new IllegalArgumentException("usage: MainJob [--tokens N] [--experts E] [--hidden D]"
                        + " [--intermediate F] [--top-k K] [--batch-tokens B] [--partitions P] [--master M]"
                        + " [--out DIR] [--seed S] [--jit-precompile auto|true|false]; got " + String.join(" ", args));
            }
            opt.put(args[i].substring(2), args[++i]);
        }
        return opt;
    }

    /** Hidden states ~ N(0, 1), a function of (seed, id) only. */
    private record HiddenStates(int hidden, long seed) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> ids) {
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return ids.hasNext();
                }

                @Override
                public Row next() {
                    long id = ids.next().getLong(0);
                    SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + id);
                    float[] h = new float[hidden];
                    for (int j = 0; j < hidden; j++) {
                        h[j] = (float) rng.nextGaussian();
                    }
                    return RowFactory.create(id, h);
                }
            };
        }
    }
}
