// k_grouped_gemm.cu: K-grouped GEMM (MoE weight gradient). Group g owns ks[g] tokens; D[g] += A_g · B_gᵀ with
// A_g [m, K_g] and B_g [n, K_g] taken from flat buffers, per-token FP32 scales on both sides (DG_SCALES 1),
// FP32 D that already holds C (DG_OUT_BF16 0).
//
// Baked: DG_KERNEL_NAME, DG_MN_MAJOR and the gemm_tile.cuh constants.
//   DG_MN_MAJOR 0 ("nt"): group blocks are packed end to end, A_g row-major [m, K_g] starting at element
//                         m·Σ_{h<g} K_h of a (B alike with n);
//   DG_MN_MAJOR 1 ("tn"): a is [ΣK, m] row-major (tokens as rows): A_g[i, kk] = a[(Σ_{h<g} K_h + kk)·m + i].
// Group g's scales are the columns Σ_{h<g} ceil(K_h/128) onwards of the logical [m, Σ ceil(K_h/128)] sfa
// (and [n, ...] sfb). ks lives on the device: negative sizes count as 0 and a group reaching past total_k is cut
// there, so no read leaves the buffers; a group with K_g = 0 leaves D[g] untouched.
//
// Parameters (exact order; strides in elements):
//   const u8*    a            flat A, m·total_k FP8 values
//   const u8*    b            flat B, n·total_k FP8 values
//   const float* sfa          logical [m, Σ ceil(K_g/128)], entry (i, c) at sfa[i·sfa_sm + c·sfa_sk]
//   i64          sfa_sm, sfa_sk
//   const float* sfb          logical [n, Σ ceil(K_g/128)], entry (j, c) at sfb[j·sfb_sn + c·sfb_sk]
//   i64          sfb_sn, sfb_sk
//   float*       d            D [num_groups, m, n], element (g, i, j) at d[g·d_sg + i·d_sm + j·d_sn]
//   i64          d_sg, d_sm, d_sn
//   const int*   ks           [num_groups] tokens per group
//   int          num_groups
//   i64          total_k      tokens in the flat buffers (Σ ks as the host knows it)
//   int          m, n
// Launch: grid (ceil(m/DG_BLOCK_M), ceil(n/DG_BLOCK_N), num_groups), block (256, 1, 1), no dynamic shared memory.
#include "gemm_tile.cuh"

#ifndef DG_MN_MAJOR
#error "DG_MN_MAJOR must be baked in"
#endif
#if DG_SCALES != 1 || DG_OUT_BF16 != 0
#error "the K-grouped GEMM takes FP32 per-token scales and accumulates into FP32 D"
#endif

extern "C" __global__ void __launch_bounds__(DG_GEMM_THREADS, 1) DG_KERNEL_NAME(
        const u8* a, const u8* b,
        const float* sfa, i64 sfa_sm, i64 sfa_sk,
        const float* sfb, i64 sfb_sn, i64 sfb_sk,
        float* d, i64 d_sg, i64 d_sm, i64 d_sn,
        const int* ks, int num_groups, i64 total_k, int m, int n) {
    const int g = blockIdx.z;
    const i64 m0 = (i64) blockIdx.x * DG_BLOCK_M;
    const i64 n0 = (i64) blockIdx.y * DG_BLOCK_N;
    if (g >= num_groups || m0 >= m || n0 >= n) {
        return;
    }
    i64 k_before = 0;
    i64 kb_before = 0;
    for (int h = 0; h < g; h++) {
        const i64 kh = dg_min64(dg_max64(ks[h], 0), dg_max64(total_k - k_before, 0));
        k_before += kh;
        kb_before += dg_ceil_div(kh, DG_GEMM_SCALE_K);
    }
    const int kg = (int) dg_min64(dg_max64(ks[g], 0), dg_max64(total_k - k_before, 0));
    if (kg == 0) {
        return;
    }
    const int rows = (int) dg_min64(DG_BLOCK_M, m - m0);
    const int cols = (int) dg_min64(DG_BLOCK_N, n - n0);
#if DG_MN_MAJOR
    const DgOperand tile_a = {a + k_before * m + m0, 1, m, rows};
    const DgOperand tile_b = {b + k_before * n + n0, 1, n, cols};
#else
    const DgOperand tile_a = {a + k_before * m + m0 * kg, kg, 1, rows};
    const DgOperand tile_b = {b + k_before * n + n0 * kg, kg, 1, cols};
#endif
    const DgScales scales_a = {sfa + m0 * sfa_sm + kb_before * sfa_sk, sfa_sm, sfa_sk};
    const DgScales scales_b = {sfb + kb_before * sfb_sk, sfb_sn, sfb_sk};
    float acc[DG_TM][DG_TN];
    dg_load_tile(acc, d + (i64) g * d_sg + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols, true);
    dg_gemm_tile(tile_a, tile_b, kg, scales_a, scales_b, n0, acc);
    dg_store_tile(acc, d + (i64) g * d_sg + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols,
            [](int) { return true; });
}
