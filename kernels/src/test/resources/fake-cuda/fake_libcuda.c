/*
 * A fake CUDA driver for tests on machines without a GPU. Built at test time with
 *   gcc -shared -fPIC -I<cuda include> -Wl,-soname,<name> fake_libcuda.c
 * It includes the real cuda.h, so every definition below is checked against the real prototypes and the versioned
 * symbol names (cuMemAlloc -> cuMemAlloc_v2, ...) come from the header's own macros. Device memory is host memory, so
 * copies really move bytes; launches and tensor-map encodes record their arguments into exported arrays that the
 * tests read back (fake_launch_record, fake_launch_params, fake_tmap_record, their histories, fake_stats,
 * fake_memsets, fake_layout).
 */
#include <cuda.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- exported observation state */

/* [0] launches executed, [1] cuCtxSetCurrent calls, [2] live allocations, [3] live bytes, [4] cuFuncSetAttribute
 * calls, [5] cuGetProcAddress queries, [6] last queried cudaVersion, [7] last queried flags, [8] graph launches,
 * [9] module loads, [10] module unloads, [11] live streams, [12] live events, [13] stream-ordered frees,
 * [14] launches captured into graphs, [15] last MAX_DYNAMIC_SHARED_SIZE_BYTES set */
long long fake_stats[16];
/* cuMemsetD8/16/32 calls, synchronous and stream-ordered */
long long fake_memsets;
/* [0] 1=cuLaunchKernel 2=cuLaunchKernelEx, [1] function, [2..4] grid, [5..7] block, [8] shared mem, [9] stream,
 * [10] numAttrs, [11..13] cluster dims (0 without the attribute), [14] PDL value (-1 without), [15] extra != NULL,
 * [16] parameter bytes recorded, [17] current context at launch, [18] parameter count */
long long fake_launch_record[32];
unsigned char fake_launch_params[4096];
unsigned char fake_launch_config_raw[sizeof(CUlaunchConfig)];
unsigned char fake_launch_attrs_raw[4 * sizeof(CUlaunchAttribute)];
/* [0] data type, [1] rank, [2] global address, [3..7] dims, [8..11] strides, [12..16] box, [17..21] element
 * strides, [22] interleave, [23] swizzle, [24] L2 promotion, [25] OOB fill, [26] map address % 128, [27] calls */
long long fake_tmap_record[32];
/* The last FAKE_HISTORY launches (fake_launch_record as record_launch fills it, and the parameter bytes) and
 * tensor-map encodes (fake_tmap_record), in slots [count % FAKE_HISTORY] with the counts in fake_history_counts
 * ([0] launches, [1] encodes): tests look back past the last one. */
#define FAKE_HISTORY 16
long long fake_launch_history[FAKE_HISTORY][32];
unsigned char fake_launch_history_params[FAKE_HISTORY][4096];
long long fake_tmap_history[FAKE_HISTORY][32];
long long fake_history_counts[2];
/* release threshold of each device's default memory pool (cuMemPoolSetAttribute), -2 until set */
long long fake_pool_release_threshold[8] = {-2, -2, -2, -2, -2, -2, -2, -2};
/* offsets and sizes from the real cuda.h */
long long fake_layout[16] = {
    sizeof(CUlaunchConfig), offsetof(CUlaunchConfig, sharedMemBytes), offsetof(CUlaunchConfig, hStream),
    offsetof(CUlaunchConfig, attrs), offsetof(CUlaunchConfig, numAttrs), sizeof(CUlaunchAttribute),
    offsetof(CUlaunchAttribute, value), offsetof(CUlaunchAttribute, value.clusterDim.x),
    offsetof(CUlaunchAttribute, value.clusterDim.y), offsetof(CUlaunchAttribute, value.clusterDim.z),
    offsetof(CUlaunchAttribute, value.programmaticStreamSerializationAllowed), sizeof(CUtensorMap),
    _Alignof(CUtensorMap), CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION,
    CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES};

/* ---------------------------------------------------------------- devices and contexts */

struct CUctx_st { int device; };
static struct CUctx_st contexts[8];
static __thread CUcontext current;
static int device_count = -1;
static long long memory_limit;

static void configure(void) {
    if (device_count >= 0) return;
    const char *d = getenv("FAKE_CUDA_DEVICES");
    const char *m = getenv("FAKE_CUDA_MEMORY_MB");
    device_count = d ? atoi(d) : 1;
    memory_limit = (m ? atoll(m) : 64) << 20;
    for (int i = 0; i < 8; i++) contexts[i].device = i;
}

void fake_set_device_count(int n) { configure(); device_count = n; }

CUresult cuInit(unsigned int flags) {
    configure();
    return flags != 0 ? CUDA_ERROR_INVALID_VALUE : device_count == 0 ? CUDA_ERROR_NO_DEVICE : CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *v) { *v = 13000; return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int *n) { configure(); *n = device_count; return CUDA_SUCCESS; }

CUresult cuDeviceGet(CUdevice *dev, int ordinal) {
    if (ordinal < 0 || ordinal >= device_count) return CUDA_ERROR_INVALID_DEVICE;
    *dev = ordinal;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev) {
    strncpy(name, "NVIDIA Fake H100", len);
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice dev) {
    switch (a) {
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 232448; break;
        case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *v = 50 << 20; break;
        default: *v = 0;
    }
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev) { *bytes = (size_t) memory_limit; return CUDA_SUCCESS; }

/* The pool handle of device d is (CUmemoryPool) (d + 1). */
CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice dev) {
    if (dev < 0 || dev >= device_count) return CUDA_ERROR_INVALID_DEVICE;
    *pool = (CUmemoryPool) (size_t) (dev + 1);
    return CUDA_SUCCESS;
}

CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value) {
    size_t d = (size_t) pool - 1;
    if (d >= 8) return CUDA_ERROR_INVALID_VALUE;
    if (attr != CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) return CUDA_ERROR_NOT_SUPPORTED;
    fake_pool_release_threshold[d] = (long long) *(cuuint64_t *) value;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev) {
    if (dev < 0 || dev >= device_count) return CUDA_ERROR_INVALID_DEVICE;
    *ctx = &contexts[dev];
    return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *ctx) { *ctx = current; return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext ctx) { fake_stats[1]++; current = ctx; return CUDA_SUCCESS; }
CUresult cuCtxSynchronize(void) { return current ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }

/* ---------------------------------------------------------------- memory (host memory with a size header) */

static CUresult allocate(CUdeviceptr *p, size_t bytes) {
    if (!current) return CUDA_ERROR_INVALID_CONTEXT;
    if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    if (fake_stats[3] + (long long) bytes > memory_limit) return CUDA_ERROR_OUT_OF_MEMORY;
    size_t *block = malloc(bytes + 16);
    if (!block) return CUDA_ERROR_OUT_OF_MEMORY;
    block[0] = bytes;
    fake_stats[2]++;
    fake_stats[3] += bytes;
    *p = (CUdeviceptr) (block + 2);
    return CUDA_SUCCESS;
}

static CUresult release(CUdeviceptr p) {
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    size_t *block = (size_t *) p - 2;
    fake_stats[2]--;
    fake_stats[3] -= block[0];
    free(block);
    return CUDA_SUCCESS;
}

CUresult cuMemAlloc(CUdeviceptr *p, size_t bytes) { return allocate(p, bytes); }
CUresult cuMemFree(CUdeviceptr p) { return release(p); }
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t bytes, CUstream s) { return allocate(p, bytes); }
CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s) { fake_stats[13]++; return release(p); }

CUresult cuMemGetInfo(size_t *free_bytes, size_t *total) {
    *free_bytes = (size_t) (memory_limit - fake_stats[3]);
    *total = (size_t) memory_limit;
    return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD(CUdeviceptr d, const void *h, size_t n) { memcpy((void *) d, h, n); return CUDA_SUCCESS; }
CUresult cuMemcpyDtoH(void *h, CUdeviceptr d, size_t n) { memcpy(h, (void *) d, n); return CUDA_SUCCESS; }
CUresult cuMemcpyDtoD(CUdeviceptr d, CUdeviceptr s, size_t n) { memmove((void *) d, (void *) s, n); return CUDA_SUCCESS; }
CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t n, CUstream s) { return cuMemcpyHtoD(d, h, n); }
CUresult cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t n, CUstream s) { return cuMemcpyDtoH(h, d, n); }
CUresult cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr src, size_t n, CUstream s) { return cuMemcpyDtoD(d, src, n); }

CUresult cuMemsetD8(CUdeviceptr d, unsigned char v, size_t n) {
    fake_memsets++;
    memset((void *) d, v, n);
    return CUDA_SUCCESS;
}
CUresult cuMemsetD16(CUdeviceptr d, unsigned short v, size_t n) {
    fake_memsets++;
    for (size_t i = 0; i < n; i++) ((unsigned short *) d)[i] = v;
    return CUDA_SUCCESS;
}
CUresult cuMemsetD32(CUdeviceptr d, unsigned int v, size_t n) {
    fake_memsets++;
    for (size_t i = 0; i < n; i++) ((unsigned int *) d)[i] = v;
    return CUDA_SUCCESS;
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) { return cuMemsetD8(d, v, n); }
CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s) { return cuMemsetD16(d, v, n); }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) { return cuMemsetD32(d, v, n); }

/* ---------------------------------------------------------------- streams, events, graphs */

struct CUstream_st { int capturing; int captured; };
/* Live streams, so that a launch on a made-up handle (tests use arbitrary values) is recorded, not dereferenced. */
static CUstream streams[64];
static int is_stream(CUstream s) {
    for (int i = 0; s && i < 64; i++) if (streams[i] == s) return 1;
    return 0;
}
struct CUevent_st { double ms; };
struct CUgraph_st { int nodes; };
struct CUgraphExec_st { int nodes; };

CUresult cuStreamCreate(CUstream *s, unsigned int flags) {
    *s = calloc(1, sizeof(struct CUstream_st));
    for (int i = 0; i < 64; i++) if (!streams[i]) { streams[i] = *s; break; }
    fake_stats[11]++;
    return CUDA_SUCCESS;
}
CUresult cuStreamDestroy(CUstream s) {
    if (!is_stream(s)) return CUDA_ERROR_INVALID_HANDLE;
    for (int i = 0; i < 64; i++) if (streams[i] == s) streams[i] = NULL;
    free(s);
    fake_stats[11]--;
    return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream s) { return current ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) { return CUDA_SUCCESS; }

CUresult cuStreamBeginCapture(CUstream s, CUstreamCaptureMode mode) {
    if (!is_stream(s) || s->capturing || mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) return CUDA_ERROR_INVALID_VALUE;
    s->capturing = 1;
    s->captured = 0;
    return CUDA_SUCCESS;
}
CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *status) {
    *status = is_stream(s) && s->capturing ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
    return CUDA_SUCCESS;
}
CUresult cuStreamEndCapture(CUstream s, CUgraph *g) {
    if (!is_stream(s) || !s->capturing) return CUDA_ERROR_ILLEGAL_STATE;
    s->capturing = 0;
    *g = malloc(sizeof(struct CUgraph_st));
    (*g)->nodes = s->captured;
    return CUDA_SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(CUgraphExec *e, CUgraph g, unsigned long long flags) {
    *e = malloc(sizeof(struct CUgraphExec_st));
    (*e)->nodes = g->nodes;
    return CUDA_SUCCESS;
}
CUresult cuGraphLaunch(CUgraphExec e, CUstream s) { fake_stats[8]++; fake_stats[0] += e->nodes; return CUDA_SUCCESS; }
CUresult cuGraphExecDestroy(CUgraphExec e) { free(e); return CUDA_SUCCESS; }
CUresult cuGraphDestroy(CUgraph g) { free(g); return CUDA_SUCCESS; }

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
CUresult cuEventCreate(CUevent *e, unsigned int flags) {
    *e = calloc(1, sizeof(struct CUevent_st));
    fake_stats[12]++;
    return CUDA_SUCCESS;
}
CUresult cuEventRecord(CUevent e, CUstream s) { e->ms = now_ms(); return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent e) { return CUDA_SUCCESS; }
CUresult cuEventQuery(CUevent e) { return e->ms > 0 ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY; }
CUresult cuEventDestroy(CUevent e) { free(e); fake_stats[12]--; return CUDA_SUCCESS; }
CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b) { *ms = (float) (b->ms - a->ms); return CUDA_SUCCESS; }
/* JCuda 12.6 binds the pre-12.8 symbol, which cuda.h 13 no longer names. */
#undef cuEventElapsedTime
CUresult CUDAAPI cuEventElapsedTime(float *ms, CUevent a, CUevent b) { return cuEventElapsedTime_v2(ms, a, b); }

/* ---------------------------------------------------------------- modules and functions */

/* A fake image is text: "FAKECUBIN\n" then one "<name> <signature>" line per kernel, the signature one letter per
 * parameter: i int, f float, l long, p pointer, m 128-byte tensor map. */
struct CUmod_st { char *image; };
/* max_smem: the function's own opt-in (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), as the real driver keeps it. */
struct CUfunc_st { char name[128]; char sig[64]; int max_smem; };

CUresult cuModuleLoadData(CUmodule *m, const void *image) {
    if (strncmp(image, "FAKECUBIN\n", 10) != 0) return CUDA_ERROR_INVALID_IMAGE;
    *m = malloc(sizeof(struct CUmod_st));
    (*m)->image = strdup(image);
    fake_stats[9]++;
    return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) { free(m->image); free(m); fake_stats[10]++; return CUDA_SUCCESS; }

CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
    size_t n = strlen(name);
    for (char *line = strchr(m->image, '\n'); line; line = strchr(line, '\n')) {
        line++;
        if (strncmp(line, name, n) == 0 && line[n] == ' ') {
            *f = calloc(1, sizeof(struct CUfunc_st));
            strncpy((*f)->name, name, 127);
            sscanf(line + n + 1, "%63s", (*f)->sig);
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_NOT_FOUND;
}

/* For tests that launch without a module: a function handle with the given signature. */
CUfunction fake_make_function(const char *signature) {
    CUfunction f = calloc(1, sizeof(struct CUfunc_st));
    strncpy(f->sig, signature, 63);
    return f;
}

CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) {
    fake_stats[4]++;
    if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) {
        if (v > 232448) return CUDA_ERROR_INVALID_VALUE;
        f->max_smem = v;
        fake_stats[15] = v;
    }
    return CUDA_SUCCESS;
}
CUresult cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f) {
    *v = a == CU_FUNC_ATTRIBUTE_NUM_REGS ? 168 : a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 384 : 0;
    return CUDA_SUCCESS;
}

/* ---------------------------------------------------------------- launches */

static CUresult record_launch(int kind, CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
        unsigned by, unsigned bz, unsigned smem, CUstream s, void **params, void **extra) {
    if (!f) return CUDA_ERROR_INVALID_HANDLE;
    if (gx == 0xDEAD) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES; /* lets tests see a launch fail */
    if (smem > 48 * 1024 && smem > (unsigned) f->max_smem) return CUDA_ERROR_INVALID_VALUE;
    memset(fake_launch_record, 0, sizeof fake_launch_record);
    long long *r = fake_launch_record;
    r[0] = kind; r[1] = (long long) f; r[2] = gx; r[3] = gy; r[4] = gz; r[5] = bx; r[6] = by; r[7] = bz;
    r[8] = smem; r[9] = (long long) s; r[14] = -1; r[15] = extra != NULL; r[17] = (long long) current;
    size_t at = 0;
    int i = 0;
    for (const char *c = f->sig; *c; c++, i++) {
        size_t size = *c == 'm' ? 128 : (*c == 'l' || *c == 'p') ? 8 : 4;
        if (at + size > sizeof fake_launch_params) return CUDA_ERROR_INVALID_VALUE;
        memcpy(fake_launch_params + at, params[i], size);
        at += size;
    }
    r[16] = (long long) at;
    r[18] = i;
    int slot = (int) (fake_history_counts[0]++ % FAKE_HISTORY);
    memcpy(fake_launch_history[slot], fake_launch_record, sizeof fake_launch_record);
    memcpy(fake_launch_history_params[slot], fake_launch_params, at);
    if (is_stream(s) && s->capturing) {
        s->captured++;
        fake_stats[14]++;
    } else {
        fake_stats[0]++;
    }
    return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
        unsigned bz, unsigned smem, CUstream s, void **params, void **extra) {
    return record_launch(1, f, gx, gy, gz, bx, by, bz, smem, s, params, extra);
}

CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **params, void **extra) {
    CUresult res = record_launch(2, f, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
            c->blockDimZ, c->sharedMemBytes, c->hStream, params, extra);
    if (res != CUDA_SUCCESS) return res;
    memcpy(fake_launch_config_raw, c, sizeof *c);
    fake_launch_record[10] = c->numAttrs;
    for (unsigned i = 0; i < c->numAttrs && i < 4; i++) {
        const CUlaunchAttribute *a = &c->attrs[i];
        memcpy(fake_launch_attrs_raw + i * sizeof *a, a, sizeof *a);
        if (a->id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
            if (c->gridDimX % a->value.clusterDim.x || c->gridDimY % a->value.clusterDim.y
                    || c->gridDimZ % a->value.clusterDim.z) return CUDA_ERROR_INVALID_CLUSTER_SIZE;
            fake_launch_record[11] = a->value.clusterDim.x;
            fake_launch_record[12] = a->value.clusterDim.y;
            fake_launch_record[13] = a->value.clusterDim.z;
        } else if (a->id == CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION) {
            fake_launch_record[14] = a->value.programmaticStreamSerializationAllowed;
        }
    }
    return CUDA_SUCCESS;
}

/* ---------------------------------------------------------------- tensor maps */

static int element_size(CUtensorMapDataType t) {
    switch (t) {
        case CU_TENSOR_MAP_DATA_TYPE_UINT8: return 1;
        case CU_TENSOR_MAP_DATA_TYPE_UINT16: case CU_TENSOR_MAP_DATA_TYPE_FLOAT16:
        case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16: return 2;
        case CU_TENSOR_MAP_DATA_TYPE_UINT64: case CU_TENSOR_MAP_DATA_TYPE_INT64:
        case CU_TENSOR_MAP_DATA_TYPE_FLOAT64: return 8;
        default: return 4;
    }
}

CUresult cuTensorMapEncodeTiled(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank, void *address,
        const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box, const cuuint32_t *elementStrides,
        CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2,
        CUtensorMapFloatOOBfill oob) {
    long long *r = fake_tmap_record;
    memset(r, 0, sizeof fake_tmap_record - sizeof r[27]);
    r[27]++;
    r[0] = type; r[1] = rank; r[2] = (long long) address;
    for (cuuint32_t i = 0; i < rank && i < 5; i++) {
        r[3 + i] = (long long) dims[i];
        if (i + 1 < rank) r[8 + i] = (long long) strides[i];
        r[12 + i] = box[i];
        r[17 + i] = elementStrides[i];
    }
    r[22] = interleave; r[23] = swizzle; r[24] = l2; r[25] = oob; r[26] = (long long) ((size_t) map % 128);
    memcpy(fake_tmap_history[fake_history_counts[1]++ % FAKE_HISTORY], r, sizeof fake_tmap_record);
    if (rank < 1 || rank > 5 || (size_t) address % 16) return CUDA_ERROR_INVALID_VALUE;
    for (cuuint32_t i = 0; i < rank; i++) {
        if (box[i] < 1 || box[i] > 256 || elementStrides[i] < 1 || elementStrides[i] > 8) return CUDA_ERROR_INVALID_VALUE;
        if (i + 1 < rank && strides[i] % 16) return CUDA_ERROR_INVALID_VALUE;
    }
    int inner = (int) box[0] * element_size(type);
    if (swizzle == CU_TENSOR_MAP_SWIZZLE_128B && inner > 128) return CUDA_ERROR_INVALID_VALUE;
    memset(map, 0, sizeof *map);
    ((unsigned long long *) map)[0] = 0xFA4E7A9000000000ull | rank;
    ((unsigned long long *) map)[1] = (unsigned long long) address;
    for (int i = 2; i < 16; i++) ((unsigned long long *) map)[i] = 0x0101010101010101ull * (unsigned) i;
    return CUDA_SUCCESS;
}

/* ---------------------------------------------------------------- entry-point lookup */

#define ENTRY(name) {#name, (void *) name}
static const struct { const char *name; void *fn; } entries[] = {
    ENTRY(cuInit), ENTRY(cuDriverGetVersion), ENTRY(cuCtxGetCurrent), ENTRY(cuCtxSetCurrent),
    ENTRY(cuLaunchKernel), ENTRY(cuLaunchKernelEx), ENTRY(cuTensorMapEncodeTiled)};

CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
        CUdriverProcAddressQueryResult *status) {
    fake_stats[5]++;
    fake_stats[6] = cudaVersion;
    fake_stats[7] = (long long) flags;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        if (strcmp(entries[i].name, symbol) == 0) {
            *pfn = entries[i].fn;
            if (status) *status = CU_GET_PROC_ADDRESS_SUCCESS;
            return CUDA_SUCCESS;
        }
    }
    *pfn = NULL;
    if (status) *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}
