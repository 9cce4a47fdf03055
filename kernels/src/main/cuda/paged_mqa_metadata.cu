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
// Launch: grid (1, 1, 1), block (32, 1, 1), no dynamic shared memory. One thread walks the atoms once (the
// schedule is a few thousand integers; simplicity beats speed here).
#include "common.cuh"

#if !defined(DG_SPLIT_KV) || !defined(DG_TOKENS_PER_ATOM) || !defined(DG_EXTRA_FIRST)
#error "DG_SPLIT_KV, DG_TOKENS_PER_ATOM and DG_EXTRA_FIRST must be baked in"
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

extern "C" __global__ void __launch_bounds__(32, 1) DG_KERNEL_NAME(
        const int* context_lens, i64 cl_sb, int batch, int next_n, int* out, int num_sms) {
    if (threadIdx.x != 0 || blockIdx.x != 0 || num_sms < 1 || next_n < 1) {
        return;
    }
    const int atoms_per_seq = (next_n + DG_TOKENS_PER_ATOM - 1) / DG_TOKENS_PER_ATOM;
    const i64 num_atoms = (i64) batch * atoms_per_seq;
    i64 total = 0;
    for (i64 a = 0; a < num_atoms; a++) {
        total += dg_atom_units(context_lens, cl_sb, next_n, a, atoms_per_seq);
    }
    // Starts grow with s, so one more walk over the atoms places all of them.
    int s = 0;
    i64 prefix = 0;
    for (i64 a = 0; a < num_atoms && s < num_sms; a++) {
        const i64 units = dg_atom_units(context_lens, cl_sb, next_n, a, atoms_per_seq);
        while (s < num_sms && dg_sm_start(s, total, num_sms) < prefix + units) {
            out[2 * s] = (int) a;
            out[2 * s + 1] = (int) (dg_sm_start(s, total, num_sms) - prefix);
            s++;
        }
        prefix += units;
    }
    for (; s <= num_sms; s++) {
        out[2 * s] = (int) num_atoms;
        out[2 * s + 1] = 0;
    }
}
