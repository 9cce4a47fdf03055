// mqa_logits_clean.cu: writes −inf into logits[i, c] for every column c < cols outside [ks[i], ke[i]) (the
// clean_logits pass of the plain MQA logits; never used with compressed logits). Columns inside are untouched.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (block size, a multiple of 32), DG_CHUNK_COLS (columns of one warp's unit),
// DG_LOGITS_BF16 (optional, default 0: FP32 logits; 1: BF16, −inf = 0xff80).
//
// Parameters (exact order):
//   const int*  ks      [s_q]
//   const int*  ke      [s_q]
//   dg_logit_t* logits  [s_q, cols] FP32 (BF16 bits with DG_LOGITS_BF16), element (i, c) at logits[i·l_ss + c]
//   i64         l_ss
//   int         s_q, cols
// Launch: grid (any, 1, 1), block (DG_THREADS, 1, 1), no dynamic shared memory. Warps stride over the units of
// one row and DG_CHUNK_COLS columns (mqa_fill.cuh) and visit only the masked spans, so the work is proportional to
// the bytes written, not to the row length.
#include "common.cuh"
#include "mqa_fill.cuh"

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* ks, const int* ke, dg_logit_t* logits, i64 l_ss, int s_q, int cols) {
    const u32 lane = threadIdx.x % 32;
    dg_for_each_clean_unit(s_q, cols, [&](i64 i, i64 begin, i64 end) {
        const i64 lo = ks[i];
        const i64 hi = ke[i];
        dg_logit_t* row = logits + i * l_ss;
        if (hi <= lo) {
            dg_warp_fill_neg_inf(row, begin, end, lane);
            return;
        }
        dg_warp_fill_neg_inf(row, begin, dg_min64(end, lo), lane);
        dg_warp_fill_neg_inf(row, dg_max64(begin, hi), end, lane);
    });
}
