// mqa_common.cuh: the per-position weighted-ReLU logit shared by the plain and paged MQA logits kernels.
//
// Baked: DG_HEADS (H, 1..64), DG_HEAD_DIM (D, a multiple of 16 up to 128), DG_TILE_KV (threads per CTA = KV
// positions per CTA, a multiple of 32 up to 1024).
//
// logit = Σ_h w[h] · ReLU(kv_scale · q_h·kv), computed operation for operation as the CPU reference
// (cpu/CpuMqaLogits.logit) does, so results match it bit for bit: per head four FP32 partial dots over
// d ≡ 0, 1, 2, 3 (mod 4), d ascending (FP8 products are exact, so fmaf equals multiply-then-add), combined as
// (a0 + a1) + (a2 + a3), times kv_scale; heads with a score > 0 (NaN drops out) add w·score, h ascending, each
// operation rounded separately. One thread computes one logit, so reruns are bitwise identical.
#pragma once
#include "common.cuh"
#include "mqa_logits_out.cuh"

#if !defined(DG_HEADS) || !defined(DG_HEAD_DIM) || !defined(DG_TILE_KV)
#error "mqa_common.cuh needs DG_HEADS, DG_HEAD_DIM and DG_TILE_KV baked in"
#endif
#if DG_HEADS < 1 || DG_HEADS > 64 || DG_HEAD_DIM % 16 != 0 || DG_HEAD_DIM > 128
#error "unsupported DG_HEADS / DG_HEAD_DIM"
#endif
#if DG_TILE_KV % 32 != 0 || DG_TILE_KV > 1024
#error "DG_TILE_KV must be a multiple of 32 up to 1024"
#endif

// Shared staging of one query row: q decoded to float [H][D] (16-byte aligned for float4 reads) and weights [H].
struct DgMqaQuery {
    float q[DG_HEADS * DG_HEAD_DIM];
    float w[DG_HEADS];
};

// Four consecutive bytes as a little-endian word; one load when the address allows it.
DG_D u32 dg_load_u32(const u8* p) {
    if ((reinterpret_cast<u64>(p) & 3u) == 0u) {
        return *reinterpret_cast<const u32*>(p);
    }
    return (u32) p[0] | ((u32) p[1] << 8) | ((u32) p[2] << 16) | ((u32) p[3] << 24);
}

DG_D float dg_load_f32(const u8* p) { return dg_bits_float(dg_load_u32(p)); }

// Stages q[h, d] = q_row[h·q_sh + d] and w[h] = w_row[h]. All threads must call it; it does not synchronise.
DG_D void dg_mqa_stage_query(DgMqaQuery& s, const u8* q_row, i64 q_sh, const float* w_row) {
    for (int e = threadIdx.x; e < DG_HEADS * DG_HEAD_DIM; e += DG_TILE_KV) {
        const int h = e / DG_HEAD_DIM;
        const int dd = e % DG_HEAD_DIM;
        s.q[e] = dg_fp8_to_float(q_row[(i64) h * q_sh + dd]);
    }
    for (int h = threadIdx.x; h < DG_HEADS; h += DG_TILE_KV) {
        s.w[h] = w_row[h];
    }
}

// The logit of one KV row (DG_HEAD_DIM FP8 bytes at kv_row) against the staged query. The row stays packed in
// registers (D/4 words) and is decoded again for every head, which keeps register use flat in H.
DG_D float dg_mqa_logit(const DgMqaQuery& s, const u8* kv_row, float kv_scale) {
    u32 words[DG_HEAD_DIM / 4];
#pragma unroll
    for (int w = 0; w < DG_HEAD_DIM / 4; w++) {
        words[w] = dg_load_u32(kv_row + 4 * w);
    }
    float sum = 0.0f;
#pragma unroll 1
    for (int h = 0; h < DG_HEADS; h++) {
        const float* qh = &s.q[h * DG_HEAD_DIM];
        float a0 = 0.0f;
        float a1 = 0.0f;
        float a2 = 0.0f;
        float a3 = 0.0f;
#pragma unroll
        for (int w = 0; w < DG_HEAD_DIM / 4; w++) {
            const float4 qv = *reinterpret_cast<const float4*>(qh + 4 * w);
            a0 = fmaf(qv.x, dg_fp8_to_float(words[w] & 0xffu), a0);
            a1 = fmaf(qv.y, dg_fp8_to_float((words[w] >> 8) & 0xffu), a1);
            a2 = fmaf(qv.z, dg_fp8_to_float((words[w] >> 16) & 0xffu), a2);
            a3 = fmaf(qv.w, dg_fp8_to_float(words[w] >> 24), a3);
        }
        const float score = __fmul_rn(kv_scale, __fadd_rn(__fadd_rn(a0, a1), __fadd_rn(a2, a3)));
        if (score > 0.0f) {
            sum = __fadd_rn(sum, __fmul_rn(s.w[h], score));
        }
    }
    return sum;
}
