package dev.deepgemm4j.djl;

import ai.djl.ndarray.NDArray;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import java.util.HashMap;
import java.util.Map;

/**
 * The FP8 copies (per 128×128 block; per group for [G, N, K] weights) of one weight parameter, one per location the
 * block computes at. A copy is made when the parameter's array is set (initialize, load) or first used at a location,
 * and kept until the array changes. Its arrays belong to a manager of {@link DeepGemmEngine} owned by the parameter's
 * manager, so closing the model frees them with the weights.
 */
final class QuantizedWeight {

    private NDArray source;
    private final Map<Location, Fp8Operand> copies = new HashMap<>();

    /** The FP8 weight for {@code source} at {@code location}, quantised now if it is not already. */
    synchronized Fp8Tensor at(NDArray source, Location location) {
        if (source != this.source) {
            release();
            this.source = source;
        }
        Fp8Operand copy = copies.get(location);
        if (copy == null || copy.data().isReleased()) {
            DeepGemmNDManager owner = DeepGemmNDManager.ownedBy(source.getManager(),
                    DeepGemmNDManager.deviceOf(location));
            owner.setName("fp8-weights");
            copy = Fp8Ops.perBlockCastToFp8(owner, source, false);
            copies.put(location, copy);
        }
        return new Fp8Tensor(((DeepGemmNDArray) copy.data()).tensor(), ((DeepGemmNDArray) copy.scales()).tensor());
    }

    /** Frees the FP8 copies (with the managers that hold them). */
    synchronized void release() {
        for (Fp8Operand copy : copies.values()) {
            copy.data().getManager().close();
        }
        copies.clear();
        source = null;
    }
}
