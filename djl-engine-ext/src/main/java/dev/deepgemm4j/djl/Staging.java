package dev.deepgemm4j.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.TensorStorage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * One call's trip through deepgemm4j: brings NDArray arguments to the location the call computes at (arrays of this
 * engine already there are used in place, any other array is copied once), keeps the temporary tensors, and turns
 * result tensors into arrays of the caller's manager. Closing it frees every temporary, including results that never
 * became arrays because the call failed.
 */
final class Staging implements AutoCloseable {

    private final NDManager resultManager;
    private final Location location;
    /** Storages to free at close, in allocation order. */
    private final List<TensorStorage> temporaries = new ArrayList<>();
    private final Set<TensorStorage> handedOut = Collections.newSetFromMap(new IdentityHashMap<>());

    /**
     * @param resultManager where results go; the call computes at its location when it is of this engine, else at
     *     this engine's default device
     */
    Staging(NDManager resultManager) {
        if (resultManager == null) {
            throw new DeepGemmArgumentException("manager", "must not be null (results are created in it)");
        }
        if (!resultManager.isOpen()) {
            throw new DeepGemmArgumentException("manager", "has been closed");
        }
        this.resultManager = resultManager;
        this.location = DeepGemmNDManager.computeLocation(resultManager);
    }

    /** Where this call computes. */
    Location location() {
        return location;
    }

    /**
     * The array as a tensor of {@code dtype} at {@link #location()}. The array's data type must be the one
     * {@code dtype} travels as in DJL: UINT8 for FP8 and UINT8, FLOAT32 for FP32, INT32 for INT32 and packed UE8M0.
     *
     * @param arg the argument's name, as deepgemm4j names it
     */
    Tensor input(String arg, NDArray array, DType dtype) {
        if (array == null) {
            throw new DeepGemmArgumentException(arg, "must not be null");
        }
        if (array.isReleased()) {
            throw new DeepGemmArgumentException(arg, "array has been closed");
        }
        DataType expected = DeepGemmNDManager.dataTypeOf(dtype);
        if (array.getDataType() != expected) {
            throw new DeepGemmArgumentException(arg, "data type must be " + expected.name() + describe(dtype) + ", got "
                    + array.getDataType().name());
        }
        Tensor t;
        if (array instanceof DeepGemmNDArray ours) {
            t = ours.tensor();
            if (!t.location().equals(location)) {
                t = keep(t.to(location));
            }
        } else {
            DeepGemmEngine.getInstance().countImport();
            t = keep(NDArrayTensors.toTensor(array));
            if (!location.isHost()) {
                t = keep(t.to(location));
            }
        }
        return t.dtype() == dtype ? t : t.reinterpret(dtype);
    }

    private static String describe(DType dtype) {
        return switch (dtype) {
            case FP8_E4M3 -> " (FP8 E4M3 codes)";
            case UE8M0_PACKED -> " (packed UE8M0 scales)";
            default -> "";
        };
    }

    /** An FP8 operand at {@link #location()}: data as E4M3, scales FP32 (FLOAT32) or packed UE8M0 (INT32). */
    Fp8Tensor operand(String arg, String scalesArg, Fp8Operand operand) {
        if (operand == null) {
            throw new DeepGemmArgumentException(arg, "must not be null");
        }
        Tensor data = input(arg, operand.data(), DType.FP8_E4M3);
        NDArray scales = operand.scales();
        DType scaleType = scales != null && scales.getDataType() == DataType.INT32 ? DType.UE8M0_PACKED : DType.FP32;
        return new Fp8Tensor(data, input(scalesArg, scales, scaleType));
    }

    /** A zero-filled tensor at {@link #location()}, freed at close unless it becomes a result. */
    Tensor allocate(DType dtype, long... shape) {
        return keep(Tensor.zeros(location, dtype, shape));
    }

    /** Registers a tensor (or view) whose storage this call allocated, to be freed at close. */
    Tensor keep(Tensor t) {
        temporaries.add(t.storage());
        return t;
    }

    Fp8Tensor keep(Fp8Tensor t) {
        keep(t.data());
        keep(t.scales());
        return t;
    }

    /**
     * The result tensor (kept by this staging, or owning its storage) as an array of the result manager, in place
     * when that manager is of this engine and at this location; BF16 is widened to FLOAT32.
     *
     * @param shape the array's shape, a view of the (contiguous) tensor's elements; none to keep the tensor's shape
     */
    NDArray output(Tensor result, long... shape) {
        TensorStorage original = result.storage();
        Tensor t = Placement.widenBf16(result);
        if (shape.length > 0) {
            t = t.view(shape);
        }
        if (resultManager instanceof DeepGemmNDManager ours) {
            handedOut.add(original);
            return ours.adopt(t);
        }
        try (Tensor host = Placement.hostContiguous(t)) {
            return NDArrayTensors.toNDArray(resultManager, host);
        } finally {
            t.storage().close();
        }
    }

    /** Both halves of an FP8 result. */
    Fp8Operand output(Fp8Tensor result) {
        return new Fp8Operand(output(result.data()), output(result.scales()));
    }

    @Override
    public void close() {
        for (TensorStorage s : temporaries) {
            if (!handedOut.contains(s)) {
                s.close();
            }
        }
    }
}
