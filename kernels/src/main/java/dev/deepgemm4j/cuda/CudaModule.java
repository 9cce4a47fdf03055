package dev.deepgemm4j.cuda;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * A CUBIN loaded into one device's context ({@code cuModuleLoadData}), with its functions looked up by name and
 * cached. Closing unloads it; its {@link CudaFunction}s must not be launched afterwards.
 */
public final class CudaModule implements AutoCloseable {

    private final CudaContext context;
    private final JCudaHandles.Module handle;
    private final Map<String, CudaFunction> functions = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private CudaModule(CudaContext context, JCudaHandles.Module handle) {
        this.context = context;
        this.handle = handle;
    }

    /** Loads a CUBIN (or fatbin / NUL-terminated PTX) image into {@code context}. */
    public static CudaModule load(CudaContext context, byte[] image) {
        if (image.length == 0) {
            throw new IllegalArgumentException("image is empty");
        }
        context.makeCurrent();
        JCudaHandles.Module m = new JCudaHandles.Module();
        CudaException.check(JCudaDriver.cuModuleLoadData(m, image), "cuModuleLoadData(" + image.length + " B) on cuda:"
                + context.ordinal());
        return new CudaModule(context, m);
    }

    /** Loads a CUBIN image into device {@code ordinal}'s primary context. */
    public static CudaModule load(int ordinal, byte[] image) {
        return load(CudaContext.of(ordinal), image);
    }

    /**
     * The {@code extern "C"} kernel {@code name}.
     *
     * @throws CudaException with {@code CUDA_ERROR_NOT_FOUND} if the module has no such function
     */
    public CudaFunction function(String name) {
        checkOpen();
        return functions.computeIfAbsent(name, n -> {
            context.makeCurrent();
            JCudaHandles.Function f = new JCudaHandles.Function();
            CudaException.check(JCudaDriver.cuModuleGetFunction(f, handle, n), "cuModuleGetFunction(" + n + ")");
            return new CudaFunction(this, n, f);
        });
    }

    /** The device's context. */
    public CudaContext context() {
        return context;
    }

    /** The JCuda handle. */
    public CUmodule handle() {
        checkOpen();
        return handle;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Unloads the module (idempotent). */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            CudaException.check(JCudaDriver.cuModuleUnload(handle), "cuModuleUnload");
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("module is closed");
        }
    }
}
