// deepgemm4j: plain FP8 MQA logits (DeepSeek-V3.2 indexer, prefill) for Hopper (sm_90a): TMA + WGMMA, persistent.
//
//   logits[i, c] = Σ_h weights[i, h] · ReLU(kv_sf[j] · Σ_d q[i, h, d] · kv[j, d])   for ks[i] ≤ j < ke[i]
//
// (range clamped to [0, s_kv]); c = j, or c = j − ks[i] (and c < cols) when compressed. Nothing else is written
// (the clean pass writes −inf there), so the output needs no padding for correctness.
//
// Parameters, in order:
//   - tm_q    map of q viewed as [s_q·H, D]: UINT8, dims {D, s_q·H}, row pitch q_sh bytes (q_ss must be H·q_sh),
//             box {D, DG_Q_ROWS}, swizzle D bytes (32B/64B/128B)
//   - tm_kv   map of kv: UINT8, dims {D, s_kv}, row pitch kv_ss bytes, box {D, kBlockKv}, swizzle D bytes
//   - kv_sf   FP32 [s_kv], contiguous
//   - weights FP32 [s_q, H], element (i, h) at weights[i·w_ss + h]
//   - w_ss
//   - ks, ke  int32 [s_q]
//   - logits  FP32, element (i, c) at logits[i·l_ss + c]
//   - l_ss
//   - s_q, s_kv, cols, compressed
//   - status  null, or 4 words the watchdog fills (code, block, thread, detail) before it traps
// Baked macros: DG_HEADS (32 or 64), DG_HEAD_DIM (32, 64 or 128), DG_Q_ROWS ((query, head) rows per query block and
// WGMMA N: 128, or 256 with 2 math warpgroups), DG_MATH_WGS (2..4, 64 KV rows each), DG_PINGPONG (1: two accumulator
// sets per math warpgroup, the next tile's WGMMAs overlap this tile's epilogue; 128-row blocks, 2 warpgroups),
// DG_KV_STAGES (0 = as many as fit, max 8), DG_WATCHDOG_NS, DG_NAMESPACE / DG_KERNEL_NAME.
// Launch: any gridDim.x (persistent over query blocks), blockDim.x = kNumThreads, dynamic smem = kSmemBytes.
//
// Design: a query block is kQRows/H queries, i.e. kQRows (query, head) rows of q, and its KV range is
// [min ks, max ke) over its queries (tiles outside every row's range are never loaded). One producer thread
// streams the q block (2 stages) and kBlockKv-row KV tiles (ring of kStages) by TMA. Math warpgroup w owns KV rows
// [64w, 64w + 64) of every tile: D/32 wgmma m64nNk32 (N = kQRows) with A = those KV rows and B = the q block, so each
// thread holds 2 KV rows × N/4 (query, head) columns. ReLU and the head weights are applied in registers, the heads of a
// query are summed per thread and over the 4 lanes of a quad, and the KV scale multiplies the head sum:
// ReLU(s·x) = |s|·ReLU(sign(s)·x), so a negative scale only flips the sign of that row's accumulators first.
// Every logit is computed by a fixed sequence of operations, so reruns are bitwise identical.

#ifndef DG_Q_ROWS
#define DG_Q_ROWS 128
#endif
#ifndef DG_PINGPONG
#define DG_PINGPONG 0
#endif
#ifndef DG_MATH_WGS
#define DG_MATH_WGS 4
#endif
#ifndef DG_KV_STAGES
#define DG_KV_STAGES 0
#endif
#ifndef DG_WATCHDOG_NS
#define DG_WATCHDOG_NS 2000000000ull
#endif
#ifndef DG_NAMESPACE
#define DG_NAMESPACE dg_sm90_fp8_mqa_logits
#endif
#ifndef DG_KERNEL_NAME
#define DG_KERNEL_NAME sm90_fp8_mqa_logits
#endif

#include "sm90_primitives.cuh"

namespace DG_NAMESPACE {

using namespace dg_sm90;

constexpr u32 kHeads = DG_HEADS;
constexpr u32 kDim = DG_HEAD_DIM;
constexpr u32 kQRows = DG_Q_ROWS;  // (query, head) rows per query block = the WGMMA N
constexpr u32 kBlockQ = kQRows / kHeads;
constexpr u32 kMathWgs = DG_MATH_WGS;
constexpr u32 kBlockKv = 64 * kMathWgs;
constexpr u32 kNumThreads = 128 * (kMathWgs + 1);
static_assert(kHeads == 32 || kHeads == 64, "DG_HEADS must be 32 or 64");
static_assert(kDim == 32 || kDim == 64 || kDim == 128, "DG_HEAD_DIM must be 32, 64 or 128");
static_assert(kMathWgs >= 2 && kMathWgs <= 4, "DG_MATH_WGS must be 2, 3 or 4");
static_assert(!DG_PINGPONG || (kQRows == 128 && kMathWgs == 2), "DG_PINGPONG needs 128-row query blocks and 2 math warpgroups");
static_assert(kQRows == 128 || (kQRows == 256 && kMathWgs == 2), "DG_Q_ROWS must be 128, or 256 with 2 math warpgroups");
constexpr u32 kAccRegs = kQRows / 2;
constexpr u32 kColGroups = kQRows / 8;  // 8-column accumulator groups per thread row

constexpr u32 kSmemQBytes = kQRows * kDim;
constexpr u32 kSmemKvBytes = kBlockKv * kDim;
constexpr u32 kQStages = 2;
constexpr u32 kSmemLimit = 232448;
constexpr u32 kBarrierBytes = 1024;
constexpr u32 kStages = DG_KV_STAGES > 0
        ? DG_KV_STAGES
        : min_u32(8, (kSmemLimit - 1024 - kBarrierBytes - kQStages * kSmemQBytes) / kSmemKvBytes);
// 1024 bytes of slack let the kernel align the dynamic shared memory base to a swizzle atom itself.
constexpr u32 kSmemBytes = 1024 + kQStages * kSmemQBytes + kStages * kSmemKvBytes + kBarrierBytes;
static_assert(kStages >= 2 && kSmemBytes <= kSmemLimit, "tiles do not fit in shared memory");

// setmaxnreg budgets: 24 for the producer, the rest of the register file to the math warpgroups.
constexpr u32 kProducerRegs = 24;
constexpr u32 kMathRegs = kMathWgs == 2 ? 240 : (kMathWgs == 3 ? 160 : 112);
static_assert(128 * kProducerRegs + 128 * kMathWgs * kMathRegs <= 65536, "setmaxnreg budget exceeds the register file");

constexpr u32 kStatusProducerTimeout = 2;
constexpr u32 kStatusMathTimeout = 3;

DG_SM90_DEFINE_WGMMA_E4M3(wgmma_q, DG_Q_ROWS)

// K-major FP8 tile with D-byte rows, swizzled by D bytes (mode 1 = 128B, 2 = 64B, 3 = 32B); 8-row groups are
// 8·D bytes apart (stride byte offset); the leading byte offset is unused for a single swizzle atom along K.
__device__ __forceinline__ u64 smem_desc(u32 addr) {
    constexpr u64 kMode = kDim == 128 ? 1 : (kDim == 64 ? 2 : 3);
    return (u64)((addr & 0x3FFFF) >> 4) | (1ull << 16) | ((u64)(8 * kDim >> 4) << 32) | (kMode << 62);
}

struct Smem {
    u32 q, kv, q_full, q_empty, kv_full, kv_empty;
    __device__ explicit Smem(u32 base)
        : q(base),
          kv(base + kQStages * kSmemQBytes),
          q_full(kv + kStages * kSmemKvBytes),
          q_empty(q_full + kQStages * 8),
          kv_full(q_empty + kQStages * 8),
          kv_empty(kv_full + kStages * 8) {}
};

// The KV range [lo, hi) of query block qb: the union of its queries' clamped ranges; empty when hi <= lo.
__device__ __forceinline__ void block_range(const int* ks, const int* ke, u32 qb, int s_q, int s_kv, int& lo, int& hi) {
    lo = s_kv;
    hi = 0;
#pragma unroll
    for (u32 t = 0; t < kBlockQ; t++) {
        const int i = (int)(qb * kBlockQ + t);
        if (i < s_q) {
            const int a = min(max(__ldg(ks + i), 0), s_kv);
            const int b = min(max(__ldg(ke + i), a), s_kv);
            if (b > a) {
                lo = min(lo, a);
                hi = max(hi, b);
            }
        }
    }
}

// A tile in flight in one math warpgroup: its stage, first KV row, this thread's first KV row and the two rows'
// scales.
struct Tile {
    u32 stage;
    int j0, j;
    float sf0, sf1;
};

struct Ring {
    u32 stage = 0, phase = 0;
    __device__ void advance(u32 n) {
        if (++stage == n) {
            stage = 0;
            phase ^= 1;
        }
    }
};

}  // namespace DG_NAMESPACE

// The parameter list spells 64-bit integers as i64, like the other kernel families (tools read the signature).
typedef long long i64;

extern "C" __global__ void __launch_bounds__(DG_NAMESPACE::kNumThreads, 1) DG_KERNEL_NAME(
        const __grid_constant__ dg_sm90::TmaDesc tm_q, const __grid_constant__ dg_sm90::TmaDesc tm_kv,
        const float* __restrict__ kv_sf, const float* __restrict__ weights, i64 w_ss,
        const int* __restrict__ ks, const int* __restrict__ ke, float* __restrict__ logits, i64 l_ss,
        int s_q, int s_kv, int cols, int compressed, dg_sm90::u32* status) {
    using namespace DG_NAMESPACE;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const Smem sm(align_up(smem_addr(smem_raw), 1024));
    // Warp-uniform for the compiler: the WGMMA descriptors derived from it then stay in uniform registers.
    const u32 wg = __shfl_sync(0xffffffffu, threadIdx.x / 128, 0);
    const u32 num_qb = ((u32) s_q + kBlockQ - 1) / kBlockQ;

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
        // Producer warpgroup: one thread issues every TMA.
        regs_decrease<kProducerRegs>();
        if (threadIdx.x != kMathWgs * 128) return;
        Ring qr, kr;
        for (u32 qb = blockIdx.x; qb < num_qb; qb += gridDim.x) {
            int lo, hi;
            block_range(ks, ke, qb, s_q, s_kv, lo, hi);
            if (hi <= lo) continue;
            mbar_wait(sm.q_empty + 8 * qr.stage, qr.phase ^ 1, status, kStatusProducerTimeout);
            mbar_arrive_expect_tx(sm.q_full + 8 * qr.stage, kSmemQBytes);
            tma_load_2d(sm.q + qr.stage * kSmemQBytes, &tm_q, 0, (int)(qb * kQRows), sm.q_full + 8 * qr.stage);
            qr.advance(kQStages);
            for (int j0 = lo; j0 < hi; j0 += (int) kBlockKv) {
                mbar_wait(sm.kv_empty + 8 * kr.stage, kr.phase ^ 1, status, kStatusProducerTimeout);
                mbar_arrive_expect_tx(sm.kv_full + 8 * kr.stage, kSmemKvBytes);
                tma_load_2d(sm.kv + kr.stage * kSmemKvBytes, &tm_kv, 0, j0, sm.kv_full + 8 * kr.stage);
                kr.advance(kStages);
            }
        }
        return;
    }

    regs_increase<kMathRegs>();
    const u32 warp = (threadIdx.x / 32) % 4;
    const u32 lane = threadIdx.x % 32;
    const u32 quad = lane % 4;
    // This thread's accumulator rows (KV rows within the warpgroup's 64) and its column base (query·H + head).
    const u32 row0 = 16 * warp + lane / 4;
    Ring qr, kr;
    for (u32 qb = blockIdx.x; qb < num_qb; qb += gridDim.x) {
        int lo, hi;
        block_range(ks, ke, qb, s_q, s_kv, lo, hi);
        if (hi <= lo) continue;
        // Column n = 8k + 2·quad + e (k < kColGroups, e < 2) is query n / H, head n % H.
        float w[2 * kColGroups];
#pragma unroll
        for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
            for (u32 e = 0; e < 2; e++) {
                const u32 n = 8 * k + 2 * quad + e;
                const int i = (int)(qb * kBlockQ + n / kHeads);
                w[2 * k + e] = i < s_q ? __ldg(weights + (long long) i * w_ss + n % kHeads) : 0.0f;
            }
        }
        // Query t stores KV rows [qlo, qhi) (qhi also capped so the column stays below cols) at row[t] + j; a tile
        // within [lo_all, hi_all) is visible to every query of the block and needs no per-row checks.
        int qlo[kBlockQ], qhi[kBlockQ];
        float* row[kBlockQ];
        int lo_all = 0, hi_all = s_kv;
#pragma unroll
        for (u32 t = 0; t < kBlockQ; t++) {
            const int i = (int)(qb * kBlockQ + t);
            qlo[t] = i < s_q ? min(max(__ldg(ks + i), 0), s_kv) : 0;
            qhi[t] = i < s_q ? min(min(max(__ldg(ke + i), qlo[t]), s_kv), compressed ? qlo[t] + cols : cols) : 0;
            row[t] = logits + (long long) min(i, s_q - 1) * l_ss - (compressed ? qlo[t] : 0);
            lo_all = max(lo_all, qlo[t]);
            hi_all = min(hi_all, qhi[t]);
        }
        mbar_wait(sm.q_full + 8 * qr.stage, qr.phase, status, kStatusMathTimeout);
        const u64 desc_q = smem_desc(sm.q + qr.stage * kSmemQBytes);

        // This thread's two KV scales of the next tile to issue, loaded one tile ahead: read right before the epilogue,
        // a load issued with its own tile's WGMMAs was the warps' longest stall (an L2 round trip outlasts the WGMMAs).
        float next_sf0, next_sf1;
        auto load_scales = [&](int j0) {
            const int j = j0 + (int)(wg * 64 + row0);
            next_sf0 = j < s_kv ? __ldg(kv_sf + j) : 0.0f;
            next_sf1 = j + 8 < s_kv ? __ldg(kv_sf + j + 8) : 0.0f;
        };
        load_scales(lo);

        // Issues the WGMMAs of the tile at KV row j0 into acc, takes its prefetched scales and prefetches the next
        // tile's.
        auto issue = [&](float (&acc)[kAccRegs], Tile& tile, int j0) {
            mbar_wait(sm.kv_full + 8 * kr.stage, kr.phase, status, kStatusMathTimeout);
            const u64 desc_kv = smem_desc(sm.kv + kr.stage * kSmemKvBytes + wg * 64 * kDim);
            wgmma_fence();
#pragma unroll
            for (u32 kk = 0; kk < kDim / 32; kk++) {
                wgmma_q(acc, desc_kv + 2 * kk, desc_q + 2 * kk, kk);
            }
            wgmma_commit();
            tile.stage = kr.stage;
            tile.j0 = j0;
            tile.j = j0 + (int)(wg * 64 + row0);
            tile.sf0 = next_sf0;
            tile.sf1 = next_sf1;
            if (j0 + (int) kBlockKv < hi) load_scales(j0 + (int) kBlockKv);
            kr.advance(kStages);
        };
        // After the tile's WGMMAs completed: frees its stage, reduces over heads and stores the visible logits.
        auto finish = [&](float (&acc)[kAccRegs], const Tile& tile) {
#pragma unroll
            for (u32 r = 0; r < kAccRegs; r++) fence_operand(acc[r]);
            __syncwarp();
            if (lane == 0) mbar_arrive(sm.kv_empty + 8 * tile.stage);
            // part[r][t]: KV row row0 + 8r against query t, over this thread's heads. The accumulators are only
            // read (writing them while the other set's WGMMAs run would make ptxas serialize the WGMMAs).
            float part[2][kBlockQ];
#pragma unroll
            for (u32 t = 0; t < kBlockQ; t++) part[0][t] = part[1][t] = 0.0f;
            if (tile.sf0 >= 0.0f && tile.sf1 >= 0.0f) {
#pragma unroll
                for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
                    for (u32 x = 0; x < 4; x++) {
                        float& p = part[x >> 1][8 * k / kHeads];
                        p = fmaf(fmaxf(acc[4 * k + x], 0.0f), w[2 * k + (x & 1)], p);
                    }
                }
            } else {
                // ReLU(-a)·w = min(a, 0)·(-w) for a row whose scale is negative.
                const bool neg[2] = {tile.sf0 < 0.0f, tile.sf1 < 0.0f};
#pragma unroll
                for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
                    for (u32 x = 0; x < 4; x++) {
                        float& p = part[x >> 1][8 * k / kHeads];
                        const float a = acc[4 * k + x];
                        const float wk = w[2 * k + (x & 1)];
                        p = neg[x >> 1] ? fmaf(fminf(a, 0.0f), -wk, p) : fmaf(fmaxf(a, 0.0f), wk, p);
                    }
                }
            }
#pragma unroll
            for (u32 r = 0; r < 2; r++) {
#pragma unroll
                for (u32 t = 0; t < kBlockQ; t++) {
                    part[r][t] += __shfl_xor_sync(0xffffffffu, part[r][t], 1);
                    part[r][t] += __shfl_xor_sync(0xffffffffu, part[r][t], 2);
                }
            }
            // Each lane of a quad writes the values (r, t) with r·kBlockQ + t ≡ quad (mod 4).
            const bool all_visible = tile.j0 >= lo_all && tile.j0 + (int) kBlockKv <= hi_all;
#pragma unroll
            for (u32 r = 0; r < 2; r++) {
                const int jr = tile.j + 8 * (int) r;
                const float scale = fabsf(r ? tile.sf1 : tile.sf0);
#pragma unroll
                for (u32 t = 0; t < kBlockQ; t++) {
                    if ((r * kBlockQ + t) % 4 != quad) continue;
                    if (all_visible || (jr >= qlo[t] && jr < qhi[t])) row[t][jr] = part[r][t] * scale;
                }
            }
        };
#if DG_PINGPONG
        // Two accumulator sets: the next tile's WGMMAs run while this tile's epilogue does.
        float acc0[kAccRegs], acc1[kAccRegs];
        Tile t0, t1;
        issue(acc0, t0, lo);
        for (int j0 = lo;; j0 += 2 * (int) kBlockKv) {
            const int j1 = j0 + (int) kBlockKv;
            if (j1 >= hi) {
                wgmma_wait<0>();
                finish(acc0, t0);
                break;
            }
            issue(acc1, t1, j1);
            wgmma_wait<1>();
            finish(acc0, t0);
            if (j1 + (int) kBlockKv >= hi) {
                wgmma_wait<0>();
                finish(acc1, t1);
                break;
            }
            issue(acc0, t0, j1 + (int) kBlockKv);
            wgmma_wait<1>();
            finish(acc1, t1);
        }
#else
        for (int j0 = lo; j0 < hi; j0 += (int) kBlockKv) {
            float acc[kAccRegs];
            Tile tile;
            issue(acc, tile, j0);
            wgmma_wait<0>();
            finish(acc, tile);
        }
#endif
        __syncwarp();
        if (lane == 0) mbar_arrive(sm.q_empty + 8 * qr.stage);
        qr.advance(kQStages);
    }
}
