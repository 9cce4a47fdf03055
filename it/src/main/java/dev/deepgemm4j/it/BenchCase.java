package dev.deepgemm4j.it;

import dev.deepgemm4j.Location;
import java.util.function.Function;

/**
 * One row of the benchmark: an operator of the public API on one problem.
 *
 * @param op DeepGEMM's name of the operator
 * @param variant what distinguishes rows of the same operator ("1D2D", "psum", …), or ""
 * @param shape the problem size, for humans
 * @param flops floating-point operations per call (2 per multiply-add), or 0 for data-movement operators
 * @param bytes bytes a call must read and write at least (inputs, scales, outputs; C when accumulating)
 * @param tolerance the largest calc_diff that counts as correct
 * @param setup allocates the inputs (at the given location) and the reference
 */
record BenchCase(String op, String variant, String shape, double flops, double bytes, double tolerance,
        Function<Location, Trial> setup) {

    /** calc_diff bound for BF16 outputs against the float64 product of the quantised inputs. */
    static final double BF16_OUTPUT = 1e-5;
    /** calc_diff bound for FP32 outputs. On GPUs FP8 tensor cores accumulate with reduced precision, hence not 1e-9. */
    static final double FP32_OUTPUT = 1e-6;
    /** calc_diff bound of a quantise-dequantise round trip against the unquantised input. */
    static final double QUANTIZED = 1e-3;
    /** Layout transforms and integer outputs must be exact. */
    static final double EXACT = 0;

    /** "op" or "op [variant]". */
    String label() {
        return variant.isEmpty() ? op : op + " [" + variant + "]";
    }
}
