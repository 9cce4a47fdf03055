#!/usr/bin/env bash
# Builds and runs the sm_90a 1D1D (weight-gradient) GEMM harness, sm90_gemm_1d1d_bench.cu beside this script, on a
# Hopper host. Each configuration runs in its own process (a trap loses only that one). Usage:
#   bash kernels/src/test/cuda/run_sm90_1d1d_bench.sh [--quick] [--reps N] [config ...]
# With OUT set, writes $OUT/sm90_1d1d_bench.txt and $OUT/sm90_1d1d_build.txt. Environment: NVCC, BENCH_TIMEOUT (s).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(mktemp -d /tmp/sm90_1d1d.XXXXXX)
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
OUT_DIR=${OUT:-$BUILD}
mkdir -p "$OUT_DIR"
LOG=$OUT_DIR/sm90_1d1d_build.txt
RES=$OUT_DIR/sm90_1d1d_bench.txt
: > "$LOG"
: > "$RES"
args=()
configs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) args+=(--quick) ;;
        --reps) args+=(--reps "$2"); shift ;;
        *) configs+=("$1") ;;
    esac
    shift
done
echo "nvcc: $("$NVCC" --version | tail -1)" | tee -a "$LOG"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' | tee -a "$LOG" "$RES"
start=$SECONDS
"$NVCC" -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v -o "$BUILD/bench" "$HERE/sm90_gemm_1d1d_bench.cu" >> "$LOG" 2>&1
rc=$?
echo "build: exit $rc in $((SECONDS - start)) s" | tee -a "$LOG"
[ $rc -eq 0 ] || { tail -30 "$LOG"; exit 1; }
awk '/Compiling entry function/ {match($0, /\x27[^\x27]*\x27/); fn=substr($0, RSTART+1, RLENGTH-2)}
     /spill stores/ {spill=$0; sub(/^.*frame, /, "", spill)}
     /Used [0-9]+ registers/ && fn ~ /sm90_fp8/ {match($0, /Used [0-9]+ registers/); print "  " fn ": " substr($0, RSTART, RLENGTH) ", " spill}' \
    "$LOG" | tee -a "$RES"
if command -v cuobjdump > /dev/null; then
    cuobjdump -sass "$BUILD/bench" 2>/dev/null | awk '
        /Function :/ {fn=$3}
        fn ~ /sm90_fp8/ { if (/QGMMA/) q[fn]++; if (/UTMALDG/) l[fn]++; if (/UTMAREDG/) r[fn]++; if (/[^A-Z]LDL|[^A-Z]STL/) loc[fn]++; seen[fn]=1 }
        END { for (f in seen) printf "  %-32s QGMMA %3d UTMALDG %2d UTMAREDG %2d LDL/STL %d\n", f, q[f], l[f], r[f], loc[f] }' | sort | tee -a "$RES"
fi
[ ${#configs[@]} -gt 0 ] || mapfile -t configs < <("$BUILD/bench" --list)
fails=0
for c in "${configs[@]}"; do
    timeout "${BENCH_TIMEOUT:-100}" "$BUILD/bench" --config "$c" "${args[@]}" 2>&1 | tee -a "$RES"
    rc=${PIPESTATUS[0]}
    [ $rc -eq 0 ] || { echo "config $c: exit $rc" | tee -a "$RES"; fails=$((fails + 1)); }
done
echo "configurations with failures: $fails" | tee -a "$RES"
exit $fails
