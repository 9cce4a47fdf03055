// Standalone correctness + speed harness for the M-grouped variants of kernels/src/main/cuda/sm90_fp8_gemm_1d2d.cu
// (DG_GEMM_TYPE 1 contiguous/index layout, 2 contiguous/psum layout, 3 masked) on an H100/H200 (sm_90a).
//
// Per case: FP8 operands quantised from pseudo-normal values on the device (sfa per row and 128 K, sfb per 128x128
// block, both random powers-of-two-ish), D poisoned with 0x7F7F, one run, then
//   - calc_diff (1 - 2 sum(xy) / sum(x^2 + y^2)) against a float64 reference of the quantised inputs over sampled
//     owned rows (every owned row for the small edge cases), must be < 1e-5;
//   - every owned row fully written (no poison left) and every row no expert owns still poison (full scan);
//   - timing: warm-up, 256 MB L2 flush before each call, CUDA events, median; ratio to the DeepGEMM 2.6.1 anchor on
//     the same H100 (research/anchors.md); then 20 reruns compared bitwise with the checked output.
// Build/run: kernels/src/test/cuda/run_sm90_grouped_bench.sh [timed reps] [case label filter]

#include <cuda.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

struct KernelConfig {
    const char* name;
    unsigned type, block_m, block_n, threads, smem, cluster;
    unsigned d_chunk_cols, d_swizzle;
    const void* fn;
};
static std::vector<KernelConfig>& configs() {
    static std::vector<KernelConfig> v;
    return v;
}
static bool reg(KernelConfig c) {
    configs().push_back(c);
    return true;
}
#define DG_REGISTER()                                                                                                 \
    namespace DG_NAMESPACE {                                                                                          \
    static const bool kReg = reg({DG_STR(DG_KERNEL_NAME), DG_GEMM_TYPE, kBlockM, kBlockN, kNumThreads, kSmemBytes,   \
                                  kClusterM,                                                                          \
                                  kDChunkCols, kDSwizzle, (const void*)&::DG_KERNEL_NAME});                            \
    }

#define DG_WATCHDOG_NS 500000000ull

// The configurations Sm90GemmHeuristic picks for M-grouped GEMMs (128 x 192; 128 x 256 when K <= 4096; masked
// decode-sized groups 64 x 128), each layout with both wide tiles so that every shape shows the alternative.
#define DG_GEMM_TYPE 1
#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_NAMESPACE ns_idx_128x192
#define DG_KERNEL_NAME idx_128x192
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 1
#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_NAMESPACE ns_idx_128x256
#define DG_KERNEL_NAME idx_128x256
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 2
#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_NAMESPACE ns_psum_128x192
#define DG_KERNEL_NAME psum_128x192
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 2
#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_NAMESPACE ns_psum_128x256
#define DG_KERNEL_NAME psum_128x256
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 3
#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_NAMESPACE ns_masked_128x192
#define DG_KERNEL_NAME masked_128x192
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 3
#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_NAMESPACE ns_masked_128x256
#define DG_KERNEL_NAME masked_128x256
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 3
#define DG_BLOCK_M 64
#define DG_BLOCK_N 128
#define DG_NAMESPACE ns_masked_64x128
#define DG_KERNEL_NAME masked_64x128
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
// In clusters of 2 (suffix c2; measured, not picked by the heuristic): B multicast where a tile pair shares its expert and
// N block, decided per pair by the kernel.
#define DG_GEMM_TYPE 1
#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_CLUSTER_M 2
#define DG_NAMESPACE ns_idx_128x192c2
#define DG_KERNEL_NAME idx_128x192c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 2
#define DG_BLOCK_M 128
#define DG_BLOCK_N 256
#define DG_CLUSTER_M 2
#define DG_NAMESPACE ns_psum_128x256c2
#define DG_KERNEL_NAME psum_128x256c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_GEMM_TYPE 3
#define DG_BLOCK_M 128
#define DG_BLOCK_N 192
#define DG_CLUSTER_M 2
#define DG_NAMESPACE ns_masked_128x192c2
#define DG_KERNEL_NAME masked_128x192c2
#include "../../main/cuda/sm90_fp8_gemm_1d2d.cu"
DG_REGISTER()
#undef DG_GEMM_TYPE
#undef DG_BLOCK_M
#undef DG_BLOCK_N
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

// ---------------------------------------------------------------------------------------------------------------
#define CK(x)                                                                                                \
    do {                                                                                                     \
        cudaError_t e_ = (x);                                                                                \
        if (e_ != cudaSuccess) {                                                                             \
            printf("CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x);          \
            fflush(stdout);                                                                                  \
            exit(2);                                                                                         \
        }                                                                                                    \
    } while (0)

using EncodeFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                              const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                              CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
static EncodeFn encoder() {
    static EncodeFn fn = nullptr;
    if (!fn) {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q;
        CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        fn = reinterpret_cast<EncodeFn>(p);
    }
    return fn;
}
static CUtensorMap map2d(CUtensorMapDataType type, const void* base, uint64_t inner, uint64_t outer, uint64_t pitch, uint32_t bi,
                         uint32_t bo, CUtensorMapSwizzle sw) {
    CUtensorMap m;
    cuuint64_t dims[2] = {inner, outer}, strides[1] = {pitch};
    cuuint32_t box[2] = {bi, bo}, el[2] = {1, 1};
    CUresult r = encoder()(&m, type, 2, const_cast<void*>(base), dims, strides, box, el, CU_TENSOR_MAP_INTERLEAVE_NONE, sw,
                           CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        printf("encode failed %d\n", (int)r);
        exit(2);
    }
    return m;
}

__device__ __forceinline__ uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
__device__ __forceinline__ float unit(uint64_t h) { return (h >> 40) * (1.0f / 16777216.0f); }

__global__ void fill_fp8(uint8_t* p, size_t count, uint64_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        const uint64_t h = mix(seed ^ (i * 0x100000001B3ull));
        const float x = (unit(h) + unit(mix(h)) + unit(mix(h + 1)) - 1.5f) * 220.0f;  // roughly normal, |x| < 330
        p[i] = __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3);
    }
}
__global__ void fill_scales(float* p, size_t count, uint64_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
        p[i] = (0.5f + unit(mix(seed ^ i))) * 1e-3f;
}
__global__ void fill_u16(uint16_t* p, size_t count, uint16_t v) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) p[i] = v;
}

// Float64 reference of sampled rows: block = one sampled row x 128 columns.
__global__ void reference(const uint8_t* a, const float* sfa, const uint8_t* b, const float* sfb, const int* rows, const int* groups,
                          const int* sfa_rows, const int* sfa_col0, double* ref, int n, int k, long sfa_pitch) {
    const int s = blockIdx.y, col = blockIdx.x * 128 + threadIdx.x;
    const long row = rows[s];
    const int g = groups[s];
    const int kb_count = (k + 127) / 128;
    if (col >= n) return;
    const uint8_t* ar = a + row * k;
    const uint8_t* br = b + ((long)g * n + col) * k;
    double total = 0;
    for (int kb = 0; kb < kb_count; ++kb) {
        double part = 0;
        for (int kk = kb * 128; kk < min(k, kb * 128 + 128); kk += 16) {  // k % 16 == 0: whole 16-byte chunks
            const uint4 xa = *reinterpret_cast<const uint4*>(ar + kk), xb = *reinterpret_cast<const uint4*>(br + kk);
            const uint8_t* pa = reinterpret_cast<const uint8_t*>(&xa);
            const uint8_t* pb = reinterpret_cast<const uint8_t*>(&xb);
#pragma unroll
            for (int j = 0; j < 16; ++j) {
                __nv_fp8_e4m3 x, y;
                x.__x = pa[j];
                y.__x = pb[j];
                part += (double)(float)x * (double)(float)y;
            }
        }
        total += part * (double)sfa[(long)(sfa_col0[s] + kb) * sfa_pitch + sfa_rows[s]] *
                 (double)sfb[((long)g * ((n + 127) / 128) + col / 128) * kb_count + kb];
    }
    ref[(long)s * n + col] = total;
}

__device__ __forceinline__ float bf16_to_f(uint16_t v) { return __uint_as_float((uint32_t)v << 16); }

// sums[0..2] = Σxy, Σx², Σy² over the sampled rows; counts[0] = poison in owned rows, counts[1] = non-poison in
// rows nobody owns (full scan over all rows, owner[row] = 1 if owned).
__global__ void compare(const uint16_t* d, const double* ref, const int* rows, int n, double* sums) {
    const int s = blockIdx.y, col = blockIdx.x * 128 + threadIdx.x;
    if (col >= n) return;
    const double y = bf16_to_f(d[(long)rows[s] * n + col]), x = ref[(long)s * n + col];
    atomicAdd(sums + 0, x * y);
    atomicAdd(sums + 1, x * x);
    atomicAdd(sums + 2, y * y);
}
__global__ void scan_rows(const uint16_t* d, const uint8_t* owner, long total_rows, int n, unsigned long long* counts) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total_rows * n; i += (long)gridDim.x * blockDim.x) {
        const bool own = owner[i / n];
        const bool poison = d[i] == 0x7F7F;
        if (own && poison) atomicAdd(counts + 0, 1ull);
        if (!own && !poison) atomicAdd(counts + 1, 1ull);
    }
}
__global__ void diff_count(const uint16_t* x, const uint16_t* y, size_t count, unsigned long long* c) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
        if (x[i] != y[i]) atomicAdd(c, 1ull);
}

struct Case {
    std::string label;
    unsigned type;           // 1 index, 2 psum, 3 masked
    int groups, n, k;
    std::vector<int> sizes;  // real rows per expert / masked_m
    long rows;               // contiguous: total rows (aligned segments); masked: M_max
    double anchor_us;        // DeepGEMM 2.6.1 on the same H100 (0 = none)
    bool edge;               // small edge case: check every owned row
};

static int g_sms;
static uint8_t* g_flush;

static bool run_case(const Case& cs, const KernelConfig& kc, int reps, bool verbose) {
    const int G = cs.groups, n = cs.n, k = cs.k, kb = (k + 127) / 128;
    const bool masked = cs.type == 3;
    const long map_rows = masked ? (long)G * cs.rows : cs.rows;
    // Layout and row ownership.
    std::vector<int> layout;
    std::vector<uint8_t> owner(map_rows, 0);
    std::vector<int> row_group(map_rows, -1);
    if (masked) {
        layout = cs.sizes;
        for (int g = 0; g < G; ++g)
            for (int r = 0; r < std::min<long>(cs.sizes[g], cs.rows); ++r) owner[(long)g * cs.rows + r] = 1, row_group[(long)g * cs.rows + r] = g;
    } else {
        long start = 0;
        if (cs.type == 1) layout.assign(map_rows, -1);
        for (int g = 0; g < G; ++g) {
            for (long r = start; r < start + cs.sizes[g]; ++r) {
                owner[r] = 1;
                row_group[r] = g;
                if (cs.type == 1) layout[r] = g;
            }
            const long end = start + cs.sizes[g];
            if (cs.type == 2) layout.push_back((int)end);
            start = (end + 127) / 128 * 128;
        }
    }
    // Device buffers.
    const long sfa_pitch = (cs.rows + 3) / 4 * 4;
    const size_t a_bytes = (size_t)map_rows * k, b_bytes = (size_t)G * n * k;
    const size_t sfa_count = (size_t)(masked ? G : 1) * kb * sfa_pitch, sfb_count = (size_t)G * ((n + 127) / 128) * kb;
    const size_t d_count = (size_t)map_rows * n;
    uint8_t *a, *b, *own_d;
    float *sfa, *sfb;
    uint16_t *d, *d_ref;
    int* lay;
    CK(cudaMalloc(&a, a_bytes));
    CK(cudaMalloc(&b, b_bytes));
    CK(cudaMalloc(&sfa, sfa_count * 4));
    CK(cudaMalloc(&sfb, sfb_count * 4));
    CK(cudaMalloc(&d, d_count * 2));
    CK(cudaMalloc(&d_ref, d_count * 2));
    CK(cudaMalloc(&lay, layout.size() * 4));
    CK(cudaMalloc(&own_d, map_rows));
    CK(cudaMemcpy(lay, layout.data(), layout.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(own_d, owner.data(), map_rows, cudaMemcpyHostToDevice));
    fill_fp8<<<1024, 256>>>(a, a_bytes, 11);
    fill_fp8<<<1024, 256>>>(b, b_bytes, 22);
    fill_scales<<<256, 256>>>(sfa, sfa_count, 33);
    fill_scales<<<256, 256>>>(sfb, sfb_count, 44);
    fill_u16<<<1024, 256>>>(d, d_count, 0x7F7F);
    CK(cudaGetLastError());

    const CUtensorMap tm_a = map2d(CU_TENSOR_MAP_DATA_TYPE_UINT8, a, k, map_rows, k, 128, kc.block_m, CU_TENSOR_MAP_SWIZZLE_128B);
    const CUtensorMap tm_b = map2d(CU_TENSOR_MAP_DATA_TYPE_UINT8, b, k, (uint64_t)G * n, k, 128, kc.block_n, CU_TENSOR_MAP_SWIZZLE_128B);
    const CUtensorMap tm_sfa = map2d(CU_TENSOR_MAP_DATA_TYPE_FLOAT32, sfa, cs.rows, (uint64_t)(masked ? G : 1) * kb, sfa_pitch * 4,
                                     kc.block_m, 1, CU_TENSOR_MAP_SWIZZLE_NONE);
    const CUtensorMap tm_d = map2d(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, d, n, map_rows, (uint64_t)n * 2, kc.d_chunk_cols, 64,
                                   kc.d_swizzle == 128 ? CU_TENSOR_MAP_SWIZZLE_128B
                                                       : kc.d_swizzle == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_32B);
    unsigned m_arg = (unsigned)cs.rows, n_arg = n, k_arg = k, groups_arg = G, align_arg = 128;
    unsigned* status = nullptr;
    unsigned pitch = n;
    uint16_t* d_arg = d;
    const void* sfb_arg = sfb;
    const int* lay_arg = lay;
    void* args[] = {(void*)&tm_a, (void*)&tm_b, (void*)&tm_sfa, (void*)&tm_d, (void*)&sfb_arg, &m_arg, &n_arg, &k_arg, &status,
                    (void*)&lay_arg, &groups_arg, &align_arg, (void*)&d_arg, &pitch};
    long tiles = masked ? (long)G * ((cs.rows + kc.block_m - 1) / kc.block_m) * ((n + kc.block_n - 1) / kc.block_n)
                        : (map_rows + kc.block_m - 1) / kc.block_m * ((n + kc.block_n - 1) / kc.block_n);
    // A cluster's CTAs take tiles 2p and 2p + 1, so a clustered grid is even (the kernel pairs any tile count).
    const unsigned grid = kc.cluster > 1 ? (unsigned)std::max<long>(2, std::min<long>((tiles + 1) / 2 * 2, g_sms / 2 * 2))
                                         : (unsigned)std::min<long>(tiles, g_sms);
    CK(cudaFuncSetAttribute(kc.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, kc.smem));
    auto launch = [&] {
        cudaLaunchConfig_t cfg = {};
        cfg.gridDim = dim3(grid);
        cfg.blockDim = dim3(kc.threads);
        cfg.dynamicSmemBytes = kc.smem;
        cudaLaunchAttribute attr[1];
        attr[0].id = cudaLaunchAttributeClusterDimension;
        attr[0].val.clusterDim.x = kc.cluster;
        attr[0].val.clusterDim.y = 1;
        attr[0].val.clusterDim.z = 1;
        cfg.attrs = attr;
        cfg.numAttrs = 1;
        CK(cudaLaunchKernelExC(&cfg, kc.fn, args));
    };
    launch();
    CK(cudaDeviceSynchronize());

    // Sampled owned rows: every owned row of an edge case, else ~48 spread over all experts incl. segment ends.
    std::vector<int> rows, groups, sfa_rows, sfa_col0;
    long owned_total = 0;
    for (long r = 0; r < map_rows; ++r) owned_total += owner[r];
    const long step = cs.edge ? 1 : std::max<long>(1, owned_total / 48);
    long seen = 0;
    for (long r = 0; r < map_rows; ++r) {
        if (!owner[r]) continue;
        const bool last = r + 1 == map_rows || !owner[r + 1] || row_group[r + 1] != row_group[r];
        if (seen++ % step == 0 || last) {
            rows.push_back((int)r);
            groups.push_back(row_group[r]);
            sfa_rows.push_back(masked ? (int)(r % cs.rows) : (int)r);
            sfa_col0.push_back(masked ? (int)(r / cs.rows) * kb : 0);
        }
    }
    int *rows_d, *groups_d, *sr_d, *sc_d;
    double *ref, *sums;
    unsigned long long* counts;
    const int S = (int)rows.size();
    CK(cudaMalloc(&rows_d, S * 4));
    CK(cudaMalloc(&groups_d, S * 4));
    CK(cudaMalloc(&sr_d, S * 4));
    CK(cudaMalloc(&sc_d, S * 4));
    CK(cudaMalloc(&ref, (size_t)S * n * 8));
    CK(cudaMalloc(&sums, 24));
    CK(cudaMalloc(&counts, 24));
    CK(cudaMemset(sums, 0, 24));
    CK(cudaMemset(counts, 0, 24));
    CK(cudaMemcpy(rows_d, rows.data(), S * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(groups_d, groups.data(), S * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(sr_d, sfa_rows.data(), S * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(sc_d, sfa_col0.data(), S * 4, cudaMemcpyHostToDevice));
    double diff = 0;
    if (S > 0) {
        reference<<<dim3((n + 127) / 128, S), 128>>>(a, sfa, b, sfb, rows_d, groups_d, sr_d, sc_d, ref, n, k, sfa_pitch);
        compare<<<dim3((n + 127) / 128, S), 128>>>(d, ref, rows_d, n, sums);
    }
    scan_rows<<<2048, 256>>>(d, own_d, map_rows, n, counts);
    CK(cudaDeviceSynchronize());
    double hs[3];
    unsigned long long hc[3];
    CK(cudaMemcpy(hs, sums, 24, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hc, counts, 24, cudaMemcpyDeviceToHost));
    diff = S > 0 ? 1.0 - 2.0 * hs[0] / (hs[1] + hs[2]) : 0.0;
    bool ok = diff < 1e-5 && hc[0] == 0 && hc[1] == 0 && std::isfinite(diff);
    CK(cudaMemcpy(d_ref, d, d_count * 2, cudaMemcpyDeviceToDevice));

    // Timing.
    double median = 0;
    if (reps > 0) {
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        std::vector<float> t;
        for (int i = 0; i < reps + 2; ++i) {
            CK(cudaMemsetAsync(g_flush, i & 0xFF, 256u << 20));
            CK(cudaEventRecord(e0));
            launch();
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (i >= 2) t.push_back(ms * 1000.0f);
        }
        std::sort(t.begin(), t.end());
        median = t[t.size() / 2];
        CK(cudaEventDestroy(e0));
        CK(cudaEventDestroy(e1));
    }
    // 20 reruns, bitwise equal to the checked output.
    for (int i = 0; i < 20; ++i) launch();
    CK(cudaMemset(counts + 2, 0, 8));
    diff_count<<<1024, 256>>>(d, d_ref, d_count, counts + 2);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(hc, counts, 24, cudaMemcpyDeviceToHost));
    ok = ok && hc[2] == 0;

    long real_rows = 0;
    for (int s : cs.sizes) real_rows += masked ? std::min<long>(s, cs.rows) : s;
    const double tflops = median > 0 ? 2.0 * real_rows * n * k / (median * 1e-6) / 1e12 : 0;
    const bool picked = !cs.edge && kc.block_m == 128 && kc.cluster == 1 && kc.block_n == (k <= 4096 ? 256u : 192u);
    printf("%c %-44s %-16s grid %3u  diff %.2e  poison-in-owned %llu  written-unowned %llu  rerun-diffs %llu  %s",
           picked ? '*' : ' ', cs.label.c_str(), kc.name,
           grid, diff, hc[0], hc[1], hc[2], ok ? "OK " : "FAIL");
    if (median > 0) {
        printf("  %8.1f us %6.0f TFLOPS", median, tflops);
        if (cs.anchor_us > 0) printf("  DeepGEMM %6.0f us -> %.2fx", cs.anchor_us, cs.anchor_us / median);
    }
    printf("\n");
    fflush(stdout);
    (void)verbose;
    cudaFree(a), cudaFree(b), cudaFree(sfa), cudaFree(sfb), cudaFree(d), cudaFree(d_ref), cudaFree(lay), cudaFree(own_d);
    cudaFree(rows_d), cudaFree(groups_d), cudaFree(sr_d), cudaFree(sc_d), cudaFree(ref), cudaFree(sums), cudaFree(counts);
    return ok;
}

// Expert sizes: `groups` experts whose 128-aligned segments fill exactly `total` rows, each 0-127 rows short of its
// segment (deterministic), like DeepGEMM's benchmark which aligns each expert's random count.
static std::vector<int> contiguous_sizes(int groups, long total, uint64_t seed) {
    const long blocks = total / 128;
    std::vector<int> s(groups);
    for (int g = 0; g < groups; ++g) {
        const long bl = blocks / groups + (g < blocks % groups ? 1 : 0);
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        s[g] = (int)(bl * 128 - (long)((seed >> 33) % 128));
    }
    return s;
}
static std::vector<int> masked_sizes(int groups, int expected, uint64_t seed) {
    std::vector<int> s(groups);
    for (int g = 0; g < groups; ++g) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        s[g] = (int)(expected * (0.7 + 0.6 * ((seed >> 33) % 1000) / 1000.0));
    }
    return s;
}

int main(int argc, char** argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 10;
    const char* filter = argc > 2 ? argv[2] : nullptr;  // only cases whose label contains this
    CK(cudaDeviceGetAttribute(&g_sms, cudaDevAttrMultiProcessorCount, 0));
    CK(cudaMalloc(&g_flush, 256u << 20));
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("device %s, %d SMs; %zu kernel configurations; '*' marks the configuration Sm90GemmHeuristic picks\n", p.name,
           g_sms, configs().size());
    std::vector<Case> cases;
    // Edge cases (every owned row checked): experts with 0 and 1 rows, all-padding tiles, N not a multiple of BLOCK_N,
    // K not a multiple of 128; masked_m = 0, 1, M_max, and M_max not a multiple of BLOCK_M.
    for (unsigned type : {1u, 2u}) {
        Case c{type == 1 ? "edge contiguous index G=5 n=200 k=400" : "edge contiguous psum G=5 n=200 k=400", type, 5, 200, 400,
               {0, 1, 130, 300, 7}, 0, 0, true};
        long rows = 0;
        for (int s : c.sizes) rows += (s + 127) / 128 * 128;
        c.rows = rows + 256;  // two trailing all-padding tiles
        cases.push_back(c);
    }
    cases.push_back({"edge masked G=6 M_max=300 n=200 k=400", 3, 6, 200, 400, {0, 1, 300, 129, 64, 250}, 300, 0, true});
    cases.push_back({"edge masked all empty G=3 M_max=256", 3, 3, 256, 256, {0, 0, 0}, 256, 0, true});
    // Goal shapes (anchors.md: DeepGEMM 2.6.1 on the same H100, microseconds).
    struct Goal { int g; long m; int n, k; double idx_us, psum_us; };
    const Goal goals[] = {{4, 35456, 6144, 7168, 2182, 2183}, {4, 36096, 7168, 3072, 1151, 1158}, {4, 31104, 4096, 4096, 754, 755},
                          {4, 32896, 4096, 2048, 414, 416},   {8, 31232, 6144, 7168, 1950, 1941}, {8, 38272, 7168, 3072, 1223, 1222},
                          {8, 33280, 4096, 4096, 815, 812},   {8, 30976, 4096, 2048, 399, 396}};
    for (unsigned type : {1u, 2u})
        for (const Goal& g : goals) {
            char label[96];
            snprintf(label, sizeof label, "%s G=%d m=%ld n=%d k=%d", type == 1 ? "index" : "psum", g.g, g.m, g.n, g.k);
            cases.push_back({label, type, g.g, g.n, g.k, contiguous_sizes(g.g, g.m, 7 + g.g), g.m, type == 1 ? g.idx_us : g.psum_us, false});
        }
    struct MGoal { int g, expected, n, k; double us; };
    const MGoal mgoals[] = {{32, 192, 6144, 7168, 608}, {32, 192, 7168, 3072, 333}, {32, 192, 4096, 4096, 249}, {32, 192, 4096, 2048, 138},
                            {6, 1024, 6144, 7168, 410}, {6, 1024, 7168, 3072, 213}, {6, 1024, 4096, 4096, 157}, {6, 1024, 4096, 2048, 96}};
    for (const MGoal& g : mgoals) {
        char label[96];
        snprintf(label, sizeof label, "masked G=%d exp_m=%d n=%d k=%d", g.g, g.expected, g.n, g.k);
        cases.push_back({label, 3, g.g, g.n, g.k, masked_sizes(g.g, g.expected, 99 + g.g), 4096, g.us, false});
    }
    int failures = 0;
    for (const Case& c : cases) {
        if (filter != nullptr && c.label.find(filter) == std::string::npos) continue;
        for (auto& kc : configs()) {
            if (kc.type != c.type) continue;
            if (!run_case(c, kc, c.edge ? 0 : reps, false)) ++failures;
        }
    }
    printf("%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
