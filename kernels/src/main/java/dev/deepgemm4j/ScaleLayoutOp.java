package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.util.Arrays;

/**
 * Scale-factor layout utilities (TMA alignment, MN-major transform, UE8M0 packing, the per-GEMM transform).
 *
 * <p>"MN-major TMA-aligned" means, for logical [.., MN, SFK]: stride(-2) = 1, stride(-1) = MN rounded up to 16
 * bytes, group stride = that × SFK, and storage that covers the padding of the last column too, because the kernels'
 * TMA boxes span the aligned MN. Tensors this class allocates own that padded storage.
 */
final class ScaleLayoutOp {

    private static final int TMA_ALIGNMENT_BYTES = 16;
    private static final int SCALE_BLOCK = 128;

    private ScaleLayoutOp() {
    }

    static long tmaAlignedSize(long x, int elementSize) {
        if (elementSize != 1 && elementSize != 2 && elementSize != 4 && elementSize != 8) {
            throw Checks.fail("element_size", "must be 1, 2, 4 or 8 bytes, got " + elementSize);
        }
        if (x < 0) {
            throw Checks.fail("x", "must be >= 0, got " + x);
        }
        return Checks.align(x, TMA_ALIGNMENT_BYTES / elementSize);
    }

    static Tensor mnMajorTmaAligned(Tensor sf) {
        requireScaleMatrix(sf, DType.FP32);
        if (isMnMajorTmaAligned(sf)) {
            return sf;
        }
        Backend backend = Backends.forTensor("sf", sf);
        Tensor out = allocateMnMajorTmaAligned(backend, DType.FP32, sf.shape(), sf.location());
        backend.copy(sf, out);
        return out;
    }

    static Tensor mnMajorTmaAlignedPackedUe8m0(Tensor sf) {
        requireScaleMatrix(sf, DType.FP32);
        Backend backend = Backends.forTensor("sf", sf);
        if (sf.location().isHost()) {
            requirePowersOfTwo(sf);
        }
        long[] shape = sf.shape();
        shape[shape.length - 1] = Checks.ceilDiv(shape[shape.length - 1], 4);
        Tensor out = allocateMnMajorTmaAligned(backend, DType.UE8M0_PACKED, shape, sf.location());
        if (sf.numel() > 0) {
            backend.packUe8m0(sf, out);
        }
        return out;
    }

    static Tensor transformSf(Tensor sf, long mn, long k, Recipe recipe, int numGroups, boolean isSfa,
            boolean disableUe8m0Cast) {
        // disableUe8m0Cast only matters where FP32 scales would be packed (SM100); Hopper-class backends keep FP32.
        Checks.requireNonNull("sf", sf);
        if (recipe == null) {
            throw Checks.fail("recipe", "must not be null");
        }
        if (mn < 0) {
            throw Checks.fail("mn", "must be >= 0, got " + mn);
        }
        if (k < 0) {
            throw Checks.fail("k", "must be >= 0, got " + k);
        }
        if (numGroups < 0) {
            throw Checks.fail("num_groups", "must be >= 0 (0 for 2-D scales), got " + numGroups);
        }
        int granMn = isSfa ? recipe.granMnA() : recipe.granMnB();
        long kBlocks = Checks.ceilDiv(k, recipe.granK());
        Checks.requireDType("sf", sf, DType.FP32, DType.UE8M0_PACKED);
        if (sf.dtype() == DType.UE8M0_PACKED) {
            requireShape(sf, numGroups, "mn", mn, "ceil(ceil(k/128)/4)", Checks.ceilDiv(kBlocks, 4));
            if (!isMnMajorTmaAligned(sf)) {
                throw Checks.fail("sf", "packed UE8M0 scales must be MN-major and TMA-aligned (strides "
                        + Arrays.toString(mnMajorTmaAlignedStrides(sf.shape()))
                        + ", storage covering the padding), got strides " + Arrays.toString(sf.strides()));
            }
            return sf;
        }
        if (granMn == 1) {
            requireShape(sf, numGroups, "mn", mn, "ceil(k/128)", kBlocks);
            return mnMajorTmaAligned(sf);
        }
        requireShape(sf, numGroups, "ceil(mn/128)", Checks.ceilDiv(mn, SCALE_BLOCK), "ceil(k/128)", kBlocks);
        requireDenseKOrMnMajor(sf);
        return sf;
    }

    // ------------------------------------------------------------------ helpers

    private static void requireScaleMatrix(Tensor sf, DType dtype) {
        Checks.requireNonNull("sf", sf);
        Checks.requireDType("sf", sf, dtype);
        if (sf.dim() != 2 && sf.dim() != 3) {
            throw Checks.fail("sf", "must be [MN, SFK] or [G, MN, SFK], got shape " + Arrays.toString(sf.shape()));
        }
    }

    /** Shape [(G,) rows, cols]: 3-D with G = numGroups when numGroups > 0, else 2-D. */
    private static void requireShape(Tensor sf, int numGroups, String rowsRule, long rows, String colsRule,
            long cols) {
        long[] expected = numGroups > 0 ? new long[] {numGroups, rows, cols} : new long[] {rows, cols};
        String what = (numGroups > 0 ? "[num_groups, " : "[") + rowsRule + ", " + colsRule + "]";
        Checks.requireShape("sf", sf, what, expected);
    }

    private static long[] mnMajorTmaAlignedStrides(long[] shape) {
        int n = shape.length;
        long pitch = tmaAlignedSize(shape[n - 2], 4);
        long[] strides = new long[n];
        strides[n - 2] = 1;
        strides[n - 1] = pitch;
        if (n == 3) {
            strides[0] = pitch * shape[2];
        }
        return strides;
    }

    /** Exact canonical strides (so kernels may derive them from the shape) and storage covering the padding. */
    private static boolean isMnMajorTmaAligned(Tensor sf) {
        long[] strides = mnMajorTmaAlignedStrides(sf.shape());
        if (!Arrays.equals(sf.strides(), strides)) {
            return false;
        }
        long groups = sf.dim() == 3 ? sf.size(0) : 1;
        long paddedBytes = groups * strides[strides.length - 1] * sf.size(-1) * sf.dtype().byteSize();
        return sf.offset() * sf.dtype().byteSize() + paddedBytes <= sf.storage().byteSize();
    }

    /**
     * A tensor of {@code shape} with MN-major TMA-aligned strides that owns storage for the full padded extent (the
     * plain strided allocation would stop at the last real element).
     */
    private static Tensor allocateMnMajorTmaAligned(Backend backend, DType dtype, long[] shape, Location location) {
        long[] strides = mnMajorTmaAlignedStrides(shape);
        long groups = shape.length == 3 ? shape[0] : 1;
        long padded = groups * strides[strides.length - 1] * shape[shape.length - 1];
        Tensor buffer = backend.allocate(dtype, new long[] {padded}, new long[] {1}, location);
        return Tensor.wrap(buffer.storage(), dtype, shape, strides, buffer.offset(), true);
    }

    private static void requirePowersOfTwo(Tensor sf) {
        float[] values = sf.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]);
            int exponent = (bits >>> 23) & 0xFF;
            if ((bits & 0x807FFFFF) != 0 || exponent == 0 || exponent == 0xFF) {
                throw Checks.fail("sf", "every scale must be a finite positive power of two to pack as UE8M0 "
                        + "(quantise with use_ue8m0 rounding), got " + values[i] + " at flat index " + i);
            }
        }
    }

    /** Per-block scales are read as dense K-major or dense MN-major matrices (group dimension packed). */
    private static void requireDenseKOrMnMajor(Tensor sf) {
        long rows = sf.size(-2);
        long cols = sf.size(-1);
        boolean kMajor = (rows <= 1 || sf.stride(-2) == cols) && (cols <= 1 || sf.stride(-1) == 1);
        boolean mnMajor = (rows <= 1 || sf.stride(-2) == 1) && (cols <= 1 || sf.stride(-1) == rows);
        boolean groupsPacked = sf.dim() == 2 || sf.size(0) <= 1 || sf.stride(0) == rows * cols;
        if (!(kMajor || mnMajor) || !groupsPacked) {
            throw Checks.fail("sf", "per-block scales must be a dense K-major or MN-major matrix"
                    + (sf.dim() == 3 ? " per group, groups packed" : "") + ", got shape "
                    + Arrays.toString(sf.shape()) + " strides " + Arrays.toString(sf.strides()));
        }
    }
}
