package dev.deepgemm4j;

/**
 * DeepGEMM's FP8 API for the JVM. Every function mirrors a DeepGEMM function of the same meaning under a Java name
 * ({@code fp8_gemm_nt} → {@link #fp8GemmNt}).
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>GEMMs compute {@code D = C + A·B} into the caller's {@code d} and return nothing. The two letters give the
 *       logical transposition: {@code nt} takes A [M, K] and B [N, K]; {@code nn} B as [K, N]; {@code tn} A as
 *       [K, M]; {@code tt} both. Major-ness is read from strides.</li>
 *   <li>Operands are {@link Fp8Tensor} (data, scales) pairs. With FP32 scales per block of B ([ceil(N/128),
 *       ceil(K/128)]) the call is "1D2D": D is BF16 and no C is allowed. With per-token B scales ([N,
 *       ceil(K/128)]) it is "1D1D": D is FP32 and C is required.</li>
 *   <li>{@code m == 0} or {@code n == 0} does nothing; {@code k == 0} makes D a copy of C (or zeros). A C that is not
 *       D is copied into D first.</li>
 *   <li>Tensors in host memory run on the CPU reference backend, tensors on a GPU run there; mixing locations is an
 *       error. Bad input raises {@link DeepGemmArgumentException} naming the argument and the rule, before any
 *       work.</li>
 * </ul>
 */
public final class DeepGemm {

    private DeepGemm() {
    }

    // ------------------------------------------------------------------ dense GEMMs

    /** {@code D = A·Bᵀ} with A [M, K], B [N, K] (1D2D: BF16 D, no C). */
    public static void fp8GemmNt(Fp8Tensor a, Fp8Tensor b, Tensor d) {
        DenseGemmOp.run(GemmLayout.NT, a, b, d, null, null);
    }

    /** {@code D = C + A·Bᵀ} with A [M, K], B [N, K]; C may be null or {@code d} itself. */
    public static void fp8GemmNt(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c) {
        DenseGemmOp.run(GemmLayout.NT, a, b, d, c, null);
    }

    /** As {@link #fp8GemmNt(Fp8Tensor, Fp8Tensor, Tensor, Tensor)} with an explicit scale recipe. */
    public static void fp8GemmNt(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c, Recipe recipe) {
        DenseGemmOp.run(GemmLayout.NT, a, b, d, c, recipe);
    }

    /** {@code D = A·B} with A [M, K], B given as [K, N]. */
    public static void fp8GemmNn(Fp8Tensor a, Fp8Tensor b, Tensor d) {
        DenseGemmOp.run(GemmLayout.NN, a, b, d, null, null);
    }

    /** {@code D = C + A·B} with A [M, K], B given as [K, N]. */
    public static void fp8GemmNn(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c) {
        DenseGemmOp.run(GemmLayout.NN, a, b, d, c, null);
    }

    /** {@code D = Aᵀ·Bᵀ} with A given as [K, M], B [N, K]. */
    public static void fp8GemmTn(Fp8Tensor a, Fp8Tensor b, Tensor d) {
        DenseGemmOp.run(GemmLayout.TN, a, b, d, null, null);
    }

    /** {@code D = C + Aᵀ·Bᵀ} with A given as [K, M], B [N, K]. */
    public static void fp8GemmTn(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c) {
        DenseGemmOp.run(GemmLayout.TN, a, b, d, c, null);
    }

    /** {@code D = Aᵀ·B} with A given as [K, M], B given as [K, N]. */
    public static void fp8GemmTt(Fp8Tensor a, Fp8Tensor b, Tensor d) {
        DenseGemmOp.run(GemmLayout.TT, a, b, d, null, null);
    }

    /** {@code D = C + Aᵀ·B} with A given as [K, M], B given as [K, N]. */
    public static void fp8GemmTt(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c) {
        DenseGemmOp.run(GemmLayout.TT, a, b, d, c, null);
    }

    /** Any layout with an explicit recipe. */
    public static void fp8Gemm(GemmLayout layout, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor c, Recipe recipe) {
        DenseGemmOp.run(layout, a, b, d, c, recipe);
    }

    // ------------------------------------------------------------------ grouped GEMMs

    /**
     * MoE forward over experts laid end to end: A [M_total, K], B [G, N, K], D [M_total, N] BF16.
     * {@code mIndices} (INT32 [M_total]) holds each row's expert, or −1 for padding rows; each expert's rows start at
     * a multiple of {@link #getMkAlignmentForContiguousLayout()}, and every aligned block belongs to one expert.
     * Padding rows of D are not meaningful.
     */
    public static void mGroupedFp8GemmNtContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor mIndices) {
        GroupedGemmOp.contiguous(false, a, b, d, mIndices, false);
    }

    /**
     * As {@link #mGroupedFp8GemmNtContiguous(Fp8Tensor, Fp8Tensor, Tensor, Tensor)}; with {@code usePsumLayout},
     * {@code groupedLayout} is INT32 [G] holding each expert's end row (expert g starts at the aligned end of expert
     * g−1) and rows between experts are left untouched.
     */
    public static void mGroupedFp8GemmNtContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout,
            boolean usePsumLayout) {
        GroupedGemmOp.contiguous(false, a, b, d, groupedLayout, usePsumLayout);
    }

    /** Contiguous grouped GEMM with B given as [G, K, N]. */
    public static void mGroupedFp8GemmNnContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout,
            boolean usePsumLayout) {
        GroupedGemmOp.contiguous(true, a, b, d, groupedLayout, usePsumLayout);
    }

    /**
     * MoE decode: A [G, M_max, K], B [G, N, K], D [G, M_max, N] BF16. Group g computes only its first
     * {@code maskedM[g]} rows (INT32 [G], read where the kernel runs, so the call can be captured in a CUDA graph);
     * the other rows of D are left untouched. {@code expectedM} is a hint for tile selection.
     */
    public static void mGroupedFp8GemmNtMasked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        GroupedGemmOp.masked(a, b, d, maskedM, expectedM);
    }

    /**
     * MoE weight gradient, groups along K: group g owns {@code ks[g]} tokens (a multiple of 128); its A block is an
     * [M, K_g] K-major matrix and its B block [N, K_g], blocks laid end to end in flat FP8 buffers; scales FP32
     * [M, Σ ceil(K_g/128)] and [N, Σ ceil(K_g/128)]. {@code D[g] = C[g] + A_g·B_gᵀ}, D and C FP32 [G, M, N].
     *
     * @param ks the group sizes on the host
     * @param ksTensor the same sizes as an INT32 [G] tensor where the kernel runs (may be null)
     */
    public static void kGroupedFp8GemmNtContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, int[] ks, Tensor ksTensor,
            Tensor c) {
        GroupedGemmOp.kGrouped(false, a, b, d, ks, ksTensor, c);
    }

    /**
     * As {@link #kGroupedFp8GemmNtContiguous} with A [ΣK, M] and B [ΣK, N] MN-major (tokens as rows) and scales FP32
     * [Σ ceil(K_g/128), M] and [Σ ceil(K_g/128), N].
     */
    public static void kGroupedFp8GemmTnContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, int[] ks, Tensor ksTensor,
            Tensor c) {
        GroupedGemmOp.kGrouped(true, a, b, d, ks, ksTensor, c);
    }

    // ------------------------------------------------------------------ MQA logits

    /**
     * The DeepSeek-V3.2 indexer: {@code logits[i, j] = Σ_h w[i,h]·ReLU(kvScale[j]·(q[i,h,:]·kv[j,:]))} for
     * {@code ks[i] ≤ j < ke[i]}.
     *
     * @param q FP8 [S, H, D]
     * @param kv FP8 [S_kv, D] with FP32 scales [S_kv]
     * @param weights FP32 [S, H]
     * @param cuSeqLenKStart INT32 [S], ks
     * @param cuSeqLenKEnd INT32 [S], ke
     * @param cleanLogits write −inf outside [ks, ke) (must be false when compressed)
     * @param maxSeqlenK 0 for [S, S_kv] logits; &gt; 0 for the compressed [S, maxSeqlenK] output whose column c of
     *     row i is KV index ks[i] + c
     * @return FP32 logits, a view of a buffer whose rows are padded for TMA
     */
    public static Tensor fp8MqaLogits(Tensor q, Fp8Tensor kv, Tensor weights, Tensor cuSeqLenKStart,
            Tensor cuSeqLenKEnd, boolean cleanLogits, int maxSeqlenK) {
        return fp8MqaLogits(q, kv, weights, cuSeqLenKStart, cuSeqLenKEnd, cleanLogits, maxSeqlenK, DType.FP32);
    }

    /**
     * {@link #fp8MqaLogits(Tensor, Fp8Tensor, Tensor, Tensor, Tensor, boolean, int)} with DeepGEMM's
     * {@code logits_dtype}: FP32 or BF16. A BF16 logit is the FP32 logit rounded to nearest even; −inf cleaning is
     * the same. The rows of the padded buffer start on 1024 bytes for either dtype (512 BF16 elements).
     *
     * @param logitsDtype {@link DType#FP32} or {@link DType#BF16}
     * @return logits of {@code logitsDtype}, a view of a buffer whose rows are padded for TMA
     */
    public static Tensor fp8MqaLogits(Tensor q, Fp8Tensor kv, Tensor weights, Tensor cuSeqLenKStart,
            Tensor cuSeqLenKEnd, boolean cleanLogits, int maxSeqlenK, DType logitsDtype) {
        return MqaLogitsOp.plain(q, kv, weights, cuSeqLenKStart, cuSeqLenKEnd, cleanLogits, maxSeqlenK, logitsDtype);
    }

    /**
     * Scheduling metadata for {@link #fp8PagedMqaLogits}: INT32 [numSms + 1, 2], row s the (query atom, KV split) at
     * which SM s starts.
     *
     * @param contextLens INT32 [B, next_n]
     * @param numSms SMs the paged kernel will run on (get_num_sms() at its call), 1 to 65536
     */
    public static Tensor getPagedMqaLogitsMetadata(Tensor contextLens, int blockKv, int numSms) {
        return MqaLogitsOp.metadata(contextLens, blockKv, numSms);
    }

    /**
     * Decode-time indexer over a paged KV cache.
     *
     * @param q FP8 [B, next_n, H, D]
     * @param kvCache UINT8 [num_blocks, block_kv, 1, D + 4]: per block, block_kv·D FP8 bytes then block_kv FP32
     *     scales
     * @param weights FP32 [B·next_n, H]
     * @param contextLens INT32 [B, next_n]: row (b, t) sees positions p &lt; contextLens[b, t]
     * @param blockTable INT32 [B, max_blocks]
     * @param scheduleMeta from {@link #getPagedMqaLogitsMetadata} with the current {@link #getNumSms()}
     * @param cleanLogits write −inf at invisible positions
     * @return FP32 logits [B·next_n, maxContextLen], a view of a row-padded buffer
     */
    public static Tensor fp8PagedMqaLogits(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens,
            Tensor blockTable, Tensor scheduleMeta, int maxContextLen, boolean cleanLogits) {
        return fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, scheduleMeta, maxContextLen,
                cleanLogits, DType.FP32);
    }

    /**
     * {@link #fp8PagedMqaLogits(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, int, boolean)} with DeepGEMM's
     * {@code logits_dtype}: FP32 or BF16. A BF16 logit is the FP32 logit rounded to nearest even; −inf cleaning is
     * the same. The rows of the padded buffer start on 1024 bytes for either dtype (512 BF16 elements).
     *
     * @param logitsDtype {@link DType#FP32} or {@link DType#BF16}
     * @return logits [B·next_n, maxContextLen] of {@code logitsDtype}, a view of a row-padded buffer
     */
    public static Tensor fp8PagedMqaLogits(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens,
            Tensor blockTable, Tensor scheduleMeta, int maxContextLen, boolean cleanLogits, DType logitsDtype) {
        return MqaLogitsOp.paged(q, kvCache, weights, contextLens, blockTable, scheduleMeta, maxContextLen,
                cleanLogits, logitsDtype);
    }

    // ------------------------------------------------------------------ layout utilities

    /** {@code x} rounded up to a multiple of {@code 16 / elementSize} (so a column starts on 16 bytes). */
    public static long getTmaAlignedSize(long x, int elementSize) {
        return ScaleLayoutOp.tmaAlignedSize(x, elementSize);
    }

    /**
     * FP32 scales [MN, SFK] or [G, MN, SFK] in the layout the kernels read: same logical shape, MN-major, MN
     * stride padded to {@link #getTmaAlignedSize}. Returns {@code sf} itself when it already is.
     */
    public static Tensor getMnMajorTmaAlignedTensor(Tensor sf) {
        return ScaleLayoutOp.mnMajorTmaAligned(sf);
    }

    /**
     * FP32 power-of-two scales [.., MN, SFK] packed to UE8M0 words [.., MN, ceil(SFK/4)], MN-major, TMA-aligned.
     */
    public static Tensor getMnMajorTmaAlignedPackedUe8m0Tensor(Tensor sf) {
        return ScaleLayoutOp.mnMajorTmaAlignedPackedUe8m0(sf);
    }

    /**
     * The scale transform every GEMM applies on Hopper: per-token FP32 scales become MN-major and TMA-aligned,
     * per-block FP32 scales and packed UE8M0 scales are only checked. {@code disableUe8m0Cast} is accepted for
     * DeepGEMM parity; Hopper-class backends keep FP32 scales either way.
     *
     * @param sf the scales
     * @param mn rows of the operand
     * @param k K of the operand
     * @param recipe the GEMM's recipe
     * @param numGroups groups for 3-D scales, or 0
     * @param isSfa whether these are A's scales (else B's)
     * @param disableUe8m0Cast keep FP32 scales as they are
     */
    public static Tensor transformSfIntoRequiredLayout(Tensor sf, long mn, long k, Recipe recipe, int numGroups,
            boolean isSfa, boolean disableUe8m0Cast) {
        return ScaleLayoutOp.transformSf(sf, mn, k, recipe, numGroups, isSfa, disableUe8m0Cast);
    }

    /** Alignment of expert segments in contiguous layouts (default 128). */
    public static int getMkAlignmentForContiguousLayout() {
        return Knobs.mkAlignment();
    }

    /** Sets the alignment of expert segments in contiguous layouts: a power of two from 16 to 1024. */
    public static void setMkAlignmentForContiguousLayout(int alignment) {
        Knobs.setMkAlignment(alignment);
    }

    // ------------------------------------------------------------------ runtime knobs

    /** Caps the SMs (persistent grid size) the kernels use; 0 &lt; n ≤ the device's SM count. */
    public static void setNumSms(int numSms) {
        Knobs.setNumSms(numSms);
    }

    /** The SM cap: the device's SM count unless {@link #setNumSms} lowered it (CPU: available processors). */
    public static int getNumSms() {
        return Knobs.numSms();
    }

    /** Tensor-core utilisation target, 0–100 (0 means 100). */
    public static void setTcUtil(int percent) {
        Knobs.setTcUtil(percent);
    }

    /** Tensor-core utilisation target. */
    public static int getTcUtil() {
        return Knobs.tcUtil();
    }

    /**
     * Turns the opt-in tuner on or off for this process (default: the {@code DG_AUTOTUNE} variable, off when unset).
     * Not in DeepGEMM. While on, the first call of each new problem of a tuned kernel (today the persistent Hopper
     * dense 1D2D kernel, which runs GEMMs with more than 64 rows of K-major, TMA-aligned operands) times the
     * heuristic's best few configurations on the caller's operands, each writing into a scratch output, and keeps the
     * fastest: in memory, and on disk under the JIT cache ({@code <DG_JIT_CACHE_DIR>/tuning}, shared by every process
     * of the user on the same device model). That first call waits for the timing (milliseconds plus the candidates'
     * first compiles), and so do calls of other threads that meet the problem meanwhile; later calls, in any process,
     * launch the kept choice at once. A call made while its stream is being captured into a graph never tunes: it
     * takes a kept choice or the heuristic's. {@code DG_PRINT_CONFIGS} prints each candidate's time.
     */
    public static void setAutotune(boolean on) {
        Knobs.setAutotune(on);
    }

    /** Whether the opt-in tuner is on ({@link #setAutotune}). */
    public static boolean isAutotune() {
        return Knobs.autotune();
    }

    // ------------------------------------------------------------------ quantizers

    /** Per-token (1×128) FP8 quantisation of x [M, K] (FP32 or BF16): data [M, K], FP32 scales [M, ceil(K/128)]. */
    public static Fp8Tensor perTokenCastToFp8(Tensor x, boolean useUe8m0) {
        return QuantizeOp.cast(x, 1, 128, useUe8m0, "per_token");
    }

    /** Per-block (128×128) FP8 quantisation of x [N, K]: scales [ceil(N/128), ceil(K/128)]. */
    public static Fp8Tensor perBlockCastToFp8(Tensor x, boolean useUe8m0) {
        return QuantizeOp.cast(x, 128, 128, useUe8m0, "per_block");
    }

    /** Per-channel (128×1, along rows) FP8 quantisation of x [K, N]: scales [ceil(K/128), N]. */
    public static Fp8Tensor perChannelCastToFp8(Tensor x, boolean useUe8m0) {
        return QuantizeOp.cast(x, 128, 1, useUe8m0, "per_channel");
    }

    /**
     * DeepGEMM's error metric {@code 1 − 2·Σxy / Σ(x² + y²)} in float64 (0 when both are all zero). Right FP8 GEMMs
     * give ~1e-6 against the float64 product of their quantised inputs; 1e-3 is the threshold against unquantised
     * inputs.
     */
    public static double calcDiff(Tensor x, Tensor y) {
        return QuantizeOp.calcDiff(x, y);
    }
}
