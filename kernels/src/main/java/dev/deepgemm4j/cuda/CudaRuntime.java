package dev.deepgemm4j.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * Whether CUDA runs in this process, and the devices it sees. The probe runs once, never throws, and reports every
 * failure (no driver library, {@code cuInit} failing, no device, a driver older than CUDA 12.0, JCuda's native library
 * not loading) as "unavailable" with a reason.
 *
 * <p>The FFM binding is opened first and is the one that loads {@code libcuda.so.1} into the process; JCuda's own
 * native library then links against that same already-loaded driver. Setting the system property
 * {@code deepgemm4j.cuda.disable=true} makes the probe report unavailable without touching any native code.
 */
public final class CudaRuntime {

    /** System property that switches CUDA off. */
    public static final String DISABLE_PROPERTY = "deepgemm4j.cuda.disable";
    /** The oldest driver the runtime accepts: cuLaunchKernelEx and tensor maps arrived with CUDA 12.0. */
    static final int MIN_DRIVER_VERSION = 12000;

    private static final Logger LOG = Logger.getLogger(CudaRuntime.class.getName());

    /**
     * The probe's outcome.
     *
     * @param available whether CUDA work can run
     * @param reason why not, or null when available
     * @param driverVersion the driver's CUDA version (1000 × major + 10 × minor), or -1 if unknown
     * @param devices the devices, empty when unavailable
     */
    public record Availability(boolean available, String reason, int driverVersion, List<CudaDevice> devices) {

        public Availability {
            devices = List.copyOf(devices);
        }

        static Availability unavailable(String reason, int driverVersion) {
            return new Availability(false, reason, driverVersion, List.of());
        }
    }

    private static volatile Availability availability;
    private static volatile CudaDriverFfm driver;

    private CudaRuntime() {
    }

    /** The probe's outcome (probing on first use). */
    public static Availability availability() {
        Availability a = availability;
        if (a == null) {
            synchronized (CudaRuntime.class) {
                a = availability;
                if (a == null) {
                    a = probeSystem();
                    availability = a;
                    LOG.fine(() -> "deepgemm4j CUDA probe: " + availability);
                }
            }
        }
        return a;
    }

    /** Whether CUDA work can run here. */
    public static boolean isAvailable() {
        return availability().available();
    }

    /** Why CUDA cannot run here, or null when it can. */
    public static String unavailableReason() {
        return availability().reason();
    }

    /** The devices (empty when unavailable). */
    public static List<CudaDevice> devices() {
        return availability().devices();
    }

    /** Number of devices (0 when unavailable). */
    public static int deviceCount() {
        return devices().size();
    }

    /**
     * One device.
     *
     * @throws CudaUnavailableException if CUDA is unavailable
     * @throws IllegalArgumentException if there is no device {@code ordinal}
     */
    public static CudaDevice device(int ordinal) {
        requireAvailable();
        List<CudaDevice> all = devices();
        if (ordinal < 0 || ordinal >= all.size()) {
            throw new IllegalArgumentException("no CUDA device " + ordinal + " (" + all.size() + " present)");
        }
        return all.get(ordinal);
    }

    /** The FFM driver binding of this process (launches, tensor maps, current context). */
    public static CudaDriverFfm driver() {
        requireAvailable();
        return driver;
    }

    /** @throws CudaUnavailableException with the probe's reason if CUDA cannot run */
    public static void requireAvailable() {
        Availability a = availability();
        if (!a.available()) {
            throw new CudaUnavailableException(a.reason());
        }
    }

    private static Availability probeSystem() {
        if (Boolean.getBoolean(DISABLE_PROPERTY)) {
            return Availability.unavailable("disabled by -D" + DISABLE_PROPERTY + "=true", -1);
        }
        String lib = System.getProperty(CudaDriverFfm.DRIVER_LIB_PROPERTY, CudaDriverFfm.DEFAULT_DRIVER_LIB);
        CudaDriverFfm[] opened = new CudaDriverFfm[1];
        Availability a = probe(lib, opened, () -> check(JCudaDriver.cuInit(0), "JCuda cuInit"));
        driver = opened[0];
        return a;
    }

    /**
     * Probes the driver {@code lib}; {@code jcudaInit} initialises JCuda (a test seam for its failure). The opened
     * FFM binding is left in {@code opened[0]}.
     */
    static Availability probe(String lib, CudaDriverFfm[] opened, Runnable jcudaInit) {
        CudaDriverFfm ffm;
        try {
            ffm = CudaDriverFfm.open(lib);
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("the CUDA driver library " + lib + " cannot be loaded (no NVIDIA driver "
                    + "installed?): " + e.getMessage(), -1);
        }
        int version = -1;
        try {
            int init = ffm.init(0);
            version = ffm.driverVersion();
            if (init != CudaException.SUCCESS) {
                return Availability.unavailable("cuInit failed: " + CudaException.resultName(init) + " (" + init
                        + ")" + (init == 100 ? ": no CUDA-capable device" : ""), version);
            }
            if (version < MIN_DRIVER_VERSION) {
                return Availability.unavailable("the CUDA driver supports CUDA " + version / 1000 + "."
                        + version % 1000 / 10 + "; deepgemm4j needs 12.0 or newer", version);
            }
            try {
                jcudaInit.run();
            } catch (LinkageError e) {
                return Availability.unavailable("JCuda's native driver library failed to load: " + e, version);
            }
            int[] count = new int[1];
            check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
            if (count[0] == 0) {
                return Availability.unavailable("no CUDA device", version);
            }
            List<CudaDevice> devices = new ArrayList<>();
            for (int i = 0; i < count[0]; i++) {
                devices.add(query(i));
            }
            opened[0] = ffm;
            return new Availability(true, null, version, devices);
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("CUDA probe failed: " + e, version);
        }
    }

    private static CudaDevice query(int ordinal) {
        CUdevice dev = new CUdevice();
        check(JCudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet(" + ordinal + ")");
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        long[] total = new long[1];
        check(JCudaDriver.cuDeviceTotalMem(total, dev), "cuDeviceTotalMem");
        return new CudaDevice(ordinal, new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE), total[0]);
    }

    private static int attribute(CUdevice dev, int attribute) {
        int[] v = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(v, attribute, dev), "cuDeviceGetAttribute(" + attribute + ")");
        return v[0];
    }

    private static void check(int result, String operation) {
        CudaException.check(result, operation);
    }
}
