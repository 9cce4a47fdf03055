// fill.cu: dst[i0, i1, i2] = bits for a tensor of rank ≤ 3 (pad the shape with leading 1s) with any element
// strides, element size DG_ELEM_BYTES. `bits` is the element's bit pattern (the low DG_ELEM_BYTES bytes are used):
// the launcher encodes the float (FP32 bits, Bf16.fromFloat, Fp8E4M3.fromFloat, or the integer).
//
// Baked: DG_KERNEL_NAME, DG_ELEM_BYTES, DG_THREADS.
//
// Parameters (exact order; strides in elements):
//   dg_elem_t* dst   element (i0, i1, i2) at dst[i0·t0 + i1·t1 + i2·t2]
//   i64        t0, t1, t2
//   i64        n0, n1, n2   shape
//   u32        bits
// Launch: grid (any x ≥ 1, grid-stride loop as strided_copy.cu), block (DG_THREADS, 1, 1), no dynamic shared memory.
#include "common.cuh"
#include "elementwise.cuh"

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        dg_elem_t* dst, i64 t0, i64 t1, i64 t2, i64 n0, i64 n1, i64 n2, u32 bits) {
    const i64 total = n0 * n1 * n2;
    const dg_elem_t value = (dg_elem_t) bits;
    for (i64 e = (i64) blockIdx.x * DG_THREADS + threadIdx.x; e < total; e += (i64) gridDim.x * DG_THREADS) {
        const i64 i2 = e % n2;
        const i64 i1 = (e / n2) % n1;
        const i64 i0 = e / (n1 * n2);
        dst[i0 * t0 + i1 * t1 + i2 * t2] = value;
    }
}
