package dev.deepgemm4j.heuristics;

/**
 * How to launch a kernel: a grid of {@code gridX × gridY × gridZ} CTAs of {@code threads} threads (1-D blocks) with
 * {@code dynamicSharedBytes} of dynamic shared memory, in thread-block clusters of {@code clusterX} CTAs along x (1: no
 * cluster). The constructor enforces CUDA's limits (grid x ≤ 2³¹−1, y and z ≤ 65535, at most 1024 threads, at most
 * 227 KB of shared memory per CTA on Hopper, clusters of at most 8 CTAs that divide grid x).
 */
public record LaunchGeometry(int gridX, int gridY, int gridZ, int threads, int dynamicSharedBytes, int clusterX) {

    /** Largest grid y and z. */
    public static final int MAX_GRID_YZ = 65535;
    /** Largest threads per CTA. */
    public static final int MAX_THREADS = 1024;
    /** Largest shared memory per CTA (H100/H200: 227 KB). */
    public static final int MAX_SHARED_BYTES = 227 * 1024;
    /** Largest portable thread-block cluster. */
    public static final int MAX_CLUSTER = 8;

    /** A launch without clusters. */
    public LaunchGeometry(int gridX, int gridY, int gridZ, int threads, int dynamicSharedBytes) {
        this(gridX, gridY, gridZ, threads, dynamicSharedBytes, 1);
    }

    public LaunchGeometry {
        if (gridX < 1 || gridY < 1 || gridY > MAX_GRID_YZ || gridZ < 1 || gridZ > MAX_GRID_YZ) {
            throw new IllegalArgumentException("grid (" + gridX + ", " + gridY + ", " + gridZ + ") is outside CUDA's"
                    + " limits (x in [1, 2^31-1], y and z in [1, 65535])");
        }
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be in [1, 1024], got " + threads);
        }
        if (dynamicSharedBytes < 0 || dynamicSharedBytes > MAX_SHARED_BYTES) {
            throw new IllegalArgumentException("dynamic shared memory must be in [0, 227 KB], got " + dynamicSharedBytes);
        }
        if (clusterX < 1 || clusterX > MAX_CLUSTER || gridX % clusterX != 0) {
            throw new IllegalArgumentException("clusterX must be in [1, 8] and divide gridX " + gridX + ", got "
                    + clusterX);
        }
    }

    /** Grid dimension of {@code ceil(extent / per)} CTAs, checked to fit an int. */
    static int blocks(long extent, long per) {
        long n = Math.max(1, (extent + per - 1) / per);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(extent + " / " + per + " needs more CTAs than a grid dimension holds");
        }
        return (int) n;
    }

    /** Total CTAs. */
    public long ctas() {
        return (long) gridX * gridY * gridZ;
    }
}
