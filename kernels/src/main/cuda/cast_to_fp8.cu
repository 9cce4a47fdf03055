// cast_to_fp8.cu: FP8 quantisation with one scale per DG_GRAN_ROWS × DG_GRAN_COLS block of a [batch, rows, cols]
// input (FP32 or BF16). Per block: amax = max |x| (NaN propagates), at least 1e-4; scale = amax / 448, rounded up
// to a power of two with DG_UE8M0 (exponent + 1 when any mantissa bit is set, clamped to [1, 254]); each value is
// stored as fp8(x / scale) (RNE, saturating, bit-identical to Fp8E4M3.fromFloat) and scale as FP32. One CTA per
// block; the amax is exact, so the result does not depend on the reduction order.
//
// Baked: DG_KERNEL_NAME, DG_GRAN_ROWS, DG_GRAN_COLS, DG_IN_BF16 (input is u16 BF16 bits, else float),
// DG_UE8M0, DG_THREADS (a multiple of 32 up to 1024).
//
// Parameters (exact order; strides in elements):
//   const dg_in_t* x       [batch, rows, cols], element (z, r, c) at x[z·x_sb + r·x_sr + c·x_sc]
//   i64            x_sb, x_sr, x_sc
//   u8*            data    [batch, rows, cols] FP8, element (z, r, c) at data[z·d_sb + r·d_sr + c·d_sc]
//   i64            d_sb, d_sr, d_sc
//   float*         scales  [batch, ceil(rows/DG_GRAN_ROWS), ceil(cols/DG_GRAN_COLS)], element (z, i, j) at
//                          scales[z·s_sb + i·s_sr + j·s_sc]
//   i64            s_sb, s_sr, s_sc
//   int            rows, cols
// dg_in_t is u16 (DG_IN_BF16) or float. Launch: grid (ceil(rows/DG_GRAN_ROWS)·ceil(cols/DG_GRAN_COLS), 1, batch),
// block (DG_THREADS, 1, 1), no dynamic shared memory.
#include "common.cuh"

#if !defined(DG_GRAN_ROWS) || !defined(DG_GRAN_COLS) || !defined(DG_IN_BF16) || !defined(DG_UE8M0) \
    || !defined(DG_THREADS)
#error "DG_GRAN_ROWS, DG_GRAN_COLS, DG_IN_BF16, DG_UE8M0 and DG_THREADS must be baked in"
#endif
#if DG_THREADS % 32 != 0 || DG_THREADS > 1024
#error "DG_THREADS must be a multiple of 32 up to 1024"
#endif

#if DG_IN_BF16
typedef u16 dg_in_t;
DG_D float dg_load_in(const dg_in_t* x, i64 offset) { return dg_bf16_to_float(x[offset]); }
#else
typedef float dg_in_t;
DG_D float dg_load_in(const dg_in_t* x, i64 offset) { return x[offset]; }
#endif

// max that keeps NaN, like Java's Math.max.
DG_D float dg_max_nan(float a, float b) { return (a != a || a > b) ? a : b; }

#define DG_BLOCK_ELEMS (DG_GRAN_ROWS * DG_GRAN_COLS)

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const dg_in_t* x, i64 x_sb, i64 x_sr, i64 x_sc,
        u8* data, i64 d_sb, i64 d_sr, i64 d_sc,
        float* scales, i64 s_sb, i64 s_sr, i64 s_sc,
        int rows, int cols) {
    __shared__ float warp_max[DG_THREADS / 32];
    __shared__ float block_scale;
    const i64 col_blocks = dg_ceil_div(cols, DG_GRAN_COLS);
    const i64 rb = blockIdx.x / col_blocks;
    const i64 cb = blockIdx.x % col_blocks;
    const i64 z = blockIdx.z;
    const i64 r0 = rb * DG_GRAN_ROWS;
    const i64 c0 = cb * DG_GRAN_COLS;
    if (r0 >= rows) {
        return;
    }
    const int block_rows = (int) dg_min64(DG_GRAN_ROWS, rows - r0);
    const int block_cols = (int) dg_min64(DG_GRAN_COLS, cols - c0);
    const dg_in_t* xb = x + z * x_sb + r0 * x_sr + c0 * x_sc;

    float amax = 0.0f;
    for (int e = threadIdx.x; e < DG_BLOCK_ELEMS; e += DG_THREADS) {
        const int r = e / DG_GRAN_COLS;
        const int c = e % DG_GRAN_COLS;
        if (r < block_rows && c < block_cols) {
            const float v = dg_load_in(xb, (i64) r * x_sr + (i64) c * x_sc);
            amax = dg_max_nan(amax, v < 0.0f ? -v : v);
        }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
        amax = dg_max_nan(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
    }
    if (threadIdx.x % 32 == 0) {
        warp_max[threadIdx.x / 32] = amax;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float m = warp_max[0];
        for (int w = 1; w < DG_THREADS / 32; w++) {
            m = dg_max_nan(m, warp_max[w]);
        }
        float scale = dg_max_nan(m, 1e-4f) / 448.0f;
#if DG_UE8M0
        scale = dg_ceil_to_ue8m0(scale);
#endif
        block_scale = scale;
        scales[z * s_sb + rb * s_sr + cb * s_sc] = scale;
    }
    __syncthreads();
    const float scale = block_scale;
    u8* db = data + z * d_sb + r0 * d_sr + c0 * d_sc;
    for (int e = threadIdx.x; e < DG_BLOCK_ELEMS; e += DG_THREADS) {
        const int r = e / DG_GRAN_COLS;
        const int c = e % DG_GRAN_COLS;
        if (r < block_rows && c < block_cols) {
            const float v = dg_load_in(xb, (i64) r * x_sr + (i64) c * x_sc);
            db[(i64) r * d_sr + (i64) c * d_sc] = dg_float_to_fp8(v / scale);
        }
    }
}
