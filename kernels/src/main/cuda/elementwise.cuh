// elementwise.cuh: the element type of the strided copy and fill kernels.
// Baked: DG_ELEM_BYTES (1, 2 or 4), DG_THREADS (a multiple of 32 up to 1024).
#pragma once
#include "common.cuh"

#if !defined(DG_ELEM_BYTES) || !defined(DG_THREADS)
#error "DG_ELEM_BYTES and DG_THREADS must be baked in"
#endif
#if DG_ELEM_BYTES == 1
typedef u8 dg_elem_t;
#elif DG_ELEM_BYTES == 2
typedef u16 dg_elem_t;
#elif DG_ELEM_BYTES == 4
typedef u32 dg_elem_t;
#else
#error "DG_ELEM_BYTES must be 1, 2 or 4"
#endif
