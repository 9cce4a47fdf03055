package dev.deepgemm4j.cuda;

/** A device allocation failed with {@code CUDA_ERROR_OUT_OF_MEMORY}; nothing was allocated. */
public final class CudaOutOfMemoryException extends CudaException {

    private final long requestedBytes;

    CudaOutOfMemoryException(String operation, long requestedBytes) {
        super(operation, OUT_OF_MEMORY);
        this.requestedBytes = requestedBytes;
    }

    /** The size of the allocation that failed. */
    public long requestedBytes() {
        return requestedBytes;
    }
}
