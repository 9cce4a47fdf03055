package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The project rule "the integrations depend only on the public API": nothing in this module's main code names a
 * deepgemm4j package other than the public {@code dev.deepgemm4j} and this module's own, neither in the sources
 * (imports, qualified names, reflective class names) nor in the compiled classes' constant pools.
 */
class PublicApiOnlyTest {

    /** This module's own packages (and their subpackages). */
    private static final Set<String> OWN = Set.of("spark");
    /** A lower-case segment after {@code dev.deepgemm4j} is a subpackage; the public API's types are capitalised. */
    private static final Pattern SUBPACKAGE = Pattern.compile("dev[./]deepgemm4j[./]([a-z_][a-z0-9_]*)\\b");

    @Test
    void mainSourcesNameNoInternalPackage() throws IOException {
        Path main = Path.of(System.getProperty("basedir", ".")).resolve("src/main/java");
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.walk(main)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                files++;
                for (String v : violations(stripComments(Files.readString(f)))) {
                    violations.add(main.relativize(f) + ": " + v);
                }
            }
        }
        assertTrue(files > 10, "found the main sources under " + main.toAbsolutePath() + ": " + files);
        assertEquals(List.of(), violations);
    }

    @Test
    void compiledClassesReferenceNoInternalPackage() throws IOException, URISyntaxException {
        Path location = Path.of(DeepGemmRuntime.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> violations = new ArrayList<>();
        int classes = 0;
        try (FileSystem jar = Files.isDirectory(location) ? null : FileSystems.newFileSystem(location)) {
            Path root = jar == null ? location : jar.getPath("/");
            try (Stream<Path> s = Files.walk(root)) {
                for (Path f : s.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                    classes++;
                    for (PoolEntry e : ClassFile.of().parse(Files.readAllBytes(f)).constantPool()) {
                        if (e instanceof Utf8Entry u) {
                            for (String v : violations(u.stringValue())) {
                                violations.add(root.relativize(f) + ": " + v);
                            }
                        }
                    }
                }
            }
        }
        assertTrue(classes > 10, "found the main classes in " + location + ": " + classes);
        assertEquals(List.of(), violations);
    }

    @Test
    void theCheckSeesInternalNamesAndOnlyThem() {
        assertEquals(Set.of("jit"), Set.copyOf(violations("import dev.deepgemm4j.jit.Jit;")));
        assertEquals(Set.of("heuristics"), Set.copyOf(violations("var c = dev.deepgemm4j.heuristics.KernelConfig.class;")));
        assertEquals(Set.of("gpu"), Set.copyOf(violations("Class.forName(\"dev.deepgemm4j.gpu.GpuDevice\")")));
        assertEquals(Set.of("cuda"), Set.copyOf(violations("Ldev/deepgemm4j/cuda/CudaModule;")));
        assertEquals(List.of(), violations("import dev.deepgemm4j.KernelCache; import dev.deepgemm4j."
                + OWN.iterator().next() + ".X; String key = \"spark.deepgemm4j.jit.cacheDir\";"));
        assertEquals(List.of(), violations(stripComments("""
                String uri = "hdfs://x"; // see dev.deepgemm4j.jit.JitCache
                /* dev.deepgemm4j.cuda.Nvrtc */ int x;
                """)));
        assertEquals(Set.of("jit"), Set.copyOf(violations(stripComments(
                "String s = \"/* not a comment\"; dev.deepgemm4j.jit.Jit.cache(); // */"))));
    }

    /** The internal packages {@code text} names, one per occurrence. */
    private static List<String> violations(String text) {
        List<String> found = new ArrayList<>();
        Matcher m = SUBPACKAGE.matcher(text);
        while (m.find()) {
            if (!OWN.contains(m.group(1))) {
                found.add(m.group(1));
            }
        }
        return found;
    }

    /** Java source without its comments; string and character literals are kept (they may name classes). */
    private static String stripComments(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
                while (i < n && src.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
                int end = src.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (c == '"' || c == '\'') {
                boolean textBlock = src.startsWith("\"\"\"", i);
                String close = textBlock ? "\"\"\"" : String.valueOf(c);
                int j = i + close.length();
                while (j < n && !src.startsWith(close, j)) {
                    j += src.charAt(j) == '\\' ? 2 : 1;
                }
                j = Math.min(n, j + close.length());
                out.append(src, i, j);
                i = j;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
