package dev.deepgemm4j.jit;

import java.nio.file.Path;
import java.util.List;

/**
 * Turns a {@link KernelSource} into a CUBIN for one target architecture. Implementations: {@link NvrtcCompiler}
 * (in-process) and {@link NvccCompiler} (a child process). The {@link #identity()} and {@link #options} go into the
 * cache key, so a different compiler version or flag set never reuses another's binary.
 */
public interface KernelCompiler {

    /**
     * What was produced.
     *
     * @param cubin the CUBIN
     * @param log the compiler's output (diagnostics, ptxas report)
     * @param ptx the PTX when it was asked for and is available, else null
     */
    record Output(byte[] cubin, String log, byte[] ptx) {
    }

    /** Names the compiler and its exact version (and path, for NVCC), e.g. {@code "NVCC13.0.88 /usr/.../nvcc"}. */
    String identity();

    /** The compiler's version as {major, minor}, for choosing target names ({@link TargetArch}). */
    int[] version();

    /** The complete option list a compile for {@code arch} uses. */
    List<String> options(String arch);

    /**
     * Compiles {@code source} for {@code arch}. {@code workDir} is a private, empty-but-for-{@code kernel.cu}
     * directory the compiler may use (it becomes the cache entry: leave no files behind, and never create names
     * starting with {@code kernel.} or {@code meta}); {@code sourceFile} is {@code workDir/kernel.cu}, already written.
     *
     * @param wantPtx whether to return PTX as well
     * @throws CompileException with the log and {@code sourceFile} on failure
     */
    Output compile(KernelSource source, String arch, Path workDir, Path sourceFile, boolean wantPtx);
}
