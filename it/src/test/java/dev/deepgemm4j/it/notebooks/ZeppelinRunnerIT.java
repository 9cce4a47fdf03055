package dev.deepgemm4j.it.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Zeppelin runner runs SQL and Java mirrors against the shared SparkSession, catches what a broken note does,
 * and saves real SQL results; Spark's {@code show()} output reaches a Jupyter cell's saved output.
 */
class ZeppelinRunnerIT {

    private static final Path ROOT = Path.of(System.getProperty("deepgemm4j.root", "..")).toAbsolutePath()
            .normalize();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ProjectDependencies dependencies;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadReactor() throws IOException {
        dependencies = ProjectDependencies.load(ROOT);
    }

    /** A note with one paragraph per text. */
    private Path note(String... paragraphs) throws IOException {
        ObjectNode root = JSON.createObjectNode().put("name", "test").put("id", "2TEST0001");
        root.put("defaultInterpreterGroup", "spark");
        ArrayNode array = root.putArray("paragraphs");
        for (int i = 0; i < paragraphs.length; i++) {
            array.addObject().put("text", paragraphs[i]).put("id", "p" + i).put("status", "READY");
        }
        Path file = dir.resolve("test_2TEST0001.zpln");
        JSON.writeValue(file.toFile(), root);
        return file;
    }

    private static String failure(Path file) {
        return assertThrows(AssertionError.class, () -> new ZeppelinRunner(dependencies, false).run(file))
                .getMessage();
    }

    private static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), "expected «" + expected + "» in:\n" + actual);
    }

    @Test
    void mirrorsAndSqlRunAndUpdateSavesTheRealTable() throws IOException {
        String scala = """
                %spark
                //> import java.nio.file.*; // makes JShell recompile `spark`, which the runner then sets again
                //> spark.range(4).selectExpr("id", "id * id AS sq").createOrReplaceTempView("squares");
                //> System.out.println("java mirror ran");
                spark.range(4).selectExpr("id", "id * id AS sq").createOrReplaceTempView("squares")
                """;
        Path file = note("%md\n# Squares", "%spark.conf\nspark.jars /opt/deepgemm4j-kernels-"
                + dependencies.version() + ".jar\nspark.sql.shuffle.partitions 2", scala,
                "%sql\n-- the squares\nSELECT id, sq FROM squares ORDER BY id DESC");
        new ZeppelinRunner(dependencies, true).run(file);
        JsonNode paragraphs = JSON.readTree(file.toFile()).get("paragraphs");
        assertEquals("READY", paragraphs.get(2).get("status").asText());
        JsonNode result = paragraphs.get(3).get("results");
        assertEquals("SUCCESS", result.get("code").asText());
        assertEquals("TABLE", result.get("msg").get(0).get("type").asText());
        assertEquals("id\tsq\n3\t9\n2\t4\n1\t1\n0\t0\n", result.get("msg").get(0).get("data").asText());
        new ZeppelinRunner(dependencies, false).run(file);
    }

    @Test
    void savedTableWithOtherColumnsFailsTheCheck() throws IOException {
        Path file = note("%sql\nSELECT 1 AS one");
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        ((ObjectNode) root.get("paragraphs").get(0)).putObject("results").putArray("msg").addObject()
                .put("type", "TABLE").put("data", "uno\n1\n");
        JSON.writeValue(file.toFile(), root);
        assertContains("paragraph 1", failure(file));
        assertContains("the saved result's columns are not this run's (one)", failure(file));
    }

    @Test
    void sqlErrorNamesTheParagraph() throws IOException {
        String message = failure(note("%md\ntext", "%spark.sql\nSELECT no_such_column FROM range(3)"));
        assertContains("paragraph 2", message);
        assertContains("no_such_column", message);
    }

    @Test
    void scalaParagraphNeedsAMirrorThatMakesItsCalls() throws IOException {
        assertContains("needs its Java mirror", failure(note("%spark\nval x = 1")));
        assertContains("does not make the Scala's calls [Fp8Functions.register(]", failure(note(
                "%spark\n//> System.out.println(1);\ndev.deepgemm4j.spark.Fp8Functions.register(spark)")));
        assertContains("java.lang.ArithmeticException", failure(note("%spark\n//> int x = 1 / 0;\nval x = 1 / 0")));
    }

    @Test
    void unsupportedInterpreterAndUnknownJarFail() throws IOException {
        assertContains("interpreter %spark.pyspark is not supported", failure(note("%spark.pyspark\nprint(1)")));
        assertContains("matches no file", failure(note("%spark.conf\nspark.jars /nowhere/other.jar")));
    }

    @Test
    void datasetShowReachesTheJupyterCellOutput() throws IOException {
        SharedSpark.session();
        ObjectNode root = JSON.createObjectNode().put("nbformat", 4);
        root.putObject("metadata").putObject("kernelspec").put("name", "java");
        root.putArray("cells").addObject().put("cell_type", "code")
                .put("source", "org.apache.spark.sql.SparkSession.active().range(2).show();").putArray("outputs");
        Path file = dir.resolve("show.ipynb");
        JSON.writeValue(file.toFile(), root);
        new NotebookRunner(dependencies, true).runJupyter(file);
        String text = JSON.readTree(file.toFile()).at("/cells/0/outputs/0/text").toString();
        assertEquals("[\"+---+\\n\",\"| id|\\n\",\"+---+\\n\",\"|  0|\\n\",\"|  1|\\n\",\"+---+\\n\",\"\\n\"]", text);
    }
}
