#!/usr/bin/env bash
# Developer tool: builds the dense 1D2D and small-M GEMM harnesses (kernels/src/test/cuda) twice, from the kernel
# sources of a git ref ("base") and of the working tree ("new"), for gpu-steps.sh's `gemmab` step: an A/B of a kernel
# change on the GPU host without building there. CUPTI's kernel clock is built in when this host has cupti.h (the
# bundle carries the library: gemmab puts bundle/native on the library path).
# Usage: scripts/dev/build-ab-harnesses.sh BASE_REF BUNDLE_DIR   (writes BUNDLE_DIR/bin/gemm/{gemm,smallm}_{base,new})
set -euo pipefail
cd "$(dirname "$0")/../.."
REF=$1
DEST=$(realpath -m "$2")/bin/gemm
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
BASE=$(mktemp -d)
trap 'rm -rf "$BASE"' EXIT
git archive "$REF" kernels/src/main/cuda kernels/src/test/cuda | tar -x -C "$BASE"
mkdir -p "$DEST"
cupti=()
lib=$(find "$CUDA_HOME"/ -maxdepth 4 -name 'libcupti.so.1[0-9]' 2>/dev/null | sort -r | head -1)
if [ -f "$CUDA_HOME/include/cupti.h" ] && [ -n "$lib" ]; then
    cupti=(-DDG_WITH_CUPTI -I"$CUDA_HOME/include" -Xlinker "$lib")
fi
FLAGS=(-O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v)
pids=()
for variant in base new; do
    root=$([ $variant = base ] && echo "$BASE" || pwd)
    nvcc "${FLAGS[@]}" "${cupti[@]}" -o "$DEST/gemm_$variant" "$root/kernels/src/test/cuda/sm90_gemm_bench.cu" \
        > "$DEST/gemm_$variant.build.txt" 2>&1 &
    pids+=($!)
    nvcc "${FLAGS[@]}" -o "$DEST/smallm_$variant" "$root/kernels/src/test/cuda/sm90_small_m_bench.cu" \
        > "$DEST/smallm_$variant.build.txt" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || { tail -20 "$DEST"/*.build.txt; exit 1; }; done
rm -f "$DEST"/*.build.txt
echo "A/B harnesses ($REF vs the working tree) in $DEST"
