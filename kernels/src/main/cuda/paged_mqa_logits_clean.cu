// paged_mqa_logits_clean.cu: writes −inf into logits[r, c] for every column c < cols outside [0, context_lens[b, t])
// of row r = b·next_n + t (the clean_logits pass after the Hopper paged kernel, which stores only visible logits).
// Columns inside are untouched; a negative length masks the whole row.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (block size, a multiple of 32), DG_CHUNK_COLS (columns of one warp's unit),
// DG_LOGITS_BF16 (optional, default 0: FP32 logits; 1: BF16, −inf = 0xff80).
//
// Parameters (exact order):
//   const int*  context_lens  [batch, next_n], element (b, t) at context_lens[b·cl_sb + t]
//   i64         cl_sb
//   int         next_n
//   dg_logit_t* logits        [rows, cols] FP32 (BF16 bits with DG_LOGITS_BF16), element (r, c) at logits[r·l_ss + c]
//   i64         l_ss
//   int         rows, cols    rows = batch·next_n, cols = max_context_len
// Launch: grid (any, 1, 1), block (DG_THREADS, 1, 1), no dynamic shared memory; warps stride over the units of one
// row and DG_CHUNK_COLS columns (mqa_fill.cuh).
#include "common.cuh"
#include "mqa_fill.cuh"

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* context_lens, i64 cl_sb, int next_n, dg_logit_t* logits, i64 l_ss, int rows, int cols) {
    if (next_n < 1) {
        return;
    }
    const u32 lane = threadIdx.x % 32;
    dg_for_each_clean_unit(rows, cols, [&](i64 r, i64 begin, i64 end) {
        const i64 len = context_lens[(r / next_n) * cl_sb + r % next_n];
        dg_warp_fill_neg_inf(logits + r * l_ss, dg_max64(begin, dg_max64(len, 0)), end, lane);
    });
}
