package dev.deepgemm4j.spark;

import java.io.Serializable;
import java.util.Objects;

/**
 * A weight file as executors find it: its URI and the SHA-256 it must have. This small pair is what travels with
 * tasks; each executor loads the file itself, once (see {@link DeepGemmRuntime}).
 *
 * @param uri where the {@link WeightFile} is (any Hadoop filesystem URI, or a local path)
 * @param checksum its SHA-256 in hex
 */
public record WeightRef(String uri, String checksum) implements Serializable {

    public WeightRef {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(checksum, "checksum");
    }

    /** A reference to {@code uri} with the checksum of its current content (reads the file once). */
    public static WeightRef of(String uri) {
        return new WeightRef(uri, WeightFile.checksum(uri));
    }

    @Override
    public String toString() {
        return uri + "#sha256=" + checksum.substring(0, Math.min(12, checksum.length()));
    }
}
