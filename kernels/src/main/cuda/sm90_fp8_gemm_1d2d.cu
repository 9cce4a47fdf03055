// deepgemm4j: persistent, warp-specialized FP8 GEMM for Hopper (sm_90a), "1D2D" scaling, BF16 output.
//
//   D[m, n] = sum_kb  sfa[kb][m] * sfb[n / 128][kb] * sum_{k in block kb} A[m, k] * B[n, k]
//
//   A   [M, K]  FP8 E4M3, K-major (row stride K bytes)
//   sfa [ceil(K/128)][align(M, 4)]  FP32, MN-major ("TMA-aligned"), one scale per row and 128-wide K block
//   B   [N, K]  FP8 E4M3, K-major
//   sfb [ceil(N/128)][ceil(K/128)]  FP32, one scale per 128x128 block
//   D   [M, N]  BF16, row-major
//   Requirements: K % 16 == 0 and N % 8 == 0 (16-byte TMA row pitch); M, N, K otherwise arbitrary (TMA
//   zero-fills out-of-range loads and clips out-of-range stores).
// M-grouped variants (DG_GEMM_TYPE > 0; experts share N and K, B is [G, N, K] and sfb [G][ceil(N/128)][ceil(K/128)],
// the B map spans all G * N rows and a tile reads rows group * N + n0; rows of D that no expert owns stay untouched):
//   1 contiguous, index layout: A/D [M, *] rows of all experts end to end; layout[M] holds each row's expert, -1 for
//     padding. A tile's expert is that of its first row (experts start at multiples of BLOCK_M, so a valid layout
//     never mixes experts in a tile); a tile whose first row has no expert loads and computes nothing.
//   2 contiguous, psum layout: layout[G] holds each expert's end row; expert g owns rows
//     [align(end[g-1], alignment), end[g]), alignment a multiple of BLOCK_M.
//   3 masked: A [G, M_max, K] and D [G, M_max, N] as [G * M_max] rows (m = M_max), sfa [G][ceil(K/128)][align(M_max,
//     4)] (its map spans G * ceil(K/128) columns of M_max rows), layout[G] = masked_m on the device: only the tiles
//     below masked_m[g] exist, so a launch is graph-capturable and an empty group costs one read.
// Parameters, in order (the host encodes the maps with cuTensorMapEncodeTiled, L2 promotion 256 B):
//   - tm_a    map of A: UINT8, dims {K, M}, row pitch in bytes, box {128, BLOCK_M}, 128B swizzle
//   - tm_b    map of B: UINT8, dims {K, N}, row pitch in bytes, box {128, BLOCK_N}, 128B swizzle
//   - tm_sfa  map of sfa: FLOAT32, dims {M, ceil(K/128)}, column pitch in bytes, box {BLOCK_M, 1}, no swizzle
//   - tm_d    map of D: BFLOAT16, dims {N, M}, row pitch in bytes, box {kDChunkCols, 64}, swizzle kDSwizzle bytes
//   - sfb     device pointer to sfb
//   - m n k   the problem size
//   - status  null, or 4 words the watchdog fills (code, block, thread, detail) before it traps
//
// The file includes only sm90_primitives.cuh (the JIT inlines it), so NVRTC needs no include path. Every tile parameter is a
// macro the JIT bakes in (plain decimal literals):
//   DG_BLOCK_M      64 (one math warpgroup), 128 (two) or 256 (two, each running two 64-row WGMMA waves per K
//                   block into the same accumulators and keeping two sets of promoted results; BLOCK_N <= 128)
//                                                                                default 128
//   DG_BLOCK_N      multiple of 16, 16..256                                      default 128
//   DG_STAGES       pipeline depth; 0 = as many as fit in DG_SMEM_LIMIT (max 16)  default 0
//   DG_NUM_SMS      SMs the grid is sized for (only the tile-order heuristic uses it; the kernel strides
//                   tiles by gridDim.x, so any grid size is correct)              default 132
//   DG_GROUP_M      M blocks per raster band (L2 reuse); 0 = pick 8 or 16         default 0
//   DG_N_WAVES      WGMMA passes per 128-K block, each over BLOCK_N / DG_N_WAVES columns; 2 keeps the
//                   accumulators of BLOCK_N > 192 within the register budget     default 1, 2 if BLOCK_N > 192
//   DG_CLUSTER_M    2: clusters of 2 CTAs on consecutive tiles: where both tiles read the same B tile (same N block
//                   and expert), rank 0 loads it once by multicast TMA into both CTAs (half the L2->SM traffic of
//                   B); elsewhere (a band edge, tiles of two experts) each CTA loads its own. Decided per tile.
//                   The launch must set cluster dims (2,1,1) and an even grid                    default 1
//   DG_WATCHDOG_NS  an mbarrier wait longer than this records a code in `status` and traps; 0 disables
//                                                                                default 2 s
//   DG_SMEM_LIMIT   dynamic shared memory per block                              default 232448
//   DG_GEMM_TYPE    0 dense; M-grouped: 1 contiguous with per-row expert ids (index layout), 2 contiguous
//                   with per-expert end rows (psum layout), 3 masked                default 0
//   DG_NAMESPACE / DG_KERNEL_NAME  let one translation unit hold several configurations (test harness)
// Launch: gridDim.x <= number of tiles (persistent: each CTA strides over tiles), blockDim.x = kNumThreads,
// dynamic shared memory = kSmemBytes (both constants of DG_NAMESPACE).
//
// Design: 1 TMA producer warpgroup + 1 or 2 math warpgroups (setmaxnreg 40 / 248 or 232). The producer's
// first warp streams A, B and sfa tiles by TMA through a ring of kStages stages guarded by full/empty
// mbarriers, and writes the tile's sfb values for the stage next to them. Each math warpgroup owns 64 rows:
// per 128-K block it issues 4 x wgmma m64nNk32 (E4M3, both operands in 128B-swizzled shared memory), waits,
// releases the stage and promotes the FP32 partial into its own accumulators with sfa * sfb (the tensor
// core therefore never sums more than 128 products). The epilogue converts to BF16, writes a swizzled
// staging tile with stmatrix and stores it by TMA; the store drains while the next tile's main loop runs.

#ifndef DG_BLOCK_M
#define DG_BLOCK_M 128
#endif
#ifndef DG_BLOCK_N
#define DG_BLOCK_N 128
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
#ifndef DG_N_WAVES
#define DG_N_WAVES (DG_BLOCK_N > 192 ? 2 : 1)
#endif
#ifndef DG_CLUSTER_M
#define DG_CLUSTER_M 1
#endif
#ifndef DG_WATCHDOG_NS
#define DG_WATCHDOG_NS 2000000000ull
#endif
#ifndef DG_SMEM_LIMIT
#define DG_SMEM_LIMIT 232448
#endif
#ifndef DG_GEMM_TYPE
#define DG_GEMM_TYPE 0
#endif
#ifndef DG_NAMESPACE
#define DG_NAMESPACE dg_sm90_fp8_gemm_1d2d
#endif
#ifndef DG_KERNEL_NAME
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d
#endif

#include "sm90_primitives.cuh"

#if DG_N_WAVES == 1
#define DG_WAVE_N DG_BLOCK_N
#elif DG_N_WAVES == 2
#define DG_WAVE_N DG_CAT(DG_HALF_, DG_BLOCK_N)
#else
#error "DG_N_WAVES must be 1 or 2"
#endif

namespace DG_NAMESPACE {

using namespace dg_sm90;

constexpr u32 kBlockM = DG_BLOCK_M;
constexpr u32 kBlockN = DG_BLOCK_N;
constexpr u32 kBlockK = 128;  // = one scale block = one 128-byte swizzle row of FP8
constexpr u32 kNumWaves = DG_N_WAVES;
// With an even grid, the CTAs 2c and 2c + 1 of a cluster always get tiles 2p and 2p + 1, which the band raster below
// mostly puts on M blocks 2i, 2i + 1 of one N block: they share the B tile. The pair steps through its tiles together
// (see TileScheduler::next), so both CTAs' stages and phases stay in lockstep and a multicast lands in the same stage.
constexpr u32 kClusterM = DG_CLUSTER_M;
static_assert(kClusterM == 1 || kClusterM == 2, "DG_CLUSTER_M must be 1 or 2");
constexpr u32 kWaveN = DG_WAVE_N;
constexpr u32 kAccRegs = kWaveN / 2;
constexpr u32 kFinRegs = kBlockN / 2;
constexpr u32 kNumMathWarpgroups = kBlockM == 64 ? 1 : 2;
// 64-row WGMMA waves per math warpgroup and K block: a 256-row tile reads each B stage twice from shared memory but
// loads it from L2 once for twice the rows, and its promoted results take twice the registers.
constexpr u32 kMWaves = kBlockM / (64 * kNumMathWarpgroups);
constexpr u32 kNumMathThreads = 128 * kNumMathWarpgroups;
constexpr u32 kNumThreads = kNumMathThreads + 128;
constexpr u32 kNumSms = DG_NUM_SMS;
static_assert(kBlockM == 64 || kBlockM == 128 || kBlockM == 256, "DG_BLOCK_M must be 64, 128 or 256");
static_assert(kMWaves == 1 || (kBlockN <= 128 && kNumWaves == 1), "256-row tiles need BLOCK_N <= 128 (registers)");
static_assert(kBlockN % 16 == 0 && kBlockN >= 16 && kBlockN <= 256, "DG_BLOCK_N must be a multiple of 16 in 16..256");
static_assert(kWaveN * kNumWaves == kBlockN && kWaveN % 8 == 0 && kWaveN <= 192,
              "each WGMMA pass must be a multiple of 8 columns and at most 192 (register budget)");

// n0 % 128 of a tile is a multiple of this, so a tile meets at most kMaxSfbBlocks 128-column scale blocks.
constexpr u32 kNOffsetStep = gcd_u32(kBlockN, 128);
constexpr u32 kMaxSfbBlocks = (128 - kNOffsetStep + kBlockN + 127) / 128;
static_assert(kMaxSfbBlocks <= 4, "a stage carries at most 4 sfb values");

// BF16 staging tile: column chunks whose row is one swizzle span (128, 64 or 32 bytes), the widest span
// that divides the tile row, so that one TMA store box per chunk covers the tile exactly.
constexpr u32 kDSwizzle = (kBlockN * 2) % 128 == 0 ? 128 : ((kBlockN * 2) % 64 == 0 ? 64 : 32);
constexpr u32 kDChunkCols = kDSwizzle / 2;
constexpr u32 kDNumChunks = kBlockN / kDChunkCols;

// Shared memory: [D staging][A stages][B stages][sfa stages][sfb slots][full barriers][empty barriers].
// D, A and B pieces stay 1024-byte aligned (128B swizzle atoms; descriptor base offset 0).
constexpr u32 kSmemDBytes = align_up(kBlockM * kBlockN * 2, 1024);
constexpr u32 kSmemABytes = kBlockM * kBlockK;
constexpr u32 kSmemBBytes = kBlockN * kBlockK;
constexpr u32 kSmemSfaBytes = align_up(kBlockM * 4, 128);
constexpr u32 kSmemSfbBytes = 16;
constexpr u32 kSmemPerStage = kSmemABytes + kSmemBBytes + kSmemSfaBytes + kSmemSfbBytes + 2 * 8;
constexpr u32 kStages = DG_STAGES > 0 ? DG_STAGES : min_u32(16, (DG_SMEM_LIMIT - kSmemDBytes) / kSmemPerStage);
constexpr u32 kSmemBytes = kSmemDBytes + kStages * kSmemPerStage;
constexpr u32 kTxBytes = kSmemABytes + kSmemBBytes + kBlockM * 4;  // full boxes, even when partly out of range
static_assert(kStages >= 2 && kSmemBytes <= DG_SMEM_LIMIT, "tile does not fit in shared memory");

// Raster bands of kGroupM M blocks, walked N-major inside a band: one wave then touches kGroupM A panels and
// about kNumSms / kGroupM B panels; the band size minimises that working set.
__host__ __device__ constexpr u32 band_cost(u32 g) { return g * kBlockM + (kNumSms + g - 1) / g * kBlockN; }
constexpr u32 kGroupM = DG_GROUP_M > 0 ? DG_GROUP_M : (band_cost(16) < band_cost(8) ? 16 : 8);

// setmaxnreg budgets: 40 for the producer, the rest of the 64K register file to the math warpgroups.
constexpr u32 kProducerRegs = 40;
constexpr u32 kMathRegs = kNumMathWarpgroups == 1 ? 248 : 232;
constexpr u32 kLaunchBoundThreads = 384;
static_assert(128 * kProducerRegs + kNumMathThreads * kMathRegs <= setmaxnreg_pool(kLaunchBoundThreads, kNumThreads),
              "setmaxnreg budget exceeds the registers the CTA is launched with");

// Watchdog codes written to status[0].
constexpr u32 kStatusMisalignedSmem = 1;
constexpr u32 kStatusProducerTimeout = 2;
constexpr u32 kStatusMathTimeout = 3;

// ---------------------------------------------------------------------------------------------------------

DG_SM90_DEFINE_WGMMA_E4M3(wgmma_e4m3, DG_WAVE_N)

// ---------------------------------------------------------------------------------------------------------

// The M-grouped parameters (unused by the dense GEMM): the layout tensor, the expert count, the psum alignment,
// and D as a plain pointer for the row-by-row stores of tiles only partly owned by their expert.
struct GroupArgs {
    const int* layout;
    u32 num_groups, alignment;
    unsigned short* d;
    u32 d_pitch;  // elements
};

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

// One tile of work: where its rows live in the 2-D maps of A, sfa and D, which expert's B it reads, and how many
// of its rows are valid (a prefix; the index layout re-checks each row at the store).
struct Tile {
    u32 m_block, n_block;
    u32 row0;         // first row in the A / D maps
    u32 sfa_col0;     // sfa map column of K block 0 (masked: group * ceil(K/128))
    u32 group;        // expert (0 for the dense GEMM)
    u32 valid_rows;   // rows [row0, row0 + valid_rows) may be stored
    bool computed;    // false: nothing to load, compute or store
};

// What a CTA does with the tile of one scheduler step. kPhantom (clusters only): its own tile is absent or
// skipped but the peer's is computed, so it runs the pipeline's barriers without loads or MMA, to keep both CTAs'
// stages and phases equal (a multicast must land in the stage the peer expects) and to release its share of the
// peer's stages.
enum class TileRole { kSkip, kCompute, kPhantom };

// Producer and math warpgroups walk the same tile sequence independently (same inputs, same reads of the layout),
// so their stage/phase counters stay in lockstep across tiles without any other coordination.
struct TileScheduler {
    u32 m, n, num_k_blocks, num_m_blocks, num_n_blocks, num_tiles;
    const int* layout;
    u32 num_groups, alignment;
    u32 group = 0, tiles_before = 0;  // masked: the group of the last tile and the tiles of the groups before it

    __device__ TileScheduler(u32 m_, u32 n_, u32 k, const int* layout_, u32 num_groups_, u32 alignment_)
        : m(m_), n(n_), num_k_blocks((k + kBlockK - 1) / kBlockK), num_m_blocks((m_ + kBlockM - 1) / kBlockM),
          num_n_blocks((n_ + kBlockN - 1) / kBlockN), num_tiles(num_m_blocks * num_n_blocks), layout(layout_),
          num_groups(num_groups_), alignment(alignment_) {}

    // Raster bands of kGroupM M blocks walked N-major: one wave touches few A and B panels.
    __device__ void coords(u32 tile, u32 m_blocks, u32& m_block, u32& n_block) const {
        const u32 per_band = kGroupM * num_n_blocks;
        const u32 band = tile / per_band;
        const u32 first_m = band * kGroupM;
        const u32 band_m = min_u32(m_blocks - first_m, kGroupM);
        const u32 rest = tile - band * per_band;
        m_block = first_m + rest % band_m;
        n_block = rest / band_m;
    }

    __device__ u32 masked_rows(u32 g) const {
        const int v = __ldg(layout + g);
        return v <= 0 ? 0u : min_u32(static_cast<u32>(v), m);
    }

    // The tile of scheduler step `tile` (increasing from call to call) for this CTA: its role, and in `multicast_b`
    // whether the cluster's rank 0 multicasts B to both CTAs (both compute, and their tiles read the same B tile);
    // false once the tiles are exhausted. Both CTAs of a cluster see the same pair and decide alike.
    __device__ bool next(u32 tile, Tile& t, TileRole& role, bool& multicast_b) {
        multicast_b = false;
        if constexpr (kClusterM == 1) {
            if (!get(tile, t)) return false;
            role = t.computed ? TileRole::kCompute : TileRole::kSkip;
            return true;
        } else {
            // (Two named tiles, not an array indexed by the rank, which would live in local memory.)
            Tile first, second;
            const u32 base = tile & ~1u;
            if (!get(base, first)) return false;
            if (!get(base + 1, second)) second = Tile{0, 0, 0, 0, 0, 0, false};
            const bool rank1 = (tile & 1u) != 0;
            t = rank1 ? second : first;
            const bool peer_computed = rank1 ? first.computed : second.computed;
            role = t.computed ? TileRole::kCompute : (peer_computed ? TileRole::kPhantom : TileRole::kSkip);
            multicast_b = first.computed && second.computed && first.n_block == second.n_block && first.group == second.group;
            return true;
        }
    }

    // Fills `t` for tile index `tile` (increasing from call to call); false once the tiles are exhausted.
    __device__ bool get(u32 tile, Tile& t) {
        t.group = 0;
        t.sfa_col0 = 0;
        t.computed = true;
#if DG_GEMM_TYPE == 3
        u32 rows = 0, tiles = 0;
        for (; group < num_groups; ++group) {
            rows = masked_rows(group);
            tiles = (rows + kBlockM - 1) / kBlockM * num_n_blocks;
            if (tile < tiles_before + tiles) break;
            tiles_before += tiles;
        }
        if (group >= num_groups) return false;
        coords(tile - tiles_before, (rows + kBlockM - 1) / kBlockM, t.m_block, t.n_block);
        t.group = group;
        t.row0 = group * m + t.m_block * kBlockM;
        t.sfa_col0 = group * num_k_blocks;
        t.valid_rows = min_u32(rows - t.m_block * kBlockM, kBlockM);
        return true;
#else
        if (tile >= num_tiles) return false;
        coords(tile, num_m_blocks, t.m_block, t.n_block);
        t.row0 = t.m_block * kBlockM;
        t.valid_rows = min_u32(m - t.row0, kBlockM);
#if DG_GEMM_TYPE == 1
        const int e = __ldg(layout + t.row0);
        t.computed = e >= 0 && static_cast<u32>(e) < num_groups;
        t.group = t.computed ? static_cast<u32>(e) : 0;
#elif DG_GEMM_TYPE == 2
        // The first expert ending after row0 (ends never decrease in a valid layout).
        u32 lo = 0, hi = num_groups;
        while (lo < hi) {
            const u32 mid = (lo + hi) / 2;
            if (__ldg(layout + mid) > static_cast<int>(t.row0)) hi = mid; else lo = mid + 1;
        }
        const int prev_end = lo == 0 ? 0 : max(__ldg(layout + lo - 1), 0);
        const u32 start = (static_cast<u32>(prev_end) + alignment - 1) / alignment * alignment;
        t.computed = lo < num_groups && start <= t.row0;
        t.group = t.computed ? lo : 0;
        if (t.computed) t.valid_rows = min_u32(t.valid_rows, static_cast<u32>(__ldg(layout + lo)) - t.row0);
#endif
        return true;
#endif
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

// One warp: lane 0 issues TMA; all lanes fetch the tile's sfb values, 32 K blocks at a time, so that their
// global latency overlaps the wait for a free stage.
__device__ __forceinline__ void producer_loop(const SmemLayout& sm, const TmaDesc* tm_a, const TmaDesc* tm_b, const TmaDesc* tm_sfa,
                                              const float* __restrict__ sfb, u32 m, u32 n, u32 k, const GroupArgs& ga, u32 lane,
                                              u32* status) {
    TileScheduler sched(m, n, k, ga.layout, ga.num_groups, ga.alignment);
    const u32 num_k_blocks = sched.num_k_blocks;
    const u32 num_sfb_rows = (n + 127) / 128;
    PipelineState ps;
    Tile t;
    TileRole role;
    bool multicast_b;
    for (u32 tile = blockIdx.x; sched.next(tile, t, role, multicast_b); tile += gridDim.x) {
        if (role == TileRole::kSkip) continue;
        if (role == TileRole::kPhantom) {
#pragma unroll 1
            for (u32 kb = 0; kb < num_k_blocks; ++kb) {
                mbar_wait(sm.empty_bar(ps.stage), ps.phase ^ 1, status, kStatusProducerTimeout);
                if (lane == 0) mbar_arrive(sm.full_bar(ps.stage));
                __syncwarp();
                ps.advance();
            }
            continue;
        }
        const i32 m0 = static_cast<i32>(t.row0), n0 = static_cast<i32>(t.group * n + t.n_block * kBlockN);
        const float* group_sfb = sfb + static_cast<u64>(t.group) * num_sfb_rows * num_k_blocks;
        const u32 sfb_row0 = t.n_block * kBlockN / 128;
        float sfb_chunk[kMaxSfbBlocks];
#pragma unroll 1
        for (u32 kb = 0; kb < num_k_blocks; ++kb) {
            if ((kb & 31) == 0) {
                const u32 kk = kb + lane;
#pragma unroll
                for (u32 j = 0; j < kMaxSfbBlocks; ++j)
                    sfb_chunk[j] = kk < num_k_blocks ? __ldg(group_sfb + min_u32(sfb_row0 + j, num_sfb_rows - 1) * num_k_blocks + kk) : 0.0f;
            }
            float sfb_vals[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (u32 j = 0; j < kMaxSfbBlocks; ++j) sfb_vals[j] = __shfl_sync(0xffffffffu, sfb_chunk[j], kb & 31);
            mbar_wait(sm.empty_bar(ps.stage), ps.phase ^ 1, status, kStatusProducerTimeout);
            if (lane == 0) {
                // Written before the arrive: its release semantics publish the values with the TMA data.
                st_shared_v4(sm.sfb + ps.stage * kSmemSfbBytes, sfb_vals);
                const u32 bar = sm.full_bar(ps.stage);
                mbar_arrive_expect_tx(bar, kTxBytes);
                const i32 k0 = static_cast<i32>(kb * kBlockK);
                tma_load_2d(sm.a + ps.stage * kSmemABytes, tm_a, k0, m0, bar);
                if (!multicast_b)
                    tma_load_2d(sm.b + ps.stage * kSmemBBytes, tm_b, k0, n0, bar);
                else if (cluster_cta_rank() == 0)  // the peer's full barrier counts these bytes too
                    tma_load_2d_multicast(sm.b + ps.stage * kSmemBBytes, tm_b, k0, n0, bar, 0x3);
                tma_load_2d(sm.sfa + ps.stage * kSmemSfaBytes, tm_sfa, static_cast<i32>(t.m_block * kBlockM),
                            static_cast<i32>(t.sfa_col0 + kb), bar);
            }
            __syncwarp();
            ps.advance();
        }
    }
}

// One math warp is done with a stage: with a cluster, the stage's B tile may have been multicast into both CTAs, so
// the producer that refills it (each CTA's) must also hear from the peer's warps. The pair always arrives on both
// (multicast or not), so that a later multicast never lands in a stage the peer still reads.
__device__ __forceinline__ void release_stage(const SmemLayout& sm, u32 stage) {
    mbar_arrive(sm.empty_bar(stage));
    if constexpr (kClusterM == 2) mbar_arrive_cluster(sm.empty_bar(stage), cluster_cta_rank() ^ 1);
}

// The math side of a phantom tile (TileRole::kPhantom): each stage is taken and released as if computed.
__device__ __forceinline__ void math_phantom(PipelineState& ps, u32 num_k_blocks, const SmemLayout& sm, u32 lane, u32* status) {
#pragma unroll 1
    for (u32 kb = 0; kb < num_k_blocks; ++kb) {
        mbar_wait(sm.full_bar(ps.stage), ps.phase, status, kStatusMathTimeout);
        if (lane == 0) release_stage(sm, ps.stage);
        ps.advance();
    }
}

// Main loop of one tile for one math warpgroup. kNOffset = n0 % 128 is a template parameter so that the
// scale block of every 8-column group is a compile-time choice (no per-element selects).
// The first tile row of this warpgroup's rows in M wave mv (wave mv covers tile rows [128·mv, 128·mv + 128) with two
// warpgroups, or all 64 rows with one).
__device__ __forceinline__ u32 wave_row0(u32 wg, u32 mv) { return mv * 64 * kNumMathWarpgroups + wg * 64; }

template <u32 kNOffset>
__device__ __forceinline__ void math_mainloop(float (&fin)[kMWaves * kFinRegs], PipelineState& ps, u32 num_k_blocks, const SmemLayout& sm,
                                              u32 wg, u32 warp, u32 lane, u32* status) {
    float acc[kAccRegs];
    const u32 thread_row = warp * 16 + lane / 4;  // this thread's rows in a 64-row slice: thread_row and + 8
    const u64 desc_b0 = make_smem_desc(sm.b);
#pragma unroll 1
    for (u32 kb = 0; kb < num_k_blocks; ++kb) {
        mbar_wait(sm.full_bar(ps.stage), ps.phase, status, kStatusMathTimeout);
        // Scales are read before the stage is released (the producer rewrites them with the next tile's).
        float sb[4];
        ld_shared_v4(sm.sfb + ps.stage * kSmemSfbBytes, sb);
        float sa0[kMWaves], sa1[kMWaves];
#pragma unroll
        for (u32 mv = 0; mv < kMWaves; ++mv) {
            const u32 sfa_addr = sm.sfa + ps.stage * kSmemSfaBytes + (wave_row0(wg, mv) + thread_row) * 4;
            sa0[mv] = ld_shared_f32(sfa_addr);
            sa1[mv] = ld_shared_f32(sfa_addr + 8 * 4);
        }
#pragma unroll
        for (u32 mv = 0; mv < kMWaves; ++mv) {
            float scale0[kMaxSfbBlocks], scale1[kMaxSfbBlocks];
#pragma unroll
            for (u32 j = 0; j < kMaxSfbBlocks; ++j) {
                scale0[j] = sa0[mv] * sb[j];
                scale1[j] = sa1[mv] * sb[j];
            }
            const u64 desc_a = make_smem_desc(sm.a + ps.stage * kSmemABytes + wave_row0(wg, mv) * kBlockK);
#pragma unroll
            for (u32 w = 0; w < kNumWaves; ++w) {
                const u64 desc_b = desc_b0 + ((ps.stage * kSmemBBytes + w * kWaveN * kBlockK) >> 4);
#pragma unroll
                for (u32 i = 0; i < kAccRegs; ++i) fence_operand(acc[i]);
                wgmma_fence();
#pragma unroll
                for (u32 ks = 0; ks < kBlockK / 32; ++ks) wgmma_e4m3(acc, desc_a + 2 * ks, desc_b + 2 * ks, ks);  // +32 bytes per k32 step
                wgmma_commit();
                wgmma_wait_all();
#pragma unroll
                for (u32 i = 0; i < kAccRegs; ++i) fence_operand(acc[i]);
                if (mv == kMWaves - 1 && w == kNumWaves - 1 && lane == 0) release_stage(sm, ps.stage);
#pragma unroll
                for (u32 g = 0; g < kWaveN / 8; ++g) {
                    const u32 group = w * (kWaveN / 8) + g;
                    const u32 blk = (kNOffset + group * 8) / 128;
                    float* f = fin + mv * kFinRegs + group * 4;
                    f[0] += scale0[blk] * acc[g * 4 + 0];
                    f[1] += scale0[blk] * acc[g * 4 + 1];
                    f[2] += scale1[blk] * acc[g * 4 + 2];
                    f[3] += scale1[blk] * acc[g * 4 + 3];
                }
            }
        }
        ps.advance();
    }
}

template <u32 kNOffset>
__device__ __forceinline__ void math_mainloop_for_offset(u32 n_offset, float (&fin)[kMWaves * kFinRegs], PipelineState& ps, u32 num_k_blocks,
                                                         const SmemLayout& sm, u32 wg, u32 warp, u32 lane, u32* status) {
    if constexpr (kNOffset + kNOffsetStep >= 128) {
        math_mainloop<kNOffset>(fin, ps, num_k_blocks, sm, wg, warp, lane, status);
    } else {
        if (n_offset == kNOffset)
            math_mainloop<kNOffset>(fin, ps, num_k_blocks, sm, wg, warp, lane, status);
        else
            math_mainloop_for_offset<kNOffset + kNOffsetStep>(n_offset, fin, ps, num_k_blocks, sm, wg, warp, lane, status);
    }
}

// Whether row `row` of the D map (inside the tile) may be written: the index layout names its expert per row.
__device__ __forceinline__ bool row_owned(const Tile& t, const GroupArgs& ga, u32 row) {
#if DG_GEMM_TYPE == 1
    return __ldg(ga.layout + row) == static_cast<int>(t.group);
#else
    return true;
#endif
}

// Rows [r0, r0 + 64) of a tile from the swizzled staging tile to global memory, 16 bytes at a time, skipping rows
// the tile does not own (the TMA store writes whole boxes, which would touch them).
__device__ __forceinline__ void store_rows_direct(const Tile& t, const GroupArgs& ga, const SmemLayout& sm, u32 local_r0, u32 n,
                                                  u32 thread) {
    constexpr u32 kUnitsPerChunkRow = kDSwizzle / 16;
    constexpr u32 kUnitsPerRow = kBlockN / 8;
    const u32 n0 = t.n_block * kBlockN;
    for (u32 i = thread; i < 64 * kUnitsPerRow; i += 128) {
        const u32 r = local_r0 + i / kUnitsPerRow, u = i % kUnitsPerRow;
        const u32 col = n0 + u * 8;
        if (r >= t.valid_rows || col >= n || !row_owned(t, ga, t.row0 + r)) continue;
        const u32 chunk = u / kUnitsPerChunkRow, unit = u % kUnitsPerChunkRow;
        const u32 swizzle_xor = ((r * kDSwizzle) >> 7) & (kDSwizzle / 16 - 1);
        float v[4];
        ld_shared_v4(sm.d + chunk * (kBlockM * kDSwizzle) + r * kDSwizzle + ((unit ^ swizzle_xor) << 4), v);
        *reinterpret_cast<float4*>(ga.d + static_cast<u64>(t.row0 + r) * ga.d_pitch + col) = make_float4(v[0], v[1], v[2], v[3]);
    }
}

// BF16 epilogue of one math warpgroup (its 64 rows): stmatrix into the swizzled staging tile, then one TMA
// store per column chunk. The store is not waited for here: the wait happens before the next tile
// overwrites the staging tile (or at exit), so the store overlaps the next main loop. Rows the tile does not
// own (grouped GEMMs) are never written: a warpgroup whose rows are not all owned stores row by row instead.
__device__ __forceinline__ void math_epilogue(const float* fin, u32 mv, const SmemLayout& sm, const TmaDesc* tm_d, const Tile& t,
                                              const GroupArgs& ga, u32 n, u32 map_rows, u32 wg, u32 warp, u32 lane) {
    const bool leader = warp == 0 && lane == 0;
    // The previous tile's stores must have read the staging tile; a second M wave writes other rows of it.
    if (leader && mv == 0) tma_store_wait_read();
    warpgroup_sync(wg);

    // stmatrix.x4: lane t addresses row (t % 8) of matrix t / 8; matrices = (rows 0-7, group g),
    // (rows 8-15, g), (rows 0-7, g + 1), (rows 8-15, g + 1) of this warp's 16 rows.
    const u32 matrix = lane / 8;
    const u32 local_r0 = wave_row0(wg, mv);
    const u32 row = local_r0 + warp * 16 + (matrix & 1) * 8 + (lane & 7);
    const u32 row_addr = sm.d + row * kDSwizzle;
    const u32 swizzle_xor = ((row * kDSwizzle) >> 7) & (kDSwizzle / 16 - 1);
#pragma unroll
    for (u32 g = 0; g < kBlockN / 8; g += 2) {
        const u32 chunk = g * 8 / kDChunkCols;
        const u32 unit = g % (kDChunkCols / 8) + (matrix >> 1);
        const u32 addr = row_addr + chunk * (kBlockM * kDSwizzle) + ((unit ^ swizzle_xor) << 4);
        stmatrix_x4(addr, pack_bf16x2(fin[4 * g + 0], fin[4 * g + 1]), pack_bf16x2(fin[4 * g + 2], fin[4 * g + 3]),
                    pack_bf16x2(fin[4 * g + 4], fin[4 * g + 5]), pack_bf16x2(fin[4 * g + 6], fin[4 * g + 7]));
    }
    fence_proxy_async_smem();  // make the generic-proxy stmatrix writes visible to the TMA (async proxy)

    // The warpgroup's rows go by TMA when it may write all of them: every row below valid_rows, or the valid rows
    // reach the end of the map (which clips the box); with the index layout every row must also name the expert
    // (each warp reads the 64 ids itself, so no barrier has to carry the verdict).
    bool whole = local_r0 + 64 <= t.valid_rows || t.row0 + t.valid_rows >= map_rows;
#if DG_GEMM_TYPE == 1
    bool mine = true;
#pragma unroll
    for (u32 h = 0; h < 2; ++h) {
        const u32 r = local_r0 + h * 32 + lane;
        if (r < t.valid_rows) mine = mine && row_owned(t, ga, t.row0 + r);
    }
    whole = __all_sync(0xffffffffu, mine) && whole;
#endif
    warpgroup_sync(wg);

    if (local_r0 < t.valid_rows) {
        if (whole) {
            if (leader) {
#pragma unroll
                for (u32 c = 0; c < kDNumChunks; ++c) {
                    const u32 c0 = t.n_block * kBlockN + c * kDChunkCols;
                    if (c0 < n)
                        tma_store_2d(tm_d, sm.d + c * (kBlockM * kDSwizzle) + local_r0 * kDSwizzle, static_cast<i32>(c0),
                                     static_cast<i32>(t.row0 + local_r0));
                }
            }
        } else {
            store_rows_direct(t, ga, sm, local_r0, n, warp * 32 + lane);
        }
    }
    if (leader) tma_store_commit();
}

__device__ __forceinline__ void math_loop(const SmemLayout& sm, const TmaDesc* tm_d, u32 m, u32 n, u32 k, const GroupArgs& ga, u32 wg,
                                          u32 warp, u32 lane, u32* status) {
    TileScheduler sched(m, n, k, ga.layout, ga.num_groups, ga.alignment);
    const u32 num_k_blocks = sched.num_k_blocks;
    const u32 map_rows = DG_GEMM_TYPE == 3 ? ga.num_groups * m : m;
    PipelineState ps;
    float fin[kMWaves * kFinRegs];
    Tile t;
    TileRole role;
    bool multicast_b;
    for (u32 tile = blockIdx.x; sched.next(tile, t, role, multicast_b); tile += gridDim.x) {
        if (role == TileRole::kSkip) continue;
        if (role == TileRole::kPhantom) {
            math_phantom(ps, num_k_blocks, sm, lane, status);
            continue;
        }
#pragma unroll
        for (u32 i = 0; i < kMWaves * kFinRegs; ++i) fin[i] = 0.0f;
        if constexpr (128 % kBlockN == 0)  // the tile never leaves one scale block
            math_mainloop<0>(fin, ps, num_k_blocks, sm, wg, warp, lane, status);
        else
            math_mainloop_for_offset<0>((t.n_block * kBlockN) % 128, fin, ps, num_k_blocks, sm, wg, warp, lane, status);
#pragma unroll
        for (u32 mv = 0; mv < kMWaves; ++mv) math_epilogue(fin + mv * kFinRegs, mv, sm, tm_d, t, ga, n, map_rows, wg, warp, lane);
    }
    if (warp == 0 && lane == 0) tma_store_wait_all();  // the staging tile must outlive the last store
}

}  // namespace DG_NAMESPACE

// Parameters:
//   tm_a    A   [M, K] FP8:  UINT8,   dims {K, M},            box {128, BLOCK_M},       swizzle 128B
//   tm_b    B   [N, K] FP8:  UINT8,   dims {K, N},            box {128, BLOCK_N},       swizzle 128B
//   tm_sfa  sfa [ceil(K/128)][align(M,4)] FP32: FLOAT32, dims {M, ceil(K/128)}, row stride align(M,4)*4 bytes,
//                                     box {BLOCK_M, 1},       no swizzle
//   tm_d    D   [M, N] BF16: BFLOAT16, dims {N, M},           box {kDChunkCols, 64},    swizzle kDSwizzle bytes
//           (all maps: interleave none, OOB fill none, any L2 promotion)
//   sfb     [ceil(N/128)][ceil(K/128)] FP32, device pointer
//   m, n, k problem size (K % 16 == 0, N % 8 == 0)
//   status  optional device-visible u32[4] (may be null): on a watchdog trap receives {code, block, thread, detail}
// M-grouped parameters (DG_GEMM_TYPE > 0; the dense GEMM ignores them: pass null, 1, 1, null, 0):
//   - layout      int32 device pointer: index layout [M], psum ends [G] or masked_m [G]
//   - num_groups  G (B map: dims {K, G * N}; sfb: G consecutive [ceil(N/128)][ceil(K/128)] blocks)
//   - alignment   psum layout: expert start alignment, a multiple of BLOCK_M (otherwise ignored, pass 1)
//   - d           D's base pointer, for row-by-row stores
//   - d_pitch     D's row pitch in elements (16-byte aligned)
// Masked: m = M_max; A, D maps span G * M_max rows; sfa map dims {M_max, G * ceil(K/128)}.
extern "C" __global__ void __launch_bounds__(DG_NAMESPACE::kLaunchBoundThreads, 1)
    DG_KERNEL_NAME(const __grid_constant__ DG_NAMESPACE::TmaDesc tm_a, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_b,
                   const __grid_constant__ DG_NAMESPACE::TmaDesc tm_sfa, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_d,
                   const float* __restrict__ sfb, unsigned int m, unsigned int n, unsigned int k, unsigned int* status,
                   const int* __restrict__ layout, unsigned int num_groups, unsigned int alignment, unsigned short* d,
                   unsigned int d_pitch) {
    using namespace DG_NAMESPACE;
    const GroupArgs ga{layout, num_groups, alignment, d, d_pitch};
    extern __shared__ __align__(1024) unsigned char dg_smem[];
    const SmemLayout sm(smem_addr(dg_smem));
    const u32 warp_idx = __shfl_sync(0xffffffffu, threadIdx.x / 32, 0);  // warp-uniform for the compiler
    const u32 lane = threadIdx.x % 32;

    if (threadIdx.x == kNumMathThreads) {
        if ((sm.d & 1023) != 0) fail(status, kStatusMisalignedSmem, sm.d);
        for (u32 s = 0; s < kStages; ++s) {
            mbar_init(sm.full_bar(s), 1);
            mbar_init(sm.empty_bar(s), kNumMathWarpgroups * 4 * kClusterM);  // one arrive per math warp of the cluster
        }
        fence_barrier_init();
        fence_proxy_async_smem();
    }
    if constexpr (kClusterM > 1)
        cluster_sync();  // the peer's barriers exist before anything arrives on them
    else
        __syncthreads();

    if (warp_idx >= kNumMathThreads / 32) {
        regs_decrease<kProducerRegs>();
        if (warp_idx == kNumMathThreads / 32) {
            if (lane == 0) {
                tma_prefetch(&tm_a);
                tma_prefetch(&tm_b);
                tma_prefetch(&tm_sfa);
                tma_prefetch(&tm_d);
            }
            producer_loop(sm, &tm_a, &tm_b, &tm_sfa, sfb, m, n, k, ga, lane, status);
        }
    } else {
        regs_increase<kMathRegs>();
        math_loop(sm, &tm_d, m, n, k, ga, warp_idx / 4, warp_idx % 4, lane, status);
    }
    if constexpr (kClusterM > 1) cluster_sync();  // no CTA leaves while its peer may still arrive on its barriers
}

// Configuration-dependent macros go, so that another configuration can be included after this one.
#undef DG_WAVE_N
#undef DG_CLUSTER_M
