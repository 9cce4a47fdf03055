// Standalone correctness + speed harness for kernels/src/main/cuda/sm90_fp8_gemm_1d2d.cu (H100/H200, sm_90a).
//
// For every shape: random FP8 inputs quantised from normals (per-token 1x128 scales for A, 128x128 block
// scales for B, as DeepGEMM's tests make them), a float64 reference on the GPU (separate SIMT kernel,
// spot-checked on the host), then every kernel configuration: poisoned output, one run, check (calc_diff
// < 1e-5, every element written, guard after D untouched), timing (warm-up, 256 MB L2 flush before each
// call, median of 20; CUDA events, and with -DDG_WITH_CUPTI also the kernel time, see kernel_clock.cuh) and a
// bitwise comparison of the last timed output with the checked one.
// Optional cuBLASLt baseline (build with -DDG_WITH_CUBLASLT): block-scaled FP8 (VEC128 x BLK128x128, the
// same recipe, also checked against the reference), or plain per-tensor FP8 when that is refused.
// A watchdog trap or any CUDA error resets the device, rebuilds the shape's buffers and goes on.
//
// Build/run: kernels/src/test/cuda/run_sm90_bench.sh (args: --quick, --no-cublas, --reps N, --configs a,b).

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#ifdef DG_WITH_CUBLASLT
#include <cublasLt.h>
#endif

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernel_clock.cuh"

// ------------------------------------------------------------------------------------------------------
// Kernel configurations: each inclusion compiles one specialisation under its own namespace and name.

struct KernelConfig {
    std::string name;
    unsigned block_m, block_n, stages, threads, smem_bytes, d_chunk_cols, d_swizzle;
    const void* fn;
    unsigned cluster_m;  // CTAs per cluster along M (B tile multicast), 1 or 2
};

static std::vector<KernelConfig>& all_configs() {
    static std::vector<KernelConfig> v;
    return v;
}

static bool register_config(KernelConfig c) {
    all_configs().push_back(c);
    return true;
}

#define DG_REGISTER_CONFIG()                                                                                    \
    namespace DG_NAMESPACE {                                                                                    \
    static const bool kRegistered = register_config({DG_STR(DG_NAMESPACE), kBlockM, kBlockN, kStages, kNumThreads, \
                                                     kSmemBytes, kDChunkCols, kDSwizzle, (const void*)&::DG_KERNEL_NAME, kClusterM}); \
    }

// A legitimate wait here is far below a millisecond; a short watchdog keeps a broken configuration cheap.
#define DG_WATCHDOG_NS 500000000ull

// Narrow tiles (64 x 16 and 64 x 32, the next two blocks) for few-tile decode shapes (M <= 128, small N): more CTAs
// stream B (measured 2026-12-07 at M = 128: at most 2% faster than 64 x 64, so not among the heuristic's tiles).
#define DG_BLOCK_M 64
#define DG_BLOCK_N 16
#define DG_NAMESPACE cfg_64x16
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_64x16
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 64
#define DG_BLOCK_N 32
#define DG_NAMESPACE cfg_64x32
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_64x32
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 64
#define DG_BLOCK_N 64
#define DG_NAMESPACE cfg_64x64
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_64x64
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 64
#define DG_BLOCK_N 128
#define DG_NAMESPACE cfg_64x128
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_64x128
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 64
#define DG_BLOCK_N 256
#define DG_NAMESPACE cfg_64x256
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_64x256
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 112
#define DG_NAMESPACE cfg_128x112
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x112
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 128
#define DG_NAMESPACE cfg_128x128
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x128
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 144
#define DG_NAMESPACE cfg_128x144
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x144
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 160
#define DG_NAMESPACE cfg_128x160
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x160
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// Not among the heuristic's tiles yet: at M = 4096, N = 2112 it makes 384 tiles, three per CTA on 132 SMs as 128 x 192
// does with 352, each 8% narrower (128 x 192 runs there at 0.89-0.91x DeepGEMM). Like 144, it meets up to three
// scale blocks of B and has eight column offsets in 128.
#define DG_BLOCK_M 128
#define DG_BLOCK_N 176
#define DG_NAMESPACE cfg_128x176
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x176
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_NAMESPACE cfg_128x192
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x192
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_NAMESPACE cfg_128x256
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x256
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// 256-row tiles: two 64-row WGMMA waves per math warpgroup (measured 2026-12-07: at best even with the best 128-row tile
// on the M = 4096 shapes, so not among the heuristic's tiles).
#define DG_BLOCK_M 256
#define DG_BLOCK_N 64
#define DG_NAMESPACE cfg_256x64
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_256x64
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// 256-row tiles: two 64-row WGMMA waves per math warpgroup (measured 2026-12-07: at best even with the best 128-row tile
// on the M = 4096 shapes, so not among the heuristic's tiles).
#define DG_BLOCK_M 256
#define DG_BLOCK_N 112
#define DG_NAMESPACE cfg_256x112
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_256x112
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// 256-row tiles: two 64-row WGMMA waves per math warpgroup (measured 2026-12-07: at best even with the best 128-row tile
// on the M = 4096 shapes, so not among the heuristic's tiles).
#define DG_BLOCK_M 256
#define DG_BLOCK_N 128
#define DG_NAMESPACE cfg_256x128
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_256x128
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// Clustered variants (DG_CLUSTER_M=2; suffix c2): each B tile multicast to two vertically adjacent CTAs.
#define DG_BLOCK_M 128
#define DG_BLOCK_N 128
#define DG_CLUSTER_M 2
#define DG_NAMESPACE cfg_128x128c2
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x128c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 144
#define DG_CLUSTER_M 2
#define DG_NAMESPACE cfg_128x144c2
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x144c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 160
#define DG_CLUSTER_M 2
#define DG_NAMESPACE cfg_128x160c2
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x160c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_CLUSTER_M 2
#define DG_NAMESPACE cfg_128x192c2
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x192c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_CLUSTER_M 2
#define DG_NAMESPACE cfg_128x256c2
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x256c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// Tile-order experiment: raster bands of 8 M blocks instead of the default 16.
#define DG_BLOCK_M 128
#define DG_BLOCK_N 144
#define DG_CLUSTER_M 2
#define DG_GROUP_M 8
#define DG_NAMESPACE cfg_128x144c2g8
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x144c2g8
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_GROUP_M
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// Tile-order experiment: raster bands of 8 M blocks instead of the default 16.
#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_CLUSTER_M 2
#define DG_GROUP_M 8
#define DG_NAMESPACE cfg_128x256c2g8
#define DG_KERNEL_NAME sm90_fp8_gemm_1d2d_128x256c2g8
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER_CONFIG()
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_GROUP_M
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// ------------------------------------------------------------------------------------------------------
// Errors

struct CudaFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

#define CK(x)                                                                                                      \
    do {                                                                                                           \
        cudaError_t e_ = (x);                                                                                      \
        if (e_ != cudaSuccess)                                                                                     \
            throw CudaFailure(std::string(#x) + " -> " + cudaGetErrorName(e_) + " (" + cudaGetErrorString(e_) +    \
                              ") at line " + std::to_string(__LINE__));                                           \
    } while (0)

static FILE* g_log = nullptr;  // optional copy of the output (--out FILE)

static void out(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    vfprintf(stdout, fmt, ap);
    fflush(stdout);
    if (g_log) {
        vfprintf(g_log, fmt, ap2);
        fflush(g_log);
    }
    va_end(ap2);
    va_end(ap);
}

// ------------------------------------------------------------------------------------------------------
// Host data: normals from a counter-based generator (independent of the thread split), quantised like
// DeepGEMM's per_token_cast_to_fp8 / per_block_cast_to_fp8 (scale = max(amax, 1e-4) / 448).

static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static inline float normal_at(uint64_t seed, uint64_t index) {
    const uint64_t r = splitmix64(seed * 0x2545F4914F6CDD1Dull ^ splitmix64(index));
    const double u1 = ((r >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
    const double u2 = (splitmix64(r) >> 11) * (1.0 / 9007199254740992.0);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

static inline uint8_t to_e4m3(float x) { return __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3); }

static inline float from_e4m3(uint8_t v) {
    __nv_fp8_e4m3 f;
    f.__x = v;
    return static_cast<float>(f);
}

static void parallel_for(size_t count, const std::function<void(size_t, size_t)>& body) {
    const size_t threads = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), 32));
    std::vector<std::thread> pool;
    const size_t per = (count + threads - 1) / threads;
    for (size_t t = 0; t < threads; ++t) {
        const size_t b = t * per, e = std::min(count, b + per);
        if (b < e) pool.emplace_back(body, b, e);
    }
    for (auto& th : pool) th.join();
}

struct LhsHost {  // A [M, K] + sfa [ceil(K/128)][align(M, 4)]
    int m = 0, k = 0, m_pad = 0, kb = 0;
    std::vector<uint8_t> a;
    std::vector<float> sfa;
};

struct RhsHost {  // B [N, K] + sfb [ceil(N/128)][ceil(K/128)]
    int n = 0, k = 0, kb = 0;
    std::vector<uint8_t> b;
    std::vector<float> sfb;
};

static LhsHost make_lhs(int m, int k, uint64_t seed) {
    LhsHost h;
    h.m = m;
    h.k = k;
    h.m_pad = (m + 3) / 4 * 4;
    h.kb = (k + 127) / 128;
    h.a.resize(static_cast<size_t>(m) * k);
    h.sfa.assign(static_cast<size_t>(h.kb) * h.m_pad, 1.0f);
    parallel_for(m, [&](size_t r0, size_t r1) {
        float vals[128];
        for (size_t r = r0; r < r1; ++r)
            for (int kb = 0; kb < h.kb; ++kb) {
                const int k0 = kb * 128, len = std::min(128, k - k0);
                float amax = 0;
                for (int i = 0; i < len; ++i) {
                    vals[i] = normal_at(seed, r * k + k0 + i);
                    amax = std::max(amax, std::fabs(vals[i]));
                }
                const float scale = std::max(amax, 1e-4f) / 448.0f;
                for (int i = 0; i < len; ++i) h.a[r * k + k0 + i] = to_e4m3(vals[i] * (1.0f / scale));
                h.sfa[static_cast<size_t>(kb) * h.m_pad + r] = scale;
            }
    });
    return h;
}

static RhsHost make_rhs(int n, int k, uint64_t seed) {
    RhsHost h;
    h.n = n;
    h.k = k;
    h.kb = (k + 127) / 128;
    const int nb = (n + 127) / 128;
    h.b.resize(static_cast<size_t>(n) * k);
    h.sfb.resize(static_cast<size_t>(nb) * h.kb);
    parallel_for(nb, [&](size_t b0, size_t b1) {
        std::vector<float> vals(128 * 128);
        for (size_t blk = b0; blk < b1; ++blk)
            for (int kb = 0; kb < h.kb; ++kb) {
                const int r0 = static_cast<int>(blk) * 128, rows = std::min(128, n - r0);
                const int k0 = kb * 128, len = std::min(128, k - k0);
                float amax = 0;
                for (int r = 0; r < rows; ++r)
                    for (int i = 0; i < len; ++i) {
                        const float v = normal_at(seed, static_cast<uint64_t>(r0 + r) * k + k0 + i);
                        vals[r * 128 + i] = v;
                        amax = std::max(amax, std::fabs(v));
                    }
                const float scale = std::max(amax, 1e-4f) / 448.0f;
                for (int r = 0; r < rows; ++r)
                    for (int i = 0; i < len; ++i)
                        h.b[static_cast<size_t>(r0 + r) * k + k0 + i] = to_e4m3(vals[r * 128 + i] * (1.0f / scale));
                h.sfb[blk * h.kb + kb] = scale;
            }
    });
    return h;
}

// Float64 value of one output from the quantised inputs (host spot check of the GPU reference).
static double host_reference(const LhsHost& l, const RhsHost& r, int m, int n) {
    double acc = 0;
    for (int kb = 0; kb < l.kb; ++kb) {
        double part = 0;
        for (int k = kb * 128; k < std::min(l.k, kb * 128 + 128); ++k)
            part += static_cast<double>(from_e4m3(l.a[static_cast<size_t>(m) * l.k + k])) * from_e4m3(r.b[static_cast<size_t>(n) * r.k + k]);
        acc += part * l.sfa[static_cast<size_t>(kb) * l.m_pad + m] * r.sfb[static_cast<size_t>(n / 128) * r.kb + kb];
    }
    return acc;
}

// ------------------------------------------------------------------------------------------------------
// Device helpers: float64 reference, output check, bitwise compare, guard check.

__device__ __forceinline__ double dec_e4m3(uint8_t v) {
    __nv_fp8_e4m3 f;
    f.__x = v;
    return static_cast<double>(static_cast<float>(f));
}

// 32x32 outputs per block, K in 64-wide slices, float64 products and sums, scales applied per 128-K block.
__global__ void __launch_bounds__(256) reference_gemm(const uint8_t* __restrict__ a, const uint8_t* __restrict__ b,
                                                      const float* __restrict__ sfa, const float* __restrict__ sfb,
                                                      double* __restrict__ ref, int m, int n, int k, int m_pad) {
    __shared__ double as[32][65];
    __shared__ double bs[64][33];
    const int tx = threadIdx.x % 32, ty = threadIdx.x / 32;
    const int m0 = blockIdx.y * 32, n0 = blockIdx.x * 32;
    const int num_kb = (k + 127) / 128;
    double acc[4] = {0, 0, 0, 0};
    for (int kb = 0; kb < num_kb; ++kb) {
        double part[4] = {0, 0, 0, 0};
        for (int half = 0; half < 2; ++half) {
            const int k0 = kb * 128 + half * 64;
            for (int i = threadIdx.x; i < 32 * 64; i += 256) {
                const int row = i / 64, kk = i % 64, gk = k0 + kk;
                const int gm = m0 + row, gn = n0 + row;
                as[row][kk] = (gm < m && gk < k) ? dec_e4m3(a[static_cast<size_t>(gm) * k + gk]) : 0.0;
                bs[kk][row] = (gn < n && gk < k) ? dec_e4m3(b[static_cast<size_t>(gn) * k + gk]) : 0.0;
            }
            __syncthreads();
            for (int kk = 0; kk < 64; ++kk) {
                const double bv = bs[kk][tx];
#pragma unroll
                for (int j = 0; j < 4; ++j) part[j] = fma(as[ty + 8 * j][kk], bv, part[j]);
            }
            __syncthreads();
        }
        const int gn = n0 + tx;
        const double sb = gn < n ? static_cast<double>(sfb[static_cast<size_t>(gn / 128) * num_kb + kb]) : 0.0;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int gm = m0 + ty + 8 * j;
            const double sa = gm < m ? static_cast<double>(sfa[static_cast<size_t>(kb) * m_pad + gm]) : 0.0;
            acc[j] += part[j] * sa * sb;
        }
    }
    const int gn = n0 + tx;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int gm = m0 + ty + 8 * j;
        if (gm < m && gn < n) ref[static_cast<size_t>(gm) * n + gn] = acc[j];
    }
}

struct CheckSums {
    double sxy, sxx, syy;
    unsigned long long poisoned, nonfinite, bad, first_bad, guard_touched, differing;
};

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

// y = BF16 output, x = float64 reference. "bad" (diagnostic only): |x - y| > 1e-2 |x| + atol.
__global__ void check_output(const uint16_t* __restrict__ d, const double* __restrict__ ref, size_t count, double atol,
                             CheckSums* sums) {
    double sxy = 0, sxx = 0, syy = 0;
    unsigned long long poisoned = 0, nonfinite = 0, bad = 0, first_bad = ULLONG_MAX;
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        const uint16_t bits = d[i];
        const double x = ref[i];
        const double y = static_cast<double>(__uint_as_float(static_cast<unsigned>(bits) << 16));
        if (bits == 0xFFFFu) ++poisoned;
        if (!isfinite(y)) {
            ++nonfinite;
            first_bad = min(first_bad, static_cast<unsigned long long>(i));
            continue;
        }
        sxy += x * y;
        sxx += x * x;
        syy += y * y;
        if (fabs(x - y) > 1e-2 * fabs(x) + atol) {
            ++bad;
            first_bad = min(first_bad, static_cast<unsigned long long>(i));
        }
    }
    sxy = warp_sum(sxy);
    sxx = warp_sum(sxx);
    syy = warp_sum(syy);
    poisoned = warp_sum(poisoned);
    nonfinite = warp_sum(nonfinite);
    bad = warp_sum(bad);
    for (int o = 16; o > 0; o >>= 1) first_bad = min(first_bad, __shfl_down_sync(0xffffffffu, first_bad, o));
    if (threadIdx.x % 32 == 0) {
        atomicAdd(&sums->sxy, sxy);
        atomicAdd(&sums->sxx, sxx);
        atomicAdd(&sums->syy, syy);
        atomicAdd(&sums->poisoned, poisoned);
        atomicAdd(&sums->nonfinite, nonfinite);
        atomicAdd(&sums->bad, bad);
        atomicMin(&sums->first_bad, first_bad);
    }
}

__global__ void count_not_byte(const uint8_t* __restrict__ p, size_t count, uint8_t expected, unsigned long long* result) {
    unsigned long long c = 0;
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x)
        c += p[i] != expected;
    c = warp_sum(c);
    if (threadIdx.x % 32 == 0 && c) atomicAdd(result, c);
}

__global__ void count_differing(const uint16_t* __restrict__ x, const uint16_t* __restrict__ y, size_t count, unsigned long long* result) {
    unsigned long long c = 0;
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x)
        c += x[i] != y[i];
    c = warp_sum(c);
    if (threadIdx.x % 32 == 0 && c) atomicAdd(result, c);
}

// ------------------------------------------------------------------------------------------------------
// Tensor maps through the driver entry point (no link against libcuda needed).

using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                                   const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                   CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static EncodeTiledFn encode_tiled() {
    static EncodeTiledFn fn = nullptr;
    if (!fn) {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q;
        CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        if (q != cudaDriverEntryPointSuccess || p == nullptr) throw CudaFailure("cuTensorMapEncodeTiled not found in the driver");
        fn = reinterpret_cast<EncodeTiledFn>(p);
    }
    return fn;
}

static CUtensorMap make_map_2d(CUtensorMapDataType type, const void* base, uint64_t inner, uint64_t outer, uint64_t row_bytes,
                               uint32_t box_inner, uint32_t box_outer, CUtensorMapSwizzle swizzle, const char* what) {
    CUtensorMap map;
    const cuuint64_t dims[2] = {inner, outer};
    const cuuint64_t strides[1] = {row_bytes};
    const cuuint32_t box[2] = {box_inner, box_outer};
    const cuuint32_t elem[2] = {1, 1};
    const CUresult r = encode_tiled()(&map, type, 2, const_cast<void*>(base), dims, strides, box, elem, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                      swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS)
        throw CudaFailure(std::string("cuTensorMapEncodeTiled(") + what + ") failed with CUresult " + std::to_string(r) + " dims {" +
                          std::to_string(inner) + ", " + std::to_string(outer) + "} box {" + std::to_string(box_inner) + ", " +
                          std::to_string(box_outer) + "}");
    return map;
}

static CUtensorMapSwizzle swizzle_of(unsigned bytes) {
    return bytes == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : bytes == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_32B;
}

// ------------------------------------------------------------------------------------------------------
// Device state for one shape; rebuilt from the host copies after a device reset.

static constexpr size_t kFlushBytes = 256ull << 20;
static constexpr size_t kGuardBytes = 64 << 10;

struct Options {
    bool quick = false, cublas = true;
    int reps = 20, warmups = 3;
    std::vector<std::string> only_configs;
    std::vector<int> ms;      // --ms: M values of the standard shapes (default 1, 128, 4096; --quick 128, 4096)
    int shape[3] = {0, 0, 0};  // --shape M,N,K: this shape only (no edge shapes), e.g. under a profiler
};

struct ShapeRun {
    const LhsHost* lhs;
    const RhsHost* rhs;
    int m, n, k;
    // device
    uint8_t *a = nullptr, *b = nullptr;
    float *sfa = nullptr, *sfb = nullptr, *one = nullptr;
    uint16_t *d = nullptr, *d_first = nullptr;
    double* ref = nullptr;
    CheckSums* sums = nullptr;
    void* flush = nullptr;
    unsigned* status_host = nullptr;
    unsigned* status_dev = nullptr;
    cudaStream_t stream = nullptr;
    std::vector<cudaEvent_t> events;

    size_t d_elems() const { return static_cast<size_t>(m) * n; }

    void build(int reps) {
        CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        CK(cudaHostAlloc(reinterpret_cast<void**>(&status_host), 4 * sizeof(unsigned), cudaHostAllocMapped));
        std::memset(status_host, 0, 4 * sizeof(unsigned));
        CK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&status_dev), status_host, 0));
        CK(cudaMalloc(&flush, kFlushBytes));
        CK(cudaMalloc(&a, lhs->a.size()));
        CK(cudaMalloc(&b, rhs->b.size()));
        CK(cudaMalloc(&sfa, lhs->sfa.size() * sizeof(float)));
        CK(cudaMalloc(&sfb, rhs->sfb.size() * sizeof(float)));
        CK(cudaMalloc(&one, sizeof(float)));
        CK(cudaMalloc(&d, d_elems() * 2 + kGuardBytes));
        CK(cudaMalloc(&d_first, d_elems() * 2));
        CK(cudaMalloc(&ref, d_elems() * sizeof(double)));
        CK(cudaMalloc(&sums, sizeof(CheckSums)));
        CK(cudaMemcpy(a, lhs->a.data(), lhs->a.size(), cudaMemcpyHostToDevice));
        CK(cudaMemcpy(b, rhs->b.data(), rhs->b.size(), cudaMemcpyHostToDevice));
        CK(cudaMemcpy(sfa, lhs->sfa.data(), lhs->sfa.size() * sizeof(float), cudaMemcpyHostToDevice));
        CK(cudaMemcpy(sfb, rhs->sfb.data(), rhs->sfb.size() * sizeof(float), cudaMemcpyHostToDevice));
        const float one_f = 1.0f;
        CK(cudaMemcpy(one, &one_f, sizeof(float), cudaMemcpyHostToDevice));
        events.resize(2 * reps);
        for (auto& e : events) CK(cudaEventCreate(&e));
        const dim3 grid((n + 31) / 32, (m + 31) / 32);
        reference_gemm<<<grid, 256, 0, stream>>>(a, b, sfa, sfb, ref, m, n, k, lhs->m_pad);
        CK(cudaGetLastError());
        CK(cudaStreamSynchronize(stream));
    }

    // Frees everything; after a sticky error the frees fail, and the device reset that follows reclaims it all.
    void release() {
        for (auto& e : events) cudaEventDestroy(e);
        events.clear();
        for (void* p : {(void*)a, (void*)b, (void*)sfa, (void*)sfb, (void*)one, (void*)d, (void*)d_first, (void*)ref, (void*)sums, flush})
            if (p) cudaFree(p);
        if (status_host) cudaFreeHost(status_host);
        if (stream) cudaStreamDestroy(stream);
        a = b = nullptr;
        sfa = sfb = one = nullptr;
        d = d_first = nullptr;
        ref = nullptr;
        sums = nullptr;
        flush = nullptr;
        status_host = status_dev = nullptr;
        stream = nullptr;
    }

    // Validates the GPU reference itself against the host at a few points (corners + pseudo-random).
    double reference_spot_check() {
        std::vector<std::pair<int, int>> pts = {{0, 0}, {m - 1, n - 1}, {0, n - 1}, {m - 1, 0}};
        for (int i = 0; i < 12; ++i) pts.push_back({static_cast<int>(splitmix64(i * 2 + 1) % m), static_cast<int>(splitmix64(i * 2 + 2) % n)});
        double worst = 0;
        for (auto [pm, pn] : pts) {
            double dev;
            CK(cudaMemcpy(&dev, ref + static_cast<size_t>(pm) * n + pn, sizeof(double), cudaMemcpyDeviceToHost));
            const double host = host_reference(*lhs, *rhs, pm, pn);
            worst = std::max(worst, std::fabs(dev - host) / (std::fabs(host) + 1.0));  // outputs are O(sqrt(K))
        }
        return worst;
    }

    void poison() { CK(cudaMemsetAsync(d, 0xFF, d_elems() * 2 + kGuardBytes, stream)); }

    struct Verdict {
        bool pass;
        double diff;
        std::string detail;
    };

    Verdict check() {
        CheckSums init{};
        init.first_bad = ULLONG_MAX;
        CK(cudaMemcpyAsync(sums, &init, sizeof(init), cudaMemcpyHostToDevice, stream));
        check_output<<<1024, 256, 0, stream>>>(d, ref, d_elems(), 1e-3 * std::sqrt(static_cast<double>(k)), sums);
        CK(cudaGetLastError());
        count_not_byte<<<64, 256, 0, stream>>>(reinterpret_cast<const uint8_t*>(d) + d_elems() * 2, kGuardBytes, 0xFF, &sums->guard_touched);
        CK(cudaGetLastError());
        CheckSums s;
        CK(cudaMemcpyAsync(&s, sums, sizeof(s), cudaMemcpyDeviceToHost, stream));
        CK(cudaStreamSynchronize(stream));
        const double diff = s.sxx + s.syy > 0 ? 1.0 - 2.0 * s.sxy / (s.sxx + s.syy) : 1.0;
        const bool pass = diff < 1e-5 && s.poisoned == 0 && s.nonfinite == 0 && s.guard_touched == 0 && std::isfinite(diff);
        char buf[256];
        if (s.first_bad != ULLONG_MAX)
            snprintf(buf, sizeof buf, "poisoned=%llu nonfinite=%llu bad=%llu guard=%llu first_bad=(%llu,%llu)", s.poisoned, s.nonfinite, s.bad,
                     s.guard_touched, s.first_bad / n, s.first_bad % n);
        else
            snprintf(buf, sizeof buf, "poisoned=%llu nonfinite=%llu bad=%llu guard=%llu", s.poisoned, s.nonfinite, s.bad, s.guard_touched);
        return {pass, diff, buf};
    }

    unsigned long long differing_from_first() {
        CK(cudaMemsetAsync(&sums->differing, 0, sizeof(unsigned long long), stream));
        count_differing<<<1024, 256, 0, stream>>>(d, d_first, d_elems(), &sums->differing);
        CK(cudaGetLastError());
        unsigned long long c;
        CK(cudaMemcpyAsync(&c, &sums->differing, sizeof(c), cudaMemcpyDeviceToHost, stream));
        CK(cudaStreamSynchronize(stream));
        return c;
    }

    // Medians over `reps` calls, each after a 256 MB memset that flushes the 50 MB L2: the time between CUDA events
    // around the call, and (with CUPTI) the kernels' own duration, the measure of DeepGEMM's figures; 0 if unknown.
    struct Timing {
        double event_us, kernel_us;
        // The measure to compare with DeepGEMM's profiler figures: kernel time when known.
        double comparable_us() const { return kernel_us > 0 ? kernel_us : event_us; }
    };

    Timing time_median(const std::function<void()>& call, int warmups, int reps) {
        for (int i = 0; i < warmups; ++i) call();
        KernelClock clock;
        clock.start();
        for (int i = 0; i < reps; ++i) {
            CK(cudaMemsetAsync(flush, i & 0xFF, kFlushBytes, stream));
            CK(cudaEventRecord(events[2 * i], stream));
            call();
            CK(cudaEventRecord(events[2 * i + 1], stream));
        }
        CK(cudaStreamSynchronize(stream));
        const std::vector<double> kernel = KernelClock::per_call_us(clock.stop(), reps);
        std::vector<double> t(reps);
        for (int i = 0; i < reps; ++i) {
            float ms;
            CK(cudaEventElapsedTime(&ms, events[2 * i], events[2 * i + 1]));
            t[i] = ms * 1e3;
        }
        return {median(t), kernel.empty() ? 0.0 : median(kernel)};
    }

    static double median(std::vector<double> t) {
        std::sort(t.begin(), t.end());
        const size_t n = t.size();
        return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    }

    double bytes_moved() const {
        return static_cast<double>(m) * k + static_cast<double>(n) * k + 2.0 * m * n + 4.0 * lhs->sfa.size() + 4.0 * rhs->sfb.size();
    }
};

static void device_reset_after_failure(ShapeRun& run, int reps) {
    if (run.status_host && run.status_host[0] != 0)
        out("      watchdog: code=%u block=%u thread=%u detail=0x%x (1 misaligned smem, 2 producer wait, 3 math wait)\n", run.status_host[0],
            run.status_host[1], run.status_host[2], run.status_host[3]);
    out("      resetting the device and rebuilding the shape's buffers\n");
    run.release();
    cudaDeviceReset();
    cudaGetLastError();
    run.build(reps);
}

// ------------------------------------------------------------------------------------------------------
// Our kernel

struct Launch {
    const KernelConfig* cfg;
    CUtensorMap ta, tb, tsfa, td;
    const float* sfb;
    unsigned m, n, k;
    unsigned* status;
    unsigned grid;
};

static Launch make_launch(const KernelConfig& c, ShapeRun& r, int num_sms) {
    Launch l{};
    l.cfg = &c;
    l.ta = make_map_2d(CU_TENSOR_MAP_DATA_TYPE_UINT8, r.a, r.k, r.m, r.k, 128, c.block_m, CU_TENSOR_MAP_SWIZZLE_128B, "A");
    l.tb = make_map_2d(CU_TENSOR_MAP_DATA_TYPE_UINT8, r.b, r.k, r.n, r.k, 128, c.block_n, CU_TENSOR_MAP_SWIZZLE_128B, "B");
    l.tsfa = make_map_2d(CU_TENSOR_MAP_DATA_TYPE_FLOAT32, r.sfa, r.m, r.lhs->kb, static_cast<uint64_t>(r.lhs->m_pad) * 4, c.block_m, 1,
                         CU_TENSOR_MAP_SWIZZLE_NONE, "sfa");
    l.td = make_map_2d(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, r.d, r.n, r.m, static_cast<uint64_t>(r.n) * 2, c.d_chunk_cols, 64,
                       swizzle_of(c.d_swizzle), "D");
    l.sfb = r.sfb;
    l.m = r.m;
    l.n = r.n;
    l.k = r.k;
    l.status = r.status_dev;
    // Persistent grid: fewest CTAs (clusters) that keep the number of waves (every CTA gets the same tile count +-1).
    // A cluster of 2 pairs tiles 2p and 2p + 1 (any tile count; multicast decided per pair) and needs two M blocks
    // (grid 0 = not applicable).
    const unsigned m_blocks = (r.m + c.block_m - 1) / c.block_m;
    if (m_blocks < c.cluster_m) return l;
    const unsigned tiles = m_blocks * ((r.n + c.block_n - 1) / c.block_n);
    const unsigned units = (tiles + c.cluster_m - 1) / c.cluster_m, slots = num_sms / c.cluster_m;
    const unsigned waves = (units + slots - 1) / slots;
    l.grid = (units + waves - 1) / waves * c.cluster_m;
    return l;
}

static void launch(Launch& l, cudaStream_t s) {
    // The M-grouped parameters, unused by the dense GEMM: layout, num_groups, alignment, d, d_pitch.
    const int* layout = nullptr;
    unsigned one = 1, zero = 0;
    unsigned short* d = nullptr;
    void* args[] = {&l.ta, &l.tb, &l.tsfa, &l.td, &l.sfb, &l.m, &l.n, &l.k, &l.status, &layout, &one, &one, &d, &zero};
    cudaLaunchConfig_t lc{};
    lc.gridDim = dim3(l.grid);
    lc.blockDim = dim3(l.cfg->threads);
    lc.dynamicSmemBytes = l.cfg->smem_bytes;
    lc.stream = s;
    cudaLaunchAttribute attr{};
    attr.id = cudaLaunchAttributeClusterDimension;
    attr.val.clusterDim.x = l.cfg->cluster_m;
    attr.val.clusterDim.y = 1;
    attr.val.clusterDim.z = 1;
    lc.attrs = &attr;
    lc.numAttrs = 1;
    CK(cudaLaunchKernelExC(&lc, l.cfg->fn, args));
}

// ------------------------------------------------------------------------------------------------------
// cuBLASLt baseline

#ifdef DG_WITH_CUBLASLT
struct LtBaseline {
    cublasLtHandle_t handle = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 64ull << 20;
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    cublasLtMatmulAlgo_t algo;
    const void *a_ptr = nullptr, *b_ptr = nullptr;
    void* d_ptr = nullptr;

    void reset() {
        if (op) cublasLtMatmulDescDestroy(op);
        if (la) cublasLtMatrixLayoutDestroy(la);
        if (lb) cublasLtMatrixLayoutDestroy(lb);
        if (ld) cublasLtMatrixLayoutDestroy(ld);
        op = nullptr;
        la = lb = ld = nullptr;
        if (workspace) cudaFree(workspace);
        workspace = nullptr;
        if (handle) cublasLtDestroy(handle);
        handle = nullptr;
    }

    // Row-major D[M,N] = A[M,K] B[N,K]^T is column-major D^T[N,M] = op_T(B as KxN) * (A as KxM): cuBLAS "A" is
    // our B (128x128 block scales), cuBLAS "B" is our A (1x128 scales along K, stored [K/128][M]).
    // Returns an empty string when ready, else why not.
    std::string prepare(bool block_scaled, ShapeRun& r) {
        reset();
        if (cublasLtCreate(&handle) != CUBLAS_STATUS_SUCCESS) return "cublasLtCreate failed";
        if (cudaMalloc(&workspace, workspace_bytes) != cudaSuccess) return "workspace allocation failed";
        if (cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) return "desc create failed";
        const int32_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
        const void* scale_a = block_scaled ? static_cast<const void*>(r.sfb) : r.one;
        const void* scale_b = block_scaled ? static_cast<const void*>(r.sfa) : r.one;
        if (block_scaled) {
#if CUBLAS_VERSION >= 120900
            const int32_t mode_a = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, mode_b = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
            if (cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode_a, sizeof mode_a) != CUBLAS_STATUS_SUCCESS ||
                cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode_b, sizeof mode_b) != CUBLAS_STATUS_SUCCESS)
                return "scale modes refused";
#else
            return "cuBLASLt older than 12.9 has no block scaling";
#endif
        }
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale_a, sizeof scale_a);
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale_b, sizeof scale_b);
        if (cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, r.k, r.n, r.k) != CUBLAS_STATUS_SUCCESS ||
            cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, r.k, r.m, r.k) != CUBLAS_STATUS_SUCCESS ||
            cublasLtMatrixLayoutCreate(&ld, CUDA_R_16BF, r.n, r.m, r.n) != CUBLAS_STATUS_SUCCESS)
            return "layout create failed";
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof workspace_bytes);
        cublasLtMatmulHeuristicResult_t res;
        int found = 0;
        const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle, op, la, lb, ld, ld, pref, 1, &res, &found);
        cublasLtMatmulPreferenceDestroy(pref);
        if (st != CUBLAS_STATUS_SUCCESS || found == 0) return "no algorithm (status " + std::to_string(st) + ")";
        algo = res.algo;
        a_ptr = r.b;
        b_ptr = r.a;
        d_ptr = r.d;
        return "";
    }

    cublasStatus_t run(cudaStream_t s) {
        const float alpha = 1.0f, beta = 0.0f;
        return cublasLtMatmul(handle, op, &alpha, a_ptr, la, b_ptr, lb, &beta, d_ptr, ld, d_ptr, ld, &algo, workspace, workspace_bytes, s);
    }
};
#endif

// ------------------------------------------------------------------------------------------------------
// Shapes and reporting

struct Anchor {  // DeepGEMM 2.6.1 on the same H100 (research/anchors.md), microseconds
    int m, n, k;
    double us;
};

static const Anchor kDeepGemm[] = {
    {1, 2112, 7168, 14.1},     {1, 576, 7168, 10.2},      {1, 24576, 1536, 21.9},    {1, 32768, 512, 11.0},      {1, 7168, 16384, 53.5},
    {1, 4096, 7168, 18.7},     {1, 7168, 2048, 9.8},      {128, 2112, 7168, 11.4},   {128, 576, 7168, 9.5},      {128, 24576, 1536, 22.0},
    {128, 32768, 512, 12.7},   {128, 7168, 16384, 55.8},  {128, 4096, 7168, 17.5},   {128, 7168, 2048, 10.7},    {4096, 2112, 7168, 96.4},
    {4096, 576, 7168, 33.7},   {4096, 24576, 1536, 238.5}, {4096, 32768, 512, 136.3}, {4096, 7168, 16384, 656.7}, {4096, 4096, 7168, 168.7},
    {4096, 7168, 2048, 93.3},
};

static double deepgemm_us(int m, int n, int k) {
    for (const auto& a : kDeepGemm)
        if (a.m == m && a.n == n && a.k == k) return a.us;
    return 0;
}

struct SummaryRow {
    int m, n, k;
    std::string best;
    double us = 0, kernel_us = 0, tflops = 0, gbps = 0, dg_us = 0, lt_us = 0, lt_kernel_us = 0;
    double comparable_us() const { return kernel_us > 0 ? kernel_us : us; }
    double lt_comparable_us() const { return lt_kernel_us > 0 ? lt_kernel_us : lt_us; }
    std::string lt_kind;
    int failures = 0;
};

static std::vector<SummaryRow> g_summary;
static int g_total_failures = 0;
static std::vector<int> g_config_errors;  // per configuration: runs that ended in a trap or CUDA error
static constexpr int kMaxConfigErrors = 2;  // then the configuration is skipped (each costs a watchdog + reset)

static void run_shape(const LhsHost& lhs, const RhsHost& rhs, bool timed, const Options& opt, int num_sms) {
    ShapeRun r;
    r.lhs = &lhs;
    r.rhs = &rhs;
    r.m = lhs.m;
    r.n = rhs.n;
    r.k = lhs.k;
    const double flops = 2.0 * r.m * r.n * r.k;
    out("\nshape M=%d N=%d K=%d%s\n", r.m, r.n, r.k, timed ? "" : "  (edge shape: correctness only)");
    SummaryRow row{r.m, r.n, r.k};
    row.dg_us = deepgemm_us(r.m, r.n, r.k);
    try {
        r.build(opt.reps);
        const double ref_err = r.reference_spot_check();
        if (ref_err > 1e-9) {
            out("  reference kernel disagrees with the host reference (rel err %.3g): skipping shape\n", ref_err);
            ++g_total_failures;
            r.release();
            return;
        }
    } catch (const std::exception& e) {
        out("  setup failed: %s\n", e.what());
        ++g_total_failures;
        r.release();
        cudaDeviceReset();
        return;
    }

    g_config_errors.resize(all_configs().size());
    for (size_t ci = 0; ci < all_configs().size(); ++ci) {
        const KernelConfig& cfg = all_configs()[ci];
        if (!opt.only_configs.empty() && std::find(opt.only_configs.begin(), opt.only_configs.end(), cfg.name) == opt.only_configs.end())
            continue;
        if (g_config_errors[ci] >= kMaxConfigErrors) {
            out("  %-12s skipped after %d errors\n", cfg.name.c_str(), g_config_errors[ci]);
            ++row.failures;
            continue;
        }
        try {
            Launch l = make_launch(cfg, r, num_sms);
            if (l.grid == 0) {
                out("  %-12s n/a (a cluster of %u needs %u M blocks)\n", cfg.name.c_str(), cfg.cluster_m, cfg.cluster_m);
                continue;
            }
            CK(cudaFuncSetAttribute(cfg.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(cfg.smem_bytes)));
            std::memset(r.status_host, 0, 4 * sizeof(unsigned));
            r.poison();
            launch(l, r.stream);
            CK(cudaStreamSynchronize(r.stream));
            const auto v = r.check();
            if (!v.pass) {
                out("  %-12s grid %3u  FAIL  diff=%.3e  %s\n", cfg.name.c_str(), l.grid, v.diff, v.detail.c_str());
                ++row.failures;
                ++g_total_failures;
                continue;
            }
            if (!timed) {
                out("  %-12s grid %3u  PASS  diff=%.3e\n", cfg.name.c_str(), l.grid, v.diff);
                continue;
            }
            CK(cudaMemcpyAsync(r.d_first, r.d, r.d_elems() * 2, cudaMemcpyDeviceToDevice, r.stream));
            const ShapeRun::Timing tm = r.time_median([&] { launch(l, r.stream); }, opt.warmups, opt.reps);
            const unsigned long long differing = r.differing_from_first();
            // Rates from the comparable time (kernel time when CUPTI measured it).
            const double us = tm.comparable_us();
            const double tflops = flops / us * 1e-6, gbps = r.bytes_moved() / us * 1e-3;
            out("  %-12s grid %3u  PASS  diff=%.3e  reruns %s  %9.1f us events %9.1f us kernel  %7.1f TFLOPS  %6.0f GB/s\n",
                cfg.name.c_str(), l.grid, v.diff, differing ? "DIFFER" : "identical", tm.event_us, tm.kernel_us, tflops, gbps);
            if (differing) {
                out("  %-12s %llu outputs changed between runs: race\n", cfg.name.c_str(), differing);
                ++row.failures;
                ++g_total_failures;
            } else if (row.us == 0 || us < row.comparable_us()) {
                row.us = tm.event_us;
                row.kernel_us = tm.kernel_us;
                row.tflops = tflops;
                row.gbps = gbps;
                row.best = cfg.name;
            }
        } catch (const std::exception& e) {
            out("  %-12s ERROR %s\n", cfg.name.c_str(), e.what());
            ++g_config_errors[ci];
            ++row.failures;
            ++g_total_failures;
            try {
                device_reset_after_failure(r, opt.reps);
            } catch (const std::exception& e2) {
                out("  device rebuild failed: %s; skipping the rest of this shape\n", e2.what());
                r.release();
                cudaDeviceReset();
                return;
            }
        }
    }

#ifdef DG_WITH_CUBLASLT
    if (timed && opt.cublas) {
        LtBaseline lt;
        for (bool block_scaled : {true, false}) {
            try {
                const std::string why = lt.prepare(block_scaled, r);
                const char* kind = block_scaled ? "cuBLASLt block-scaled" : "cuBLASLt per-tensor (unscaled, easier)";
                if (!why.empty()) {
                    out("  %s: unavailable: %s\n", kind, why.c_str());
                    continue;
                }
                r.poison();
                const cublasStatus_t st = lt.run(r.stream);
                CK(cudaStreamSynchronize(r.stream));
                if (st != CUBLAS_STATUS_SUCCESS) {
                    out("  %s: cublasLtMatmul status %d\n", kind, static_cast<int>(st));
                    continue;
                }
                std::string verdict = "not comparable";
                if (block_scaled) {
                    const auto v = r.check();
                    char buf[128];
                    snprintf(buf, sizeof buf, "%s diff=%.3e", v.pass ? "PASS" : "FAIL", v.diff);
                    verdict = buf;
                    if (!v.pass) {
                        out("  %s: output disagrees with the reference (%s %s): not used as baseline\n", kind, buf, v.detail.c_str());
                        continue;
                    }
                }
                const ShapeRun::Timing tm = r.time_median([&] { lt.run(r.stream); }, opt.warmups, opt.reps);
                out("  %-40s %s  %9.1f us events %9.1f us kernel  %7.1f TFLOPS\n", kind, verdict.c_str(), tm.event_us, tm.kernel_us,
                    flops / tm.comparable_us() * 1e-6);
                row.lt_us = tm.event_us;
                row.lt_kernel_us = tm.kernel_us;
                row.lt_kind = block_scaled ? "blk" : "pt";
                break;
            } catch (const std::exception& e) {
                out("  cuBLASLt error: %s\n", e.what());
                lt = LtBaseline();
                try {
                    device_reset_after_failure(r, opt.reps);
                } catch (...) {
                    break;
                }
            }
        }
        lt.reset();
    }
#endif
    if (timed) {
        if (row.us > 0) {
            out("  best %-12s %.1f us events, %.1f us kernel  %.1f TFLOPS  %.0f GB/s", row.best.c_str(), row.us, row.kernel_us, row.tflops,
                row.gbps);
            if (row.dg_us > 0) out("  | %.2fx DeepGEMM (%.1f us)", row.dg_us / row.comparable_us(), row.dg_us);
            if (row.lt_us > 0) out("  | %.2fx cuBLASLt-%s", row.lt_comparable_us() / row.comparable_us(), row.lt_kind.c_str());
            out("\n");
        }
        g_summary.push_back(row);
    }
    r.release();
}

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick")
            opt.quick = true;
        else if (a == "--no-cublas")
            opt.cublas = false;
        else if (a == "--reps" && i + 1 < argc)
            opt.reps = std::max(1, atoi(argv[++i]));
        else if (a == "--configs" && i + 1 < argc) {
            std::string s = argv[++i];
            for (size_t p = 0; p <= s.size();) {
                const size_t q = std::min(s.find(',', p), s.size());
                if (q > p) opt.only_configs.push_back("cfg_" + s.substr(p, q - p));
                p = q + 1;
            }
        } else if (a == "--ms" && i + 1 < argc) {
            for (const char* p = argv[++i]; *p;) {
                char* end;
                opt.ms.push_back(static_cast<int>(strtol(p, &end, 10)));
                p = *end == ',' ? end + 1 : end + strlen(end);
            }
        } else if (a == "--shape" && i + 1 < argc) {
            if (sscanf(argv[++i], "%d,%d,%d", &opt.shape[0], &opt.shape[1], &opt.shape[2]) != 3) opt.shape[0] = 0;
        } else if (a == "--out" && i + 1 < argc)
            g_log = fopen(argv[++i], "w");
        else {
            fprintf(stderr, "usage: %s [--quick] [--no-cublas] [--reps N] [--configs 128x128,64x256] [--ms 128,4096] [--shape M,N,K] [--out FILE]\n", argv[0]);
            return 2;
        }
    }

    int num_sms = 0, driver = 0, runtime = 0;
    cudaDeviceProp prop;
    try {
        CK(cudaGetDeviceProperties(&prop, 0));
        CK(cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, 0));
        CK(cudaDriverGetVersion(&driver));
        CK(cudaRuntimeGetVersion(&runtime));
        encode_tiled();
    } catch (const std::exception& e) {
        out("no usable CUDA device: %s\n", e.what());
        return 1;
    }
    out("device: %s, %d SMs, cc %d.%d, L2 %d MB, driver %d, runtime %d\n", prop.name, num_sms, prop.major, prop.minor,
        prop.l2CacheSize >> 20, driver, runtime);
    out("protocol: %d warm-ups, median of %d calls, %zu MB memset before each timed call; TFLOPS = 2MNK/t; GB/s = (A+B+scales+D)/t\n",
        opt.warmups, opt.reps, kFlushBytes >> 20);
#ifdef DG_WITH_CUBLASLT
    out("cuBLASLt baseline: built in (header version %d)%s\n", CUBLAS_VERSION, opt.cublas ? "" : ", disabled by --no-cublas");
#else
    out("cuBLASLt baseline: not built in (cublasLt.h / libcublasLt not found at build time)\n");
#endif
    out("\nconfigurations:\n");
    for (const auto& c : all_configs()) {
        cudaFuncAttributes fa;
        const cudaError_t e = cudaFuncGetAttributes(&fa, c.fn);
        if (e != cudaSuccess)
            out("  %-12s cudaFuncGetAttributes: %s\n", c.name.c_str(), cudaGetErrorString(e));
        else
            out("  %-12s BLOCK %3ux%-3u stages %2u threads %u smem %6u B  regs %d local %zu B  D chunks %u cols (swizzle %u)\n", c.name.c_str(),
                c.block_m, c.block_n, c.stages, c.threads, c.smem_bytes, fa.numRegs, fa.localSizeBytes, c.d_chunk_cols, c.d_swizzle);
        if (c.cluster_m > 1) {  // how many clusters fit at once: a persistent grid larger than that runs in two waves
            cudaLaunchConfig_t lc{};
            lc.gridDim = dim3(num_sms);
            lc.blockDim = dim3(c.threads);
            lc.dynamicSmemBytes = c.smem_bytes;
            cudaLaunchAttribute attr{};
            attr.id = cudaLaunchAttributeClusterDimension;
            attr.val.clusterDim.x = c.cluster_m;
            attr.val.clusterDim.y = attr.val.clusterDim.z = 1;
            lc.attrs = &attr;
            lc.numAttrs = 1;
            int clusters = -1;
            cudaFuncSetAttribute(c.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(c.smem_bytes));
            const cudaError_t ce = cudaOccupancyMaxActiveClusters(&clusters, c.fn, &lc);
            out("    cluster of %u: %d clusters co-resident%s\n", c.cluster_m, clusters, ce == cudaSuccess ? "" : cudaGetErrorString(ce));
        }
    }

    const auto t_start = std::chrono::steady_clock::now();
    const std::vector<std::pair<int, int>> nk = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512},
                                                 {7168, 16384}, {4096, 7168}, {7168, 2048}};
    const std::vector<int> ms = !opt.ms.empty() ? opt.ms : opt.quick ? std::vector<int>{128, 4096} : std::vector<int>{1, 128, 4096};
    uint64_t seed = 1;
    if (opt.shape[0] > 0) {
        const RhsHost rhs = make_rhs(opt.shape[1], opt.shape[2], seed++);
        const LhsHost lhs = make_lhs(opt.shape[0], opt.shape[2], seed++);
        run_shape(lhs, rhs, true, opt, num_sms);
        return 0;
    }
    for (const auto& [n, k] : nk) {
        const RhsHost rhs = make_rhs(n, k, seed++);
        for (int m : ms) {
            const LhsHost lhs = make_lhs(m, k, seed++);
            run_shape(lhs, rhs, true, opt, num_sms);
        }
    }

    // Edge shapes: M/N/K tails, single and partial K blocks, ring wrap-around, wave counts around 132 tiles.
    struct Edge {
        int m, n, k;
    };
    const std::vector<Edge> edges = {{1, 136, 128},     {7, 136, 7168},    {65, 136, 1552},    {65, 2112, 7168},  {129, 264, 640},
                                     {200, 4096, 16},   {4097, 136, 7168}, {4097, 2112, 7168}, {4097, 7168, 208}, {1536, 1408, 1024},
                                     {1536, 1416, 1024}};
    for (const auto& e : edges) {
        if (opt.quick && e.m * static_cast<double>(e.n) * e.k > 1e10) continue;
        const RhsHost rhs = make_rhs(e.n, e.k, seed++);
        const LhsHost lhs = make_lhs(e.m, e.k, seed++);
        run_shape(lhs, rhs, false, opt, num_sms);
    }

    out("\nsummary (best configuration per shape; DeepGEMM = its 2.6.1 figure on the same H100 model from anchors.md, a kernel\n"
        "time from the profiler; ratios use our kernel time (CUPTI) when measured (%s), else our event time):\n",
        KernelClock::available() ? "it was" : "not in this build");
    out("%6s %6s %6s  %-12s %9s %9s %8s %7s  %9s %6s  %9s %6s\n", "M", "N", "K", "best", "events us", "kernel us", "TFLOPS", "GB/s",
        "DeepGEMM", "ratio", "cuBLASLt", "ratio");
    double log_dg = 0, log_lt4096 = 0;
    int n_dg = 0, n_lt4096 = 0;
    for (const auto& s : g_summary) {
        out("%6d %6d %6d  %-12s %9.1f %9.1f %8.1f %7.0f", s.m, s.n, s.k, s.best.empty() ? "-" : s.best.c_str(), s.us, s.kernel_us, s.tflops,
            s.gbps);
        const double ours = s.comparable_us();
        if (s.dg_us > 0 && ours > 0) {
            out("  %9.1f %5.2fx", s.dg_us, s.dg_us / ours);
            log_dg += std::log(s.dg_us / ours);
            ++n_dg;
        } else
            out("  %9s %6s", "-", "-");
        if (s.lt_us > 0 && ours > 0) {
            out("  %9.1f %5.2fx %s", s.lt_comparable_us(), s.lt_comparable_us() / ours, s.lt_kind.c_str());
            if (s.m == 4096) {
                log_lt4096 += std::log(s.lt_comparable_us() / ours);
                ++n_lt4096;
            }
        }
        out("%s\n", s.failures ? "  (failures)" : "");
    }
    if (n_dg) out("geometric mean vs DeepGEMM: %.3fx over %d shapes\n", std::exp(log_dg / n_dg), n_dg);
    if (n_lt4096) out("geometric mean vs cuBLASLt at M=4096: %.3fx over %d shapes\n", std::exp(log_lt4096 / n_lt4096), n_lt4096);
    out("total failures: %d; wall time %.1f s\n", g_total_failures,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
    if (g_log) fclose(g_log);
    return g_total_failures ? 1 : 0;
}
