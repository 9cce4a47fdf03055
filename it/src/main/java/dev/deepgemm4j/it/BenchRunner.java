package dev.deepgemm4j.it;

import java.util.Arrays;

/** Times one {@link BenchCase} (median of several calls after warm-up) and checks its last output. */
final class BenchRunner {

    /** The message of the placeholders that operators throw until they are implemented. */
    private static final String TODO = "TODO";

    private final int warmups;
    private final int runs;
    private final String backend;

    BenchRunner(int warmups, int runs, String backend) {
        this.warmups = warmups;
        this.runs = runs;
        this.backend = backend;
    }

    BenchRow run(BenchCase c) {
        String unit = c.perByte() ? "GB/s" : "GFLOP/s";
        try (Trial trial = c.setup().get()) {
            for (int i = 0; i < warmups; i++) {
                trial.run();
            }
            long[] nanos = new long[runs];
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                trial.run();
                nanos[i] = System.nanoTime() - start;
            }
            Arrays.sort(nanos);
            double seconds = Math.max(nanos[runs / 2], 1) * 1e-9;
            Trial.Check check = trial.check();
            String status;
            if (check.problem() != null) {
                status = "FAIL: " + check.problem();
            } else if (!(check.calcDiff() <= c.tolerance())) {
                status = "FAIL: calc_diff " + check.calcDiff() + " > " + c.tolerance();
            } else {
                status = BenchRow.OK;
            }
            Double diff = Double.isFinite(check.calcDiff()) ? check.calcDiff() : null;
            return new BenchRow(c.op(), c.variant(), c.shape(), backend, status, seconds * 1e3,
                    c.work() / seconds / 1e9, unit, diff, c.tolerance());
        } catch (UnsupportedOperationException e) {
            String status = TODO.equals(e.getMessage()) ? BenchRow.NOT_IMPLEMENTED : "error: " + e;
            return new BenchRow(c.op(), c.variant(), c.shape(), backend, status, null, null, unit, null,
                    c.tolerance());
        } catch (RuntimeException | LinkageError e) {
            // One broken operator must not hide the others: report it and go on.
            return new BenchRow(c.op(), c.variant(), c.shape(), backend, "error: " + e, null, null, unit, null,
                    c.tolerance());
        }
    }
}
