// deepgemm4j: FP8 GEMM for few rows of A (decode, M <= 128) on Hopper (sm_90a), "1D2D" scaling, BF16 output.
//
//   D[m, n] = sum_kb  sfa[kb][m] * sfb[n / 128][kb] * sum_{k in block kb} A[m, k] * B[n, k]
//
// Same operands and scale layouts as sm90_fp8_gemm_1d2d.cu; what differs is the shape of the work. With few tokens
// the GEMM is bound by streaming B (N x K bytes) from HBM, so:
//   - the operands are swapped: B's rows sit on the WGMMA M side (64 per math warpgroup), the tokens on the N side
//     (DG_TOKENS, 8..128), so one token wastes only the n8 instruction's width, not a 64-row tile;
//     sfb is then one scalar per warpgroup and K block, sfa one factor per accumulator column;
//   - K is split (split-K) so that even a narrow B feeds every SM: a work unit is (B row tile, K range); units
//     are strided over a persistent grid. Each unit of a split tile writes its FP32 partial to a workspace in
//     the accumulator's register order, and the unit that arrives last at the tile's counter sums all partials
//     in split order 0, 1, ... (its own from registers) and writes BF16: the result does not depend on which
//     unit finishes last, so reruns are bitwise identical. The last arriver resets the counter to 0, so the
//     counters (zeroed once when allocated) are ready for the next launch on the same stream.
//   - B is loaded evict-first (read once), A and sfa evict-last (every unit reads them).
//
//   A   [M, K]  FP8 E4M3, K-major                           sfa [ceil(K/128)][align(M, 4)] FP32, MN-major
//   B   [N, K]  FP8 E4M3, K-major                           sfb [ceil(N/128)][ceil(K/128)] FP32, row-major
//   D   [M, N]  BF16, row pitch ldd elements
//   Requirements: M <= DG_TOKENS, K % 16 == 0 (TMA row pitch); N arbitrary (TMA zero-fills, stores are guarded).
//
// Macros the JIT bakes in (plain decimal literals):
//   DG_TOKENS       token columns per tile, multiple of 8, 8..128 (>= M)                         default 128
//   DG_BLOCK_ROWS   B rows per tile: 64 (one math warpgroup) or 128 (two)                        default 128
//   DG_B_EVICT_FIRST 1: B is loaded with an L2 evict-first hint; 0: no preference (evict-normal)  default 1
//   DG_STAGES       pipeline depth; 0 = as many as fit in DG_SMEM_LIMIT (max 16)                  default 0
//   DG_WATCHDOG_NS  an mbarrier wait longer than this records a code in `status` and traps; 0 = off  default 2 s
//   DG_SMEM_LIMIT   dynamic shared memory per block                                               default 232448
//   DG_NAMESPACE / DG_KERNEL_NAME  let one translation unit hold several configurations (test harness)
// Launch: gridDim.x <= units = ceil(N / DG_BLOCK_ROWS) * splits, blockDim.x = kNumThreads (DG_BLOCK_ROWS + 128),
// dynamic shared memory kSmemBytes. One launch per stream at a time uses a given workspace and counter array.

#ifndef DG_TOKENS
#define DG_TOKENS 128
#endif
#ifndef DG_BLOCK_ROWS
#define DG_BLOCK_ROWS 128
#endif
#ifndef DG_STAGES
#define DG_STAGES 0
#endif
#ifndef DG_B_EVICT_FIRST
#define DG_B_EVICT_FIRST 1
#endif
#ifndef DG_WATCHDOG_NS
#define DG_WATCHDOG_NS 2000000000ull
#endif
#ifndef DG_SMEM_LIMIT
#define DG_SMEM_LIMIT 232448
#endif
#ifndef DG_NAMESPACE
#define DG_NAMESPACE dg_sm90_fp8_gemm_1d2d_small_m
#endif
#ifndef DG_KERNEL_NAME
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_small_m
#endif

#include "sm90_primitives.cuh"

namespace DG_NAMESPACE {

using namespace dg_sm90;

constexpr u32 kTokens = DG_TOKENS;
constexpr u32 kBlockRows = DG_BLOCK_ROWS;
constexpr u32 kBlockK = 128;
static_assert(kTokens % 8 == 0 && kTokens >= 8 && kTokens <= 128, "DG_TOKENS must be a multiple of 8 in [8, 128]");
static_assert(kBlockRows == 64 || kBlockRows == 128, "DG_BLOCK_ROWS must be 64 or 128");

constexpr u32 kNumMathWarpgroups = kBlockRows / 64;
constexpr u32 kNumMathThreads = kNumMathWarpgroups * 128;
constexpr u32 kNumThreads = kNumMathThreads + 128;
static_assert(kNumThreads <= 384, "block larger than the launch bound");
constexpr u32 kAccRegs = kTokens / 2;  // m64nTk32 accumulator floats per thread

constexpr u32 kSmemBBytes = kBlockRows * kBlockK;  // multiples of 1024: 128B-swizzled tiles stay aligned
constexpr u32 kSmemABytes = kTokens * kBlockK;
constexpr u32 kSmemSfaBytes = align_up(kTokens * 4, 128);
constexpr u32 kSmemSfbBytes = 16;
constexpr u32 kSmemPerStage = kSmemBBytes + kSmemABytes + kSmemSfaBytes + kSmemSfbBytes + 2 * 8;
constexpr u32 kSmemFixed = 16;  // the last-arriver flag
constexpr u32 kStages = DG_STAGES > 0 ? DG_STAGES : min_u32(16, (DG_SMEM_LIMIT - kSmemFixed) / kSmemPerStage);
constexpr u32 kSmemBytes = kStages * kSmemPerStage + kSmemFixed;
constexpr u32 kTxBytes = kSmemBBytes + kSmemABytes + kTokens * 4;  // full boxes, even when partly out of range
static_assert(kStages >= 2 && kSmemBytes <= DG_SMEM_LIMIT, "tile does not fit in shared memory");

constexpr u32 kProducerRegs = 40;
constexpr u32 kMathRegs = kNumMathWarpgroups == 1 ? 256 : 232;
constexpr u32 kLaunchBoundThreads = 384;
static_assert(128 * kProducerRegs + kNumMathThreads * kMathRegs <= setmaxnreg_pool(kLaunchBoundThreads, kNumThreads),
              "setmaxnreg budget exceeds the registers the CTA is launched with");

constexpr u32 kStatusMisalignedSmem = 1;
constexpr u32 kStatusProducerTimeout = 2;
constexpr u32 kStatusMathTimeout = 3;

DG_SM90_DEFINE_WGMMA_E4M3(wgmma_e4m3, DG_TOKENS)

struct SmemLayout {
    u32 b, a, sfa, sfb, full, empty, flag;
    __device__ explicit SmemLayout(u32 base)
        : b(base),
          a(b + kStages * kSmemBBytes),
          sfa(a + kStages * kSmemABytes),
          sfb(sfa + kStages * kSmemSfaBytes),
          full(sfb + kStages * kSmemSfbBytes),
          empty(full + kStages * 8),
          flag(empty + kStages * 8) {}
    __device__ u32 full_bar(u32 s) const { return full + s * 8; }
    __device__ u32 empty_bar(u32 s) const { return empty + s * 8; }
};

// Unit u covers row tile u % num_tiles and K range u / num_tiles: consecutive CTAs read the same slice of A.
struct WorkUnits {
    u32 num_tiles, num_k_blocks, splits, num_units;
    __device__ WorkUnits(u32 n, u32 k, u32 splits_)
        : num_tiles((n + kBlockRows - 1) / kBlockRows), num_k_blocks((k + kBlockK - 1) / kBlockK), splits(splits_),
          num_units(num_tiles * splits_) {}
    __device__ void unit(u32 u, u32& tile, u32& split, u32& kb_begin, u32& kb_end) const {
        tile = u % num_tiles;
        split = u / num_tiles;
        kb_begin = split * num_k_blocks / splits;
        kb_end = (split + 1) * num_k_blocks / splits;
    }
};

struct PipelineState {
    u32 stage = 0, phase = 0;
    __device__ void advance() {
        if (++stage == kStages) {
            stage = 0;
            phase ^= 1;
        }
    }
};

// One warp: lane 0 issues the TMA loads; the lanes fetch the unit's sfb scalars 32 K blocks at a time so that their
// latency overlaps the wait for a free stage.
__device__ __forceinline__ void producer_loop(const SmemLayout& sm, const TmaDesc* tm_a, const TmaDesc* tm_b, const TmaDesc* tm_sfa,
                                              const float* __restrict__ sfb, const WorkUnits& wu, u32 lane, u32* status) {
    const u64 stream_policy = DG_B_EVICT_FIRST ? l2_policy_evict_first() : l2_policy_evict_normal();
    const u64 reuse_policy = l2_policy_evict_last();
    PipelineState ps;
    for (u32 u = blockIdx.x; u < wu.num_units; u += gridDim.x) {
        u32 tile, split, kb_begin, kb_end;
        wu.unit(u, tile, split, kb_begin, kb_end);
        const float* sfb_row = sfb + (tile * kBlockRows / 128) * wu.num_k_blocks;
        float sfb_chunk = 0.0f;
#pragma unroll 1
        for (u32 kb = kb_begin; kb < kb_end; ++kb) {
            const u32 i = kb - kb_begin;
            if ((i & 31) == 0) sfb_chunk = kb + lane < kb_end ? __ldg(sfb_row + kb + lane) : 0.0f;
            const float sfb_val = __shfl_sync(0xffffffffu, sfb_chunk, i & 31);
            mbar_wait(sm.empty_bar(ps.stage), ps.phase ^ 1, status, kStatusProducerTimeout);
            if (lane == 0) {
                // Written before the arrive, whose release semantics publish it with the TMA data.
                asm volatile("st.shared.f32 [%0], %1;" ::"r"(sm.sfb + ps.stage * kSmemSfbBytes), "f"(sfb_val) : "memory");
                const u32 bar = sm.full_bar(ps.stage);
                mbar_arrive_expect_tx(bar, kTxBytes);
                const i32 k0 = static_cast<i32>(kb * kBlockK);
                tma_load_2d_hint(sm.b + ps.stage * kSmemBBytes, tm_b, k0, static_cast<i32>(tile * kBlockRows), bar, stream_policy);
                tma_load_2d_hint(sm.a + ps.stage * kSmemABytes, tm_a, k0, 0, bar, reuse_policy);
                tma_load_2d_hint(sm.sfa + ps.stage * kSmemSfaBytes, tm_sfa, 0, static_cast<i32>(kb), bar, reuse_policy);
            }
            __syncwarp();
            ps.advance();
        }
    }
}

// Accumulator fragment of m64nTk32: fin[4g + j] is row (warp * 16 + lane / 4 + 8 * (j / 2)) of the warpgroup's 64
// and token column (8g + 2 * (lane % 4) + j % 2).
__device__ __forceinline__ void math_mainloop(float (&fin)[kAccRegs], PipelineState& ps, u32 kb_begin, u32 kb_end, const SmemLayout& sm,
                                              u32 wg, u32 lane, u32* status) {
    float acc[kAccRegs];
    const u64 desc_b0 = make_smem_desc(sm.b + wg * 64 * kBlockK);
    const u64 desc_a0 = make_smem_desc(sm.a);
    const u32 col_offset = (lane % 4) * 2 * 4;
#pragma unroll 1
    for (u32 kb = kb_begin; kb < kb_end; ++kb) {
        mbar_wait(sm.full_bar(ps.stage), ps.phase, status, kStatusMathTimeout);
        const u64 desc_b = desc_b0 + ((ps.stage * kSmemBBytes) >> 4);
        const u64 desc_a = desc_a0 + ((ps.stage * kSmemABytes) >> 4);
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fence_operand(acc[i]);
        wgmma_fence();
#pragma unroll
        for (u32 ks = 0; ks < kBlockK / 32; ++ks) wgmma_e4m3(acc, desc_b + 2 * ks, desc_a + 2 * ks, ks);  // +32 bytes per k32 step
        wgmma_commit();
        // The scales are read while the tensor cores work, and before the stage is released.
        const float sb = ld_shared_f32(sm.sfb + ps.stage * kSmemSfbBytes);
        const u32 sfa_addr = sm.sfa + ps.stage * kSmemSfaBytes + col_offset;
        float scale[kTokens / 4];
#pragma unroll
        for (u32 g = 0; g < kTokens / 8; ++g) {
            float lo, hi;
            asm volatile("ld.shared.v2.f32 {%0, %1}, [%2];" : "=f"(lo), "=f"(hi) : "r"(sfa_addr + g * 32) : "memory");
            scale[2 * g] = lo * sb;
            scale[2 * g + 1] = hi * sb;
        }
        wgmma_wait_all();
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fence_operand(acc[i]);
        if (lane == 0) mbar_arrive(sm.empty_bar(ps.stage));
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fin[i] += scale[(i / 4) * 2 + (i & 1)] * acc[i];
        ps.advance();
    }
}

__device__ __forceinline__ void math_barrier() { asm volatile("bar.sync 1, %0;" ::"n"(kNumMathThreads) : "memory"); }

// BF16 store of the finished tile: each value goes to D[token][row]; lanes with equal lane % 4 write 8 adjacent
// rows (16 bytes) of one token.
__device__ __forceinline__ void store_tile(const float (&fin)[kAccRegs], unsigned short* d, u32 ldd, u32 tile, u32 m, u32 n, u32 wg,
                                           u32 warp, u32 lane) {
    const u32 row0 = tile * kBlockRows + wg * 64 + warp * 16 + lane / 4;
#pragma unroll
    for (u32 i = 0; i < kAccRegs; ++i) {
        const u32 row = row0 + 8 * ((i >> 1) & 1);
        const u32 col = (i / 4) * 8 + (lane % 4) * 2 + (i & 1);
        if (row < n && col < m) {
            const unsigned short bits = static_cast<unsigned short>(pack_bf16x2(fin[i], 0.0f) & 0xFFFFu);
            d[static_cast<u64>(col) * ldd + row] = bits;
        }
    }
}

__device__ __forceinline__ void math_loop(const SmemLayout& sm, unsigned short* d, u32 ldd, float* __restrict__ workspace,
                                          u32* __restrict__ counters, u32 m, u32 n, const WorkUnits& wu, u32 wg, u32 warp, u32 lane,
                                          u32* status) {
    const u32 tid = wg * 128 + warp * 32 + lane;
    PipelineState ps;
    float fin[kAccRegs];
    for (u32 u = blockIdx.x; u < wu.num_units; u += gridDim.x) {
        u32 tile, split, kb_begin, kb_end;
        wu.unit(u, tile, split, kb_begin, kb_end);
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fin[i] = 0.0f;
        math_mainloop(fin, ps, kb_begin, kb_end, sm, wg, lane, status);
        if (wu.splits > 1) {
            // Partial (split, tile): kAccRegs planes of kNumMathThreads floats, so every access is coalesced.
            float* part = workspace + static_cast<u64>(split * wu.num_tiles + tile) * kAccRegs * kNumMathThreads + tid;
#pragma unroll
            for (u32 i = 0; i < kAccRegs; ++i) __stcg(part + i * kNumMathThreads, fin[i]);
            math_barrier();
            if (tid == 0) {
                // The barrier orders the CTA's partial stores before this thread's fence, which is cumulative: one
                // fence publishes them all before the counter moves.
                __threadfence();
                const u32 arrived = atomicAdd(counters + tile, 1u);
                const u32 last = arrived == wu.splits - 1;
                if (last) counters[tile] = 0;
                asm volatile("st.shared.u32 [%0], %1;" ::"r"(sm.flag), "r"(last) : "memory");
            }
            math_barrier();
            u32 last;
            asm volatile("ld.shared.u32 %0, [%1];" : "=r"(last) : "r"(sm.flag) : "memory");
            math_barrier();  // the flag is read by everyone before the next unit may rewrite it
            if (!last) continue;
            __threadfence();  // acquire side: the other units' partials are read after their counter increments
            float sum[kAccRegs];
#pragma unroll
            for (u32 i = 0; i < kAccRegs; ++i) sum[i] = 0.0f;
#pragma unroll 1
            for (u32 s = 0; s < wu.splits; ++s) {
                const float* src = workspace + static_cast<u64>(s * wu.num_tiles + tile) * kAccRegs * kNumMathThreads + tid;
                if (s == split) {
#pragma unroll
                    for (u32 i = 0; i < kAccRegs; ++i) sum[i] += fin[i];
                } else {
#pragma unroll
                    for (u32 i = 0; i < kAccRegs; ++i) sum[i] += __ldcg(src + i * kNumMathThreads);
                }
            }
#pragma unroll
            for (u32 i = 0; i < kAccRegs; ++i) fin[i] = sum[i];
        }
        store_tile(fin, d, ldd, tile, m, n, wg, warp, lane);
    }
}

}  // namespace DG_NAMESPACE

// Parameters:
//   - tm_a       A [M, K] FP8: UINT8, dims {K, M}, row pitch bytes, box {128, DG_TOKENS}, swizzle 128B
//   - tm_b       B [N, K] FP8: UINT8, dims {K, N}, row pitch bytes, box {128, DG_BLOCK_ROWS}, swizzle 128B
//   - tm_sfa     sfa: FLOAT32, dims {M, ceil(K/128)}, row pitch align(M,4)*4 bytes (or more), box {DG_TOKENS, 1}, none
//   - sfb        [ceil(N/128)][ceil(K/128)] FP32, device pointer
//   - d, ldd     D [M, N] BF16 with row pitch ldd elements
//   - workspace  FP32, splits * ceil(N/DG_BLOCK_ROWS) * DG_TOKENS * DG_BLOCK_ROWS floats (unused when splits == 1)
//   - counters   u32[ceil(N/DG_BLOCK_ROWS)], all 0 before the first launch; left at 0 by every launch
//   - m n k      problem size (1 <= m <= DG_TOKENS, K % 16 == 0), splits in [1, ceil(K/128)]
//   - status     optional device-visible u32[4]: on a watchdog trap receives {code, block, thread, detail}
extern "C" __global__ void __launch_bounds__(DG_NAMESPACE::kLaunchBoundThreads, 1)
    DG_KERNEL_NAME(const __grid_constant__ DG_NAMESPACE::TmaDesc tm_a, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_b,
                   const __grid_constant__ DG_NAMESPACE::TmaDesc tm_sfa, const float* __restrict__ sfb, unsigned short* d,
                   unsigned int ldd, float* __restrict__ workspace, unsigned int* __restrict__ counters, unsigned int m, unsigned int n,
                   unsigned int k, unsigned int splits, unsigned int* status) {
    using namespace DG_NAMESPACE;
    extern __shared__ __align__(1024) unsigned char dg_smem[];
    const SmemLayout sm(smem_addr(dg_smem));
    const u32 warp_idx = __shfl_sync(0xffffffffu, threadIdx.x / 32, 0);
    const u32 lane = threadIdx.x % 32;
    const WorkUnits wu(n, k, splits);

    if (threadIdx.x == kNumMathThreads) {
        if ((sm.b & 1023) != 0) fail(status, kStatusMisalignedSmem, sm.b);
        for (u32 s = 0; s < kStages; ++s) {
            mbar_init(sm.full_bar(s), 1);
            mbar_init(sm.empty_bar(s), kNumMathWarpgroups * 4);  // one arrive per math warp
        }
        fence_barrier_init();
        fence_proxy_async_smem();
    }
    __syncthreads();

#ifdef DG_TIMING_PROBE
    if (threadIdx.x == 0) atomicMin(DG_TIMING_PROBE, global_timer_ns());
#endif
    if (warp_idx >= kNumMathThreads / 32) {
        regs_decrease<kProducerRegs>();
        if (warp_idx == kNumMathThreads / 32) {
            if (lane == 0) {
                tma_prefetch(&tm_a);
                tma_prefetch(&tm_b);
                tma_prefetch(&tm_sfa);
            }
            producer_loop(sm, &tm_a, &tm_b, &tm_sfa, sfb, wu, lane, status);
        }
    } else {
        regs_increase<kMathRegs>();
        math_loop(sm, d, ldd, workspace, counters, m, n, wu, warp_idx / 4, warp_idx % 4, lane, status);
#ifdef DG_TIMING_PROBE
        if (lane == 0) atomicMax(DG_TIMING_PROBE + 1, global_timer_ns());  // harness only: kernel span in ns
#endif
    }
}
