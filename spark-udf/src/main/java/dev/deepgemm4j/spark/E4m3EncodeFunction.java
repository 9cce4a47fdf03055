package dev.deepgemm4j.spark;

import dev.deepgemm4j.Fp8E4M3;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * {@code fp8_e4m3_encode(x ARRAY<FLOAT>) → BINARY}: the raw E4M3 code of each value, without scaling: round to
 * nearest even, saturate to ±448, NaN stays NaN. Null x gives null; a null element is an error naming {@code x}.
 */
public final class E4m3EncodeFunction extends SqlFunction {

    /** The function. */
    public E4m3EncodeFunction() {
        super("fp8_e4m3_encode", "E4M3 codes of the values (no scaling)", SqlType.BINARY, param("x", SqlType.FLOATS));
    }

    /** The magic method Spark's generated code calls. */
    public byte[] invoke(ArrayData x) {
        return (byte[]) call(x);
    }

    @Override
    Object eval(Object[] args) {
        float[] x = (float[]) args[0];
        byte[] codes = new byte[x.length];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = Fp8E4M3.fromFloat(x[i]);
        }
        return codes;
    }
}
