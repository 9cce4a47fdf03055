package dev.deepgemm4j.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/** A CUDA event with timing, for measuring and ordering work on streams. */
public final class CudaEvent implements AutoCloseable {

    private final CudaContext context;
    private final CUevent handle = new CUevent();
    private boolean closed;

    private CudaEvent(CudaContext context) {
        this.context = context;
    }

    /** A new timing event on {@code context}'s device. */
    public static CudaEvent create(CudaContext context) {
        context.makeCurrent();
        CudaEvent e = new CudaEvent(context);
        CudaException.check(JCudaDriver.cuEventCreate(e.handle, 0), "cuEventCreate on cuda:" + context.ordinal());
        return e;
    }

    /** A new timing event on device {@code ordinal}. */
    public static CudaEvent create(int ordinal) {
        return create(CudaContext.of(ordinal));
    }

    /** Records the event at the current end of {@code stream}'s work. */
    public CudaEvent record(CudaStream stream) {
        checkOpen();
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuEventRecord(handle, stream.handle()), "cuEventRecord");
        return this;
    }

    /** Blocks until the work before the last {@link #record} has completed. */
    public void synchronize() {
        checkOpen();
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");
    }

    /** Whether the work before the last {@link #record} has completed, without blocking. */
    public boolean isComplete() {
        checkOpen();
        context.makeCurrent();
        int r = JCudaDriver.cuEventQuery(handle);
        if (r == CudaException.NOT_READY) {
            return false;
        }
        CudaException.check(r, "cuEventQuery");
        return true;
    }

    /** Milliseconds between {@code start} and {@code end} (both recorded and completed; resolution about 0.5 µs). */
    public static float elapsedMillis(CudaEvent start, CudaEvent end) {
        start.checkOpen();
        end.checkOpen();
        end.context.makeCurrent();
        float[] ms = new float[1];
        CudaException.check(JCudaDriver.cuEventElapsedTime(ms, start.handle, end.handle), "cuEventElapsedTime");
        return ms[0];
    }

    /** The JCuda handle. */
    public CUevent handle() {
        checkOpen();
        return handle;
    }

    /** Destroys the event (idempotent). */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            CudaException.check(JCudaDriver.cuEventDestroy(handle), "cuEventDestroy");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("event is closed");
        }
    }
}
