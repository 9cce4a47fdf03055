package dev.deepgemm4j.cuda;

/**
 * What the runtime knows about one CUDA device.
 *
 * @param ordinal the device ordinal
 * @param name the marketing name, e.g. "NVIDIA H100 80GB HBM3"
 * @param smCount streaming multiprocessors
 * @param computeCapabilityMajor e.g. 9 on Hopper
 * @param computeCapabilityMinor e.g. 0 on Hopper
 * @param maxSharedMemoryPerBlockOptin the most dynamic shared memory a block may opt into (232,448 B on H100)
 * @param l2CacheBytes size of the L2 cache
 * @param totalMemoryBytes global memory
 */
public record CudaDevice(int ordinal, String name, int smCount, int computeCapabilityMajor,
        int computeCapabilityMinor, int maxSharedMemoryPerBlockOptin, int l2CacheBytes, long totalMemoryBytes) {

    /** Compute capability as one number, 10 × major + minor (90 on Hopper). */
    public int computeCapability() {
        return computeCapabilityMajor * 10 + computeCapabilityMinor;
    }

    @Override
    public String toString() {
        return "cuda:" + ordinal + " (" + name + ", sm_" + computeCapability() + ", " + smCount + " SMs)";
    }
}
