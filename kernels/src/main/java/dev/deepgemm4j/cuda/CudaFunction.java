package dev.deepgemm4j.cuda;

import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.JCudaDriver;

/** A kernel of a loaded {@link CudaModule}; launch it with {@link KernelLauncher}. */
public final class CudaFunction {

    /** Dynamic shared memory a kernel may use without opting in. */
    public static final int DEFAULT_DYNAMIC_SMEM_LIMIT = 48 * 1024;

    private final CudaModule module;
    private final String name;
    private final JCudaHandles.Function handle;
    private final long raw;
    private volatile int dynamicSmemLimit = DEFAULT_DYNAMIC_SMEM_LIMIT;

    CudaFunction(CudaModule module, String name, JCudaHandles.Function handle) {
        this.module = module;
        this.name = name;
        this.handle = handle;
        this.raw = handle.raw();
    }

    /** The kernel's name. */
    public String name() {
        return name;
    }

    /** The module it belongs to. */
    public CudaModule module() {
        return module;
    }

    /** The JCuda handle. */
    public CUfunction handle() {
        return handle;
    }

    /** The raw {@code CUfunction}. */
    public long rawHandle() {
        module.checkOpen();
        return raw;
    }

    /**
     * Lets launches use {@code bytes} of dynamic shared memory: above 48 KB the kernel must opt in with
     * {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}, else the launch fails with
     * {@code CUDA_ERROR_INVALID_VALUE}. Sets the attribute only when {@code bytes} exceeds what was set before.
     */
    public void ensureDynamicSharedMemory(int bytes) {
        if (bytes <= dynamicSmemLimit) {
            return;
        }
        synchronized (this) {
            if (bytes > dynamicSmemLimit) {
                module.context().makeCurrent();
                CudaException.check(JCudaDriver.cuFuncSetAttribute(handle,
                        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                        "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES=" + bytes + ")");
                dynamicSmemLimit = bytes;
            }
        }
    }

    /** Registers per thread ({@code CU_FUNC_ATTRIBUTE_NUM_REGS}). */
    public int numRegisters() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS);
    }

    /** Local memory per thread in bytes; above 0 means spills or a stack array ({@code LOCAL_SIZE_BYTES}). */
    public int localMemoryBytes() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
    }

    /** The largest block this kernel can launch with ({@code MAX_THREADS_PER_BLOCK}). */
    public int maxThreadsPerBlock() {
        return attribute(CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
    }

    /** Any {@code CUfunction_attribute}. */
    public int attribute(int attribute) {
        module.checkOpen();
        module.context().makeCurrent();
        int[] v = new int[1];
        CudaException.check(JCudaDriver.cuFuncGetAttribute(v, attribute, handle), "cuFuncGetAttribute(" + name
                + ", " + CUfunction_attribute.stringFor(attribute) + ")");
        return v[0];
    }

    @Override
    public String toString() {
        return "CudaFunction(" + name + ", cuda:" + module.context().ordinal() + ")";
    }
}
