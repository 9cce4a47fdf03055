package dev.deepgemm4j.it.notebooks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JJava magics a notebook may use, mapped onto the runner's classpath: {@code %maven} coordinates are checked
 * against the reactor and the test classpath (which already hold them), {@code %jars} and {@code %classpath}
 * entries either name a reactor module (already there) or files that are added. Any other magic fails the run, so a
 * notebook cannot silently depend on something CI does not do.
 */
final class Magics {

    /** A cell's code with its magic lines removed, and the files those lines add to the classpath. */
    record Cell(String code, List<Path> classpathAdditions) {
    }

    private final ProjectDependencies dependencies;
    private final Path notebookDir;

    Magics(ProjectDependencies dependencies, Path notebookDir) {
        this.dependencies = dependencies;
        this.notebookDir = notebookDir;
    }

    /**
     * Splits a cell into code and magics.
     *
     * @throws IllegalArgumentException for an unsupported magic or a dependency the build does not provide
     */
    Cell process(String source) throws IOException {
        StringBuilder code = new StringBuilder();
        List<Path> additions = new ArrayList<>();
        for (String line : source.split("\n", -1)) {
            String stripped = line.strip();
            if (!stripped.startsWith("%")) {
                code.append(line).append('\n');
                continue;
            }
            // Keep line numbers in diagnostics aligned with the cell.
            code.append('\n');
            String[] words = stripped.split("\\s+");
            switch (words[0]) {
                case "%maven" -> {
                    for (int i = 1; i < words.length; i++) {
                        if (words[i].equals("from")) {
                            break; // "from <repository>": where JJava resolves; the build already has the jar
                        }
                        dependencies.checkMavenCoordinate(words[i]);
                    }
                }
                case "%jars", "%classpath" -> {
                    for (int i = 1; i < words.length; i++) {
                        additions.addAll(dependencies.resolveClasspathEntry(words[i], notebookDir));
                    }
                }
                default -> throw new IllegalArgumentException("magic " + words[0]
                        + " is not supported by the CI runner (supported: %maven, %jars, %classpath)");
            }
        }
        return new Cell(code.toString(), additions);
    }
}
