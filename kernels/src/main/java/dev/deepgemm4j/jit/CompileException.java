package dev.deepgemm4j.jit;

import java.nio.file.Path;

/**
 * A kernel failed to compile (or failed the ptxas check). Carries the compiler's log and the path of the generated
 * source, which is kept on disk for inspection.
 */
public final class CompileException extends RuntimeException {

    private final String log;
    private final Path sourcePath;

    /**
     * @param message what failed, e.g. "NVCC failed with exit code 1 compiling kernel fp8_gemm_…"
     * @param log the compiler output
     * @param sourcePath the generated {@code kernel.cu}, or null if it was not written
     */
    public CompileException(String message, String log, Path sourcePath) {
        super(message + (sourcePath == null ? "" : " (source: " + sourcePath + ")")
                + (log == null || log.isBlank() ? "" : "\n" + log.strip()));
        this.log = log == null ? "" : log;
        this.sourcePath = sourcePath;
    }

    /** The compiler output. */
    public String log() {
        return log;
    }

    /** The generated source file, or null. */
    public Path sourcePath() {
        return sourcePath;
    }
}
