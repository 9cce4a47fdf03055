/*
 * A fake NVRTC for tests without a CUDA toolkit library: checks that the FFM binding marshals the source, the
 * option array and the output buffers. "Compiling" succeeds unless the source contains "#error"; the CUBIN is the
 * text "FAKECUBIN\n<kernel> <signature>\n" taken from a "// fake-signature: <kernel> <signature>" line of the source
 * (so the fake libcuda can load it), followed by "// options:" and the options; PTX exists only for compute_ targets,
 * the CUBIN only for sm_ targets (as with the real NVRTC). The log echoes the options and a ptxas-style report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvrtcResult;
typedef struct prog { char *src; char *log; char *cubin; char *ptx; } *nvrtcProgram;

enum { OK = 0, INVALID_INPUT = 3, INVALID_PROGRAM = 4, COMPILATION = 6 };

nvrtcResult nvrtcVersion(int *major, int *minor) { *major = 13; *minor = 0; return OK; }

const char *nvrtcGetErrorString(nvrtcResult r) {
    switch (r) {
        case OK: return "NVRTC_SUCCESS";
        case INVALID_INPUT: return "NVRTC_ERROR_INVALID_INPUT";
        case COMPILATION: return "NVRTC_ERROR_COMPILATION";
        default: return "NVRTC_ERROR_UNKNOWN";
    }
}

nvrtcResult nvrtcCreateProgram(nvrtcProgram *p, const char *src, const char *name, int numHeaders,
        const char *const *headers, const char *const *includeNames) {
    if (!src || numHeaders != 0) return INVALID_INPUT;
    *p = calloc(1, sizeof(struct prog));
    (*p)->src = strdup(src);
    return OK;
}

nvrtcResult nvrtcDestroyProgram(nvrtcProgram *p) {
    if (!p || !*p) return INVALID_PROGRAM;
    free((*p)->src); free((*p)->log); free((*p)->cubin); free((*p)->ptx); free(*p);
    *p = NULL;
    return OK;
}

nvrtcResult nvrtcCompileProgram(nvrtcProgram p, int numOptions, const char *const *options) {
    size_t optlen = 0;
    const char *arch = "";
    for (int i = 0; i < numOptions; i++) {
        optlen += strlen(options[i]) + 1;
        if (strncmp(options[i], "--gpu-architecture=", 19) == 0) arch = options[i] + 19;
    }
    char *opts = calloc(1, optlen + 1);
    for (int i = 0; i < numOptions; i++) { strcat(opts, options[i]); strcat(opts, "\n"); }
    p->log = malloc(optlen + 256);
    if (strstr(p->src, "#error")) {
        sprintf(p->log, "kernel.cu(1): error: fake compile error\n1 error detected\n");
        free(opts);
        return COMPILATION;
    }
    sprintf(p->log, "%sptxas info    : Function properties for k\n"
            "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
            "ptxas info    : Used 42 registers, used 1 barriers\n", opts);
    char sig[256] = "";
    const char *s = strstr(p->src, "// fake-signature: ");
    if (s) sscanf(s + 19, "%127[^\n]", sig);
    size_t n = strlen(sig) + optlen + 64;
    if (strncmp(arch, "sm_", 3) == 0) {
        p->cubin = malloc(n);
        sprintf(p->cubin, "FAKECUBIN\n%s\n// options:\n%s", sig, opts);
    } else {
        p->ptx = malloc(n);
        sprintf(p->ptx, "// fake ptx for %s\n", arch);
    }
    free(opts);
    return OK;
}

static nvrtcResult size_of(const char *s, size_t *n) { if (!s) return INVALID_INPUT; *n = strlen(s) + 1; return OK; }
static nvrtcResult copy_of(const char *s, char *out) { if (!s) return INVALID_INPUT; strcpy(out, s); return OK; }

nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram p, size_t *n) { return size_of(p->log ? p->log : "", n); }
nvrtcResult nvrtcGetProgramLog(nvrtcProgram p, char *out) { return copy_of(p->log ? p->log : "", out); }
nvrtcResult nvrtcGetCUBINSize(nvrtcProgram p, size_t *n) { return size_of(p->cubin, n); }
nvrtcResult nvrtcGetCUBIN(nvrtcProgram p, char *out) { return copy_of(p->cubin, out); }
nvrtcResult nvrtcGetPTXSize(nvrtcProgram p, size_t *n) { return size_of(p->ptx, n); }
nvrtcResult nvrtcGetPTX(nvrtcProgram p, char *out) { return copy_of(p->ptx, out); }
