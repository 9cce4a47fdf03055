package dev.deepgemm4j;

/**
 * Where a tensor's memory lives: host memory or the memory of one CUDA device.
 *
 * @param kind host or CUDA device
 * @param deviceOrdinal the CUDA device ordinal, or -1 for host memory
 */
public record Location(Kind kind, int deviceOrdinal) {

    /** The two kinds of memory. */
    public enum Kind {
        /** Ordinary (off-heap) host memory, computed on by the CPU reference backend. */
        HOST,
        /** Global memory of a CUDA device. */
        CUDA
    }

    /** Host memory. */
    public static final Location HOST = new Location(Kind.HOST, -1);

    public Location {
        if (kind == null) {
            throw new IllegalArgumentException("kind must not be null");
        }
        if (kind == Kind.HOST && deviceOrdinal != -1) {
            throw new IllegalArgumentException("host location takes device ordinal -1, got " + deviceOrdinal);
        }
        if (kind == Kind.CUDA && deviceOrdinal < 0) {
            throw new IllegalArgumentException("CUDA device ordinal must be >= 0, got " + deviceOrdinal);
        }
    }

    /** The memory of CUDA device {@code ordinal}. */
    public static Location cuda(int ordinal) {
        return new Location(Kind.CUDA, ordinal);
    }

    /** Whether this is host memory. */
    public boolean isHost() {
        return kind == Kind.HOST;
    }

    @Override
    public String toString() {
        return kind == Kind.HOST ? "host" : "cuda:" + deviceOrdinal;
    }
}
