# Sourced by the project's scripts: use_java25 points JAVA_HOME and PATH at a JDK 25 (or newer).
# Order: $JAVA_HOME when it is 25+, then /usr/lib/jvm/*temurin-25*, then any /usr/lib/jvm/* whose
# `release` file says JAVA_VERSION="25...".

java_major() {
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}

find_jdk25() {
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ] && [ "$(java_major "$JAVA_HOME")" -ge 25 ] 2>/dev/null; then
        echo "$JAVA_HOME"
        return 0
    fi
    local dir
    for dir in /usr/lib/jvm/*temurin-25* /usr/lib/jvm/*; do
        if [ -x "$dir/bin/javac" ] && [ "$(java_major "$dir")" = 25 ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

use_java25() {
    local jdk
    if ! jdk=$(find_jdk25); then
        echo "error: no JDK 25 found: set JAVA_HOME to a JDK 25 (or install one under /usr/lib/jvm)" >&2
        return 1
    fi
    export JAVA_HOME="$jdk"
    export PATH="$JAVA_HOME/bin:$PATH"
    # Maven's own Guava calls sun.misc.Unsafe, which JDK 25 warns about on every build.
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
}
