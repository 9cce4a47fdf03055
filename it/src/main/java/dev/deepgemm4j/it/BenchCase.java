package dev.deepgemm4j.it;

import java.util.function.Supplier;

/**
 * One row of the benchmark: an operator of the public API on one problem.
 *
 * @param op DeepGEMM's name of the operator
 * @param variant what distinguishes rows of the same operator ("1D2D", "psum", …), or ""
 * @param shape the problem size, for humans
 * @param work FLOPs (compute-bound operators) or bytes moved (memory-bound ones) per call
 * @param perByte whether {@code work} counts bytes (reported as GB/s) rather than FLOPs (GFLOP/s)
 * @param tolerance the largest calc_diff that counts as correct
 * @param setup allocates the inputs and the reference
 */
record BenchCase(String op, String variant, String shape, double work, boolean perByte, double tolerance,
        Supplier<Trial> setup) {

    /** calc_diff bound for BF16 outputs against the float64 product of the quantised inputs. */
    static final double BF16_OUTPUT = 1e-5;
    /** calc_diff bound for FP32 outputs. On GPUs FP8 tensor cores accumulate with reduced precision, hence not 1e-9. */
    static final double FP32_OUTPUT = 1e-6;
    /** calc_diff bound of a quantise-dequantise round trip against the unquantised input. */
    static final double QUANTIZED = 1e-3;
    /** Layout transforms and integer outputs must be exact. */
    static final double EXACT = 0;

    static BenchCase flops(String op, String variant, String shape, double flops, double tolerance,
            Supplier<Trial> setup) {
        return new BenchCase(op, variant, shape, flops, false, tolerance, setup);
    }

    static BenchCase bytes(String op, String variant, String shape, double bytes, double tolerance,
            Supplier<Trial> setup) {
        return new BenchCase(op, variant, shape, bytes, true, tolerance, setup);
    }

    /** "op" or "op [variant]". */
    String label() {
        return variant.isEmpty() ? op : op + " [" + variant + "]";
    }
}
