package dev.deepgemm4j.jit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a kernel family's {@code .cu} file into one self-contained translation unit: the baked constants first, then
 * the file with every local {@code #include "name.cuh"} replaced by that header's text (each header once, recursively).
 * Any other include is rejected, since NVRTC has no headers to offer.
 */
final class SourceAssembler {

    /** Where the kernels' sources live on the classpath (the kernels pom ships {@code src/main/cuda} there). */
    static final String RESOURCE_ROOT = "/dev/deepgemm4j/cuda/src/";

    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\b.*");
    private static final Pattern LOCAL_INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([a-z0-9_]+\\.cuh)\"\\s*$");
    private static final Pattern PRAGMA_ONCE = Pattern.compile("^\\s*#\\s*pragma\\s+once\\s*$");
    private static final Pattern CONSTANT_NAME = Pattern.compile("DG_[A-Z0-9_]+");

    private static final SourceAssembler CLASSPATH = new SourceAssembler(new ClasspathReader());

    private final Function<String, String> reader;
    /** Assembled units by family, name and constants: heuristics ask for a unit on every launch. */
    private final Map<String, KernelSource> assembled = new ConcurrentHashMap<>();

    /** @param reader file name to its text, or null when there is no such file */
    SourceAssembler(Function<String, String> reader) {
        this.reader = reader;
    }

    /** The assembler over the sources shipped on the classpath. */
    static SourceAssembler classpath() {
        return CLASSPATH;
    }

    /**
     * The unit for kernel {@code kernelName} of {@code family} ({@code family.cu}), with {@code DG_KERNEL_NAME} and
     * {@code constants} (in iteration order) defined ahead of the code.
     */
    KernelSource assemble(String family, String kernelName, Map<String, Long> constants) {
        return assembled.computeIfAbsent(family + '/' + kernelName + '/' + constants,
                k -> assembleUncached(family, kernelName, constants));
    }

    private KernelSource assembleUncached(String family, String kernelName, Map<String, Long> constants) {
        StringBuilder code = new StringBuilder(16 * 1024);
        code.append("// deepgemm4j generated unit: ").append(family).append(".cu, kernel ").append(kernelName)
                .append('\n');
        code.append("#define DG_KERNEL_NAME ").append(kernelName).append('\n');
        for (Map.Entry<String, Long> c : constants.entrySet()) {
            if (!CONSTANT_NAME.matcher(c.getKey()).matches() || c.getKey().equals("DG_KERNEL_NAME")) {
                throw new IllegalArgumentException("baked constant names must match DG_[A-Z0-9_]+ (and not be"
                        + " DG_KERNEL_NAME), got " + c.getKey());
            }
            code.append("#define ").append(c.getKey()).append(' ').append(c.getValue()).append('\n');
        }
        inline(family + ".cu", code, new HashSet<>(), new ArrayDeque<>());
        return new KernelSource(family, kernelName, code.toString());
    }

    private void inline(String file, StringBuilder out, Set<String> included, Deque<String> chain) {
        String text = reader.apply(file);
        if (text == null) {
            throw new IllegalArgumentException("no CUDA source " + file + (chain.isEmpty() ? "" : " (included from "
                    + chain.peek() + ")"));
        }
        chain.push(file);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (PRAGMA_ONCE.matcher(line).matches()) {
                continue;
            }
            if (INCLUDE.matcher(line).matches()) {
                Matcher local = LOCAL_INCLUDE.matcher(line);
                if (!local.matches()) {
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": only local #include \"name.cuh\""
                            + " is allowed (NVRTC has no headers), got: " + line.strip());
                }
                String header = local.group(1);
                if (included.add(header)) {
                    out.append("// ---- ").append(header).append('\n');
                    inline(header, out, included, chain);
                    out.append("// ---- end of ").append(header).append('\n');
                }
                continue;
            }
            if (i < lines.length - 1 || !line.isEmpty()) {
                out.append(line).append('\n');
            }
        }
        chain.pop();
    }

    /** Reads sources from the classpath once and keeps them. */
    private static final class ClasspathReader implements Function<String, String> {
        private final Map<String, String> cache = new ConcurrentHashMap<>();

        @Override
        public String apply(String file) {
            return cache.computeIfAbsent(file, ClasspathReader::read);
        }

        private static String read(String file) {
            try (InputStream in = SourceAssembler.class.getResourceAsStream(RESOURCE_ROOT + file)) {
                return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("reading CUDA source " + file, e);
            }
        }
    }
}
