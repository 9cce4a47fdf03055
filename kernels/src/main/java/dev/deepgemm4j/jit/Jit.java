package dev.deepgemm4j.jit;

import dev.deepgemm4j.cuda.Nvrtc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The JIT's entry point: {@code Jit.get(source, arch)} returns the kernel's CUBIN, compiled at most once per key
 * across threads and processes and cached in memory and on disk ({@link JitCache}). Loading it into a module is the
 * runtime's job ({@code CudaModule.load(ordinal, kernel.cubin())}).
 *
 * <p>Configured from DeepGEMM's environment variables ({@link JitConfig}) on first use, or explicitly with
 * {@link #configure}. The compiler is NVRTC unless {@code DG_JIT_USE_NVRTC=0} asks for NVCC; with the variable unset,
 * NVCC is the fallback when NVRTC cannot be loaded.
 */
public final class Jit {

    private static final Logger LOG = Logger.getLogger(Jit.class.getName());
    private static volatile JitCache cache;
    /** The environment's settings, read once: {@link #config} is on every launch's path and the environment is fixed. */
    private static volatile JitConfig environmentConfig;
    /** The tuner's store under the cache root in use (made again when the root changes). */
    private static volatile TunedChoices tunedChoices;
    private static final AtomicBoolean WARNED_TUNING_STORE = new AtomicBoolean();

    private Jit() {
    }

    /**
     * The CUBIN of {@code source} for {@code arch} (e.g. {@code "sm_90a"}, see {@link #targetArch}).
     *
     * @throws CompileException if compiling fails
     * @throws IllegalStateException if no compiler can be found
     */
    public static CompiledKernel get(KernelSource source, String arch) {
        return cache().get(source, arch);
    }

    /** The target architecture for a device of compute capability {@code major.minor} with the configured compiler. */
    public static String targetArch(int major, int minor) {
        int[] v = cache().compiler().version();
        return TargetArch.forDevice(major, minor, v[0], v[1]);
    }

    /**
     * The settings in use (e.g. {@link JitConfig#printConfigs()} for the heuristics); read from the environment
     * without setting up a compiler if nothing was compiled yet.
     */
    public static JitConfig config() {
        JitCache c = cache;
        if (c != null) {
            return c.config();
        }
        JitConfig e = environmentConfig;
        if (e == null) {
            e = JitConfig.fromEnvironment();
            environmentConfig = e;
        }
        return e;
    }

    /**
     * The tuner's on-disk store under the configured cache root ({@code <DG_JIT_CACHE_DIR>/tuning}); empty when
     * DG_JIT_DISABLE_CACHE is set or the directory cannot be set up (one warning), and tuned choices then live in
     * memory only.
     */
    public static Optional<TunedChoices> tunedChoices() {
        JitConfig c = config();
        if (c.disableCache()) {
            return Optional.empty();
        }
        Path root = c.cacheDir().toAbsolutePath();
        TunedChoices t = tunedChoices;
        if (t == null || !t.directory().getParent().equals(root)) {
            synchronized (Jit.class) {
                t = tunedChoices;
                if (t == null || !t.directory().getParent().equals(root)) {
                    try {
                        t = new TunedChoices(root);
                    } catch (IllegalStateException e) {
                        if (WARNED_TUNING_STORE.compareAndSet(false, true)) {
                            LOG.warning("deepgemm4j: " + e.getMessage() + "; tuned choices stay in memory");
                        }
                        return Optional.empty();
                    }
                    tunedChoices = t;
                }
            }
        }
        return Optional.of(t);
    }

    /** The counters of the process's cache. */
    public static JitStats stats() {
        return cache().stats();
    }

    /** The process's cache (created from the environment on first use). */
    public static JitCache cache() {
        JitCache c = cache;
        if (c == null) {
            synchronized (Jit.class) {
                c = cache;
                if (c == null) {
                    JitConfig config = JitConfig.fromEnvironment();
                    c = new JitCache(config, createCompiler(config));
                    cache = c;
                }
            }
        }
        return c;
    }

    /** Replaces the process's cache with one built from {@code config} (kernels already in memory are dropped). */
    public static synchronized void configure(JitConfig config) {
        cache = new JitCache(config, createCompiler(config));
    }

    /** Forgets the process's cache, so the next use reads the environment again (for tests). */
    static synchronized void reset() {
        cache = null;
        environmentConfig = null;
        tunedChoices = null;
    }

    /** The compiler {@code config} asks for. */
    public static KernelCompiler createCompiler(JitConfig config) {
        return switch (config.compiler()) {
            case NVRTC -> new NvrtcCompiler(config, Nvrtc.load());
            case NVCC -> new NvccCompiler(config);
            case AUTO -> {
                try {
                    yield new NvrtcCompiler(config, Nvrtc.load());
                } catch (RuntimeException | LinkageError nvrtcFailure) {
                    if (!Files.isExecutable(config.nvccPath())) {
                        throw new IllegalStateException("no CUDA compiler: " + nvrtcFailure.getMessage()
                                + "; and no NVCC at " + config.nvccPath(), nvrtcFailure);
                    }
                    LOG.info("deepgemm4j JIT: NVRTC unavailable (" + nvrtcFailure.getMessage() + "), using NVCC "
                            + config.nvccPath());
                    yield new NvccCompiler(config);
                }
            }
        };
    }
}
