package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Validation and dispatch of the M-grouped (contiguous index / psum layout, masked) and K-grouped FP8 GEMMs. Contents
 * of the layout tensors (expert ids, end rows, masked_m, ks) are checked when they are in host memory; on a device
 * they are read only by the kernel.
 *
 * <p>Rows of D that no expert owns (−1 rows of the index layout, gaps between psum segments, rows at or beyond
 * masked_m) are left untouched.
 */
final class GroupedGemmOp {

    private static final int BLOCK_K = 128;

    private GroupedGemmOp() {
    }

    static void contiguous(boolean bIsKByN, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout, boolean psum) {
        String layoutArg = psum ? "grouped_layout" : "m_indices";
        requireFp32Operand("a", "sfa", a, 2);
        requireFp32Operand("b", "sfb", b, 3);
        requireBf16Output(d, 2);
        Checks.requireNonNull(layoutArg, groupedLayout);
        Checks.requireDType(layoutArg, groupedLayout, DType.INT32);
        Checks.requireDim(layoutArg, groupedLayout, 1);

        Tensor bData = bIsKByN ? b.data().t() : b.data();
        Tensor sfb = bIsKByN ? b.scales().t() : b.scales();
        long mTotal = a.data().size(0);
        long k = a.data().size(1);
        long groups = bData.size(0);
        long n = bData.size(1);
        long kBlocks = Checks.ceilDiv(k, BLOCK_K);
        if (bData.size(2) != k) {
            throw Checks.fail("b", "K must match a's K = " + k + ", got shape " + Arrays.toString(b.data().shape()));
        }
        DenseGemmOp.requireScaleShape("sfa", a.scales(), false, "M_total", mTotal, "ceil(K/128)", kBlocks);
        DenseGemmOp.requireScaleShape("sfb", b.scales(), bIsKByN, groups, "ceil(N/128)", Checks.ceilDiv(n, 128),
                "ceil(K/128)", kBlocks);
        Checks.requireShape("d", d, "[M_total, N]", mTotal, n);
        if (psum) {
            Checks.requireShape(layoutArg, groupedLayout, "[G]", groups);
        } else {
            Checks.requireShape(layoutArg, groupedLayout, "[M_total]", mTotal);
        }
        requireFlat(layoutArg, groupedLayout);
        Checks.requireRowMajor("a", a.data());
        DenseGemmOp.requireTmaOperand("a", a.data());
        DenseGemmOp.requireTmaOperand("b", bData);
        DenseGemmOp.requireOutput("d", d);
        int alignment = Knobs.mkAlignment();
        if (!psum && mTotal % alignment != 0) {
            throw Checks.fail("a", "rows M_total = " + mTotal + " must be a multiple of the contiguous-layout "
                    + "alignment " + alignment);
        }
        Checks.requireSameLocation("a", a.data(), "sfa", a.scales(), "b", bData, "sfb", sfb, "d", d, layoutArg,
                groupedLayout);
        Checks.requireNoOverlap("d", d, "a", a.data(), "sfa", a.scales(), "b", bData, "sfb", sfb, layoutArg,
                groupedLayout);
        if (groupedLayout.location().isHost()) {
            int[] entries = groupedLayout.toIntArray();
            if (psum) {
                checkPsumLayout(entries, mTotal, alignment);
            } else {
                checkIndexLayout(entries, groups, alignment);
            }
        }

        if (mTotal == 0 || n == 0 || groups == 0) {
            return;
        }
        Backends.forTensor("d", d).mGroupedFp8GemmContiguous(a, new Fp8Tensor(bData, sfb), d, groupedLayout, psum,
                alignment);
    }

    static void masked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        requireFp32Operand("a", "sfa", a, 3);
        requireFp32Operand("b", "sfb", b, 3);
        requireBf16Output(d, 3);
        Checks.requireNonNull("masked_m", maskedM);
        Checks.requireDType("masked_m", maskedM, DType.INT32);
        Checks.requireDim("masked_m", maskedM, 1);
        Checks.requirePositive("expected_m", expectedM);

        long groups = a.data().size(0);
        long mMax = a.data().size(1);
        long k = a.data().size(2);
        long n = b.data().size(1);
        long kBlocks = Checks.ceilDiv(k, BLOCK_K);
        Checks.requireShape("b", b.data(), "[G, N, K]", groups, n, k);
        DenseGemmOp.requireScaleShape("sfa", a.scales(), false, groups, "M_max", mMax, "ceil(K/128)", kBlocks);
        DenseGemmOp.requireScaleShape("sfb", b.scales(), false, groups, "ceil(N/128)", Checks.ceilDiv(n, 128),
                "ceil(K/128)", kBlocks);
        Checks.requireShape("d", d, "[G, M_max, N]", groups, mMax, n);
        Checks.requireShape("masked_m", maskedM, "[G]", groups);
        requireFlat("masked_m", maskedM);
        Checks.requireRowMajor("a", a.data());
        Checks.requireRowMajor("b", b.data());
        DenseGemmOp.requireTmaOperand("a", a.data());
        DenseGemmOp.requireTmaOperand("b", b.data());
        DenseGemmOp.requireOutput("d", d);
        Checks.requireSameLocation("a", a.data(), "sfa", a.scales(), "b", b.data(), "sfb", b.scales(), "d", d,
                "masked_m", maskedM);
        Checks.requireNoOverlap("d", d, "a", a.data(), "sfa", a.scales(), "b", b.data(), "sfb", b.scales(),
                "masked_m", maskedM);
        if (maskedM.location().isHost()) {
            int[] rows = maskedM.toIntArray();
            for (int g = 0; g < rows.length; g++) {
                if (rows[g] < 0 || rows[g] > mMax) {
                    throw Checks.fail("masked_m", "entry " + g + " = " + rows[g] + " must be in [0, M_max = " + mMax
                            + "]");
                }
            }
        }

        if (groups == 0 || mMax == 0 || n == 0) {
            return;
        }
        Backends.forTensor("d", d).mGroupedFp8GemmMasked(a, b, d, maskedM, expectedM);
    }

    static void kGrouped(boolean tn, Fp8Tensor a, Fp8Tensor b, Tensor d, int[] ks, Tensor ksTensor, Tensor c) {
        if (ks == null) {
            throw Checks.fail("ks", "must not be null");
        }
        long sumK = 0;
        for (int g = 0; g < ks.length; g++) {
            if (ks[g] < 0 || ks[g] % BLOCK_K != 0) {
                throw Checks.fail("ks", "entry " + g + " = " + ks[g] + " must be >= 0 and a multiple of " + BLOCK_K);
            }
            sumK += ks[g];
        }
        int groups = ks.length;
        long sumKBlocks = sumK / BLOCK_K;
        requireFp32Operand("a", "sfa", a, tn ? 2 : 1);
        requireFp32Operand("b", "sfb", b, tn ? 2 : 1);
        Checks.requireNonNull("d", d);
        Checks.requireDType("d", d, DType.FP32);
        Checks.requireDim("d", d, 3);
        if (c == null) {
            throw Checks.fail("c", "is required: D = C + A·B (pass d itself to accumulate in place)");
        }
        Checks.requireNonNull("c", c);
        if (ksTensor != null) {
            Checks.requireNonNull("grouped_layout", ksTensor);
            Checks.requireDType("grouped_layout", ksTensor, DType.INT32);
        }

        if (d.size(0) != groups) {
            throw Checks.fail("d", "shape must be [G, M, N] with G = len(ks) = " + groups + ", got "
                    + Arrays.toString(d.shape()));
        }
        long m = d.size(1);
        long n = d.size(2);
        if (!d.isContiguous()) {
            throw Checks.fail("d", "must be contiguous (row-major [G, M, N]), got strides "
                    + Arrays.toString(d.strides()));
        }
        requireKGroupedOperand(tn, "a", "sfa", "M", a, m, sumK, sumKBlocks);
        requireKGroupedOperand(tn, "b", "sfb", "N", b, n, sumK, sumKBlocks);
        boolean cIsD = DenseGemmOp.requireAccumulator("c", c, d);
        if (ksTensor != null) {
            Checks.requireShape("grouped_layout", ksTensor, "[G] = [len(ks)]", groups);
            requireFlat("grouped_layout", ksTensor);
        }
        Checks.requireSameLocation("a", a.data(), "sfa", a.scales(), "b", b.data(), "sfb", b.scales(), "d", d, "c",
                c, "grouped_layout", ksTensor);
        Checks.requireNoOverlap("d", d, "a", a.data(), "sfa", a.scales(), "b", b.data(), "sfb", b.scales(),
                "grouped_layout", ksTensor);
        if (ksTensor != null && ksTensor.location().isHost()) {
            int[] values = ksTensor.toIntArray();
            for (int g = 0; g < groups; g++) {
                if (values[g] != ks[g]) {
                    throw Checks.fail("grouped_layout", "entry " + g + " = " + values[g] + " must equal ks[" + g
                            + "] = " + ks[g]);
                }
            }
        }

        if (groups == 0 || m == 0 || n == 0) {
            return;
        }
        Backend backend = Backends.forTensor("d", d);
        if (!cIsD) {
            backend.copy(c, d);
        }
        backend.kGroupedFp8Gemm(groupViews(tn, a, m, ks), groupViews(tn, b, n, ks), d);
    }

    // ---------------------------------------------------------------- helpers

    /** FP8 data of {@code dims} dimensions with FP32 scales (the grouped kernels are FP32-scale only). */
    private static void requireFp32Operand(String arg, String sfArg, Fp8Tensor x, int dims) {
        DenseGemmOp.requireOperand(arg, sfArg, x);
        Checks.requireDType(sfArg, x.scales(), DType.FP32);
        Checks.requireDim(arg, x.data(), dims);
        Checks.requireDim(sfArg, x.scales(), Math.max(dims, 2));
    }

    private static void requireBf16Output(Tensor d, int dims) {
        Checks.requireNonNull("d", d);
        Checks.requireDType("d", d, DType.BF16);
        Checks.requireDim("d", d, dims);
    }

    /** A 1-D tensor the kernel reads as a plain array. */
    private static void requireFlat(String arg, Tensor t) {
        if (t.size(0) > 1 && t.stride(0) != 1) {
            throw Checks.fail(arg, "must be contiguous (stride 1), got stride " + t.stride(0));
        }
    }

    /**
     * NT: data is a flat buffer of ΣK·MN FP8 values (group blocks [MN, K_g] end to end), scales [MN, ΣKB]. TN: data
     * [ΣK, MN] and scales [ΣKB, MN].
     */
    private static void requireKGroupedOperand(boolean tn, String arg, String sfArg, String mnName, Fp8Tensor x,
            long mn, long sumK, long sumKBlocks) {
        if (tn) {
            Checks.requireShape(arg, x.data(), "[sum(ks), " + mnName + "]", sumK, mn);
            DenseGemmOp.requireTmaOperand(arg, x.data().t());
        } else {
            if (x.data().numel() != sumK * mn) {
                throw Checks.fail(arg, "must hold sum(ks) * " + mnName + " = " + sumK + " * " + mn + " = "
                        + sumK * mn + " FP8 values, got " + x.data().numel());
            }
            requireFlat(arg, x.data());
        }
        DenseGemmOp.requireScaleShape(sfArg, x.scales(), tn, mnName, mn, "sum(ks)/128", sumKBlocks);
    }

    /** Per-group [MN, K_g] views (with [MN, K_g/128] scales) into a K-grouped operand. */
    private static List<Fp8Tensor> groupViews(boolean tn, Fp8Tensor x, long mn, int[] ks) {
        List<Fp8Tensor> views = new ArrayList<>(ks.length);
        long kOff = 0;
        for (int kg : ks) {
            long kbOff = kOff / BLOCK_K;
            long kbLen = kg / BLOCK_K;
            Tensor data;
            Tensor scales;
            if (tn) {
                data = x.data().narrow(0, kOff, kg).t();
                scales = x.scales().narrow(0, kbOff, kbLen).t();
            } else {
                data = x.data().asStrided(new long[] {mn, kg}, new long[] {Math.max(kg, 1), 1},
                        x.data().offset() + mn * kOff);
                scales = x.scales().narrow(1, kbOff, kbLen);
            }
            views.add(new Fp8Tensor(data, scales));
            kOff += kg;
        }
        return views;
    }

    /**
     * Index layout: entries −1 or an expert in [0, G); in every aligned block the expert's rows come first and −1
     * rows only as its tail (a whole block of −1 is padding).
     */
    private static void checkIndexLayout(int[] entries, long groups, int alignment) {
        for (int i = 0; i < entries.length; i++) {
            if (entries[i] < -1 || entries[i] >= groups) {
                throw Checks.fail("m_indices", "entry " + i + " = " + entries[i] + " must be -1 (padding) or an "
                        + "expert in [0, " + groups + ")");
            }
        }
        for (int start = 0; start < entries.length; start += alignment) {
            int expert = entries[start];
            boolean inPadding = expert == -1;
            for (int i = start; i < start + alignment; i++) {
                if (entries[i] == -1) {
                    inPadding = true;
                } else if (inPadding) {
                    throw Checks.fail("m_indices", "row " + i + " (expert " + entries[i] + ") follows a -1 row in "
                            + "its aligned block [" + start + ", " + (start + alignment) + "): each expert's rows "
                            + "must start at a multiple of " + alignment + " and -1 rows may only end a block");
                } else if (entries[i] != expert) {
                    throw Checks.fail("m_indices", "rows " + start + " and " + i + " of the aligned block [" + start
                            + ", " + (start + alignment) + ") belong to experts " + expert + " and " + entries[i]
                            + ": each expert's rows must start at a multiple of " + alignment);
                }
            }
        }
    }

    /** Psum layout: non-decreasing end rows, each expert ending at or after its aligned start, all within M_total. */
    private static void checkPsumLayout(int[] ends, long mTotal, int alignment) {
        long previous = 0;
        for (int g = 0; g < ends.length; g++) {
            long start = Checks.align(previous, alignment);
            if (ends[g] < previous) {
                throw Checks.fail("grouped_layout", "entry " + g + " = " + ends[g] + " must be >= the previous end "
                        + previous + " (end rows are non-decreasing)");
            }
            if (ends[g] > previous && ends[g] < start) {
                throw Checks.fail("grouped_layout", "entry " + g + " = " + ends[g] + " ends expert " + g
                        + " before its start align(" + previous + ", " + alignment + ") = " + start);
            }
            if (ends[g] > mTotal) {
                throw Checks.fail("grouped_layout", "entry " + g + " = " + ends[g] + " exceeds M_total = " + mTotal);
            }
            previous = ends[g];
        }
    }
}
