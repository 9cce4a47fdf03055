package dev.deepgemm4j.spark;

import dev.deepgemm4j.Fp8E4M3;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

/**
 * deepgemm4j's FP8 E4M3 codec as Spark SQL functions. Spark has no FP8 type, so FP8 payloads are stored as
 * {@code BINARY} columns of raw E4M3 codes (one byte per value):
 *
 * <ul>
 *   <li>{@code fp8_e4m3_encode(array<float>) → binary}: round to nearest even, saturate to ±448, NaN stays NaN
 *       (null elements encode as NaN);</li>
 *   <li>{@code fp8_e4m3_decode(binary) → array<float>}: the exact values of the codes.</li>
 * </ul>
 *
 * <p>Both return null for a null input. Register them once per session with {@link #register(SparkSession)}.
 */
public final class Fp8Functions {

    /** SQL name of the encoder. */
    public static final String ENCODE = "fp8_e4m3_encode";
    /** SQL name of the decoder. */
    public static final String DECODE = "fp8_e4m3_decode";

    private Fp8Functions() {
    }

    /** Registers the functions as temporary functions of {@code spark}. */
    public static void register(SparkSession spark) {
        spark.udf().register(ENCODE, (UDF1<scala.collection.Seq<?>, byte[]>) Fp8Functions::encode,
                DataTypes.BinaryType);
        spark.udf().register(DECODE, (UDF1<byte[], float[]>) Fp8Functions::decode,
                DataTypes.createArrayType(DataTypes.FloatType, false));
    }

    /** E4M3 codes of {@code values} (Spark passes an array column as a Scala sequence). */
    static byte[] encode(scala.collection.Seq<?> values) {
        if (values == null) {
            return null;
        }
        byte[] codes = new byte[values.length()];
        for (int i = 0; i < codes.length; i++) {
            Object v = values.apply(i);
            codes[i] = Fp8E4M3.fromFloat(v == null ? Float.NaN : ((Number) v).floatValue());
        }
        return codes;
    }

    /** Values of E4M3 {@code codes}. */
    static float[] decode(byte[] codes) {
        if (codes == null) {
            return null;
        }
        float[] values = new float[codes.length];
        for (int i = 0; i < codes.length; i++) {
            values[i] = Fp8E4M3.toFloat(codes[i]);
        }
        return values;
    }
}
