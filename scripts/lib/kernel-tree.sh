# Sourced by the developer build scripts (scripts/dev/build-*.sh).
# kernel_tree REF DEST [PATCH]: the CUDA sources (kernels/src/main/cuda, kernels/src/test/cuda) of git ref REF under
# DEST, with PATCH applied when given; run from the repository root.
kernel_tree() {
    mkdir -p "$2"
    git archive "$1" kernels/src/main/cuda kernels/src/test/cuda | tar -x -C "$2"
    if [ -n "${3:-}" ]; then
        local patch
        patch=$(realpath "$3")
        (cd "$2" && git apply --include='kernels/*' "$patch")
    fi
}
