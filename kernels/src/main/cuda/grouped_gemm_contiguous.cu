// grouped_gemm_contiguous.cu: M-grouped GEMM over experts laid end to end (MoE forward).
// Row i of A and D belongs to one expert e(i), or to none; D[i, :] = A[i, :] · B[e(i)]ᵀ, rows without an
// expert are left untouched.
//
// Baked: DG_KERNEL_NAME, DG_PSUM_LAYOUT, and the gemm_tile.cuh constants.
//   DG_PSUM_LAYOUT 0 (index layout): grouped_layout [m] holds each row's expert, −1 for padding rows.
//   DG_PSUM_LAYOUT 1 (psum layout):  grouped_layout [num_groups] holds each expert's end row; expert g owns rows
//                                    [align(end[g−1], alignment), end[g]) with end[−1] = 0.
// The layout lives on the device, so nothing is trusted: expert ids outside [0, num_groups) mean "no expert",
// and a tile whose rows belong to several experts (a layout whose segments are not aligned to the tile) is
// computed once per expert present, storing each pass's own rows only. A valid layout takes one pass per tile;
// a tile of padding rows takes none.
//
// Parameters (exact order; strides in elements):
//   const u8*      a            A [m, k], element (i, kk) at a[i·a_sm + kk·a_sk]
//   i64            a_sm, a_sk
//   const u8*      b            B [num_groups, n, k], element (g, j, kk) at b[g·b_sg + j·b_sn + kk·b_sk]
//   i64            b_sg, b_sn, b_sk
//   const dg_sf_t* sfa          A scales [m, ceil(k/128)] (UE8M0: u32 words [m, ceil(k/512)])
//   i64            sfa_sm, sfa_sk
//   const dg_sf_t* sfb          B scales [num_groups, ceil(n/128) or n, ceil(k/128)] (UE8M0: words)
//   i64            sfb_sg, sfb_sn, sfb_sk
//   dg_out_t*      d            D [m, n]
//   i64            d_sm, d_sn
//   const int*     grouped_layout   [m] (index) or [num_groups] (psum)
//   int            num_groups
//   int            alignment    psum segment alignment (ignored by the index layout; ≥ 1)
//   int            m, n, k
// Launch: grid (ceil(m/DG_BLOCK_M), ceil(n/DG_BLOCK_N), 1), block (256, 1, 1), no dynamic shared memory.
#include "gemm_tile.cuh"

#ifndef DG_PSUM_LAYOUT
#error "DG_PSUM_LAYOUT must be baked in"
#endif

// The expert of row `row`, or −1.
DG_D int dg_row_expert(const int* grouped_layout, int num_groups, int alignment, i64 row) {
#if DG_PSUM_LAYOUT
    const i64 align = alignment < 1 ? 1 : alignment;
    i64 start = 0;
    for (int g = 0; g < num_groups; g++) {
        const i64 end = grouped_layout[g];
        if (row >= start && row < end) {
            return g;
        }
        start = end <= 0 ? 0 : dg_ceil_div(end, align) * align;
    }
    return -1;
#else
    const int e = grouped_layout[row];
    return e >= 0 && e < num_groups ? e : -1;
#endif
}

extern "C" __global__ void __launch_bounds__(DG_GEMM_THREADS, 1) DG_KERNEL_NAME(
        const u8* a, i64 a_sm, i64 a_sk,
        const u8* b, i64 b_sg, i64 b_sn, i64 b_sk,
        const dg_sf_t* sfa, i64 sfa_sm, i64 sfa_sk,
        const dg_sf_t* sfb, i64 sfb_sg, i64 sfb_sn, i64 sfb_sk,
        dg_out_t* d, i64 d_sm, i64 d_sn,
        const int* grouped_layout, int num_groups, int alignment,
        int m, int n, int k) {
    __shared__ int row_expert[DG_BLOCK_M];
    const i64 m0 = (i64) blockIdx.x * DG_BLOCK_M;
    const i64 n0 = (i64) blockIdx.y * DG_BLOCK_N;
    if (m0 >= m || n0 >= n) {
        return;
    }
    const int rows = (int) dg_min64(DG_BLOCK_M, m - m0);
    const int cols = (int) dg_min64(DG_BLOCK_N, n - n0);
    for (int r = threadIdx.x; r < DG_BLOCK_M; r += DG_GEMM_THREADS) {
        row_expert[r] = r < rows ? dg_row_expert(grouped_layout, num_groups, alignment, m0 + r) : -1;
    }
    __syncthreads();
    const DgOperand tile_a = {a + m0 * a_sm, a_sm, a_sk, rows};
    const DgScales scales_a = {sfa + m0 * sfa_sm, sfa_sm, sfa_sk};
    int previous = -1;
    while (true) {
        // Every thread scans the same shared array, so `expert` is uniform across the CTA.
        int expert = num_groups;
        for (int r = 0; r < rows; r++) {
            const int e = row_expert[r];
            if (e > previous && e < expert) {
                expert = e;
            }
        }
        if (expert == num_groups) {
            return;
        }
        const DgOperand tile_b = {b + (i64) expert * b_sg + n0 * b_sn, b_sn, b_sk, cols};
        const DgScales scales_b = {sfb + (i64) expert * sfb_sg, sfb_sn, sfb_sk};
        float acc[DG_TM][DG_TN];
        dg_load_tile(acc, d + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols, false);
        dg_gemm_tile(tile_a, tile_b, k, scales_a, scales_b, n0, acc);
        dg_store_tile(acc, d + m0 * d_sm + n0 * d_sn, d_sm, d_sn, rows, cols,
                [&](int r) { return row_expert[r] == expert; });
        previous = expert;
    }
}
