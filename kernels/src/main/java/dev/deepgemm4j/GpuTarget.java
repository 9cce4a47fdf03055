package dev.deepgemm4j;

import java.io.Serializable;

/**
 * The GPUs a {@link KernelPack} is planned and compiled for, when that happens away from them (a Spark driver
 * without a GPU, a build step): the compute capability picks the compiler's target architecture, and the SM count
 * is what the kernel heuristics size their tiles and grids by, so both must match the GPUs that will run the
 * kernels or those GPUs pick other configurations and compile them themselves.
 *
 * @param major compute capability major version (9 for Hopper)
 * @param minor compute capability minor version
 * @param numSms streaming multiprocessors per GPU (132 on an H100 SXM)
 */
public record GpuTarget(int major, int minor, int numSms) implements Serializable {

    /** An H100 SXM: compute capability 9.0, 132 SMs. */
    public static final GpuTarget H100_SXM = new GpuTarget(9, 0, 132);

    public GpuTarget {
        if (major < 1 || minor < 0 || minor > 9) {
            throw new DeepGemmArgumentException("computeCapability", "must be major.minor with major >= 1 and "
                    + "minor in 0..9, got " + major + "." + minor);
        }
        if (numSms < 1) {
            throw new DeepGemmArgumentException("numSms", "must be >= 1, got " + numSms);
        }
    }

    /**
     * The target of compute capability {@code "major.minor"} (e.g. {@code "9.0"}) with {@code numSms} SMs.
     *
     * @throws DeepGemmArgumentException if {@code computeCapability} does not look like {@code 9.0}
     */
    public static GpuTarget parse(String computeCapability, int numSms) {
        String cc = computeCapability == null ? "" : computeCapability.strip();
        if (!cc.matches("\\d{1,3}\\.\\d")) {
            throw new DeepGemmArgumentException("computeCapability", "must look like 9.0, got '" + computeCapability
                    + "'");
        }
        int dot = cc.indexOf('.');
        return new GpuTarget(Integer.parseInt(cc.substring(0, dot)), Integer.parseInt(cc.substring(dot + 1)), numSms);
    }

    /** The compute capability as {@code "major.minor"}. */
    public String computeCapability() {
        return major + "." + minor;
    }

    @Override
    public String toString() {
        return "sm " + computeCapability() + " x" + numSms;
    }
}
