package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Command-line handling and how the runner turns outcomes into statuses (no operator involved). */
class BenchmarkCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return BenchmarkCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void unknownOptionIsAUsageError() {
        assertEquals(2, run("--fast"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option --fast"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage:"));
    }

    @Test
    void jsonNeedsAFile() {
        assertEquals(2, run("--quick", "--json"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--json needs a file name"));
    }

    @Test
    void helpPrintsUsage() {
        assertEquals(0, run("--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("--quick"));
    }

    /** A trial whose output check yields {@code diff}, counting its runs. */
    private static final class FakeTrial extends Trial {
        int runs;
        private final double diff;
        private final String problem;

        FakeTrial(double diff, String problem) {
            this.diff = diff;
            this.problem = problem;
        }

        @Override
        void run() {
            runs++;
        }

        @Override
        Check check() {
            return new Check(diff, problem);
        }
    }

    private static BenchRow runCase(double tolerance, Supplier<Trial> setup) {
        return new BenchRunner(2, 3, "test").run(BenchCase.flops("op", "", "n=1", 1e6, tolerance, setup));
    }

    @Test
    void withinToleranceIsOkAndEveryRunIsTimed() {
        FakeTrial trial = new FakeTrial(1e-7, null);
        BenchRow row = runCase(1e-6, () -> trial);
        assertEquals("ok", row.status());
        assertEquals(5, trial.runs, "2 warm-ups + 3 timed runs");
        assertEquals(1e-7, row.calcDiff());
        assertTrue(row.timeMs() > 0 && row.rate() > 0);
        assertEquals("GFLOP/s", row.rateUnit());
    }

    @Test
    void aboveToleranceFails() {
        BenchRow row = runCase(1e-6, () -> new FakeTrial(2e-6, null));
        assertTrue(row.status().startsWith("FAIL: calc_diff 2.0E-6 > 1.0E-6"), row.status());
    }

    @Test
    void nanFailsAndIsReportedAsNoNumber() {
        BenchRow row = runCase(1e-6, () -> new FakeTrial(Double.NaN, null));
        assertTrue(row.status().startsWith("FAIL"), row.status());
        assertNull(row.calcDiff());
    }

    @Test
    void aRuleViolationFailsEvenWhenAccurate() {
        BenchRow row = runCase(1e-6, () -> new FakeTrial(0, "3 bytes of D beyond masked_m written"));
        assertEquals("FAIL: 3 bytes of D beyond masked_m written", row.status());
    }

    @Test
    void todoPlaceholderIsNotImplementedAndOtherExceptionsAreErrors() {
        assertEquals("not implemented", runCase(1, () -> {
            throw new UnsupportedOperationException("TODO");
        }).status());
        BenchRow error = runCase(1, () -> {
            throw new IllegalStateException("boom");
        });
        assertEquals("error: java.lang.IllegalStateException: boom", error.status());
        assertNull(error.timeMs());
    }

    @Test
    void summaryCountsStatuses() {
        BenchRow ok = runCase(1, () -> new FakeTrial(0, null));
        BenchRow missing = runCase(1, () -> {
            throw new UnsupportedOperationException("TODO");
        });
        BenchRow failed = runCase(0, () -> new FakeTrial(1, null));
        assertEquals("3 rows: 1 ok, 1 not implemented, 1 failed or errored",
                ResultTable.summary(java.util.List.of(ok, missing, failed)));
    }
}
