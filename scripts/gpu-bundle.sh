#!/usr/bin/env bash
# Builds a self-contained folder to run deepgemm4j's GPU tests and benchmark on a GPU host that has a
# CUDA driver but no JDK:
#   jre.tar.xz        a jlink runtime of the local JDK 25 (unpacked into /tmp by `run`)
#   lib/              the kernels and it jars and their runtime dependencies (JCuda natives cut down
#                     to the driver binding; the GPU host's CUDA 13 has no libnvrtc.so.12 for JCuda's
#                     NVRTC binding, which the library does not use anyway)
#   tests/            the kernels and it test classes, as jars
#   junit-platform-console-standalone.jar
#   run               runs the @Tag("gpu") tests, then the benchmark; logs and reports go to $OUT
#   java.sh           unpacks the JRE for `run` and gpu-steps.sh (scripts/lib/bundle-java.sh)
#   gpu-steps.sh      a developer's named steps for one call (scripts/dev/gpu-steps.sh)
# Usage: [OLD_MQA_REF=<git ref>] scripts/gpu-bundle.sh [DIR]   (default: bundle/, which git ignores)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/java25.sh
use_java25

ROOT=$(pwd)
BUNDLE=$(realpath -m "${1:-bundle}")
# JDK modules of the runtime. jdeps also names java.desktop and java.sql, which Jackson only touches for
# java.beans annotations and java.sql date types (neither used here; it runs without them) and which would
# add ~10 MB. java.xml is for the console launcher's XML reports, jdk.zipfs for its scan of test jars,
# jdk.unsupported for sun.misc.Unsafe users.
MODULES=java.base,java.logging,java.xml,jdk.zipfs,jdk.unsupported
JCUDA_NATIVE_LIBS='lib/libJCudaDriver-*'

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/lib" "$BUNDLE/tests"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "building kernels and it (tests compiled, not run)"
mvn -B -ntp -q -pl it,spark-udf -am package dependency:copy-dependencies -DskipTests \
    -DincludeScope=runtime -DoutputDirectory="$WORK/deps" -Dmdep.prependGroupId=true
cp "$WORK"/deps/*.jar "$BUNDLE/lib/"
cp it/target/deepgemm4j-it-*.jar "$BUNDLE/lib/"
# Spark itself (about 300 MB) does not fit the bundle: the spark-udf jar goes along for the scorer's Spark-free batch
# path (MoeLayer), which its GPU test exercises. Spark's own jars are `provided`, so copy-dependencies left them out.
cp spark-udf/target/deepgemm4j-spark_*.jar "$BUNDLE/lib/"

natives=$(ls "$BUNDLE"/lib/org.jcuda.jcuda-natives-*.jar)
mkdir "$WORK/natives"
(cd "$WORK/natives" && unzip -q "$natives" "$JCUDA_NATIVE_LIBS" META-INF/MANIFEST.MF)
rm "$natives"
jar --create --file "${natives%.jar}-driveronly.jar" --manifest "$WORK/natives/META-INF/MANIFEST.MF" \
    -C "$WORK/natives" lib

for module in kernels djl-engine-ext it; do
    jar --create --file "$BUNDLE/tests/$module-tests.jar" -C "$module/target/test-classes" .
done
# Only the Spark-free GPU test of spark-udf and its reference: the other test classes need Spark to load.
(cd spark-udf/target/test-classes && jar --create --file "$BUNDLE/tests/spark-udf-gpu-tests.jar" \
    dev/deepgemm4j/spark/MoeLayerGpuTest*.class dev/deepgemm4j/spark/MoeReference*.class)

junit=$(sed -n 's|.*<junit.version>\(.*\)</junit.version>.*|\1|p' pom.xml)
# JUnit 5.x ships its platform as 1.x; from JUnit 6 on the versions are the same.
platform=$([ "${junit%%.*}" = 5 ] && echo "1.${junit#5.}" || echo "$junit")
mvn -B -ntp -q -N dependency:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
    -DoutputDirectory="$WORK/console"
cp "$WORK"/console/junit-platform-console-standalone-*.jar "$BUNDLE/junit-platform-console-standalone.jar"

echo "jlink modules: $MODULES"
jlink --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages --output "$WORK/jre"
tar -C "$WORK" -cJf "$BUNDLE/jre.tar.xz" jre

# CUPTI from this host's CUDA toolkit, if any: the benchmark's kernel times (a GPU host may lack the library).
cupti=$(find "${CUDA_HOME:-/usr/local/cuda}/" /usr/local/cuda*/ -maxdepth 4 -name 'libcupti.so.1[0-9]' 2>/dev/null | sort -r | head -1)
if [ -n "$cupti" ]; then
    mkdir -p "$BUNDLE/native"
    cp -L "$cupti" "$BUNDLE/native/"
    echo "CUPTI: $cupti"
else
    echo "CUPTI: not found on this host (the benchmark then reports event times only, unless the GPU host has it)"
fi
cp scripts/gpu-bundle-run.sh "$BUNDLE/run"
cp scripts/lib/bundle-java.sh "$BUNDLE/java.sh"
chmod +x "$BUNDLE/run"
cp scripts/dev/gpu-steps.sh "$BUNDLE/"
# OLD_MQA_REF=<git ref>: that commit's plain MQA kernel and harness, for gpu-steps.sh's `mqaold` baseline.
if [ -n "${OLD_MQA_REF:-}" ]; then
    mkdir -p "$BUNDLE/old_mqa/cuda" "$BUNDLE/old_mqa/test"
    for f in sm90_fp8_mqa_logits.cu sm90_primitives.cuh mqa_logits_clean.cu mqa_common.cuh mqa_fill.cuh common.cuh; do
        git show "$OLD_MQA_REF:kernels/src/main/cuda/$f" > "$BUNDLE/old_mqa/cuda/$f"
    done
    for f in sm90_mqa_bench.cu run_sm90_mqa_bench.sh; do
        git show "$OLD_MQA_REF:kernels/src/test/cuda/$f" > "$BUNDLE/old_mqa/test/$f"
    done
fi
git -C "$ROOT" rev-parse --short HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"

echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1); JRE $(du -h "$BUNDLE/jre.tar.xz" | cut -f1) packed," \
    "$(du -sh "$WORK/jre" | cut -f1) unpacked)"
