package dev.deepgemm4j.cuda;

import jcuda.driver.CUresult;

/**
 * A CUDA driver call returned an error. The message names the call, what it was asked to do and the driver's error
 * name and code, e.g. {@code cuMemcpyHtoD(4096 B) on cuda:0 failed: CUDA_ERROR_INVALID_VALUE (1)}.
 */
public class CudaException extends RuntimeException {

    /** {@code CUDA_SUCCESS}. */
    static final int SUCCESS = 0;
    /** {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    static final int OUT_OF_MEMORY = 2;
    /** {@code CUDA_ERROR_NOT_READY}. */
    static final int NOT_READY = 600;

    private final String operation;
    private final int result;

    /**
     * @param operation the driver call and its subject, e.g. {@code "cuMemAlloc(4096 B) on cuda:0"}
     * @param result the {@code CUresult} code
     */
    public CudaException(String operation, int result) {
        super(operation + " failed: " + resultName(result) + " (" + result + ")");
        this.operation = operation;
        this.result = result;
    }

    /** The driver call and its subject. */
    public String operation() {
        return operation;
    }

    /** The {@code CUresult} code. */
    public int result() {
        return result;
    }

    /** The symbolic name of a {@code CUresult} code, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public static String resultName(int result) {
        return CUresult.stringFor(result);
    }

    /** Throws a {@link CudaException} unless {@code result} is {@code CUDA_SUCCESS}. */
    static void check(int result, String operation) {
        if (result != SUCCESS) {
            throw new CudaException(operation, result);
        }
    }
}
