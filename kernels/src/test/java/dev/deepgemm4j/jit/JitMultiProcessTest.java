package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deepgemm4j.cuda.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Four JVMs asking for the same kernel at the same moment compile it exactly once and all load the same bytes. */
class JitMultiProcessTest {

    static final KernelSource SOURCE = new KernelSource("jit_test", "scale_rows",
            "extern \"C\" __global__ void scale_rows(float* x, const float* s, int n) {\n"
            + "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
            + "    if (i < n) x[i] *= s[blockIdx.x];\n}\n");

    @TempDir
    Path dir;

    @Test
    void fourJvmsFakeCompilerOneCompile() throws Exception {
        Path counter = dir.resolve("compiles.txt");
        List<String> results = runFour("fake", counter);
        assertEquals(1, Files.readAllLines(counter).size(), "the fake compiler ran once across all processes");
        check(results);
    }

    @Test
    void fourJvmsRealNvccOneCompile() throws Exception {
        assumeTrue(NvccCompilerTest.nvccAvailable(), "nvcc not found");
        List<String> results = runFour("nvcc", dir.resolve("unused"));
        check(results);
    }

    private void check(List<String> results) throws IOException {
        assertEquals(1, Files.readAllLines(dir.resolve("root/compile.log")).size(), "one compile in compile.log");
        Set<String> hashes = new HashSet<>();
        int compiled = 0;
        for (String r : results) {
            String[] parts = r.split(" ");
            hashes.add(parts[2]);
            compiled += parts[1].equals("COMPILED") ? 1 : 0;
            assertTrue(Set.of("COMPILED", "WAITED", "DISK_HIT").contains(parts[1]), r);
        }
        assertEquals(1, compiled, results.toString());
        assertEquals(1, hashes.size(), "all four loaded identical cubins: " + results);
    }

    private List<String> runFour(String mode, Path counter) throws Exception {
        Path root = dir.resolve("root");
        Path go = dir.resolve("go");
        List<Process> procs = new ArrayList<>();
        List<Path> outputs = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                Path out = dir.resolve("child" + i + ".log");
                outputs.add(out);
                procs.add(ChildJvm.start(JitChild.class, List.of(), List.of(root.toString(), mode,
                        dir.resolve("ready" + i).toString(), go.toString(), counter.toString()), Map.of(), out));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (int i = 0; i < 4; i++) {
                while (!Files.exists(dir.resolve("ready" + i)) && System.nanoTime() < deadline
                        && procs.get(i).isAlive()) {
                    Thread.sleep(5);
                }
            }
            Files.createFile(go);
            List<String> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                assertTrue(procs.get(i).waitFor(120, TimeUnit.SECONDS), "child " + i + " finished");
                String output = Files.readString(outputs.get(i));
                assertEquals(0, procs.get(i).exitValue(), output);
                results.add(output.lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElseThrow(
                        () -> new AssertionError("no result from child:\n" + output)));
            }
            return results;
        } finally {
            procs.forEach(Process::destroyForcibly);
        }
    }
}
