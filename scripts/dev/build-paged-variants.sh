#!/usr/bin/env bash
# Developer tool: builds the paged MQA harness (kernels/src/test/cuda/sm90_paged_mqa_bench.cu) in the variants that
# gpu-steps.sh's `pagedsweep` step times, so the GPU host only runs them. The kernel sources are this commit's with
# docs/wip/sm90-paged-mqa-experiments.patch applied (its macros are off unless a variant sets them):
#   s0          the default ring (as many KV stages as fit: 6 for next_n = 1, 5 for next_n = 2)
#   s2 .. s5    DG_KV_STAGES = 2 .. 5 for both next_n
#   diag1       DG_PAGED_DIAG 1: the load stream alone (wrong results by design)
#   diag2       DG_PAGED_DIAG 2: loads and logit stores, no math (wrong results by design)
#   cs          DG_STREAM_STORES 1: logits stored with st.global.cs
#   bulk        DG_BULK_STORES 1 with 3 stages (compare with s3): each warpgroup's 64 logits per token by one bulk copy
#   s3r         DG_RELAXED_ARRIVE 1 with 3 stages (compare with s3): KV stages released by a relaxed arrive
#   diag2r      DG_PAGED_DIAG 2 with DG_RELAXED_ARRIVE 1 (compare with diag1 and diag2)
#   s3d         DG_DEFERRED_STORES 1 with 3 stages (compare with s3 and s3r): each logit stored one unit later
# Usage: scripts/dev/build-paged-variants.sh BUNDLE_DIR [VARIANT...]   (writes BUNDLE_DIR/bin/paged/<variant>, the
#        variants named or all; each harness is about 1.2 MB of the bundle's 64 MiB carry limit)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=$(realpath -m "$1")/bin/paged
shift
SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
source scripts/lib/kernel-tree.sh
kernel_tree HEAD "$SRC" docs/wip/sm90-paged-mqa-experiments.patch
declare -A FLAGS=([s0]="" [s2]="-DDG_KV_STAGES=2" [s3]="-DDG_KV_STAGES=3" [s4]="-DDG_KV_STAGES=4"
    [s5]="-DDG_KV_STAGES=5" [diag1]="-DDG_PAGED_DIAG=1" [diag2]="-DDG_PAGED_DIAG=2" [cs]="-DDG_STREAM_STORES=1"
    [bulk]="-DDG_BULK_STORES=1 -DDG_KV_STAGES=3" [s3r]="-DDG_RELAXED_ARRIVE=1 -DDG_KV_STAGES=3"
    [diag2r]="-DDG_PAGED_DIAG=2 -DDG_RELAXED_ARRIVE=1" [s3d]="-DDG_DEFERRED_STORES=1 -DDG_KV_STAGES=3")
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${!FLAGS[@]}")
for variant in "${wanted[@]}"; do
    [ -n "${FLAGS[$variant]+set}" ] || { echo "unknown paged variant $variant (known: ${!FLAGS[*]})"; exit 1; }
done
rm -rf "$DEST"
mkdir -p "$DEST"
pids=()
for variant in "${wanted[@]}"; do
    # shellcheck disable=SC2086 # the flags are words
    nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Xcompiler -fopenmp ${FLAGS[$variant]} \
        -I"$SRC/kernels/src/main/cuda" -o "$DEST/$variant" "$SRC/kernels/src/test/cuda/sm90_paged_mqa_bench.cu" -lgomp \
        > "$DEST/$variant.build.txt" 2>&1 &
    pids+=($!)
    if [ ${#pids[@]} -ge "$(nproc)" ]; then wait "${pids[0]}" || { cat "$DEST"/*.build.txt; exit 1; }; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid" || { cat "$DEST"/*.build.txt; exit 1; }; done
rm -f "$DEST"/*.build.txt
echo "paged variants in $DEST: $(cd "$DEST" && ls | tr '\n' ' ')"
