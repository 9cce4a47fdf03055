package dev.deepgemm4j;

/**
 * Element types a {@link Tensor} can hold.
 *
 * <p>FP8 has no Java primitive: {@link #FP8_E4M3} elements are raw bytes decoded with {@link Fp8E4M3}.
 * {@link #UE8M0_PACKED} is DeepGEMM's packed scale format: each 32-bit element holds four UE8M0
 * exponents, the first K block in the lowest byte.
 */
public enum DType {
    /** 8-bit float, 4 exponent bits, 3 mantissa bits, no infinities, max 448. */
    FP8_E4M3(1),
    /** bfloat16: the upper half of an IEEE float32. */
    BF16(2),
    /** IEEE float32. */
    FP32(4),
    /** Signed 32-bit integer. */
    INT32(4),
    /** Four UE8M0 (power-of-two exponent) scales packed into one 32-bit word. */
    UE8M0_PACKED(4),
    /** Unsigned byte (e.g. the fused paged KV cache, which mixes FP8 values and FP32 scales). */
    UINT8(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Size of one element in bytes. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether elements are floating point values (FP8, BF16, FP32). */
    public boolean isFloating() {
        return this == FP8_E4M3 || this == BF16 || this == FP32;
    }
}
