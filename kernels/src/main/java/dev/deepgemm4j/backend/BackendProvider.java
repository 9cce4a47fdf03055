package dev.deepgemm4j.backend;

/**
 * Discovered with {@link java.util.ServiceLoader}: a backend for device memory (the CUDA runtime registers one).
 * Internal extension point.
 */
public interface BackendProvider {

    /**
     * The backend, or {@code null} when it cannot run here (no driver, no device, no NVRTC); then
     * {@link #unavailableReason()} says why.
     */
    Backend create();

    /** Why {@link #create()} returned null, for the one log line that reports the fallback to the CPU. */
    String unavailableReason();
}
