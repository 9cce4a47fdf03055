# Sourced by a GPU bundle's `run` and `gpu-steps.sh` (scripts/gpu-bundle.sh copies this file beside them as java.sh).
# unpack_bundle_java BUNDLE_DIR unpacks the bundled JRE into a new folder under /tmp (JRE_DIR; the caller removes it)
# and sets JAVA (the java command and its flags, an array; CUPTI's path when the bundle carries it, for the
# benchmark's kernel times), CP (the library jars) and TESTS (the test jars), each a colon-separated list ending in ':'.
unpack_bundle_java() {
    local bundle=$1 cupti
    JRE_DIR=$(mktemp -d /tmp/deepgemm4j-jre.XXXXXX)
    tar -C "$JRE_DIR" -xJf "$bundle/jre.tar.xz" || { echo "cannot unpack the JRE" >&2; return 1; }
    JAVA=("$JRE_DIR/jre/bin/java" --enable-native-access=ALL-UNNAMED -Xss8m)
    for cupti in "$bundle"/native/libcupti.so*; do
        if [ -f "$cupti" ]; then
            JAVA+=("-Ddeepgemm4j.cupti=$cupti")
            break
        fi
    done
    CP=$(printf '%s:' "$bundle"/lib/*.jar)
    TESTS=$(printf '%s:' "$bundle"/tests/*.jar)
}
