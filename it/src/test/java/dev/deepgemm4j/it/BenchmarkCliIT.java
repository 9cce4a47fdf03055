package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the main job's quick CPU plan, as a user would, and holds it to its promise: every operator, checked against
 * the float64 reference in full.
 */
class BenchmarkCliIT {

    /** Every operator (and variant) of the public API that the main job must cover. */
    private static final List<String> EXPECTED_ROWS = List.of(
            "fp8_gemm_nt [1D2D]", "fp8_gemm_nn [1D2D]", "fp8_gemm_tn [1D2D]", "fp8_gemm_tt [1D2D]",
            "fp8_gemm_nt [1D1D]", "fp8_gemm_nn [1D1D]", "fp8_gemm_tn [1D1D]", "fp8_gemm_tt [1D1D]",
            "m_grouped_fp8_gemm_nt_contiguous [index]", "m_grouped_fp8_gemm_nt_contiguous [psum]",
            "m_grouped_fp8_gemm_nn_contiguous [index]", "m_grouped_fp8_gemm_nt_masked",
            "k_grouped_fp8_gemm_nt_contiguous", "k_grouped_fp8_gemm_tn_contiguous",
            "fp8_mqa_logits", "get_paged_mqa_logits_metadata", "fp8_paged_mqa_logits",
            "per_token_cast_to_fp8", "per_block_cast_to_fp8", "per_channel_cast_to_fp8",
            "get_mn_major_tma_aligned_tensor", "get_mn_major_tma_aligned_packed_ue8m0_tensor");

    @TempDir
    static Path dir;
    private static int exitCode;
    private static String printed;
    private static JsonNode report;

    @BeforeAll
    static void runMainJob() throws Exception {
        Path json = dir.resolve("out/bench.json");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        exitCode = BenchmarkCli.run(new String[] {"--cpu", "--quick", "--json", json.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(Files.isRegularFile(json), "no JSON written; stderr: " + err.toString(StandardCharsets.UTF_8));
        report = new ObjectMapper().readTree(json.toFile());
    }

    private static String label(JsonNode row) {
        String variant = row.get("variant").asText();
        return row.get("op").asText() + (variant.isEmpty() ? "" : " [" + variant + "]");
    }

    @Test
    void reportHasOneRowPerOperatorInOrder() {
        List<String> labels = new ArrayList<>();
        report.get("rows").forEach(row -> labels.add(label(row)));
        assertEquals(EXPECTED_ROWS, labels);
        assertTrue(report.get("quick").asBoolean());
        assertEquals("cpu", report.get("mode").asText());
        assertTrue(report.get("table").asText().contains("calc_diff"));
    }

    @Test
    void printedTableHasEveryRow() {
        for (String label : EXPECTED_ROWS) {
            assertTrue(printed.lines().anyMatch(l -> l.startsWith(label + " ")), "no printed row for " + label);
        }
    }

    /** Fails while operators are missing or wrong, naming each such row with its status. */
    @Test
    void everyOperatorRunsAndMatchesTheFloat64Reference() {
        List<String> bad = new ArrayList<>();
        for (JsonNode row : report.get("rows")) {
            JsonNode diff = row.get("calcDiff");
            boolean correct = "ok".equals(row.get("status").asText()) && diff.isNumber()
                    && Double.isFinite(diff.asDouble()) && diff.asDouble() <= row.get("tolerance").asDouble()
                    && row.get("timeUs").asDouble() > 0 && row.get("gbps").asDouble() > 0
                    && !row.get("sampled").asBoolean() && row.get("compared").asLong() > 0
                    && !row.get("backend").asText().isEmpty();
            if (!correct) {
                bad.add(label(row) + ": " + row.get("status").asText() + ", calc_diff " + diff);
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + EXPECTED_ROWS.size() + " rows not correct:\n"
                + bad.stream().collect(Collectors.joining("\n")));
        assertEquals(0, exitCode);
    }
}
