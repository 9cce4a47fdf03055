package dev.deepgemm4j.gpu;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.BackendProvider;
import dev.deepgemm4j.cuda.CudaRuntime;

/**
 * Registers the {@link CudaBackend} with {@code Backends} (through {@code META-INF/services}). The backend runs when
 * the CUDA driver reports a device and the JIT has a compiler (NVRTC, or NVCC as its fallback); otherwise
 * {@link #create()} returns null and {@link #unavailableReason()} says which of the two is missing.
 */
public final class CudaBackendProvider implements BackendProvider {

    /** Tests against the fake driver substitute the JIT before the backend is first created. */
    static volatile KernelBinaries binariesForTesting;
    private static volatile String lastReason;

    private String reason;

    @Override
    public Backend create() {
        if (!CudaRuntime.isAvailable()) {
            return unavailable("CUDA is unavailable: " + CudaRuntime.unavailableReason());
        }
        KernelBinaries binaries = binariesForTesting;
        if (binaries == null) {
            try {
                binaries = KernelBinaries.jit();
            } catch (RuntimeException | LinkageError e) {
                return unavailable("no CUDA compiler for the JIT: " + e.getMessage());
            }
        }
        reason = null;
        return new CudaBackend(binaries);
    }

    @Override
    public String unavailableReason() {
        return reason;
    }

    /** Why the last {@link #create()} in this process found no GPU backend, or null if it found one (or never ran). */
    public static String lastUnavailableReason() {
        return lastReason;
    }

    private Backend unavailable(String why) {
        reason = why;
        lastReason = why;
        return null;
    }
}
