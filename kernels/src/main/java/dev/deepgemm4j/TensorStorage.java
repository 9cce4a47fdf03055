package dev.deepgemm4j;

import java.lang.foreign.MemorySegment;

/**
 * A block of memory that tensors view. Host storage is a {@link MemorySegment}; device storage (supplied
 * by the CUDA runtime) exposes its raw device address.
 *
 * <p>Closing storage frees its memory; tensors that view it must not be used afterwards.
 */
public interface TensorStorage extends AutoCloseable {

    /** Where the memory lives. */
    Location location();

    /** Size in bytes. */
    long byteSize();

    /**
     * The raw address of the first byte: a host address for host storage, a device address for device storage.
     */
    long address();

    /**
     * The host memory segment.
     *
     * @throws UnsupportedOperationException if the storage is not in host memory
     */
    MemorySegment hostSegment();

    /** Whether {@link #close()} has been called. */
    boolean isClosed();

    /** Frees the memory (idempotent). */
    @Override
    void close();
}
