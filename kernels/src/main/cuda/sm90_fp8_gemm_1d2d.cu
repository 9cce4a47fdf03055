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
// Parameters, in order (the host encodes the maps with cuTensorMapEncodeTiled, L2 promotion 256 B):
//   - tm_a    map of A: UINT8, dims {K, M}, row pitch in bytes, box {128, BLOCK_M}, 128B swizzle
//   - tm_b    map of B: UINT8, dims {K, N}, row pitch in bytes, box {128, BLOCK_N}, 128B swizzle
//   - tm_sfa  map of sfa: FLOAT32, dims {M, ceil(K/128)}, column pitch in bytes, box {BLOCK_M, 1}, no swizzle
//   - tm_d    map of D: BFLOAT16, dims {N, M}, row pitch in bytes, box {kDChunkCols, 64}, swizzle kDSwizzle bytes
//   - sfb     device pointer to sfb
//   - m n k   the problem size
//   - status  null, or 4 words the watchdog fills (code, block, thread, detail) before it traps
//
// The file includes nothing so that NVRTC compiles it without any include path. Every tile parameter is a
// macro the JIT bakes in (plain decimal literals):
//   DG_BLOCK_M      64 (one math warpgroup) or 128 (two)                         default 128
//   DG_BLOCK_N      multiple of 16, 16..256                                      default 128
//   DG_STAGES       pipeline depth; 0 = as many as fit in DG_SMEM_LIMIT (max 16)  default 0
//   DG_NUM_SMS      SMs the grid is sized for (only the tile-order heuristic uses it; the kernel strides
//                   tiles by gridDim.x, so any grid size is correct)              default 132
//   DG_GROUP_M      M blocks per raster band (L2 reuse); 0 = pick 8 or 16         default 0
//   DG_N_WAVES      WGMMA passes per 128-K block, each over BLOCK_N / DG_N_WAVES columns; 2 keeps the
//                   accumulators of BLOCK_N > 192 within the register budget     default 1, 2 if BLOCK_N > 192
//   DG_WATCHDOG_NS  an mbarrier wait longer than this records a code in `status` and traps; 0 disables
//                                                                                default 2 s
//   DG_SMEM_LIMIT   dynamic shared memory per block                              default 232448
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
#ifndef DG_WATCHDOG_NS
#define DG_WATCHDOG_NS 2000000000ull
#endif
#ifndef DG_SMEM_LIMIT
#define DG_SMEM_LIMIT 232448
#endif
#ifndef DG_NAMESPACE
#define DG_NAMESPACE dg_sm90_fp8_gemm_1d2d
#endif
#ifndef DG_KERNEL_NAME
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d
#endif

#define DG_STR_(x) #x
#define DG_STR(x) DG_STR_(x)
#define DG_CAT_(a, b) a##b
#define DG_CAT(a, b) DG_CAT_(a, b)

// The wgmma mnemonic and its operand list depend on N, and inline asm needs them as literal text: these
// tables give, per N, the accumulator operand numbers (%0..%2 are the descriptors and the scale-d flag)
// and the matching "+f" constraints.
#define DG_HALF_16 8
#define DG_HALF_32 16
#define DG_HALF_48 24
#define DG_HALF_64 32
#define DG_HALF_80 40
#define DG_HALF_96 48
#define DG_HALF_112 56
#define DG_HALF_128 64
#define DG_HALF_144 72
#define DG_HALF_160 80
#define DG_HALF_176 88
#define DG_HALF_192 96
#define DG_HALF_208 104
#define DG_HALF_224 112
#define DG_HALF_240 120
#define DG_HALF_256 128
#define DG_RL_8 "%3, %4, %5, %6"
#define DG_RL_16 DG_RL_8 ", %7, %8, %9, %10"
#define DG_RL_24 DG_RL_16 ", %11, %12, %13, %14"
#define DG_RL_32 DG_RL_24 ", %15, %16, %17, %18"
#define DG_RL_40 DG_RL_32 ", %19, %20, %21, %22"
#define DG_RL_48 DG_RL_40 ", %23, %24, %25, %26"
#define DG_RL_56 DG_RL_48 ", %27, %28, %29, %30"
#define DG_RL_64 DG_RL_56 ", %31, %32, %33, %34"
#define DG_RL_72 DG_RL_64 ", %35, %36, %37, %38"
#define DG_RL_80 DG_RL_72 ", %39, %40, %41, %42"
#define DG_RL_88 DG_RL_80 ", %43, %44, %45, %46"
#define DG_RL_96 DG_RL_88 ", %47, %48, %49, %50"
#define DG_RL_104 DG_RL_96 ", %51, %52, %53, %54"
#define DG_RL_112 DG_RL_104 ", %55, %56, %57, %58"
#define DG_RL_120 DG_RL_112 ", %59, %60, %61, %62"
#define DG_RL_128 DG_RL_120 ", %63, %64, %65, %66"
#define DG_RL_136 DG_RL_128 ", %67, %68, %69, %70"
#define DG_RL_144 DG_RL_136 ", %71, %72, %73, %74"
#define DG_RL_152 DG_RL_144 ", %75, %76, %77, %78"
#define DG_RL_160 DG_RL_152 ", %79, %80, %81, %82"
#define DG_RL_168 DG_RL_160 ", %83, %84, %85, %86"
#define DG_RL_176 DG_RL_168 ", %87, %88, %89, %90"
#define DG_RL_184 DG_RL_176 ", %91, %92, %93, %94"
#define DG_RL_192 DG_RL_184 ", %95, %96, %97, %98"
#define DG_CL_8(d) "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
#define DG_CL_16(d) DG_CL_8(d), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
#define DG_CL_24(d) DG_CL_16(d), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11])
#define DG_CL_32(d) DG_CL_24(d), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
#define DG_CL_40(d) DG_CL_32(d), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19])
#define DG_CL_48(d) DG_CL_40(d), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23])
#define DG_CL_56(d) DG_CL_48(d), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27])
#define DG_CL_64(d) DG_CL_56(d), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define DG_CL_72(d) DG_CL_64(d), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35])
#define DG_CL_80(d) DG_CL_72(d), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39])
#define DG_CL_88(d) DG_CL_80(d), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43])
#define DG_CL_96(d) DG_CL_88(d), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47])
#define DG_CL_104(d) DG_CL_96(d), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51])
#define DG_CL_112(d) DG_CL_104(d), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55])
#define DG_CL_120(d) DG_CL_112(d), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59])
#define DG_CL_128(d) DG_CL_120(d), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define DG_CL_136(d) DG_CL_128(d), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67])
#define DG_CL_144(d) DG_CL_136(d), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71])
#define DG_CL_152(d) DG_CL_144(d), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75])
#define DG_CL_160(d) DG_CL_152(d), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79])
#define DG_CL_168(d) DG_CL_160(d), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83])
#define DG_CL_176(d) DG_CL_168(d), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87])
#define DG_CL_184(d) DG_CL_176(d), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91])
#define DG_CL_192(d) DG_CL_184(d), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])

#if DG_N_WAVES == 1
#define DG_WAVE_N DG_BLOCK_N
#elif DG_N_WAVES == 2
#define DG_WAVE_N DG_CAT(DG_HALF_, DG_BLOCK_N)
#else
#error "DG_N_WAVES must be 1 or 2"
#endif
#define DG_ACC_OPERANDS DG_CAT(DG_RL_, DG_WAVE_N)
#define DG_ACC_CONSTRAINTS DG_CAT(DG_CL_, DG_WAVE_N)

namespace DG_NAMESPACE {

typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

// The 128-byte CUtensorMap, opaque here; the host encodes it with cuTensorMapEncodeTiled.
struct alignas(64) TmaDesc {
    u64 words[16];
};

__host__ __device__ constexpr u32 gcd_u32(u32 a, u32 b) { return b == 0 ? a : gcd_u32(b, a % b); }
__host__ __device__ constexpr u32 align_up(u32 x, u32 a) { return (x + a - 1) / a * a; }
__host__ __device__ constexpr u32 min_u32(u32 a, u32 b) { return a < b ? a : b; }

constexpr u32 kBlockM = DG_BLOCK_M;
constexpr u32 kBlockN = DG_BLOCK_N;
constexpr u32 kBlockK = 128;  // = one scale block = one 128-byte swizzle row of FP8
constexpr u32 kNumWaves = DG_N_WAVES;
constexpr u32 kWaveN = DG_WAVE_N;
constexpr u32 kAccRegs = kWaveN / 2;
constexpr u32 kFinRegs = kBlockN / 2;
constexpr u32 kNumMathWarpgroups = kBlockM / 64;
constexpr u32 kNumMathThreads = 128 * kNumMathWarpgroups;
constexpr u32 kNumThreads = kNumMathThreads + 128;
constexpr u32 kNumSms = DG_NUM_SMS;
static_assert(kBlockM == 64 || kBlockM == 128, "DG_BLOCK_M must be 64 or 128");
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
// The register cap at entry (__launch_bounds__ below) gives the pool that setmaxnreg redistributes.
constexpr u32 kLaunchBoundThreads = 384;
static_assert(128 * kProducerRegs + kNumMathThreads * kMathRegs <= (65536 / kLaunchBoundThreads / 8 * 8) * kNumThreads,
              "setmaxnreg budget exceeds the register pool");

// Watchdog codes written to status[0].
constexpr u32 kStatusMisalignedSmem = 1;
constexpr u32 kStatusProducerTimeout = 2;
constexpr u32 kStatusMathTimeout = 3;

// ---------------------------------------------------------------------------------------------------------
// PTX wrappers

__device__ __forceinline__ u32 smem_addr(const void* p) { return static_cast<u32>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ u64 global_timer_ns() {
    u64 t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

__device__ __noinline__ void fail(u32* status, u32 code, u32 detail) {
    if (status != nullptr) {
        volatile u32* s = status;
        s[1] = blockIdx.x;
        s[2] = threadIdx.x;
        s[3] = detail;
        __threadfence_system();
        s[0] = code;
        __threadfence_system();
    }
    asm volatile("trap;");
}

__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}

__device__ __forceinline__ void mbar_arrive(u32 bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}

__device__ __forceinline__ void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
}

__device__ __forceinline__ bool mbar_try_wait(u32 bar, u32 parity) {
    u32 done;
    asm volatile(
        "{\n.reg .pred p;\n"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
    return done != 0;
}

// A wrong expect_tx or a phase slip would otherwise hang the GPU; the watchdog turns it into a trap with
// (code, block, thread, barrier address << 1 | parity) in `status`. Only the trap is out of line: as a call
// that never returns it costs the main loops no registers (an out-of-line spin loop that returns does: ptxas
// then fails to allocate the math warpgroups' accumulators).
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity, u32* status, u32 code) {
    if (mbar_try_wait(bar, parity)) return;
#if DG_WATCHDOG_NS > 0
    const u64 start = global_timer_ns();
    for (u32 spins = 1;; ++spins) {
        if (mbar_try_wait(bar, parity)) return;
        if ((spins & 255) == 0 && global_timer_ns() - start > (u64)(DG_WATCHDOG_NS)) fail(status, code, (bar << 1) | parity);
    }
#else
    while (!mbar_try_wait(bar, parity)) {
    }
#endif
}

__device__ __forceinline__ void fence_barrier_init() { asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory"); }
__device__ __forceinline__ void fence_proxy_async_smem() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

__device__ __forceinline__ void tma_prefetch(const TmaDesc* map) {
    asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<u64>(map)) : "memory");
}

__device__ __forceinline__ void tma_load_2d(u32 dst, const TmaDesc* map, i32 c0, i32 c1, u32 bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
        ::"r"(dst), "l"(reinterpret_cast<u64>(map)), "r"(c0), "r"(c1), "r"(bar)
        : "memory");
}

__device__ __forceinline__ void tma_store_2d(const TmaDesc* map, u32 src, i32 c0, i32 c1) {
    asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group [%0, {%1, %2}], [%3];"
                 ::"l"(reinterpret_cast<u64>(map)), "r"(c0), "r"(c1), "r"(src)
                 : "memory");
}

__device__ __forceinline__ void tma_store_commit() { asm volatile("cp.async.bulk.commit_group;" ::: "memory"); }
__device__ __forceinline__ void tma_store_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory"); }
__device__ __forceinline__ void tma_store_wait_all() { asm volatile("cp.async.bulk.wait_group 0;" ::: "memory"); }

__device__ __forceinline__ float ld_shared_f32(u32 addr) {
    float v;
    asm volatile("ld.shared.f32 %0, [%1];" : "=f"(v) : "r"(addr) : "memory");
    return v;
}

__device__ __forceinline__ void ld_shared_v4(u32 addr, float (&v)[4]) {
    asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v[0]), "=f"(v[1]), "=f"(v[2]), "=f"(v[3]) : "r"(addr) : "memory");
}

__device__ __forceinline__ void st_shared_v4(u32 addr, const float (&v)[4]) {
    asm volatile("st.shared.v4.f32 [%0], {%1, %2, %3, %4};" ::"r"(addr), "f"(v[0]), "f"(v[1]), "f"(v[2]), "f"(v[3]) : "memory");
}

template <u32 kRegs>
__device__ __forceinline__ void regs_increase() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kRegs)); }
template <u32 kRegs>
__device__ __forceinline__ void regs_decrease() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kRegs)); }

// Named barrier over the 128 threads of one math warpgroup (id 0 is __syncthreads).
__device__ __forceinline__ void warpgroup_sync(u32 wg) {
    if (wg == 0)
        asm volatile("bar.sync 1, 128;" ::: "memory");
    else
        asm volatile("bar.sync 2, 128;" ::: "memory");
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }

// Keeps the compiler from moving accumulator reads/writes across wgmma issue and wait.
__device__ __forceinline__ void fence_operand(float& r) { asm volatile("" : "+f"(r)::"memory"); }

// Shared-memory matrix descriptor of a K-major, 128B-swizzled FP8 tile whose rows are 128 bytes:
// start address >> 4, leading byte offset 16 (unused for this layout), stride byte offset 1024 (8 rows),
// base offset 0 (tiles are 1024-aligned), swizzle mode 1 = 128B.
__device__ __forceinline__ u64 make_smem_desc(u32 addr) {
    return (u64)((addr & 0x3FFFF) >> 4) | (1ull << 16) | (64ull << 32) | (1ull << 62);
}

// D[64 x kWaveN] (+)= A[64 x 32] * B[kWaveN x 32]^T; accumulate == 0 overwrites D.
__device__ __forceinline__ void wgmma_e4m3(float (&d)[kAccRegs], u64 desc_a, u64 desc_b, u32 accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %2, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n" DG_STR(DG_WAVE_N) "k32.f32.e4m3.e4m3 {" DG_ACC_OPERANDS "}, %0, %1, p, 1, 1;\n}\n"
        : "+l"(desc_a), "+l"(desc_b), "+r"(accumulate), DG_ACC_CONSTRAINTS(d));
}

// cvt.rn.bf16x2.f32 puts its first source in the upper half: pass (hi, lo) so `lo` lands at the lower address.
__device__ __forceinline__ u32 pack_bf16x2(float lo, float hi) {
    u32 r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ __forceinline__ void stmatrix_x4(u32 addr, u32 r0, u32 r1, u32 r2, u32 r3) {
    asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};" ::"r"(addr), "r"(r0), "r"(r1), "r"(r2), "r"(r3)
                 : "memory");
}

// ---------------------------------------------------------------------------------------------------------

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

// Producer and math warpgroups walk the same tile sequence independently, so their stage/phase counters
// stay in lockstep across tiles without any other coordination.
struct TileScheduler {
    u32 num_m_blocks, num_n_blocks, num_tiles;
    __device__ TileScheduler(u32 m, u32 n)
        : num_m_blocks((m + kBlockM - 1) / kBlockM), num_n_blocks((n + kBlockN - 1) / kBlockN), num_tiles(num_m_blocks * num_n_blocks) {}
    __device__ void coords(u32 tile, u32& m_block, u32& n_block) const {
        const u32 per_band = kGroupM * num_n_blocks;
        const u32 band = tile / per_band;
        const u32 first_m = band * kGroupM;
        const u32 band_m = min_u32(num_m_blocks - first_m, kGroupM);
        const u32 rest = tile - band * per_band;
        m_block = first_m + rest % band_m;
        n_block = rest / band_m;
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
                                              const float* __restrict__ sfb, u32 m, u32 n, u32 k, u32 lane, u32* status) {
    const TileScheduler sched(m, n);
    const u32 num_k_blocks = (k + kBlockK - 1) / kBlockK;
    const u32 last_sfb_row = (n + 127) / 128 - 1;
    PipelineState ps;
    for (u32 tile = blockIdx.x; tile < sched.num_tiles; tile += gridDim.x) {
        u32 m_block, n_block;
        sched.coords(tile, m_block, n_block);
        const i32 m0 = static_cast<i32>(m_block * kBlockM), n0 = static_cast<i32>(n_block * kBlockN);
        const u32 sfb_row0 = n_block * kBlockN / 128;
        float sfb_chunk[kMaxSfbBlocks];
#pragma unroll 1
        for (u32 kb = 0; kb < num_k_blocks; ++kb) {
            if ((kb & 31) == 0) {
                const u32 kk = kb + lane;
#pragma unroll
                for (u32 j = 0; j < kMaxSfbBlocks; ++j)
                    sfb_chunk[j] = kk < num_k_blocks ? __ldg(sfb + min_u32(sfb_row0 + j, last_sfb_row) * num_k_blocks + kk) : 0.0f;
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
                tma_load_2d(sm.b + ps.stage * kSmemBBytes, tm_b, k0, n0, bar);
                tma_load_2d(sm.sfa + ps.stage * kSmemSfaBytes, tm_sfa, m0, static_cast<i32>(kb), bar);
            }
            __syncwarp();
            ps.advance();
        }
    }
}

// Main loop of one tile for one math warpgroup. kNOffset = n0 % 128 is a template parameter so that the
// scale block of every 8-column group is a compile-time choice (no per-element selects).
template <u32 kNOffset>
__device__ __forceinline__ void math_mainloop(float (&fin)[kFinRegs], PipelineState& ps, u32 num_k_blocks, const SmemLayout& sm, u32 wg,
                                              u32 warp, u32 lane, u32* status) {
    float acc[kAccRegs];
    const u32 row0 = wg * 64 + warp * 16 + lane / 4;  // this thread's rows: row0 and row0 + 8
    const u64 desc_a0 = make_smem_desc(sm.a + wg * 64 * kBlockK);
    const u64 desc_b0 = make_smem_desc(sm.b);
#pragma unroll 1
    for (u32 kb = 0; kb < num_k_blocks; ++kb) {
        mbar_wait(sm.full_bar(ps.stage), ps.phase, status, kStatusMathTimeout);
        // Scales are read before the stage is released (the producer rewrites them with the next tile's).
        const u32 sfa_addr = sm.sfa + ps.stage * kSmemSfaBytes + row0 * 4;
        const float sa0 = ld_shared_f32(sfa_addr), sa1 = ld_shared_f32(sfa_addr + 8 * 4);
        float sb[4];
        ld_shared_v4(sm.sfb + ps.stage * kSmemSfbBytes, sb);
        float scale0[kMaxSfbBlocks], scale1[kMaxSfbBlocks];
#pragma unroll
        for (u32 j = 0; j < kMaxSfbBlocks; ++j) {
            scale0[j] = sa0 * sb[j];
            scale1[j] = sa1 * sb[j];
        }
        const u64 desc_a = desc_a0 + ((ps.stage * kSmemABytes) >> 4);
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
            if (w == kNumWaves - 1 && lane == 0) mbar_arrive(sm.empty_bar(ps.stage));
#pragma unroll
            for (u32 g = 0; g < kWaveN / 8; ++g) {
                const u32 group = w * (kWaveN / 8) + g;
                const u32 blk = (kNOffset + group * 8) / 128;
                fin[group * 4 + 0] += scale0[blk] * acc[g * 4 + 0];
                fin[group * 4 + 1] += scale0[blk] * acc[g * 4 + 1];
                fin[group * 4 + 2] += scale1[blk] * acc[g * 4 + 2];
                fin[group * 4 + 3] += scale1[blk] * acc[g * 4 + 3];
            }
        }
        ps.advance();
    }
}

template <u32 kNOffset>
__device__ __forceinline__ void math_mainloop_for_offset(u32 n_offset, float (&fin)[kFinRegs], PipelineState& ps, u32 num_k_blocks,
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

// BF16 epilogue of one math warpgroup (its 64 rows): stmatrix into the swizzled staging tile, then one TMA
// store per column chunk. The store is not waited for here: the wait happens before the next tile
// overwrites the staging tile (or at exit), so the store overlaps the next main loop.
__device__ __forceinline__ void math_epilogue(const float (&fin)[kFinRegs], const SmemLayout& sm, const TmaDesc* tm_d, u32 m_block,
                                              u32 n_block, u32 m, u32 n, u32 wg, u32 warp, u32 lane) {
    const bool leader = warp == 0 && lane == 0;
    if (leader) tma_store_wait_read();
    warpgroup_sync(wg);

    // stmatrix.x4: lane t addresses row (t % 8) of matrix t / 8; matrices = (rows 0-7, group g),
    // (rows 8-15, g), (rows 0-7, g + 1), (rows 8-15, g + 1) of this warp's 16 rows.
    const u32 matrix = lane / 8;
    const u32 row = wg * 64 + warp * 16 + (matrix & 1) * 8 + (lane & 7);
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
    warpgroup_sync(wg);

    if (leader) {
        const u32 r0 = m_block * kBlockM + wg * 64;
        if (r0 < m) {
#pragma unroll
            for (u32 c = 0; c < kDNumChunks; ++c) {
                const u32 c0 = n_block * kBlockN + c * kDChunkCols;
                if (c0 < n) tma_store_2d(tm_d, sm.d + c * (kBlockM * kDSwizzle) + wg * 64 * kDSwizzle, static_cast<i32>(c0), static_cast<i32>(r0));
            }
        }
        tma_store_commit();
    }
}

__device__ __forceinline__ void math_loop(const SmemLayout& sm, const TmaDesc* tm_d, u32 m, u32 n, u32 k, u32 wg, u32 warp, u32 lane,
                                          u32* status) {
    const TileScheduler sched(m, n);
    const u32 num_k_blocks = (k + kBlockK - 1) / kBlockK;
    PipelineState ps;
    float fin[kFinRegs];
    for (u32 tile = blockIdx.x; tile < sched.num_tiles; tile += gridDim.x) {
        u32 m_block, n_block;
        sched.coords(tile, m_block, n_block);
#pragma unroll
        for (u32 i = 0; i < kFinRegs; ++i) fin[i] = 0.0f;
        if constexpr (128 % kBlockN == 0)  // the tile never leaves one scale block
            math_mainloop<0>(fin, ps, num_k_blocks, sm, wg, warp, lane, status);
        else
            math_mainloop_for_offset<0>((n_block * kBlockN) % 128, fin, ps, num_k_blocks, sm, wg, warp, lane, status);
        math_epilogue(fin, sm, tm_d, m_block, n_block, m, n, wg, warp, lane);
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
extern "C" __global__ void __launch_bounds__(DG_NAMESPACE::kLaunchBoundThreads, 1)
    DG_KERNEL_NAME(const __grid_constant__ DG_NAMESPACE::TmaDesc tm_a, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_b,
                   const __grid_constant__ DG_NAMESPACE::TmaDesc tm_sfa, const __grid_constant__ DG_NAMESPACE::TmaDesc tm_d,
                   const float* __restrict__ sfb, unsigned int m, unsigned int n, unsigned int k, unsigned int* status) {
    using namespace DG_NAMESPACE;
    extern __shared__ __align__(1024) unsigned char dg_smem[];
    const SmemLayout sm(smem_addr(dg_smem));
    const u32 warp_idx = __shfl_sync(0xffffffffu, threadIdx.x / 32, 0);  // warp-uniform for the compiler
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
        if (warp_idx == kNumMathThreads / 32) {
            if (lane == 0) {
                tma_prefetch(&tm_a);
                tma_prefetch(&tm_b);
                tma_prefetch(&tm_sfa);
                tma_prefetch(&tm_d);
            }
            producer_loop(sm, &tm_a, &tm_b, &tm_sfa, sfb, m, n, k, lane, status);
        }
    } else {
        regs_increase<kMathRegs>();
        math_loop(sm, &tm_d, m, n, k, warp_idx / 4, warp_idx % 4, lane, status);
    }
}

// Configuration-dependent macros go, so that another configuration can be included after this one.
#undef DG_WAVE_N
#undef DG_ACC_OPERANDS
#undef DG_ACC_CONSTRAINTS
