package dev.deepgemm4j.spark;

import dev.deepgemm4j.Fp8E4M3;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * {@code fp8_dequantize(q STRUCT<data: BINARY, scales: ARRAY<FLOAT>>) → ARRAY<FLOAT>}: the values of a per-token
 * quantised vector ({@link QuantizeFunction}'s output): value i is the E4M3 code i times scale i / 128. Null q gives
 * null; a scale count other than ceil(len(data)/128) is an error naming {@code q}.
 */
public final class DequantizeFunction extends SqlFunction {

    /** The function. */
    public DequantizeFunction() {
        super("fp8_dequantize", "values of a per-token FP8 vector", SqlType.FLOATS, param("q", SqlType.QUANTIZED));
    }

    /** The magic method Spark's generated code calls. */
    public ArrayData invoke(InternalRow q) {
        return (ArrayData) call(q);
    }

    @Override
    Object eval(Object[] args) {
        Quantized q = (Quantized) args[0];
        return dequantize(this, "q", q, 1, q.data().length);
    }

    /** The values of q as [rows, cols] with per-token (rowBlock 1) or per-block (128) scales. */
    static float[] dequantize(SqlFunction fn, String param, Quantized q, int rowBlock, int cols) {
        int rows = cols == 0 ? 0 : q.data().length / cols;
        int colBlocks = (cols + 127) / 128;
        int expected = (rows + rowBlock - 1) / rowBlock * colBlocks;
        if (q.scales().length != expected) {
            throw fn.bad(param, "has " + q.scales().length + " scales, but " + rows + " x " + cols + " values with "
                    + rowBlock + "x128 blocks need " + expected);
        }
        float[] out = new float[q.data().length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = Fp8E4M3.toFloat(q.data()[r * cols + c])
                        * q.scales()[r / rowBlock * colBlocks + c / 128];
            }
        }
        return out;
    }
}
