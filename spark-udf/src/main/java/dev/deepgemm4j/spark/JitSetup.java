package dev.deepgemm4j.spark;

import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.JitConfig;
import dev.deepgemm4j.jit.JitStats;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This JVM's kernel JIT as the Spark settings want it ({@link DeepGemmConf#JIT_CACHE_DIR},
 * {@link DeepGemmConf#JIT_COMPILER}), and the counting of its compiles and cache hits for Spark accumulators: each
 * compile or hit of the JVM is handed out exactly once by {@link #drain()}, whichever task asks.
 */
final class JitSetup {

    private static final Logger LOG = LoggerFactory.getLogger(JitSetup.class);
    private static String applied;
    private static String failedFor;
    private static JitCache counted;
    private static long countedCompiles;
    private static long countedHits;

    private JitSetup() {
    }

    /**
     * The process's kernel cache configured per {@code conf} for executor {@code executorId}, or null (logged once)
     * when no CUDA compiler can run here.
     */
    static synchronized JitCache cache(DeepGemmConf conf, String executorId) {
        String dir = conf.jitCacheDir() == null ? null : conf.jitCacheDir().replace("{executor}", executorId);
        String wanted = dir + "|" + conf.jitCompiler();
        if (wanted.equals(failedFor)) {
            return null;
        }
        try {
            if ((dir != null || conf.jitCompiler() != null) && !wanted.equals(applied)) {
                JitConfig config = JitConfig.fromEnvironment();
                if (dir != null) {
                    config = config.withCacheDir(Path.of(dir));
                }
                if (conf.jitCompiler() != null) {
                    config = config.withCompiler(JitConfig.CompilerChoice.valueOf(conf.jitCompiler().toUpperCase(
                            java.util.Locale.ROOT)));
                }
                Jit.configure(config);
                applied = wanted;
            }
            return Jit.cache();
        } catch (RuntimeException | LinkageError e) {
            failedFor = wanted;
            LOG.warn("deepgemm4j: no kernel JIT in this JVM ({}); kernels are neither precompiled nor seeded here",
                    e.getMessage());
            return null;
        }
    }

    /**
     * Compiles and cache hits of this JVM's kernel cache not yet handed out: {compiles, hits}. A cache replaced by
     * {@link Jit#configure} starts counting from zero.
     */
    static synchronized long[] drain(JitCache cache) {
        if (cache == null) {
            return new long[2];
        }
        if (!Objects.equals(counted, cache)) {
            counted = cache;
            countedCompiles = 0;
            countedHits = 0;
        }
        JitStats s = cache.stats();
        long hits = s.memoryHits() + s.diskHits();
        long[] delta = {s.compiles() - countedCompiles, hits - countedHits};
        countedCompiles = s.compiles();
        countedHits = hits;
        return delta;
    }
}
