package dev.deepgemm4j.spark;

import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * {@code fp8_quantize(x ARRAY<FLOAT>) → STRUCT<data: BINARY, scales: ARRAY<FLOAT>>}: per-token FP8 quantisation of
 * one token's vector, as {@link DeepGemm#perTokenCastToFp8}: x is cut into blocks of 128 values, each block scaled
 * by its own FP32 scale (its absolute maximum / 448) and rounded to E4M3. {@code data} has one E4M3 code per value,
 * {@code scales} has ceil(len(x)/128) entries. Numeric arrays of other element types are cast to FLOAT. Null x gives
 * null; a null element is an error naming {@code x}.
 */
public final class QuantizeFunction extends SqlFunction {

    /** The function. */
    public QuantizeFunction() {
        super("fp8_quantize", "per-token (1x128) FP8 E4M3 quantisation of a vector", SqlType.QUANTIZED,
                param("x", SqlType.FLOATS));
    }

    /** The magic method Spark's generated code calls. */
    public InternalRow invoke(ArrayData x) {
        return (InternalRow) call(x);
    }

    @Override
    Object eval(Object[] args) {
        float[] x = (float[]) args[0];
        return quantize(x, 1, x.length, false);
    }

    /** Quantises x viewed as [rows, cols]: per 1×128 or per 128×128 block. */
    static Quantized quantize(float[] x, int rows, int cols, boolean perBlock) {
        try (Tensor t = Tensor.ofFloats(x, rows, cols);
                Fp8Tensor q = perBlock ? DeepGemm.perBlockCastToFp8(t, false) : DeepGemm.perTokenCastToFp8(t, false)) {
            return new Quantized(q.data().toByteArray(), q.scales().toFloatArray());
        }
    }
}
