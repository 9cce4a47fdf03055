// deepgemm4j: PTX building blocks shared by the Hopper (sm_90a) kernels: mbarriers with a watchdog, TMA loads and
// stores, WGMMA issue/fence/wait, shared-memory matrix descriptors, setmaxnreg, stmatrix.
//
// Like the kernels, it includes nothing, so NVRTC compiles it without an include path. A kernel file defines
// DG_WATCHDOG_NS (0 disables the watchdog) before including it; one translation unit may include several kernel
// configurations, which share these definitions.
#pragma once

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

// Defines `name(float (&d)[N / 2], desc_a, desc_b, accumulate)`: D[64 x N] (+)= A[64 x 32] * B[N x 32]^T with E4M3
// operands from shared-memory descriptors; accumulate == 0 overwrites D. N is a multiple of 8 up to 192.
#define DG_SM90_DEFINE_WGMMA_E4M3(name, N)                                                                               \
    __device__ __forceinline__ void name(float (&d)[(N) / 2], u64 desc_a, u64 desc_b, u32 accumulate) {                      \
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %2, 0;\n"                                                            \
                     "wgmma.mma_async.sync.aligned.m64n" DG_STR(N) "k32.f32.e4m3.e4m3 {" DG_CAT(DG_RL_, N) "}, %0, %1, p, 1, 1;\n}\n" \
                     : "+l"(desc_a), "+l"(desc_b), "+r"(accumulate), DG_CAT(DG_CL_, N)(d));                              \
    }

namespace dg_sm90 {

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

// The registers setmaxnreg can hand out in a CTA of `threads` threads compiled under __launch_bounds__(launch_bound, 1):
// ptxas compiles such a kernel to the most registers per thread that fit (in steps of 8), the CTA is launched with
// that many per thread, and setmaxnreg only moves registers within them. A budget above this hangs the warpgroups
// whose setmaxnreg.inc waits for registers that never come free.
__host__ __device__ constexpr u32 setmaxnreg_pool(u32 launch_bound, u32 threads) { return (65536 / launch_bound / 8 * 8) * threads; }

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

// A plain bulk copy of `bytes` (a multiple of 16) from global to shared memory (both 16-byte aligned), counted on `bar`.
__device__ __forceinline__ void bulk_load(u32 dst, const void* src, u32 bytes, u32 bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                 ::"r"(dst), "l"(reinterpret_cast<u64>(src)), "r"(bytes), "r"(bar)
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

// Named barriers over the 256 threads of two math warpgroups: one waits (sync) for the other's arrival (arrive), as
// the 1D1D kernel's ping-pong hands the tensor core over. Ids 1 and 2 are warpgroup_sync's.
template <u32 kId>
__device__ __forceinline__ void named_bar_sync_256() { asm volatile("bar.sync %0, 256;" ::"n"(kId) : "memory"); }
template <u32 kId>
__device__ __forceinline__ void named_bar_arrive_256() { asm volatile("bar.arrive %0, 256;" ::"n"(kId) : "memory"); }

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

}  // namespace dg_sm90

// =========================================================================================================
// MQA logits section (sm90_fp8_mqa_logits.cu, sm90_fp8_paged_mqa_logits.cu): wider WGMMA register lists, a partial
// WGMMA wait and the BF16 rounding of the logits.
// =========================================================================================================

// Register and constraint lists for N up to 256 (the MQA kernel's 256-row query blocks); the macros above expand
// lazily, so defining the longer lists here is enough for DG_SM90_DEFINE_WGMMA_E4M3 to accept N = 200..256.
#define DG_RL_200 DG_RL_192 ", %99, %100, %101, %102"
#define DG_RL_208 DG_RL_200 ", %103, %104, %105, %106"
#define DG_RL_216 DG_RL_208 ", %107, %108, %109, %110"
#define DG_RL_224 DG_RL_216 ", %111, %112, %113, %114"
#define DG_RL_232 DG_RL_224 ", %115, %116, %117, %118"
#define DG_RL_240 DG_RL_232 ", %119, %120, %121, %122"
#define DG_RL_248 DG_RL_240 ", %123, %124, %125, %126"
#define DG_RL_256 DG_RL_248 ", %127, %128, %129, %130"
#define DG_CL_200(d) DG_CL_192(d), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99])
#define DG_CL_208(d) DG_CL_200(d), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103])
#define DG_CL_216(d) DG_CL_208(d), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107])
#define DG_CL_224(d) DG_CL_216(d), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111])
#define DG_CL_232(d) DG_CL_224(d), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115])
#define DG_CL_240(d) DG_CL_232(d), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119])
#define DG_CL_248(d) DG_CL_240(d), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123])
#define DG_CL_256(d) DG_CL_248(d), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])

namespace dg_sm90 {

// Waits until at most N committed WGMMA groups are still in flight (N = 1: double-buffered accumulators, the next
// tile's WGMMAs keep running while this tile's epilogue reads the other set).
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory"); }

// Float to bfloat16 bits, rounded to nearest even (±inf stay ±inf, overflow rounds to ±inf, NaN stays NaN) in one
// instruction: the BF16 logits' store (NVRTC has no cuda_bf16.h).
__device__ __forceinline__ unsigned short bf16_rn(float x) {
    unsigned short r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}

// The element type of the logits (kBf16: bfloat16 bits) and the store conversion of an FP32 logit: FP32 stores the sum
// as it is, BF16 rounds it once to nearest even.
template <bool kBf16>
struct Logit {
    typedef float type;
    __device__ __forceinline__ static type from(float x) { return x; }
};
template <>
struct Logit<true> {
    typedef unsigned short type;
    __device__ __forceinline__ static type from(float x) { return bf16_rn(x); }
};

}  // namespace dg_sm90
// =========================================================================================================
// end of the MQA logits section

// ---------------------------------------------------------------------------------------------------------
// ==== section: decode (small-M kernel, sm90_fp8_gemm_1d2d_small_m.cu) ====
// L2 cache hints for TMA loads: a streamed-once operand is loaded evict-first
// so that it does not push the operands every CTA re-reads out of L2.
namespace dg_sm90 {

__device__ __forceinline__ u64 l2_policy_evict_first() {
    u64 policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    return policy;
}

__device__ __forceinline__ u64 l2_policy_evict_normal() {
    u64 policy;
    asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;" : "=l"(policy));
    return policy;
}

__device__ __forceinline__ u64 l2_policy_evict_last() {
    u64 policy;
    asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(policy));
    return policy;
}

__device__ __forceinline__ void tma_load_2d_hint(u32 dst, const TmaDesc* map, i32 c0, i32 c1, u32 bar, u64 policy) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint"
        " [%0], [%1, {%2, %3}], [%4], %5;"
        ::"r"(dst), "l"(reinterpret_cast<u64>(map)), "r"(c0), "r"(c1), "r"(bar), "l"(policy)
        : "memory");
}

}  // namespace dg_sm90
// ==== end of section: decode ====

// ---------------------------------------------------------------------------------------------------------
// wgrad (1D1D) section: FP32 reduce-add stores and tensor maps that live in global memory.

namespace dg_sm90 {

// D[box] += smem tile, element-wise FP32 add performed by the TMA unit in L2: accumulation without a read of D
// by the SM. 3-D so that a [G, M, N] output clips rows at each group's M (a 2-D {N, G*M} map would spill a
// partial M block into the next group).
__device__ __forceinline__ void tma_reduce_add_3d(const TmaDesc* map, u32 src, i32 c0, i32 c1, i32 c2) {
    asm volatile("cp.reduce.async.bulk.tensor.3d.global.shared::cta.add.tile.bulk_group [%0, {%1, %2, %3}], [%4];"
                 ::"l"(reinterpret_cast<u64>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(src)
                 : "memory");
}

// A tensor map the host wrote to global memory is read by the TMA through the tensormap proxy; the acquire
// orders that read after the generic-proxy writes (a no-op cost once per map and CTA).
__device__ __forceinline__ void fence_tensormap_acquire(const TmaDesc* map) {
    asm volatile("fence.proxy.tensormap::generic.acquire.gpu [%0], 128;" ::"l"(reinterpret_cast<u64>(map)) : "memory");
}

__device__ __forceinline__ void ld_shared_v2(u32 addr, float& x, float& y) {
    asm volatile("ld.shared.v2.f32 {%0, %1}, [%2];" : "=f"(x), "=f"(y) : "r"(addr) : "memory");
}

__device__ __forceinline__ void st_shared_v2(u32 addr, float x, float y) {
    asm volatile("st.shared.v2.f32 [%0], {%1, %2};" ::"r"(addr), "f"(x), "f"(y) : "memory");
}

}  // namespace dg_sm90

// =========================================================================================================
// Cluster section (sm90_fp8_gemm_1d2d.cu, DG_CLUSTER_M = 2): rank, cluster-wide barrier, arrive on a peer
// CTA's mbarrier, multicast TMA load.
// =========================================================================================================
namespace dg_sm90 {
__device__ __forceinline__ u32 cluster_cta_rank() {
    u32 r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
    return r;
}

// Every thread of every CTA of the cluster; also orders shared-memory writes (e.g. barrier init) cluster-wide.
__device__ __forceinline__ void cluster_sync() {
    asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;" ::: "memory");
}

// Arrives on the mbarrier at the same shared-memory offset as `bar` in the cluster's CTA `cta`. Release at CTA
// scope, as for a local arrive: cluster scope would add a cluster-wide memory barrier before every arrive (measured
// 3x slower in the GEMM), and the peer only needs to know that this CTA's reads of its stage are done.
__device__ __forceinline__ void mbar_arrive_cluster(u32 bar, u32 cta) {
    asm volatile("{\n.reg .b32 remote;\nmapa.shared::cluster.u32 remote, %0, %1;\n"
                 "mbarrier.arrive.shared::cluster.b64 _, [remote];\n}" ::"r"(bar), "r"(cta)
                 : "memory");
}

// Like tma_load_2d, but writes the box to the same offset in every CTA of `cta_mask` and signals the mbarrier at
// `bar`'s offset in each of them.
__device__ __forceinline__ void tma_load_2d_multicast(u32 dst, const TmaDesc* map, i32 c0, i32 c1, u32 bar, unsigned short cta_mask) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;"
        ::"r"(dst), "l"(reinterpret_cast<u64>(map)), "r"(c0), "r"(c1), "r"(bar), "h"(cta_mask)
        : "memory");
}
}  // namespace dg_sm90
// end of the cluster section
