package dev.deepgemm4j.cuda;

/**
 * CUDA work was requested where CUDA cannot run (no driver, no device, JCuda's native library missing); the message
 * carries the probe's reason.
 */
public final class CudaUnavailableException extends IllegalStateException {

    CudaUnavailableException(String reason) {
        super("CUDA is unavailable: " + reason);
    }
}
