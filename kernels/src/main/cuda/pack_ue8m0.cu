// pack_ue8m0.cu: packs FP32 power-of-two scales sf [groups, mn, sfk] into UE8M0 words out [groups, mn,
// ceil(sfk/4)]: byte j of word w is the exponent byte of sf[.., .., 4w + j] (first K block in the lowest byte),
// 0 for the missing tail blocks. Scales must be positive powers of two (the API checks that on the host; the
// kernel takes the exponent bits as they are).
//
// Baked: DG_KERNEL_NAME, DG_THREADS.
//
// Parameters (exact order; strides in elements):
//   const float* sf    element (g, i, kb) at sf[g·s0 + i·s1 + kb·s2]
//   i64          s0, s1, s2
//   u32*         out   element (g, i, w) at out[g·t0 + i·t1 + w·t2]
//   i64          t0, t1, t2
//   i64          groups, mn
//   int          sfk
// Launch: grid (any x ≥ 1; grid-stride loop over groups·mn·ceil(sfk/4) words), block (DG_THREADS, 1, 1), no
// dynamic shared memory.
#include "common.cuh"

#ifndef DG_THREADS
#error "DG_THREADS must be baked in"
#endif

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const float* sf, i64 s0, i64 s1, i64 s2,
        u32* out, i64 t0, i64 t1, i64 t2,
        i64 groups, i64 mn, int sfk) {
    const i64 words = dg_ceil_div(sfk, 4);
    const i64 total = groups * mn * words;
    for (i64 e = (i64) blockIdx.x * DG_THREADS + threadIdx.x; e < total; e += (i64) gridDim.x * DG_THREADS) {
        const i64 w = e % words;
        const i64 i = (e / words) % mn;
        const i64 g = e / (words * mn);
        u32 packed = 0u;
        for (int j = 0; j < 4; j++) {
            const i64 kb = 4 * w + j;
            if (kb < sfk) {
                packed |= ((dg_float_bits(sf[g * s0 + i * s1 + kb * s2]) >> 23) & 0xffu) << (8 * j);
            }
        }
        out[g * t0 + i * t1 + w * t2] = packed;
    }
}
