package dev.deepgemm4j.spark;

import dev.deepgemm4j.KernelCache;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This JVM's kernel cache as the Spark settings want it ({@link DeepGemmConf#JIT_CACHE_DIR},
 * {@link DeepGemmConf#JIT_COMPILER}), and the counting of its compiles and cache hits for Spark accumulators: each
 * compile or hit of the JVM is handed out exactly once by {@link #drain}, whichever task asks.
 */
final class JitSetup {

    private static final Logger LOG = LoggerFactory.getLogger(JitSetup.class);
    private static String applied;
    private static String failedFor;
    private static KernelCache counted;
    private static long countedCompiles;
    private static long countedHits;

    private JitSetup() {
    }

    /**
     * The process's kernel cache configured per {@code conf} for executor {@code executorId}, or null (logged once)
     * when no CUDA compiler can run here.
     */
    static synchronized KernelCache cache(DeepGemmConf conf, String executorId) {
        String dir = conf.jitCacheDir() == null ? null : conf.jitCacheDir().replace("{executor}", executorId);
        String wanted = dir + "|" + conf.jitCompiler();
        if (wanted.equals(failedFor)) {
            return null;
        }
        try {
            // Configuring again would drop the kernels the cache holds in memory: only when the settings change.
            if ((dir != null || conf.jitCompiler() != null) && !wanted.equals(applied)) {
                KernelCache configured = KernelCache.configure(dir == null ? null : Path.of(dir),
                        conf.jitCompiler() == null ? null
                                : KernelCache.Compiler.valueOf(conf.jitCompiler().toUpperCase(Locale.ROOT)));
                applied = wanted;
                return configured;
            }
            return KernelCache.current();
        } catch (RuntimeException | LinkageError e) {
            failedFor = wanted;
            LOG.warn("deepgemm4j: no kernel JIT in this JVM ({}); kernels are neither precompiled nor installed here",
                    e.getMessage());
            return null;
        }
    }

    /**
     * Compiles and cache hits of this JVM's kernel cache not yet handed out: {compiles, hits}. A cache replaced by
     * {@link KernelCache#configure} starts counting from zero.
     */
    static synchronized long[] drain(KernelCache cache) {
        if (cache == null) {
            return new long[2];
        }
        if (!Objects.equals(counted, cache)) {
            counted = cache;
            countedCompiles = 0;
            countedHits = 0;
        }
        KernelCache.Stats s = cache.stats();
        long[] delta = {s.compiles() - countedCompiles, s.hits() - countedHits};
        countedCompiles = s.compiles();
        countedHits = s.hits();
        return delta;
    }
}
