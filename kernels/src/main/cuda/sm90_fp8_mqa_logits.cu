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
//   - tm_sf   map of the KV scales as rows of 4: FLOAT32, dims {4, ceil((sf_off + s_kv) / 4)}, row pitch 16 bytes,
//             box {4, kSfBoxRows}, no swizzle, based sf_off elements below kv_sf (TMA needs a 16-byte aligned base;
//             kv_sf need only be 4-byte aligned). Scale j is element sf_off + j. Boxes start at whole rows: a tile's
//             scales start (sf_off + j0) % 4 elements into its box.
//   - sf_off  0..3
//   - weights FP32 [s_q, H], element (i, h) at weights[i·w_ss + h]
//   - w_ss
//   - ks, ke  int32 [s_q]
//   - logits  FP32 (BF16 bits with DG_LOGITS_BF16), element (i, c) at logits[i·l_ss + c]
//   - l_ss
//   - s_q, s_kv, cols, compressed
//   - status  null, or 4 words the watchdog fills (code, block, thread, detail) before it traps
// Baked macros: DG_HEADS (32 or 64), DG_HEAD_DIM (32, 64 or 128), DG_Q_ROWS ((query, head) rows per query block and
// WGMMA N: 128, or 256 with 2 math warpgroups), DG_MATH_WGS (2..4, 64 KV rows each), DG_PINGPONG (1: two accumulator
// sets per math warpgroup, the next tile's WGMMAs overlap this tile's epilogue; 128-row blocks, 2 warpgroups),
// DG_KV_STAGES (0 = as many as fit, max 8), DG_LOGITS_BF16 (0: FP32 logits; 1: BF16, each FP32 logit rounded to
// nearest even by cvt.rn.bf16.f32 at its store), DG_WATCHDOG_NS, DG_NAMESPACE / DG_KERNEL_NAME.
// Launch: any gridDim.x (persistent over query blocks), blockDim.x = kNumThreads, dynamic smem = kSmemBytes.
//
// Design: a query block is kQRows/H queries, i.e. kQRows (query, head) rows of q, and its KV range is
// the union of its queries' stored ranges (tiles outside every query's range are never loaded). One producer thread
// streams the q block (2 stages) and kBlockKv-row KV tiles with their kBlockKv scales (ring of kStages) by TMA, each
// tile and its scales on one barrier. Math warpgroup w owns KV rows
// [64w, 64w + 64) of every tile: D/32 wgmma m64nNk32 (N = kQRows) with A = those KV rows and B = the q block, so each
// thread holds 2 KV rows × N/4 (query, head) columns. ReLU and the head weights are applied in registers, the heads of a
// query are summed per thread, then over the 4 lanes of a quad by a reduce-scatter (each lane ends with a quarter of
// the 2·kBlockQ (query, row) sums and stores exactly those), and the KV scale multiplies the head sum:
// ReLU(s·x) = |s|·ReLU(sign(s)·x), so a negative scale only flips the sign of that row's accumulators first.
// A tile inside every query's stored range (the block's interior) is stored without per-row checks.
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
#ifndef DG_LOGITS_BF16
#define DG_LOGITS_BF16 0
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
// The quad reduce-scatter: value v = 2·query + row (row 0 or 1: KV rows row0 and row0 + 8) ends summed in lane
// v / kLaneValues of the quad, which stores it; kLaneQueries queries per lane.
constexpr u32 kValues = 2 * kBlockQ;
constexpr u32 kLaneValues = kValues / 4;
constexpr u32 kLaneQueries = kLaneValues < 2 ? 1 : kLaneValues / 2;
static_assert(kLaneValues >= 1, "the reduce-scatter needs at least 2 queries per block");
// A lane's value i is query t_first + lane_query(i) (compile-time, so the lane's row pointers stay in registers), row
// lane_row(i, quad).
__device__ __forceinline__ constexpr u32 lane_query(u32 i) { return kLaneValues >= 2 ? i / 2 : 0; }
__device__ __forceinline__ constexpr u32 lane_row(u32 i, u32 quad) { return kLaneValues >= 2 ? i % 2 : quad % 2; }

constexpr u32 kSmemQBytes = kQRows * kDim;
constexpr u32 kSmemKvBytes = kBlockKv * kDim;
// A tile's scales: the kSfBoxRows 16-byte rows that cover kBlockKv elements from any start within the first row.
constexpr u32 kSfBoxRows = kBlockKv / 4 + 1;
constexpr u32 kSmemSfBytes = align_up(kSfBoxRows * 16, 128);
constexpr u32 kQStages = 2;
constexpr u32 kSmemLimit = 232448;
constexpr u32 kBarrierBytes = 1024;
constexpr u32 kStages = DG_KV_STAGES > 0
        ? DG_KV_STAGES
        : min_u32(8, (kSmemLimit - 1024 - kBarrierBytes - kQStages * kSmemQBytes) / (kSmemKvBytes + kSmemSfBytes));
// 1024 bytes of slack let the kernel align the dynamic shared memory base to a swizzle atom itself.
constexpr u32 kSmemBytes = 1024 + kQStages * kSmemQBytes + kStages * (kSmemKvBytes + kSmemSfBytes) + kBarrierBytes;
static_assert(kStages >= 2 && kSmemBytes <= kSmemLimit, "tiles do not fit in shared memory");

// setmaxnreg budgets: 24 for the producer, the rest of the register file to the math warpgroups.
constexpr u32 kProducerRegs = 24;
constexpr u32 kMathRegs = kMathWgs == 2 ? 240 : (kMathWgs == 3 ? 160 : 112);
static_assert(128 * kProducerRegs + 128 * kMathWgs * kMathRegs <= setmaxnreg_pool(kNumThreads, kNumThreads),
              "setmaxnreg budget exceeds the registers the CTA is launched with");

typedef Logit<DG_LOGITS_BF16 != 0> LogitOut;
typedef LogitOut::type logit_t;

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
    u32 q, kv, sf, q_full, q_empty, kv_full, kv_empty;
    __device__ explicit Smem(u32 base)
        : q(base),
          kv(base + kQStages * kSmemQBytes),
          sf(kv + kStages * kSmemKvBytes),
          q_full(sf + kStages * kSmemSfBytes),
          q_empty(q_full + kQStages * 8),
          kv_full(q_empty + kQStages * 8),
          kv_empty(kv_full + kStages * 8) {}
};

// The KV rows [a, b) that query i stores: ks/ke clamped to [0, s_kv], b capped so the column stays below cols; empty
// past s_q.
__device__ __forceinline__ void query_range(const int* ks, const int* ke, int i, int s_q, int s_kv, int cols,
        int compressed, int& a, int& b) {
    a = b = 0;
    if (i < s_q) {
        a = min(max(__ldg(ks + i), 0), s_kv);
        b = min(max(__ldg(ke + i), a), s_kv);
        b = compressed ? (b - a > cols ? a + cols : b) : min(b, cols);
    }
}

// Query block qb's KV rows: [lo, hi) the union of its queries' stored ranges (empty when hi <= lo), [lo_all, hi_all)
// their intersection.
struct BlockRange {
    int lo, hi, lo_all, hi_all;
    __device__ BlockRange(const int* ks, const int* ke, u32 qb, int s_q, int s_kv, int cols, int compressed)
        : lo(s_kv), hi(0), lo_all(0), hi_all(s_kv) {
#pragma unroll
        for (u32 t = 0; t < kBlockQ; t++) {
            int a, b;
            query_range(ks, ke, (int)(qb * kBlockQ + t), s_q, s_kv, cols, compressed, a, b);
            if (b > a) {
                lo = min(lo, a);
                hi = max(hi, b);
            }
            lo_all = max(lo_all, a);
            hi_all = min(hi_all, b);
        }
    }
};

// A tile in flight in one math warpgroup: its stage, first KV row and whether this thread's two rows' scales are
// negative (the magnitudes are read from shared memory after the head sums: holding them through the sums spills).
struct Tile {
    u32 stage;
    int j0;
    bool neg0, neg1;
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
        const __grid_constant__ dg_sm90::TmaDesc tm_sf, int sf_off, const float* __restrict__ weights, i64 w_ss,
        const int* __restrict__ ks, const int* __restrict__ ke, DG_NAMESPACE::logit_t* __restrict__ logits, i64 l_ss,
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
        tma_prefetch(&tm_sf);
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
            const BlockRange br(ks, ke, qb, s_q, s_kv, cols, compressed);
            if (br.hi <= br.lo) continue;
            mbar_wait(sm.q_empty + 8 * qr.stage, qr.phase ^ 1, status, kStatusProducerTimeout);
            mbar_arrive_expect_tx(sm.q_full + 8 * qr.stage, kSmemQBytes);
            tma_load_2d(sm.q + qr.stage * kSmemQBytes, &tm_q, 0, (int)(qb * kQRows), sm.q_full + 8 * qr.stage);
            qr.advance(kQStages);
            for (int j0 = br.lo; j0 < br.hi; j0 += (int) kBlockKv) {
                const u32 full = sm.kv_full + 8 * kr.stage;
                mbar_wait(sm.kv_empty + 8 * kr.stage, kr.phase ^ 1, status, kStatusProducerTimeout);
                mbar_arrive_expect_tx(full, kSmemKvBytes + kSfBoxRows * 16);
                tma_load_2d(sm.kv + kr.stage * kSmemKvBytes, &tm_kv, 0, j0, full);
                tma_load_2d(sm.sf + kr.stage * kSmemSfBytes, &tm_sf, 0, (j0 + sf_off) / 4, full);
                kr.advance(kStages);
            }
        }
        return;
    }

    regs_increase<kMathRegs>();
    const u32 warp = (threadIdx.x / 32) % 4;
    const u32 lane = threadIdx.x % 32;
    const u32 quad = lane % 4;
    // This thread's accumulator rows (KV rows within the warpgroup's 64: row0 and row0 + 8) and, within a tile, their
    // scales in shared memory.
    const u32 row0 = 16 * warp + lane / 4;
    const u32 sf_row0 = 4 * (wg * 64 + row0);
    // The first query whose sums this lane stores (values quad·kLaneValues onwards).
    const u32 t_first = quad * kLaneValues / 2;
    Ring qr, kr;
    for (u32 qb = blockIdx.x; qb < num_qb; qb += gridDim.x) {
        BlockRange br(ks, ke, qb, s_q, s_kv, cols, compressed);
        // The same for every lane; read from lane 0 so the compiler keeps the loop bounds in uniform registers.
        const int lo = __shfl_sync(0xffffffffu, br.lo, 0);
        const int hi = __shfl_sync(0xffffffffu, br.hi, 0);
        const int lo_all = __shfl_sync(0xffffffffu, br.lo_all, 0);
        const int hi_all = __shfl_sync(0xffffffffu, br.hi_all, 0);
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
        // Where this lane's queries store KV row j of an interior tile: out[u] + j.
        logit_t* out[kLaneQueries];
#pragma unroll
        for (u32 u = 0; u < kLaneQueries; u++) {
            const int i = min((int)(qb * kBlockQ + t_first + u), s_q - 1);
            int a, b;
            query_range(ks, ke, i, s_q, s_kv, cols, compressed, a, b);
            out[u] = logits + (long long) i * l_ss - (compressed ? a : 0);
        }
        mbar_wait(sm.q_full + 8 * qr.stage, qr.phase, status, kStatusMathTimeout);
        const u64 desc_q = smem_desc(sm.q + qr.stage * kSmemQBytes);

        // Issues the WGMMAs of the tile at KV row j0 into acc and reads the signs of this thread's two scales.
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
            const u32 sf = sm.sf + kr.stage * kSmemSfBytes + 4 * ((u32)(j0 + sf_off) % 4) + sf_row0;
            tile.neg0 = ld_shared_f32(sf) < 0.0f;
            tile.neg1 = ld_shared_f32(sf + 32) < 0.0f;
            kr.advance(kStages);
        };
        // After the tile's WGMMAs completed: sums the heads, frees the stage, reduces over the quad and stores the
        // visible logits.
        auto finish = [&](float (&acc)[kAccRegs], const Tile& tile) {
#pragma unroll
            for (u32 r = 0; r < kAccRegs; r++) fence_operand(acc[r]);
            // part[2t + r]: KV row row0 + 8r against query t, over this thread's heads. The accumulators are only
            // read (writing them while the other set's WGMMAs run would make ptxas serialize the WGMMAs).
            float part[kValues];
#pragma unroll
            for (u32 v = 0; v < kValues; v++) part[v] = 0.0f;
            if (!tile.neg0 && !tile.neg1) {
#pragma unroll
                for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
                    for (u32 x = 0; x < 4; x++) {
                        float& p = part[2 * (8 * k / kHeads) + (x >> 1)];
                        p = fmaf(fmaxf(acc[4 * k + x], 0.0f), w[2 * k + (x & 1)], p);
                    }
                }
            } else {
                // ReLU(-a)·w = min(a, 0)·(-w) for a row whose scale is negative.
                const bool neg[2] = {tile.neg0, tile.neg1};
#pragma unroll
                for (u32 k = 0; k < kColGroups; k++) {
#pragma unroll
                    for (u32 x = 0; x < 4; x++) {
                        float& p = part[2 * (8 * k / kHeads) + (x >> 1)];
                        const float a = acc[4 * k + x];
                        const float wk = w[2 * k + (x & 1)];
                        p = neg[x >> 1] ? fmaf(fminf(a, 0.0f), -wk, p) : fmaf(fmaxf(a, 0.0f), wk, p);
                    }
                }
            }
            // This lane's values and their scale magnitudes; then the stage is free.
            float scale[kLaneValues];
            const u32 sf = sm.sf + tile.stage * kSmemSfBytes + 4 * ((u32)(tile.j0 + sf_off) % 4) + sf_row0;
#pragma unroll
            for (u32 i = 0; i < kLaneValues; i++) scale[i] = fabsf(ld_shared_f32(sf + 32 * lane_row(i, quad)));
            __syncwarp();
            if (lane == 0) mbar_arrive(sm.kv_empty + 8 * tile.stage);
            // Reduce-scatter over the quad: lanes 0-1 keep the first half of the values (adding lanes 2-3's), then
            // even lanes keep the first half of that.
            float half[kValues / 2];
            const bool upper = quad & 2;
#pragma unroll
            for (u32 i = 0; i < kValues / 2; i++) {
                const float keep = upper ? part[kValues / 2 + i] : part[i];
                const float give = upper ? part[i] : part[kValues / 2 + i];
                half[i] = keep + __shfl_xor_sync(0xffffffffu, give, 2);
            }
            float mine[kLaneValues];
            const bool odd = quad & 1;
#pragma unroll
            for (u32 i = 0; i < kLaneValues; i++) {
                const float keep = odd ? half[kLaneValues + i] : half[i];
                const float give = odd ? half[i] : half[kLaneValues + i];
                mine[i] = (keep + __shfl_xor_sync(0xffffffffu, give, 1)) * scale[i];
            }
            const int j = tile.j0 + (int)(wg * 64 + row0);
            if (tile.j0 >= lo_all && tile.j0 + (int) kBlockKv <= hi_all) {
#pragma unroll
                for (u32 i = 0; i < kLaneValues; i++) {
                    out[lane_query(i)][j + 8 * (int) lane_row(i, quad)] = LogitOut::from(mine[i]);
                }
            } else {
                // An edge tile: each value's query range decides (reread: holding it for every tile costs registers).
#pragma unroll
                for (u32 i = 0; i < kLaneValues; i++) {
                    const int q = (int)(qb * kBlockQ + t_first + lane_query(i));
                    const int jr = j + 8 * (int) lane_row(i, quad);
                    int a, b;
                    query_range(ks, ke, q, s_q, s_kv, cols, compressed, a, b);
                    if (jr >= a && jr < b) {
                        logits[(long long) q * l_ss + jr - (compressed ? a : 0)] = LogitOut::from(mine[i]);
                    }
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
