package dev.deepgemm4j.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Launches kernels through FFM: {@code cuLaunchKernel} for plain launches, {@code cuLaunchKernelEx} with cluster and
 * PDL attributes when the {@link LaunchConfig} asks for them. Before launching it makes the function's context
 * current and opts the function into dynamic shared memory above 48 KB (once per size). A launch allocates nothing:
 * the parameters and the launch configuration live in the caller's {@link LaunchArgs}.
 */
public final class KernelLauncher {

    private final CudaDriverFfm driver;

    /** A launcher calling {@code driver}. */
    public KernelLauncher(CudaDriverFfm driver) {
        this.driver = driver;
    }

    /**
     * Queues {@code function} on {@code stream} with {@code args}, using the process's driver.
     *
     * @throws IllegalArgumentException if stream and function belong to different devices, the cluster does not
     *     divide the grid, or the shared memory exceeds the device's opt-in maximum
     * @throws CudaException if the driver rejects the launch
     */
    public static void launch(CudaFunction function, LaunchConfig config, CudaStream stream, LaunchArgs args) {
        system().launchOn(function, config, stream, args);
    }

    /** The launcher calling the process's driver. */
    public static KernelLauncher system() {
        CudaRuntime.requireAvailable();
        return Default.INSTANCE;
    }

    private static final class Default {
        static final KernelLauncher INSTANCE = new KernelLauncher(CudaRuntime.driver());
    }

    /** {@link #launch} through this launcher's driver. */
    public void launchOn(CudaFunction function, LaunchConfig config, CudaStream stream, LaunchArgs args) {
        CudaContext context = function.module().context();
        if (stream.ordinal() != context.ordinal()) {
            throw new IllegalArgumentException("stream is on cuda:" + stream.ordinal() + ", kernel "
                    + function.name() + " on cuda:" + context.ordinal());
        }
        int smem = config.dynamicSharedMemoryBytes();
        if (smem > CudaFunction.DEFAULT_DYNAMIC_SMEM_LIMIT) {
            int max = context.device().maxSharedMemoryPerBlockOptin();
            if (smem > max) {
                throw new IllegalArgumentException(function.name() + " asks for " + smem
                        + " B of dynamic shared memory; the device allows " + max);
            }
            function.ensureDynamicSharedMemory(smem);
        }
        long fn = function.rawHandle();
        long st = stream.rawHandle();
        context.makeCurrent();
        int r = launchRaw(fn, config, st, args);
        if (r != CudaException.SUCCESS) {
            throw new CudaException((config.needsLaunchEx() ? "cuLaunchKernelEx(" : "cuLaunchKernel(")
                    + function.name() + ", " + config + ", " + args.count() + " params) on cuda:"
                    + context.ordinal(), r);
        }
    }

    /**
     * Launches a raw {@code CUfunction} on a raw stream with the calling thread's current context; returns the
     * {@code CUresult}.
     */
    public int launchRaw(long function, LaunchConfig config, long stream, LaunchArgs args) {
        MemorySegment params = args.kernelParams();
        if (config.needsLaunchEx()) {
            config.checkClusterDivides();
            return driver.launchKernelEx(args.launchConfig(config, stream), function, params);
        }
        return driver.launchKernel(function, config.gridX(), config.gridY(), config.gridZ(), config.blockX(),
                config.blockY(), config.blockZ(), config.dynamicSharedMemoryBytes(), stream, params);
    }
}
