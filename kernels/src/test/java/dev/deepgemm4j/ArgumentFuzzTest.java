package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ArgumentFuzzer} on the CPU backend (host tensors); the GPU backend's run is a fake-driver scenario. */
class ArgumentFuzzTest {

    /** Trials per operation; {@code -Ddeepgemm4j.fuzzTrials=N} explores further. */
    private static final int TRIALS = Integer.getInteger("deepgemm4j.fuzzTrials", 300);

    static List<ArgumentFuzzer.Baseline> baselines() {
        return ArgumentFuzzer.baselines();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("baselines")
    @Timeout(120)
    void brokenArgumentsAreRejectedByName(ArgumentFuzzer.Baseline baseline) {
        List<String> failures = ArgumentFuzzer.failures(baseline, Location.HOST, TRIALS, () -> 0L);
        assertEquals(List.of(), failures, () -> String.join("\n\n", failures));
    }
}
