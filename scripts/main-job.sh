#!/usr/bin/env bash
# The main job: builds the library and runs the benchmark CLI, which times every operator of the
# public API and checks it against a float64 reference. Arguments go to the CLI: [--quick] [--json FILE].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/java25.sh
use_java25
mvn -B -ntp -q -pl it -am package -DskipTests
exec java --enable-native-access=ALL-UNNAMED -Xss8m \
    -cp "it/target/classes:$(cat it/target/runtime-classpath.txt)" dev.deepgemm4j.it.BenchmarkCli "$@"
