// Standalone correctness + speed harness for kernels/src/main/cuda/sm90_fp8_mqa_logits.cu (+ mqa_logits_clean.cu).
//
// Per case: random FP8 q/kv (normals cast to E4M3), random KV scales (some negative in the edge cases), random
// weights, ks/ke ranges; output buffer poisoned with 0x7F bytes and padded by guard rows/columns. Check against a
// float64 reference of the quantised inputs (all rows of small cases, sampled rows of large ones): calc_diff on
// visible positions, exact −inf elsewhere (clean on) or untouched poison (clean off / compressed), guards untouched,
// reruns bitwise identical. Timing: CUDA events, 256 MB L2 flush before each call, median; TFLOPS counted as
// 2·(visible pairs)·H·D, printed with the ratio to the DeepGEMM anchor on the same H100.
//
// Build/run: kernels/src/test/cuda/run_sm90_mqa_bench.sh

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
#include <string>
#include <vector>

#define DG_WATCHDOG_NS 500000000ull

#define DG_HEADS 64
#define DG_HEAD_DIM 128
#define DG_MATH_WGS 4
#define DG_Q_ROWS 128
#define DG_PINGPONG 0
#define DG_NAMESPACE c64_128_4_128
#define DG_KERNEL_NAME k64_128_4_128
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 64
#define DG_HEAD_DIM 128
#define DG_MATH_WGS 2
#define DG_Q_ROWS 128
#define DG_PINGPONG 1
#define DG_NAMESPACE c64_128_2_128_pp
#define DG_KERNEL_NAME k64_128_2_128_pp
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 64
#define DG_HEAD_DIM 128
#define DG_MATH_WGS 2
#define DG_Q_ROWS 256
#define DG_PINGPONG 0
#define DG_NAMESPACE c64_128_2_256
#define DG_KERNEL_NAME k64_128_2_256
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 32
#define DG_HEAD_DIM 128
#define DG_MATH_WGS 2
#define DG_Q_ROWS 128
#define DG_PINGPONG 1
#define DG_NAMESPACE c32_128_2_128_pp
#define DG_KERNEL_NAME k32_128_2_128_pp
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 64
#define DG_HEAD_DIM 64
#define DG_MATH_WGS 2
#define DG_Q_ROWS 128
#define DG_PINGPONG 1
#define DG_NAMESPACE c64_64_2_128_pp
#define DG_KERNEL_NAME k64_64_2_128_pp
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 32
#define DG_HEAD_DIM 32
#define DG_MATH_WGS 2
#define DG_Q_ROWS 128
#define DG_PINGPONG 1
#define DG_NAMESPACE c32_32_2_128_pp
#define DG_KERNEL_NAME k32_32_2_128_pp
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 64
#define DG_HEAD_DIM 32
#define DG_MATH_WGS 2
#define DG_Q_ROWS 256
#define DG_PINGPONG 0
#define DG_NAMESPACE c64_32_2_256
#define DG_KERNEL_NAME k64_32_2_256
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME

#define DG_HEADS 32
#define DG_HEAD_DIM 128
#define DG_MATH_WGS 4
#define DG_Q_ROWS 128
#define DG_PINGPONG 0
#define DG_NAMESPACE c32_128_4_128
#define DG_KERNEL_NAME k32_128_4_128
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 64
#define DG_HEAD_DIM 64
#define DG_MATH_WGS 4
#define DG_Q_ROWS 128
#define DG_PINGPONG 0
#define DG_NAMESPACE c64_64_4_128
#define DG_KERNEL_NAME k64_64_4_128
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 32
#define DG_HEAD_DIM 64
#define DG_MATH_WGS 4
#define DG_Q_ROWS 128
#define DG_PINGPONG 0
#define DG_NAMESPACE c32_64_4_128
#define DG_KERNEL_NAME k32_64_4_128
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 64
#define DG_HEAD_DIM 32
#define DG_MATH_WGS 4
#define DG_Q_ROWS 128
#define DG_PINGPONG 0
#define DG_NAMESPACE c64_32_4_128
#define DG_KERNEL_NAME k64_32_4_128
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_HEADS 32
#define DG_HEAD_DIM 32
#define DG_MATH_WGS 4
#define DG_Q_ROWS 128
#define DG_PINGPONG 0
#define DG_NAMESPACE c32_32_4_128
#define DG_KERNEL_NAME k32_32_4_128
#include "sm90_fp8_mqa_logits.cu"
#undef DG_HEADS
#undef DG_HEAD_DIM
#undef DG_MATH_WGS
#undef DG_Q_ROWS
#undef DG_PINGPONG
#undef DG_NAMESPACE
#undef DG_KERNEL_NAME
#define DG_KERNEL_NAME mqa_clean
#define DG_THREADS 256
#define DG_CHUNK_COLS 8192
#include "mqa_logits_clean.cu"

using dg_sm90::TmaDesc;
using dg_sm90::u32;

#define CK(x)                                                                                      \
    do {                                                                                           \
        cudaError_t e_ = (x);                                                                      \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", #x, __FILE__, __LINE__, cudaGetErrorString(e_)); \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

typedef void (*KernelFn)(const TmaDesc, const TmaDesc, const TmaDesc, int, const float*, long long, const int*,
                         const int*, float*, long long, int, int, int, int, u32*);

struct Config {
    const char* name;
    int heads, dim, q_rows, block_kv, sf_box_rows, threads, smem;
    KernelFn fn;
};
#define DG_CONFIG(ns, k) {#k, ns::kHeads, ns::kDim, ns::kQRows, ns::kBlockKv, ns::kSfBoxRows, ns::kNumThreads, ns::kSmemBytes, k}
static const Config kConfigs[] = {DG_CONFIG(c64_128_4_128, k64_128_4_128), DG_CONFIG(c64_128_2_128_pp, k64_128_2_128_pp), DG_CONFIG(c64_128_2_256, k64_128_2_256), DG_CONFIG(c32_128_2_128_pp, k32_128_2_128_pp), DG_CONFIG(c64_64_2_128_pp, k64_64_2_128_pp), DG_CONFIG(c32_32_2_128_pp, k32_32_2_128_pp), DG_CONFIG(c64_32_2_256, k64_32_2_256), DG_CONFIG(c32_128_4_128, k32_128_4_128), DG_CONFIG(c64_64_4_128, k64_64_4_128), DG_CONFIG(c32_64_4_128, k32_64_4_128), DG_CONFIG(c64_32_4_128, k64_32_4_128), DG_CONFIG(c32_32_4_128, k32_32_4_128)};

using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                                   const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                   CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static TmaDesc encode_2d(CUtensorMapDataType type, const void* base, uint64_t inner, uint64_t outer, uint64_t pitch,
                         uint32_t box_inner, uint32_t box_outer, CUtensorMapSwizzle sw) {
    static EncodeTiledFn fn = nullptr;
    if (!fn) {
        void* p = nullptr;
        cudaDriverEntryPointQueryResult q;
        CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
        fn = reinterpret_cast<EncodeTiledFn>(p);
    }
    CUtensorMap map;
    const cuuint64_t dims[2] = {inner, outer};
    const cuuint64_t strides[1] = {pitch};
    const cuuint32_t box[2] = {box_inner, box_outer};
    const cuuint32_t elem[2] = {1, 1};
    CUresult r = fn(&map, type, 2, const_cast<void*>(base), dims, strides, box, elem, CU_TENSOR_MAP_INTERLEAVE_NONE, sw,
                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", (int) r);
        exit(2);
    }
    TmaDesc d;
    memcpy(&d, &map, sizeof d);
    return d;
}

static TmaDesc fp8_map(const void* base, uint64_t dim, uint64_t rows, uint32_t box_rows) {
    const CUtensorMapSwizzle sw = dim == 128 ? CU_TENSOR_MAP_SWIZZLE_128B
                                             : (dim == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_32B);
    return encode_2d(CU_TENSOR_MAP_DATA_TYPE_UINT8, base, dim, rows, dim, (uint32_t) dim, box_rows, sw);
}

// The KV scales as the launcher maps them: rows of 4 from the 16-byte boundary at or below sf, *off elements early.
static TmaDesc sf_map(const float* sf, uint64_t s_kv, uint32_t box_rows, int* off) {
    *off = (int) ((reinterpret_cast<uintptr_t>(sf) % 16) / 4);
    return encode_2d(CU_TENSOR_MAP_DATA_TYPE_FLOAT32, sf - *off, 4, (s_kv + *off + 3) / 4, 16, 4, box_rows,
                     CU_TENSOR_MAP_SWIZZLE_NONE);
}

enum Ranges { NO_CP, CP, RAGGED };

struct Case {
    const char* label;
    int s, s_kv, heads, dim;
    Ranges ranges;
    bool clean;
    int max_seqlen_k;   // > 0: compressed
    int sample_rows;    // 0: check every row
    double anchor_tflops, anchor_us_clean;  // 0: no anchor
};

static float fp8_value(uint8_t b) {
    __nv_fp8_e4m3 v;
    v.__x = b;
    return (float) v;
}

static double g_fail = 0;

static void run_case(const Case& c, const Config& cfg, bool timed, int sms, void* flush) {
    std::mt19937_64 rng(1234 + c.s + c.s_kv + c.heads + c.dim + (int) c.ranges);
    std::normal_distribution<float> normal(0.f, 1.f);
    const int H = c.heads, D = c.dim, S = c.s, SK = c.s_kv;
    std::vector<uint8_t> q((size_t) S * H * D), kv((size_t) SK * D);
    for (auto& b : q) b = __nv_cvt_float_to_fp8(normal(rng), __NV_SATFINITE, __NV_E4M3);
    for (auto& b : kv) b = __nv_cvt_float_to_fp8(normal(rng), __NV_SATFINITE, __NV_E4M3);
    std::vector<float> sf(SK), w((size_t) S * H);
    std::uniform_real_distribution<float> uni(0.5f, 1.5f);
    for (int j = 0; j < SK; j++) sf[j] = uni(rng) * ((c.ranges == RAGGED && j % 7 == 3) ? -1.f : 1.f);
    for (auto& x : w) x = normal(rng);
    std::vector<int> ks(S), ke(S);
    for (int i = 0; i < S; i++) {
        if (c.ranges == NO_CP) {
            ks[i] = 0;
            ke[i] = SK - S + i;
        } else if (c.ranges == CP) {
            const int chunk = S / 2, cp_size = SK / S, cp_id = cp_size / 3;
            ks[i] = 0;
            ke[i] = i < chunk ? cp_id * chunk + i : (cp_size * 2 - 1 - cp_id) * chunk + (i - chunk);
        } else {
            const int kind = (int) (rng() % 6);
            int a = (int) (rng() % SK);
            int len = kind == 0 ? 0 : kind == 1 ? 1 : kind == 2 ? (int) (rng() % 300) : (int) (rng() % SK);
            if (kind == 3) a = 255 - (int) (rng() % 3);  // crossing a 256-row tile edge
            ks[i] = a;
            ke[i] = std::min(a + len, SK);
            if (c.max_seqlen_k > 0) ke[i] = std::min(ke[i], ks[i] + c.max_seqlen_k);
        }
    }
    const int cols = c.max_seqlen_k > 0 ? c.max_seqlen_k : SK;
    const long long l_ss = ((cols + 256 + 255) / 256) * 256;
    const int rows_alloc = S + 8;  // guard rows
    double pairs = 0;
    for (int i = 0; i < S; i++) pairs += std::max(0, std::min(ke[i], SK) - std::max(ks[i], 0));

    uint8_t *dq, *dkv;
    float *dsf_alloc, *dw, *dl;
    int *dks, *dke;
    u32* dstatus;
    CK(cudaMalloc(&dq, q.size()));
    CK(cudaMalloc(&dkv, kv.size()));
    CK(cudaMalloc(&dsf_alloc, (SK + 3) * 4));
    // Ragged cases read their scales 4 (compressed: 12) bytes past a 16-byte boundary (the map then starts 1 or 3
    // elements early).
    float* dsf = dsf_alloc + (c.ranges != RAGGED ? 0 : c.max_seqlen_k > 0 ? 3 : 1);
    CK(cudaMalloc(&dw, w.size() * 4));
    CK(cudaMalloc(&dks, S * 4));
    CK(cudaMalloc(&dke, S * 4));
    CK(cudaMalloc(&dl, (size_t) rows_alloc * l_ss * 4));
    CK(cudaMalloc(&dstatus, 16));
    CK(cudaMemset(dstatus, 0, 16));
    CK(cudaMemcpy(dq, q.data(), q.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dkv, kv.data(), kv.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dsf, sf.data(), SK * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dw, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dks, ks.data(), S * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dke, ke.data(), S * 4, cudaMemcpyHostToDevice));
    const TmaDesc tq = fp8_map(dq, D, (uint64_t) S * H, cfg.q_rows);
    const TmaDesc tkv = fp8_map(dkv, D, SK, cfg.block_kv);
    int sf_off = 0;
    const TmaDesc tsf = sf_map(dsf, SK, cfg.sf_box_rows, &sf_off);
    CK(cudaFuncSetAttribute(cfg.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, cfg.smem));
    const int num_qb = (S + cfg.q_rows / H - 1) / (cfg.q_rows / H);
    const int grid = std::min(sms, num_qb);
    auto launch = [&]() {
        cfg.fn<<<grid, cfg.threads, cfg.smem>>>(tq, tkv, tsf, sf_off, dw, H, dks, dke, dl, l_ss, S, SK, cols,
                                                c.max_seqlen_k > 0, dstatus);
    };
    // The Java heuristic's clean geometry (MqaLogitsHeuristic.cleanGeometry): one warp per row and 8192-column unit,
    // at most 1024 CTAs of 8 warps.
    const int clean_ctas = (int) std::min<long long>(1024, ((long long) S * ((cols + 8191) / 8192) + 7) / 8);
    auto launch_clean = [&]() { mqa_clean<<<clean_ctas, 256>>>(dks, dke, dl, l_ss, S, cols); };

    CK(cudaMemset(dl, 0x7F, (size_t) rows_alloc * l_ss * 4));
    launch();
    if (c.clean) launch_clean();
    cudaError_t err = cudaDeviceSynchronize();
    if (err != cudaSuccess) {
        u32 st[4] = {0, 0, 0, 0};
        cudaMemcpy(st, dstatus, 16, cudaMemcpyDeviceToHost);
        printf("FAIL %s %s: %s status %u %u %u %u\n", c.label, cfg.name, cudaGetErrorString(err), st[0], st[1], st[2], st[3]);
        exit(3);
    }
    std::vector<float> out((size_t) rows_alloc * l_ss);
    CK(cudaMemcpy(out.data(), dl, out.size() * 4, cudaMemcpyDeviceToHost));
    // Determinism: three reruns on a re-poisoned buffer are bitwise identical.
    bool same = true;
    std::vector<float> again(out.size());
    for (int rep = 0; rep < 3; rep++) {
        CK(cudaMemset(dl, 0x7F, (size_t) rows_alloc * l_ss * 4));
        launch();
        if (c.clean) launch_clean();
        CK(cudaMemcpy(again.data(), dl, again.size() * 4, cudaMemcpyDeviceToHost));
        same = same && memcmp(again.data(), out.data(), out.size() * 4) == 0;
    }

    // Reference (float64 of the quantised inputs) on all rows or sampled rows.
    std::vector<int> rows;
    if (c.sample_rows == 0) {
        for (int i = 0; i < S; i++) rows.push_back(i);
    } else {
        for (int r = 0; r < c.sample_rows; r++) rows.push_back((int) ((long long) r * (S - 1) / (c.sample_rows - 1)));
    }
    std::vector<float> kvf(kv.size());
    for (size_t x = 0; x < kv.size(); x++) kvf[x] = fp8_value(kv[x]);
    double sxy = 0, sxx = 0;
    long long bad_mask = 0, bad_guard = 0;
    const uint32_t poison = 0x7F7F7F7Fu;
    std::vector<double> sxy_r(rows.size()), sxx_r(rows.size());
    std::vector<long long> bm_r(rows.size());
#pragma omp parallel for schedule(dynamic)
    for (int r = 0; r < (int) rows.size(); r++) {
        const int i = rows[r];
        std::vector<double> qf((size_t) H * D);
        for (int x = 0; x < H * D; x++) qf[x] = fp8_value(q[(size_t) i * H * D + x]);
        const int lo = std::min(std::max(ks[i], 0), SK), hi = std::min(std::max(ke[i], lo), SK);
        double a = 0, b = 0;
        long long bm = 0;
        for (int col = 0; col < l_ss; col++) {
            const float g = out[(size_t) i * l_ss + col];
            uint32_t gb;
            memcpy(&gb, &g, 4);
            const int j = c.max_seqlen_k > 0 ? lo + col : col;
            const bool visible = col < cols && j >= lo && j < hi;
            if (!visible) {
                const bool want_inf = c.clean && col < cols;
                if (want_inf ? !(std::isinf(g) && g < 0) : gb != poison) bm++;
                continue;
            }
            double ref = 0;
            for (int h = 0; h < H; h++) {
                double dot = 0;
                for (int d = 0; d < D; d++) dot += qf[(size_t) h * D + d] * kvf[(size_t) j * D + d];
                const double score = dot * sf[j];
                if (score > 0) ref += w[(size_t) i * H + h] * score;
            }
            a += ref * g;
            b += ref * ref + (double) g * g;
            if (!std::isfinite(g)) bm++;
        }
        sxy_r[r] = a;
        sxx_r[r] = b;
        bm_r[r] = bm;
    }
    for (size_t r = 0; r < rows.size(); r++) {
        sxy += sxy_r[r];
        sxx += sxx_r[r];
        bad_mask += bm_r[r];
    }
    for (int i = S; i < rows_alloc; i++)
        for (long long col = 0; col < l_ss; col++) {
            uint32_t gb;
            memcpy(&gb, &out[(size_t) i * l_ss + col], 4);
            if (gb != poison) bad_guard++;
        }
    const double diff = sxx > 0 ? 1 - 2 * sxy / sxx : 0;
    const bool ok = diff < 1e-6 && bad_mask == 0 && bad_guard == 0 && same;
    if (!ok) g_fail++;
    printf("%-4s %-28s %-16s calc_diff %.3e  mask/poison errors %lld  guard errors %lld  reruns %s\n", ok ? "ok" : "FAIL",
           c.label, cfg.name, diff, bad_mask, bad_guard, same ? "bitwise-equal" : "DIFFER");

    if (timed) {
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        auto time_it = [&](auto fn, int reps) {
            std::vector<float> t;
            for (int r = 0; r < reps + 2; r++) {
                CK(cudaMemsetAsync(flush, r, 256 << 20));
                CK(cudaEventRecord(e0));
                fn();
                CK(cudaEventRecord(e1));
                CK(cudaEventSynchronize(e1));
                float ms;
                CK(cudaEventElapsedTime(&ms, e0, e1));
                if (r >= 2) t.push_back(ms * 1000.f);
            }
            std::sort(t.begin(), t.end());
            return (double) t[t.size() / 2];
        };
        const double us = time_it(launch, S >= 8192 ? 7 : 15);
        const double us_clean = c.clean ? time_it(launch_clean, 15) : 0;
        const double tflops = 2.0 * pairs * H * D / us * 1e-6;
        printf("  time %-28s %-16s logits %8.1f us  %6.0f TFLOPS  ratio to DeepGEMM %.3f | clean %6.1f us (DeepGEMM %.0f us)\n",
               c.label, cfg.name, us, tflops, c.anchor_tflops > 0 ? tflops / c.anchor_tflops : 0.0, us_clean,
               c.anchor_us_clean);
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
    }
    fflush(stdout);
    cudaFree(dq);
    cudaFree(dkv);
    cudaFree(dsf_alloc);
    cudaFree(dw);
    cudaFree(dks);
    cudaFree(dke);
    cudaFree(dl);
    cudaFree(dstatus);
}

int main(int argc, char** argv) {
    int sms = 0;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs\n", prop.name, sms);
    void* flush;
    CK(cudaMalloc(&flush, 256 << 20));
    const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    // Edge cases: every configuration, every row checked.
    for (const Config& cfg : kConfigs) {
        const Case edge[] = {
            {"ragged clean S=37 Skv=1000", 37, 1000, cfg.heads, cfg.dim, RAGGED, true, 0, 0, 0, 0},
            {"ragged compressed 300", 61, 777, cfg.heads, cfg.dim, RAGGED, false, 300, 0, 0, 0},
            {"nocp S=64 Skv=1024", 64, 1024, cfg.heads, cfg.dim, NO_CP, true, 0, 0, 0, 0},
        };
        for (const Case& c : edge) run_case(c, cfg, false, sms, flush);
    }
    // Goal shapes, H=64, D=128: sampled rows; timed for every H=64, D=128 configuration (the heuristic ships the
    // 4-warpgroup one; the others are measured against it).
    const Case goal[] = {
        {"FP32 S=2048 Skv=65536 noCP", 2048, 65536, 64, 128, NO_CP, true, 0, 12, 1142, 7},
        {"FP32 S=8192 Skv=65536 noCP", 8192, 65536, 64, 128, NO_CP, true, 0, 12, 1050, 72},
        {"FP32 S=8192 Skv=65536 CP", 8192, 65536, 64, 128, CP, true, 0, 12, 1139, 416},
    };
    for (const Config& cfg : kConfigs) {
        if (cfg.heads != 64 || cfg.dim != 128) continue;
        if (quick && cfg.threads != 640) continue;  // --quick: only the shipped 4-warpgroup kernel, every goal shape
        for (const Case& c : goal) {
            run_case(c, cfg, true, sms, flush);
        }
    }
    // Last (a tensor-map refusal exits): fewer q rows and KV rows than one TMA box.
    for (const Config& cfg : kConfigs) {
        const Case tiny = {"tiny S=1 Skv=5", 1, 5, cfg.heads, cfg.dim, RAGGED, true, 0, 0, 0, 0};
        run_case(tiny, cfg, false, sms, flush);
    }
    printf("%s (%g failures)\n", g_fail == 0 ? "ALL OK" : "FAILURES", g_fail);
    return g_fail == 0 ? 0 : 1;
}
