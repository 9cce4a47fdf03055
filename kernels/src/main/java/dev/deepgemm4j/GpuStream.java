package dev.deepgemm4j;

import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.gpu.CurrentStream;
import java.util.Objects;
import jcuda.driver.CUstream;

/**
 * A CUDA stream: the queue GPU operations go to, in order. Each thread has a current stream per device: the stream
 * made current with {@link #use}, or else the device's <b>legacy default stream</b> (the NULL stream, which is also
 * PyTorch's default stream and JCuda's {@code null} stream, so work queued there by other libraries is ordered with
 * ours). Operations on device tensors go to the current stream of the tensors' device.
 *
 * <pre>{@code
 * try (GpuStream s = GpuStream.create(); GpuStream.Scope scope = GpuStream.use(s)) {
 *     DeepGemm.fp8GemmNt(a, b, d);   // queued on s
 * }
 * }</pre>
 *
 * <p>Memory allocated by an operation is stream-ordered on the stream current at that moment; a tensor made on one
 * stream and used on another needs ordering between the two ({@link #synchronize()}).
 */
public final class GpuStream implements AutoCloseable {

    private final CudaStream stream;
    private final long raw;

    private GpuStream(CudaStream stream) {
        this.stream = stream;
        this.raw = stream.rawHandle();
    }

    /** A new stream on GPU 0; {@link #close()} destroys it. */
    public static GpuStream create() {
        return create(0);
    }

    /** A new stream on GPU {@code device} (non-blocking with respect to the legacy default stream). */
    public static GpuStream create(int device) {
        return new GpuStream(CudaStream.create(device));
    }

    /** A stream of GPU 0 that the caller owns, e.g. from JCuda's {@code cuStreamCreate}; never destroyed here. */
    public static GpuStream wrap(CUstream stream) {
        return wrap(stream, 0);
    }

    /** A stream of GPU {@code device} that the caller owns; never destroyed here. */
    public static GpuStream wrap(CUstream stream, int device) {
        return new GpuStream(CudaStream.wrap(device, Objects.requireNonNull(stream, "stream")));
    }

    /** The calling thread's current stream of GPU 0. */
    public static GpuStream current() {
        return current(0);
    }

    /** The calling thread's current stream of GPU {@code device}. */
    public static GpuStream current(int device) {
        return new GpuStream(CurrentStream.of(device));
    }

    /**
     * Makes {@code stream} the calling thread's current stream (for its GPU) until the returned scope is closed,
     * which restores the previous one. Scopes nest; close them on the thread that opened them, innermost first.
     */
    public static Scope use(GpuStream stream) {
        Objects.requireNonNull(stream, "stream");
        if (stream.stream.isClosed()) {
            throw new IllegalStateException("stream is closed");
        }
        return new Scope(CurrentStream.swap(stream.stream));
    }

    /** The GPU this stream belongs to. */
    public int device() {
        return stream.ordinal();
    }

    /** Whether this is the legacy default (NULL) stream. Streams are equal when they are the same CUDA stream. */
    public boolean isDefault() {
        return raw == 0;
    }

    /** The JCuda handle, for code that queues its own work on this stream. */
    public CUstream handle() {
        return stream.handle();
    }

    /** The raw {@code CUstream} / {@code cudaStream_t} value (0 for the legacy default stream). */
    public long rawHandle() {
        return raw;
    }

    /** Blocks until all work queued on this stream is done; surfaces asynchronous errors. */
    public void synchronize() {
        stream.synchronize();
    }

    /** Destroys the stream if {@link #create} made it (work already queued still completes); idempotent. */
    @Override
    public void close() {
        stream.close();
    }

    CudaStream cudaStream() {
        return stream;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GpuStream other && other.device() == device() && other.raw == raw;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(raw) * 31 + device();
    }

    @Override
    public String toString() {
        return "GpuStream(cuda:" + device() + (isDefault() ? ", default" : ", 0x" + Long.toHexString(rawHandle()))
                + ")";
    }

    /** The span during which a stream is the thread's current one; closing it restores the previous stream. */
    public static final class Scope implements AutoCloseable {

        private final CudaStream previous;
        private boolean closed;

        private Scope(CudaStream previous) {
            this.previous = previous;
        }

        /** Restores the stream that was current before (idempotent). */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                CurrentStream.swap(previous);
            }
        }
    }
}
