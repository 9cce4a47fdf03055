package dev.deepgemm4j.cuda;

import dev.deepgemm4j.Location;
import dev.deepgemm4j.TensorStorage;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * Global memory of one device, as {@link TensorStorage} for device tensors. Owned memory comes from
 * {@code cuMemAlloc} or, stream-ordered, from {@code cuMemAllocAsync} and is freed by {@link #close()} (or, as a safety
 * net, when it becomes unreachable); wrapped memory ({@link #wrap}) belongs to the caller and is never freed here.
 *
 * <p>A failed allocation throws {@link CudaOutOfMemoryException} (or {@link CudaException}) and leaves nothing
 * allocated. A zero-byte allocation holds no memory and has address 0.
 */
public final class DeviceMemory implements TensorStorage {

    private static final Logger LOG = Logger.getLogger(DeviceMemory.class.getName());
    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaContext context;
    private final long address;
    private final long byteSize;
    private final Cleaner.Cleanable release;
    private volatile boolean closed;

    private DeviceMemory(CudaContext context, long address, long byteSize, Release release) {
        this.context = context;
        this.address = address;
        this.byteSize = byteSize;
        this.release = release == null ? null : CLEANER.register(this, release);
    }

    /** {@code bytes} of device memory on {@code context}'s device ({@code cuMemAlloc}). */
    public static DeviceMemory allocate(CudaContext context, long bytes) {
        checkSize(bytes);
        if (bytes == 0) {
            return new DeviceMemory(context, 0, 0, null);
        }
        context.makeCurrent();
        JCudaHandles.DevicePointer p = new JCudaHandles.DevicePointer();
        checkAlloc(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc", bytes, context);
        return new DeviceMemory(context, p.address(), bytes, new Release(context, p.address(), null));
    }

    /** {@code bytes} of device memory on device {@code ordinal} ({@code cuMemAlloc}). */
    public static DeviceMemory allocate(int ordinal, long bytes) {
        return allocate(CudaContext.of(ordinal), bytes);
    }

    /**
     * {@code bytes} of stream-ordered memory ({@code cuMemAllocAsync}): usable by work queued on {@code stream} after
     * this call, and freed on {@code stream} ({@code cuMemFreeAsync}) by {@link #close()}, or synchronously if the
     * stream was closed first. Legal inside a graph capture of {@code stream}.
     */
    public static DeviceMemory allocateAsync(CudaStream stream, long bytes) {
        checkSize(bytes);
        CudaContext context = stream.context();
        if (bytes == 0) {
            return new DeviceMemory(context, 0, 0, null);
        }
        context.makeCurrent();
        JCudaHandles.DevicePointer p = new JCudaHandles.DevicePointer();
        checkAlloc(JCudaDriver.cuMemAllocAsync(p, bytes, stream.handle()), "cuMemAllocAsync", bytes, context);
        return new DeviceMemory(context, p.address(), bytes, new Release(context, p.address(), stream));
    }

    /** Wraps {@code bytes} of device memory at {@code pointer} that the caller owns (a JCuda allocation). */
    public static DeviceMemory wrap(int ordinal, CUdeviceptr pointer, long bytes) {
        Objects.requireNonNull(pointer, "pointer");
        return wrap(ordinal, JCudaHandles.address(pointer), bytes);
    }

    /** Wraps {@code bytes} of device memory at raw device address {@code address} that the caller owns. */
    public static DeviceMemory wrap(int ordinal, long address, long bytes) {
        checkSize(bytes);
        if (address == 0 && bytes > 0) {
            throw new IllegalArgumentException("address must not be 0 for " + bytes + " bytes");
        }
        return new DeviceMemory(CudaContext.of(ordinal), address, bytes, null);
    }

    private static void checkSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
    }

    private static void checkAlloc(int result, String call, long bytes, CudaContext context) {
        String operation = call + "(" + bytes + " B) on cuda:" + context.ordinal();
        if (result == CudaException.OUT_OF_MEMORY) {
            throw new CudaOutOfMemoryException(operation, bytes);
        }
        CudaException.check(result, operation);
    }

    /** The device's context. */
    public CudaContext context() {
        return context;
    }

    /** The device ordinal. */
    public int ordinal() {
        return context.ordinal();
    }

    /** Whether {@link #close()} frees the memory. */
    public boolean ownsMemory() {
        return release != null;
    }

    @Override
    public Location location() {
        return Location.cuda(context.ordinal());
    }

    @Override
    public long byteSize() {
        return byteSize;
    }

    /**
     * The device address of the first byte.
     *
     * @throws IllegalStateException once closed, so that freed memory is never handed to a kernel
     */
    @Override
    public long address() {
        if (closed) {
            throw new IllegalStateException("device memory is closed");
        }
        return address;
    }

    /** A JCuda pointer to byte {@code byteOffset}, for code that calls JCuda directly. */
    public CUdeviceptr pointer(long byteOffset) {
        Objects.checkIndex(byteOffset, Math.max(byteSize, 1));
        return JCudaHandles.devicePointer(address() + byteOffset);
    }

    /** Device memory has no host segment. */
    @Override
    public MemorySegment hostSegment() {
        throw new UnsupportedOperationException("storage is on " + location() + ", not in host memory");
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Frees owned memory (idempotent); a wrapper only stops handing out the address. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (release != null) {
                release.clean();
            }
        }
    }

    @Override
    public String toString() {
        return "DeviceMemory(" + location() + ", 0x" + Long.toHexString(address) + ", " + byteSize + " B"
                + (release == null ? ", borrowed" : "") + ")";
    }

    /** Frees one allocation; runs once, from close() or from the cleaner. Holds no reference to the DeviceMemory. */
    private record Release(CudaContext context, long address, CudaStream stream) implements Runnable {
        @Override
        public void run() {
            try {
                context.makeCurrent();
                CUdeviceptr p = JCudaHandles.devicePointer(address);
                int r = stream != null && !stream.isClosed()
                        ? JCudaDriver.cuMemFreeAsync(p, stream.handle())
                        : JCudaDriver.cuMemFree(p);
                CudaException.check(r, "freeing device memory 0x" + Long.toHexString(address));
            } catch (RuntimeException e) {
                // A sticky context error (e.g. after a faulting kernel) makes every later call fail; the caller
                // sees it at the next synchronisation, so freeing only warns.
                LOG.log(Level.WARNING, "deepgemm4j: could not free device memory", e);
            }
        }
    }
}
