package dev.deepgemm4j.spark;

/**
 * An FP8 value of the SQL functions: E4M3 codes and their FP32 scales (a value is its decoded code times its block's
 * scale).
 *
 * @param data E4M3 codes, one byte per value
 * @param scales one scale per 1×128 (per token) or 128×128 (per block) block, row-major
 */
record Quantized(byte[] data, float[] scales) {
}
