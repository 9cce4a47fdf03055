// Load-stream probe for the decode-shaped dense GEMMs (H100/H200, sm_90a): what bounds one CTA's TMA stream when
// there is no math at all.
//
// At M = 128, N = 576 / 2112, K = 7168 the 1D2D kernel's narrow tiles take ~260 ns per 128-deep K block whether they
// load 10 KB (64 x 16) or 12 KB (64 x 32) per block and whether the ring holds 4, 8 or 16 stages; its load stream alone
// (math warps releasing each stage untouched) is nearly the whole kernel time. This probe replays that stream, a
// producer thread and a consumer warp over a ring of stages with nothing else in the CTA, and varies one thing at a
// time: the operands loaded (A, B, A's scales), whether the CTAs of one M block share A (the real case) or each reads
// its own copy, where in K each CTA starts, one or two K blocks per TMA (a 3-D box), the number of CTAs and stages,
// and four waiting warps instead of one (a math warpgroup polls each full barrier with 128 threads).
// Output per case: kernel time (events, L2 flushed, median of 15), ns per K block, GB/s per CTA and over all CTAs.
//
// Build/run: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o tma_probe sm90_tma_stream_probe.cu && ./tma_probe

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CK(x)                                                                                   \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) {                                                                \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            std::exit(1);                                                                       \
        }                                                                                       \
    } while (0)

namespace {

constexpr unsigned kMaxStages = 32;
constexpr unsigned long long kTimeoutNs = 1000000000ull;  // a lost transaction byte count traps instead of hanging

struct Maps {
    CUtensorMap a, b, sfa;
};

struct Params {
    unsigned num_k_blocks;   // per CTA, in 128-deep blocks
    unsigned kb_per_stage;   // 1: 2-D boxes; 2: 3-D boxes of two K blocks
    unsigned rows_a, rows_b; // box rows; 0 leaves the operand out
    unsigned load_sfa;       // A's per-token scales, rows_a floats per K block
    unsigned m_blocks;       // CTAs of one N block column; CTA c takes m block c % m_blocks, n block c / m_blocks
    unsigned private_a;      // 1: A holds one copy per n block, so that no two CTAs read the same A bytes
    unsigned rotate_k;       // 1: CTA starts at K block (n block * 7) % num_k_blocks
    unsigned stages;
    unsigned stage_bytes;
    unsigned consumer_warps; // warps that wait on every full barrier (the kernel's math warpgroup: 4); each releases
};

__device__ __forceinline__ unsigned smem_u32(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ void wait_parity(unsigned bar, unsigned parity) {
    unsigned long long start = 0;
    for (unsigned spin = 0;; ++spin) {
        unsigned done;
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done) : "r"(bar), "r"(parity) : "memory");
        if (done) return;
        unsigned long long now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        if (spin == 0) start = now;
        else if (now - start > kTimeoutNs) asm volatile("trap;");
    }
}

__device__ __forceinline__ void load_2d(unsigned dst, const CUtensorMap* map, int c0, int c1, unsigned bar) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
                 ::"r"(dst), "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(bar) : "memory");
}

__device__ __forceinline__ void load_3d(unsigned dst, const CUtensorMap* map, int c0, int c1, int c2, unsigned bar) {
    asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];"
                 ::"r"(dst), "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar) : "memory");
}

// Warp 0 lane 0 produces; warps 1.. consume (all their threads wait for each stage, as a math warpgroup's do, and each
// warp's lane 0 releases it).
__global__ void __launch_bounds__(160) stream_kernel(const __grid_constant__ Maps maps, const Params p) {
    // Dynamic shared memory only (stages, then the barriers), so that its base is the 1024-byte aligned start the
    // 128-byte swizzle needs.
    extern __shared__ __align__(1024) unsigned char smem[];
    unsigned long long* full = reinterpret_cast<unsigned long long*>(smem + p.stages * p.stage_bytes);
    unsigned long long* empty = full + kMaxStages;
    const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (threadIdx.x == 0) {
        for (unsigned s = 0; s < p.stages; ++s) {
            asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_u32(&full[s])) : "memory");
            asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_u32(&empty[s])), "r"(p.consumer_warps) : "memory");
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<unsigned long long>(&maps.a)) : "memory");
        asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<unsigned long long>(&maps.b)) : "memory");
        asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<unsigned long long>(&maps.sfa)) : "memory");
    }
    __syncthreads();
    const unsigned m_block = blockIdx.x % p.m_blocks, n_block = blockIdx.x / p.m_blocks;
    const unsigned steps = p.num_k_blocks / p.kb_per_stage;
    const unsigned a_row0 = (p.private_a ? n_block * p.m_blocks : 0) * p.rows_a + m_block * p.rows_a;
    const unsigned first = p.rotate_k ? (n_block * 7) % steps : 0;
    const unsigned bytes_a = p.rows_a * 128 * p.kb_per_stage, bytes_b = p.rows_b * 128 * p.kb_per_stage;
    const unsigned tx = bytes_a + bytes_b + (p.load_sfa ? p.rows_a * 4 * p.kb_per_stage : 0);
    if (warp == 0 && lane == 0) {
        for (unsigned i = 0; i < steps; ++i) {
            const unsigned s = i % p.stages, parity = (i / p.stages) & 1;
            wait_parity(smem_u32(&empty[s]), parity ^ 1);
            const unsigned bar = smem_u32(&full[s]);
            asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(tx) : "memory");
            const unsigned step = (first + i) % steps;
            const unsigned dst = smem_u32(smem) + s * p.stage_bytes;
            if (p.kb_per_stage == 1) {
                const int k0 = static_cast<int>(step * 128);
                if (bytes_a) load_2d(dst, &maps.a, k0, static_cast<int>(a_row0), bar);
                if (bytes_b) load_2d(dst + bytes_a, &maps.b, k0, static_cast<int>(n_block * p.rows_b), bar);
                if (p.load_sfa) load_2d(dst + bytes_a + bytes_b, &maps.sfa, static_cast<int>(m_block * p.rows_a), static_cast<int>(step), bar);
            } else {
                const int kb0 = static_cast<int>(step * 2);
                if (bytes_a) load_3d(dst, &maps.a, 0, static_cast<int>(a_row0), kb0, bar);
                if (bytes_b) load_3d(dst + bytes_a, &maps.b, 0, static_cast<int>(n_block * p.rows_b), kb0, bar);
                if (p.load_sfa) load_2d(dst + bytes_a + bytes_b, &maps.sfa, static_cast<int>(m_block * p.rows_a), kb0, bar);
            }
        }
    } else if (warp >= 1) {
        for (unsigned i = 0; i < steps; ++i) {
            const unsigned s = i % p.stages, parity = (i / p.stages) & 1;
            wait_parity(smem_u32(&full[s]), parity);
            __syncwarp();
            if (lane == 0) asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_u32(&empty[s])) : "memory");
        }
    }
}

using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                                 const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                 CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiled encoder() {
    static EncodeTiled fn = [] {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q;
        CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        if (q != cudaDriverEntryPointSuccess || p == nullptr) {
            std::fprintf(stderr, "cuTensorMapEncodeTiled not found\n");
            std::exit(1);
        }
        return reinterpret_cast<EncodeTiled>(p);
    }();
    return fn;
}

// False (with a message) when the driver refuses the map: the case is skipped, the others still run.
bool encode(CUtensorMap* map, CUtensorMapDataType type, unsigned rank, void* base, const cuuint64_t* dims, const cuuint64_t* strides,
            const cuuint32_t* box, CUtensorMapSwizzle swizzle, const char* what) {
    const cuuint32_t unit[3] = {1, 1, 1};
    CUresult r = encoder()(map, type, rank, base, dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                           CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) std::printf("encoding the %s map failed: CUresult %d\n", what, static_cast<int>(r));
    return r == CUDA_SUCCESS;
}

// Row-major FP8 operand [rows, k] (K-major, as A and B are), boxes of box_rows x 128 bytes (x 2 K blocks in 3-D).
bool operand_map(CUtensorMap* map, void* base, unsigned rows, unsigned k, unsigned box_rows, unsigned kb_per_box) {
    if (kb_per_box == 1) {
        const cuuint64_t dims[2] = {k, rows}, strides[1] = {k};
        const cuuint32_t box[2] = {128, box_rows};
        return encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, base, dims, strides, box, CU_TENSOR_MAP_SWIZZLE_128B, "operand");
    }
    const cuuint64_t dims[3] = {128, rows, k / 128}, strides[2] = {k, 128};
    const cuuint32_t box[3] = {128, box_rows, kb_per_box};
    return encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 3, base, dims, strides, box, CU_TENSOR_MAP_SWIZZLE_128B, "operand 3-D");
}

struct Case {
    std::string name;
    unsigned m, n, k;        // the GEMM whose load stream this is
    unsigned rows_a, rows_b; // tile rows (0: operand left out)
    unsigned load_sfa, private_a, rotate_k, kb_per_stage, stages;
    unsigned ctas;           // 0: one per tile
    unsigned consumer_warps = 1;
};

// Device buffers sized for every case: A with room for a private copy per N block (private_a), K up to max_k.
struct Buffers {
    static constexpr unsigned max_a_rows = 128 * 72, max_n = 2112, max_k = 7168;
    void* a = nullptr;
    void* b = nullptr;
    void* sfa = nullptr;
    void* flush = nullptr;
};

constexpr size_t kFlushBytes = 256ull << 20;

void run_case(const Case& c, Buffers& buf, cudaEvent_t e0, cudaEvent_t e1) {
    const unsigned m_blocks = c.rows_a ? (c.m + c.rows_a - 1) / c.rows_a : c.m / 64;
    const unsigned tile_rows_b = c.rows_b ? c.rows_b : 32;
    const unsigned n_blocks = (c.n + tile_rows_b - 1) / tile_rows_b;
    const unsigned tiles = m_blocks * n_blocks;
    const unsigned ctas = c.ctas ? std::min(c.ctas, tiles) : tiles;
    const unsigned a_rows = c.private_a ? c.m * n_blocks : c.m;
    Maps maps{};
    const unsigned ra = c.rows_a ? c.rows_a : 64, rb = tile_rows_b;
    if (a_rows > Buffers::max_a_rows || c.n > Buffers::max_n || c.k > Buffers::max_k) {
        std::printf("%-28s skipped: larger than the buffers\n", c.name.c_str());
        return;
    }
    const cuuint64_t sfa_dims[2] = {c.m, c.k / 128}, sfa_strides[1] = {static_cast<cuuint64_t>(c.m) * 4};
    const cuuint32_t sfa_box[2] = {ra, c.kb_per_stage};
    if (!operand_map(&maps.a, buf.a, a_rows, c.k, ra, c.kb_per_stage) || !operand_map(&maps.b, buf.b, c.n, c.k, rb, c.kb_per_stage) ||
        !encode(&maps.sfa, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, buf.sfa, sfa_dims, sfa_strides, sfa_box, CU_TENSOR_MAP_SWIZZLE_NONE, "sfa")) {
        std::printf("%-28s skipped\n", c.name.c_str());
        return;
    }
    Params p{};
    p.num_k_blocks = c.k / 128;
    p.kb_per_stage = c.kb_per_stage;
    p.rows_a = c.rows_a;
    p.rows_b = c.rows_b;
    p.load_sfa = c.load_sfa && c.rows_a;
    p.m_blocks = m_blocks;
    p.private_a = c.private_a;
    p.rotate_k = c.rotate_k;
    p.stages = c.stages;
    p.consumer_warps = c.consumer_warps;
    p.stage_bytes = ((c.rows_a + c.rows_b) * 128 * c.kb_per_stage + ra * 4 * c.kb_per_stage + 1023) / 1024 * 1024;
    const size_t smem = static_cast<size_t>(p.stage_bytes) * p.stages + 2 * kMaxStages * 8;
    if (smem > 227 * 1024 || p.stages > kMaxStages) {
        std::printf("%-28s skipped: %zu B of shared memory\n", c.name.c_str(), smem);
        return;
    }
    CK(cudaFuncSetAttribute(stream_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    std::vector<float> times;
    for (int rep = 0; rep < 18; ++rep) {
        CK(cudaMemsetAsync(buf.flush, rep, kFlushBytes));
        CK(cudaEventRecord(e0));
        stream_kernel<<<ctas, 32 * (1 + p.consumer_warps), smem>>>(maps, p);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaGetLastError());
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        if (rep >= 3) times.push_back(ms * 1000.0f);
    }
    std::sort(times.begin(), times.end());
    const double us = times[times.size() / 2];
    const double per_kb_bytes = (c.rows_a + c.rows_b) * 128.0 + (p.load_sfa ? ra * 4.0 : 0.0);
    const double cta_bytes = per_kb_bytes * p.num_k_blocks;
    std::printf("%-28s M=%-4u N=%-5u K=%-5u tile %3ux%-3u ctas %3u stages %2u kb/stage %u | %7.2f us %6.1f ns/kb %6.1f GB/s/CTA %7.0f GB/s all\n",
                c.name.c_str(), c.m, c.n, c.k, c.rows_a, c.rows_b, ctas, c.stages, c.kb_per_stage, us, us * 1000.0 / p.num_k_blocks,
                cta_bytes / us / 1000.0, cta_bytes * ctas / us / 1000.0);
    std::fflush(stdout);
}

}  // namespace

int main() {
    cudaDeviceProp prop{};
    CK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device %s, %d SMs\n", prop.name, prop.multiProcessorCount);
    Buffers buf;
    const size_t a_bytes = static_cast<size_t>(Buffers::max_a_rows) * Buffers::max_k;
    const size_t b_bytes = static_cast<size_t>(Buffers::max_n) * Buffers::max_k;
    const size_t sfa_bytes = static_cast<size_t>(Buffers::max_a_rows) * (Buffers::max_k / 128) * 4;
    CK(cudaMalloc(&buf.a, a_bytes));
    CK(cudaMalloc(&buf.b, b_bytes));
    CK(cudaMalloc(&buf.sfa, sfa_bytes));
    CK(cudaMalloc(&buf.flush, kFlushBytes));
    CK(cudaMemset(buf.a, 0x38, a_bytes));
    CK(cudaMemset(buf.b, 0x38, b_bytes));
    CK(cudaMemset(buf.sfa, 0, sfa_bytes));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    // name, M, N, K, rows_a, rows_b, sfa, private A, rotate K, K blocks per stage, stages, CTAs (0: per tile),
    // consumer warps (default 1)
    const std::vector<Case> cases = {
        {"gemm_64x32", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 8, 0},
        {"gemm_64x32_s16", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 16, 0},
        {"gemm_64x32_s4", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 4, 0},
        {"gemm_64x16", 128, 576, 7168, 64, 16, 1, 0, 0, 1, 8, 0},
        {"gemm_64x32_4waiters", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 8, 0, 4},
        {"gemm_64x16_4waiters", 128, 576, 7168, 64, 16, 1, 0, 0, 1, 8, 0, 4},
        {"no_sfa_64x32", 128, 576, 7168, 64, 32, 0, 0, 0, 1, 8, 0},
        {"b_only_x32", 128, 576, 7168, 0, 32, 0, 0, 0, 1, 8, 0},
        {"a_only_64", 128, 576, 7168, 64, 0, 0, 0, 0, 1, 8, 0},
        {"private_a_64x32", 128, 576, 7168, 64, 32, 1, 1, 0, 1, 8, 0},
        {"rotate_k_64x32", 128, 576, 7168, 64, 32, 1, 0, 1, 1, 8, 0},
        {"one_cta_64x32", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 8, 1},
        {"one_cta_64x32_s16", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 16, 1},
        {"two_ctas_64x32", 128, 576, 7168, 64, 32, 1, 0, 0, 1, 8, 2},
        {"gemm_64x32_n2112", 128, 2112, 7168, 64, 32, 1, 0, 0, 1, 8, 0},
        {"private_a_64x32_n2112", 128, 2112, 7168, 64, 32, 1, 1, 0, 1, 8, 0},
        {"gemm_128x32_n2112", 128, 2112, 7168, 128, 32, 1, 0, 0, 1, 8, 0},
        {"b_only_x32_n2112", 128, 2112, 7168, 0, 32, 0, 0, 0, 1, 8, 0},
        // Last: a 3-D map the driver might refuse (skipped) or a box that might trap (ends the run).
        {"kb2_64x32", 128, 576, 7168, 64, 32, 1, 0, 0, 2, 8, 0},
    };
    for (const Case& c : cases) run_case(c, buf, e0, e1);
    return 0;
}
