package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.KernelSource;
import java.util.Objects;

/**
 * A heuristic's answer: which configuration to compile and how to launch it for one problem.
 *
 * @param <C> the configuration type
 */
public record Launch<C extends KernelConfig>(C config, LaunchGeometry geometry) {

    public Launch {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(geometry, "geometry");
        if (geometry.threads() != config.threads()) {
            throw new IllegalArgumentException("geometry has " + geometry.threads() + " threads, the kernel is built"
                    + " for " + config.threads());
        }
    }

    /** The unit to compile. */
    public KernelSource source() {
        return config.source();
    }
}
