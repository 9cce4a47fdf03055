// mqa_logits_clean.cu: writes −inf into logits[i, c] for every column c < cols outside [ks[i], ke[i]) (the
// clean_logits pass of the plain MQA logits; never used with compressed logits). Columns inside are untouched.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (block size), DG_COLS_PER_THREAD (part of the configuration key only: the body
// always stores 16 bytes per thread and step where alignment allows), DG_PAGED (1: the paged variant below, after the
// Hopper paged kernel; its visible range is [0, context_lens[b, t]) and its parameters are listed at the kernel).
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

// −inf into row[a, b): single stores up to a 16-byte boundary, then vector stores, then the tail.
DG_D void dg_fill_neg_inf(float* row, i64 a, i64 b) {
    if (a >= b) {
        return;
    }
    i64 body = a + (i64) (((16u - (u32) (reinterpret_cast<u64>(row + a) & 15u)) & 15u) / 4u);
    if (body > b) {
        body = b;
    }
    const float inf = dg_neg_inf();
    for (i64 c = a + threadIdx.x; c < body; c += DG_THREADS) {
        row[c] = inf;
    }
    const i64 n4 = (b - body) / 4;
    float4* v = reinterpret_cast<float4*>(row + body);
    for (i64 t = threadIdx.x; t < n4; t += DG_THREADS) {
        v[t] = make_float4(inf, inf, inf, inf);
    }
    for (i64 c = body + 4 * n4 + threadIdx.x; c < b; c += DG_THREADS) {
        row[c] = inf;
    }
}

#ifndef DG_PAGED
#define DG_PAGED 0
#endif

#if DG_PAGED
// Paged variant (after the Hopper paged kernel, which stores only visible logits): row r = b·next_n + t sees
// [0, context_lens[b, t]); parameters (const int* context_lens, i64 cl_sb, int next_n, float* logits, i64 l_ss,
// int s_q = batch·next_n, int cols = max_context_len), same launch.
extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* context_lens, i64 cl_sb, int next_n, float* logits, i64 l_ss, int s_q, int cols) {
#else
extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const int* ks, const int* ke, float* logits, i64 l_ss, int s_q, int cols) {
#endif
    const i64 i = blockIdx.x;
    if (i >= s_q) {
        return;
    }
    const i64 chunk = ((i64) cols + gridDim.y - 1) / gridDim.y;
    const i64 begin = dg_min64((i64) blockIdx.y * chunk, (i64) cols);
    const i64 end = dg_min64(begin + chunk, (i64) cols);
#if DG_PAGED
    const i64 lo = 0;
    const i64 hi = context_lens[(i / next_n) * cl_sb + i % next_n];
#else
    const i64 lo = ks[i];
    const i64 hi = ke[i];
#endif
    float* row = logits + i * l_ss;
    if (hi <= lo) {
        dg_fill_neg_inf(row, begin, end);
        return;
    }
    dg_fill_neg_inf(row, begin, dg_min64(end, lo));
    dg_fill_neg_inf(row, dg_max64(begin, hi), end);
}
