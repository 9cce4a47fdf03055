package dev.deepgemm4j.cuda;

import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA stream of one device: either created (and destroyed on {@link #close()}) by the runtime, or a wrapper of a
 * stream someone else owns (a JCuda {@link CUstream}, or a raw handle from PyTorch), which {@link #close()} leaves
 * alone.
 */
public final class CudaStream implements AutoCloseable {

    /** {@code CU_STREAM_NON_BLOCKING}: created streams do not serialise with the legacy default stream. */
    private static final int NON_BLOCKING = 1;
    /** {@code CU_STREAM_CAPTURE_STATUS_ACTIVE}. */
    private static final int CAPTURE_ACTIVE = 1;

    private final CudaContext context;
    private final CUstream handle;
    private final long raw;
    private final boolean owned;
    private volatile boolean closed;

    private CudaStream(CudaContext context, CUstream handle, long raw, boolean owned) {
        this.context = context;
        this.handle = handle;
        this.raw = raw;
        this.owned = owned;
    }

    /** A new non-blocking stream on {@code context}'s device. */
    public static CudaStream create(CudaContext context) {
        context.makeCurrent();
        JCudaHandles.Stream s = new JCudaHandles.Stream();
        CudaException.check(JCudaDriver.cuStreamCreate(s, NON_BLOCKING), "cuStreamCreate on cuda:" + context.ordinal());
        return new CudaStream(context, s, s.raw(), true);
    }

    /** A new non-blocking stream on device {@code ordinal}. */
    public static CudaStream create(int ordinal) {
        return create(CudaContext.of(ordinal));
    }

    /** Wraps a JCuda stream of device {@code ordinal} that the caller owns (not destroyed on close). */
    public static CudaStream wrap(int ordinal, CUstream stream) {
        java.util.Objects.requireNonNull(stream, "stream");
        return new CudaStream(CudaContext.of(ordinal), stream, JCudaHandles.raw(stream), false);
    }

    /** Wraps a raw {@code CUstream}/{@code cudaStream_t} handle of device {@code ordinal} (not destroyed on close). */
    public static CudaStream wrapRaw(int ordinal, long handle) {
        return new CudaStream(CudaContext.of(ordinal), JCudaHandles.stream(handle), handle, false);
    }

    /** The legacy default (NULL) stream of device {@code ordinal}. */
    public static CudaStream defaultStream(int ordinal) {
        return new CudaStream(CudaContext.of(ordinal), new CUstream(), 0L, false);
    }

    /** The device's context. */
    public CudaContext context() {
        return context;
    }

    /** The device ordinal. */
    public int ordinal() {
        return context.ordinal();
    }

    /** The JCuda handle, for code that calls JCuda directly. */
    public CUstream handle() {
        checkOpen();
        return handle;
    }

    /** The raw {@code CUstream} (0 for the legacy default stream). */
    public long rawHandle() {
        checkOpen();
        return raw;
    }

    /** Whether this object destroys the stream on close. */
    public boolean ownsStream() {
        return owned;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Blocks until all work queued on the stream has finished; surfaces asynchronous errors. */
    public void synchronize() {
        checkOpen();
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuStreamSynchronize(handle), "cuStreamSynchronize on cuda:" + ordinal());
    }

    /** Makes later work on this stream wait until {@code event} (recorded on any stream) has completed. */
    public void waitFor(CudaEvent event) {
        checkOpen();
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuStreamWaitEvent(handle, event.handle(), 0), "cuStreamWaitEvent");
    }

    /** Whether the stream is being captured into a graph. */
    public boolean isCapturing() {
        checkOpen();
        context.makeCurrent();
        int[] status = new int[1];
        CudaException.check(JCudaDriver.cuStreamIsCapturing(handle, status), "cuStreamIsCapturing");
        return status[0] == CAPTURE_ACTIVE;
    }

    /** Destroys the stream if this object created it (idempotent); queued work still completes. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owned) {
            context.makeCurrent();
            CudaException.check(JCudaDriver.cuStreamDestroy(handle), "cuStreamDestroy on cuda:" + ordinal());
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("stream is closed");
        }
    }

    @Override
    public String toString() {
        return "CudaStream(cuda:" + ordinal() + ", 0x" + Long.toHexString(raw) + (owned ? "" : ", borrowed") + ")";
    }
}
