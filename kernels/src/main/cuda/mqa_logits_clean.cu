// mqa_logits_clean.cu: writes −inf into logits[i, c] for every column c < cols outside [ks[i], ke[i]) (the
// clean_logits pass of the plain MQA logits; never used with compressed logits). Columns inside are untouched.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (block size), DG_COLS_PER_THREAD.
//
// Parameters (exact order):
//   const int* ks      [s_q]
//   const int* ke      [s_q]
//   float*     logits  [s_q, cols], element (i, c) at logits[i·l_ss + c]
//   i64        l_ss
//   int        s_q, cols
// Launch: grid (s_q, ceil(cols/(DG_THREADS·DG_COLS_PER_THREAD)), 1), block (DG_THREADS, 1, 1), no dynamic
// shared memory.
#include "common.cuh"

#if !defined(DG_THREADS) || !defined(DG_COLS_PER_THREAD)
#error "DG_THREADS and DG_COLS_PER_THREAD must be baked in"
#endif

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* ks, const int* ke, float* logits, i64 l_ss, int s_q, int cols) {
    const i64 i = blockIdx.x;
    if (i >= s_q) {
        return;
    }
    const int lo = ks[i];
    const int hi = ke[i];
    const i64 c0 = (i64) blockIdx.y * DG_THREADS * DG_COLS_PER_THREAD + threadIdx.x;
#pragma unroll
    for (int t = 0; t < DG_COLS_PER_THREAD; t++) {
        const i64 c = c0 + (i64) t * DG_THREADS;
        if (c < cols && (c < lo || c >= hi)) {
            logits[i * l_ss + c] = dg_neg_inf();
        }
    }
}
