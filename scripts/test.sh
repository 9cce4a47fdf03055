#!/usr/bin/env bash
# Builds every module and runs all tests but the GPU-tagged ones: unit tests (Surefire), then the
# integration tests in it/ (Failsafe). Extra arguments go to Maven (e.g. -Dgroups=gpu on a GPU host).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/java25.sh
use_java25
exec mvn -B -ntp verify "$@"
