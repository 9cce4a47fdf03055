// Standalone correctness + speed harness for kernels/src/main/cuda/sm90_fp8_paged_mqa_logits.cu, driven by the
// scheduling metadata kernel (paged_mqa_metadata.cu) and followed by the paged clean pass
// (paged_mqa_logits_clean.cu).
//
// Per case: a fused paged cache of random FP8 values and scales (some negative), each sequence's blocks scattered
// over the cache by a shuffled block table, 2-D context lengths, FP32 weights; the output is poisoned with 0x7F
// bytes and has guard columns. Checked against a float64 reference of the quantised inputs (all rows, or sampled
// rows of the large cases): calc_diff over visible positions, exact −inf in [len, max_context_len), NaN where the
// table entry of a visible position is invalid, guards untouched, reruns and a CUDA-graph replay (metadata + logits
// + clean captured together) bitwise identical. Timing: CUDA events, 256 MB L2 flush before each call, median;
// TFLOPS counted as 2·(visible pairs)·H·D, bandwidth as the KV bytes of the visible blocks.
//
// Build/run: kernels/src/test/cuda/run_sm90_paged_mqa_bench.sh

#include <cuda.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#define DG_WATCHDOG_NS 500000000ull

#define DG_HEADS 64
#define DG_HEAD_DIM 128
#define DG_NEXT_N 1
#define DG_BLOCK_KV 64
#define DG_NAMESPACE pg_64_128_1_64
#define DG_KERNEL_NAME kpg_64_128_1_64
#include "sm90_fp8_paged_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_NEXT_N
#undef DG_BLOCK_KV
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#undef DG_PAGED_N
#define DG_HEADS 64
#define DG_HEAD_DIM 128
#define DG_NEXT_N 2
#define DG_BLOCK_KV 64
#define DG_NAMESPACE pg_64_128_2_64
#define DG_KERNEL_NAME kpg_64_128_2_64
#include "sm90_fp8_paged_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_NEXT_N
#undef DG_BLOCK_KV
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#undef DG_PAGED_N
#define DG_HEADS 32
#define DG_HEAD_DIM 64
#define DG_NEXT_N 2
#define DG_BLOCK_KV 32
#define DG_NAMESPACE pg_32_64_2_32
#define DG_KERNEL_NAME kpg_32_64_2_32
#include "sm90_fp8_paged_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_NEXT_N
#undef DG_BLOCK_KV
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#undef DG_PAGED_N
#define DG_HEADS 32
#define DG_HEAD_DIM 32
#define DG_NEXT_N 1
#define DG_BLOCK_KV 32
#define DG_NAMESPACE pg_32_32_1_32
#define DG_KERNEL_NAME kpg_32_32_1_32
#include "sm90_fp8_paged_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_NEXT_N
#undef DG_BLOCK_KV
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#undef DG_PAGED_N
#define DG_HEADS 64
#define DG_HEAD_DIM 64
#define DG_NEXT_N 2
#define DG_BLOCK_KV 64
#define DG_NAMESPACE pg_64_64_2_64
#define DG_KERNEL_NAME kpg_64_64_2_64
#include "sm90_fp8_paged_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_NEXT_N
#undef DG_BLOCK_KV
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_KERNEL_NAME paged_meta
#define DG_SPLIT_KV 256
#define DG_TOKENS_PER_ATOM 2
#define DG_EXTRA_FIRST 0
#define DG_METADATA_THREADS 512
#include "paged_mqa_metadata.cu"
#undef DG_KERNEL_NAME
#define DG_KERNEL_NAME paged_clean
#define DG_THREADS 256
#define DG_CHUNK_COLS 8192
#include "paged_mqa_logits_clean.cu"
#undef DG_KERNEL_NAME

using dg_sm90::TmaDesc;
using dg_sm90::u32;

#define CK(x)                                                                                                  \
    do {                                                                                                       \
        cudaError_t e_ = (x);                                                                                  \
        if (e_ != cudaSuccess) {                                                                               \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", #x, __FILE__, __LINE__, cudaGetErrorString(e_)); \
            exit(2);                                                                                           \
        }                                                                                                      \
    } while (0)

typedef void (*KernelFn)(const TmaDesc, const TmaDesc, const unsigned char*, long long, int, const float*, long long,
                         const int*, long long, const int*, long long, int, const int*, float*, long long, int, int,
                         u32*);

struct Config {
    const char* name;
    int heads, dim, next_n, block_kv, threads, smem;
    KernelFn fn;
};
#define DG_CONFIG(ns, k) {#k, ns::kHeads, ns::kDim, ns::kNextN, ns::kBlockKv, ns::kNumThreads, ns::kSmemBytes, k}
static const Config kConfigs[] = {DG_CONFIG(pg_64_128_1_64, kpg_64_128_1_64), DG_CONFIG(pg_64_128_2_64, kpg_64_128_2_64),
                                  DG_CONFIG(pg_32_64_2_32, kpg_32_64_2_32), DG_CONFIG(pg_32_32_1_32, kpg_32_32_1_32),
                                  DG_CONFIG(pg_64_64_2_64, kpg_64_64_2_64)};

using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                   const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                   CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static TmaDesc encode(int rank, const void* base, const cuuint64_t* dims, const cuuint64_t* strides,
                      const cuuint32_t* box, int dim) {
    static EncodeTiledFn fn = nullptr;
    if (!fn) {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q;
        CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        fn = reinterpret_cast<EncodeTiledFn>(p);
    }
    CUtensorMap map;
    const cuuint32_t elem[3] = {1, 1, 1};
    const CUtensorMapSwizzle sw = dim == 128 ? CU_TENSOR_MAP_SWIZZLE_128B
                                             : (dim == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_32B);
    CUresult r = fn(&map, CU_TENSOR_MAP_DATA_TYPE_UINT8, rank, const_cast<void*>(base), dims, strides, box, elem,
                    CU_TENSOR_MAP_INTERLEAVE_NONE, sw, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                    CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", (int) r);
        exit(2);
    }
    TmaDesc d;
    memcpy(&d, &map, sizeof d);
    return d;
}

struct Case {
    const char* label;
    int batch, avg_ctx;
    bool ragged;      // random per-token lengths incl. 0, 1 and block edges, and a few invalid table entries
    int sample_rows;  // 0: every row
    double anchor_tflops;
};

static float fp8_value(uint8_t b) {
    __nv_fp8_e4m3 v;
    v.__x = b;
    return (float) v;
}

static int g_fail = 0;

static void run_case(const Case& c, const Config& cfg, bool timed, int sms, void* flush) {
    std::mt19937_64 rng(77 + c.batch + c.avg_ctx + cfg.heads + cfg.dim + cfg.next_n + cfg.block_kv);
    std::normal_distribution<float> normal(0.f, 1.f);
    const int B = c.batch, N = cfg.next_n, H = cfg.heads, D = cfg.dim, BKV = cfg.block_kv;
    std::vector<int> lens((size_t) B * N);
    for (int b = 0; b < B; b++) {
        if (c.ragged) {
            const int special[] = {0, 1, 255, 256, 257, BKV, BKV + 1, 513, 1000};
            for (int t = 0; t < N; t++) {
                const int k = b * N + t;
                lens[k] = k < 9 ? special[k] : (int) (rng() % (2 * c.avg_ctx));
            }
        } else {
            std::uniform_real_distribution<double> u(0.7, 1.3);
            const int L = (int) (c.avg_ctx * u(rng));
            for (int t = 0; t < N; t++) lens[(size_t) b * N + t] = L - (N - 1 - t);  // draft tokens: causal
        }
    }
    int max_len = 0;
    for (int x : lens) max_len = std::max(max_len, x);
    const int max_ctx = std::max(1, max_len);  // the logits' columns
    const long long l_sr = ((max_ctx + 255) / 256) * 256 + 256;  // guard columns
    const int max_blocks = (max_ctx + BKV - 1) / BKV;
    // Blocks: each sequence's ceil(max_t len / BKV) blocks, scattered.
    std::vector<int> nblk(B);
    int num_blocks = 0;
    for (int b = 0; b < B; b++) {
        int L = 0;
        for (int t = 0; t < N; t++) L = std::max(L, lens[(size_t) b * N + t]);
        nblk[b] = (L + BKV - 1) / BKV;
        num_blocks += nblk[b];
    }
    num_blocks = std::max(num_blocks, 1);
    std::vector<int> perm(num_blocks);
    for (int i = 0; i < num_blocks; i++) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int> table((size_t) B * max_blocks, -1);
    int next = 0;
    for (int b = 0; b < B; b++)
        for (int x = 0; x < nblk[b]; x++) table[(size_t) b * max_blocks + x] = perm[next++];
    if (c.ragged) {  // a few corrupt entries in visible blocks: those positions must read as NaN
        for (int b = 3; b < B; b += 5)
            if (nblk[b] > 1) table[(size_t) b * max_blocks + 1] = (b % 2) ? -7 : num_blocks + 3;
    }
    const long long block_bytes = (long long) BKV * (D + 4);
    // Gigabytes of cache: random FP8 codes with bit 6 cleared (|x| < 2, never NaN) from a per-block hash, in parallel.
    std::vector<uint8_t> cache((size_t) num_blocks * block_bytes);
    const uint64_t seed = rng();
#pragma omp parallel for schedule(static)
    for (int x = 0; x < num_blocks; x++) {
        uint8_t* blk = cache.data() + (size_t) x * block_bytes;
        uint64_t h = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t) (x + 1));
        auto next = [&]() {
            h += 0x9E3779B97F4A7C15ull;
            uint64_t z = h;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            return z ^ (z >> 31);
        };
        for (int i = 0; i < BKV * D; i += 8) {
            const uint64_t z = next();
            for (int k = 0; k < 8; k++) blk[i + k] = (uint8_t) (z >> (8 * k)) & 0xBF;
        }
        float* sf = reinterpret_cast<float*>(blk + BKV * D);
        for (int i = 0; i < BKV; i++)
            sf[i] = (0.5f + (float) (next() >> 40) / (float) (1ull << 24)) * ((c.ragged && i % 7 == 3) ? -1.f : 1.f);
    }
    std::vector<uint8_t> q((size_t) B * N * H * D);
    for (auto& b : q) b = __nv_cvt_float_to_fp8(normal(rng), __NV_SATFINITE, __NV_E4M3);
    std::vector<float> w((size_t) B * N * H);
    for (auto& x : w) x = normal(rng);
    double pairs = 0, kv_bytes = 0;
    for (int b = 0; b < B; b++) {
        int L = 0;
        for (int t = 0; t < N; t++) {
            pairs += std::min(std::max(lens[(size_t) b * N + t], 0), max_ctx);
            L = std::max(L, lens[(size_t) b * N + t]);
        }
        kv_bytes += (double) L * (D + 4);
    }

    uint8_t *dq, *dcache;
    float *dw, *dl;
    int *dlens, *dtable, *dsched;
    u32* dstatus;
    const int rows = B * N, rows_alloc = rows + 4;
    CK(cudaMalloc(&dq, q.size()));
    CK(cudaMalloc(&dcache, cache.size()));
    CK(cudaMalloc(&dw, w.size() * 4));
    CK(cudaMalloc(&dlens, lens.size() * 4));
    CK(cudaMalloc(&dtable, table.size() * 4 + 4));
    CK(cudaMalloc(&dsched, (sms + 1) * 8));
    CK(cudaMalloc(&dl, (size_t) rows_alloc * l_sr * 4));
    CK(cudaMalloc(&dstatus, 16));
    CK(cudaMemset(dstatus, 0, 16));
    CK(cudaMemcpy(dq, q.data(), q.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dcache, cache.data(), cache.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dw, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dlens, lens.data(), lens.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dtable, table.data(), table.size() * 4, cudaMemcpyHostToDevice));
    const cuuint64_t qd[2] = {(cuuint64_t) D, (cuuint64_t) rows * H};
    const cuuint64_t qs[1] = {(cuuint64_t) D};
    const cuuint32_t qb[2] = {(cuuint32_t) D, (cuuint32_t) (N * H)};
    const TmaDesc tq = encode(2, dq, qd, qs, qb, D);
    const cuuint64_t kd[3] = {(cuuint64_t) D, (cuuint64_t) BKV, (cuuint64_t) num_blocks};
    const cuuint64_t ks[2] = {(cuuint64_t) D, (cuuint64_t) block_bytes};
    const cuuint32_t kb[3] = {(cuuint32_t) D, (cuuint32_t) BKV, 1};
    const TmaDesc tkv = encode(3, dcache, kd, ks, kb, D);
    CK(cudaFuncSetAttribute(cfg.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, cfg.smem));
    cudaStream_t stream;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    auto meta = [&]() { paged_meta<<<1, DG_METADATA_THREADS, 0, stream>>>(dlens, N, B, N, dsched, sms); };
    auto logits = [&]() {
        cfg.fn<<<sms, cfg.threads, cfg.smem, stream>>>(tq, tkv, dcache, block_bytes, num_blocks, dw, H, dlens, N,
                                                        dtable, max_blocks, max_blocks, dsched, dl, l_sr, B, max_ctx,
                                                        dstatus);
    };
    auto clean = [&]() {
        // MqaLogitsHeuristic.cleanGeometry: one warp per row and 8192-column unit, at most 1024 CTAs of 8 warps.
        const int ctas = (int) std::min<long long>(1024, ((long long) rows * ((max_ctx + 8191) / 8192) + 7) / 8);
        paged_clean<<<ctas, 256, 0, stream>>>(dlens, N, N, dl, l_sr, rows, max_ctx);
    };
    auto all = [&]() {
        meta();
        logits();
        clean();
    };
    const size_t out_bytes = (size_t) rows_alloc * l_sr * 4;
    CK(cudaMemsetAsync(dl, 0x7F, out_bytes, stream));
    all();
    cudaError_t err = cudaStreamSynchronize(stream);
    if (err != cudaSuccess) {
        u32 st[4] = {0, 0, 0, 0};
        cudaMemcpy(st, dstatus, 16, cudaMemcpyDeviceToHost);
        printf("FAIL %s %s: %s status %u %u %u %u\n", c.label, cfg.name, cudaGetErrorString(err), st[0], st[1], st[2],
               st[3]);
        exit(3);
    }
    std::vector<float> out(out_bytes / 4), again(out_bytes / 4);
    CK(cudaMemcpy(out.data(), dl, out_bytes, cudaMemcpyDeviceToHost));
    bool same = true;
    for (int rep = 0; rep < 2; rep++) {
        CK(cudaMemsetAsync(dl, 0x7F, out_bytes, stream));
        all();
        CK(cudaStreamSynchronize(stream));
        CK(cudaMemcpy(again.data(), dl, out_bytes, cudaMemcpyDeviceToHost));
        same = same && memcmp(again.data(), out.data(), out_bytes) == 0;
    }
    // Graph: metadata + logits + clean captured once, replayed twice on a re-poisoned buffer.
    bool graph_same = true;
    {
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
        all();
        CK(cudaStreamEndCapture(stream, &graph));
        CK(cudaGraphInstantiate(&exec, graph, 0));
        for (int rep = 0; rep < 2; rep++) {
            CK(cudaMemsetAsync(dl, 0x7F, out_bytes, stream));
            CK(cudaGraphLaunch(exec, stream));
            CK(cudaStreamSynchronize(stream));
            CK(cudaMemcpy(again.data(), dl, out_bytes, cudaMemcpyDeviceToHost));
            graph_same = graph_same && memcmp(again.data(), out.data(), out_bytes) == 0;
        }
        cudaGraphExecDestroy(exec);
        cudaGraphDestroy(graph);
    }

    std::vector<int> check_rows;
    if (c.sample_rows == 0) {
        for (int r = 0; r < rows; r++) check_rows.push_back(r);
    } else {
        for (int i = 0; i < c.sample_rows; i++) check_rows.push_back((int) ((long long) i * (rows - 1) / (c.sample_rows - 1)));
    }
    std::vector<double> sxy(check_rows.size()), sxx(check_rows.size());
    std::vector<long long> bad(check_rows.size());
    const uint32_t poison = 0x7F7F7F7Fu;
#pragma omp parallel for schedule(dynamic)
    for (int k = 0; k < (int) check_rows.size(); k++) {
        const int r = check_rows[k], b = r / N;
        const int len = std::min(std::max(lens[r], 0), max_ctx);
        std::vector<double> qf((size_t) H * D), kvf(D);
        for (int x = 0; x < H * D; x++) qf[x] = fp8_value(q[(size_t) r * H * D + x]);
        double a = 0, bb = 0;
        long long nbad = 0;
        for (long long p = 0; p < l_sr; p++) {
            const float g = out[(size_t) r * l_sr + p];
            uint32_t gb;
            memcpy(&gb, &g, 4);
            if (p >= max_ctx) {
                if (gb != poison) nbad++;
                continue;
            }
            if (p >= len) {
                if (!(std::isinf(g) && g < 0)) nbad++;
                continue;
            }
            const int x = (int) (p / BKV), slot = (int) (p % BKV);
            const int id = x < max_blocks ? table[(size_t) b * max_blocks + x] : -1;
            if (id < 0 || id >= num_blocks) {
                if (!std::isnan(g)) nbad++;
                continue;
            }
            const uint8_t* blk = cache.data() + (size_t) id * block_bytes;
            const float sf = reinterpret_cast<const float*>(blk + BKV * D)[slot];
            for (int d = 0; d < D; d++) kvf[d] = fp8_value(blk[(size_t) slot * D + d]);
            double ref = 0;
            for (int h = 0; h < H; h++) {
                double dot = 0;
                for (int d = 0; d < D; d++) dot += qf[(size_t) h * D + d] * kvf[d];
                const double score = dot * sf;
                if (score > 0) ref += w[(size_t) r * H + h] * score;
            }
            a += ref * g;
            bb += ref * ref + (double) g * g;
            if (!std::isfinite(g)) nbad++;
        }
        sxy[k] = a;
        sxx[k] = bb;
        bad[k] = nbad;
    }
    double a = 0, bb = 0;
    long long nbad = 0;
    for (size_t k = 0; k < check_rows.size(); k++) {
        a += sxy[k];
        bb += sxx[k];
        nbad += bad[k];
    }
    for (size_t i = (size_t) rows * l_sr; i < out.size(); i++) {
        uint32_t gb;
        memcpy(&gb, &out[i], 4);
        if (gb != poison) nbad++;
    }
    const double diff = bb > 0 ? 1 - 2 * a / bb : 0;
    const bool ok = diff < 1e-6 && nbad == 0 && same && graph_same;
    if (!ok) g_fail++;
    printf("%-4s %-34s %-18s calc_diff %.3e  mask/NaN/guard errors %lld  reruns %s  graph %s\n", ok ? "ok" : "FAIL",
           c.label, cfg.name, diff, nbad, same ? "bitwise-equal" : "DIFFER", graph_same ? "bitwise-equal" : "DIFFER");

    if (timed) {
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        auto time_it = [&](auto fn, int reps) {
            std::vector<float> t;
            for (int r = 0; r < reps + 2; r++) {
                CK(cudaMemsetAsync(flush, r, 256 << 20, stream));
                CK(cudaEventRecord(e0, stream));
                fn();
                CK(cudaEventRecord(e1, stream));
                CK(cudaEventSynchronize(e1));
                float ms;
                CK(cudaEventElapsedTime(&ms, e0, e1));
                if (r >= 2) t.push_back(ms * 1000.f);
            }
            std::sort(t.begin(), t.end());
            return (double) t[t.size() / 2];
        };
        const double us = time_it(logits, 15);
        const double us_meta = time_it(meta, 15);
        const double us_clean = time_it(clean, 15);
        const double tflops = 2.0 * pairs * H * D / us * 1e-6;
        printf("  time %-34s %-18s logits %7.1f us  %5.0f TFLOPS  %6.0f GB/s  ratio to DeepGEMM %.3f | metadata %5.1f us"
               " | clean %6.1f us\n",
               c.label, cfg.name, us, tflops, kv_bytes / us * 1e-3, c.anchor_tflops > 0 ? tflops / c.anchor_tflops : 0.0,
               us_meta, us_clean);
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
    }
    fflush(stdout);
    cudaStreamDestroy(stream);
    cudaFree(dq);
    cudaFree(dcache);
    cudaFree(dw);
    cudaFree(dlens);
    cudaFree(dtable);
    cudaFree(dsched);
    cudaFree(dl);
    cudaFree(dstatus);
}

int main(int argc, char** argv) {
    // --goal-only: skip the edge cases; --next-n N: only that next_n (both for profiling one kernel with ncu).
    bool goal_only = false;
    int only_next_n = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--goal-only")) goal_only = true;
        else if (!strcmp(argv[i], "--next-n") && i + 1 < argc) only_next_n = atoi(argv[++i]);
    }
    int sms = 0;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs\n", prop.name, sms);
    void* flush;
    CK(cudaMalloc(&flush, 256 << 20));
    for (const Config& cfg : kConfigs) {
        if (goal_only) break;
        const Case edge = {"ragged B=24 ctx<=2000", 24, 1000, true, 0, 0};
        run_case(edge, cfg, false, sms, flush);
        run_case(edge, cfg, false, 7, flush);  // set_num_sms(7): each CTA walks many units
        const Case small = {"B=3 ctx~300", 3, 300, false, 0, 0};
        run_case(small, cfg, false, sms, flush);
    }
    for (const Config& cfg : kConfigs) {
        if (cfg.heads != 64 || cfg.dim != 128 || cfg.block_kv != 64) continue;
        if (only_next_n != 0 && cfg.next_n != only_next_n) continue;
        const Case goal = {"B=256 ctx~65536", 256, 65536, false, 6, cfg.next_n == 1 ? 345.0 : 671.0};
        run_case(goal, cfg, true, sms, flush);
    }
    printf("%s (%d failures)\n", g_fail == 0 ? "ALL OK" : "FAILURES", g_fail);
    return g_fail == 0 ? 0 : 1;
}
