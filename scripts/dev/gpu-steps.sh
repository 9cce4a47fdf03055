#!/usr/bin/env bash
# Developer tool: runs named steps of a GPU session from a bundle (scripts/gpu-bundle.sh copies it beside `run`;
# OLD_MQA_REF=<git ref> there stages the `mqaold` baseline) on a host without a JDK, within one time budget, and packs every log into $OUT/steps.tgz after each step, so
# whatever ran comes back even when a later step is cut off (the device tool returns at most 8 files).
# Usage: bash bundle/gpu-steps.sh STEP[,STEP...] DEADLINE_SECONDS
# Steps:
#   tests      the @Tag("gpu") tests (TEST_CLASSES: a regex of class names, default all)
#   bench      BenchmarkCli (default plan); benchfull: --full --cublaslt; benchmqa: --full --only mqa;
#              benchtune: --full --autotune with DG_PRINT_CONFIGS=1 on the rows BENCHTUNE_ONLY selects (default the
#              dense 1D2D NT rows at M = 128 and 4096), printing each shape's candidates as the tuner timed them: the
#              heuristic's pick, listed first, against the others (scripts/dev/tune-summary.py makes the table)
#   mqah       the plain MQA C++ harness of this tree; mqaold: the same harness from bundle/old_mqa/{cuda,test}
#              (harness arguments: HARNESS_ARGS, default --quick; the old one always --quick)
#   h1d1d      the 1D1D (weight-gradient) C++ harness of this tree on H1D1D_CONFIGS (default: d_64x152 d_128x184
#              k_128x152 k_128x184); benchwgrad: BenchmarkCli --full --cublaslt on the 1D1D and k-grouped rows
#   ncukg      ncu (full set, SASS source counters) on two k-grouped rows; ncumqa: on the plain MQA row S = 2048,
#              S_kv = 65536; ncucontig: on the index and psum contiguous rows G=4 N=6144 K=7168; ncudecode: on the
#              dense rows M=128 N=576 and N=2112 (K=7168)
#   gemmab     the dense 1D2D and small-M harnesses of bundle/bin/gemm: base, new and any patched variants
#              (scripts/dev/build-ab-harnesses.sh builds them; GEMMAB_VARIANTS picks and orders them, default all),
#              GEMMAB_ROUNDS rounds (default 2), the order rotated every round; dense harness arguments GEMMAB_ARGS
#              (default: M = 128, tiles 64x16, 64x32, 64x64, 128x64, 128x128); no harness starts after
#              GEMMAB_SECONDS in the step
#   gemmabbig  the dense harness alone, GEMMABBIG_VARIANTS, GEMMABBIG_ARGS (default: M = 2048 and 4096, tiles 128x128,
#              128x128c2, 128x176, 128x192, 128x256), GEMMABBIG_SECONDS; logs in gemmabbig/
#   tmaprobe   the TMA load-stream probe (kernels/src/test/cuda/sm90_tma_stream_probe.cu, built here with nvcc):
#              what bounds the decode GEMMs' per-CTA load stream, with no math in the CTA
#   pagedsweep the paged MQA harness variants of bundle/bin/paged (scripts/dev/build-paged-variants.sh builds them),
#              PAGED_ROUNDS rounds (default 3) of every variant in turn (or of PAGED_VARIANTS, e.g. "s3 bulk"); the
#              goal lines gather in paged_sweep.txt;
#              ncupaged: ncu on the next_n = 1 goal kernel of the variants NCU_PAGED_VARIANTS (default s3 diag1 diag2)
# Extra BenchmarkCli arguments for the bench, benchfull, benchmqa and benchwgrad steps: BENCH_ARGS.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$HERE/out}
STEPS=$1
DEADLINE=$2
START=$SECONDS
LOGS=$(mktemp -d /tmp/steps.XXXXXX)
mkdir -p "$OUT"

source "$HERE/java.sh"
trap 'rm -rf "${JRE_DIR:-}"' EXIT
unpack_bundle_java "$HERE" || exit 1
BENCH=("${JAVA[@]}" -cp "${CP%:}" dev.deepgemm4j.it.BenchmarkCli)

left() { echo $((DEADLINE - (SECONDS - START) - 15)); }
pack() { tar -C "$LOGS" -czf "$OUT/steps.tgz" . ; }
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)
# Writes NAME-details.txt (and with "sass", NAME-sass.csv, the SASS source counters) from LOGS/NAME.ncu-rep.
ncu_report() { # NAME [sass]
    "$NCU" --import "$LOGS/$1.ncu-rep" --page details > "$LOGS/$1-details.txt" 2>&1
    if [ "${2:-}" = sass ]; then
        "$NCU" --import "$LOGS/$1.ncu-rep" --page source --csv --print-source sass > "$LOGS/$1-sass.csv" 2>&1
    fi
    rm -f "$LOGS/$1.ncu-rep"
}
ncu_rows() { # NAME ONLY-REGEX LAUNCHES [BENCH-ARG...]
    [ -n "$NCU" ] || { echo "no ncu"; return 1; }
    timeout "$(left)" "$NCU" --profile-from-start off --set full --import-source no --launch-count "$3" \
        --export "$LOGS/$1" --force-overwrite "${BENCH[@]}" --gpu --profile --reps 2 --only "$2" "${@:4}" \
        > "$LOGS/$1.log" 2>&1
    ncu_report "$1" sass
}

# ncu on the next_n = 1 goal kernel of the paged harness variants NCU_PAGED_VARIANTS (default: s3 diag1 diag2: the
# landed ring, the load stream alone, loads and stores without math), one launch each: where the stores' cost goes.
ncu_paged() {
    local variant
    [ -n "$NCU" ] || { echo "no ncu"; return 1; }
    [ -d "$HERE/bin/paged" ] || { echo "no $HERE/bin/paged: run scripts/dev/build-paged-variants.sh first"; return 1; }
    for variant in ${NCU_PAGED_VARIANTS:-s3 diag1 diag2}; do
        if [ "$(left)" -lt 60 ]; then echo "ncupaged cut before $variant"; return 1; fi
        timeout "$(left)" "$NCU" --set full --kernel-name kpg_64_128_1_64 --launch-skip 2 --launch-count 1 \
            --export "$LOGS/ncu_paged_$variant" --force-overwrite "$HERE/bin/paged/$variant" --goal-only --next-n 1 \
            > "$LOGS/ncu_paged_$variant.log" 2>&1
        ncu_report "ncu_paged_$variant"
    done
}

# Every variant once per round, so that drifts of the power-capped clock spread over all of them.
paged_sweep() {
    [ -d "$HERE/bin/paged" ] || { echo "no $HERE/bin/paged: run scripts/dev/build-paged-variants.sh first"; return 1; }
    mkdir -p "$LOGS/paged"
    local round bin variant
    for round in $(seq "${PAGED_ROUNDS:-3}"); do
        for bin in "$HERE"/bin/paged/*; do
            variant=$(basename "$bin")
            if [ -n "${PAGED_VARIANTS:-}" ] && [[ " $PAGED_VARIANTS " != *" $variant "* ]]; then continue; fi
            if [ "$(left)" -lt 40 ]; then echo "paged sweep cut at round $round"; return 1; fi
            timeout 60 "$bin" > "$LOGS/paged/$variant.$round.txt" 2>&1
            grep 'time B=256' "$LOGS/paged/$variant.$round.txt" | sed "s/^/$variant round $round:/" \
                >> "$LOGS/paged_sweep.txt"
        done
    done
}

# Harness variants in turn (VARIANTS: names in bundle/bin/gemm, in priority order; empty: all), the order rotated each
# round so that a drifting clock favours none; no harness starts after SECONDS. The small-M harness runs with the
# dense one when SMALLM is 1.
# Usage: gemm_ab LOG_DIR "VARIANTS" "HARNESS ARGS" SECONDS SMALLM
gemm_ab() {
    [ -d "$HERE/bin/gemm" ] || { echo "no $HERE/bin/gemm: run scripts/dev/build-ab-harnesses.sh first"; return 1; }
    local dir=$LOGS/$1 wanted=$2 args=$3 seconds=$4 smallm=$5
    mkdir -p "$dir"
    local round variant i bin began=$SECONDS
    local variants=()
    if [ -n "$wanted" ]; then
        for variant in $wanted; do [ -x "$HERE/bin/gemm/gemm_$variant" ] && variants+=("$variant"); done
    else
        for bin in "$HERE"/bin/gemm/gemm_*; do [ -x "$bin" ] && variants+=("${bin##*/gemm_}"); done
    fi
    [ "${#variants[@]}" -gt 0 ] || { echo "no gemm_* harness for '$wanted' in $HERE/bin/gemm"; return 1; }
    for round in $(seq "${GEMMAB_ROUNDS:-2}"); do
        for i in "${!variants[@]}"; do
            variant=${variants[$(((i + round - 1) % ${#variants[@]}))]}
            if [ "$(left)" -lt 60 ] || [ $((SECONDS - began)) -ge "$seconds" ]; then
                echo "$1 cut at round $round before $variant"; return 1
            fi
            # shellcheck disable=SC2086 # the arguments are words
            LD_LIBRARY_PATH="$HERE/native:${LD_LIBRARY_PATH:-}" timeout 120 "$HERE/bin/gemm/gemm_$variant" $args \
                --out "$dir/gemm_$variant.$round.txt" > "$dir/gemm_$variant.$round.log" 2>&1
            if [ "$smallm" = 1 ]; then
                timeout 60 "$HERE/bin/gemm/smallm_$variant" --out "$dir/smallm_$variant.$round.txt" \
                    > "$dir/smallm_$variant.$round.log" 2>&1
            fi
            echo "$1 round $round $variant done at $((SECONDS - START)) s"
        done
    done
}

mkdir -p "$LOGS/mqa" "$LOGS/mqa_old"
nvidia-smi > "$LOGS/nvidia-smi.txt" 2>&1
cat "$HERE/COMMIT" > "$LOGS/commit.txt" 2>/dev/null
for step in ${STEPS//,/ }; do
    budget=$(left)
    if [ "$budget" -lt 45 ]; then echo "skip $step: ${budget}s left" | tee -a "$LOGS/skipped.txt"; continue; fi
    t0=$SECONDS
    echo "== $step (${budget}s left)"
    case $step in
    tests)
        timeout "$budget" "${JAVA[@]}" -jar "$HERE/junit-platform-console-standalone.jar" execute \
            --class-path "${CP}${TESTS%:}" --scan-class-path "${TESTS%:}" --include-tag gpu \
            --include-classname "${TEST_CLASSES:-.*}" \
            --details tree --disable-banner --disable-ansi-colors > "$LOGS/gpu_tests.log" 2>&1
        rc=$?
        grep -E 'tests (successful|failed)' "$LOGS/gpu_tests.log"
        (exit $rc) ;;
    tmaprobe) nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o "$LOGS/tma_probe" \
            "$ROOT/kernels/src/test/cuda/sm90_tma_stream_probe.cu" > "$LOGS/tma_probe.build.txt" 2>&1 &&
        timeout "$budget" "$LOGS/tma_probe" > "$LOGS/tma_probe.txt" 2>&1; rc=$?; rm -f "$LOGS/tma_probe"; (exit $rc) ;;
    bench) timeout "$budget" "${BENCH[@]}" --gpu ${BENCH_ARGS:-} > "$LOGS/bench.log" 2>&1 ;;
    benchfull) timeout "$budget" "${BENCH[@]}" --gpu --full --cublaslt ${BENCH_ARGS:-} > "$LOGS/bench_full.log" 2>&1 ;;
    benchmqa) timeout "$budget" "${BENCH[@]}" --gpu --full --only mqa ${BENCH_ARGS:-} > "$LOGS/bench_mqa.log" 2>&1 ;;
    benchtune) DG_PRINT_CONFIGS=1 timeout "$budget" "${BENCH[@]}" --gpu --full --autotune \
        --only "${BENCHTUNE_ONLY:-fp8_gemm_nt \[1D2D\] M=(128|4096) }" > "$LOGS/bench_tune.log" 2>&1 ;;
    mqah) OUT=$LOGS/mqa BENCH_TIMEOUT=$((budget - 60)) timeout "$budget" \
            bash "$ROOT/kernels/src/test/cuda/run_sm90_mqa_bench.sh" ${HARNESS_ARGS-"--quick"} > "$LOGS/mqah.log" 2>&1 ;;
    mqaold) MQA_SRC=$HERE/old_mqa/cuda OUT=$LOGS/mqa_old BENCH_TIMEOUT=$((budget - 60)) timeout "$budget" \
            bash "$HERE/old_mqa/test/run_sm90_mqa_bench.sh" --quick > "$LOGS/mqaold.log" 2>&1 ;;
    h1d1d) mkdir -p "$LOGS/h1d1d"; OUT=$LOGS/h1d1d BENCH_TIMEOUT=60 timeout "$budget" \
            bash "$ROOT/kernels/src/test/cuda/run_sm90_1d1d_bench.sh" ${H1D1D_CONFIGS:-d_64x152 d_128x184 k_128x152 k_128x184} \
            > "$LOGS/h1d1d.log" 2>&1 ;;
    benchwgrad) timeout "$budget" "${BENCH[@]}" --gpu --full --cublaslt --only '1D1D|k_grouped' ${BENCH_ARGS:-} \
            > "$LOGS/bench_wgrad.log" 2>&1 ;;
    ncukg) ncu_rows ncu_kgrouped 'k_grouped_fp8_gemm_(nt|tn)_contiguous G=4 M=4096 N=7168' 2 ;;
    ncumqa) ncu_rows ncu_mqa '^fp8_mqa_logits S=2048 S_kv=65536 ' 1 --full ;;
    ncucontig) ncu_rows ncu_contig 'nt_contiguous \[(index|psum)\] G=4 M=36048 N=6144 K=7168' 2 --full ;;
    ncudecode) ncu_rows ncu_decode 'fp8_gemm_nt \[1D2D\] M=128 N=(576|2112) K=7168' 2 --full ;;
    pagedsweep) paged_sweep ;;
    ncupaged) ncu_paged ;;
    gemmab) gemm_ab gemmab "${GEMMAB_VARIANTS:-}" "${GEMMAB_ARGS:---ms 128 --configs 64x16,64x32,64x64,128x64,128x128 --no-cublas}" \
            "${GEMMAB_SECONDS:-100000}" 1 ;;
    gemmabbig) gemm_ab gemmabbig "${GEMMABBIG_VARIANTS:-}" \
            "${GEMMABBIG_ARGS:---ms 2048,4096 --configs 128x128,128x128c2,128x176,128x192,128x256 --no-cublas}" \
            "${GEMMABBIG_SECONDS:-100000}" 0 ;;
    *) echo "unknown step $step" ;;
    esac
    echo "$step: exit $? in $((SECONDS - t0))s" | tee -a "$LOGS/steps.txt"
    pack
done
pack
echo "steps done in $((SECONDS - START))s"
