package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The functions run inside Spark SQL (local[2]) on a small random DataFrame. */
class Fp8FunctionsTest {

    private static final double E4M3_MAX = 448.0;
    private static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        spark = SparkSession.builder()
                .master("local[2]")
                .appName("deepgemm4j-spark-test")
                .config("spark.ui.enabled", "false")
                // Loopback only: the test talks to nothing beyond this JVM.
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        Fp8Functions.register(spark);
    }

    @AfterAll
    static void stopSpark() {
        spark.stop();
    }

    /** Every finite E4M3 value, from an independent decode of the bit fields. */
    private static List<Double> finiteE4m3Values() {
        List<Double> values = new ArrayList<>();
        for (int code = 0; code < 128; code++) {
            int exp = code >>> 3;
            int man = code & 7;
            if (exp == 15 && man == 7) {
                continue;
            }
            double v = exp == 0 ? man * Math.pow(2, -9) : (1 + man / 8.0) * Math.pow(2, exp - 7);
            values.add(v);
            values.add(-v);
        }
        return values;
    }

    @Test
    void roundTripGivesTheNearestE4m3ValueAndSaturates() {
        SplittableRandom rng = new SplittableRandom(7);
        StructType schema = new StructType().add("id", DataTypes.IntegerType)
                .add("x", DataTypes.createArrayType(DataTypes.FloatType, false));
        List<Row> rows = new ArrayList<>();
        List<float[]> inputs = new ArrayList<>();
        for (int id = 0; id < 6; id++) {
            float[] x = new float[17 + id];
            for (int i = 0; i < x.length; i++) {
                // Magnitudes from 2^-12 to 2^10 cover subnormals, normals and the saturated range beyond 448.
                x[i] = (float) ((rng.nextBoolean() ? 1 : -1) * Math.pow(2, rng.nextDouble(-12, 10)));
            }
            inputs.add(x);
            List<Float> boxed = new ArrayList<>();
            for (float v : x) {
                boxed.add(v);
            }
            rows.add(RowFactory.create(id, boxed));
        }
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(2);
        df.createOrReplaceTempView("xs");
        List<Row> out = spark.sql("SELECT id, fp8_e4m3_encode(x) AS codes, fp8_e4m3_decode(fp8_e4m3_encode(x)) AS y"
                + " FROM xs ORDER BY id").collectAsList();

        assertEquals(inputs.size(), out.size());
        List<Double> grid = finiteE4m3Values();
        for (Row row : out) {
            float[] x = inputs.get(row.getInt(0));
            byte[] codes = (byte[]) row.get(1);
            List<Float> y = row.getList(2);
            assertEquals(x.length, codes.length);
            assertEquals(x.length, y.size());
            for (int i = 0; i < x.length; i++) {
                double got = y.get(i);
                double bestError = Double.MAX_VALUE;
                for (double v : grid) {
                    bestError = Math.min(bestError, Math.abs(v - x[i]));
                }
                if (Math.abs(x[i]) >= E4M3_MAX) {
                    assertEquals(Math.copySign(E4M3_MAX, x[i]), got, "saturation of " + x[i]);
                } else {
                    assertEquals(bestError, Math.abs(got - x[i]), 0.0, "nearest E4M3 value to " + x[i]);
                    assertTrue(grid.contains(got), got + " is not an E4M3 value");
                }
            }
        }
    }

    @Test
    void decodeIsExactForEveryCodeAndNullStaysNull() {
        byte[] all = new byte[256];
        for (int i = 0; i < 256; i++) {
            all[i] = (byte) i;
        }
        StructType schema = new StructType().add("codes", DataTypes.BinaryType);
        Dataset<Row> df = spark.createDataFrame(List.of(RowFactory.create((Object) all),
                RowFactory.create((Object) null)), schema);
        List<Row> out = df.select(functions.callUDF(Fp8Functions.DECODE, functions.col("codes"))).collectAsList();

        List<Float> decoded = out.get(0).getList(0);
        List<Double> grid = finiteE4m3Values();
        int nans = 0;
        for (int code = 0; code < 256; code++) {
            float v = decoded.get(code);
            if (Float.isNaN(v)) {
                nans++;
                assertEquals(0x7F, code & 0x7F, "only 0x7F and 0xFF are NaN");
            } else {
                assertEquals(code >= 128 ? -grid.get(2 * (code & 0x7F)) : grid.get(2 * code), v, 0.0,
                        "code " + code);
            }
        }
        assertEquals(2, nans);
        assertNull(out.get(1).get(0));
    }

    @Test
    void encodeKeepsNaNAndSaturatesLargeValues() {
        assertArrayEquals(new byte[] {0x7F, (byte) 0x7E, (byte) 0xFE},
                Fp8Functions.encode(scala.jdk.javaapi.CollectionConverters.asScala(
                        List.<Object>of(Float.NaN, 1e9f, -1e9f)).toSeq()));
    }
}
