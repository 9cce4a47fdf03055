package dev.deepgemm4j.spark;

import dev.deepgemm4j.DeepGemm;

/**
 * {@code fp8_quantize_block(x ARRAY<FLOAT>, cols INT) → STRUCT<data: BINARY, scales: ARRAY<FLOAT>>}: per-block FP8
 * quantisation of a matrix, as {@link DeepGemm#perBlockCastToFp8}: x holds a [rows, cols] matrix row-major
 * (rows = len(x) / cols), each 128×128 block gets one FP32 scale; {@code scales} is [ceil(rows/128),
 * ceil(cols/128)] row-major. Null arguments give null; a length that is not a multiple of {@code cols}, or
 * {@code cols} &lt; 1, is an error naming the argument.
 */
public final class QuantizeBlockFunction extends SqlFunction {

    /** The function. */
    public QuantizeBlockFunction() {
        super("fp8_quantize_block", "per-block (128x128) FP8 E4M3 quantisation of a row-major matrix",
                SqlType.QUANTIZED, param("x", SqlType.FLOATS), param("cols", SqlType.INT));
    }

    @Override
    Object eval(Object[] args) {
        float[] x = (float[]) args[0];
        int cols = (Integer) args[1];
        if (cols < 1) {
            throw bad("cols", "must be >= 1, got " + cols);
        }
        if (x.length % cols != 0) {
            throw bad("x", "has " + x.length + " values, not a multiple of cols = " + cols);
        }
        return QuantizeFunction.quantize(x, x.length / cols, cols, true);
    }
}
