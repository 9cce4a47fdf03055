package dev.deepgemm4j.djl;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;

/**
 * Moves and copies of tensors between host and device memory with deepgemm4j's public API only. "Consumes" means the
 * argument's storage is freed when a new tensor replaces it (the argument may be a non-owning view, as the MQA
 * operators return, so storages are freed directly rather than through {@link Tensor#close()}).
 */
final class Placement {

    private Placement() {
    }

    /** {@code t} itself when it is at {@code location}; otherwise a copy there, consuming {@code t}. */
    static Tensor moveTo(Tensor t, Location location) {
        if (t.location().equals(location)) {
            return t;
        }
        Tensor moved = t.to(location);
        t.storage().close();
        return moved;
    }

    /** A new contiguous copy of {@code t} at {@code location} that owns its storage; {@code t} is kept. */
    static Tensor copyAt(Tensor t, Location location) {
        if (!t.location().equals(location)) {
            return t.to(location);
        }
        if (location.isHost()) {
            return t.contiguousCopy();
        }
        // The public API copies between host and device only.
        try (Tensor host = t.toHost()) {
            return host.to(location);
        }
    }

    /**
     * {@code t} itself when it is contiguous in host memory, else a contiguous host copy (which the caller closes
     * when it is not {@code t}).
     */
    static Tensor hostContiguous(Tensor t) {
        if (!t.location().isHost()) {
            return t.toHost();
        }
        return t.isContiguous() ? t : t.contiguousCopy();
    }

    /** The values of {@code t} in row-major order, wherever it lives. */
    static float[] hostFloats(Tensor t) {
        if (t.location().isHost()) {
            return t.toFloatArray();
        }
        try (Tensor host = t.toHost()) {
            return host.toFloatArray();
        }
    }

    /**
     * {@code t} itself unless it is BF16; then an exact FP32 copy at the same location, consuming {@code t}. DJL
     * arrays of this engine are never BF16: DJL's PyTorch engine cannot take BFLOAT16 buffers, so such an array
     * could not fall back.
     */
    static Tensor widenBf16(Tensor t) {
        if (t.dtype() != DType.BF16) {
            return t;
        }
        Tensor wide = Tensor.ofFloats(hostFloats(t), t.shape());
        t.storage().close();
        return moveTo(wide, t.location());
    }
}
