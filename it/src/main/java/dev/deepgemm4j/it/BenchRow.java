package dev.deepgemm4j.it;

/**
 * The outcome of one benchmark row, as printed and as written to JSON.
 *
 * @param op DeepGEMM's operator name
 * @param variant the row's variant, or ""
 * @param shape the problem size
 * @param backend the backend that ran the call
 * @param status {@link #OK}, {@link #NOT_IMPLEMENTED}, "FAIL: …" or "error: …"
 * @param timeMs median wall time of one call in milliseconds, or null when the call did not run
 * @param rate GFLOP/s or GB/s, or null
 * @param rateUnit "GFLOP/s" or "GB/s"
 * @param calcDiff calc_diff against the float64 reference, or null when there is no output to compare
 * @param tolerance the largest calc_diff that counts as correct
 */
record BenchRow(String op, String variant, String shape, String backend, String status, Double timeMs, Double rate,
        String rateUnit, Double calcDiff, double tolerance) {

    static final String OK = "ok";
    static final String NOT_IMPLEMENTED = "not implemented";

    boolean ok() {
        return OK.equals(status);
    }
}
