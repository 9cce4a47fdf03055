package dev.deepgemm4j.jit;

/** How the operands of an FP8 GEMM kernel are scaled (the baked {@code DG_SCALES} of {@code gemm_tile.cuh}). */
public enum GemmScales {
    /** FP32 A scales per (row, 128-wide K block), FP32 B scales per (128×128 block): DeepGEMM's "1D2D". */
    FP32_PER_BLOCK_B(0, "pb"),
    /** FP32 scales per (row, 128-wide K block) on both operands: DeepGEMM's "1D1D". */
    FP32_PER_ROW_B(1, "pr"),
    /** Per-(row, K block) scales on both operands as UE8M0 bytes, four K blocks per 32-bit word. */
    UE8M0_PER_ROW(2, "ue");

    private final int code;
    private final String tag;

    GemmScales(int code, String tag) {
        this.code = code;
        this.tag = tag;
    }

    /** The value baked as {@code DG_SCALES}. */
    public int code() {
        return code;
    }

    /** Short tag used in kernel names. */
    String tag() {
        return tag;
    }

    /** Whether the scale tensors hold packed UE8M0 words (u32) rather than floats. */
    public boolean packed() {
        return this == UE8M0_PER_ROW;
    }
}
