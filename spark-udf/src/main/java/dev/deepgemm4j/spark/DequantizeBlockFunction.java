package dev.deepgemm4j.spark;

/**
 * {@code fp8_dequantize_block(q STRUCT<data: BINARY, scales: ARRAY<FLOAT>>, cols INT) → ARRAY<FLOAT>}: the values of
 * a per-block quantised [rows, cols] matrix ({@link QuantizeBlockFunction}'s output), row-major. Null arguments give
 * null; a data length that is not a multiple of {@code cols}, or a scale count other than ceil(rows/128) ·
 * ceil(cols/128), is an error naming the argument.
 */
public final class DequantizeBlockFunction extends SqlFunction {

    /** The function. */
    public DequantizeBlockFunction() {
        super("fp8_dequantize_block", "values of a per-block FP8 matrix", SqlType.FLOATS,
                param("q", SqlType.QUANTIZED), param("cols", SqlType.INT));
    }

    @Override
    Object eval(Object[] args) {
        Quantized q = (Quantized) args[0];
        int cols = (Integer) args[1];
        if (cols < 1) {
            throw bad("cols", "must be >= 1, got " + cols);
        }
        if (q.data().length % cols != 0) {
            throw bad("q", "data has " + q.data().length + " values, not a multiple of cols = " + cols);
        }
        return DequantizeFunction.dequantize(this, "q", q, 128, cols);
    }
}
