package dev.deepgemm4j.cuda;

import jcuda.driver.CUcontext;
import java.util.logging.Logger;
import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

/**
 * The primary context of one device, retained once for the life of the process (as the CUDA runtime API does), so
 * it is shared with any other library in the process that uses primary contexts (PyTorch, JCuda users).
 *
 * <p>The current context is a property of the OS thread. Every runtime class calls {@link #makeCurrent()} before
 * its driver calls, so any platform thread may use any device; the check costs one {@code cuCtxGetCurrent} (tens of
 * nanoseconds through FFM) and the set happens only when another context is current. That also keeps it right when
 * other code on the thread switched contexts in between. A virtual thread may move between carrier threads only at
 * blocking points, which the runtime's call sequences do not contain.
 */
public final class CudaContext {

    private final CudaDevice device;
    private final JCudaHandles.Context handle;
    private final long raw;
    private static final Logger LOG = Logger.getLogger(CudaContext.class.getName());
    /** {@code UINT64_MAX}: no limit on the memory a pool keeps. */
    private static final long UNLIMITED_RELEASE_THRESHOLD = -1L;

    private final CudaDriverFfm driver;

    private CudaContext(CudaDevice device, JCudaHandles.Context handle, CudaDriverFfm driver) {
        this.device = device;
        this.handle = handle;
        this.raw = handle.raw();
        this.driver = driver;
    }

    /**
     * The primary context of device {@code ordinal} (retained on first use).
     *
     * @throws CudaUnavailableException if CUDA cannot run here
     * @throws IllegalArgumentException if there is no such device
     */
    public static CudaContext of(int ordinal) {
        CudaDevice info = CudaRuntime.device(ordinal);
        CudaContext[] contexts = Retained.CONTEXTS;
        CudaContext c = contexts[ordinal];
        if (c != null) {
            return c;
        }
        synchronized (contexts) {
            if (contexts[ordinal] == null) {
                CUdevice dev = new CUdevice();
                CudaException.check(JCudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet(" + ordinal + ")");
                JCudaHandles.Context ctx = new JCudaHandles.Context();
                CudaException.check(JCudaDriver.cuDevicePrimaryCtxRetain(ctx, dev),
                        "cuDevicePrimaryCtxRetain on cuda:" + ordinal);
                keepFreedMemoryPooled(ordinal);
                contexts[ordinal] = new CudaContext(info, ctx, CudaRuntime.driver());
            }
            return contexts[ordinal];
        }
    }

    /**
     * Tensors are allocated stream-ordered from the device's default pool, whose release threshold is 0: at every
     * synchronisation the pool would hand freed memory back to the system, and the next allocation would map it again
     * (tens to hundreds of µs in the stream). Like any caching allocator, the pool keeps it instead; a failure only
     * costs that speed, so it is logged, not thrown.
     */
    private static void keepFreedMemoryPooled(int ordinal) {
        int r = CudaRuntime.driver().setDefaultPoolReleaseThreshold(ordinal, UNLIMITED_RELEASE_THRESHOLD);
        if (r != CudaException.SUCCESS) {
            LOG.warning("deepgemm4j: cannot keep freed memory in cuda:" + ordinal + "'s default pool (CUresult " + r
                    + "); stream-ordered allocations may be slower");
        }
    }

    /** The retained contexts, one slot per device; initialised once the probe found the devices. */
    private static final class Retained {
        static final CudaContext[] CONTEXTS = new CudaContext[CudaRuntime.deviceCount()];
    }

    /** Makes device {@code ordinal}'s primary context current on the calling thread and returns it. */
    public static CudaContext makeCurrent(int ordinal) {
        return of(ordinal).makeCurrent();
    }

    /** Makes this context current on the calling thread (a no-op when it already is). */
    public CudaContext makeCurrent() {
        if (driver.currentContext() != raw) {
            CudaException.check(driver.setCurrentContext(raw), "cuCtxSetCurrent(cuda:" + device.ordinal() + ")");
        }
        return this;
    }

    /** The device ordinal. */
    public int ordinal() {
        return device.ordinal();
    }

    /** The device's properties. */
    public CudaDevice device() {
        return device;
    }

    /** The JCuda handle, for code that calls JCuda directly. */
    public CUcontext handle() {
        return handle;
    }

    /** The raw {@code CUcontext}. */
    public long rawHandle() {
        return raw;
    }

    /** Waits for all work on the device to finish ({@code cuCtxSynchronize}); surfaces asynchronous errors. */
    public void synchronize() {
        makeCurrent();
        CudaException.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize on cuda:" + ordinal());
    }

    /** Free device memory in bytes ({@code cuMemGetInfo}). */
    public long freeMemoryBytes() {
        makeCurrent();
        long[] free = new long[1];
        long[] total = new long[1];
        CudaException.check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo on cuda:" + ordinal());
        return free[0];
    }

    @Override
    public String toString() {
        return "CudaContext(" + device + ")";
    }
}
