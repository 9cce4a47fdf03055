// mqa_logits.cu: plain FP8 MQA logits (the DeepSeek-V3.2 indexer, prefill).
// logits[i, c] = Σ_h weights[i, h] · ReLU(kv_sf[j] · Σ_d q[i, h, d] · kv[j, d]) for every KV row j of query row i
// with ks[i] ≤ j < ke[i] (range clamped to [0, s_kv]); without compression c = j, compressed (max_seqlen_k > 0)
// c = j − ks[i] with c < cols. Other positions are not written (mqa_logits_clean.cu writes −inf there).
//
// Baked: DG_KERNEL_NAME, the mqa_common.cuh constants (DG_HEADS, DG_HEAD_DIM, DG_TILE_KV) and optionally
// DG_LOGITS_BF16 (mqa_logits_out.cuh; 1: BF16 logits, each the FP32 logit rounded to nearest even).
//
// Parameters (exact order; strides in elements, innermost dimensions contiguous):
//   const u8*    q        [s_q, H, D] FP8, element (i, h, d) at q[i·q_ss + h·q_sh + d]
//   i64          q_ss, q_sh
//   const u8*    kv       [s_kv, D] FP8, element (j, d) at kv[j·kv_ss + d]
//   i64          kv_ss
//   const float* kv_sf    [s_kv], entry j at kv_sf[j·kv_sf_s]
//   i64          kv_sf_s
//   const float* weights  [s_q, H], element (i, h) at weights[i·w_ss + h]
//   i64          w_ss
//   const int*   ks       [s_q] cu_seq_len_k_start
//   const int*   ke       [s_q] cu_seq_len_k_end
//   dg_logit_t*  logits   [s_q, cols] FP32 (BF16 bits with DG_LOGITS_BF16), element (i, c) at logits[i·l_ss + c]
//   i64          l_ss
//   int          s_q, s_kv
//   int          cols     s_kv, or max_seqlen_k when compressed
//   int          compressed   1: column c of row i is KV row ks[i] + c; 0: column c is KV row c
// Launch: grid (s_q, ceil(cols/DG_TILE_KV), 1), block (DG_TILE_KV, 1, 1), no dynamic shared memory
// (static: 4·H·(D+1) bytes). A CTA whose columns miss the row's range returns at once.
#include "mqa_common.cuh"

extern "C" __global__ void __launch_bounds__(DG_TILE_KV, 1) DG_KERNEL_NAME(
        const u8* q, i64 q_ss, i64 q_sh,
        const u8* kv, i64 kv_ss,
        const float* kv_sf, i64 kv_sf_s,
        const float* weights, i64 w_ss,
        const int* ks, const int* ke,
        dg_logit_t* logits, i64 l_ss,
        int s_q, int s_kv, int cols, int compressed) {
    __shared__ __align__(16) DgMqaQuery staged;
    const i64 i = blockIdx.x;
    if (i >= s_q) {
        return;
    }
    const int lo = dg_min(dg_max(ks[i], 0), s_kv);
    const int hi = dg_min(dg_max(ke[i], lo), s_kv);
    const int c0 = blockIdx.y * DG_TILE_KV;
    const int first_col = compressed ? 0 : lo;
    const int end_col = compressed ? dg_min(hi - lo, cols) : dg_min(hi, cols);
    if (c0 >= end_col || c0 + DG_TILE_KV <= first_col) {
        return;
    }
    dg_mqa_stage_query(staged, q + i * q_ss, q_sh, weights + i * w_ss);
    __syncthreads();
    const int c = c0 + threadIdx.x;
    if (c >= first_col && c < end_col) {
        const i64 j = compressed ? (i64) lo + c : (i64) c;
        logits[i * l_ss + c] = dg_to_logit(dg_mqa_logit(staged, kv + j * kv_ss, kv_sf[j * kv_sf_s]));
    }
}
