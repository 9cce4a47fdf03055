package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.cuda.CudaContext;
import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaDevice;
import dev.deepgemm4j.cuda.CudaFunction;
import dev.deepgemm4j.cuda.CudaModule;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.cuda.KernelLauncher;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.cuda.LaunchConfig;
import dev.deepgemm4j.heuristics.KernelConfig;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.heuristics.LaunchGeometry;
import dev.deepgemm4j.jit.CompiledKernel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * One device as the backend uses it: its primary context, the kernels loaded into it (each compiled and loaded once
 * per process), the launch path, and the scratch buffer that flushes L2.
 */
final class GpuDevice {

    /** Kernel launches queued by the backend since the process started, over all devices. */
    private static final LongAdder LAUNCHES = new LongAdder();
    /** The L2 flush writes at least this much (H100: 50 MB of L2; H200: 60 MB). */
    private static final long MIN_FLUSH_BYTES = 256L << 20;

    private final CudaContext context;
    private final String arch;
    private final KernelBinaries binaries;
    /** Functions by configuration (the fast path, no source assembly), and by JIT cache key (one load per binary). */
    private final Map<KernelConfig, CudaFunction> byConfig = new ConcurrentHashMap<>();
    private final Map<String, CudaFunction> byCacheKey = new ConcurrentHashMap<>();
    private volatile DeviceMemory flushBuffer;

    GpuDevice(int ordinal, KernelBinaries binaries) {
        this.context = CudaContext.of(ordinal);
        this.binaries = binaries;
        CudaDevice info = context.device();
        this.arch = binaries.targetArch(info.computeCapabilityMajor(), info.computeCapabilityMinor());
    }

    static long launches() {
        return LAUNCHES.sum();
    }

    int ordinal() {
        return context.ordinal();
    }

    CudaContext context() {
        return context;
    }

    CudaDevice info() {
        return context.device();
    }

    /** The device model as tuned choices are kept for it: name, compute capability and SM count. */
    String modelName() {
        CudaDevice d = info();
        return d.name() + " sm_" + d.computeCapabilityMajor() + d.computeCapabilityMinor() + " " + d.smCount() + " SMs";
    }

    /** Whether the device is an sm_90 (Hopper) part: the TMA + WGMMA kernels run only there. */
    boolean isSm90() {
        return info().computeCapabilityMajor() == 9 && info().computeCapabilityMinor() == 0;
    }

    /** The stream this thread's work on the device goes to. */
    CudaStream stream() {
        return CurrentStream.of(context.ordinal());
    }

    /** SMs the heuristics may plan for: {@code set_num_sms} if given, else the device's count. */
    int numSms() {
        return Math.min(DeepGemm.getNumSms(), info().smCount());
    }

    /** Queues {@code launch}'s kernel with {@code args} (already filled in parameter order) on {@link #stream()}. */
    void launch(Launch<?> launch, LaunchArgs args) {
        CudaFunction function = function(launch.config());
        LaunchGeometry g = launch.geometry();
        LaunchConfig config = new LaunchConfig(g.gridX(), g.gridY(), g.gridZ(), g.threads(), 1, 1,
                g.dynamicSharedBytes(), g.clusterX(), 1, 1, false);
        KernelLauncher.launch(function, config, stream(), args);
        LAUNCHES.increment();
    }

    private CudaFunction function(KernelConfig config) {
        CudaFunction f = byConfig.get(config);
        if (f == null) {
            CompiledKernel kernel = binaries.compile(config.source(), arch);
            f = byCacheKey.computeIfAbsent(kernel.cacheKey(),
                    key -> CudaModule.load(context, kernel.cubin()).function(kernel.kernelName()));
            byConfig.putIfAbsent(config, f);
        }
        return f;
    }

    /** Overwrites a scratch buffer several times the size of L2 on {@code stream}, evicting whatever L2 held. */
    void flushL2(CudaStream stream) {
        DeviceMemory buffer = flushBuffer;
        if (buffer == null) {
            synchronized (this) {
                buffer = flushBuffer;
                if (buffer == null) {
                    buffer = DeviceMemory.allocate(context, Math.max(MIN_FLUSH_BYTES, 4L * info().l2CacheBytes()));
                    flushBuffer = buffer;
                }
            }
        }
        CudaCopy.memsetD32Async(buffer, 0, buffer.byteSize() / 4, 0, stream);
    }
}
