package dev.deepgemm4j.cuda;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A TMA descriptor ({@code CUtensorMap}, 128 opaque bytes) encoded by {@code cuTensorMapEncodeTiled}; kernels take it
 * by value as a {@code const __grid_constant__} parameter ({@link LaunchArgs#addTensorMap}). The host copy is
 * 128-byte aligned, as CUDA 13's {@code cuda.h} declares the type.
 *
 * <p>The arguments follow {@code cuda.h}: dimension 0 is the innermost (contiguous) one, {@code globalStrides} gives
 * the byte stride of dimensions 1..rank-1, and the box is the tile one TMA copy moves. The driver checks the rules
 * (16-byte aligned address and strides, box at most 256 per dimension, inner box at most the swizzle span, ...); a
 * violation surfaces as a {@link CudaException} whose message lists every argument.
 */
public final class TensorMap {

    /** Size of a {@code CUtensorMap}. */
    public static final int BYTES = 128;
    /** Alignment of a {@code CUtensorMap} in CUDA 13's {@code cuda.h}. */
    public static final int ALIGNMENT = 128;

    /** {@code CUtensorMapDataType}; the constant's ordinal is its {@code cuda.h} value. */
    public enum DataType {
        UINT8(1), UINT16(2), UINT32(4), INT32(4), UINT64(8), INT64(8), FLOAT16(2), FLOAT32(4), FLOAT64(8),
        BFLOAT16(2), FLOAT32_FTZ(4), TFLOAT32(4), TFLOAT32_FTZ(4);

        private final int byteSize;

        DataType(int byteSize) {
            this.byteSize = byteSize;
        }

        /** Bytes per element. */
        public int byteSize() {
            return byteSize;
        }
    }

    /** {@code CUtensorMapInterleave}; ordinal = {@code cuda.h} value. */
    public enum Interleave { NONE, B16, B32 }

    /** {@code CUtensorMapSwizzle}; ordinal = {@code cuda.h} value. */
    public enum Swizzle {
        NONE(0), B32(32), B64(64), B128(128);

        private final int span;

        Swizzle(int span) {
            this.span = span;
        }

        /** The swizzle span in bytes (0 for none): the inner box dimension may not exceed it. */
        public int spanBytes() {
            return span;
        }
    }

    /** {@code CUtensorMapL2promotion}; ordinal = {@code cuda.h} value. */
    public enum L2Promotion { NONE, B64, B128, B256 }

    /** {@code CUtensorMapFloatOOBfill}; ordinal = {@code cuda.h} value. */
    public enum OobFill { NONE, NAN_REQUEST_ZERO_FMA }

    private final MemorySegment map;

    private TensorMap(MemorySegment map) {
        this.map = map;
    }

    /**
     * The common 2-D case: a row-major matrix of {@code outerDim} rows of {@code innerDim} elements, rows
     * {@code rowStrideBytes} apart, tiles of {@code boxOuter} rows × {@code boxInner} elements; L2 promotion 256 B,
     * no interleave, no out-of-bounds NaN fill.
     */
    public static TensorMap encode2d(DataType type, long globalAddress, long innerDim, long outerDim,
            long rowStrideBytes, int boxInner, int boxOuter, Swizzle swizzle) {
        return encodeTiled(type, globalAddress, new long[] {innerDim, outerDim}, new long[] {rowStrideBytes},
                new int[] {boxInner, boxOuter}, new int[] {1, 1}, Interleave.NONE, swizzle, L2Promotion.B256,
                OobFill.NONE);
    }

    /** {@code cuTensorMapEncodeTiled} with every argument (see the class comment for their meaning). */
    public static TensorMap encodeTiled(DataType type, long globalAddress, long[] globalDims, long[] globalStrides,
            int[] boxDims, int[] elementStrides, Interleave interleave, Swizzle swizzle, L2Promotion l2Promotion,
            OobFill oobFill) {
        return encodeTiled(CudaRuntime.driver(), type, globalAddress, globalDims, globalStrides, boxDims,
                elementStrides, interleave, swizzle, l2Promotion, oobFill);
    }

    static TensorMap encodeTiled(CudaDriverFfm driver, DataType type, long globalAddress, long[] globalDims,
            long[] globalStrides, int[] boxDims, int[] elementStrides, Interleave interleave, Swizzle swizzle,
            L2Promotion l2Promotion, OobFill oobFill) {
        int rank = globalDims.length;
        if (rank < 1 || rank > 5) {
            throw new IllegalArgumentException("tensor map rank must be 1..5, got " + rank);
        }
        if (globalStrides.length != rank - 1 || boxDims.length != rank || elementStrides.length != rank) {
            throw new IllegalArgumentException("rank " + rank + " needs " + (rank - 1) + " strides and " + rank
                    + " box dims and element strides, got " + globalStrides.length + ", " + boxDims.length + ", "
                    + elementStrides.length);
        }
        MemorySegment map = Arena.ofAuto().allocate(BYTES, ALIGNMENT);
        int r;
        try (Arena arena = Arena.ofConfined()) {
            r = driver.tensorMapEncodeTiled(map, type.ordinal(), rank, globalAddress,
                    arena.allocateFrom(JAVA_LONG, globalDims),
                    rank > 1 ? arena.allocateFrom(JAVA_LONG, globalStrides) : arena.allocate(JAVA_LONG),
                    arena.allocateFrom(JAVA_INT, boxDims), arena.allocateFrom(JAVA_INT, elementStrides),
                    interleave.ordinal(), swizzle.ordinal(), l2Promotion.ordinal(), oobFill.ordinal());
        }
        if (r != CudaException.SUCCESS) {
            throw new CudaException("cuTensorMapEncodeTiled(" + type + ", address 0x" + Long.toHexString(globalAddress)
                    + ", dims " + Arrays.toString(globalDims) + ", strides " + Arrays.toString(globalStrides)
                    + " B, box " + Arrays.toString(boxDims) + ", element strides " + Arrays.toString(elementStrides)
                    + ", interleave " + interleave + ", swizzle " + swizzle + ", L2 " + l2Promotion + ", OOB "
                    + oobFill + ")", r);
        }
        return new TensorMap(map);
    }

    /** The 128 encoded bytes (read-only view). */
    public MemorySegment segment() {
        return map.asReadOnly();
    }

    /** A copy of the 128 encoded bytes. */
    public byte[] toByteArray() {
        return map.toArray(JAVA_BYTE);
    }
}
