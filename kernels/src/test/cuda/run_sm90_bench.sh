#!/usr/bin/env bash
# Builds and runs the sm_90a FP8 GEMM harness (sm90_gemm_bench.cu beside this script) on a Hopper GPU host.
# Usage, from anywhere: bash kernels/src/test/cuda/run_sm90_bench.sh [harness args: --quick --no-cublas --reps N
#                       --configs 128x128,64x256]
# With OUT set, writes $OUT/sm90_bench.txt (results), $OUT/sm90_build.txt (nvcc + ptxas -v log) and
# $OUT/sm90_sass.txt (per-kernel SASS instruction counts). Environment: NVCC, CUDA_HOME, BENCH_TIMEOUT (s).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BENCH_BUILD_DIR:-$(mktemp -d /tmp/sm90_bench.XXXXXX)}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$NVCC")")")}
OUT_DIR=${OUT:-$BUILD}
mkdir -p "$OUT_DIR"
BUILD_LOG=$OUT_DIR/sm90_build.txt
: > "$BUILD_LOG"
say() { echo "$*" | tee -a "$BUILD_LOG"; }

# cuBLASLt (optional): the toolkit's, else the one pip installed next to PyTorch.
cublaslt_flags=()
find_cublaslt() {
    local roots=("$CUDA_HOME" /usr/local/cuda /usr)
    local py d
    for py in python3 /opt/torch/.venv/bin/python3; do
        if d=$("$py" -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null); then
            while read -r p; do [ -n "$p" ] && roots+=("$p"); done <<< "$d"
        fi
    done
    local root header inc lib
    for root in "${roots[@]}"; do
        [ -d "$root" ] || continue
        header=$(find "$root" -maxdepth 4 -name cublasLt.h 2>/dev/null | head -1)
        [ -n "$header" ] || continue
        inc=$(dirname "$header")
        lib=$(find "$(dirname "$inc")" -maxdepth 3 -name 'libcublasLt.so*' 2>/dev/null | sort | head -1)
        [ -n "$lib" ] || continue
        cublaslt_flags=(-DDG_WITH_CUBLASLT -I"$inc" -Xlinker "$lib" -Xlinker -rpath,"$(dirname "$lib")")
        say "cuBLASLt: header $header, library $lib"
        return 0
    done
    say "cuBLASLt: not found (baseline disabled)"
    return 1
}

# CUPTI (optional): kernel durations as the profiler reports them, the measure of DeepGEMM's figures.
cupti_flags=()
find_cupti() {
    local header lib root
    for root in "$CUDA_HOME" "$CUDA_HOME/extras/CUPTI" /usr/local/cuda /usr/local/cuda/extras/CUPTI; do
        [ -d "$root" ] || continue
        header=$(find "$root" -maxdepth 3 -name cupti.h 2>/dev/null | head -1)
        lib=$(find "$root" -maxdepth 4 -name 'libcupti.so*' 2>/dev/null | sort | head -1)
        if [ -n "$header" ] && [ -n "$lib" ]; then
            cupti_flags=(-DDG_WITH_CUPTI -I"$(dirname "$header")" -Xlinker "$lib" -Xlinker -rpath,"$(dirname "$lib")")
            say "CUPTI: header $header, library $lib"
            return 0
        fi
    done
    say "CUPTI: not found (event times only)"
    return 1
}

say "nvcc: $NVCC ($("$NVCC" --version | tail -1))"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' | tee -a "$BUILD_LOG"
find_cublaslt
find_cupti

# Device code must be sm_90a (wgmma/setmaxnreg); the -gencode form avoids any plain sm_90 pass.
FLAGS=(-O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v)
build() {
    local start=$SECONDS
    "$NVCC" "${FLAGS[@]}" "$@" -o "$BUILD/sm90_gemm_bench" "$HERE/sm90_gemm_bench.cu" >> "$BUILD_LOG" 2>&1
    local rc=$?
    say "build ($*): exit $rc in $((SECONDS - start)) s"
    return $rc
}
if ! build "${cublaslt_flags[@]}" "${cupti_flags[@]}"; then
    if [ ${#cublaslt_flags[@]} -gt 0 ]; then
        say "retrying without cuBLASLt"
        build "${cupti_flags[@]}" || { say "build failed: see $BUILD_LOG"; exit 1; }
    else
        say "build failed: see $BUILD_LOG"
        exit 1
    fi
fi
# (Each summary is read from the log into a variable before being appended to that same log.)
ptxas_summary=$(awk '/Compiling entry function/ {match($0, /\x27[^\x27]*\x27/); fn=substr($0, RSTART+1, RLENGTH-2)}
     /spill stores/ {spill=$0; sub(/^.*frame, /, "", spill)}
     /Used [0-9]+ registers/ {match($0, /Used [0-9]+ registers/); print "  " fn ": " substr($0, RSTART, RLENGTH) ", " spill}' \
    "$BUILD_LOG" | grep sm90_fp8)
ptxas_warnings=$(grep -E 'C75[0-9]{2}|arning' "$BUILD_LOG" | sed 's/^/  ptxas: /')
say "ptxas summary (kernel: registers at entry, spills):"
say "$ptxas_summary"
say "${ptxas_warnings:-  no ptxas warnings (no C7512 wgmma serialization, no C7508 setmaxnreg issue)}"

# SASS sanity: QGMMA (FP8 wgmma), TMA load/store, stmatrix, setmaxnreg present; no local memory (LDL/STL).
CUOBJDUMP=$(command -v cuobjdump || echo "$CUDA_HOME/bin/cuobjdump")
if [ -x "$CUOBJDUMP" ]; then
    "$CUOBJDUMP" -sass "$BUILD/sm90_gemm_bench" 2>/dev/null | awk '
        /Function :/ {fn=$3}
        fn ~ /sm90_fp8/ {
            if (/QGMMA/) q[fn]++; if (/UTMALDG/) l[fn]++; if (/UTMASTG/) s[fn]++; if (/STSM/) m[fn]++;
            if (/USETMAXREG/) r[fn]++; if (/[^A-Z]LDL|[^A-Z]STL/) loc[fn]++; if (/HMMA/) h[fn]++; seen[fn]=1 }
        END { for (f in seen) printf "  %-32s QGMMA %3d UTMALDG %2d UTMASTG %2d STSM %3d USETMAXREG %d LDL/STL %d HMMA %d\n",
                                     f, q[f], l[f], s[f], m[f], r[f], loc[f], h[f] }' | sort > "$OUT_DIR/sm90_sass.txt"
    say "SASS summary:"
    tee -a "$BUILD_LOG" < "$OUT_DIR/sm90_sass.txt"
else
    say "cuobjdump not found: no SASS summary"
fi

# NVRTC: the kernel must compile with no include path at all; prints the cold compile time per configuration.
KERNEL_SRC=$(cd "$HERE/../../main/cuda" && pwd)/sm90_fp8_gemm_1d2d.cu
say "NVRTC compile of $KERNEL_SRC (no include paths):"
CUDA_HOME="$CUDA_HOME" timeout 120 python3 - "$KERNEL_SRC" <<'PY' 2>&1 | tee -a "$BUILD_LOG"
import ctypes, glob, os, sys, time
libs = glob.glob(os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "lib64", "libnvrtc.so*"))
try:
    import nvidia
    for p in nvidia.__path__:
        libs += glob.glob(os.path.join(p, "*", "lib", "libnvrtc.so*"))
except ImportError:
    pass
libs = [l for l in sorted(libs) if "alt" not in os.path.basename(l)]
if not libs:
    print("  libnvrtc not found: skipped"); sys.exit(0)
lib_dir = os.path.dirname(libs[0])
for b in sorted(glob.glob(os.path.join(lib_dir, "libnvrtc-builtins.so*"))):
    if "alt" not in os.path.basename(b):
        ctypes.CDLL(b, mode=ctypes.RTLD_GLOBAL)  # so that libnvrtc finds its builtins without LD_LIBRARY_PATH
        break
nvrtc = ctypes.CDLL(libs[0])
import re
here = os.path.dirname(sys.argv[1])
# As jit/SourceAssembler does: inline the local headers, since NVRTC gets no include path.
src = re.sub(rb'#include "([^"]+)"', lambda mo: open(os.path.join(here, mo.group(1).decode()), "rb").read(), open(sys.argv[1], "rb").read())
print("  library", libs[0])
for bm, bn, cl in [(64, 64, 1), (64, 128, 1), (64, 256, 1), (128, 112, 1), (128, 128, 1), (128, 144, 1), (128, 160, 1),
                   (128, 192, 1), (128, 256, 1), (128, 128, 2), (128, 160, 2)]:
    prog = ctypes.c_void_p()
    nvrtc.nvrtcCreateProgram(ctypes.byref(prog), src, b"sm90_fp8_gemm_1d2d.cu", 0, None, None)
    opts = [b"--gpu-architecture=sm_90a", b"-std=c++17", b"--ptxas-options=-v", b"-DDG_BLOCK_M=%d" % bm, b"-DDG_BLOCK_N=%d" % bn,
            b"-DDG_CLUSTER_M=%d" % cl]
    t0 = time.time()
    rc = nvrtc.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    dt = (time.time() - t0) * 1e3
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(prog, log)
    text = log.value.decode(errors="replace")
    used = [l.split(":", 1)[1].strip() for l in text.splitlines() if "Used" in l and "registers" in l]
    spill = [l.split(".", 1)[1].strip() for l in text.splitlines() if "spill stores" in l][:1]
    print("  %3dx%-3d%s %s in %4.0f ms  %s  %s" % (bm, bn, "c2" if cl > 1 else "  ", "OK  " if rc == 0 else "FAIL", dt, used[:1], spill))
    if rc != 0:
        print(text)
    else:
        for l in text.splitlines():
            if "C75" in l or "arning" in l:  # e.g. C7512: wgmma serialized for lack of registers
                print("    " + l.strip())
    nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))
PY

# Run. The harness flushes each line, so a timeout still leaves the partial table.
timeout "${BENCH_TIMEOUT:-420}" "$BUILD/sm90_gemm_bench" --out "$OUT_DIR/sm90_bench.txt" "$@"
rc=$?
[ $rc -eq 124 ] && echo "harness stopped by the ${BENCH_TIMEOUT:-420} s timeout" | tee -a "$OUT_DIR/sm90_bench.txt"
echo "harness exit $rc; results in $OUT_DIR/sm90_bench.txt, build log in $BUILD_LOG"
exit $rc
