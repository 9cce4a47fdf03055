package dev.deepgemm4j.spark;

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
 * </table>
 *
 * @param device the device setting: "auto", "cpu" or "cuda:N"
 * @param concurrentGpuTasks permits of the executor's device semaphore
 */
public record DeepGemmConf(String device, int concurrentGpuTasks) implements Serializable {

    /** Prefix of every key. */
    public static final String PREFIX = "spark.deepgemm4j.";
    /** Device selection. */
    public static final String DEVICE = PREFIX + "device";
    /** Device semaphore permits. */
    public static final String CONCURRENT_GPU_TASKS = PREFIX + "concurrentGpuTasks";

    /** The defaults. */
    public static final DeepGemmConf DEFAULT = new DeepGemmConf("auto", 1);

    public DeepGemmConf {
        device = device.strip().toLowerCase(Locale.ROOT);
        if (!device.equals("auto") && !device.equals("cpu")) {
            fixedGpu(device);
        }
        if (concurrentGpuTasks < 1) {
            throw new IllegalArgumentException(CONCURRENT_GPU_TASKS + " must be >= 1, got " + concurrentGpuTasks);
        }
    }

    /** The settings in {@code conf} (defaults for absent keys). */
    public static DeepGemmConf from(SparkConf conf) {
        return new DeepGemmConf(conf.get(DEVICE, DEFAULT.device),
                conf.getInt(CONCURRENT_GPU_TASKS, DEFAULT.concurrentGpuTasks));
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
}
