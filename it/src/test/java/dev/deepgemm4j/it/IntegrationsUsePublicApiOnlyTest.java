package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The project rule "the integrations depend only on the public API": nothing in the main code of djl-engine-ext or
 * spark-udf names a deepgemm4j package other than the public {@code dev.deepgemm4j} and the module's own, neither in
 * the sources (imports, qualified names, reflective class names) nor in the compiled classes' constant pools. Here,
 * in the module that depends on both, so that one check serves them.
 */
class IntegrationsUsePublicApiOnlyTest {

    /** A lower-case segment after {@code dev.deepgemm4j} is a subpackage; the public API's types are capitalised. */
    private static final Pattern SUBPACKAGE = Pattern.compile("dev[./]deepgemm4j[./]([a-z_][a-z0-9_]*)\\b");

    @ParameterizedTest(name = "{0}")
    @CsvSource({"djl-engine-ext,djl", "spark-udf,spark"})
    void mainSourcesNameNoInternalPackage(String module, String own) throws IOException {
        Path main = Path.of(System.getProperty("basedir", ".")).resolve("../" + module + "/src/main/java").normalize();
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.walk(main)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                files++;
                for (String v : violations(stripComments(Files.readString(f)), own)) {
                    violations.add(main.relativize(f) + ": " + v);
                }
            }
        }
        assertTrue(files > 10, "found the main sources under " + main.toAbsolutePath() + ": " + files);
        assertEquals(List.of(), violations);
    }

    /** The classes as the build packaged them (found by resource, so nothing is loaded: Spark is not here). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"djl-engine-ext,djl,dev/deepgemm4j/djl/DeepGemmEngine.class",
        "spark-udf,spark,dev/deepgemm4j/spark/MoeLayer.class"})
    void compiledClassesReferenceNoInternalPackage(String module, String own, String knownClass)
            throws IOException, URISyntaxException {
        URL known = getClass().getClassLoader().getResource(knownClass);
        assertNotNull(known, knownClass + " of " + module + " on the test class path");
        Path location;
        if (known.getProtocol().equals("jar")) {
            String path = known.getPath();
            location = Path.of(new URI(path.substring(0, path.indexOf("!/"))));
        } else {
            location = Path.of(known.toURI());
            for (int i = 0; i < Path.of(knownClass).getNameCount(); i++) {
                location = location.getParent();
            }
        }
        List<String> violations = new ArrayList<>();
        int classes = 0;
        try (FileSystem jar = Files.isDirectory(location) ? null : FileSystems.newFileSystem(location)) {
            Path root = jar == null ? location : jar.getPath("/");
            try (Stream<Path> s = Files.walk(root.resolve("dev/deepgemm4j/" + own))) {
                for (Path f : s.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                    classes++;
                    for (PoolEntry e : ClassFile.of().parse(Files.readAllBytes(f)).constantPool()) {
                        if (e instanceof Utf8Entry u) {
                            for (String v : violations(u.stringValue(), own)) {
                                violations.add(root.relativize(f) + ": " + v);
                            }
                        }
                    }
                }
            }
        }
        assertTrue(classes > 10, "found the main classes of " + module + " in " + location + ": " + classes);
        assertEquals(List.of(), violations);
    }

    @Test
    void theCheckSeesInternalNamesAndOnlyThem() {
        assertEquals(Set.of("jit"), Set.copyOf(violations("import dev.deepgemm4j.jit.Jit;", "spark")));
        assertEquals(Set.of("heuristics"),
                Set.copyOf(violations("var c = dev.deepgemm4j.heuristics.KernelConfig.class;", "spark")));
        assertEquals(Set.of("gpu"), Set.copyOf(violations("Class.forName(\"dev.deepgemm4j.gpu.GpuDevice\")", "djl")));
        assertEquals(Set.of("cuda"), Set.copyOf(violations("Ldev/deepgemm4j/cuda/CudaModule;", "djl")));
        assertEquals(Set.of("djl"), Set.copyOf(violations("import dev.deepgemm4j.djl.Fp8Ops;", "spark")),
                "one integration may not use the other either");
        assertEquals(List.of(), violations("import dev.deepgemm4j.KernelCache; import dev.deepgemm4j.spark.X;"
                + " String key = \"spark.deepgemm4j.jit.cacheDir\";", "spark"));
        assertEquals(List.of(), violations(stripComments("""
                String uri = "hdfs://x"; // see dev.deepgemm4j.jit.JitCache
                /* dev.deepgemm4j.cuda.Nvrtc */ int x;
                """), "spark"));
        assertEquals(Set.of("jit"), Set.copyOf(violations(stripComments(
                "String s = \"/* not a comment\"; dev.deepgemm4j.jit.Jit.cache(); // */"), "spark")));
    }

    /** The internal packages {@code text} names, one per occurrence. */
    private static List<String> violations(String text, String own) {
        List<String> found = new ArrayList<>();
        Matcher m = SUBPACKAGE.matcher(text);
        while (m.find()) {
            if (!m.group(1).equals(own)) {
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
