package dev.deepgemm4j.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Where to look for {@code libnvrtc} and the CUDA headers. Libraries, in order: {@code $NVRTC_LIB}; then
 * {@code $CUDA_HOME} and {@code $CUDA_PATH}, each under {@code lib64}, {@code targets/<arch>-linux/lib} and
 * {@code lib}; then {@code /usr/local/cuda} under {@code lib64} and {@code targets/<arch>-linux/lib}; then every
 * {@code /usr/local/cuda-X.Y}, newest first. In each directory the names {@code libnvrtc.so}, {@code libnvrtc.so.13}
 * and {@code libnvrtc.so.12} are tried. The environment and the {@code /usr/local} root are parameters so tests can
 * point them at fake trees.
 */
public final class NvrtcLocator {

    /** File names tried in each directory, in order. */
    static final List<String> NAMES = List.of("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12");

    private final Function<String, String> env;
    private final Path usrLocal;
    private final String targetDir;

    /**
     * @param env environment lookup (e.g. {@code System::getenv})
     * @param usrLocal the directory holding {@code cuda} and {@code cuda-X.Y} ({@code /usr/local})
     */
    public NvrtcLocator(Function<String, String> env, Path usrLocal) {
        this.env = env;
        this.usrLocal = usrLocal;
        this.targetDir = "targets/" + ("aarch64".equals(System.getProperty("os.arch")) ? "sbsa" : "x86_64")
                + "-linux/lib";
    }

    /** The locator for this process's environment and {@code /usr/local}. */
    public static NvrtcLocator system() {
        return new NvrtcLocator(System::getenv, Path.of("/usr/local"));
    }

    /** Every place looked at, in order (existing or not). */
    public List<Path> candidates() {
        LinkedHashSet<Path> out = new LinkedHashSet<>();
        String explicit = env.apply("NVRTC_LIB");
        if (explicit != null && !explicit.isBlank()) {
            out.add(Path.of(explicit));
        }
        for (Path home : cudaHomes()) {
            addDirs(out, home, List.of("lib64", targetDir, "lib"));
        }
        addDirs(out, usrLocal.resolve("cuda"), List.of("lib64", targetDir));
        for (Path versioned : versionedInstalls()) {
            addDirs(out, versioned, List.of("lib64", targetDir));
        }
        return List.copyOf(out);
    }

    /** The candidates that exist as files, in order. */
    public List<Path> existing() {
        return candidates().stream().filter(Files::isRegularFile).toList();
    }

    /**
     * The CUDA include directory matching a library: {@code $CUDA_HOME/include} (or {@code $CUDA_PATH}), the
     * {@code include} next to the library's directory, or {@code /usr/local/cuda/include}; the first holding
     * {@code cuda_fp16.h}.
     */
    public Optional<Path> includeDir(Path library) {
        List<Path> dirs = new ArrayList<>();
        cudaHomes().forEach(h -> dirs.add(h.resolve("include")));
        if (library != null && library.getParent() != null && library.getParent().getParent() != null) {
            dirs.add(library.getParent().getParent().resolve("include"));
        }
        dirs.add(usrLocal.resolve("cuda/include"));
        return dirs.stream().filter(d -> Files.isRegularFile(d.resolve("cuda_fp16.h"))).findFirst();
    }

    private List<Path> cudaHomes() {
        List<Path> homes = new ArrayList<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = env.apply(var);
            if (v != null && !v.isBlank() && !homes.contains(Path.of(v))) {
                homes.add(Path.of(v));
            }
        }
        return homes;
    }

    /** {@code cuda-X.Y} installs under {@code usrLocal}, newest version first. */
    private List<Path> versionedInstalls() {
        if (!Files.isDirectory(usrLocal)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(usrLocal)) {
            return s.filter(p -> p.getFileName().toString().matches("cuda-\\d+(\\.\\d+)*"))
                    .sorted(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString().substring(5)))
                            .reversed())
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A sortable key for "13.0" / "12.10": each component zero-padded. */
    private static String versionKey(String version) {
        StringBuilder b = new StringBuilder();
        for (String part : version.split("\\.")) {
            b.append(String.format("%08d", Long.parseLong(part)));
        }
        return b.toString();
    }

    private static void addDirs(LinkedHashSet<Path> out, Path root, List<String> subdirs) {
        for (String sub : subdirs) {
            for (String name : NAMES) {
                out.add(root.resolve(sub).resolve(name));
            }
        }
    }
}
