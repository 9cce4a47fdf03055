package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.KernelCache;
import dev.deepgemm4j.KernelPack;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * deepgemm4j's state in one executor JVM: the device it computes on, the weight sets resident there, and the
 * semaphore that bounds how many tasks use the device at once. There is one per JVM: {@link DeepGemmPlugin} creates
 * it when the executor starts; without the plugin, {@link #get()} creates it at the first task that needs it.
 *
 * <p><b>Device.</b> See {@link DeepGemmConf#DEVICE}: in {@code auto} mode the GPU Spark assigned (resource
 * {@code gpu}, from the executor's resources or else the task's), else GPU 0 when a GPU backend runs, else the CPU
 * backend, which gives the same results.
 *
 * <p><b>Weights.</b> Resident per (URI, checksum, kind, device): the first task that needs a weight set loads it
 * (others wait for that load) and every later task of the JVM reuses it.
 */
public final class DeepGemmRuntime {

    private static final Logger LOG = LoggerFactory.getLogger(DeepGemmRuntime.class);
    private static final AtomicInteger INITIALIZATIONS = new AtomicInteger();
    private static volatile DeepGemmRuntime current;

    private final DeepGemmConf conf;
    private final Location location;
    private final Semaphore permits;
    private final int concurrentTasks;
    private final Consumer<RuntimeEvent> events;
    private final Map<ResidentKey, CompletableFuture<AutoCloseable>> resident = new ConcurrentHashMap<>();
    private final AtomicLong weightLoads = new AtomicLong();
    private final Map<String, CompletableFuture<Integer>> preparedKernels = new ConcurrentHashMap<>();
    private volatile boolean jitInUse;

    private DeepGemmRuntime(DeepGemmConf conf, Location location, Consumer<RuntimeEvent> events) {
        this.conf = conf;
        this.location = location;
        this.concurrentTasks = conf.concurrentGpuTasks();
        this.permits = new Semaphore(concurrentTasks, true);
        this.events = events;
    }

    /** This JVM's runtime, created from the Spark configuration and the task's resources if there is none yet. */
    public static DeepGemmRuntime get() {
        DeepGemmRuntime r = current;
        if (r != null) {
            return r;
        }
        synchronized (DeepGemmRuntime.class) {
            if (current == null) {
                SparkEnv env = SparkEnv.get();
                DeepGemmConf conf = env == null ? DeepGemmConf.DEFAULT : DeepGemmConf.from(env.conf());
                TaskContext task = TaskContext.get();
                current = start(conf, task == null ? List.of() : gpuAddresses(task.resourcesJMap()), e -> { });
            }
            return current;
        }
    }

    /**
     * Creates this JVM's runtime (the executor plugin's path); returns the existing one if there is one.
     *
     * @param gpuAddresses the GPU addresses Spark assigned to the executor (may be empty)
     * @param events receives the runtime's one-time events (for the driver)
     */
    static synchronized DeepGemmRuntime initialize(DeepGemmConf conf, List<String> gpuAddresses,
            Consumer<RuntimeEvent> events) {
        if (current == null) {
            current = start(conf, gpuAddresses, events);
        }
        return current;
    }

    /** Frees the resident weights and forgets this JVM's runtime (executor shutdown). */
    static synchronized void shutdown() {
        DeepGemmRuntime r = current;
        current = null;
        if (r != null) {
            r.resident.values().forEach(f -> f.thenAccept(DeepGemmRuntime::closeQuietly));
            r.resident.clear();
        }
    }

    private static DeepGemmRuntime start(DeepGemmConf conf, List<String> gpuAddresses,
            Consumer<RuntimeEvent> events) {
        Location location = pickDevice(conf, gpuAddresses);
        DeepGemmRuntime r = new DeepGemmRuntime(conf, location, events);
        if (!location.isHost()) {
            // The GPU backend compiles through this JVM's JIT: give it the configured cache and compiler first.
            r.jitInUse = JitSetup.cache(conf, executorId()) != null;
        }
        int n = INITIALIZATIONS.incrementAndGet();
        LOG.info("deepgemm4j runtime #{} on {} (executor {}, {} concurrent task(s))", n, location, executorId(),
                conf.concurrentGpuTasks());
        r.report(RuntimeEvent.Kind.INIT, location.toString(), n);
        return r;
    }

    /** The list of addresses of Spark resource {@code gpu}, or empty. */
    static List<String> gpuAddresses(Map<String, ResourceInformation> resources) {
        ResourceInformation gpu = resources == null ? null : resources.get("gpu");
        return gpu == null ? List.of() : List.of(gpu.addresses());
    }

    private static Location pickDevice(DeepGemmConf conf, List<String> gpuAddresses) {
        switch (conf.device()) {
            case "cpu" -> {
                return Location.HOST;
            }
            case "auto" -> {
                Location wanted = Location.cuda(gpuAddresses.isEmpty() ? 0 : Integer.parseInt(gpuAddresses.get(0)
                        .strip()));
                String failure = probe(wanted);
                if (failure == null) {
                    return wanted;
                }
                if (!gpuAddresses.isEmpty()) {
                    LOG.warn("deepgemm4j: Spark assigned GPU {} but it cannot be used ({}); using the CPU backend",
                            gpuAddresses.get(0), failure);
                }
                return Location.HOST;
            }
            default -> {
                Location fixed = DeepGemmConf.fixedGpu(conf.device());
                String failure = probe(fixed);
                if (failure != null) {
                    throw new IllegalStateException(DeepGemmConf.DEVICE + " = " + conf.device() + " but " + fixed
                            + " cannot be used: " + failure);
                }
                return fixed;
            }
        }
    }

    /** Whether a tensor can be allocated at {@code location} in this JVM. */
    static boolean gpuUsable(Location location) {
        return probe(location) == null;
    }

    /** Null when a tensor can be allocated at {@code location}, else why not. */
    private static String probe(Location location) {
        try (Tensor t = Tensor.zeros(location, DType.FP32, 1)) {
            return null;
        } catch (RuntimeException | LinkageError e) {
            return e.getMessage();
        }
    }

    /** Where this executor computes: a GPU, or the host (CPU backend). */
    public Location location() {
        return location;
    }

    /** The backend's short name for metrics: {@code cuda:N} or {@code cpu}. */
    public String backend() {
        return location.isHost() ? "cpu" : location.toString();
    }

    /** How many runtimes this JVM has started (1 in a healthy executor). */
    public static int initializations() {
        return INITIALIZATIONS.get();
    }

    /** How many weight files this runtime has loaded. */
    public long weightLoads() {
        return weightLoads.get();
    }

    /** Device permits free right now (equals the configured count when no task is in device work). */
    public int availablePermits() {
        return permits.availablePermits();
    }

    /** The configured number of concurrent device tasks. */
    public int concurrentTasks() {
        return concurrentTasks;
    }

    /**
     * Runs {@code work} holding one device permit. Waiting is interruptible, so a killed task stops waiting.
     */
    public <T> T onDevice(Supplier<T> work) {
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the device", e);
        }
        try {
            return work.get();
        } finally {
            permits.release();
        }
    }

    /**
     * Installs {@code pack}'s kernels into this JVM's kernel cache and loads them, once per pack (later calls wait
     * for the first). Nothing happens where no CUDA compiler runs (the cache cannot be opened).
     *
     * @return the number of cache entries this JVM published from the pack
     */
    int prepareKernels(KernelPack pack) {
        CompletableFuture<Integer> mine = new CompletableFuture<>();
        CompletableFuture<Integer> existing = preparedKernels.putIfAbsent(pack.id(), mine);
        if (existing == null) {
            try {
                KernelCache cache = JitSetup.cache(conf, executorId());
                int published = cache == null ? 0 : cache.install(pack);
                if (cache != null) {
                    jitInUse = true;
                }
                LOG.info("deepgemm4j: installed {} of {} shipped kernel(s) into the kernel cache", published,
                        pack.size());
                mine.complete(published);
            } catch (RuntimeException | Error e) {
                preparedKernels.remove(pack.id(), mine);
                mine.completeExceptionally(e);
            }
            existing = mine;
        }
        try {
            return existing.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    /** Kernel compiles and cache hits of this JVM not counted yet: {compiles, hits} (zeros when no JIT is used). */
    long[] drainJitCounts() {
        return jitInUse ? JitSetup.drain(JitSetup.cache(conf, executorId())) : new long[2];
    }

    /** The MoE model of {@code ref}, resident on this executor's device. */
    public MoeModel model(WeightRef ref) {
        return resident(ref, "moe", tensors -> {
            MoeModel host = MoeModel.fromTensors(tensors);
            MoeModel placed = host.to(location);
            if (placed != host) {
                host.close();
            }
            return placed;
        });
    }

    /** The {@code fp8_gemm} weight set of {@code ref}, resident on this executor's device. */
    GemmWeights gemmWeights(WeightRef ref) {
        return resident(ref, "gemm", tensors -> GemmWeights.load(tensors, location));
    }

    @SuppressWarnings("unchecked")
    private <T extends AutoCloseable> T resident(WeightRef ref, String kind, Function<Map<String, Tensor>, T> decode) {
        ResidentKey key = new ResidentKey(ref.uri(), ref.checksum(), kind, location);
        CompletableFuture<AutoCloseable> mine = new CompletableFuture<>();
        CompletableFuture<AutoCloseable> existing = resident.putIfAbsent(key, mine);
        if (existing == null) {
            try {
                T value = decode.apply(WeightFile.read(ref.uri(), ref.checksum()));
                long n = weightLoads.incrementAndGet();
                LOG.info("deepgemm4j: loaded {} weights {} onto {}", kind, ref, location);
                report(RuntimeEvent.Kind.WEIGHT_LOAD, key.toString(), n);
                mine.complete(value);
            } catch (RuntimeException | Error e) {
                resident.remove(key, mine); // a later task may retry
                mine.completeExceptionally(e);
            }
            existing = mine;
        }
        try {
            return (T) existing.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    private void report(RuntimeEvent.Kind kind, String detail, long count) {
        try {
            events.accept(new RuntimeEvent(executorId(), ProcessHandle.current().pid(), kind, detail, count));
        } catch (RuntimeException e) {
            LOG.warn("deepgemm4j: could not report {} to the driver: {}", kind, e.toString());
        }
    }

    static String executorId() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "none" : env.executorId();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("deepgemm4j: closing resident weights failed: {}", e.toString());
        }
    }

    /** Identity of a resident weight set. */
    private record ResidentKey(String uri, String checksum, String kind, Location location) {
        @Override
        public String toString() {
            return kind + ":" + uri + "#" + checksum.substring(0, Math.min(12, checksum.length())) + "@" + location;
        }
    }
}
