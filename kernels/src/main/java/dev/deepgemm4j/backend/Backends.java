package dev.deepgemm4j.backend;

import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cpu.CpuBackend;
import java.util.ServiceLoader;
import java.util.logging.Logger;

/**
 * Chooses the backend for a call from where its tensors live: host tensors run on the CPU reference, device tensors
 * on the device backend. Internal.
 */
public final class Backends {

    private static final Logger LOG = Logger.getLogger(Backends.class.getName());
    private static final Backend CPU = new CpuBackend();
    private static volatile Backend device;
    private static volatile boolean probed;

    private Backends() {
    }

    /** The CPU reference backend. */
    public static Backend cpu() {
        return CPU;
    }

    /**
     * The device backend, or null when none can run here (logged once, with the reason).
     */
    public static Backend device() {
        if (!probed) {
            synchronized (Backends.class) {
                if (!probed) {
                    device = probeDevice();
                    probed = true;
                }
            }
        }
        return device;
    }

    /** The device backend when one runs here, else the CPU backend: what "the best available backend" means. */
    public static Backend best() {
        Backend d = device();
        return d != null ? d : CPU;
    }

    private static Backend probeDevice() {
        StringBuilder reasons = new StringBuilder();
        for (BackendProvider provider : ServiceLoader.load(BackendProvider.class)) {
            try {
                Backend b = provider.create();
                if (b != null) {
                    LOG.info("deepgemm4j: using device backend " + b.name());
                    return b;
                }
                reasons.append(provider.unavailableReason());
            } catch (RuntimeException | LinkageError e) {
                reasons.append(provider.getClass().getSimpleName()).append(" failed: ").append(e);
            }
        }
        LOG.info("deepgemm4j: no GPU backend (" + (reasons.isEmpty() ? "no device backend on the classpath" : reasons)
                + "); device tensors are unavailable, host tensors run on the CPU reference backend");
        return null;
    }

    /**
     * The backend for tensors at {@code location}.
     *
     * @throws DeepGemmArgumentException if the location is a device but no device backend runs here
     */
    public static Backend forLocation(String arg, Location location) {
        if (location.isHost()) {
            return CPU;
        }
        Backend d = device();
        if (d == null || !d.supports(location)) {
            throw new DeepGemmArgumentException(arg, "is on " + location + " but no GPU backend runs there");
        }
        return d;
    }

    /** The backend for the first non-null tensor (the caller has checked they share one location). */
    public static Backend forTensor(String arg, Tensor t) {
        return forLocation(arg, t.location());
    }
}
