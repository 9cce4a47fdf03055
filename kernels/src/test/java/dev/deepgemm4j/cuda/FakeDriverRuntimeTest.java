package dev.deepgemm4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link FakeDriverScenarios} in a child JVM whose {@code libcuda.so.1} is the fake driver (a JVM of its own,
 * because once JCuda links against a driver it stays linked), and reports each scenario as a test.
 */
class FakeDriverRuntimeTest {

    @TempDir
    Path scratch;

    @TestFactory
    Stream<DynamicTest> runtimeAgainstFakeDriver() throws Exception {
        String why = FakeCudaLibraries.unavailable();
        assumeTrue(why == null, () -> "skipped: " + why);
        Path driver = FakeCudaLibraries.driver("libcuda.so.1");
        Path nvrtc = FakeCudaLibraries.nvrtc();
        ChildJvm.Result r = ChildJvm.run(FakeDriverScenarios.class,
                List.of("-D" + CudaDriverFfm.DRIVER_LIB_PROPERTY + "=" + driver,
                        "-Djava.io.tmpdir=" + Files.createDirectories(scratch.resolve("tmp"))),
                List.of(driver.toString(), nvrtc.toString(), scratch.toString()), Map.of("FAKE_CUDA_DEVICES", "1",
                        "FAKE_CUDA_MEMORY_MB", "64"), 120);
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : FakeDriverScenarios.SCENARIOS.keySet()) {
            tests.add(DynamicTest.dynamicTest(name, () -> {
                String line = r.output().lines().filter(l -> l.startsWith("SCENARIO " + name + " ")).findFirst()
                        .orElse(null);
                if (line == null) {
                    fail("scenario " + name + " did not report (exit " + r.exitCode() + "):\n" + r.output());
                }
                assertTrue(line.endsWith(" OK"), () -> line.replace(" | ", "\n"));
            }));
        }
        tests.add(DynamicTest.dynamicTest("childExitsCleanly", () -> assertEquals(0, r.exitCode(), r.output())));
        return tests.stream();
    }
}
