// dense_gemm.cu: D (+)= A · Bᵀ with block-scaled FP8 operands (the normalised nt/nn/tn/tt GEMMs).
//
// Baked: DG_KERNEL_NAME and the gemm_tile.cuh constants (DG_BLOCK_M, DG_BLOCK_N, DG_SCALES, DG_OUT_BF16).
//
// Parameters (exact order; strides in elements, not bytes):
//   const u8*      a       A [m, k] FP8 E4M3, element (i, kk) at a[i·a_sm + kk·a_sk]
//   i64            a_sm, a_sk
//   const u8*      b       B [n, k] FP8 E4M3, element (j, kk) at b[j·b_sn + kk·b_sk]
//   i64            b_sn, b_sk
//   const dg_sf_t* sfa     A scales [m, ceil(k/128)] (DG_SCALES 2: u32 words [m, ceil(k/512)])
//   i64            sfa_sm, sfa_sk
//   const dg_sf_t* sfb     B scales: DG_SCALES 0: [ceil(n/128), ceil(k/128)]; 1: [n, ceil(k/128)];
//                          2: u32 words [n, ceil(k/512)]
//   i64            sfb_sn, sfb_sk
//   dg_out_t*      d       D [m, n], u16 BF16 bits (DG_OUT_BF16) or float; element (i, j) at d[i·d_sm + j·d_sn]
//   i64            d_sm, d_sn
//   int            m, n, k
//   int            accumulate   1: D += A·Bᵀ (D already holds C); 0: D = A·Bᵀ
// dg_sf_t is float (DG_SCALES 0, 1) or u32 (2). Launch: grid (ceil(m/DG_BLOCK_M), ceil(n/DG_BLOCK_N), 1),
// block (256, 1, 1), no dynamic shared memory.
#include "gemm_tile.cuh"

extern "C" __global__ void __launch_bounds__(DG_GEMM_THREADS, 1) DG_KERNEL_NAME(
        const u8* a, i64 a_sm, i64 a_sk,
        const u8* b, i64 b_sn, i64 b_sk,
        const dg_sf_t* sfa, i64 sfa_sm, i64 sfa_sk,
        const dg_sf_t* sfb, i64 sfb_sn, i64 sfb_sk,
        dg_out_t* d, i64 d_sm, i64 d_sn,
        int m, int n, int k, int accumulate) {
    const i64 m0 = (i64) blockIdx.x * DG_BLOCK_M;
    const i64 n0 = (i64) blockIdx.y * DG_BLOCK_N;
    if (m0 >= m || n0 >= n) {
        return;
    }
    const int rows = (int) dg_min64(DG_BLOCK_M, m - m0);
    const int cols = (int) dg_min64(DG_BLOCK_N, n - n0);
    const DgOperand tile_a = {a + m0 * a_sm, a_sm, a_sk, rows};
    const DgOperand tile_b = {b + n0 * b_sn, b_sn, b_sk, cols};
    const DgScales scales_a = {sfa + m0 * sfa_sm, sfa_sm, sfa_sk};
    const DgScales scales_b = {sfb, sfb_sn, sfb_sk};
    float acc[DG_TM][DG_TN];
    dg_load_tile(acc, d + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols, accumulate != 0);
    dg_gemm_tile(tile_a, tile_b, k, scales_a, scales_b, n0, acc);
    dg_store_tile(acc, d + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols, [](int) { return true; });
}
