#!/usr/bin/env bash
# Builds and runs the M-grouped sm_90a harness (sm90_grouped_bench.cu beside this script) on a Hopper GPU host.
# Usage: bash kernels/src/test/cuda/run_sm90_grouped_bench.sh [timed repetitions, default 10]
# With OUT set, writes $OUT/sm90_grouped_bench.txt and $OUT/sm90_grouped_build.txt (nvcc + ptxas -v log).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(mktemp -d /tmp/sm90_grouped.XXXXXX)
OUT_DIR=${OUT:-$BUILD}
mkdir -p "$OUT_DIR"
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
start=$SECONDS
"$NVCC" -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v -o "$BUILD/bench" "$HERE/sm90_grouped_bench.cu" \
    > "$OUT_DIR/sm90_grouped_build.txt" 2>&1 || { echo "build failed"; tail -30 "$OUT_DIR/sm90_grouped_build.txt"; exit 1; }
echo "build: $((SECONDS - start)) s; spills: $(grep -c 'bytes spill stores' "$OUT_DIR/sm90_grouped_build.txt") kernels," \
     "nonzero: $(grep 'spill stores' "$OUT_DIR/sm90_grouped_build.txt" | grep -vc ' 0 bytes spill stores')"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
timeout "${BENCH_TIMEOUT:-100}" "$BUILD/bench" "$@" 2>&1 | tee "$OUT_DIR/sm90_grouped_bench.txt"
exit "${PIPESTATUS[0]}"
