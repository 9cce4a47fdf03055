// paged_mqa_logits_clean.cu: writes −inf into logits[r, c] for every column c < cols outside [0, context_lens[b, t])
// of row r = b·next_n + t (the clean_logits pass after the Hopper paged kernel, which stores only visible logits).
// Columns inside are untouched; a negative length masks the whole row.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (block size), DG_COLS_PER_THREAD (part of the configuration key only).
//
// Parameters (exact order):
//   const int* context_lens  [batch, next_n], element (b, t) at context_lens[b·cl_sb + t]
//   i64        cl_sb
//   int        next_n
//   float*     logits        [rows, cols], element (r, c) at logits[r·l_ss + c]
//   i64        l_ss
//   int        rows, cols    rows = batch·next_n, cols = max_context_len
// Launch: grid (rows, any, 1), block (DG_THREADS, 1, 1), no dynamic shared memory; CTA (r, y) cleans the y-th of
// gridDim.y equal column chunks of row r.
#include "common.cuh"

#if !defined(DG_THREADS) || !defined(DG_COLS_PER_THREAD)
#error "DG_THREADS and DG_COLS_PER_THREAD must be baked in"
#endif

#include "mqa_fill.cuh"

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* context_lens, i64 cl_sb, int next_n, float* logits, i64 l_ss, int rows, int cols) {
    const i64 r = blockIdx.x;
    if (r >= rows || next_n < 1) {
        return;
    }
    const i64 chunk = ((i64) cols + gridDim.y - 1) / gridDim.y;
    const i64 begin = dg_min64((i64) blockIdx.y * chunk, (i64) cols);
    const i64 end = dg_min64(begin + chunk, (i64) cols);
    const i64 len = context_lens[(r / next_n) * cl_sb + r % next_n];
    float* row = logits + r * l_ss;
    dg_fill_neg_inf(row, dg_max64(begin, dg_max64(len, 0)), end);
}
