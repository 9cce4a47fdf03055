package dev.deepgemm4j.jit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Runs CUDA toolkit executables (nvcc, cuobjdump) and finds them. */
final class CudaToolkit {

    private CudaToolkit() {
    }

    /** Exit code and merged stdout/stderr of a finished command. */
    record Run(int exitCode, String output) {
    }

    /**
     * Runs {@code command} in {@code workDir}, output merged.
     *
     * @throws IOException if it cannot start or does not finish within {@code timeoutSeconds}
     */
    static Run run(List<String> command, Path workDir, long timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        Process p = pb.start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.get(0) + " did not finish within " + timeoutSeconds + " s");
            }
            return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0), e);
        }
    }

    /** {@code cuobjdump}: next to {@code nvcc}, under $CUDA_HOME / $CUDA_PATH, on the PATH, in /usr/local/cuda. */
    static Optional<Path> cuobjdump(Path nvcc) {
        List<Path> dirs = new ArrayList<>();
        if (nvcc != null && nvcc.getParent() != null) {
            dirs.add(nvcc.toAbsolutePath().getParent());
            try {
                dirs.add(nvcc.toRealPath().getParent());
            } catch (IOException e) {
                // not there: the other places remain
            }
        }
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String home = System.getenv(var);
            if (home != null && !home.isBlank()) {
                dirs.add(Path.of(home, "bin"));
            }
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(java.io.File.pathSeparator)) {
                if (!d.isEmpty()) {
                    dirs.add(Path.of(d));
                }
            }
        }
        dirs.add(Path.of("/usr/local/cuda/bin"));
        return dirs.stream().map(d -> d.resolve("cuobjdump")).filter(Files::isExecutable).findFirst();
    }
}
