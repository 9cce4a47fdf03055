package dev.deepgemm4j.spark;

import dev.deepgemm4j.Fp8E4M3;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * {@code fp8_e4m3_decode(codes BINARY) → ARRAY<FLOAT>}: the exact value of each E4M3 code (0x7F and 0xFF are NaN).
 * Null codes give null.
 */
public final class E4m3DecodeFunction extends SqlFunction {

    /** The function. */
    public E4m3DecodeFunction() {
        super("fp8_e4m3_decode", "values of E4M3 codes", SqlType.FLOATS, param("codes", SqlType.BINARY));
    }

    /** The magic method Spark's generated code calls. */
    public ArrayData invoke(byte[] codes) {
        return (ArrayData) call((Object) codes);
    }

    @Override
    Object eval(Object[] args) {
        byte[] codes = (byte[]) args[0];
        float[] values = new float[codes.length];
        for (int i = 0; i < codes.length; i++) {
            values[i] = Fp8E4M3.toFloat(codes[i]);
        }
        return values;
    }
}
