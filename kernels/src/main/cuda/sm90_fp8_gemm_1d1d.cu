// deepgemm4j: persistent, warp-specialized FP8 GEMM for Hopper (sm_90a), "1D1D" scaling (weight gradients),
// FP32 output accumulated in place:
//
//   D[g, m, n] += sum_kb  sfa[kb][m] * sfb[kb][n] * sum_{k in block kb of group g} A_g[m, k] * B_g[n, k]
//
// Dense (DG_K_GROUPED 0): one group, A [M, K] and B [N, K] FP8 E4M3 K-major.
// K-grouped (DG_K_GROUPED 1): group g owns K_g tokens; A_g [M, K_g] and B_g [N, K_g] are K-major blocks laid end
//   to end in flat buffers (A_g starts at element M * sum_{h<g} K_h), so their row pitch changes per group: the
//   host encodes one A map and one B map per group into `group_maps` (global memory). The scales of all groups
//   share one map each: group g's 128-token blocks are columns kb_offset(g) .. of the MN-major sfa / sfb.
//
//   sfa [total_kb][align(M, 4)] FP32 MN-major ("TMA-aligned"); sfb [total_kb][align(N, 4)] likewise
//   D   [G, M, N] FP32 row-major; the kernel only adds into it (the host puts C there first, or zeros)
//   Requirements: K (or every K_g) % 16 == 0, N % 4 == 0 (16-byte TMA row pitches of FP8 and FP32 rows).
//
// Parameters, in order (maps encoded with cuTensorMapEncodeTiled, interleave none, OOB fill none):
//   - tm_a    dense: map of A: UINT8, dims {K, M}, box {128, BLOCK_M}, 128B swizzle; K-grouped: unused (any map)
//   - tm_b    dense: map of B: UINT8, dims {K, N}, box {128, BLOCK_N}, 128B swizzle; K-grouped: unused
//   - tm_sfa  FLOAT32, dims {M, total_kb}, column pitch align(M,4)*4 bytes, box {BLOCK_M, 1}, no swizzle
//   - tm_sfb  FLOAT32, dims {N, total_kb}, column pitch align(N,4)*4 bytes, box {BLOCK_N, 1}, no swizzle
//   - tm_d    FLOAT32, dims {N, M, G}, pitches {row, group} in bytes, box {BLOCK_N, 64, 1}, no swizzle
//   - group_maps  K-grouped: [num_groups][2] maps (A_g as tm_a with dims {K_g, M}, B_g likewise); dense: null
//   - groups      K-grouped: [num_groups] GroupInfo {index into D, K_g, first scale column, 0}; dense: null.
//                 The host lists only groups with K_g > 0: an empty group then costs nothing and leaves D[g].
//   - num_groups  entries of `groups` (dense: 1)
//   - m n k       problem size (k: dense K; K-grouped: unused)
//   - status      null, or 4 words the watchdog fills (code, block, thread, detail) before it traps
//
// Tile macros (plain decimal literals, baked by the JIT):
//   DG_BLOCK_M      64 (one math warpgroup) or 128 (two)                       default 128
//   DG_BLOCK_N      multiple of 8, 8..192; values = 8 mod 16 keep the FP32 staging stores free of bank
//                   conflicts                                                   default 152
//   DG_STAGES       pipeline depth; 0 = as many as fit (max 16)                 default 0
//   DG_NUM_SMS      SMs the tile order is planned for                           default 132
//   DG_GROUP_M      M blocks per raster band; 0 = pick 8 or 16                  default 0
//   DG_K_GROUPED    0 dense, 1 K-grouped                                        default 0
//   DG_PINGPONG     1 (BLOCK_M 128 only): the math warpgroups take turns on the tensor core, each handing it
//                   over when its block completes; 0: both issue at once       default 1 (BLOCK_M 128), 0
//   DG_WATCHDOG_NS, DG_SMEM_LIMIT, DG_NAMESPACE, DG_KERNEL_NAME as in sm90_fp8_gemm_1d2d.cu
// Launch: gridDim.x <= tiles (CTAs stride over tiles), blockDim.x = kNumThreads, dynamic smem = kSmemBytes.
//
// Design: as the 1D2D kernel (1 TMA producer warpgroup, 1-2 math warpgroups of 64 rows, mbarrier ring, wgmma
// m64nNk32, promotion into FP32 registers every 128 K), except that B's scales vary per column: they come by
// TMA per stage like A's, and promotion multiplies each accumulator pair by sa[row] * sb[col .. col+1]. The
// epilogue writes the FP32 tile to shared memory and hands it to a TMA reduce-add, so D += A*B^T costs no read
// of D on the SM and the add drains while the next tile's main loop runs.

#ifndef DG_BLOCK_M
#define DG_BLOCK_M 128
#endif
#ifndef DG_BLOCK_N
#define DG_BLOCK_N 152
#endif
#ifndef DG_STAGES
#define DG_STAGES 0
#endif
#ifndef DG_NUM_SMS
#define DG_NUM_SMS 132
#endif
#ifndef DG_GROUP_M
#define DG_GROUP_M 0
#endif
#ifndef DG_K_GROUPED
#define DG_K_GROUPED 0
#endif
#ifndef DG_PINGPONG
#define DG_PINGPONG (DG_BLOCK_M == 128 ? 1 : 0)
#endif
#ifndef DG_WATCHDOG_NS
#define DG_WATCHDOG_NS 2000000000ull
#endif
#ifndef DG_SMEM_LIMIT
#define DG_SMEM_LIMIT 232448
#endif
#ifndef DG_NAMESPACE
#define DG_NAMESPACE dg_sm90_fp8_gemm_1d1d
#endif
#ifndef DG_KERNEL_NAME
#define DG_KERNEL_NAME sm90_fp8_gemm_1d1d
#endif

#include "sm90_primitives.cuh"

namespace DG_NAMESPACE {

using namespace dg_sm90;

constexpr u32 kBlockM = DG_BLOCK_M;
constexpr u32 kBlockN = DG_BLOCK_N;
constexpr u32 kBlockK = 128;  // one scale block = one 128-byte swizzle row of FP8
constexpr bool kKGrouped = DG_K_GROUPED != 0;
constexpr u32 kAccRegs = kBlockN / 2;
constexpr u32 kNumMathWarpgroups = kBlockM / 64;
constexpr u32 kNumMathThreads = 128 * kNumMathWarpgroups;
constexpr u32 kNumThreads = kNumMathThreads + 128;
constexpr u32 kNumSms = DG_NUM_SMS;
static_assert(kBlockM == 64 || kBlockM == 128, "BLOCK_M must be 64 or 128");
static_assert(kBlockN % 8 == 0 && kBlockN >= 8 && kBlockN <= 192, "BLOCK_N must be a multiple of 8 in 8..192");

// FP32 staging tile of D, row-major without swizzle (the reduce-add box is {BLOCK_N, 64}); each warpgroup's
// 64-row half starts on a 1024-byte boundary so that the stage buffers after it stay swizzle-aligned.
constexpr u32 kSmemDBytes = align_up(kBlockM * kBlockN * 4, 1024);
constexpr u32 kSmemABytes = kBlockM * kBlockK;
constexpr u32 kSmemBBytes = kBlockN * kBlockK;
constexpr u32 kSmemSfaBytes = align_up(kBlockM * 4, 128);
constexpr u32 kSmemSfbBytes = align_up(kBlockN * 4, 128);
constexpr u32 kSmemPerStage = kSmemABytes + kSmemBBytes + kSmemSfaBytes + kSmemSfbBytes + 2 * 8;
constexpr u32 kStages = DG_STAGES > 0 ? DG_STAGES : min_u32(16, (DG_SMEM_LIMIT - kSmemDBytes) / kSmemPerStage);
constexpr u32 kSmemBytes = kSmemDBytes + kStages * kSmemPerStage;
constexpr u32 kTxBytes = kSmemABytes + kSmemBBytes + kBlockM * 4 + kBlockN * 4;  // full boxes, even out of range
static_assert(kStages >= 2 && kSmemBytes <= DG_SMEM_LIMIT, "tile does not fit in shared memory");

__host__ __device__ constexpr u32 band_cost(u32 g) { return g * kBlockM + (kNumSms + g - 1) / g * kBlockN; }
constexpr u32 kGroupM = DG_GROUP_M > 0 ? DG_GROUP_M : (band_cost(16) < band_cost(8) ? 16 : 8);

// Ping-pong (DG_PINGPONG 1): the two math warpgroups take turns on the tensor core, so that one promotes its
// block on the FP32 pipe while the other's WGMMAs run, instead of both promoting at once with the tensor core idle.
// The promotion here is two FP32 operations per accumulator (sa·sb, then the FMA), twice the 1D2D kernel's. H100,
// 1D1D harness, 128 x 184 (docs/perf/2026-12-07-h100-session10.txt): hand-over at completion (1) is 0.4-12% faster
// on all 7 dense shapes (7168 x 4096 x 16384: 1152 -> 1030 us) and -5..+7% on the k-grouped ones; at 128 x 152 it
// stayed within 3% of no ping-pong, as did handing over at issue rather than completion. On the 1D2D kernel (one FMA
// per accumulator) both ways made it slower (2-26%), so it has no ping-pong.
constexpr u32 kPingPong = DG_PINGPONG;
static_assert(kPingPong <= 1 && (kPingPong == 0 || kNumMathWarpgroups == 2), "ping-pong needs two math warpgroups");
constexpr u32 kProducerRegs = 40;
constexpr u32 kMathRegs = kNumMathWarpgroups == 1 ? 248 : 232;
constexpr u32 kLaunchBoundThreads = 384;
static_assert(128 * kProducerRegs + kNumMathThreads * kMathRegs <= setmaxnreg_pool(kLaunchBoundThreads, kNumThreads),
              "setmaxnreg budget exceeds the registers the CTA is launched with");

constexpr u32 kStatusMisalignedSmem = 1;
constexpr u32 kStatusProducerTimeout = 2;
constexpr u32 kStatusMathTimeout = 3;

// One K-grouped work item: D slice `group`, K_g tokens, scale columns from `kb_offset`.
struct GroupInfo {
    u32 group, k, kb_offset, reserved;
};

DG_SM90_DEFINE_WGMMA_E4M3(wgmma_e4m3, DG_BLOCK_N)

struct SmemLayout {
    u32 d, a, b, sfa, sfb, full, empty;
    __device__ explicit SmemLayout(u32 base)
        : d(base),
          a(base + kSmemDBytes),
          b(a + kStages * kSmemABytes),
          sfa(b + kStages * kSmemBBytes),
          sfb(sfa + kStages * kSmemSfaBytes),
          full(sfb + kStages * kSmemSfbBytes),
          empty(full + kStages * 8) {}
    __device__ u32 full_bar(u32 s) const { return full + s * 8; }
    __device__ u32 empty_bar(u32 s) const { return empty + s * 8; }
};

// Tiles are numbered group-major, then in raster bands inside a group. Producer and math warpgroups walk the
// same sequence independently, so their stage/phase counters stay in lockstep.
struct TileScheduler {
    u32 num_m_blocks, num_n_blocks, tiles_per_group, num_tiles;
    __device__ TileScheduler(u32 m, u32 n, u32 num_groups)
        : num_m_blocks((m + kBlockM - 1) / kBlockM),
          num_n_blocks((n + kBlockN - 1) / kBlockN),
          tiles_per_group(num_m_blocks * num_n_blocks),
          num_tiles(tiles_per_group * num_groups) {}
    __device__ void coords(u32 tile, u32& item, u32& m_block, u32& n_block) const {
        item = tile / tiles_per_group;
        const u32 t = tile - item * tiles_per_group;
        const u32 per_band = kGroupM * num_n_blocks;
        const u32 band = t / per_band;
        const u32 first_m = band * kGroupM;
        const u32 band_m = min_u32(num_m_blocks - first_m, kGroupM);
        const u32 rest = t - band * per_band;
        m_block = first_m + rest % band_m;
        n_block = rest / band_m;
    }
};

struct WorkItem {
    u32 group, k, kb_offset;
};

__device__ __forceinline__ WorkItem work_item(const GroupInfo* groups, u32 item, u32 k) {
#if DG_K_GROUPED
    const GroupInfo gi = groups[item];
    return {gi.group, gi.k, gi.kb_offset};
#else
    return {0, k, 0};
#endif
}

struct PipelineState {
    u32 stage = 0, phase = 0;
    __device__ void advance() {
        if (++stage == kStages) {
            stage = 0;
            phase ^= 1;
        }
    }
};

// Lane 0 of the producer warp only: four TMA loads per stage.
__device__ __forceinline__ void producer_loop(const SmemLayout& sm, const TmaDesc* tm_a, const TmaDesc* tm_b, const TmaDesc* tm_sfa,
                                              const TmaDesc* tm_sfb, const TmaDesc* group_maps, const GroupInfo* groups,
                                              u32 num_groups, u32 m, u32 n, u32 k, u32* status) {
    const TileScheduler sched(m, n, num_groups);
    PipelineState ps;
    u32 last_item = ~0u;
    for (u32 tile = blockIdx.x; tile < sched.num_tiles; tile += gridDim.x) {
        u32 item, m_block, n_block;
        sched.coords(tile, item, m_block, n_block);
        const WorkItem w = work_item(groups, item, k);
        const TmaDesc* map_a = tm_a;
        const TmaDesc* map_b = tm_b;
        if constexpr (kKGrouped) {
            map_a = group_maps + 2 * item;
            map_b = group_maps + 2 * item + 1;
            if (item != last_item) {
                fence_tensormap_acquire(map_a);
                fence_tensormap_acquire(map_b);
                last_item = item;
            }
        }
        const i32 m0 = static_cast<i32>(m_block * kBlockM), n0 = static_cast<i32>(n_block * kBlockN);
        const u32 num_k_blocks = (w.k + kBlockK - 1) / kBlockK;
#pragma unroll 1
        for (u32 kb = 0; kb < num_k_blocks; ++kb) {
            mbar_wait(sm.empty_bar(ps.stage), ps.phase ^ 1, status, kStatusProducerTimeout);
            const u32 bar = sm.full_bar(ps.stage);
            mbar_arrive_expect_tx(bar, kTxBytes);
            const i32 k0 = static_cast<i32>(kb * kBlockK);
            const i32 sf_col = static_cast<i32>(w.kb_offset + kb);
            tma_load_2d(sm.a + ps.stage * kSmemABytes, map_a, k0, m0, bar);
            tma_load_2d(sm.b + ps.stage * kSmemBBytes, map_b, k0, n0, bar);
            tma_load_2d(sm.sfa + ps.stage * kSmemSfaBytes, tm_sfa, m0, sf_col, bar);
            tma_load_2d(sm.sfb + ps.stage * kSmemSfbBytes, tm_sfb, n0, sf_col, bar);
            ps.advance();
        }
    }
}

// Ping-pong turns (DG_PINGPONG): before warpgroup wg issues a block it waits for the other's hand-over (warpgroup 0's
// very first block waits for none); it hands over once its own block has completed.
__device__ __forceinline__ void pingpong_before_issue(u32 wg, bool first) {
    if constexpr (kPingPong != 0) {
        if (wg == 0) {
            if (!first) named_bar_sync_256<3>();
        } else {
            named_bar_sync_256<4>();
        }
    }
}
__device__ __forceinline__ void pingpong_hand_over(u32 wg) {
    if constexpr (kPingPong != 0) {
        if (wg == 0)
            named_bar_arrive_256<4>();
        else
            named_bar_arrive_256<3>();
    }
}
// Warpgroup 0 takes warpgroup 1's last hand-over, so no arrival is left pending on barrier 3 at exit.
__device__ __forceinline__ void pingpong_finish(u32 wg, bool any) {
    if constexpr (kPingPong != 0) {
        if (wg == 0 && any) named_bar_sync_256<3>();
    }
}

// Main loop of one tile for one math warpgroup: fin += sa[row] * sb[col] * (A * B^T over one 128-K block).
__device__ __forceinline__ void math_mainloop(float (&fin)[kAccRegs], PipelineState& ps, u32 num_k_blocks, const SmemLayout& sm, u32 wg,
                                              u32 warp, u32 lane, u32* status, bool& first) {
    float acc[kAccRegs];
    const u32 row0 = wg * 64 + warp * 16 + lane / 4;  // this thread's rows: row0 and row0 + 8
    const u32 col0 = (lane % 4) * 2;                  // and columns 8g + col0, + 1 for each 8-column group g
    const u64 desc_a0 = make_smem_desc(sm.a + wg * 64 * kBlockK);
    const u64 desc_b0 = make_smem_desc(sm.b);
#pragma unroll 1
    for (u32 kb = 0; kb < num_k_blocks; ++kb) {
        mbar_wait(sm.full_bar(ps.stage), ps.phase, status, kStatusMathTimeout);
        const u64 desc_a = desc_a0 + ((ps.stage * kSmemABytes) >> 4);
        const u64 desc_b = desc_b0 + ((ps.stage * kSmemBBytes) >> 4);
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fence_operand(acc[i]);
        pingpong_before_issue(wg, first);
        first = false;
        wgmma_fence();
#pragma unroll
        for (u32 ks = 0; ks < kBlockK / 32; ++ks) wgmma_e4m3(acc, desc_a + 2 * ks, desc_b + 2 * ks, ks);  // +32 bytes per k32 step
        wgmma_commit();
        // The row scales are read while the tensor core works.
        const u32 sfa_addr = sm.sfa + ps.stage * kSmemSfaBytes + row0 * 4;
        const float sa0 = ld_shared_f32(sfa_addr), sa1 = ld_shared_f32(sfa_addr + 8 * 4);
        wgmma_wait_all();
        pingpong_hand_over(wg);
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fence_operand(acc[i]);
        const u32 sfb_addr = sm.sfb + ps.stage * kSmemSfbBytes + col0 * 4;
#pragma unroll
        for (u32 g = 0; g < kBlockN / 8; ++g) {
            float sb0, sb1;
            ld_shared_v2(sfb_addr + g * 32, sb0, sb1);
            fin[g * 4 + 0] += (sa0 * sb0) * acc[g * 4 + 0];
            fin[g * 4 + 1] += (sa0 * sb1) * acc[g * 4 + 1];
            fin[g * 4 + 2] += (sa1 * sb0) * acc[g * 4 + 2];
            fin[g * 4 + 3] += (sa1 * sb1) * acc[g * 4 + 3];
        }
        // Released only after the scales were read: the producer overwrites them with the stage's next load.
        if (lane == 0) mbar_arrive(sm.empty_bar(ps.stage));
        ps.advance();
    }
}

// Epilogue of one math warpgroup (its 64 rows): FP32 into the staging half, then one TMA reduce-add, not waited
// for here (the wait precedes the next overwrite of the staging tile, or the exit).
__device__ __forceinline__ void math_epilogue(const float (&fin)[kAccRegs], const SmemLayout& sm, const TmaDesc* tm_d, u32 group,
                                              u32 m_block, u32 n_block, u32 m, u32 wg, u32 warp, u32 lane) {
    const bool leader = warp == 0 && lane == 0;
    if (leader) tma_store_wait_read();
    warpgroup_sync(wg);
    const u32 half = sm.d + wg * 64 * kBlockN * 4;
    const u32 r = warp * 16 + lane / 4;
    const u32 base0 = half + (r * kBlockN + (lane % 4) * 2) * 4;
    const u32 base1 = base0 + 8 * kBlockN * 4;
#pragma unroll
    for (u32 g = 0; g < kBlockN / 8; ++g) {
        st_shared_v2(base0 + g * 32, fin[g * 4 + 0], fin[g * 4 + 1]);
        st_shared_v2(base1 + g * 32, fin[g * 4 + 2], fin[g * 4 + 3]);
    }
    fence_proxy_async_smem();  // generic-proxy writes become visible to the TMA (async proxy)
    warpgroup_sync(wg);
    if (leader) {
        const u32 r0 = m_block * kBlockM + wg * 64;
        if (r0 < m) tma_reduce_add_3d(tm_d, half, static_cast<i32>(n_block * kBlockN), static_cast<i32>(r0), static_cast<i32>(group));
        tma_store_commit();
    }
}

__device__ __forceinline__ void math_loop(const SmemLayout& sm, const TmaDesc* tm_d, const GroupInfo* groups, u32 num_groups, u32 m,
                                          u32 n, u32 k, u32 wg, u32 warp, u32 lane, u32* status) {
    const TileScheduler sched(m, n, num_groups);
    PipelineState ps;
    float fin[kAccRegs];
    bool first = true;
    for (u32 tile = blockIdx.x; tile < sched.num_tiles; tile += gridDim.x) {
        u32 item, m_block, n_block;
        sched.coords(tile, item, m_block, n_block);
        const WorkItem w = work_item(groups, item, k);
        const u32 num_k_blocks = (w.k + kBlockK - 1) / kBlockK;
        if (num_k_blocks == 0) continue;  // nothing to add (the host filters these; a guard costs nothing)
#pragma unroll
        for (u32 i = 0; i < kAccRegs; ++i) fin[i] = 0.0f;
        math_mainloop(fin, ps, num_k_blocks, sm, wg, warp, lane, status, first);
        math_epilogue(fin, sm, tm_d, w.group, m_block, n_block, m, wg, warp, lane);
    }
    pingpong_finish(wg, !first);
    if (warp == 0 && lane == 0) tma_store_wait_all();  // the staging tile must outlive the last reduce-add
}

}  // namespace DG_NAMESPACE

extern "C" __global__ void __launch_bounds__(DG_NAMESPACE::kLaunchBoundThreads, 1)
    DG_KERNEL_NAME(const __grid_constant__ DG_NAMESPACE::TmaDesc tm_a, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_b,
                   const __grid_constant__ DG_NAMESPACE::TmaDesc tm_sfa, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_sfb,
                   const __grid_constant__ DG_NAMESPACE::TmaDesc tm_d, const DG_NAMESPACE::TmaDesc* __restrict__ group_maps,
                   const DG_NAMESPACE::GroupInfo* __restrict__ groups, unsigned int num_groups, unsigned int m, unsigned int n,
                   unsigned int k, unsigned int* status) {
    using namespace DG_NAMESPACE;
    extern __shared__ __align__(1024) unsigned char dg_smem[];
    const SmemLayout sm(smem_addr(dg_smem));
    const u32 warp_idx = __shfl_sync(0xffffffffu, threadIdx.x / 32, 0);
    const u32 lane = threadIdx.x % 32;

    if (threadIdx.x == kNumMathThreads) {
        if ((sm.d & 1023) != 0) fail(status, kStatusMisalignedSmem, sm.d);
        for (u32 s = 0; s < kStages; ++s) {
            mbar_init(sm.full_bar(s), 1);
            mbar_init(sm.empty_bar(s), kNumMathWarpgroups * 4);  // one arrive per math warp
        }
        fence_barrier_init();
        fence_proxy_async_smem();
    }
    __syncthreads();

    if (warp_idx >= kNumMathThreads / 32) {
        regs_decrease<kProducerRegs>();
        if (warp_idx == kNumMathThreads / 32 && lane == 0) {
            if constexpr (!kKGrouped) {
                tma_prefetch(&tm_a);
                tma_prefetch(&tm_b);
            }
            tma_prefetch(&tm_sfa);
            tma_prefetch(&tm_sfb);
            tma_prefetch(&tm_d);
            producer_loop(sm, &tm_a, &tm_b, &tm_sfa, &tm_sfb, group_maps, groups, num_groups, m, n, k, status);
        }
    } else {
        regs_increase<kMathRegs>();
        math_loop(sm, &tm_d, groups, num_groups, m, n, k, warp_idx / 4, warp_idx % 4, lane, status);
    }
}
