package dev.deepgemm4j;

/**
 * Scale granularity of an FP8 GEMM, DeepGEMM's {@code recipe=(gran_mn_a, gran_mn_b, gran_k)}.
 *
 * @param granMnA rows of A sharing one scale (1 = per token)
 * @param granMnB rows of B sharing one scale (128 = per 128×128 block, 1 = per channel)
 * @param granK K elements sharing one scale (128)
 */
public record Recipe(int granMnA, int granMnB, int granK) {

    /** Per-token A (1×128) and per-block B (128×128), FP32 scales: the "1D2D" kernel, BF16 output, no C. */
    public static final Recipe PER_TOKEN_PER_BLOCK = new Recipe(1, 128, 128);
    /** Per-token A and per-channel B (both 1×128): the "1D1D" kernel, FP32 output, C required. */
    public static final Recipe PER_TOKEN_PER_TOKEN = new Recipe(1, 1, 128);

    public Recipe {
        if (granMnA != 1) {
            throw new DeepGemmArgumentException("recipe", "gran_mn_a must be 1 (per-token A scales), got " + granMnA);
        }
        if (granMnB != 1 && granMnB != 128) {
            throw new DeepGemmArgumentException("recipe", "gran_mn_b must be 1 or 128, got " + granMnB);
        }
        if (granK != 128) {
            throw new DeepGemmArgumentException("recipe", "gran_k must be 128, got " + granK);
        }
    }

    /** Whether B is scaled per 128×128 block (the 1D2D kernel). */
    public boolean isPerBlockB() {
        return granMnB == 128;
    }
}
