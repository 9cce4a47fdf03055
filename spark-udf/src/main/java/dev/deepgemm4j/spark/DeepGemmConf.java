package dev.deepgemm4j.spark;

import dev.deepgemm4j.GpuTarget;
import dev.deepgemm4j.Location;
import java.io.Serializable;
import java.util.Locale;
import org.apache.spark.SparkConf;

/**
 * deepgemm4j's Spark settings, all under {@code spark.deepgemm4j.}:
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@value #DEVICE}</td><td>auto</td><td>{@code auto}: the GPU Spark assigned to the executor (or task), else
 *     GPU 0 if a GPU backend runs, else the CPU backend; {@code cpu}; {@code cuda:N} a fixed GPU</td></tr>
 * <tr><td>{@value #CONCURRENT_GPU_TASKS}</td><td>1</td><td>tasks of one executor that may run deepgemm4j work at
 *     once (the rest wait; reading and writing rows is not limited)</td></tr>
 * <tr><td>{@value #JIT_PRECOMPILE}</td><td>auto</td><td>whether the driver compiles the kernels a job's shapes need
 *     before it runs: {@code auto} when the driver has a GPU or executors request GPUs, {@code true},
 *     {@code false}</td></tr>
 * <tr><td>{@value #JIT_SHIP}</td><td>true</td><td>ship the driver's compiled kernels to the executors (a broadcast),
 *     which seed their kernel caches with them; false relies on a shared {@value #JIT_CACHE_DIR}</td></tr>
 * <tr><td>{@value #JIT_CACHE_DIR}</td><td>(the JIT's: DG_JIT_CACHE_DIR, else ~/.deepgemm4j)</td><td>the kernel cache
 *     root; {@code {executor}} in it is replaced by the executor id ({@code driver} on the driver). A directory
 *     shared by all executors (e.g. on a network filesystem) also gives one compile per kernel: the JIT's
 *     cross-process lock lets one process compile while the others wait for its entry</td></tr>
 * <tr><td>{@value #JIT_COMPILER}</td><td>(the JIT's: DG_JIT_USE_NVRTC)</td><td>{@code auto}, {@code nvrtc} or
 *     {@code nvcc}</td></tr>
 * <tr><td>{@value #JIT_COMPUTE_CAPABILITY}</td><td>9.0</td><td>the executors' GPU architecture the driver compiles
 *     for</td></tr>
 * <tr><td>{@value #JIT_NUM_SMS}</td><td>132</td><td>the executors' SM count, which the kernel heuristics use to
 *     choose configurations</td></tr>
 * </table>
 *
 * @param device the device setting: "auto", "cpu" or "cuda:N"
 * @param concurrentGpuTasks permits of the executor's device semaphore
 * @param jitPrecompile "auto", "true" or "false"
 * @param jitShip whether compiled kernels travel to the executors
 * @param jitCacheDir the kernel cache root (may contain {@code {executor}}), or null for the JIT's default
 * @param jitCompiler "auto", "nvrtc", "nvcc", or null for the JIT's default
 * @param jitComputeCapability "major.minor" of the executors' GPUs
 * @param jitNumSms the executors' SM count
 */
public record DeepGemmConf(String device, int concurrentGpuTasks, String jitPrecompile, boolean jitShip,
        String jitCacheDir, String jitCompiler, String jitComputeCapability, int jitNumSms) implements Serializable {

    /** Prefix of every key. */
    public static final String PREFIX = "spark.deepgemm4j.";
    /** Device selection. */
    public static final String DEVICE = PREFIX + "device";
    /** Device semaphore permits. */
    public static final String CONCURRENT_GPU_TASKS = PREFIX + "concurrentGpuTasks";
    /** Driver-side kernel compilation. */
    public static final String JIT_PRECOMPILE = PREFIX + "jit.precompile";
    /** Shipping compiled kernels to executors. */
    public static final String JIT_SHIP = PREFIX + "jit.ship";
    /** Kernel cache root. */
    public static final String JIT_CACHE_DIR = PREFIX + "jit.cacheDir";
    /** Kernel compiler. */
    public static final String JIT_COMPILER = PREFIX + "jit.compiler";
    /** The executors' compute capability. */
    public static final String JIT_COMPUTE_CAPABILITY = PREFIX + "jit.computeCapability";
    /** The executors' SM count. */
    public static final String JIT_NUM_SMS = PREFIX + "jit.numSms";

    /** The defaults. */
    public static final DeepGemmConf DEFAULT = new DeepGemmConf("auto", 1, "auto", true, null, null, "9.0", 132);

    public DeepGemmConf {
        device = device.strip().toLowerCase(Locale.ROOT);
        if (!device.equals("auto") && !device.equals("cpu")) {
            fixedGpu(device);
        }
        if (concurrentGpuTasks < 1) {
            throw new IllegalArgumentException(CONCURRENT_GPU_TASKS + " must be >= 1, got " + concurrentGpuTasks);
        }
        jitPrecompile = oneOf(JIT_PRECOMPILE, jitPrecompile, "auto", "true", "false");
        jitCompiler = jitCompiler == null ? null : oneOf(JIT_COMPILER, jitCompiler, "auto", "nvrtc", "nvcc");
        if (!jitComputeCapability.strip().matches("\\d+\\.\\d")) {
            throw new IllegalArgumentException(JIT_COMPUTE_CAPABILITY + " must look like 9.0, got '"
                    + jitComputeCapability + "'");
        }
        if (jitNumSms < 1) {
            throw new IllegalArgumentException(JIT_NUM_SMS + " must be >= 1, got " + jitNumSms);
        }
    }

    /** The settings in {@code conf} (defaults for absent keys). */
    public static DeepGemmConf from(SparkConf conf) {
        return new DeepGemmConf(conf.get(DEVICE, DEFAULT.device),
                conf.getInt(CONCURRENT_GPU_TASKS, DEFAULT.concurrentGpuTasks),
                conf.get(JIT_PRECOMPILE, DEFAULT.jitPrecompile),
                conf.getBoolean(JIT_SHIP, DEFAULT.jitShip),
                conf.get(JIT_CACHE_DIR, null),
                conf.get(JIT_COMPILER, null),
                conf.get(JIT_COMPUTE_CAPABILITY, DEFAULT.jitComputeCapability),
                conf.getInt(JIT_NUM_SMS, DEFAULT.jitNumSms));
    }

    /** The executors' GPUs as the driver plans and compiles kernels for them. */
    public GpuTarget jitTarget() {
        return GpuTarget.parse(jitComputeCapability, jitNumSms);
    }

    /** The fixed GPU of a {@code cuda:N} setting. */
    static Location fixedGpu(String device) {
        if (device.startsWith("cuda:")) {
            try {
                return Location.cuda(Integer.parseInt(device.substring(5)));
            } catch (IllegalArgumentException e) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException(DEVICE + " must be auto, cpu or cuda:N (N >= 0), got '" + device + "'");
    }

    private static String oneOf(String key, String value, String... allowed) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw new IllegalArgumentException(key + " must be one of " + String.join(", ", allowed) + ", got '" + value
                + "'");
    }
}
