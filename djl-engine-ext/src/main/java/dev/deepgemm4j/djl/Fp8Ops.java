package dev.deepgemm4j.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import java.util.Arrays;

/**
 * deepgemm4j's FP8 operators ({@link DeepGemm}) over DJL {@link NDArray}s of any engine.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>Every function takes first the {@link NDManager} its results are created in, of any engine. The call computes
 *       at that manager's device when it is a {@link DeepGemmNDManager}, else at {@link DeepGemmEngine}'s default
 *       device (the GPU when one runs, else the CPU reference backend).</li>
 *   <li>Arguments that are {@link DeepGemmNDArray}s already at that device are used in place; any other array is
 *       copied there once (counted by {@link DeepGemmEngine#importCount()}).</li>
 *   <li>FP8 data is UINT8 E4M3 codes; scales are FLOAT32, or INT32 words of packed UE8M0 exponents
 *       ({@link #packUe8m0Scales}). Outputs deepgemm4j writes as BF16 come back as FLOAT32 (an exact widening):
 *       DJL's PyTorch engine cannot take BFLOAT16 buffers.</li>
 *   <li>Shapes, layouts and edge cases are those of {@link DeepGemm}. Bad arguments raise the same
 *       {@link DeepGemmArgumentException}, naming the argument as DeepGEMM does ({@code a}, {@code sfb},
 *       {@code masked_m}, …), before any result is created.</li>
 *   <li>GEMM outputs are allocated here, zero-filled, so rows a grouped GEMM does not own (padding rows of the
 *       contiguous layouts, rows beyond {@code masked_m}) are zeros.</li>
 * </ul>
 */
public final class Fp8Ops {

    private Fp8Ops() {
    }

    // ------------------------------------------------------------------ quantizers

    /**
     * Per-token (1×128) FP8 quantisation of x FLOAT32 [M, K]: data [M, K], scales [M, ceil(K/128)].
     *
     * @param useUe8m0 round scales up to powers of two (still FLOAT32; see {@link #packUe8m0Scales})
     */
    public static Fp8Operand perTokenCastToFp8(NDManager manager, NDArray x, boolean useUe8m0) {
        try (Staging s = new Staging(manager)) {
            return s.output(s.keep(DeepGemm.perTokenCastToFp8(s.input("x", x, DType.FP32), useUe8m0)));
        }
    }

    /**
     * Per-block (128×128) FP8 quantisation of x FLOAT32 [N, K] (scales [ceil(N/128), ceil(K/128)]), or of grouped
     * weights [G, N, K], each group on its own (scales [G, ceil(N/128), ceil(K/128)]), as the grouped GEMMs take B.
     */
    public static Fp8Operand perBlockCastToFp8(NDManager manager, NDArray x, boolean useUe8m0) {
        try (Staging s = new Staging(manager)) {
            Tensor t = s.input("x", x, DType.FP32);
            Fp8Tensor q = t.dim() == 3 ? GroupedQuantizer.perBlock(t, useUe8m0)
                    : DeepGemm.perBlockCastToFp8(t, useUe8m0);
            return s.output(s.keep(q));
        }
    }

    /** Per-channel (128×1) FP8 quantisation of x FLOAT32 [K, N]: scales [ceil(K/128), N]. */
    public static Fp8Operand perChannelCastToFp8(NDManager manager, NDArray x, boolean useUe8m0) {
        try (Staging s = new Staging(manager)) {
            return s.output(s.keep(DeepGemm.perChannelCastToFp8(s.input("x", x, DType.FP32), useUe8m0)));
        }
    }

    /**
     * Power-of-two FLOAT32 scales [.., MN, SFK] (from a quantizer with {@code useUe8m0}) packed into INT32 UE8M0
     * words [.., MN, ceil(SFK/4)], the form the packed-scale GEMMs take.
     */
    public static NDArray packUe8m0Scales(NDManager manager, NDArray sf) {
        try (Staging s = new Staging(manager)) {
            Tensor packed = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(s.input("sf", sf, DType.FP32));
            return s.output(s.keep(packed));
        }
    }

    // ------------------------------------------------------------------ dense GEMMs

    /** {@code D = A·Bᵀ}, A [M, K], B [N, K] (the 1D2D kernel: per-block B scales). Returns FLOAT32 [M, N]. */
    public static NDArray fp8GemmNt(NDManager manager, Fp8Operand a, Fp8Operand b) {
        return fp8Gemm(manager, GemmLayout.NT, a, b, null, null);
    }

    /**
     * A dense FP8 GEMM in any layout ({@link DeepGemm#fp8Gemm}); the recipe is read from the scales.
     *
     * @param c null: D = A·B, computed into BF16 (1D2D, or packed UE8M0 scales); FLOAT32 [M, N]: D = C + A·B in FP32
     *     (1D1D with per-token B scales, or packed scales)
     * @return FLOAT32 [M, N]
     */
    public static NDArray fp8Gemm(NDManager manager, GemmLayout layout, Fp8Operand a, Fp8Operand b, NDArray c) {
        return fp8Gemm(manager, layout, a, b, c, null);
    }

    /** As {@link #fp8Gemm(NDManager, GemmLayout, Fp8Operand, Fp8Operand, NDArray)} with an explicit recipe. */
    public static NDArray fp8Gemm(NDManager manager, GemmLayout layout, Fp8Operand a, Fp8Operand b, NDArray c,
            Recipe recipe) {
        try (Staging s = new Staging(manager)) {
            if (layout == null) {
                throw new DeepGemmArgumentException("layout", "must not be null");
            }
            Fp8Tensor ta = s.operand("a", "sfa", a);
            Fp8Tensor tb = s.operand("b", "sfb", b);
            Tensor tc = c == null ? null : s.input("c", c, DType.FP32);
            // Shapes the kernels reject are reported by them; D's shape only needs to be 2-D until then.
            long m = dimOrZero(ta.data(), layout.aTransposed() ? 1 : 0);
            long n = dimOrZero(tb.data(), layout.bGivenAsKByN() ? 1 : 0);
            Tensor d = s.allocate(c == null ? DType.BF16 : DType.FP32, m, n);
            DeepGemm.fp8Gemm(layout, ta, tb, d, tc, recipe);
            return s.output(d);
        }
    }

    private static long dimOrZero(Tensor t, int dim) {
        return t.dim() == 2 ? t.size(dim) : 0;
    }

    // ------------------------------------------------------------------ grouped GEMMs

    /**
     * MoE forward over experts laid end to end ({@link DeepGemm#mGroupedFp8GemmNtContiguous(Fp8Tensor, Fp8Tensor,
     * Tensor, Tensor)}): A [M_total, K], B [G, N, K], mIndices INT32 [M_total] (expert per row, −1 for padding).
     *
     * @return FLOAT32 [M_total, N]; padding rows are zeros
     */
    public static NDArray mGroupedFp8GemmNtContiguous(NDManager manager, Fp8Operand a, Fp8Operand b,
            NDArray mIndices) {
        return contiguous(manager, false, a, b, mIndices, false);
    }

    /**
     * As {@link #mGroupedFp8GemmNtContiguous(NDManager, Fp8Operand, Fp8Operand, NDArray)}; with
     * {@code usePsumLayout}, {@code groupedLayout} is INT32 [G] of each expert's end row.
     */
    public static NDArray mGroupedFp8GemmNtContiguous(NDManager manager, Fp8Operand a, Fp8Operand b,
            NDArray groupedLayout, boolean usePsumLayout) {
        return contiguous(manager, false, a, b, groupedLayout, usePsumLayout);
    }

    /** Contiguous grouped GEMM with B given as [G, K, N]. */
    public static NDArray mGroupedFp8GemmNnContiguous(NDManager manager, Fp8Operand a, Fp8Operand b,
            NDArray groupedLayout, boolean usePsumLayout) {
        return contiguous(manager, true, a, b, groupedLayout, usePsumLayout);
    }

    private static NDArray contiguous(NDManager manager, boolean bIsKByN, Fp8Operand a, Fp8Operand b,
            NDArray groupedLayout, boolean psum) {
        try (Staging s = new Staging(manager)) {
            Fp8Tensor ta = s.operand("a", "sfa", a);
            Fp8Tensor tb = s.operand("b", "sfb", b);
            Tensor layout = s.input(psum ? "grouped_layout" : "m_indices", groupedLayout, DType.INT32);
            long mTotal = ta.data().dim() == 2 ? ta.data().size(0) : 0;
            long n = tb.data().dim() == 3 ? tb.data().size(bIsKByN ? 2 : 1) : 0;
            Tensor d = s.allocate(DType.BF16, mTotal, n);
            if (bIsKByN) {
                DeepGemm.mGroupedFp8GemmNnContiguous(ta, tb, d, layout, psum);
            } else {
                DeepGemm.mGroupedFp8GemmNtContiguous(ta, tb, d, layout, psum);
            }
            return s.output(d);
        }
    }

    /**
     * MoE decode ({@link DeepGemm#mGroupedFp8GemmNtMasked}): A [G, M_max, K], B [G, N, K]; group g computes its first
     * {@code maskedM[g]} rows (INT32 [G]).
     *
     * @return FLOAT32 [G, M_max, N]; rows at or beyond masked_m are zeros
     */
    public static NDArray mGroupedFp8GemmNtMasked(NDManager manager, Fp8Operand a, Fp8Operand b, NDArray maskedM,
            int expectedM) {
        try (Staging s = new Staging(manager)) {
            Fp8Tensor ta = s.operand("a", "sfa", a);
            Fp8Tensor tb = s.operand("b", "sfb", b);
            Tensor masked = s.input("masked_m", maskedM, DType.INT32);
            boolean shaped = ta.data().dim() == 3 && tb.data().dim() == 3;
            Tensor d = shaped ? s.allocate(DType.BF16, ta.data().size(0), ta.data().size(1), tb.data().size(1))
                    : s.allocate(DType.BF16, 0, 0, 0);
            DeepGemm.mGroupedFp8GemmNtMasked(ta, tb, d, masked, expectedM);
            return s.output(d);
        }
    }

    /**
     * MoE weight gradient ({@link DeepGemm#kGroupedFp8GemmNtContiguous}): groups along K of sizes {@code ks}; A and B
     * are flat buffers of [M, K_g] and [N, K_g] blocks end to end.
     *
     * @param c FLOAT32 [G, M, N], required: D = C + A·B
     * @return FLOAT32 [G, M, N]
     */
    public static NDArray kGroupedFp8GemmNtContiguous(NDManager manager, Fp8Operand a, Fp8Operand b, int[] ks,
            NDArray c) {
        return kGrouped(manager, false, a, b, ks, c);
    }

    /** As {@link #kGroupedFp8GemmNtContiguous} with A [ΣK, M] and B [ΣK, N] MN-major (tokens as rows). */
    public static NDArray kGroupedFp8GemmTnContiguous(NDManager manager, Fp8Operand a, Fp8Operand b, int[] ks,
            NDArray c) {
        return kGrouped(manager, true, a, b, ks, c);
    }

    private static NDArray kGrouped(NDManager manager, boolean tn, Fp8Operand a, Fp8Operand b, int[] ks, NDArray c) {
        try (Staging s = new Staging(manager)) {
            Fp8Tensor ta = s.operand("a", "sfa", a);
            Fp8Tensor tb = s.operand("b", "sfb", b);
            if (c == null) {
                throw new DeepGemmArgumentException("c", "is required: D = C + A·B");
            }
            Tensor tc = s.input("c", c, DType.FP32);
            // D takes C's shape, so C's shape is what the kernels' rules for D apply to.
            if (tc.dim() != 3 || (ks != null && tc.size(0) != ks.length)) {
                throw new DeepGemmArgumentException("c", "shape must be [G, M, N] with G = len(ks) = "
                        + (ks == null ? "?" : ks.length) + ", got " + Arrays.toString(tc.shape()));
            }
            Tensor d = s.allocate(DType.FP32, tc.shape());
            if (tn) {
                DeepGemm.kGroupedFp8GemmTnContiguous(ta, tb, d, ks, null, tc);
            } else {
                DeepGemm.kGroupedFp8GemmNtContiguous(ta, tb, d, ks, null, tc);
            }
            return s.output(d);
        }
    }

    // ------------------------------------------------------------------ MQA logits

    /**
     * The DeepSeek-V3.2 indexer ({@link DeepGemm#fp8MqaLogits}).
     *
     * @param q UINT8 FP8 [S, H, D]
     * @param kv FP8 [S_kv, D] with FLOAT32 scales [S_kv]
     * @param weights FLOAT32 [S, H]
     * @param cuSeqLenKStart INT32 [S]
     * @param cuSeqLenKEnd INT32 [S]
     * @return FLOAT32 [S, S_kv], or [S, maxSeqlenK] when {@code maxSeqlenK} &gt; 0
     */
    public static NDArray fp8MqaLogits(NDManager manager, NDArray q, Fp8Operand kv, NDArray weights,
            NDArray cuSeqLenKStart, NDArray cuSeqLenKEnd, boolean cleanLogits, int maxSeqlenK) {
        return fp8MqaLogits(manager, q, kv, weights, cuSeqLenKStart, cuSeqLenKEnd, cleanLogits, maxSeqlenK,
                DataType.FLOAT32);
    }

    /**
     * {@link #fp8MqaLogits(NDManager, NDArray, Fp8Operand, NDArray, NDArray, NDArray, boolean, int)} with DeepGEMM's
     * {@code logits_dtype}.
     *
     * @param logitsDtype FLOAT32, or BFLOAT16 for BF16 logits (each FP32 logit rounded to nearest even, −inf
     *     cleaning the same), which come back as a FLOAT32 array of those BF16 values (an exact widening)
     * @return FLOAT32 [S, S_kv], or [S, maxSeqlenK] when {@code maxSeqlenK} &gt; 0
     */
    public static NDArray fp8MqaLogits(NDManager manager, NDArray q, Fp8Operand kv, NDArray weights,
            NDArray cuSeqLenKStart, NDArray cuSeqLenKEnd, boolean cleanLogits, int maxSeqlenK, DataType logitsDtype) {
        try (Staging s = new Staging(manager)) {
            DType dtype = logitsDtype(logitsDtype);
            Tensor logits = DeepGemm.fp8MqaLogits(s.input("q", q, DType.FP8_E4M3), s.operand("kv", "kv_sf", kv),
                    s.input("weights", weights, DType.FP32), s.input("cu_seq_len_k_start", cuSeqLenKStart,
                            DType.INT32), s.input("cu_seq_len_k_end", cuSeqLenKEnd, DType.INT32), cleanLogits,
                    maxSeqlenK, dtype);
            return s.output(s.keep(logits));
        }
    }

    /**
     * Scheduling metadata for {@link #fp8PagedMqaLogits} ({@link DeepGemm#getPagedMqaLogitsMetadata}).
     *
     * @param contextLens INT32 [B, next_n]
     * @return INT32 [numSms + 1, 2]
     */
    public static NDArray getPagedMqaLogitsMetadata(NDManager manager, NDArray contextLens, int blockKv, int numSms) {
        try (Staging s = new Staging(manager)) {
            Tensor meta = DeepGemm.getPagedMqaLogitsMetadata(s.input("context_lens", contextLens, DType.INT32),
                    blockKv, numSms);
            return s.output(s.keep(meta));
        }
    }

    /**
     * Decode-time indexer over a paged KV cache ({@link DeepGemm#fp8PagedMqaLogits}).
     *
     * @param q UINT8 FP8 [B, next_n, H, D]
     * @param kvCache UINT8 [num_blocks, block_kv, 1, D + 4]
     * @param weights FLOAT32 [B·next_n, H]
     * @param contextLens INT32 [B, next_n]
     * @param blockTable INT32 [B, max_blocks]
     * @param scheduleMeta INT32, from {@link #getPagedMqaLogitsMetadata} with {@link DeepGemm#getNumSms()}
     * @return FLOAT32 [B·next_n, maxContextLen]
     */
    public static NDArray fp8PagedMqaLogits(NDManager manager, NDArray q, NDArray kvCache, NDArray weights,
            NDArray contextLens, NDArray blockTable, NDArray scheduleMeta, int maxContextLen, boolean cleanLogits) {
        return fp8PagedMqaLogits(manager, q, kvCache, weights, contextLens, blockTable, scheduleMeta, maxContextLen,
                cleanLogits, DataType.FLOAT32);
    }

    /**
     * {@link #fp8PagedMqaLogits(NDManager, NDArray, NDArray, NDArray, NDArray, NDArray, NDArray, int, boolean)} with
     * DeepGEMM's {@code logits_dtype}.
     *
     * @param logitsDtype FLOAT32, or BFLOAT16 for BF16 logits (each FP32 logit rounded to nearest even, −inf
     *     cleaning the same), which come back as a FLOAT32 array of those BF16 values (an exact widening)
     * @return FLOAT32 [B·next_n, maxContextLen]
     */
    public static NDArray fp8PagedMqaLogits(NDManager manager, NDArray q, NDArray kvCache, NDArray weights,
            NDArray contextLens, NDArray blockTable, NDArray scheduleMeta, int maxContextLen, boolean cleanLogits,
            DataType logitsDtype) {
        try (Staging s = new Staging(manager)) {
            DType dtype = logitsDtype(logitsDtype);
            Tensor logits = DeepGemm.fp8PagedMqaLogits(s.input("q", q, DType.FP8_E4M3),
                    s.input("kv_cache", kvCache, DType.UINT8), s.input("weights", weights, DType.FP32),
                    s.input("context_lens", contextLens, DType.INT32), s.input("block_table", blockTable, DType.INT32),
                    s.input("schedule_meta", scheduleMeta, DType.INT32), maxContextLen, cleanLogits, dtype);
            return s.output(s.keep(logits));
        }
    }

    /** The logits dtype a DJL data type asks for: FLOAT32 → FP32, BFLOAT16 → BF16. */
    private static DType logitsDtype(DataType dataType) {
        if (dataType == DataType.FLOAT32) {
            return DType.FP32;
        }
        if (dataType == DataType.BFLOAT16) {
            return DType.BF16;
        }
        throw new DeepGemmArgumentException("logits_dtype", "must be FLOAT32 or BFLOAT16, got "
                + (dataType == null ? "null" : dataType.name()));
    }

    /** Whether {@code array} is an FP8 array of {@link DeepGemmEngine} (see {@link DeepGemmNDArray#isFp8()}). */
    public static boolean isFp8(NDArray array) {
        return array instanceof DeepGemmNDArray ours && ours.isFp8();
    }
}
