// mqa_logits_clean.cu: writes −inf into logits[i, c] for every column c < cols outside [ks[i], ke[i]) (the
// clean_logits pass of the plain MQA logits; never used with compressed logits). Columns inside are untouched.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (block size), DG_COLS_PER_THREAD (part of the configuration key only: the body
// always stores 16 bytes per thread and step where alignment allows).
//
// Parameters (exact order):
//   const int* ks      [s_q]
//   const int* ke      [s_q]
//   float*     logits  [s_q, cols], element (i, c) at logits[i·l_ss + c]
//   i64        l_ss
//   int        s_q, cols
// Launch: grid (s_q, any, 1), block (DG_THREADS, 1, 1), no dynamic shared memory. CTA (i, y) cleans the y-th of
// gridDim.y equal column chunks of row i and only visits the masked spans, so the work is proportional to the
// bytes written, not to the row length.
#include "common.cuh"

#if !defined(DG_THREADS) || !defined(DG_COLS_PER_THREAD)
#error "DG_THREADS and DG_COLS_PER_THREAD must be baked in"
#endif

#include "mqa_fill.cuh"

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* ks, const int* ke, float* logits, i64 l_ss, int s_q, int cols) {
    const i64 i = blockIdx.x;
    if (i >= s_q) {
        return;
    }
    const i64 chunk = ((i64) cols + gridDim.y - 1) / gridDim.y;
    const i64 begin = dg_min64((i64) blockIdx.y * chunk, (i64) cols);
    const i64 end = dg_min64(begin + chunk, (i64) cols);
    const i64 lo = ks[i];
    const i64 hi = ke[i];
    float* row = logits + i * l_ss;
    if (hi <= lo) {
        dg_fill_neg_inf(row, begin, end);
        return;
    }
    dg_fill_neg_inf(row, begin, dg_min64(end, lo));
    dg_fill_neg_inf(row, dg_max64(begin, hi), end);
}
