package dev.deepgemm4j.jit;

import java.nio.file.Path;

/**
 * A compiled kernel as the JIT hands it out: the CUBIN to load ({@code CudaModule.load}) and the name to look up.
 *
 * @param family the kernel family
 * @param kernelName the {@code extern "C"} function in the CUBIN
 * @param arch the target it was compiled for
 * @param cubin the CUBIN ({@link #cubin()} returns a copy)
 * @param compileMillis how long the compile that produced it took (on a hit: the original compile)
 * @param outcome how this request was served
 * @param cacheKey the cache key (hex)
 * @param entryDir the published cache entry, or null when it was not published (cache disabled, entry refused)
 * @param compilerLog the compiler's log of the compile that produced it (ptxas report)
 */
public record CompiledKernel(String family, String kernelName, String arch, byte[] cubin, long compileMillis,
        Outcome outcome, String cacheKey, Path entryDir, String compilerLog) {

    /** How a request was served. */
    public enum Outcome {
        /** Compiled by this request. */
        COMPILED,
        /** Found in this process's memory. */
        MEMORY_HIT,
        /** Loaded from the on-disk cache. */
        DISK_HIT,
        /** Waited for another thread or process compiling the same key, then loaded its result. */
        WAITED
    }

    /** A copy of the CUBIN bytes. */
    @Override
    public byte[] cubin() {
        return cubin.clone();
    }

    /** Size of the CUBIN in bytes. */
    public int cubinSize() {
        return cubin.length;
    }

    /** The ptxas report parsed from {@link #compilerLog()}. */
    public PtxasReport ptxasReport() {
        return PtxasReport.parse(compilerLog);
    }

    CompiledKernel withOutcome(Outcome o) {
        return o == outcome ? this
                : new CompiledKernel(family, kernelName, arch, cubin, compileMillis, o, cacheKey, entryDir,
                        compilerLog);
    }
}
