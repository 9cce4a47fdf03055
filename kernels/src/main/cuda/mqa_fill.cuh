// mqa_fill.cuh: the −inf span fill and the work split shared by the clean passes (mqa_logits_clean.cu,
// paged_mqa_logits_clean.cu); expects common.cuh, DG_THREADS (the block size, a multiple of 32) and DG_CHUNK_COLS,
// and takes DG_LOGITS_BF16 (mqa_logits_out.cuh: 1 fills BF16 −inf, 0xff80).
//
// The work is split into units of one row and DG_CHUNK_COLS columns, one warp per unit, warps striding over the
// units: a launch has a few thousand CTAs whatever the output's size (one CTA per 1024 columns of every row made
// half a million CTAs for 8192 × 65536 logits, and launching them, most with nothing to write, cost more than the
// writes), and a unit of a row with nothing masked costs two loads.
#pragma once
#include "mqa_logits_out.cuh"

#if !defined(DG_THREADS) || !defined(DG_CHUNK_COLS) || DG_THREADS % 32 != 0 || DG_CHUNK_COLS % 4 != 0
#error "DG_THREADS (a multiple of 32) and DG_CHUNK_COLS (a multiple of 4) must be baked in"
#endif

// −inf into row[a, b) by one warp: single stores up to a 16-byte boundary, then 16-byte stores, then the tail.
DG_D void dg_warp_fill_neg_inf(dg_logit_t* row, i64 a, i64 b, u32 lane) {
    constexpr u32 kPerVector = 16u / sizeof(dg_logit_t);
    if (a >= b) {
        return;
    }
    i64 body = a + (i64) (((16u - (u32) (reinterpret_cast<u64>(row + a) & 15u)) & 15u) / (u32) sizeof(dg_logit_t));
    if (body > b) {
        body = b;
    }
    const dg_logit_t inf = dg_logit_neg_inf();
    for (i64 c = a + lane; c < body; c += 32) {
        row[c] = inf;
    }
    const i64 nv = (b - body) / kPerVector;
    uint4* v = reinterpret_cast<uint4*>(row + body);
    const u32 word = DG_LOGIT_NEG_INF_WORD;
    for (i64 t = lane; t < nv; t += 32) {
        v[t] = make_uint4(word, word, word, word);
    }
    for (i64 c = body + kPerVector * nv + lane; c < b; c += 32) {
        row[c] = inf;
    }
}

// Calls fill(row, begin, end) for every (row, column chunk) unit this warp owns, rows < rows and chunks of cols.
template <typename Fill>
DG_D void dg_for_each_clean_unit(int rows, int cols, Fill fill) {
    const i64 chunks = ((i64) cols + DG_CHUNK_COLS - 1) / DG_CHUNK_COLS;
    const i64 units = (i64) rows * chunks;
    const i64 warps = (i64) gridDim.x * (DG_THREADS / 32);
    for (i64 u = (i64) blockIdx.x * (DG_THREADS / 32) + threadIdx.x / 32; u < units; u += warps) {
        const i64 begin = (u % chunks) * DG_CHUNK_COLS;
        fill(u / chunks, begin, dg_min64(begin + DG_CHUNK_COLS, (i64) cols));
    }
}
