// mqa_fill.cuh: the −inf span fill shared by the clean passes (mqa_logits_clean.cu, paged_mqa_logits_clean.cu);
// expects common.cuh and DG_THREADS (the block size).
#pragma once

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
