package dev.deepgemm4j.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Copies between DJL {@link NDArray}s (any engine) and deepgemm4j host {@link Tensor}s, so DJL users can feed
 * deepgemm4j's FP8 operators and read their results back.
 *
 * <p>DJL has no FP8 data type: FP8 E4M3 values travel as {@link DataType#UINT8} arrays of raw codes, and an
 * {@link Fp8Tensor} as an {@link NDList} of (codes, FP32 scales). DJL exposes no device pointers either, so every
 * conversion is a copy through host memory.
 */
public final class NDArrayTensors {

    private NDArrayTensors() {
    }

    /**
     * A new contiguous host tensor with the array's shape and values.
     *
     * @param array FLOAT32, INT32 or UINT8
     * @throws IllegalArgumentException for any other data type
     */
    public static Tensor toTensor(NDArray array) {
        return copyToTensor(array, tensorType(array.getDataType()));
    }

    /** A new host tensor of {@code dtype} holding the array's bytes (element sizes must match). */
    private static Tensor copyToTensor(NDArray array, DType dtype) {
        ByteBuffer bytes = array.toByteBuffer();
        // DJL hands out native-order buffers; a big-endian one would need per-element swapping, which no engine needs.
        if (dtype.byteSize() > 1 && bytes.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("array buffer is " + bytes.order() + ", expected native order");
        }
        Tensor tensor = Tensor.zeros(dtype, array.getShape().getShape());
        long expected = tensor.numel() * dtype.byteSize();
        if (bytes.remaining() != expected) {
            tensor.close();
            throw new IllegalArgumentException("array buffer has " + bytes.remaining() + " bytes, shape "
                    + array.getShape() + " of " + array.getDataType() + " needs " + expected);
        }
        MemorySegment.copy(MemorySegment.ofBuffer(bytes), 0, tensor.hostSegment(), 0, expected);
        return tensor;
    }

    /**
     * A new array of {@code manager} holding the tensor's values in row-major order (any strides are honoured). FP8
     * becomes UINT8 codes and UE8M0_PACKED becomes INT32 words, bit for bit; BF16 (a GEMM's output) is widened
     * exactly to FLOAT32, because DJL's PyTorch engine cannot create BFLOAT16 arrays from a buffer.
     *
     * @param tensor a host tensor
     */
    public static NDArray toNDArray(NDManager manager, Tensor tensor) {
        if (!tensor.location().isHost()) {
            throw new IllegalArgumentException("tensor is on " + tensor.location() + "; only host tensors convert");
        }
        Tensor dense = tensor.dtype() == DType.BF16 ? Tensor.ofFloats(tensor.toFloatArray(), tensor.shape())
                : tensor.isContiguous() ? tensor : tensor.contiguousCopy();
        try {
            long bytes = dense.numel() * dense.dtype().byteSize();
            ByteBuffer buffer = manager.allocateDirect(Math.toIntExact(bytes));
            MemorySegment.copy(dense.hostSegment(), dense.offset() * dense.dtype().byteSize(),
                    MemorySegment.ofBuffer(buffer), 0, bytes);
            return manager.create(buffer, new Shape(dense.shape()), arrayType(dense.dtype()));
        } finally {
            if (dense != tensor) {
                dense.close();
            }
        }
    }

    /**
     * An FP8 operand from a UINT8 array of E4M3 codes and a FLOAT32 array of scales (copies of both).
     */
    public static Fp8Tensor toFp8Tensor(NDArray codes, NDArray scales) {
        if (codes.getDataType() != DataType.UINT8) {
            throw new IllegalArgumentException("codes must be UINT8 E4M3 codes, got " + codes.getDataType());
        }
        if (scales.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("scales must be FLOAT32, got " + scales.getDataType());
        }
        return new Fp8Tensor(copyToTensor(codes, DType.FP8_E4M3), toTensor(scales));
    }

    /** The operand as (UINT8 codes, scales) arrays of {@code manager}. */
    public static NDList toNDList(NDManager manager, Fp8Tensor operand) {
        return new NDList(toNDArray(manager, operand.data()), toNDArray(manager, operand.scales()));
    }

    private static DType tensorType(DataType type) {
        return switch (type) {
            case FLOAT32 -> DType.FP32;
            case INT32 -> DType.INT32;
            case UINT8 -> DType.UINT8;
            default -> throw new IllegalArgumentException("NDArray data type " + type
                    + " has no deepgemm4j tensor type (FLOAT32, INT32 or UINT8)");
        };
    }

    private static DataType arrayType(DType type) {
        return switch (type) {
            case FP32, BF16 -> DataType.FLOAT32;
            case INT32, UE8M0_PACKED -> DataType.INT32;
            case UINT8, FP8_E4M3 -> DataType.UINT8;
        };
    }
}
