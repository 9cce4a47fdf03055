package dev.deepgemm4j.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * An FP8 operand as NDArrays: the E4M3 codes ({@code UINT8}) and their scale factors ({@code FLOAT32}, or
 * {@code INT32} words of four packed UE8M0 exponents). The arrays may belong to any engine.
 *
 * @param data FP8 E4M3 codes, UINT8
 * @param scales FLOAT32 scales, or INT32 packed UE8M0 scales
 */
public record Fp8Operand(NDArray data, NDArray scales) implements AutoCloseable {

    /** The operand stored as an {@link NDList} of (data, scales), e.g. a translator's output. */
    public static Fp8Operand of(NDList list) {
        if (list.size() != 2) {
            throw new IllegalArgumentException("an FP8 operand is an NDList of (data, scales), got " + list.size()
                    + " arrays");
        }
        return new Fp8Operand(list.get(0), list.get(1));
    }

    /** The operand as an {@link NDList} of (data, scales). */
    public NDList toList() {
        return new NDList(data, scales);
    }

    /** Closes both arrays. */
    @Override
    public void close() {
        data.close();
        scales.close();
    }
}
