#!/usr/bin/env bash
# Builds and runs the sm_90a paged MQA logits harness (sm90_paged_mqa_bench.cu) on a Hopper host. With OUT set, writes
# $OUT/paged_bench.txt and $OUT/paged_build.txt. Args go to the harness.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${MQA_SRC:-$HERE/../../main/cuda}
OUT_DIR=${OUT:-$(mktemp -d)}
BIN=$(mktemp -d)/paged_bench
nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v -Xcompiler -fopenmp -I"$SRC" -o "$BIN" "$HERE/sm90_paged_mqa_bench.cu" -lgomp \
    > "$OUT_DIR/paged_build.txt" 2>&1 || { cat "$OUT_DIR/paged_build.txt"; exit 1; }
grep -E 'spill|Used' "$OUT_DIR/paged_build.txt" | sort | uniq -c | head -20
timeout ${BENCH_TIMEOUT:-100} "$BIN" "$@" 2>&1 | tee "$OUT_DIR/paged_bench.txt"
