package dev.deepgemm4j.it.notebooks;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A Jupyter notebook (nbformat 4) file: its code cells, and writing a run's outputs back into them. */
final class JupyterNotebook {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(JsonNodeFeature.WRITE_PROPERTIES_SORTED, true);

    private final Path file;
    private final ObjectNode root;

    private JupyterNotebook(Path file, ObjectNode root) {
        this.file = file;
        this.root = root;
    }

    static JupyterNotebook read(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        if (!(root instanceof ObjectNode o) || root.path("nbformat").asInt() != 4 || !root.path("cells").isArray()) {
            throw new IOException(file + ": not an nbformat 4 notebook");
        }
        return new JupyterNotebook(file, o);
    }

    Path file() {
        return file;
    }

    /** The kernel the notebook names (e.g. {@code java}). */
    String kernelName() {
        return root.path("metadata").path("kernelspec").path("name").asText();
    }

    /** The code cells, in order. */
    List<ObjectNode> codeCells() {
        List<ObjectNode> cells = new ArrayList<>();
        for (JsonNode cell : root.get("cells")) {
            if ("code".equals(cell.path("cell_type").asText())) {
                cells.add((ObjectNode) cell);
            }
        }
        return cells;
    }

    /** A cell's source (nbformat stores it as one string or as a list of lines). */
    static String source(JsonNode cell) {
        JsonNode src = cell.path("source");
        if (src.isTextual()) {
            return src.asText();
        }
        StringBuilder sb = new StringBuilder();
        src.forEach(line -> sb.append(line.asText()));
        return sb.toString();
    }

    /** Replaces a code cell's outputs with what one run printed (and its final value, if any). */
    static void setOutputs(ObjectNode cell, int executionCount, String stdout, String value) {
        cell.put("execution_count", executionCount);
        ArrayNode outputs = cell.putArray("outputs");
        if (!stdout.isEmpty()) {
            ObjectNode stream = outputs.addObject();
            stream.put("name", "stdout");
            stream.put("output_type", "stream");
            stream.set("text", lines(stdout));
        }
        if (value != null) {
            ObjectNode result = outputs.addObject();
            result.putObject("data").set("text/plain", lines(value));
            result.put("execution_count", executionCount);
            result.putObject("metadata");
            result.put("output_type", "execute_result");
        }
    }

    /** nbformat's multi-line string: the lines, each but the last keeping its newline. */
    private static ArrayNode lines(String text) {
        ArrayNode array = JSON.createArrayNode();
        int start = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl + 1;
            array.add(text.substring(start, end));
            start = end;
        }
        return array;
    }

    /** Writes the notebook the way Jupyter does (sorted keys, one-space indent), so re-saving it is a no-op. */
    void write() throws IOException {
        DefaultIndenter indenter = new DefaultIndenter(" ", "\n");
        Separators separators = Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("").withArrayEmptySeparator("");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter().withSeparators(separators);
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        String text = JSON.writer(printer).writeValueAsString(root) + "\n";
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
