package dev.deepgemm4j.it;

import dev.deepgemm4j.jit.JitStats;
import java.util.Arrays;

/**
 * Runs one {@link BenchCase}: sets it up (inputs generated on the host and copied to the target once), makes a cold
 * first call (which compiles or loads its kernels) and a warm second call, warms the host path on a GPU, then times up
 * to the plan's number of calls and takes the median, checks the last output against the float64 reference, and
 * optionally runs the cuBLASLt baseline on the same problem.
 */
final class BenchRunner {

    /** The message of the placeholders that operators throw until they are implemented. */
    private static final String TODO = "TODO";
    /** Longest error message kept in a row's status. */
    private static final int MAX_ERROR = 300;
    /** Untimed calls per row that warm the host path. */
    private static final int HOST_WARM_CALLS = 200;
    private static final double HOST_WARM_BUDGET_MS = 100;

    private final BenchTarget target;
    private final Plan plan;
    private final CublasLtBaseline cublasLt;
    private final boolean profile;

    /**
     * @param cublasLt the baseline to run on dense 1D2D NT rows, or null
     * @param profile whether each row makes one more call in a profiler range ({@link BenchTarget#profiledRun})
     */
    BenchRunner(BenchTarget target, Plan plan, CublasLtBaseline cublasLt, boolean profile) {
        this.target = target;
        this.plan = plan;
        this.cublasLt = cublasLt;
        this.profile = profile;
    }

    BenchRow run(BenchCase c) {
        String backend = target.backend();
        try (Trial trial = c.setup().apply(target.location())) {
            JitStats before = target.jitStats();
            trial.beforeRun();
            double coldMs = target.wallMillis(trial::run);
            JitStats after = target.jitStats();
            trial.beforeRun();
            double warmMs = target.wallMillis(trial::run);
            warmHostPath(trial, warmMs);
            int runs = plan.runsFor(warmMs);
            double[] ms = new double[runs];
            double[] kernelUs = new double[runs];
            boolean kernelTimed = true;
            for (int i = 0; i < runs; i++) {
                BenchTarget.Timing t = target.timed(trial::beforeRun, trial::run);
                ms[i] = t.millis();
                kernelTimed &= t.kernelMicros() != null;
                kernelUs[i] = kernelTimed ? t.kernelMicros() : 0;
            }
            double seconds = Math.max(median(ms), 1e-6) * 1e-3;
            if (profile) {
                trial.beforeRun();
                target.profiledRun(trial::run);
            }
            Trial.Check check = trial.check();
            CublasLtBaseline.Result baseline = cublasLt != null && trial instanceof DenseGemmCases.DenseTrial dense
                    ? cublasLt.measure(dense, target, seconds * 1e6) : null;
            return new BenchRow(c.op(), c.variant(), c.shape(), backend, status(check, c.tolerance()),
                    seconds * 1e6, kernelTimed ? median(kernelUs) : null, runs,
                    c.flops() > 0 ? c.flops() / seconds / 1e12 : null, c.bytes() / seconds / 1e9,
                    coldMs, warmMs, before == null ? null : after.compiles() - before.compiles(),
                    before == null ? null : after.compileMillis() - before.compileMillis(),
                    Double.isFinite(check.calcDiff()) ? check.calcDiff() : null, c.tolerance(), check.compared(),
                    check.sampled(), baseline);
        } catch (UnsupportedOperationException e) {
            return BenchRow.failed(c, backend, TODO.equals(e.getMessage()) ? BenchRow.NOT_IMPLEMENTED
                    : error(e));
        } catch (RuntimeException | OutOfMemoryError | LinkageError e) {
            // One broken operator must not hide the others: report it and go on.
            return BenchRow.failed(c, backend, error(e));
        }
    }

    private static String status(Trial.Check check, double tolerance) {
        if (check.problem() != null) {
            return "FAIL: " + check.problem();
        }
        if (!(check.calcDiff() <= tolerance)) {
            return "FAIL: calc_diff " + check.calcDiff() + " > " + tolerance;
        }
        return BenchRow.OK;
    }

    /** "error: " and the exception's first line (a compile error's message carries the whole compiler log). */
    static String error(Throwable e) {
        String text = e.toString().lines().findFirst().orElse("");
        return "error: " + (text.length() > MAX_ERROR ? text.substring(0, MAX_ERROR) + "…" : text);
    }

    /**
     * More untimed calls, so that the JVM compiles this operator's host path before it is timed (the first rows of a
     * run would otherwise be timed with interpreted host code): up to {@link #HOST_WARM_CALLS} calls within
     * {@link #HOST_WARM_BUDGET_MS}.
     */
    private void warmHostPath(Trial trial, double warmMs) {
        if (!target.isGpu()) {
            return;  // the CPU reference's time is host time anyway
        }
        int calls = (int) Math.min(HOST_WARM_CALLS, HOST_WARM_BUDGET_MS / Math.max(warmMs, 1e-3));
        for (int i = 0; i < calls; i++) {
            trial.beforeRun();
            target.wallMillis(trial::run);
        }
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
