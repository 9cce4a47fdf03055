package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deepgemm4j.Gpu;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line, the choice of device, and the shape of the JSON report (CPU runs of a few small rows). */
class BenchmarkCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @TempDir
    Path dir;

    private int run(String... args) {
        return BenchmarkCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String printed() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String errors() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void unknownOptionIsAUsageError() {
        assertEquals(2, run("--fast"));
        assertTrue(errors().contains("unknown option --fast"));
        assertTrue(errors().contains("usage:"));
    }

    @Test
    void optionsThatNeedAValueSayWhichValue() {
        assertEquals(2, run("--quick", "--json"));
        assertTrue(errors().contains("--json needs a file name"), errors());
        assertEquals(2, run("--reps"));
        assertTrue(errors().contains("--reps needs a number"), errors());
    }

    @Test
    void helpPrintsUsageWithEveryOption() {
        assertEquals(0, run("--help"));
        for (String option : List.of("--cpu", "--gpu", "--quick", "--full", "--cublaslt", "--reps", "--only",
                "--fresh-jit-cache", "--profile", "--json", "--fp8-values", "--autotune")) {
            assertTrue(printed().contains(option), "usage lacks " + option);
        }
    }

    @Test
    void conflictingOrMalformedOptionsAreRejected() {
        assertThrows(CliOptions.UsageException.class, () -> CliOptions.parse(new String[] {"--cpu", "--gpu"}));
        assertThrows(CliOptions.UsageException.class, () -> CliOptions.parse(new String[] {"--quick", "--full"}));
        assertThrows(CliOptions.UsageException.class, () -> CliOptions.parse(new String[] {"--cpu", "--full"}));
        CliOptions.UsageException reps = assertThrows(CliOptions.UsageException.class,
                () -> CliOptions.parse(new String[] {"--reps", "0"}));
        assertTrue(reps.getMessage().contains("positive"), reps.getMessage());
        assertThrows(CliOptions.UsageException.class, () -> CliOptions.parse(new String[] {"--reps", "x"}));
        CliOptions.UsageException regex = assertThrows(CliOptions.UsageException.class,
                () -> CliOptions.parse(new String[] {"--only", "fp8_gemm_nt ["}));
        assertTrue(regex.getMessage().startsWith("--only: bad regular expression"), regex.getMessage());
        CliOptions.UsageException values = assertThrows(CliOptions.UsageException.class,
                () -> CliOptions.parse(new String[] {"--fp8-values", "gaussian"}));
        assertTrue(values.getMessage().contains("normal or uniform-codes, got gaussian"), values.getMessage());
    }

    @Test
    void optionsAreParsedIntoTheirFields() throws Exception {
        CliOptions o = CliOptions.parse(new String[] {"--gpu", "--full", "--cublaslt", "--reps", "4", "--only",
            "masked", "--fresh-jit-cache", "--profile", "--json", "x.json", "--fp8-values", "uniform-codes",
            "--autotune"});
        assertEquals(CliOptions.Device.GPU, o.device());
        assertEquals(Plan.Size.FULL, o.size());
        assertTrue(o.cublasLt() && o.freshJitCache() && o.profile() && o.autotune());
        assertEquals(4, o.maxRuns());
        assertEquals(Path.of("x.json"), o.json());
        assertEquals(RandomTensors.Fp8Values.UNIFORM_CODES, o.fp8Values());
        CliOptions defaults = CliOptions.parse(new String[0]);
        assertEquals(CliOptions.Device.AUTO, defaults.device());
        assertEquals(Plan.Size.DEFAULT, defaults.size());
        assertFalse(defaults.cublasLt() || defaults.freshJitCache() || defaults.profile() || defaults.autotune());
        assertNull(defaults.maxRuns());
        assertEquals(RandomTensors.Fp8Values.NORMAL, defaults.fp8Values());
        assertNull(CliOptions.parse(new String[] {"--quick", "-h"}), "help wins");
    }

    @Test
    void onlySelectsByLabelAndShape() throws Exception {
        CliOptions o = CliOptions.parse(new String[] {"--only", "nt \\[1D2D\\] M=64 "});
        List<BenchCase> selected = BenchmarkCli.cases(Plan.cpu(true)).stream().filter(o::selects).toList();
        assertEquals(1, selected.size());
        assertEquals("fp8_gemm_nt [1D2D]", selected.get(0).label());
    }

    @Test
    void requiringAGpuWithoutOneFailsWithTheReason() {
        assumeFalse(Gpu.isAvailable(), "this machine has a usable GPU");
        assertEquals(1, run("--gpu", "--quick"));
        assertTrue(errors().startsWith("--gpu: no usable GPU ("), errors());
        assertTrue(printed().isEmpty(), "nothing ran: " + printed());
    }

    @Test
    void withoutAGpuTheDefaultRunsTheCpuPlanAndSaysWhy() throws Exception {
        assumeFalse(Gpu.isAvailable(), "this machine has a usable GPU");
        Path json = dir.resolve("cpu.json");
        assertEquals(0, run("--quick", "--cublaslt", "--autotune", "--only", "^per_token_cast", "--json",
                json.toString()));
        assertTrue(printed().contains("no usable GPU ("), printed());
        assertTrue(printed().contains("--cublaslt ignored"), printed());
        assertTrue(printed().contains("--autotune ignored"), printed());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals("cpu", report.get("mode").asText());
        assertEquals("cpu-quick", report.get("plan").asText());
        assertEquals(1, report.get("rows").size());
        assertTrue(report.get("hostOverhead").isNull() && report.get("jit").isNull()
                && report.get("cublasLt").isNull());
    }

    /** Every field a consumer of the JSON relies on, with plausible values. */
    @Test
    void jsonReportHasDeviceRowsAndTable() throws Exception {
        Path json = dir.resolve("nested/report.json");
        assertEquals(0, run("--cpu", "--quick", "--reps", "2", "--only", "^fp8_gemm_(nt|tt) \\[1D1D\\]|metadata",
                "--json", json.toString()));
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals("cpu", report.get("mode").asText());
        assertTrue(report.get("quick").asBoolean());
        assertEquals("cpu", report.get("device").get("name").asText());
        assertTrue(report.get("device").get("smCount").asInt() >= 1);
        assertFalse(report.get("backend").asText().isEmpty());
        assertFalse(report.get("java").asText().isEmpty());
        assertTrue(report.get("seconds").asDouble() > 0);
        List<String> labels = new ArrayList<>();
        for (JsonNode row : report.get("rows")) {
            labels.add(row.get("op").asText() + " " + row.get("variant").asText());
            assertEquals("ok", row.get("status").asText());
            assertEquals(2, row.get("runs").asInt(), "--reps caps the timed calls");
            for (String field : List.of("timeUs", "gbps", "coldMs", "warmMs", "calcDiff", "tolerance",
                    "compared")) {
                assertTrue(row.get(field).isNumber(), field + " of " + row);
            }
            assertFalse(row.get("sampled").asBoolean(), "CPU checks are complete");
            assertTrue(row.get("jitCompiles").isNull() && row.get("cublasLt").isNull());
        }
        assertEquals(List.of("fp8_gemm_nt 1D1D", "fp8_gemm_tt 1D1D", "get_paged_mqa_logits_metadata "), labels);
        JsonNode gemm = report.get("rows").get(0);
        assertTrue(gemm.get("tflops").asDouble() > 0);
        assertEquals(64 * 128, gemm.get("compared").asInt(), "every element of D [64, 128]");
        assertTrue(report.get("rows").get(2).get("tflops").isNull(), "metadata does no arithmetic");
        String table = report.get("table").asText();
        assertTrue(table.startsWith("op") && table.contains("calc_diff"), table);
        assertEquals(4, table.lines().count(), "header and three rows");
    }
}
