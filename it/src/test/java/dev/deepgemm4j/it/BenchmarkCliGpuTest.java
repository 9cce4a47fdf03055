package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deepgemm4j.Gpu;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU mode end to end on a few rows: device tensors, event and (with CUPTI) kernel timing, sampled checks, the
 * host-overhead and JIT sections. (The bundle runs the whole benchmark separately.)
 */
@Tag("gpu")
class BenchmarkCliGpuTest {

    @Test
    void gpuModeTimesChecksAndReportsItsSections(@TempDir Path dir) throws Exception {
        assumeTrue(Gpu.isAvailable(), () -> "no usable GPU: " + Gpu.unavailableReason());
        Path json = dir.resolve("gpu.json");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = BenchmarkCli.run(new String[] {"--gpu", "--quick", "--reps", "3", "--only",
            "^fp8_gemm_nt \\[1D2D\\]|^m_grouped_fp8_gemm_nt_masked|^per_token_cast", "--json", json.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        String printed = out.toString(StandardCharsets.UTF_8);
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals("gpu", report.get("mode").asText());
        assertEquals(3, report.get("rows").size(), printed);
        for (JsonNode row : report.get("rows")) {
            assertEquals("ok", row.get("status").asText(), row.toString());
            assertTrue(row.get("timeUs").asDouble() > 0 && row.get("coldMs").asDouble() > 0, row.toString());
            assertTrue(row.get("jitCompiles").isNumber(), row.toString());
            assertTrue(row.get("sampled").asBoolean(), "standard shapes are checked on a sample: " + row);
            if (KernelClock.openOrNull() != null) {
                // The profiler's span of the kernels lies inside the events' window around the call.
                double kernelUs = row.get("kernelUs").asDouble();
                assertTrue(kernelUs > 0 && kernelUs <= row.get("timeUs").asDouble() + 1, row.toString());
            }
        }
        JsonNode overhead = report.get("hostOverhead");
        assertTrue(overhead.get("enqueueUs").asDouble() > 0, overhead.toString());
        assertFalse(report.get("jit").get("kernels").isEmpty(), report.get("jit").toString());
        assertEquals(0, status, printed);
    }
}
