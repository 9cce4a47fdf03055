package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The tuner's arithmetic (its GPU path runs against the fake driver in {@link FakeDriverBackendScenarios}). */
class LaunchTunerTest {

    @Test
    void fastestIsTheFirstLowestIgnoringLeftOutCandidates() {
        assertEquals(2, LaunchTuner.fastest(new double[] {12.0, 11.5, 9.25, 30.0}));
        assertEquals(1, LaunchTuner.fastest(new double[] {12.0, 9.0, 9.0}), "ties keep the earlier (the heuristic's)");
        assertEquals(0, LaunchTuner.fastest(new double[] {9.0, 9.0}));
        assertEquals(2, LaunchTuner.fastest(new double[] {Double.NaN, 12.0, 3.0}), "a candidate that did not compile");
        assertEquals(-1, LaunchTuner.fastest(new double[] {Double.NaN, Double.NaN}));
    }

    @Test
    void medianResistsOneSlowRun() {
        assertEquals(10.0, LaunchTuner.median(new double[] {10.0, 95.0, 9.0, 11.0, 10.0}));
        assertEquals(10.5, LaunchTuner.median(new double[] {12.0, 9.0, 10.0, 11.0}));
        assertEquals(7.0, LaunchTuner.median(new double[] {7.0}));
    }
}
