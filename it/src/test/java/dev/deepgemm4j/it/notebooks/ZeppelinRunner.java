package dev.deepgemm4j.it.notebooks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Runs a Zeppelin note against the shared local SparkSession. {@code %sql}/{@code %spark.sql} paragraphs run as
 * they are. There is no Scala REPL here, so each {@code %spark} (Scala) paragraph carries its Java equivalent in
 * {@code //>} comment lines, which run in one JShell per note with {@code spark} defined; every
 * {@code Class.method(} the Scala calls must appear in that mirror. {@code %spark.conf} paragraphs are checked
 * ({@code spark.jars}, {@code spark.jars.packages}) or applied ({@code spark.sql.*}); {@code %md} is skipped.
 */
final class ZeppelinRunner {

    /** The marker of a Java mirror line in a Scala paragraph. */
    static final String MIRROR = "//>";
    /** Zeppelin's default {@code zeppelin.spark.maxResult}. */
    private static final int MAX_ROWS = 1000;
    private static final Pattern STATIC_CALL = Pattern.compile("\\b[A-Z]\\w*\\.[a-z]\\w*\\s*\\(");

    private final ProjectDependencies dependencies;
    private final boolean update;

    ZeppelinRunner(ProjectDependencies dependencies, boolean update) {
        this.dependencies = dependencies;
        this.update = update;
    }

    /**
     * Runs every paragraph of {@code file} in order; in update mode saves each SQL paragraph's table, otherwise
     * checks that the saved table has this run's columns.
     *
     * @throws AssertionError naming the paragraph that failed and why
     */
    void run(Path file) throws IOException {
        ZeppelinNote note = ZeppelinNote.read(file);
        SparkSession spark = SharedSpark.session();
        List<ZeppelinNote.Paragraph> paragraphs = note.paragraphs();
        try (JavaSession java = new JavaSession()) {
            java.eval("import org.apache.spark.sql.*;");
            java.define("SparkSession", "spark", "SparkSession.active()");
            for (int i = 0; i < paragraphs.size(); i++) {
                ZeppelinNote.Paragraph p = paragraphs.get(i);
                String where = file.getFileName() + ", paragraph " + (i + 1) + " (" + p.label() + ")";
                try {
                    switch (p.interpreter()) {
                        case "%md", "%markdown" -> {
                            // text only
                        }
                        case "%spark.conf" -> applyConf(p.body(), spark, java, file.getParent());
                        case "%spark", "%spark.spark" -> {
                            java.eval(javaMirror(p.body()));
                            if (update) {
                                p.clearResult();
                            }
                        }
                        case "%sql", "%spark.sql" -> {
                            Dataset<Row> result = runSql(spark, p.body());
                            String table = table(result);
                            if (update) {
                                p.setResult("TABLE", table);
                            } else {
                                checkSavedTable(p, table);
                            }
                        }
                        default -> throw new IllegalArgumentException("interpreter " + p.interpreter()
                                + " is not supported by the CI runner (%spark, %spark.sql/%sql, %spark.conf, %md)");
                    }
                } catch (IllegalArgumentException | IllegalStateException | JavaSession.CellFailure e) {
                    throw new AssertionError(where + ": " + e.getMessage(), e.getCause());
                } catch (Exception e) { // Spark's AnalysisException is a checked exception
                    throw new AssertionError(where + ": " + e, e);
                }
            }
        }
        if (update) {
            note.write();
        }
    }

    /** The Java lines of a Scala paragraph, after checking they cover the Scala's static calls. */
    static String javaMirror(String scala) {
        StringBuilder java = new StringBuilder();
        StringBuilder scalaCode = new StringBuilder();
        for (String line : scala.split("\n", -1)) {
            String stripped = line.strip();
            if (stripped.startsWith(MIRROR)) {
                java.append(stripped.substring(MIRROR.length())).append('\n');
            } else if (!stripped.startsWith("//")) {
                scalaCode.append(line.replaceAll("//.*$", "")).append('\n');
            }
        }
        if (java.isEmpty()) {
            throw new IllegalArgumentException("a %spark paragraph needs its Java mirror in '" + MIRROR
                    + " ' lines (see notebooks/README.md)");
        }
        String javaText = java.toString().replaceAll("\\s+\\(", "(");
        List<String> missing = new ArrayList<>();
        Matcher m = STATIC_CALL.matcher(scalaCode);
        while (m.find()) {
            String call = m.group().replaceAll("\\s+", "");
            if (!javaText.contains(call) && !missing.contains(call)) {
                missing.add(call);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("the Java mirror does not make the Scala's calls " + missing);
        }
        return java.toString();
    }

    private void applyConf(String body, SparkSession spark, JavaSession java, Path noteDir) throws IOException {
        for (String line : body.split("\n")) {
            String stripped = line.strip();
            if (stripped.isEmpty() || stripped.startsWith("#")) {
                continue;
            }
            String[] kv = stripped.split("\\s+", 2);
            String value = kv.length > 1 ? kv[1].strip() : "";
            switch (kv[0]) {
                case "spark.jars" -> {
                    for (String jar : value.split(",")) {
                        dependencies.resolveClasspathEntry(jar.strip(), noteDir).forEach(java::addToClasspath);
                    }
                }
                case "spark.jars.packages" -> Arrays.stream(value.split(","))
                        .forEach(c -> dependencies.checkMavenCoordinate(c.strip()));
                default -> {
                    // SQL settings apply to the running session; the rest (master, memory, …) only shape how
                    // Zeppelin starts Spark, and the runner's session is local[2] whatever they say.
                    if (kv[0].startsWith("spark.sql.")) {
                        spark.conf().set(kv[0], value);
                    }
                }
            }
        }
    }

    /** Runs each statement (Zeppelin splits a paragraph at ';' ending a line); returns the last one's result. */
    private static Dataset<Row> runSql(SparkSession spark, String body) {
        String withoutComments = Arrays.stream(body.split("\n")).filter(l -> !l.strip().startsWith("--"))
                .collect(Collectors.joining("\n"));
        Dataset<Row> last = null;
        for (String statement : withoutComments.split(";\\s*(\n|$)")) {
            if (!statement.isBlank()) {
                last = spark.sql(statement);
            }
        }
        if (last == null) {
            throw new IllegalArgumentException("no SQL statement");
        }
        return last;
    }

    /** The result as Zeppelin's TABLE message: tab-separated, header first, at most {@value #MAX_ROWS} rows. */
    private static String table(Dataset<Row> result) {
        StringBuilder sb = new StringBuilder(String.join("\t", result.columns())).append('\n');
        for (Row row : result.limit(MAX_ROWS).collectAsList()) {
            for (int c = 0; c < row.length(); c++) {
                Object v = row.get(c);
                sb.append(c == 0 ? "" : "\t").append(String.valueOf(v).replace('\t', ' ').replace('\n', ' '));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static void checkSavedTable(ZeppelinNote.Paragraph p, String table) {
        String saved = p.json().path("results").path("msg").path(0).path("data").asText();
        String header = table.substring(0, table.indexOf('\n'));
        if (!saved.startsWith(header + "\n")) {
            throw new IllegalStateException("the saved result's columns are not this run's (" + header.replace('\t', ',')
                    + "); re-run in update mode");
        }
    }
}
