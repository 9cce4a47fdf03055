package dev.deepgemm4j.backend;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import java.util.List;

/**
 * What a compute backend (the CPU reference, the CUDA kernels) implements. The public API validates every argument
 * and normalises layouts before calling in, so a backend may assume legal, consistent input: operands are logical
 * views (A [M, K], B [N, K]) whose strides may be anything the validator accepted.
 *
 * <p>This is an internal extension point, not part of the user API.
 */
public interface Backend {

    /** Short name for logs and benchmark tables ("cpu", "cuda:0 (NVIDIA H100)"). */
    String name();

    /** Streaming multiprocessors of the device (the CPU backend: available processors). */
    int smCount();

    /** Whether this backend computes on tensors at {@code location}. */
    boolean supports(Location location);

    /** A new zero-filled tensor at {@code location} with the given strides. */
    Tensor allocate(DType dtype, long[] shape, long[] strides, Location location);

    /**
     * A new tensor like {@link #allocate} whose contents are unspecified, for outputs the caller overwrites entirely
     * (a device backend skips the fill, which for large outputs costs as much as a kernel). The default zero-fills.
     */
    default Tensor allocateForOverwrite(DType dtype, long[] shape, long[] strides, Location location) {
        return allocate(dtype, shape, strides, location);
    }

    /**
     * Copies {@code src} into {@code dst} (same shape and dtype, any strides). At least one of them is on this
     * backend; a device backend also copies between host memory and its device.
     */
    void copy(Tensor src, Tensor dst);

    /** Sets every element of {@code dst} to {@code value}. */
    void fill(Tensor dst, float value);

    /**
     * Dense FP8 GEMM: {@code d (+)= A · Bᵀ} with A [M, K] and B [N, K] and scales as {@code recipe} says; adds to
     * {@code d} when {@code accumulate} (which then already holds C), overwrites it otherwise.
     */
    void fp8Gemm(Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate);

    /**
     * M-grouped contiguous GEMM: A [M_total, K], B [G, N, K], D [M_total, N] BF16. With the index layout,
     * {@code groupedLayout} [M_total] holds each row's expert or −1 (rows left untouched); with the psum layout,
     * [G] holds each expert's end row, expert g starting at {@code align(end[g-1], alignment)}.
     */
    void mGroupedFp8GemmContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout, boolean psumLayout,
            int alignment);

    /**
     * M-grouped masked GEMM: A [G, M_max, K], B [G, N, K], D [G, M_max, N] BF16; only rows below
     * {@code maskedM[g]} are computed, the rest of D is left untouched.
     */
    void mGroupedFp8GemmMasked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM);

    /**
     * K-grouped GEMM (weight gradient): for each group g, {@code d[g] += A_g · B_gᵀ}, where A_g [M, K_g] and
     * B_g [N, K_g] are views (with per-token scales [M, ceil(K_g/128)], [N, ceil(K_g/128)]) into the caller's
     * flat buffers. {@code d} [G, M, N] FP32 already holds C.
     */
    void kGroupedFp8Gemm(List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d);

    /**
     * Plain MQA logits into {@code logits} [S, S_kv] (or [S, maxSeqlenK] when compressed), FP32 or BF16: the tensor's
     * dtype chooses, and a BF16 logit is the FP32 one rounded to nearest even. Positions outside [ks[i], ke[i]) get
     * −inf when {@code clean}, and are left as they are otherwise.
     */
    void fp8MqaLogits(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits, boolean clean,
            int maxSeqlenK);

    /** Paged-MQA scheduling metadata [numSms + 1, 2] for {@code contextLens} [B, next_n]. */
    void pagedMqaLogitsMetadata(Tensor contextLens, int blockKv, int numSms, Tensor out);

    /**
     * Paged MQA logits into {@code logits} [B·next_n, maxContextLen], FP32 or BF16 as for {@link #fp8MqaLogits};
     * invisible positions −inf when clean.
     */
    void fp8PagedMqaLogits(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, Tensor logits, boolean clean);

    /**
     * Quantises {@code x} [.., R, C] (FP32 or BF16) to FP8 with one scale per {@code granRows × granCols} block:
     * amax over the block (at least 1e-4), scale = amax / 448 (rounded up to a power of two when {@code ue8m0}),
     * value = x / scale. Writes {@code data} [.., R, C] and FP32 {@code scales} [.., ceil(R/granRows),
     * ceil(C/granCols)].
     */
    void castToFp8(Tensor x, int granRows, int granCols, boolean ue8m0, Tensor data, Tensor scales);

    /**
     * Packs FP32 power-of-two scales {@code sf} [.., MN, SFK] into {@code out} [.., MN, ceil(SFK/4)] UE8M0 words
     * (four consecutive K blocks per word, first in the lowest byte, missing tail blocks 0).
     */
    void packUe8m0(Tensor sf, Tensor out);
}
