package dev.deepgemm4j;

import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.JitConfig;
import dev.deepgemm4j.jit.JitStats;
import dev.deepgemm4j.jit.KernelSource;
import dev.deepgemm4j.jit.TargetArch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * This process's kernel cache: the JIT's compiled kernels in memory and on disk under {@link #root()} (one entry
 * per kernel, compiler and target, published atomically and verified on every load; many processes may share a
 * root, and each kernel is then compiled once among them). The GPU backend compiles through it; this class lets an
 * integration place it, count its work, and fill it ahead of time from a {@link KernelPack} compiled elsewhere.
 *
 * <p>Configured from DeepGEMM's {@code DG_JIT_*} environment variables on first use ({@link #current()}), or
 * explicitly with {@link #configure}.
 */
public final class KernelCache {

    private static final Logger LOG = Logger.getLogger(KernelCache.class.getName());

    /** Which CUDA compiler the cache compiles with. */
    public enum Compiler {
        /** NVRTC when it loads, else NVCC. */
        AUTO,
        /** NVRTC (in-process) only. */
        NVRTC,
        /** NVCC (a child process). */
        NVCC
    }

    /**
     * The cache's counters since it was set up.
     *
     * @param compiles kernels this process compiled
     * @param compileFailures compiles that failed
     * @param compileMillis time spent compiling
     * @param memoryHits requests served from this process's memory
     * @param diskHits requests served from the on-disk cache (including entries another process or a
     *     {@link KernelPack} published)
     */
    public record Stats(long compiles, long compileFailures, long compileMillis, long memoryHits, long diskHits) {

        /** Requests served without compiling: {@link #memoryHits} + {@link #diskHits}. */
        public long hits() {
            return memoryHits + diskHits;
        }
    }

    private final JitCache jit;

    KernelCache(JitCache jit) {
        this.jit = jit;
    }

    /**
     * The process's cache (set up from the environment if nothing configured it yet).
     *
     * @throws IllegalStateException if no CUDA compiler can be set up here
     */
    public static KernelCache current() {
        return new KernelCache(Jit.cache());
    }

    /**
     * Replaces the process's cache with one at {@code cacheDir} compiling with {@code compiler}; null keeps the
     * environment's choice for that setting. Kernels the old cache held in memory are not carried over (its disk
     * entries are, where the root is the same), and its {@link #stats()} no longer grow.
     *
     * @throws IllegalStateException if the root cannot be set up or the compiler cannot be found
     */
    public static KernelCache configure(Path cacheDir, Compiler compiler) {
        JitConfig config = JitConfig.fromEnvironment();
        if (cacheDir != null) {
            config = config.withCacheDir(cacheDir);
        }
        if (compiler != null) {
            config = config.withCompiler(JitConfig.CompilerChoice.valueOf(compiler.name()));
        }
        Jit.configure(config);
        return current();
    }

    /** The on-disk cache's root directory. */
    public Path root() {
        return jit.root();
    }

    /** The counters so far. */
    public Stats stats() {
        JitStats s = jit.stats();
        return new Stats(s.compiles(), s.compileFailures(), s.compileMillis(), s.memoryHits(), s.diskHits());
    }

    /**
     * The architecture this cache's compiler builds for GPUs of {@code target}'s compute capability (e.g.
     * {@code sm_90a}).
     *
     * @throws IllegalArgumentException if the compiler cannot target that compute capability
     */
    public String targetArch(GpuTarget target) {
        int[] v = jit.compiler().version();
        return TargetArch.forDevice(target.major(), target.minor(), v[0], v[1]);
    }

    /**
     * Publishes the kernels of {@code pack} that this cache lacks, as if it had compiled them, then loads every one
     * of them (so the first launches find them in memory). A kernel whose key differs here (another compiler
     * version or option set than where the pack was compiled) is skipped with a warning; the GPU backend compiles
     * it when it needs it.
     *
     * @return the number of kernels published into this cache's disk entries
     * @throws IllegalArgumentException if an entry of the pack is damaged (sizes or checksums do not match)
     */
    public int install(KernelPack pack) {
        int published = 0;
        List<KernelSource> usable = new ArrayList<>();
        for (KernelPack.Entry e : pack.entries()) {
            KernelSource source = e.source();
            String here = source.family() + "." + jit.key(source, pack.arch());
            if (!here.equals(e.entryName())) {
                LOG.warning("deepgemm4j: kernel " + e.kernelName() + " has key " + here + " here but "
                        + e.entryName() + " where the pack was compiled (another compiler?); not installed");
                continue;
            }
            usable.add(source);
            if (jit.installEntry(source, pack.arch(), e.files())) {
                published++;
            }
        }
        usable.forEach(s -> jit.get(s, pack.arch()));
        return published;
    }

    JitCache jit() {
        return jit;
    }

    /** Two handles are equal when they are the same cache (a {@link #configure} makes a new one). */
    @Override
    public boolean equals(Object o) {
        return o instanceof KernelCache other && other.jit == jit;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(jit);
    }

    @Override
    public String toString() {
        return "KernelCache[" + jit.root() + "]";
    }
}
