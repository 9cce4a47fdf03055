// grouped_gemm_masked.cu: M-grouped GEMM with per-group valid row counts read on the device (MoE decode,
// CUDA-graph capturable: the launch does not depend on masked_m). For each group g:
// D[g, i, :] = A[g, i, :] · B[g]ᵀ for i < masked_m[g] (clamped to [0, max_m]); other rows are untouched.
//
// Baked: DG_KERNEL_NAME and the gemm_tile.cuh constants.
//
// Parameters (exact order; strides in elements):
//   const u8*      a            A [num_groups, max_m, k], element (g, i, kk) at a[g·a_sg + i·a_sm + kk·a_sk]
//   i64            a_sg, a_sm, a_sk
//   const u8*      b            B [num_groups, n, k]
//   i64            b_sg, b_sn, b_sk
//   const dg_sf_t* sfa          A scales [num_groups, max_m, ceil(k/128)] (UE8M0: u32 words)
//   i64            sfa_sg, sfa_sm, sfa_sk
//   const dg_sf_t* sfb          B scales [num_groups, ceil(n/128) or n, ceil(k/128)] (UE8M0: words)
//   i64            sfb_sg, sfb_sn, sfb_sk
//   dg_out_t*      d            D [num_groups, max_m, n]
//   i64            d_sg, d_sm, d_sn
//   const int*     masked_m     [num_groups], valid rows per group
//   int            max_m, n, k
// Launch: grid (ceil(max_m/DG_BLOCK_M), ceil(n/DG_BLOCK_N), num_groups), block (256, 1, 1), no dynamic shared
// memory. CTAs beyond a group's masked_m return at once.
#include "gemm_tile.cuh"

extern "C" __global__ void __launch_bounds__(DG_GEMM_THREADS, 1) DG_KERNEL_NAME(
        const u8* a, i64 a_sg, i64 a_sm, i64 a_sk,
        const u8* b, i64 b_sg, i64 b_sn, i64 b_sk,
        const dg_sf_t* sfa, i64 sfa_sg, i64 sfa_sm, i64 sfa_sk,
        const dg_sf_t* sfb, i64 sfb_sg, i64 sfb_sn, i64 sfb_sk,
        dg_out_t* d, i64 d_sg, i64 d_sm, i64 d_sn,
        const int* masked_m, int max_m, int n, int k) {
    const i64 g = blockIdx.z;
    const i64 m0 = (i64) blockIdx.x * DG_BLOCK_M;
    const i64 n0 = (i64) blockIdx.y * DG_BLOCK_N;
    const int valid_m = dg_max(0, dg_min(masked_m[g], max_m));
    if (m0 >= valid_m || n0 >= n) {
        return;
    }
    const int rows = (int) dg_min64(DG_BLOCK_M, valid_m - m0);
    const int cols = (int) dg_min64(DG_BLOCK_N, n - n0);
    const DgOperand tile_a = {a + g * a_sg + m0 * a_sm, a_sm, a_sk, rows};
    const DgOperand tile_b = {b + g * b_sg + n0 * b_sn, b_sn, b_sk, cols};
    const DgScales scales_a = {sfa + g * sfa_sg + m0 * sfa_sm, sfa_sm, sfa_sk};
    const DgScales scales_b = {sfb + g * sfb_sg, sfb_sn, sfb_sk};
    float acc[DG_TM][DG_TN];
    dg_load_tile(acc, d + g * d_sg + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols, false);
    dg_gemm_tile(tile_a, tile_b, k, scales_a, scales_b, n0, acc);
    dg_store_tile(acc, d + g * d_sg + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols, [](int) { return true; });
}
