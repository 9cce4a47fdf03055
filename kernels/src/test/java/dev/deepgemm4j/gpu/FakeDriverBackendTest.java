package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deepgemm4j.cuda.ChildJvm;
import dev.deepgemm4j.cuda.FakeCudaLibraries;
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
 * Runs {@link FakeDriverBackendScenarios} in a child JVM whose CUDA driver is the fake one (built with gcc), so the
 * backend's launches can be checked on a machine without a GPU; one dynamic test per scenario.
 */
class FakeDriverBackendTest {

    @TempDir
    Path scratch;

    @TestFactory
    Stream<DynamicTest> backendAgainstFakeDriver() throws Exception {
        String why = FakeCudaLibraries.unavailable();
        assumeTrue(why == null, () -> "skipped: " + why);
        Path driver = FakeCudaLibraries.driver("libcuda.so.1");
        ChildJvm.Result r = ChildJvm.run(FakeDriverBackendScenarios.class,
                List.of("-Ddeepgemm4j.cuda.driverLib=" + driver,
                        "-Djava.io.tmpdir=" + Files.createDirectories(scratch.resolve("tmp")),
                        "-Ddeepgemm4j.jit.cache_dir=" + scratch.resolve("jit")),
                List.of(driver.toString()), Map.of("FAKE_CUDA_DEVICES", "1", "FAKE_CUDA_MEMORY_MB", "256"), 120);
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : FakeDriverBackendScenarios.SCENARIOS.keySet()) {
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
