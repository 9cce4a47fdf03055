package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.util.Arrays;

/**
 * Validation and dispatch of the dense FP8 GEMMs (nt, nn, tn, tt; 1D2D, 1D1D and packed-UE8M0 scales). Every layout is
 * normalised to NT views (A [M, K], B [N, K], scales transposed along) before the backend runs. The operand and output
 * checks here are shared with {@link GroupedGemmOp}.
 */
final class DenseGemmOp {

    private static final int BLOCK_K = 128;

    private DenseGemmOp() {
    }

    static void run(GemmLayout layout, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c, Recipe recipe) {
        if (layout == null) {
            throw Checks.fail("layout", "must not be null");
        }
        requireOperand("a", "sfa", a);
        requireOperand("b", "sfb", b);
        Checks.requireNonNull("d", d);
        Checks.requireDType("d", d, DType.BF16, DType.FP32);
        Checks.requireDim("d", d, 2);
        if (c != null) {
            Checks.requireNonNull("c", c);
        }
        Checks.requireDim("a", a.data(), 2);
        Checks.requireDim("sfa", a.scales(), 2);
        Checks.requireDim("b", b.data(), 2);
        Checks.requireDim("sfb", b.scales(), 2);

        // NT views: A [M, K] with sfa [M, ·], B [N, K] with sfb [·, ·] (the transposed layouts pass both transposed).
        Tensor aData = layout.aTransposed() ? a.data().t() : a.data();
        Tensor sfa = layout.aTransposed() ? a.scales().t() : a.scales();
        Tensor bData = layout.bGivenAsKByN() ? b.data().t() : b.data();
        Tensor sfb = layout.bGivenAsKByN() ? b.scales().t() : b.scales();
        long m = aData.size(0);
        long k = aData.size(1);
        long n = bData.size(0);
        if (bData.size(1) != k) {
            throw Checks.fail("b", "K must match a's K = " + k + " (layout " + layout.suffix() + "), got shape "
                    + Arrays.toString(b.data().shape()));
        }
        Checks.requireShape("d", d, "[M, N]", m, n);

        boolean packed = a.scales().dtype() == DType.UE8M0_PACKED;
        if (b.scales().dtype() != a.scales().dtype()) {
            throw Checks.fail("sfb", "dtype must match sfa's (" + a.scales().dtype()
                    + "): FP32 and UE8M0_PACKED scales cannot be mixed, got " + b.scales().dtype());
        }
        long kBlocks = Checks.ceilDiv(k, BLOCK_K);
        long scaleCols = packed ? Checks.ceilDiv(kBlocks, 4) : kBlocks;
        String colsName = packed ? "ceil(ceil(K/128)/4)" : "ceil(K/128)";
        requireScaleShape("sfa", a.scales(), layout.aTransposed(), "M", m, colsName, scaleCols);
        Recipe resolved = packed ? packedRecipe(recipe) : fp32Recipe(recipe, sfb, n, kBlocks, d);
        long sfbRows = resolved.isPerBlockB() ? Checks.ceilDiv(n, 128) : n;
        requireScaleShape("sfb", b.scales(), layout.bGivenAsKByN(), resolved.isPerBlockB() ? "ceil(N/128)" : "N",
                sfbRows, colsName, scaleCols);

        boolean cIsD = requireOutputs(resolved, packed, d, c);
        requireTmaOperand("a", aData);
        requireTmaOperand("b", bData);
        Checks.requireSameLocation("a", aData, "sfa", sfa, "b", bData, "sfb", sfb, "d", d, "c", c);
        Checks.requireNoOverlap("d", d, "a", aData, "sfa", sfa, "b", bData, "sfb", sfb);

        if (m == 0 || n == 0) {
            return;
        }
        Backend backend = Backends.forTensor("d", d);
        if (c != null && !cIsD) {
            backend.copy(c, d);
        }
        if (k == 0) {
            if (c == null) {
                backend.fill(d, 0f);
            }
            return;
        }
        backend.fp8Gemm(new Fp8Tensor(aData, sfa), new Fp8Tensor(bData, sfb), d, resolved, c != null);
    }

    /**
     * The recipe for FP32 scales: the explicit one, else read from sfb's shape (per block [ceil(N/128), ·] → 1D2D, per
     * row [N, ·] → 1D1D), else (both shapes coincide) from d's dtype.
     */
    private static Recipe fp32Recipe(Recipe explicit, Tensor sfbNt, long n, long kBlocks, Tensor d) {
        if (explicit != null) {
            return explicit;
        }
        boolean perBlock = sfbNt.dim() == 2 && sfbNt.size(0) == Checks.ceilDiv(n, 128) && sfbNt.size(1) == kBlocks;
        boolean perRow = sfbNt.dim() == 2 && sfbNt.size(0) == n && sfbNt.size(1) == kBlocks;
        if (perBlock && perRow) {
            return d.dtype() == DType.BF16 ? Recipe.PER_TOKEN_PER_BLOCK : Recipe.PER_TOKEN_PER_TOKEN;
        }
        if (perBlock || perRow) {
            return perRow ? Recipe.PER_TOKEN_PER_TOKEN : Recipe.PER_TOKEN_PER_BLOCK;
        }
        // A shape matching neither is reported against the recipe d's dtype suggests.
        return d.dtype() == DType.FP32 ? Recipe.PER_TOKEN_PER_TOKEN : Recipe.PER_TOKEN_PER_BLOCK;
    }

    /** Packed UE8M0 scales are per token on both sides. */
    private static Recipe packedRecipe(Recipe explicit) {
        if (explicit != null && explicit.isPerBlockB()) {
            throw Checks.fail("recipe", "UE8M0_PACKED scales are per token on both operands, so the recipe must be "
                    + "(1, 1, 128), got (" + explicit.granMnA() + ", " + explicit.granMnB() + ", " + explicit.granK()
                    + ")");
        }
        return Recipe.PER_TOKEN_PER_TOKEN;
    }

    /**
     * d and c against the kernel's rules: 1D2D writes BF16 without C; 1D1D with FP32 scales accumulates into FP32 and
     * needs C; packed scales allow either output dtype, with or without C. Returns whether c is d itself.
     */
    private static boolean requireOutputs(Recipe recipe, boolean packed, Tensor d, Tensor c) {
        if (!packed && recipe.isPerBlockB()) {
            if (d.dtype() != DType.BF16) {
                throw Checks.fail("d", "dtype must be BF16 with per-block B scales (1D2D recipe (1, 128, 128)), got "
                        + d.dtype());
            }
            if (c != null) {
                throw Checks.fail("c", "must be null with per-block B scales (1D2D recipe (1, 128, 128)): that kernel "
                        + "does not accumulate");
            }
        } else if (!packed) {
            if (d.dtype() != DType.FP32) {
                throw Checks.fail("d", "dtype must be FP32 with per-token B scales (1D1D recipe (1, 1, 128)), got "
                        + d.dtype());
            }
            if (c == null) {
                throw Checks.fail("c", "is required with per-token B scales (1D1D recipe (1, 1, 128)): D = C + A·B "
                        + "(pass d itself to accumulate in place)");
            }
        }
        requireOutput("d", d);
        return c != null && requireAccumulator("c", c, d);
    }

    /**
     * A C tensor beside its D: either D itself (same storage, offset, shape and strides) or a separate tensor of D's
     * shape and dtype (any strides: it is only copied into D) that does not share bytes with it. Returns whether it
     * is D itself.
     */
    static boolean requireAccumulator(String arg, Tensor c, Tensor d) {
        boolean same = c == d || (c.sharesStorageWith(d) && c.offset() == d.offset() && c.dtype() == d.dtype()
                && Arrays.equals(c.shape(), d.shape()) && Arrays.equals(c.strides(), d.strides()));
        if (same) {
            return true;
        }
        if (c.dtype() != d.dtype()) {
            throw Checks.fail(arg, "dtype must match d's (" + d.dtype() + "), got " + c.dtype());
        }
        if (!Arrays.equals(c.shape(), d.shape())) {
            throw Checks.fail(arg, "shape must match d's " + Arrays.toString(d.shape()) + ", got "
                    + Arrays.toString(c.shape()));
        }
        if (c.overlaps(d)) {
            throw Checks.fail(arg, "must be d itself or must not overlap d");
        }
        return false;
    }

    // ---------------------------------------------------------------- checks shared with GroupedGemmOp

    /** Non-null, open FP8 data with FP32 or packed UE8M0 scales. */
    static void requireOperand(String arg, String sfArg, Fp8Tensor x) {
        if (x == null) {
            throw Checks.fail(arg, "must not be null");
        }
        Checks.requireNonNull(arg, x.data());
        Checks.requireNonNull(sfArg, x.scales());
        Checks.requireDType(arg, x.data(), DType.FP8_E4M3);
        Checks.requireDType(sfArg, x.scales(), DType.FP32, DType.UE8M0_PACKED);
    }

    /**
     * Scale shape check in the orientation the caller passes: [rows, cols], or [cols, rows] when the operand is given
     * transposed; for 3-D scales a leading group dimension of size {@code groups} (&ge; 0) comes first.
     */
    static void requireScaleShape(String arg, Tensor sf, boolean transposed, String rowsName, long rows,
            String colsName, long cols) {
        requireScaleShape(arg, sf, transposed, -1, rowsName, rows, colsName, cols);
    }

    static void requireScaleShape(String arg, Tensor sf, boolean transposed, long groups, String rowsName, long rows,
            String colsName, long cols) {
        long first = transposed ? cols : rows;
        long second = transposed ? rows : cols;
        boolean matches = groups >= 0 ? Checks.hasShape(sf, groups, first, second) : Checks.hasShape(sf, first, second);
        if (matches) {
            return; // the common case builds no message: this check runs on every launch
        }
        String lead = groups >= 0 ? "G, " : "";
        String what = transposed ? "[" + lead + colsName + ", " + rowsName + "]"
                : "[" + lead + rowsName + ", " + colsName + "]";
        long[] last = transposed ? new long[] {cols, rows} : new long[] {rows, cols};
        Checks.requireShape(arg, sf, what, groups >= 0 ? new long[] {groups, last[0], last[1]} : last);
    }

    /**
     * An FP8 operand (last two dims [MN, K] after normalisation) must be K-major or MN-major, its non-unit stride a
     * multiple of 16 bytes (TMA), and, if 3-D, packed along the group dimension.
     */
    static void requireTmaOperand(String arg, Tensor t) {
        if (t.numel() == 0) {
            return;
        }
        Checks.requireKOrMnMajor(arg, t);
        boolean kMajor = t.size(-1) <= 1 || t.stride(-1) == 1;
        boolean mnMajor = t.size(-2) <= 1 || t.stride(-2) == 1;
        boolean kMajorOk = kMajor && pitchAligned(t, -2);
        boolean mnMajorOk = mnMajor && pitchAligned(t, -1);
        if (!kMajorOk && !mnMajorOk) {
            int dim = kMajor ? -2 : -1;
            long pitch = t.stride(dim) * t.dtype().byteSize();
            throw Checks.fail(arg, "row pitch must be a multiple of 16 bytes (TMA), got " + pitch + " bytes ("
                    + (kMajor ? "K-major, stride(-2)" : "MN-major, stride(-1)") + " = " + t.stride(dim) + ")");
        }
        if (t.dim() == 3 && t.size(0) > 1 && t.stride(0) != t.size(1) * t.size(2)) {
            throw Checks.fail(arg, "must be packed along the group dimension: stride(0) must be size(1) * size(2) = "
                    + t.size(1) * t.size(2) + ", got " + t.stride(0));
        }
    }

    private static boolean pitchAligned(Tensor t, int dim) {
        return t.size(dim) <= 1 || (t.stride(dim) * t.dtype().byteSize()) % 16 == 0;
    }

    /** D (or C): row-major with a row pitch that is a multiple of 16 bytes, as the TMA store needs. */
    static void requireOutput(String arg, Tensor t) {
        if (t.numel() == 0) {
            return;
        }
        Checks.requireRowMajor(arg, t);
        Checks.requireNoSelfOverlap(arg, t);
        long pitch = t.stride(-2) * t.dtype().byteSize();
        if (t.size(-2) > 1 && pitch % 16 != 0) {
            String hint = t.stride(-2) == t.size(-1)
                    ? " (rows are contiguous, so N = " + t.size(-1) + " must be a multiple of "
                            + 16 / t.dtype().byteSize() + " for " + t.dtype() + ")"
                    : "";
            throw Checks.fail(arg, "row pitch must be a multiple of 16 bytes (TMA), got " + pitch + " bytes" + hint);
        }
    }
}
