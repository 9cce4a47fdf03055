#!/usr/bin/env bash
# Builds and runs the small-M (decode) GEMM harness (sm90_small_m_bench.cu beside this script) on a Hopper host.
# Usage: bash kernels/src/test/cuda/run_sm90_small_m_bench.sh [--sweep] [--reps N]
# With OUT set, writes $OUT/small_m_bench.txt (results) and $OUT/small_m_build.txt (nvcc + ptxas -v log).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(mktemp -d /tmp/small_m_bench.XXXXXX)
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
OUT_DIR=${OUT:-$BUILD}
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
start=$SECONDS
"$NVCC" -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v -o "$BUILD/small_m_bench" "$HERE/sm90_small_m_bench.cu" \
    > "$OUT_DIR/small_m_build.txt" 2>&1 || { echo "build failed"; tail -30 "$OUT_DIR/small_m_build.txt"; exit 1; }
echo "build: $((SECONDS - start)) s; spills: $(grep -c '[1-9][0-9]* bytes spill' "$OUT_DIR/small_m_build.txt")"
timeout "${BENCH_TIMEOUT:-100}" "$BUILD/small_m_bench" --out "$OUT_DIR/small_m_bench.txt" "$@"
rc=$?
[ $rc -eq 124 ] && echo "harness stopped by the timeout"
exit $rc
