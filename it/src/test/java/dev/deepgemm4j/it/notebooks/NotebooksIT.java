package dev.deepgemm4j.it.notebooks;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every notebook under {@code notebooks/}: one test per Jupyter notebook (all code cells, in order, in JShell on
 * this classpath) and one per Zeppelin note (against a local SparkSession). With
 * {@code -Ddeepgemm4j.notebooks.update=true} each run's outputs are written back into the file.
 */
class NotebooksIT {

    private static final Path ROOT = Path.of(System.getProperty("deepgemm4j.root", "..")).toAbsolutePath()
            .normalize();
    private static final boolean UPDATE = Boolean.getBoolean("deepgemm4j.notebooks.update");

    private static List<Path> files(String extension) throws IOException {
        try (Stream<Path> files = Files.walk(ROOT.resolve("notebooks"))) {
            return files.filter(p -> p.getFileName().toString().endsWith(extension))
                    .filter(p -> !p.toString().contains(".ipynb_checkpoints")).sorted().toList();
        }
    }

    @TestFactory
    Stream<DynamicTest> jupyterNotebooks() throws IOException {
        List<Path> notebooks = files(".ipynb");
        assertFalse(notebooks.isEmpty(), "no notebooks under " + ROOT.resolve("notebooks"));
        NotebookRunner runner = new NotebookRunner(ProjectDependencies.load(ROOT), UPDATE);
        return notebooks.stream().map(nb -> DynamicTest.dynamicTest(ROOT.relativize(nb).toString(),
                nb.toUri(), () -> runner.runJupyter(nb)));
    }

    @TestFactory
    Stream<DynamicTest> zeppelinNotes() throws IOException {
        ZeppelinRunner runner = new ZeppelinRunner(ProjectDependencies.load(ROOT), UPDATE);
        return files(".zpln").stream().map(note -> DynamicTest.dynamicTest(ROOT.relativize(note).toString(),
                note.toUri(), () -> runner.run(note)));
    }
}
