package dev.deepgemm4j.it.notebooks;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.stream.Collectors;
import jdk.jshell.DeclarationSnippet;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import jdk.jshell.VarSnippet;

/**
 * A JShell that runs in this JVM ({@code executionEngine("local")}), so snippets see the test classpath and share
 * its state (one SparkSession, one GPU context). Evaluates code the way a notebook kernel does, snippet by snippet,
 * and fails on the first snippet that does not compile or throws.
 */
final class JavaSession implements AutoCloseable {

    /** What a cell printed, and the value of its last snippet when that was an expression (else null). */
    record Result(String stdout, String value) {
    }

    private final JShell shell;
    /** The variables {@link #define}d, by name: their initializers. */
    private final Map<String, String> initializers = new HashMap<>();

    JavaSession() {
        // jshell's own console output (not the snippets': those write to System.out) goes to stderr.
        shell = JShell.builder().executionEngine("local").out(System.err).err(System.err).build();
    }

    void addToClasspath(Path path) {
        shell.addToClasspath(path.toAbsolutePath().toString());
    }

    /**
     * Runs {@code code} (any number of snippets), capturing what it prints to {@code System.out}.
     *
     * @throws CellFailure on incomplete code, a snippet that does not compile, or an exception
     */
    Result eval(String code) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8);
        PrintStream original = System.out;
        String[] value = {null};
        System.setOut(out);
        try {
            withScalaConsole(out, () -> {
                String remaining = code;
                while (!remaining.isBlank()) {
                    SourceCodeAnalysis.CompletionInfo info = shell.sourceCodeAnalysis().analyzeCompletion(remaining);
                    switch (info.completeness()) {
                        case COMPLETE, COMPLETE_WITH_SEMI -> value[0] = evalSnippet(info.source());
                        case EMPTY -> {
                            // only comments left
                        }
                        default -> throw new CellFailure("incomplete code (" + info.completeness() + "):\n"
                                + remaining.strip());
                    }
                    remaining = info.remaining();
                }
            });
        } catch (CellFailure e) {
            System.out.flush();
            String printed = captured.toString(StandardCharsets.UTF_8);
            throw printed.isEmpty() ? e : new CellFailure(e.getMessage() + "\n--- the cell printed before it failed:\n"
                    + printed, e.getCause());
        } finally {
            System.setOut(original);
        }
        return new Result(captured.toString(StandardCharsets.UTF_8), value[0]);
    }

    /**
     * Runs {@code body} with Scala's {@code Console.out} also pointing at {@code out}: Spark's {@code Dataset.show()}
     * prints there, and Scala fixed that stream when it first loaded. Snippets run on a thread JShell starts, which
     * inherits the setting.
     */
    private static void withScalaConsole(PrintStream out, Runnable body) {
        try {
            Class.forName("scala.Console");
        } catch (ClassNotFoundException e) {
            body.run();
            return;
        }
        scala.Console.withOut(out, () -> {
            body.run();
            return scala.runtime.BoxedUnit.UNIT;
        });
    }

    /** Evaluates one snippet; returns its value when it is an expression with one. */
    private String evalSnippet(String source) {
        List<SnippetEvent> events = shell.eval(source);
        String value = null;
        List<VarSnippet> reset = new ArrayList<>();
        for (SnippetEvent event : events) {
            if (event.causeSnippet() != null) {
                // A side effect on an earlier snippet: one it overwrote, or a declaration JShell recompiled. This
                // in-process engine cannot redefine classes, so a recompiled variable starts over at null/0.
                if (event.snippet() instanceof VarSnippet v && event.status().isActive()
                        && event.previousStatus().isActive()) {
                    reset.add(v);
                }
                continue;
            }
            Snippet snippet = event.snippet();
            if (event.status() != Snippet.Status.VALID) {
                throw new CellFailure("snippet " + event.status() + ":\n" + source.strip() + "\n"
                        + diagnostics(snippet));
            }
            if (event.exception() != null) {
                throw new CellFailure("snippet threw " + describe(event.exception()) + ":\n" + source.strip(),
                        event.exception());
            }
            boolean shown = snippet.kind() == Snippet.Kind.EXPRESSION
                    || snippet instanceof VarSnippet v && v.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND;
            value = shown && event.value() != null ? event.value() : null;
        }
        for (VarSnippet v : reset) {
            String initializer = initializers.get(v.name());
            if (initializer == null) {
                throw new CellFailure("this snippet made JShell recompile the earlier declaration `"
                        + v.source().strip() + "`, which resets " + v.name() + " to its default value (put the"
                        + " imports before the declarations):\n" + source.strip());
            }
            evalSnippet(v.name() + " = " + initializer + ";");
        }
        return value;
    }

    /**
     * Declares a variable the session provides (like Zeppelin's {@code spark}): {@code type name = initializer},
     * evaluated again whenever a later snippet makes JShell recompile the declaration.
     */
    void define(String type, String name, String initializer) {
        initializers.put(name, initializer);
        eval(type + " " + name + " = " + initializer + ";");
    }

    private String diagnostics(Snippet snippet) {
        String diags = shell.diagnostics(snippet).map(d -> "  " + position(snippet, d) + d.getMessage(Locale.ROOT))
                .collect(Collectors.joining("\n"));
        String unresolved = snippet instanceof DeclarationSnippet ds
                ? shell.unresolvedDependencies(ds).collect(Collectors.joining(", ")) : "";
        return diags + (unresolved.isEmpty() ? "" : "\n  unresolved: " + unresolved);
    }

    private static String position(Snippet snippet, Diag d) {
        String src = snippet.source();
        int pos = (int) Math.max(0, Math.min(d.getPosition(), src.length()));
        int line = (int) src.substring(0, pos).chars().filter(c -> c == '\n').count() + 1;
        return "line " + line + ": ";
    }

    private static String describe(JShellException e) {
        if (e instanceof EvalException ee) {
            return ee.getExceptionClassName() + (ee.getMessage() == null ? "" : ": " + ee.getMessage());
        }
        if (e instanceof UnresolvedReferenceException ure) {
            return "an unresolved reference in " + ure.getSnippet().source().strip();
        }
        return e.toString();
    }

    @Override
    public void close() {
        shell.close();
    }

    /** A cell that did not run to the end; the message says which snippet and why. */
    static final class CellFailure extends RuntimeException {
        CellFailure(String message) {
            super(message);
        }

        CellFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
