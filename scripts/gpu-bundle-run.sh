#!/usr/bin/env bash
# The `run` script of a GPU bundle (scripts/gpu-bundle.sh copies it there). Needs only bash, tar and
# xz. Unpacks the bundled JRE into /tmp, runs the @Tag("gpu") tests with the JUnit console launcher,
# then the benchmark (arguments go to it, e.g. --quick). Logs, JUnit XML reports and bench.json go
# to $OUT (default: ./out beside this script). Exits non-zero if either step failed.
# DEADLINE_S (seconds, optional): the whole run's time budget, e.g. a rented GPU's limit less a margin. Each step is
# stopped (timeout) when the budget runs out and a step that would start with less than a minute left is skipped, so
# the logs of what did run are complete when the machine is taken back.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out}
mkdir -p "$OUT"

START=$SECONDS
# Runs "$@" within what is left of DEADLINE_S (or unbounded without it); exit status 124 when stopped, 125 if skipped.
within_budget() {
    if [ -z "${DEADLINE_S:-}" ]; then
        "$@"
        return
    fi
    local left=$((DEADLINE_S - (SECONDS - START) - 10))
    if [ "$left" -lt 60 ]; then
        echo "skipped: ${left}s of DEADLINE_S=${DEADLINE_S} left" >&2
        return 125
    fi
    timeout "$left" "$@"
}

source "$HERE/java.sh"
trap 'rm -rf "${JRE_DIR:-}"' EXIT
unpack_bundle_java "$HERE" || exit 1

{
    echo "bundle commit: $(cat "$HERE/COMMIT" 2>/dev/null)"
    "${JAVA[@]}" -version 2>&1
    command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found"
} > "$OUT/environment.log" 2>&1

within_budget "${JAVA[@]}" -jar "$HERE/junit-platform-console-standalone.jar" execute \
    --class-path "${CP}${TESTS%:}" --scan-class-path "${TESTS%:}" --include-tag gpu \
    --reports-dir "$OUT/junit" --details tree --disable-banner --disable-ansi-colors 2>&1 | tee "$OUT/gpu-tests.log"
tests_rc=${PIPESTATUS[0]}

within_budget "${JAVA[@]}" -cp "${CP%:}" dev.deepgemm4j.it.BenchmarkCli --json "$OUT/bench.json" "$@" 2>&1 \
    | tee "$OUT/bench.log"
bench_rc=${PIPESTATUS[0]}

echo "gpu tests exit $tests_rc, benchmark exit $bench_rc; logs in $OUT"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
