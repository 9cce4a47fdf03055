package dev.deepgemm4j.jit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Runs the CUDA toolkit's nvcc (found on PATH or under CUDA_HOME) for the compile-only CI tests. */
final class Nvcc {

    /** Exit status and merged stdout/stderr of one run. */
    record Result(int exitCode, String output) {
    }

    private final Path executable;

    private Nvcc(Path executable) {
        this.executable = executable;
    }

    /** nvcc if the machine has one. */
    static Optional<Nvcc> find() {
        List<Path> candidates = new ArrayList<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null) {
            candidates.add(Path.of(cudaHome, "bin", "nvcc"));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, "nvcc"));
            }
        }
        candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
        return candidates.stream().filter(Files::isExecutable).findFirst().map(Nvcc::new);
    }

    /** Runs nvcc with {@code args} in {@code workDir}, feeding {@code stdin} if not null. */
    Result run(Path workDir, List<String> args, String stdin) {
        List<String> command = new ArrayList<>();
        command.add(executable.toString());
        command.addAll(args);
        return exec(workDir, command, stdin);
    }

    /** Runs any program (e.g. one nvcc built). */
    static Result exec(Path workDir, List<String> command, String stdin) {
        try {
            Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
            // Feed stdin from another thread while this one drains stdout, so neither pipe can fill up and stall.
            Thread feeder = Thread.ofVirtual().start(() -> {
                try (var in = p.getOutputStream()) {
                    if (stdin != null) {
                        in.write(stdin.getBytes(StandardCharsets.US_ASCII));
                    }
                } catch (IOException ignored) {
                    // the program exited early; its exit code tells the story
                }
            });
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            feeder.join();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
