package dev.deepgemm4j.it;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the benchmark finds the CUDA toolkit's optional libraries (cuBLASLt, CUPTI): a file named by a system property
 * or environment variable, the toolkit's directories, the system's library path, and the NVIDIA Python wheels that
 * PyTorch installs (a GPU host may have those and no toolkit).
 *
 * @param property system property naming the library file
 * @param environment environment variable naming it, read when the property is unset
 * @param sonames the library's names, newest first
 * @param toolkitDirs directories under a CUDA home that may hold it
 */
record CudaLibrarySearch(String property, String environment, List<String> sonames, List<String> toolkitDirs) {

    /** The library and the lookup of its symbols. */
    record Found(Path library, SymbolLookup lookup) {
    }

    /**
     * Opens the first candidate that exists, else the first soname the system's library path resolves.
     *
     * @throws IllegalStateException naming every place searched when it is nowhere
     */
    Found open() {
        List<String> tried = new ArrayList<>();
        for (Path candidate : candidates()) {
            if (Files.isRegularFile(candidate)) {
                return new Found(candidate, SymbolLookup.libraryLookup(candidate, Arena.global()));
            }
            tried.add(candidate.toString());
        }
        for (String soname : sonames) {
            try {
                return new Found(Path.of(soname), SymbolLookup.libraryLookup(soname, Arena.global()));
            } catch (IllegalArgumentException notOnLibraryPath) {
                tried.add(soname + " (library path)");
            }
        }
        throw new IllegalStateException(sonames.getFirst() + " not found; tried " + String.join(", ", tried));
    }

    /** Files to try, in order. */
    List<Path> candidates() {
        List<Path> files = new ArrayList<>();
        String explicit = System.getProperty(property, System.getenv(environment));
        if (explicit != null && !explicit.isBlank()) {
            files.add(Path.of(explicit));
        }
        List<Path> dirs = new ArrayList<>();
        for (String home : new String[] {System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda"}) {
            if (home != null && !home.isBlank()) {
                for (String dir : toolkitDirs) {
                    dirs.add(Path.of(home, dir));
                }
            }
        }
        for (String wheels : new String[] {"/opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib",
            "/usr/local/lib/python3*/dist-packages/nvidia/*/lib", "/usr/lib/python3/dist-packages/nvidia/*/lib"}) {
            dirs.addAll(glob(wheels));
        }
        for (Path dir : dirs) {
            for (String soname : sonames) {
                files.add(dir.resolve(soname));
            }
        }
        return files;
    }

    /** The directories matching an absolute pattern whose segments may hold {@code *} wildcards. */
    static List<Path> glob(String pattern) {
        List<Path> matches = List.of(Path.of("/"));
        for (String segment : pattern.substring(1).split("/")) {
            List<Path> next = new ArrayList<>();
            for (Path dir : matches) {
                if (!segment.contains("*")) {
                    Path p = dir.resolve(segment);
                    if (Files.isDirectory(p)) {
                        next.add(p);
                    }
                    continue;
                }
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, segment)) {
                    entries.forEach(p -> {
                        if (Files.isDirectory(p)) {
                            next.add(p);
                        }
                    });
                } catch (IOException | RuntimeException unreadable) {
                    // a directory we cannot list holds nothing for us
                }
            }
            matches = next;
        }
        return matches;
    }
}
