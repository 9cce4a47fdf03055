package dev.deepgemm4j.it.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner catches what a broken notebook does, and update mode saves what the cells really printed. */
class NotebookRunnerTest {

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

    /** A notebook with one code cell per source, saved as if by one run that printed nothing. */
    private Path notebook(String... cells) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("nbformat", 4).put("nbformat_minor", 5);
        root.putObject("metadata").putObject("kernelspec").put("name", "java");
        ArrayNode array = root.putArray("cells");
        array.addObject().put("cell_type", "markdown").put("source", "# title");
        for (int i = 0; i < cells.length; i++) {
            ObjectNode cell = array.addObject().put("cell_type", "code").put("execution_count", i + 1);
            cell.put("source", cells[i]).putArray("outputs");
        }
        Path file = dir.resolve("test.ipynb");
        JSON.writeValue(file.toFile(), root);
        return file;
    }

    private AssertionError failure(Path file) {
        return assertThrows(AssertionError.class, () -> new NotebookRunner(dependencies, false).runJupyter(file));
    }

    private static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), "expected «" + expected + "» in:\n" + actual);
    }

    @Test
    void compileErrorNamesTheCellAndTheDiagnostic() throws IOException {
        AssertionError e = failure(notebook("int x = 1;", "String s = x;"));
        assertContains("code cell 2", e.getMessage());
        assertContains("REJECTED", e.getMessage());
        assertContains("incompatible types", e.getMessage());
    }

    @Test
    void exceptionNamesItsClassAndKeepsWhatTheCellPrinted() throws IOException {
        AssertionError e = failure(notebook(
                "System.out.println(\"before\");\nint n = Integer.parseInt(\"x\");"));
        assertContains("code cell 1", e.getMessage());
        assertContains("java.lang.NumberFormatException: For input string: \"x\"", e.getMessage());
        assertContains("before", e.getMessage());
    }

    @Test
    void unresolvedReferenceFails() throws IOException {
        AssertionError e = failure(notebook("void f() { g(); }"));
        assertContains("RECOVERABLE", e.getMessage());
        assertContains("g()", e.getMessage());
    }

    @Test
    void anImportThatResetsAnEarlierVariableFails() throws IOException {
        // java.awt.List makes the earlier declaration's List ambiguous: JShell recompiles it, and the value is lost.
        AssertionError e = failure(notebook("import java.util.*;\nList<String> names = List.of(\"a\");",
                "import java.awt.*;"));
        assertContains("code cell 2", e.getMessage());
        assertContains("resets names to its default value", e.getMessage());
    }

    @Test
    void incompleteCodeFails() throws IOException {
        assertContains("incomplete code", failure(notebook("void f() {")).getMessage());
    }

    @Test
    void mavenCoordinatesMustBeReactorModulesAtTheReactorVersion() throws IOException {
        String version = dependencies.version();
        assertContains("the reactor's version is " + version,
                failure(notebook("%maven dev.deepgemm4j:deepgemm4j-kernels:0.0.1")).getMessage());
        assertContains("is not a module of the reactor",
                failure(notebook("%maven dev.deepgemm4j:deepgemm4j-nope:" + version)).getMessage());
        assertContains("not on the test classpath",
                failure(notebook("%maven com.fasterxml.jackson.core:jackson-databind:1.0.0")).getMessage());
    }

    @Test
    void unknownMagicMissingJarAndOtherVersionFail() throws IOException {
        assertContains("magic %load is not supported", failure(notebook("%load setup.jsh")).getMessage());
        assertContains("matches no file", failure(notebook("%jars lib/*.jar")).getMessage());
        assertContains("the build makes deepgemm4j-kernels-" + dependencies.version() + ".jar",
                failure(notebook("%jars /opt/deepgemm4j-kernels-0.0.9.jar")).getMessage());
    }

    @Test
    void reactorDependenciesMapToTheClasspathAndOtherJarsAreAdded() throws IOException {
        Path lib = Files.createDirectories(dir.resolve("lib"));
        Path jar = lib.resolve("greeting.jar");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new java.util.zip.ZipEntry("greeting.txt"));
            out.write("hello from a jar".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        Path file = notebook("%maven dev.deepgemm4j:deepgemm4j-kernels:" + dependencies.version() + "\n"
                + "%jars ../kernels/target/deepgemm4j-kernels-" + dependencies.version() + ".jar lib/*.jar\n"
                + "System.out.println(dev.deepgemm4j.DType.BF16);\n"
                + "var in = Thread.currentThread().getContextClassLoader().getResourceAsStream(\"greeting.txt\");\n"
                + "System.out.println(in == null ? \"not on the classpath\" : new String(in.readAllBytes()));");
        new NotebookRunner(dependencies, true).runJupyter(file);
        JsonNode cell = JSON.readTree(file.toFile()).get("cells").get(1);
        assertEquals(1, cell.get("execution_count").asInt());
        assertEquals("BF16\n", cell.get("outputs").get(0).get("text").get(0).asText());
    }

    @Test
    void updateModeSavesStdoutAndTheLastExpressionAndCheckModeReadsThemBack() throws IOException {
        Path file = notebook("int x = 20 + 1;\nSystem.out.print(\"x=\" + x + \"\\nnext\");", "x * 2", "int y = 3;");
        new NotebookRunner(dependencies, true).runJupyter(file);
        JsonNode cells = JSON.readTree(file.toFile()).get("cells");
        JsonNode stream = cells.get(1).get("outputs").get(0);
        assertEquals("stdout", stream.get("name").asText());
        assertEquals("[\"x=21\\n\",\"next\"]", stream.get("text").toString());
        JsonNode result = cells.get(2).get("outputs").get(0);
        assertEquals("execute_result", result.get("output_type").asText());
        assertEquals("42", result.get("data").get("text/plain").get(0).asText());
        assertEquals(0, cells.get(3).get("outputs").size());
        new NotebookRunner(dependencies, false).runJupyter(file);
    }

    @Test
    void checkModeRejectsOutputsThatAreNotFromARun() throws IOException {
        AssertionError e = failure(notebook("System.out.println(1);"));
        assertContains("has no output but this run printed some", e.getMessage());
        Path file = notebook("int a = 1;", "int b = 2;");
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        ((ObjectNode) root.get("cells").get(2)).put("execution_count", 7);
        JSON.writeValue(file.toFile(), root);
        assertContains("saved execution_count 7, expected 2", failure(file).getMessage());
    }
}
