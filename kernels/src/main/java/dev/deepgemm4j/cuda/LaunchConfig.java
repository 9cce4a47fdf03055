package dev.deepgemm4j.cuda;

/**
 * The geometry of one kernel launch: grid and block dimensions, dynamic shared memory, thread-block cluster
 * dimensions and whether programmatic dependent launch (PDL) is allowed. A cluster larger than 1 or PDL makes the
 * launch go through {@code cuLaunchKernelEx}; otherwise {@code cuLaunchKernel} is used.
 *
 * @param gridX blocks in x
 * @param gridY blocks in y
 * @param gridZ blocks in z
 * @param blockX threads in x
 * @param blockY threads in y
 * @param blockZ threads in z
 * @param dynamicSharedMemoryBytes dynamic shared memory per block
 * @param clusterX blocks per cluster in x (the grid must be a multiple)
 * @param clusterY blocks per cluster in y
 * @param clusterZ blocks per cluster in z
 * @param programmaticDependentLaunch whether the kernel may start before the previous kernel on the stream
 *     finished ({@code CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION}); the kernel must then wait with
 *     {@code griddepcontrol.wait} before reading its predecessor's output
 */
public record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
        int dynamicSharedMemoryBytes, int clusterX, int clusterY, int clusterZ, boolean programmaticDependentLaunch) {

    public LaunchConfig {
        positive("grid", gridX, gridY, gridZ);
        positive("block", blockX, blockY, blockZ);
        positive("cluster", clusterX, clusterY, clusterZ);
        if ((long) blockX * blockY * blockZ > 1024) {
            throw new IllegalArgumentException("a block has at most 1024 threads, got " + blockX + "x" + blockY + "x"
                    + blockZ);
        }
        if (dynamicSharedMemoryBytes < 0) {
            throw new IllegalArgumentException("dynamic shared memory must be >= 0, got " + dynamicSharedMemoryBytes);
        }
    }

    private static void positive(String what, int x, int y, int z) {
        if (x < 1 || y < 1 || z < 1) {
            throw new IllegalArgumentException(what + " dimensions must be >= 1, got " + x + "x" + y + "x" + z);
        }
    }

    /** A 1-D launch of {@code gridX} blocks of {@code blockX} threads, no dynamic shared memory, no cluster. */
    public static LaunchConfig of(int gridX, int blockX) {
        return new LaunchConfig(gridX, 1, 1, blockX, 1, 1, 0, 1, 1, 1, false);
    }

    /** This configuration with another grid. */
    public LaunchConfig withGrid(int x, int y, int z) {
        return new LaunchConfig(x, y, z, blockX, blockY, blockZ, dynamicSharedMemoryBytes, clusterX, clusterY,
                clusterZ, programmaticDependentLaunch);
    }

    /** This configuration with another block shape. */
    public LaunchConfig withBlock(int x, int y, int z) {
        return new LaunchConfig(gridX, gridY, gridZ, x, y, z, dynamicSharedMemoryBytes, clusterX, clusterY, clusterZ,
                programmaticDependentLaunch);
    }

    /** This configuration with {@code bytes} of dynamic shared memory per block. */
    public LaunchConfig withDynamicSharedMemory(int bytes) {
        return new LaunchConfig(gridX, gridY, gridZ, blockX, blockY, blockZ, bytes, clusterX, clusterY, clusterZ,
                programmaticDependentLaunch);
    }

    /** This configuration with thread-block clusters of {@code x × y × z} blocks. */
    public LaunchConfig withCluster(int x, int y, int z) {
        return new LaunchConfig(gridX, gridY, gridZ, blockX, blockY, blockZ, dynamicSharedMemoryBytes, x, y, z,
                programmaticDependentLaunch);
    }

    /** This configuration with programmatic dependent launch allowed or not. */
    public LaunchConfig withProgrammaticDependentLaunch(boolean allowed) {
        return new LaunchConfig(gridX, gridY, gridZ, blockX, blockY, blockZ, dynamicSharedMemoryBytes, clusterX,
                clusterY, clusterZ, allowed);
    }

    /** Whether a cluster dimension is above 1. */
    public boolean hasCluster() {
        return clusterX * clusterY * clusterZ > 1;
    }

    /** Whether the launch needs {@code cuLaunchKernelEx} (a cluster or PDL). */
    public boolean needsLaunchEx() {
        return hasCluster() || programmaticDependentLaunch;
    }

    /** @throws IllegalArgumentException if a grid dimension is not a multiple of the cluster dimension */
    void checkClusterDivides() {
        if (gridX % clusterX != 0 || gridY % clusterY != 0 || gridZ % clusterZ != 0) {
            throw new IllegalArgumentException("grid " + gridX + "x" + gridY + "x" + gridZ
                    + " is not a multiple of cluster " + clusterX + "x" + clusterY + "x" + clusterZ);
        }
    }

    @Override
    public String toString() {
        return "grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + blockX + "x" + blockY + "x" + blockZ
                + ", smem " + dynamicSharedMemoryBytes + " B" + (hasCluster() ? ", cluster " + clusterX + "x"
                + clusterY + "x" + clusterZ : "") + (programmaticDependentLaunch ? ", PDL" : "");
    }
}
