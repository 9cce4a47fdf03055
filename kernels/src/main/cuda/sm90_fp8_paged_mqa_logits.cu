// deepgemm4j: FP8 MQA logits over a paged KV cache (DeepSeek-V3.2 indexer, decode) for Hopper (sm_90a): TMA + WGMMA,
// persistent over the work units of the scheduling metadata (paged_mqa_metadata.cu with 256-position splits and
// 2-token atoms).
//
// For batch b, draft token t (row r = b·next_n + t) and visible position p < min(context_lens[b, t], max_context_len):
//   logits[r, p] = Σ_h weights[r, h] · ReLU(scale(p) · Σ_d q[b, t, h, d] · kv(p)[d]),
//   kv(p) = slot p % block_kv of cache block block_table[b, p / block_kv]; a visible position whose table entry is
//   not a block of the cache (p / block_kv ≥ max_blocks, or an id outside [0, num_blocks)) gets NaN.
// Nothing else is written: the clean pass (paged_mqa_logits_clean.cu) writes −inf there.
// Cache block layout (the "fused" kv_cache): block_kv·D FP8 bytes (slot-major), then block_kv FP32 scales.
//
// Parameters, in order:
//   - tm_q     map of q viewed as [batch·next_n·H, D]: UINT8, dims {D, batch·next_n·H}, row pitch D bytes,
//              box {D, next_n·H}, swizzle D bytes (q must be contiguous)
//   - tm_kv    3-D map of the cache's FP8 part: UINT8, dims {D, block_kv, num_blocks}, strides {D, block_bytes},
//              box {D, block_kv, 1}, swizzle D bytes
//   - kv_cache the cache base, block_bytes (a multiple of 16, as the map's stride), num_blocks
//   - weights  FP32 [batch·next_n, H], element (r, h) at weights[r·w_sr + h]; w_sr
//   - context_lens int32 [batch, next_n], element (b, t) at context_lens[b·cl_sb + t]; cl_sb
//   - block_table  int32 [batch, max_blocks], element (b, x) at block_table[b·bt_sb + x]; bt_sb, max_blocks
//   - schedule int32 [gridDim.x + 1, 2]: row s = (atom, split) where CTA s starts; row s + 1 where it stops
//   - logits   FP32 (BF16 bits with DG_LOGITS_BF16), element (r, p) at logits[r·l_sr + p]; l_sr
//   - batch, max_context_len
//   - status   null, or 4 words the watchdog fills (code, block, thread, detail) before it traps
// Baked macros: DG_HEADS (32 or 64), DG_HEAD_DIM (32, 64 or 128), DG_NEXT_N (1 or 2: one atom per sequence),
// DG_BLOCK_KV (32 or 64), DG_KV_STAGES (0 = as many as fit, max 8), DG_LOGITS_BF16 (0: FP32 logits; 1: BF16, each
// FP32 logit rounded to nearest even by cvt.rn.bf16.f32 at its store), DG_WATCHDOG_NS, DG_NAMESPACE / DG_KERNEL_NAME.
// Launch: grid (num_sms of the schedule), blockDim.x = kNumThreads, dynamic smem = kSmemBytes.
//
// Design: a work unit is (atom a = sequence b, split s): the 256 positions [256s, 256s + 256) of both draft tokens.
// One producer thread loads the atom's q (next_n·H rows, 2 stages, reloaded only when the atom changes) and, per
// unit, the up to 256/block_kv cache blocks of the split into one 256-row KV stage (ring of kStages), each block's FP32
// scales beside them by a plain bulk copy (read by the math warps from global memory, a dependent block-table and HBM
// round trip per unit, they were the warps' longest stall), and a mask of the blocks it loaded as a word of shared
// memory written before its arrival on the stage (so the math warps read no block table at all). Math warpgroup
// w owns KV rows [64w, 64w + 64): D/32 wgmma m64nNk32 with N = next_n·H, so each KV tile is read from shared memory
// once for both draft tokens. The epilogue is the plain kernel's (ReLU, head weights, quad reduction, |scale|, a
// sign flip for negative scales). Blocks that are not loaded (past the atom's length, or invalid) leave stale shared
// memory behind; their positions are either invisible (not stored) or get NaN.

#ifndef DG_KV_STAGES
#define DG_KV_STAGES 0
#endif
#ifndef DG_LOGITS_BF16
#define DG_LOGITS_BF16 0
#endif
#ifndef DG_WATCHDOG_NS
#define DG_WATCHDOG_NS 2000000000ull
#endif
#ifndef DG_NAMESPACE
#define DG_NAMESPACE dg_sm90_fp8_paged_mqa_logits
#endif
#ifndef DG_KERNEL_NAME
#define DG_KERNEL_NAME sm90_fp8_paged_mqa_logits
#endif

// The WGMMA N as a literal (the wrapper macro pastes it into the instruction name).
#if DG_NEXT_N * DG_HEADS == 32
#define DG_PAGED_N 32
#elif DG_NEXT_N * DG_HEADS == 64
#define DG_PAGED_N 64
#else
#define DG_PAGED_N 128
#endif

#include "sm90_primitives.cuh"

namespace DG_NAMESPACE {

using namespace dg_sm90;

constexpr u32 kHeads = DG_HEADS;
constexpr u32 kDim = DG_HEAD_DIM;
constexpr u32 kNextN = DG_NEXT_N;
constexpr u32 kBlockKv = DG_BLOCK_KV;
constexpr u32 kQRows = kNextN * kHeads;  // WGMMA N
constexpr u32 kMathWgs = 4;
constexpr u32 kSplit = 64 * kMathWgs;  // positions per work unit (the metadata's split)
constexpr u32 kBlocksPerSplit = kSplit / kBlockKv;
constexpr u32 kNumThreads = 128 * (kMathWgs + 1);
static_assert(kHeads == 32 || kHeads == 64, "DG_HEADS must be 32 or 64");
static_assert(kDim == 32 || kDim == 64 || kDim == 128, "DG_HEAD_DIM must be 32, 64 or 128");
static_assert(kNextN == 1 || kNextN == 2, "DG_NEXT_N must be 1 or 2");
static_assert(kBlockKv == 32 || kBlockKv == 64, "DG_BLOCK_KV must be 32 or 64");
constexpr u32 kAccRegs = kQRows / 2;
constexpr u32 kColGroups = kQRows / 8;

constexpr u32 kSmemQBytes = align_up(kQRows * kDim, 1024);
constexpr u32 kSmemKvBytes = kSplit * kDim;
constexpr u32 kSmemSfBytes = kSplit * 4;
constexpr u32 kBlockBytes = kBlockKv * kDim;
constexpr u32 kBlockSfBytes = kBlockKv * 4;
constexpr u32 kQStages = 2;
constexpr u32 kSmemLimit = 232448;
constexpr u32 kBarrierBytes = 1024;
constexpr u32 kStages = DG_KV_STAGES > 0
        ? DG_KV_STAGES
        : min_u32(8, (kSmemLimit - 1024 - kBarrierBytes - kQStages * kSmemQBytes) / (kSmemKvBytes + kSmemSfBytes));
constexpr u32 kSmemBytes = 1024 + kQStages * kSmemQBytes + kStages * (kSmemKvBytes + kSmemSfBytes) + kBarrierBytes;
static_assert(kStages >= 2 && kSmemBytes <= kSmemLimit, "tiles do not fit in shared memory");

constexpr u32 kProducerRegs = 24;
constexpr u32 kMathRegs = 112;
static_assert(128 * kProducerRegs + 128 * kMathWgs * kMathRegs <= setmaxnreg_pool(kNumThreads, kNumThreads),
              "setmaxnreg budget exceeds the registers the CTA is launched with");

typedef Logit<DG_LOGITS_BF16 != 0> LogitOut;
typedef LogitOut::type logit_t;

constexpr u32 kStatusProducerTimeout = 2;
constexpr u32 kStatusMathTimeout = 3;

DG_SM90_DEFINE_WGMMA_E4M3(wgmma_q, DG_PAGED_N)

__device__ __forceinline__ u64 smem_desc(u32 addr) {
    constexpr u64 kMode = kDim == 128 ? 1 : (kDim == 64 ? 2 : 3);
    return (u64)((addr & 0x3FFFF) >> 4) | (1ull << 16) | ((u64)(8 * kDim >> 4) << 32) | (kMode << 62);
}

__device__ __forceinline__ void tma_load_3d(u32 dst, const TmaDesc* map, i32 c0, i32 c1, i32 c2, u32 bar) {
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];"
        ::"r"(dst), "l"(reinterpret_cast<u64>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
        : "memory");
}

struct Smem {
    u32 q, kv, sf, q_full, q_empty, kv_full, kv_empty, loaded;
    __device__ explicit Smem(u32 base)
        : q(base),
          kv(base + kQStages * kSmemQBytes),
          sf(kv + kStages * kSmemKvBytes),
          q_full(sf + kStages * kSmemSfBytes),
          q_empty(q_full + kQStages * 8),
          kv_full(q_empty + kQStages * 8),
          kv_empty(kv_full + kStages * 8),
          loaded(kv_empty + kStages * 8) {}
};
static_assert((2 * kQStages + 2 * kStages) * 8 + kStages * 4 <= kBarrierBytes, "barriers and masks exceed their area");

__device__ __forceinline__ void st_shared_u32(u32 addr, u32 v) {
    asm volatile("st.shared.u32 [%0], %1;" ::"r"(addr), "r"(v) : "memory");
}

__device__ __forceinline__ u32 ld_shared_u32(u32 addr) {
    u32 v;
    asm volatile("ld.shared.u32 %0, [%1];" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

struct Ring {
    u32 stage = 0, phase = 0;
    __device__ void advance(u32 n) {
        if (++stage == n) {
            stage = 0;
            phase ^= 1;
        }
    }
};

// The metadata's atom length: the largest context length of the sequence's tokens, negatives as 0 (unclamped, so
// that the unit count matches the schedule exactly).
__device__ __forceinline__ int atom_len(const int* context_lens, long long cl_sb, int b) {
    int len = 0;
#pragma unroll
    for (u32 t = 0; t < kNextN; t++) len = max(len, __ldg(context_lens + b * cl_sb + t));
    return len;
}

// Walks the units from (a, s) to (a_end, s_end) in atom-major order, skipping empty atoms: advances (a, s) to the
// next unit to process and returns false when none is left. `len` is the atom's length.
__device__ __forceinline__ bool next_unit(const int* context_lens, long long cl_sb, int batch, int a_end, int s_end,
                                          int& a, int& s, int& len) {
    while (a < batch && (a < a_end || (a == a_end && s < s_end))) {
        len = atom_len(context_lens, cl_sb, a);
        if (s < (len + (int) kSplit - 1) / (int) kSplit) return true;
        a++;
        s = 0;
    }
    return false;
}

}  // namespace DG_NAMESPACE

typedef long long i64;

extern "C" __global__ void __launch_bounds__(DG_NAMESPACE::kNumThreads, 1) DG_KERNEL_NAME(
        const __grid_constant__ dg_sm90::TmaDesc tm_q, const __grid_constant__ dg_sm90::TmaDesc tm_kv,
        const unsigned char* __restrict__ kv_cache, i64 block_bytes, int num_blocks,
        const float* __restrict__ weights, i64 w_sr, const int* __restrict__ context_lens, i64 cl_sb,
        const int* __restrict__ block_table, i64 bt_sb, int max_blocks, const int* __restrict__ schedule,
        DG_NAMESPACE::logit_t* __restrict__ logits, i64 l_sr, int batch, int max_context_len, dg_sm90::u32* status) {
    using namespace DG_NAMESPACE;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const Smem sm(align_up(smem_addr(smem_raw), 1024));
    // Warp-uniform for the compiler: the WGMMA descriptors derived from it then stay in uniform registers.
    const u32 wg = __shfl_sync(0xffffffffu, threadIdx.x / 128, 0);
    // A corrupt schedule may skip or repeat units but never makes the walk read outside [0, batch).
    const int a_begin = max(__ldg(schedule + 2 * blockIdx.x), 0);
    const int s_begin = max(__ldg(schedule + 2 * blockIdx.x + 1), 0);
    const int a_end = __ldg(schedule + 2 * blockIdx.x + 2);
    const int s_end = __ldg(schedule + 2 * blockIdx.x + 3);

    if (threadIdx.x == 0) {
        tma_prefetch(&tm_q);
        tma_prefetch(&tm_kv);
        for (u32 s = 0; s < kQStages; s++) {
            mbar_init(sm.q_full + 8 * s, 1);
            mbar_init(sm.q_empty + 8 * s, 4 * kMathWgs);
        }
        for (u32 s = 0; s < kStages; s++) {
            mbar_init(sm.kv_full + 8 * s, 1);
            mbar_init(sm.kv_empty + 8 * s, 4 * kMathWgs);
        }
        fence_barrier_init();
        fence_proxy_async_smem();
    }
    __syncthreads();

    if (wg == kMathWgs) {
        regs_decrease<kProducerRegs>();
        if (threadIdx.x != kMathWgs * 128) return;
        Ring qr, kr;
        int a = a_begin, s = s_begin, len = 0, q_atom = -1;
        while (next_unit(context_lens, cl_sb, batch, a_end, s_end, a, s, len)) {
            if (a != q_atom) {
                mbar_wait(sm.q_empty + 8 * qr.stage, qr.phase ^ 1, status, kStatusProducerTimeout);
                mbar_arrive_expect_tx(sm.q_full + 8 * qr.stage, kQRows * kDim);
                tma_load_2d(sm.q + qr.stage * kSmemQBytes, &tm_q, 0, a * (int) kQRows, sm.q_full + 8 * qr.stage);
                qr.advance(kQStages);
                q_atom = a;
            }
            // Only blocks holding positions below the atom's length and valid table entries are fetched.
            int blk[kBlocksPerSplit];
            u32 bytes = 0, loaded = 0;
#pragma unroll
            for (u32 i = 0; i < kBlocksPerSplit; i++) {
                const int x = s * (int) kBlocksPerSplit + (int) i;
                blk[i] = -1;
                if (x * (int) kBlockKv < len && x < max_blocks) {
                    const int id = __ldg(block_table + a * bt_sb + x);
                    if (id >= 0 && id < num_blocks) {
                        blk[i] = id;
                        bytes += kBlockBytes + kBlockSfBytes;
                        loaded |= 1u << i;
                    }
                }
            }
            mbar_wait(sm.kv_empty + 8 * kr.stage, kr.phase ^ 1, status, kStatusProducerTimeout);
            // Released by the arrival below; the math warps read it once the stage's phase completes.
            st_shared_u32(sm.loaded + 4 * kr.stage, loaded);
            mbar_arrive_expect_tx(sm.kv_full + 8 * kr.stage, bytes);
#pragma unroll
            for (u32 i = 0; i < kBlocksPerSplit; i++) {
                if (blk[i] >= 0) {
                    tma_load_3d(sm.kv + kr.stage * kSmemKvBytes + i * kBlockBytes, &tm_kv, 0, 0, blk[i],
                                sm.kv_full + 8 * kr.stage);
                    bulk_load(sm.sf + kr.stage * kSmemSfBytes + i * kBlockSfBytes,
                              kv_cache + (long long) blk[i] * block_bytes + kBlockBytes, kBlockSfBytes,
                              sm.kv_full + 8 * kr.stage);
                }
            }
            kr.advance(kStages);
            s++;
        }
        return;
    }

    regs_increase<kMathRegs>();
    const u32 warp = (threadIdx.x / 32) % 4;
    const u32 lane = threadIdx.x % 32;
    const u32 quad = lane % 4;
    const u32 row0 = 16 * warp + lane / 4;  // this thread's first KV row within the warpgroup's 64
    Ring qr, kr;
    int a = a_begin, s = s_begin, len = 0, q_atom = -1;
    float w[2 * kColGroups];
    int tok_len[kNextN];
    logit_t* row[kNextN];
    while (next_unit(context_lens, cl_sb, batch, a_end, s_end, a, s, len)) {
        if (a != q_atom) {
            if (q_atom >= 0) {
                __syncwarp();
                if (lane == 0) mbar_arrive(sm.q_empty + 8 * qr.stage);
                qr.advance(kQStages);
            }
            q_atom = a;
            // Column n = 8k + 2·quad + e is token n / H, head n % H.
#pragma unroll
            for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
                for (u32 e = 0; e < 2; e++) {
                    const u32 n = 8 * k + 2 * quad + e;
                    w[2 * k + e] = __ldg(weights + ((long long) a * kNextN + n / kHeads) * w_sr + n % kHeads);
                }
            }
#pragma unroll
            for (u32 t = 0; t < kNextN; t++) {
                tok_len[t] = min(max(__ldg(context_lens + a * cl_sb + t), 0), max_context_len);
                row[t] = logits + ((long long) a * kNextN + t) * l_sr;
            }
            mbar_wait(sm.q_full + 8 * qr.stage, qr.phase, status, kStatusMathTimeout);
        }
        const u64 desc_q = smem_desc(sm.q + qr.stage * kSmemQBytes);
        const int p = s * (int) kSplit + (int) (wg * 64 + row0);  // this thread's first position

        mbar_wait(sm.kv_full + 8 * kr.stage, kr.phase, status, kStatusMathTimeout);
        // The block of this thread's two rows (they share one: 16-row warp slices never straddle a block) is valid
        // exactly when the producer loaded it: every position this thread stores lies below the atom's length.
        const bool valid = (ld_shared_u32(sm.loaded + 4 * kr.stage) >> ((wg * 64 + row0) / kBlockKv)) & 1u;
        const u32 sf_addr = sm.sf + kr.stage * kSmemSfBytes + (wg * 64 + row0) * 4;
        const float sf0 = valid ? ld_shared_f32(sf_addr) : 0.0f;
        const float sf1 = valid ? ld_shared_f32(sf_addr + 8 * 4) : 0.0f;
        float acc[kAccRegs];
        const u64 desc_kv = smem_desc(sm.kv + kr.stage * kSmemKvBytes + wg * 64 * kDim);
        wgmma_fence();
#pragma unroll
        for (u32 kk = 0; kk < kDim / 32; kk++) wgmma_q(acc, desc_kv + 2 * kk, desc_q + 2 * kk, kk);
        wgmma_commit();
        wgmma_wait<0>();
#pragma unroll
        for (u32 r = 0; r < kAccRegs; r++) fence_operand(acc[r]);
        __syncwarp();
        if (lane == 0) mbar_arrive(sm.kv_empty + 8 * kr.stage);
        kr.advance(kStages);

        float part[2][kNextN];
#pragma unroll
        for (u32 t = 0; t < kNextN; t++) part[0][t] = part[1][t] = 0.0f;
        const bool neg[2] = {sf0 < 0.0f, sf1 < 0.0f};
#pragma unroll
        for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
            for (u32 xx = 0; xx < 4; xx++) {
                float& pp = part[xx >> 1][8 * k / kHeads];
                const float v = acc[4 * k + xx];
                const float wk = w[2 * k + (xx & 1)];
                pp = neg[xx >> 1] ? fmaf(fminf(v, 0.0f), -wk, pp) : fmaf(fmaxf(v, 0.0f), wk, pp);
            }
        }
#pragma unroll
        for (u32 r = 0; r < 2; r++) {
#pragma unroll
            for (u32 t = 0; t < kNextN; t++) {
                part[r][t] += __shfl_xor_sync(0xffffffffu, part[r][t], 1);
                part[r][t] += __shfl_xor_sync(0xffffffffu, part[r][t], 2);
            }
        }
        // Each lane of a quad stores the values (r, t) with (r·kNextN + t) ≡ quad (mod 4).
#pragma unroll
        for (u32 r = 0; r < 2; r++) {
            const int pr = p + 8 * (int) r;
            const float scale = fabsf(r ? sf1 : sf0);
#pragma unroll
            for (u32 t = 0; t < kNextN; t++) {
                if ((r * kNextN + t) % 4 != quad) continue;
                if (pr < tok_len[t]) row[t][pr] = LogitOut::from(valid ? part[r][t] * scale : __int_as_float(0x7fc00000));
            }
        }
        s++;
    }
}
