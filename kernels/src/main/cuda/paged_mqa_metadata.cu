// paged_mqa_metadata.cu: the work schedule of the paged MQA logits over num_sms persistent CTAs.
//
// Work units: query atom a covers batch b = a / atoms_per_seq and draft tokens [2·(a % atoms_per_seq),
// +DG_TOKENS_PER_ATOM) ∩ [0, next_n), atoms_per_seq = ceil(next_n / DG_TOKENS_PER_ATOM); its length L_a is the
// largest context_lens[b, t] over those tokens (negative counts as 0) and it holds ceil(L_a / DG_SPLIT_KV) units.
// With T units in all, SM s starts at unit U_s = s·floor(T/num_sms) + extra(s), where the T mod num_sms SMs that get
// one more unit are the first ones (DG_EXTRA_FIRST 1: extra(s) = min(s, T mod num_sms)) or the last ones
// (DG_EXTRA_FIRST 0: extra(s) = max(0, s − (num_sms − T mod num_sms))). Row s of the output is (a, U_s − P_a)
// for the atom a with P_a ≤ U_s < P_a + units(a) (P = exclusive prefix sum of units); a start at U_s = T, and
// row num_sms (the sentinel), is (num_atoms, 0).
//
// Baked: DG_KERNEL_NAME, DG_SPLIT_KV, DG_TOKENS_PER_ATOM, DG_EXTRA_FIRST.
//
// Parameters (exact order):
//   const int* context_lens  [batch, next_n], element (b, t) at context_lens[b·cl_sb + t]
//   i64        cl_sb
//   int        batch, next_n
//   int*       out           [num_sms + 1, 2] row-major: out[2s] = atom, out[2s + 1] = split
//   int        num_sms
// Launch: grid (1, 1, 1), block (DG_METADATA_THREADS, 1, 1) (a multiple of 32, at most 1024), no dynamic shared
// memory. The block reads the context lengths in parallel, chunk by chunk: a serial walk costs one dependent global
// load per atom (150 µs for B = 256 on an H100, as long as the logits kernel itself).
#include "common.cuh"

#if !defined(DG_SPLIT_KV) || !defined(DG_TOKENS_PER_ATOM) || !defined(DG_EXTRA_FIRST) || !defined(DG_METADATA_THREADS)
#error "DG_SPLIT_KV, DG_TOKENS_PER_ATOM, DG_EXTRA_FIRST and DG_METADATA_THREADS must be baked in"
#endif

DG_D i64 dg_atom_units(const int* context_lens, i64 cl_sb, int next_n, i64 atom, int atoms_per_seq) {
    const i64 b = atom / atoms_per_seq;
    const int t0 = (int) (atom % atoms_per_seq) * DG_TOKENS_PER_ATOM;
    const int t1 = dg_min(t0 + DG_TOKENS_PER_ATOM, next_n);
    int len = 0;
    for (int t = t0; t < t1; t++) {
        len = dg_max(len, context_lens[b * cl_sb + t]);
    }
    return dg_ceil_div(len, DG_SPLIT_KV);
}

DG_D i64 dg_sm_start(int s, i64 total, int num_sms) {
    const i64 per_sm = total / num_sms;
    const i64 remainder = total % num_sms;
#if DG_EXTRA_FIRST
    return s * per_sm + dg_min64(s, remainder);
#else
    return s * per_sm + dg_max64(0, s - (num_sms - remainder));
#endif
}

// Inclusive prefix sum of v over the block; *total gets the block's sum. Every thread must call it.
DG_D i64 dg_block_inclusive_scan(i64 v, i64* warp_sums, i64* total) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    i64 x = v;
    for (int offset = 1; offset < 32; offset <<= 1) {
        const i64 y = __shfl_up_sync(0xffffffffu, x, offset);
        if (lane >= offset) {
            x += y;
        }
    }
    if (lane == 31) {
        warp_sums[warp] = x;
    }
    __syncthreads();
    if (warp == 0) {
        i64 w = lane < warps ? warp_sums[lane] : 0;
        for (int offset = 1; offset < 32; offset <<= 1) {
            const i64 y = __shfl_up_sync(0xffffffffu, w, offset);
            if (lane >= offset) {
                w += y;
            }
        }
        warp_sums[lane] = w;
    }
    __syncthreads();
    const i64 result = x + (warp > 0 ? warp_sums[warp - 1] : 0);
    *total = warp_sums[warps - 1];
    __syncthreads();  // warp_sums is reused by the next call
    return result;
}

extern "C" __global__ void __launch_bounds__(DG_METADATA_THREADS, 1) DG_KERNEL_NAME(
        const int* context_lens, i64 cl_sb, int batch, int next_n, int* out, int num_sms) {
    __shared__ i64 warp_sums[32];
    if (blockIdx.x != 0 || num_sms < 1 || next_n < 1) {
        return;
    }
    const int atoms_per_seq = (next_n + DG_TOKENS_PER_ATOM - 1) / DG_TOKENS_PER_ATOM;
    const i64 num_atoms = (i64) batch * atoms_per_seq;
    i64 mine = 0;
    for (i64 a = threadIdx.x; a < num_atoms; a += blockDim.x) {
        mine += dg_atom_units(context_lens, cl_sb, next_n, a, atoms_per_seq);
    }
    i64 total;
    dg_block_inclusive_scan(mine, warp_sums, &total);
    // SMs whose start is past the last unit, and the sentinel row, get (num_atoms, 0).
    for (int s = threadIdx.x; s <= num_sms; s += blockDim.x) {
        if (s == num_sms || dg_sm_start(s, total, num_sms) >= total) {
            out[2 * s] = (int) num_atoms;
            out[2 * s + 1] = 0;
        }
    }
    // Every other SM starts inside exactly one atom with units > 0: the atom finds its SMs (starts grow with s).
    i64 base = 0;
    for (i64 chunk = 0; chunk < num_atoms; chunk += blockDim.x) {
        const i64 a = chunk + threadIdx.x;
        const i64 units = a < num_atoms ? dg_atom_units(context_lens, cl_sb, next_n, a, atoms_per_seq) : 0;
        i64 chunk_total;
        const i64 prefix = base + dg_block_inclusive_scan(units, warp_sums, &chunk_total) - units;
        if (units > 0) {
            int lo = 0;
            int hi = num_sms;  // dg_sm_start(num_sms) == total > prefix
            while (lo < hi) {
                const int mid = (lo + hi) / 2;
                if (dg_sm_start(mid, total, num_sms) >= prefix) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            for (int s = lo; s < num_sms; s++) {
                const i64 start = dg_sm_start(s, total, num_sms);
                if (start >= prefix + units) {
                    break;
                }
                out[2 * s] = (int) a;
                out[2 * s + 1] = (int) (start - prefix);
            }
        }
        base += chunk_total;
    }
}
