package dev.deepgemm4j.it.notebooks;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A Zeppelin (0.9+) note file: its paragraphs, each with its interpreter, and writing results back. */
final class ZeppelinNote {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One paragraph: its interpreter ({@code %spark}, {@code %sql}, …), its body, and its JSON to update. */
    record Paragraph(String interpreter, String body, ObjectNode json) {

        /** The paragraph's title, or its first body line. */
        String label() {
            String title = json.path("title").asText();
            return title.isEmpty() ? body.strip().lines().findFirst().orElse("") : title;
        }

        /** Saves a successful result as Zeppelin shows it: a table (tab-separated, header first) or text. */
        void setResult(String type, String data) {
            ObjectNode results = json.putObject("results");
            results.put("code", "SUCCESS");
            ObjectNode msg = results.putArray("msg").addObject();
            msg.put("type", type);
            msg.put("data", data);
            json.put("status", "FINISHED");
        }

        /** Drops any saved result (the runner cannot produce the interpreter's own output for this paragraph). */
        void clearResult() {
            json.remove("results");
            json.put("status", "READY");
        }
    }

    private final Path file;
    private final ObjectNode root;

    private ZeppelinNote(Path file, ObjectNode root) {
        this.file = file;
        this.root = root;
    }

    static ZeppelinNote read(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        if (!(root instanceof ObjectNode o) || !root.path("paragraphs").isArray() || root.path("id").asText()
                .isEmpty()) {
            throw new IOException(file + ": not a Zeppelin note (needs id and paragraphs)");
        }
        return new ZeppelinNote(file, o);
    }

    Path file() {
        return file;
    }

    /** The paragraphs in order; one without a leading {@code %…} line uses the note's default interpreter. */
    List<Paragraph> paragraphs() {
        String defaultInterpreter = "%" + root.path("defaultInterpreterGroup").asText("spark");
        List<Paragraph> out = new ArrayList<>();
        for (JsonNode p : root.get("paragraphs")) {
            String text = p.path("text").asText();
            String first = text.lines().findFirst().orElse("").strip();
            if (first.startsWith("%")) {
                String interpreter = first.split("\\s+")[0];
                String body = text.substring(text.indexOf(interpreter) + interpreter.length());
                out.add(new Paragraph(interpreter, body, (ObjectNode) p));
            } else {
                out.add(new Paragraph(defaultInterpreter, text, (ObjectNode) p));
            }
        }
        return out;
    }

    /** Writes the note as Zeppelin does (two-space indent, fields in their order). */
    void write() throws IOException {
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("").withArrayEmptySeparator(""));
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        Files.writeString(file, JSON.writer(printer).writeValueAsString(root) + "\n", StandardCharsets.UTF_8);
    }
}
