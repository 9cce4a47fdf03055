package dev.deepgemm4j.it.notebooks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs notebooks the way CI checks them: every code cell of a Jupyter notebook in order in one {@link JavaSession},
 * with its magics mapped onto the classpath. In update mode the run's outputs replace the saved ones, so what a
 * notebook shows is what it printed.
 */
final class NotebookRunner {

    private final ProjectDependencies dependencies;
    private final boolean update;

    NotebookRunner(ProjectDependencies dependencies, boolean update) {
        this.dependencies = dependencies;
        this.update = update;
    }

    /**
     * Runs every code cell of {@code file}; in update mode writes the outputs back, otherwise checks that the saved
     * outputs come from one run in order (execution counts 1, 2, …; output where this run printed).
     *
     * @throws AssertionError naming the cell that failed and why
     */
    void runJupyter(Path file) throws IOException {
        JupyterNotebook notebook = JupyterNotebook.read(file);
        if (!"java".equals(notebook.kernelName())) {
            throw new AssertionError(file + ": kernelspec name is '" + notebook.kernelName() + "', expected 'java'");
        }
        Magics magics = new Magics(dependencies, file.getParent());
        List<ObjectNode> cells = notebook.codeCells();
        try (JavaSession session = new JavaSession()) {
            for (int i = 0; i < cells.size(); i++) {
                ObjectNode cell = cells.get(i);
                String where = file.getFileName() + ", code cell " + (i + 1);
                JavaSession.Result result;
                try {
                    Magics.Cell code = magics.process(JupyterNotebook.source(cell));
                    code.classpathAdditions().forEach(session::addToClasspath);
                    result = session.eval(code.code());
                } catch (IllegalArgumentException | JavaSession.CellFailure e) {
                    throw new AssertionError(where + ": " + e.getMessage(), e.getCause());
                }
                if (update) {
                    JupyterNotebook.setOutputs(cell, i + 1, result.stdout(), result.value());
                } else {
                    checkSavedOutputs(where, cell, i + 1, result);
                }
            }
        }
        if (update) {
            notebook.write();
        }
    }

    private static void checkSavedOutputs(String where, ObjectNode cell, int executionCount,
            JavaSession.Result result) {
        if (cell.path("execution_count").asInt(-1) != executionCount) {
            throw new AssertionError(where + ": saved execution_count " + cell.path("execution_count")
                    + ", expected " + executionCount + " (save the outputs of one run in order: update mode)");
        }
        boolean saved = cell.path("outputs").size() > 0;
        boolean produced = !result.stdout().isEmpty() || result.value() != null;
        if (saved != produced) {
            throw new AssertionError(where + ": the saved cell " + (saved ? "has" : "has no") + " output but this run "
                    + (produced ? "printed some" : "printed none") + " (re-run in update mode)");
        }
    }
}
