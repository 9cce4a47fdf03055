#!/usr/bin/env bash
# Developer tool: builds the dense 1D2D and small-M GEMM harnesses (kernels/src/test/cuda) from the kernel sources
# of a git ref ("base") and of the working tree ("new"), for gpu-steps.sh's `gemmab` step: an A/B of a kernel
# change on the GPU host without building there. CUPTI's kernel clock is built in when this host has cupti.h (the
# bundle carries the library: gemmab puts bundle/native on the library path).
# Each NAME=PATCH argument adds a variant: the git ref with that patch applied (to tell two changes of the working
# tree apart).
# Usage: scripts/dev/build-ab-harnesses.sh BASE_REF BUNDLE_DIR [NAME=PATCH...]
#   (writes BUNDLE_DIR/bin/gemm/{gemm,smallm}_{base,new,NAME...})
set -euo pipefail
cd "$(dirname "$0")/../.."
REF=$1
DEST=$(realpath -m "$2")/bin/gemm
shift 2
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
BASE=$(mktemp -d)
trap 'rm -rf "$BASE" "$BASE".*' EXIT
source scripts/lib/kernel-tree.sh
kernel_tree "$REF" "$BASE"
declare -A roots=([base]="$BASE" [new]="$(pwd)")
for extra in "$@"; do
    name=${extra%%=*}
    kernel_tree "$REF" "$BASE.$name" "${extra#*=}"
    roots[$name]="$BASE.$name"
done
rm -rf "$DEST"
mkdir -p "$DEST"
cupti=()
lib=$(find "$CUDA_HOME"/ -maxdepth 4 -name 'libcupti.so.1[0-9]' 2>/dev/null | sort -r | head -1)
if [ -f "$CUDA_HOME/include/cupti.h" ] && [ -n "$lib" ]; then
    cupti=(-DDG_WITH_CUPTI -I"$CUDA_HOME/include" -Xlinker "$lib")
fi
FLAGS=(-O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xptxas -v)
pids=()
for variant in "${!roots[@]}"; do
    root=${roots[$variant]}
    nvcc "${FLAGS[@]}" "${cupti[@]}" -o "$DEST/gemm_$variant" "$root/kernels/src/test/cuda/sm90_gemm_bench.cu" \
        > "$DEST/gemm_$variant.build.txt" 2>&1 &
    pids+=($!)
    nvcc "${FLAGS[@]}" -o "$DEST/smallm_$variant" "$root/kernels/src/test/cuda/sm90_small_m_bench.cu" \
        > "$DEST/smallm_$variant.build.txt" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || { tail -20 "$DEST"/*.build.txt; exit 1; }; done
rm -f "$DEST"/*.build.txt
echo "A/B harnesses (${!roots[*]}; base = $REF, new = the working tree) in $DEST"
