#!/usr/bin/env bash
# The main job: builds the library and runs dev.deepgemm4j.spark.job.MainJob, which scores a generated token set
# through a generated MoE layer on Spark in local mode (GPU when present), writes Parquet and prints throughput.
# Arguments go to the job: [--tokens N] [--experts E] [--hidden D] [--intermediate F] [--top-k K]
# [--batch-tokens B] [--partitions P] [--master M] [--out DIR] [--seed S] [--jit-precompile auto|true|false].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/java25.sh
use_java25
mvn -B -ntp -q -Dstyle.color=never -pl spark-udf -am package -Dmaven.test.skip=true
# Spark 4.2's own JVM flags for a modern JDK (see spark-udf/pom.xml), plus native access for the FFM backends.
SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1} exec java --enable-native-access=ALL-UNNAMED -Xss8m \
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
    --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false \
    -Dio.netty.tryReflectionSetAccessible=true --sun-misc-unsafe-memory-access=allow \
    -Dlog4j2.configurationFile=spark-udf/src/main/resources/deepgemm4j-job-log4j2.properties \
    -cp "spark-udf/target/classes:$(cat spark-udf/target/job-classpath.txt)" \
    dev.deepgemm4j.spark.job.MainJob "$@"
