package dev.deepgemm4j.gpu;

import dev.deepgemm4j.cuda.CudaRuntime;
import dev.deepgemm4j.cuda.CudaStream;

/**
 * The stream device work is queued on: the calling thread's current stream (set by
 * {@code GpuStream.use}) when it belongs to the device in question, else that device's legacy default stream (the
 * NULL stream, as PyTorch's default stream), which orders our work with everything other code queues on it.
 * Internal: the public API is {@code dev.deepgemm4j.GpuStream}.
 */
public final class CurrentStream {

    private static final ThreadLocal<CudaStream> CURRENT = new ThreadLocal<>();

    private CurrentStream() {
    }

    /** The stream work on device {@code ordinal} goes to from this thread. */
    public static CudaStream of(int ordinal) {
        CudaStream s = CURRENT.get();
        return s != null && s.ordinal() == ordinal && !s.isClosed() ? s : defaultStream(ordinal);
    }

    /** The thread's current stream, or device 0's default stream when none is set. */
    public static CudaStream get() {
        CudaStream s = CURRENT.get();
        return s != null && !s.isClosed() ? s : defaultStream(0);
    }

    /** Makes {@code stream} (null: none) the thread's current stream and returns the one it replaces. */
    public static CudaStream swap(CudaStream stream) {
        CudaStream previous = CURRENT.get();
        if (stream == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(stream);
        }
        return previous;
    }

    /** The legacy default stream of device {@code ordinal}. */
    public static CudaStream defaultStream(int ordinal) {
        CudaStream[] all = Defaults.STREAMS;
        if (ordinal < 0 || ordinal >= all.length) {
            throw new IllegalArgumentException("no CUDA device " + ordinal + " (" + all.length + " present)");
        }
        CudaStream s = all[ordinal];
        if (s == null) {
            synchronized (all) {
                if (all[ordinal] == null) {
                    all[ordinal] = CudaStream.defaultStream(ordinal);
                }
                s = all[ordinal];
            }
        }
        return s;
    }

    /** One slot per device, created once CUDA is known to run. */
    private static final class Defaults {
        static final CudaStream[] STREAMS = new CudaStream[CudaRuntime.deviceCount()];
    }
}
