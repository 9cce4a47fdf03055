package dev.deepgemm4j;

import dev.deepgemm4j.cuda.CudaEvent;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.gpu.CurrentStream;

/**
 * Times GPU work with CUDA events: {@link #start()} marks the current stream, {@link #stopMillis()} marks it again,
 * waits for the work in between and returns the GPU time it took (about 0.5 µs resolution). Reusable; one timer per
 * thread.
 *
 * <pre>{@code
 * try (GpuTimer timer = new GpuTimer()) {
 *     timer.start();
 *     DeepGemm.fp8GemmNt(a, b, d);
 *     double ms = timer.stopMillis();
 * }
 * }</pre>
 */
public final class GpuTimer implements AutoCloseable {

    private final CudaEvent begin;
    private final CudaEvent end;
    private final int device;
    private CudaStream stream;

    /** A timer for the GPU of the calling thread's current stream (GPU 0 unless a stream of another is in use). */
    public GpuTimer() {
        device = CurrentStream.get().ordinal();
        begin = CudaEvent.create(device);
        end = CudaEvent.create(device);
    }

    /** Records the start on the current stream of the timer's GPU; returns this timer. */
    public GpuTimer start() {
        stream = CurrentStream.of(device);
        begin.record(stream);
        return this;
    }

    /**
     * Records the end on the stream {@link #start()} used, waits for it and returns the milliseconds between the
     * two marks.
     *
     * @throws IllegalStateException if the timer was not started
     */
    public double stopMillis() {
        if (stream == null) {
            throw new IllegalStateException("start() was not called");
        }
        end.record(stream);
        end.synchronize();
        stream = null;
        return CudaEvent.elapsedMillis(begin, end);
    }

    /** Destroys the events (idempotent). */
    @Override
    public void close() {
        begin.close();
        end.close();
    }
}
