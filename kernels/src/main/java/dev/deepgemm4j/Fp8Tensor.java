package dev.deepgemm4j;

import java.util.Objects;

/**
 * An FP8 operand as DeepGEMM takes it: the E4M3 data and its scale factors. Scales are FP32 (per 1×128 row block or
 * per 128×128 block, Hopper) or {@link DType#UE8M0_PACKED} (Blackwell-style packed powers of two).
 *
 * @param data FP8 E4M3 values
 * @param scales scale factors; each data value times its block's scale is the real value
 */
public record Fp8Tensor(Tensor data, Tensor scales) implements AutoCloseable {

    public Fp8Tensor {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(scales, "scales");
    }

    /** Frees both tensors (if they own their storage). */
    @Override
    public void close() {
        data.close();
        scales.close();
    }
}
