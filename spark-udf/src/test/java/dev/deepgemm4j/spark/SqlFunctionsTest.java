package dev.deepgemm4j.spark;

import static dev.deepgemm4j.spark.SparkAssertions.assertBadRow;
import static dev.deepgemm4j.spark.SparkAssertions.boxed;
import static dev.deepgemm4j.spark.SparkAssertions.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The SQL functions in local[2], through the catalog ({@code dg.} prefix) and as session UDFs (no prefix), against
 * the CPU reference (direct deepgemm4j calls) and float64 computations.
 */
class SqlFunctionsTest {

    private static final DataType FLOATS = DataTypes.createArrayType(DataTypes.FloatType, true);
    private static SparkSession spark;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        spark = LocalSpark.session();
    }

    /** A view {@code name}(id INT, x ARRAY<FLOAT>) of the given vectors, in two partitions. */
    private static void view(String name, List<float[]> xs) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) {
            rows.add(RowFactory.create(i, xs.get(i) == null ? null : boxed(xs.get(i))));
        }
        spark.createDataFrame(rows, new StructType().add("id", DataTypes.IntegerType).add("x", FLOATS))
                .repartition(2).createOrReplaceTempView(name);
    }

    private static List<Row> sql(String query) {
        return spark.sql(query).collectAsList();
    }

    /** Values spanning subnormal to saturating magnitudes, per block, with a random sign. */
    private static float[] wideRange(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((rng.nextBoolean() ? 1 : -1) * Math.pow(2, rng.nextDouble(-14, 6)));
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(strings = {"dg.", ""})
    void perTokenQuantizeMatchesTheCpuQuantizerAndDequantizeInvertsIt(String prefix) {
        SplittableRandom rng = new SplittableRandom(1);
        List<float[]> xs = List.of(wideRange(rng, 1), wideRange(rng, 128), wideRange(rng, 300), new float[0]);
        view("tok", xs);
        List<Row> out = sql("SELECT id, " + prefix + "fp8_quantize(x), " + prefix + "fp8_dequantize(" + prefix
                + "fp8_quantize(x)) FROM tok ORDER BY id");
        for (Row row : out) {
            float[] x = xs.get(row.getInt(0));
            Row q = row.getStruct(1);
            byte[] codes = (byte[]) q.get(0);
            float[] scales = floats(q, 1);
            try (Tensor t = Tensor.ofFloats(x, 1, x.length); Fp8Tensor ref = DeepGemm.perTokenCastToFp8(t, false)) {
                assertArrayEquals(ref.data().toByteArray(), codes);
                assertArrayEquals(ref.scales().toFloatArray(), scales);
            }
            assertEquals((x.length + 127) / 128, scales.length);
            float[] y = floats(row, 2);
            for (int i = 0; i < x.length; i++) {
                assertEquals(Fp8E4M3.toFloat(codes[i]) * scales[i / 128], y[i], 0f);
                // E4M3 keeps 3 mantissa bits: relative error <= 2^-4, absolute error <= scale·2^-10 near zero.
                double bound = Math.max(Math.abs(x[i]) / 16, scales[i / 128] / 1024.0) * 1.0001;
                assertTrue(Math.abs(y[i] - x[i]) <= bound, "value " + i + ": " + x[i] + " -> " + y[i]);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dg.", ""})
    void perBlockQuantizeOfAMatrixRoundTrips(String prefix) {
        SplittableRandom rng = new SplittableRandom(2);
        int rows = 200;
        int cols = 130;
        float[] m = wideRange(rng, rows * cols);
        view("blk", List.of(m));
        Row row = sql("SELECT " + prefix + "fp8_quantize_block(x, " + cols + ") q FROM blk").get(0);
        Row q = row.getStruct(0);
        try (Tensor t = Tensor.ofFloats(m, rows, cols); Fp8Tensor ref = DeepGemm.perBlockCastToFp8(t, false)) {
            assertArrayEquals(ref.data().toByteArray(), (byte[]) q.get(0));
            assertArrayEquals(ref.scales().toFloatArray(), floats(q, 1));
            assertEquals(4, floats(q, 1).length, "scales [2, 2]");
        }
        float[] y = floats(sql("SELECT " + prefix + "fp8_dequantize_block(" + prefix + "fp8_quantize_block(x, "
                + cols + "), " + cols + ") FROM blk").get(0), 0);
        float[] scales = floats(q, 1);
        for (int i = 0; i < m.length; i++) {
            float s = scales[(i / cols) / 128 * 2 + (i % cols) / 128];
            assertEquals(Fp8E4M3.toFloat(((byte[]) q.get(0))[i]) * s, y[i], 0f);
        }
    }

    @Test
    void doubleArraysAreCastAndNullsPropagate() {
        Dataset<Row> df = spark.createDataFrame(List.of(RowFactory.create(List.of(1.5, -3.0)),
                RowFactory.create((Object) null)), new StructType().add("x",
                DataTypes.createArrayType(DataTypes.DoubleType)));
        df.createOrReplaceTempView("dbl");
        List<Row> out = sql("SELECT dg.fp8_dequantize(dg.fp8_quantize(x)), fp8_quantize(x) FROM dbl");
        assertArrayEquals(new float[] {1.5f, -3f}, floats(out.get(0), 0));
        assertNull(out.get(1).get(0));
        assertNull(out.get(1).get(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dg.", ""})
    void badRowsNameTheColumnOfTheFunction(String prefix) {
        spark.createDataFrame(List.of(RowFactory.create(Arrays.asList(1f, null, 2f))),
                new StructType().add("x", FLOATS)).createOrReplaceTempView("holes");
        assertBadRow(() -> sql("SELECT " + prefix + "fp8_quantize(x) FROM holes"), "x",
                "fp8_quantize(x): element 1 is null");
        view("odd", List.of(new float[7]));
        assertBadRow(() -> sql("SELECT " + prefix + "fp8_quantize_block(x, 2) FROM odd"), "x",
                "has 7 values, not a multiple of cols = 2");
        assertBadRow(() -> sql("SELECT " + prefix + "fp8_quantize_block(x, 0) FROM odd"), "cols", "must be >= 1");
        assertBadRow(() -> sql("SELECT " + prefix + "fp8_dequantize(named_struct('data', X'0102', 'scales',"
                + " array(CAST(1 AS FLOAT), CAST(2 AS FLOAT)))) FROM odd"), "q", "has 2 scales");
    }

    @Test
    void bindingRejectsWrongArgumentTypesAndCounts() {
        view("types", List.of(new float[4]));
        AnalysisException e = assertThrows(AnalysisException.class,
                () -> sql("SELECT dg.fp8_quantize(id) FROM types"));
        assertTrue(e.getMessage().contains("argument 1 (x) must be array<float>, got int"), e.getMessage());
        e = assertThrows(AnalysisException.class, () -> sql("SELECT dg.fp8_quantize(x, 2) FROM types"));
        assertTrue(e.getMessage().contains("takes 1 argument(s), got 2"), e.getMessage());
        assertThrows(AnalysisException.class, () -> sql("SELECT dg.no_such_function(x) FROM types"));
    }

    @Test
    void theCatalogListsEveryFunctionOnce() throws Exception {
        DeepGemmCatalog catalog = new DeepGemmCatalog();
        List<String> names = Arrays.stream(catalog.listFunctions(new String[0]))
                .map(org.apache.spark.sql.connector.catalog.Identifier::name).toList();
        assertEquals(List.of("fp8_dequantize", "fp8_dequantize_block", "fp8_e4m3_decode", "fp8_e4m3_encode",
                "fp8_gemm", "fp8_mqa_logits", "fp8_quantize", "fp8_quantize_block"), names);
        for (String name : names) {
            assertEquals(name, catalog.loadFunction(org.apache.spark.sql.connector.catalog.Identifier.of(
                    new String[0], name.toUpperCase(java.util.Locale.ROOT))).name());
        }
    }

    @Test
    void gemmAgainstARegisteredWeightSetMatchesFloat64AndLoadsOnce() throws Exception {
        SplittableRandom rng = new SplittableRandom(3);
        int n = 192;
        int k = 256;
        float[] w = MoeReference.gaussian(rng, n * k);
        Path file = dir.resolve("proj.dgw");
        WeightSets.writeGemmWeights(file, w, n, k);
        WeightSets.register("proj", file.toString());
        List<float[]> xs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            xs.add(MoeReference.gaussian(rng, k));
        }
        view("acts", xs);
        DeepGemmRuntime runtime = DeepGemmRuntime.get();
        long loadsBefore = runtime.weightLoads();

        List<Row> viaCatalog = sql("SELECT id, dg.fp8_gemm('proj', x) FROM acts ORDER BY id");
        List<Row> viaUdf = sql("SELECT id, fp8_gemm('proj', x) FROM acts ORDER BY id");
        assertEquals(1, runtime.weightLoads() - loadsBefore, "one load per executor JVM, whatever the tasks");

        double[] wq;
        try (Tensor wt = Tensor.ofFloats(w, n, k); Fp8Tensor q = DeepGemm.perBlockCastToFp8(wt, false)) {
            wq = MoeReference.expert(new Fp8Tensor(q.data().view(1, n, k), q.scales().view(1, 2, 2)), 0);
        }
        for (int r = 0; r < xs.size(); r++) {
            float[] got = floats(viaCatalog.get(r), 1);
            assertArrayEquals(got, floats(viaUdf.get(r), 1));
            double[] a = MoeReference.quantized(xs.get(r));
            float[] ref = new float[n];
            float[] exact = new float[n];
            for (int j = 0; j < n; j++) {
                double acc = 0;
                double accExact = 0;
                for (int c = 0; c < k; c++) {
                    acc += wq[j * k + c] * a[c];
                    accExact += (double) w[j * k + c] * xs.get(r)[c];
                }
                ref[j] = Bf16.round((float) acc);
                exact[j] = (float) accExact;
            }
            assertTrue(MoeReference.calcDiff(ref, got) < 1e-5, "row " + r + ": " + MoeReference.calcDiff(ref, got));
            assertTrue(MoeReference.calcDiff(exact, got) < 1e-3, "row " + r + " vs unquantised");
        }

        view("short", List.of(new float[k - 1]));
        assertBadRow(() -> sql("SELECT dg.fp8_gemm('proj', x) FROM short"), "x",
                "has 255 values, but weight set 'proj' is [N = 192, K = 256]");
        assertBadRow(() -> sql("SELECT fp8_gemm('nope', x) FROM short"), "weights", "no weight set named 'nope'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dg.", ""})
    void mqaLogitsOfARowMatchFloat64(String prefix) {
        SplittableRandom rng = new SplittableRandom(4);
        int h = 32;
        int d = 64;
        int sKv = 50;
        float[] q = MoeReference.gaussian(rng, h * d);
        float[] kv = MoeReference.gaussian(rng, sKv * d);
        float[] w = MoeReference.gaussian(rng, h);
        spark.createDataFrame(List.of(RowFactory.create(boxed(q), boxed(kv), boxed(w))),
                new StructType().add("q", FLOATS).add("kv", FLOATS).add("w", FLOATS)).createOrReplaceTempView("mqa");
        float[] got = floats(sql("SELECT " + prefix + "fp8_mqa_logits(q, kv, w) FROM mqa").get(0), 0);

        float[] ref = new float[sKv];
        double[][] keys = new double[sKv][];
        for (int j = 0; j < sKv; j++) {
            keys[j] = MoeReference.quantized(Arrays.copyOfRange(kv, j * d, (j + 1) * d));
        }
        for (int j = 0; j < sKv; j++) {
            double logit = 0;
            for (int head = 0; head < h; head++) {
                double dot = 0;
                for (int c = 0; c < d; c++) {
                    dot += Fp8E4M3.toFloat(Fp8E4M3.fromFloat(q[head * d + c])) * keys[j][c];
                }
                logit += w[head] * Math.max(dot, 0);
            }
            ref[j] = (float) logit;
        }
        assertTrue(MoeReference.calcDiff(ref, got) < 1e-9, "calcDiff " + MoeReference.calcDiff(ref, got));

        assertBadRow(() -> sql("SELECT " + prefix + "fp8_mqa_logits(q, kv, slice(w, 1, 31)) FROM mqa"), "weights",
                "has 31 values");
        assertBadRow(() -> sql("SELECT " + prefix + "fp8_mqa_logits(slice(q, 1, 32 * 48), kv, w) FROM mqa"), "q",
                "D in {32, 64, 128}");
        assertBadRow(() -> sql("SELECT " + prefix + "fp8_mqa_logits(q, slice(kv, 1, 100), w) FROM mqa"), "kv",
                "not a multiple of D = 64");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dg.", ""})
    void e4m3CodesRoundToTheNearestValueAndDecodeExactly(String prefix) {
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = wideRange(rng, 64);
        x[0] = Float.NaN;
        x[1] = 1e9f;
        x[2] = -1e9f;
        view("codes", List.of(x));
        Row row = sql("SELECT " + prefix + "fp8_e4m3_encode(x), " + prefix + "fp8_e4m3_decode(" + prefix
                + "fp8_e4m3_encode(x)) FROM codes").get(0);
        byte[] codes = (byte[]) row.get(0);
        float[] y = floats(row, 1);
        assertEquals(0x7F, codes[0] & 0x7F);
        assertEquals(448f, y[1]);
        assertEquals(-448f, y[2]);
        for (int i = 3; i < x.length; i++) {
            double err = Math.abs(y[i] - x[i]);
            for (int code = 0; code < 256; code++) {
                float v = Fp8E4M3.toFloat((byte) code);
                if (!Float.isNaN(v) && Math.abs(x[i]) < 448) {
                    assertTrue(err <= Math.abs(v - x[i]), x[i] + " -> " + y[i] + " but " + v + " is nearer");
                }
            }
        }
    }
}
