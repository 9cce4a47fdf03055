package dev.deepgemm4j.it;

/**
 * The outcome of one benchmark row, as printed and as written to JSON. Numbers are null when they were not measured.
 *
 * @param op DeepGEMM's operator name
 * @param variant the row's variant, or ""
 * @param shape the problem size
 * @param backend the backend that ran the call
 * @param status {@link #OK}, {@link #NOT_IMPLEMENTED}, "FAIL: …" or "error: …"
 * @param timeUs median time of one call in microseconds (GPU: CUDA events around the call, L2 flushed before it;
 *     CPU: wall time)
 * @param kernelUs median over the same calls of the summed duration of each call's kernels as the profiler (CUPTI)
 *     records them, the measure of DeepGEMM's figures; null where not measured
 * @param runs how many timed calls the median is taken over
 * @param tflops {@code flops / time} in TFLOPS, or null for data-movement operators
 * @param gbps {@code bytes / time} in GB/s
 * @param coldMs wall time of the first call, which compiles (or loads) its kernels, in milliseconds
 * @param warmMs wall time of the second call, in milliseconds
 * @param jitCompiles kernels the JIT compiled during the first call (GPU only)
 * @param jitCompileMs time the JIT spent compiling during the first call (GPU only)
 * @param calcDiff calc_diff against the float64 reference, or null when there is no output to compare
 * @param tolerance the largest calc_diff that counts as correct
 * @param compared output elements compared with the reference
 * @param sampled whether the compared elements were a sample of the output
 * @param cublasLt the cuBLASLt baseline on the same problem, or null when it was not run
 */
record BenchRow(String op, String variant, String shape, String backend, String status, Double timeUs,
        Double kernelUs, Integer runs, Double tflops, Double gbps, Double coldMs, Double warmMs, Long jitCompiles,
        Long jitCompileMs, Double calcDiff, double tolerance, Long compared, Boolean sampled,
        CublasLtBaseline.Result cublasLt) {

    static final String OK = "ok";
    static final String NOT_IMPLEMENTED = "not implemented";

    boolean ok() {
        return OK.equals(status);
    }

    String label() {
        return variant.isEmpty() ? op : op + " [" + variant + "]";
    }

    /** A row for a case that did not run to the end. */
    static BenchRow failed(BenchCase c, String backend, String status) {
        return new BenchRow(c.op(), c.variant(), c.shape(), backend, status, null, null, null, null, null, null,
                null, null, null, null, c.tolerance(), null, null, null);
    }
}
