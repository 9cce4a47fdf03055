// strided_copy.cu: dst[i0, i1, i2] = src[i0, i1, i2] for tensors of rank ≤ 3 (pad the shape with leading 1s) with
// any element strides, element size DG_ELEM_BYTES (1, 2 or 4). Used for Backend.copy and the MN-major, TMA-aligned
// scale transforms. Source and destination must not overlap.
//
// Baked: DG_KERNEL_NAME, DG_ELEM_BYTES, DG_THREADS.
//
// Parameters (exact order; strides in elements):
//   const dg_elem_t* src   element (i0, i1, i2) at src[i0·s0 + i1·s1 + i2·s2]
//   i64              s0, s1, s2
//   dg_elem_t*       dst   element (i0, i1, i2) at dst[i0·t0 + i1·t1 + i2·t2]
//   i64              t0, t1, t2
//   i64              n0, n1, n2   shape
// dg_elem_t is u8, u16 or u32. Launch: grid (any x ≥ 1; the kernel strides over all n0·n1·n2 elements, so
// min(ceil(total/DG_THREADS), cap) is enough), block (DG_THREADS, 1, 1), no dynamic shared memory.
#include "common.cuh"
#include "elementwise.cuh"

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const dg_elem_t* src, i64 s0, i64 s1, i64 s2,
        dg_elem_t* dst, i64 t0, i64 t1, i64 t2,
        i64 n0, i64 n1, i64 n2) {
    const i64 total = n0 * n1 * n2;
    for (i64 e = (i64) blockIdx.x * DG_THREADS + threadIdx.x; e < total; e += (i64) gridDim.x * DG_THREADS) {
        const i64 i2 = e % n2;
        const i64 i1 = (e / n2) % n1;
        const i64 i0 = e / (n1 * n2);
        dst[i0 * t0 + i1 * t1 + i2 * t2] = src[i0 * s0 + i1 * s1 + i2 * s2];
    }
}
