// gemm_tile.cuh: the block-scaled FP8 GEMM tile shared by the dense and grouped GEMM kernels.
//
// Baked constants (CudaSources defines them):
//   DG_BLOCK_M, DG_BLOCK_N  tile of D one CTA computes; multiples of 16, DG_BLOCK_N divides 128
//   DG_SCALES               0: FP32 A per (row, K block), FP32 B per (128-row block, K block)   ("1D2D")
//                           1: FP32 A and B per (row, K block)                                   ("1D1D")
//                           2: A and B per (row, K block) as UE8M0 bytes packed 4 to a u32 word, first
//                              K block in the lowest byte
//   DG_OUT_BF16             1: D holds bfloat16 bits (u16); 0: D holds FP32
//
// Math, operation for operation the CPU reference's (cpu/CpuDenseGemm), so results match it bit for bit:
// acc starts at D's value (when accumulating) or 0; for each 128-wide K block kb (ascending) part = Σ_k A·B in FP32
// with k ascending (FP8 products are exact in FP32, so fmaf equals the CPU's multiply-then-add), then
// acc = acc + part · (sfa[m, kb] · sfb[n, kb]), each operation rounded separately (no contraction); the result is
// rounded once (RNE) when D is BF16. Every output is summed by one thread in a fixed order, so reruns are bitwise
// identical. Operands are strided views (any major-ness); elements outside the matrix are never loaded.
#pragma once
#include "common.cuh"

#if !defined(DG_BLOCK_M) || !defined(DG_BLOCK_N) || !defined(DG_SCALES) || !defined(DG_OUT_BF16)
#error "gemm_tile.cuh needs DG_BLOCK_M, DG_BLOCK_N, DG_SCALES and DG_OUT_BF16 baked in"
#endif
#if DG_BLOCK_M % 16 != 0 || DG_BLOCK_N % 16 != 0 || 128 % DG_BLOCK_N != 0 || DG_BLOCK_M > 128
#error "DG_BLOCK_M must be a multiple of 16 up to 128 and DG_BLOCK_N a multiple of 16 dividing 128"
#endif

#define DG_GEMM_THREADS 256
// K elements staged in shared memory per step: four steps make one 128-wide scale block.
#define DG_GEMM_K_STEP 32
#define DG_GEMM_SCALE_K 128

#if DG_SCALES == 2
typedef u32 dg_sf_t;
#else
typedef float dg_sf_t;
#endif
#if DG_OUT_BF16
typedef u16 dg_out_t;
#else
typedef float dg_out_t;
#endif

// Thread (tx, ty) of the 16×16 thread grid owns rows ty + 16·i and columns tx + 16·j of the tile.
#define DG_TM (DG_BLOCK_M / 16)
#define DG_TN (DG_BLOCK_N / 16)

// An FP8 operand [rows, K] seen from the tile's first row: element (r, k) at data[r·s_row + k·s_k].
struct DgOperand {
    const u8* data;
    i64 s_row;
    i64 s_k;
    int rows;  // rows of this tile inside the matrix (≤ the tile height)
};

// Scales of one operand: entry (row, kb) at data[row·s_row + kb·s_k] (FP32), or byte kb%4 of the word
// data[row·s_row + (kb/4)·s_k] (UE8M0).
struct DgScales {
    const dg_sf_t* data;
    i64 s_row;
    i64 s_k;
};

DG_D float dg_scale_at(const DgScales& sf, i64 row, int kb) {
#if DG_SCALES == 2
    u32 word = sf.data[row * sf.s_row + (i64) (kb >> 2) * sf.s_k];
    return dg_ue8m0_to_float(word >> (8 * (kb & 3)));
#else
    return sf.data[row * sf.s_row + (i64) kb * sf.s_k];
#endif
}

// Decodes a [rows_in_tile, DG_GEMM_K_STEP] slice of an operand into tile[k][r] (zero outside the matrix).
// Consecutive threads walk the operand's unit-stride dimension, so K-major and MN-major both coalesce.
template <int ROWS>
DG_D void dg_stage_operand(float (*tile)[ROWS + 1], const DgOperand& op, int k0, int k_len) {
    for (int e = threadIdx.x; e < ROWS * DG_GEMM_K_STEP; e += DG_GEMM_THREADS) {
        int r;
        int kk;
        if (op.s_k == 1) {
            kk = e % DG_GEMM_K_STEP;
            r = e / DG_GEMM_K_STEP;
        } else {
            r = e % ROWS;
            kk = e / ROWS;
        }
        float v = 0.0f;
        if (r < op.rows && kk < k_len) {
            v = dg_fp8_to_float(op.data[(i64) r * op.s_row + (i64) (k0 + kk) * op.s_k]);
        }
        tile[kk][r] = v;
    }
}

// Adds Σ_kb (Σ_{k in kb} A[m,k]·B[n,k]) · (sfa[m,kb] · sfb[n,kb]) to the tile's accumulators (see
// dg_load_tile for their start value). `sfa` is seen from the tile's first row; B's scale row of tile column c is
// (n0 + c) / 128 with DG_SCALES 0, n0 + c otherwise. Must be called by all DG_GEMM_THREADS threads of the CTA (it
// synchronises).
DG_D void dg_gemm_tile(const DgOperand& a, const DgOperand& b, int k, const DgScales& sfa, const DgScales& sfb,
        i64 n0, float (&acc)[DG_TM][DG_TN]) {
    // +1 column of padding keeps the transposing stores free of bank conflicts.
    __shared__ float a_tile[DG_GEMM_K_STEP][DG_BLOCK_M + 1];
    __shared__ float b_tile[DG_GEMM_K_STEP][DG_BLOCK_N + 1];
    const int tx = threadIdx.x % 16;
    const int ty = threadIdx.x / 16;
    const int k_blocks = (int) dg_ceil_div(k, DG_GEMM_SCALE_K);
    for (int kb = 0; kb < k_blocks; kb++) {
        float part[DG_TM][DG_TN];
#pragma unroll
        for (int i = 0; i < DG_TM; i++) {
#pragma unroll
            for (int j = 0; j < DG_TN; j++) {
                part[i][j] = 0.0f;
            }
        }
        const int k_end = dg_min(k, (kb + 1) * DG_GEMM_SCALE_K);
        for (int k0 = kb * DG_GEMM_SCALE_K; k0 < k_end; k0 += DG_GEMM_K_STEP) {
            const int k_len = dg_min(DG_GEMM_K_STEP, k_end - k0);
            dg_stage_operand<DG_BLOCK_M>(a_tile, a, k0, k_len);
            dg_stage_operand<DG_BLOCK_N>(b_tile, b, k0, k_len);
            __syncthreads();
            // Only the real K columns: adding the zero padding could turn a −0 partial into +0.
#pragma unroll 4
            for (int kk = 0; kk < k_len; kk++) {
                float av[DG_TM];
                float bv[DG_TN];
#pragma unroll
                for (int i = 0; i < DG_TM; i++) {
                    av[i] = a_tile[kk][ty + 16 * i];
                }
#pragma unroll
                for (int j = 0; j < DG_TN; j++) {
                    bv[j] = b_tile[kk][tx + 16 * j];
                }
#pragma unroll
                for (int i = 0; i < DG_TM; i++) {
#pragma unroll
                    for (int j = 0; j < DG_TN; j++) {
                        part[i][j] = fmaf(av[i], bv[j], part[i][j]);
                    }
                }
            }
            __syncthreads();
        }
        float sa[DG_TM];
        float sb[DG_TN];
#pragma unroll
        for (int i = 0; i < DG_TM; i++) {
            const int r = ty + 16 * i;
            sa[i] = r < a.rows ? dg_scale_at(sfa, r, kb) : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < DG_TN; j++) {
            const int c = tx + 16 * j;
#if DG_SCALES == 0
            const i64 sf_row = (n0 + c) / 128;
#else
            const i64 sf_row = n0 + c;
#endif
            sb[j] = c < b.rows ? dg_scale_at(sfb, sf_row, kb) : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < DG_TM; i++) {
#pragma unroll
            for (int j = 0; j < DG_TN; j++) {
                acc[i][j] = __fadd_rn(acc[i][j], __fmul_rn(part[i][j], __fmul_rn(sa[i], sb[j])));
            }
        }
    }
}

// Start value of the accumulators: D's current value (BF16 decoded) when `accumulate` (D then already holds C),
// else 0; d is seen from the tile's corner and only cells inside rows × cols are read.
DG_D void dg_load_tile(float (&acc)[DG_TM][DG_TN], const dg_out_t* d, i64 d_sm, i64 d_sn, int rows, int cols,
        bool accumulate) {
    const int tx = threadIdx.x % 16;
    const int ty = threadIdx.x / 16;
#pragma unroll
    for (int i = 0; i < DG_TM; i++) {
#pragma unroll
        for (int j = 0; j < DG_TN; j++) {
            const int r = ty + 16 * i;
            const int c = tx + 16 * j;
            float v = 0.0f;
            if (accumulate && r < rows && c < cols) {
#if DG_OUT_BF16
                v = dg_bf16_to_float(d[(i64) r * d_sm + (i64) c * d_sn]);
#else
                v = d[(i64) r * d_sm + (i64) c * d_sn];
#endif
            }
            acc[i][j] = v;
        }
    }
}

// Stores the tile's rows r < rows with row_ok(r) and columns c < cols (BF16 rounded once, RNE); d is seen from the
// tile's corner.
template <typename RowOk>
DG_D void dg_store_tile(const float (&acc)[DG_TM][DG_TN], dg_out_t* d, i64 d_sm, i64 d_sn, int rows, int cols,
        RowOk row_ok) {
    const int tx = threadIdx.x % 16;
    const int ty = threadIdx.x / 16;
#pragma unroll
    for (int i = 0; i < DG_TM; i++) {
        const int r = ty + 16 * i;
        if (r >= rows || !row_ok(r)) {
            continue;
        }
#pragma unroll
        for (int j = 0; j < DG_TN; j++) {
            const int c = tx + 16 * j;
            if (c < cols) {
#if DG_OUT_BF16
                d[(i64) r * d_sm + (i64) c * d_sn] = dg_float_to_bf16(acc[i][j]);
#else
                d[(i64) r * d_sm + (i64) c * d_sn] = acc[i][j];
#endif
            }
        }
    }
}
