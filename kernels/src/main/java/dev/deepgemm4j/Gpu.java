package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.cuda.CudaDevice;
import dev.deepgemm4j.cuda.CudaGraph;
import dev.deepgemm4j.cuda.CudaRuntime;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.gpu.CudaBackend;
import dev.deepgemm4j.gpu.CudaBackendProvider;
import dev.deepgemm4j.gpu.CurrentStream;
import java.util.Objects;
import jcuda.driver.CUdeviceptr;

/**
 * The GPUs deepgemm4j computes on, and what goes with running work there.
 *
 * <p><b>Execution model.</b> Operations on device tensors ({@link Location#cuda(int)}) are asynchronous, as in
 * DeepGEMM: each queues its kernels on the calling thread's current stream of the tensors' device
 * ({@link GpuStream#current(int)}: the stream made current with {@link GpuStream#use}, else the device's legacy
 * default stream) and returns. Copies into host memory ({@link Tensor#toHost()}, {@link Tensor#to}) wait for that
 * stream, so their result is complete; {@link #synchronize()} waits for everything. Device tensors are allocated
 * (zero-filled) stream-ordered on the current stream: using one on another stream needs the usual ordering
 * (synchronize, or let the other stream wait for this one).
 *
 * <p>Any thread may call in, each with its own tensors; the library makes the device's context current on the
 * calling thread as needed. Kernels are compiled (NVRTC, cached on disk) and loaded on first use, once per process.
 */
public final class Gpu {

    private Gpu() {
    }

    /** Whether device tensors can be computed on here: a CUDA driver with a device, and a CUDA compiler for the JIT. */
    public static boolean isAvailable() {
        return Backends.device() instanceof CudaBackend;
    }

    /** Why no GPU can be used here (no driver, no device, no NVRTC, …), or null when one can. */
    public static String unavailableReason() {
        if (isAvailable()) {
            return null;
        }
        String reason = CudaBackendProvider.lastUnavailableReason();
        return reason != null ? reason : "no GPU backend runs here (see the deepgemm4j log line)";
    }

    /** Number of usable GPUs (0 when {@link #isAvailable()} is false). */
    public static int deviceCount() {
        return isAvailable() ? CudaRuntime.deviceCount() : 0;
    }

    /** Name of GPU {@code device}, e.g. "NVIDIA H100 80GB HBM3". */
    public static String deviceName(int device) {
        return info(device).name();
    }

    /** Streaming multiprocessors of GPU {@code device}. */
    public static int smCount(int device) {
        return info(device).smCount();
    }

    /** Waits until all work queued on every GPU the library has used is done; surfaces asynchronous errors. */
    public static void synchronize() {
        backend().synchronize();
    }

    /**
     * Queues, on the current stream, a write of a scratch buffer of at least 256 MB (several times any L2 cache), so
     * that the next kernel starts with a cold L2: what a benchmark does between timed calls.
     */
    public static void flushL2() {
        backend().flushL2();
    }

    /**
     * A tensor over device memory someone else allocated (a JCuda {@code cuMemAlloc}, PyTorch's storage): the
     * caller keeps ownership, and closing the tensor frees nothing (it only stops the tensor from handing out the
     * address).
     *
     * @param pointer start of the memory
     * @param bytes size of the memory; the view must fit inside it
     * @param device the GPU the memory belongs to
     * @throws IllegalStateException if no GPU is usable
     * @throws IllegalArgumentException if the view reaches outside the memory
     */
    public static Tensor wrap(CUdeviceptr pointer, long bytes, DType dtype, long[] shape, long[] strides,
            int device) {
        Objects.requireNonNull(pointer, "pointer");
        info(device);
        return Tensor.wrap(DeviceMemory.wrap(device, pointer, bytes), dtype, shape, strides, 0, true);
    }

    /**
     * Captures the GPU work {@code work} queues into a CUDA graph, to be replayed with one call
     * ({@link GpuGraph#replay()}). Nothing runs during the capture: the graph records the kernels with their
     * arguments (tensor addresses and shapes), while the contents of device tensors are read at each replay; so a
     * masked grouped GEMM replays with whatever {@code masked_m} holds then.
     *
     * <p>The capture runs on the calling thread's current stream when that is a created or wrapped stream (set with
     * {@link GpuStream#use}); otherwise on a temporary stream of the same GPU (GPU 0 when none is set), made current
     * while {@code work} runs. Run the work once before capturing it, so that its kernels are compiled and loaded;
     * inside {@code work}, do not copy to or from host memory or synchronize, and pass preallocated outputs.
     *
     * @throws RuntimeException whatever {@code work} throws, after the capture was discarded
     */
    public static GpuGraph capture(Runnable work) {
        Objects.requireNonNull(work, "work");
        backend();
        CudaStream current = CurrentStream.get();
        boolean temporary = current.rawHandle() == 0;
        CudaStream stream = temporary ? CudaStream.create(current.ordinal()) : current;
        CudaStream previous = CurrentStream.swap(stream);
        try {
            return new GpuGraph(CudaGraph.capture(stream, work), stream.ordinal());
        } finally {
            CurrentStream.swap(previous);
            if (temporary) {
                stream.close();
            }
        }
    }

    private static CudaDevice info(int device) {
        backend();
        return CudaRuntime.device(device);
    }

    private static CudaBackend backend() {
        Backend b = Backends.device();
        if (b instanceof CudaBackend cuda) {
            return cuda;
        }
        throw new IllegalStateException("no GPU is usable: " + unavailableReason());
    }
}
