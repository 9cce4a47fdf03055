// paged_mqa_logits.cu: FP8 MQA logits over a paged KV cache (the DeepSeek-V3.2 indexer, decode).
// For batch b and draft token t (output row r = b·next_n + t) and every position p < max_context_len:
//   visible (p < context_lens[b, t]):
//       logits[r, p] = Σ_h weights[r, h] · ReLU(scale(p) · Σ_d q[b, t, h, d] · kv(p)[d]),
//       kv(p) = slot p % block_kv of cache block block_table[b, p / block_kv];
//       a visible position whose table entry is not a block of the cache (p / block_kv ≥ max_blocks, or an id
//       outside [0, num_blocks)) reads nothing and gets NaN, so a corrupt table shows instead of reading another
//       sequence's cache;
//   invisible: −inf when clean, untouched otherwise.
// Cache block layout (the "fused" kv_cache): block_kv·D FP8 bytes (slot-major), then block_kv FP32 scales.
// The grid covers every output position directly; it needs no schedule (the metadata is for persistent kernels).
//
// Baked: DG_KERNEL_NAME, the mqa_common.cuh constants (DG_HEADS, DG_HEAD_DIM, DG_TILE_KV) and optionally
// DG_LOGITS_BF16 (mqa_logits_out.cuh; 1: BF16 logits, each the FP32 value rounded to nearest even, −inf 0xff80).
//
// Parameters (exact order; strides in elements unless named _bytes):
//   const u8*    q                [batch, next_n, H, D] FP8, element (b, t, h, d) at q[b·q_sb + t·q_st + h·q_sh + d]
//   i64          q_sb, q_st, q_sh
//   const u8*    kv_cache         [num_blocks] blocks, block x at kv_cache + x·block_bytes
//   i64          block_bytes      bytes between blocks (≥ block_kv·(D+4), a multiple of 4)
//   int          num_blocks
//   const float* weights          [batch·next_n, H], element (r, h) at weights[r·w_sr + h]
//   i64          w_sr
//   const int*   context_lens     [batch, next_n], element (b, t) at context_lens[b·cl_sb + t]
//   i64          cl_sb
//   const int*   block_table      [batch, max_blocks], element (b, x) at block_table[b·bt_sb + x]
//   i64          bt_sb
//   int          max_blocks
//   dg_logit_t*  logits           [batch·next_n, max_context_len] FP32 (BF16 bits with DG_LOGITS_BF16),
//                                 element (r, p) at logits[r·l_sr + p]
//   i64          l_sr
//   int          batch, max_context_len
//   int          next_n           draft tokens per sequence (≥ 1)
//   int          block_kv         positions per cache block (≥ 1)
//   int          clean            1: write −inf at invisible positions; 0: leave them
// Launch: grid (batch, ceil(max_context_len/DG_TILE_KV), 1), block (DG_TILE_KV, 1, 1), no dynamic shared memory.
#include "mqa_common.cuh"

extern "C" __global__ void __launch_bounds__(DG_TILE_KV, 1) DG_KERNEL_NAME(
        const u8* q, i64 q_sb, i64 q_st, i64 q_sh,
        const u8* kv_cache, i64 block_bytes, int num_blocks,
        const float* weights, i64 w_sr,
        const int* context_lens, i64 cl_sb,
        const int* block_table, i64 bt_sb, int max_blocks,
        dg_logit_t* logits, i64 l_sr,
        int batch, int max_context_len, int next_n, int block_kv, int clean) {
    __shared__ __align__(16) DgMqaQuery staged;
    const i64 b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const int p0 = blockIdx.y * DG_TILE_KV;
    const int p = p0 + threadIdx.x;
#pragma unroll 1
    for (int t = 0; t < next_n; t++) {
        const i64 r = b * next_n + t;
        const int len = dg_min(dg_max(context_lens[b * cl_sb + t], 0), max_context_len);
        if (p0 >= len) {
            // No visible position in this tile (uniform over the CTA).
            if (clean && p < max_context_len) {
                logits[r * l_sr + p] = dg_logit_neg_inf();
            }
            continue;
        }
        __syncthreads();  // the previous token's readers are done with `staged`
        dg_mqa_stage_query(staged, q + b * q_sb + t * q_st, q_sh, weights + r * w_sr);
        __syncthreads();
        if (p >= max_context_len) {
            continue;
        }
        float value;
        if (p < len) {
            const int x = p / block_kv;
            const int slot = p % block_kv;
            const int block = x < max_blocks ? block_table[b * bt_sb + x] : -1;
            if (block >= 0 && block < num_blocks) {
                const u8* base = kv_cache + (i64) block * block_bytes;
                const float scale = dg_load_f32(base + (i64) block_kv * DG_HEAD_DIM + 4 * slot);
                value = dg_mqa_logit(staged, base + (i64) slot * DG_HEAD_DIM, scale);
            } else {
                value = dg_nan();
            }
        } else if (clean) {
            value = dg_neg_inf();
        } else {
            continue;
        }
        logits[r * l_sr + p] = dg_to_logit(value);
    }
}
