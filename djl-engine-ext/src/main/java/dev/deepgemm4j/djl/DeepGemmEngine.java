package dev.deepgemm4j.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDManager;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DJL {@link Engine} whose {@link ai.djl.ndarray.NDArray}s are deepgemm4j {@link Tensor}s: in GPU memory when a
 * deepgemm4j GPU backend runs on this machine, in host memory (computed on by the CPU reference backend) otherwise.
 *
 * <p>Get it with {@code Engine.getEngine(DeepGemmEngine.ENGINE_NAME)}, or create arrays with
 * {@code NDManager.newBaseManager(device, DeepGemmEngine.ENGINE_NAME)}. Its rank ({@value #RANK}) is higher than every
 * DJL engine's, so it never becomes DJL's default engine.
 *
 * <p>The engine implements the FP8 operators ({@link Fp8Ops}, {@link Fp8Linear}, {@link Fp8Moe}) and array
 * creation and transfer; every other NDArray operator runs on the <em>alternative engine</em> (PyTorch when it is on
 * the classpath), after a host copy of the array. Each such fallback is counted ({@link #fallbackCount()}) and logged
 * at DEBUG. Set the system property {@value #DISABLE_ALTERNATIVE_PROPERTY} to {@code true} to have those operators
 * throw {@link UnsupportedOperationException} instead.
 *
 * <p>Devices: {@link Device#cpu()} is host memory; {@code Device.gpu(i)} is CUDA device i and needs a running GPU
 * backend ({@link #hasCapability} reports {@link StandardCapabilities#CUDA} only then). The default device is
 * {@code gpu(0)} when there is one.
 */
public final class DeepGemmEngine extends Engine {

    /** The name DJL knows this engine by. */
    public static final String ENGINE_NAME = "DeepGemm4j";
    /** DJL picks the lowest rank as its default engine; DJL's own engines use 0 to 15. */
    public static final int RANK = 100;
    /** System property that, when {@code true}, disables the fallback to another engine. */
    public static final String DISABLE_ALTERNATIVE_PROPERTY = "deepgemm4j.djl.disable_alternative";

    private static final Logger LOG = LoggerFactory.getLogger(DeepGemmEngine.class);
    private static final String PREFERRED_ALTERNATIVE = "PyTorch";
    /** DJL's RPC engine (in the api jar) forwards to a server; it computes nothing locally. */
    private static final String RPC_ENGINE = "RPC";
    /** Devices probed at most when counting GPUs. */
    private static final int MAX_PROBED_GPUS = 64;

    private static final DeepGemmEngine INSTANCE = new DeepGemmEngine();

    private final String version = readVersion();
    private final AtomicLong fallbacks = new AtomicLong();
    private final AtomicLong imports = new AtomicLong();
    private final AtomicLong liveArrays = new AtomicLong();
    private volatile Boolean gpuPresent;
    private volatile Integer gpuCount;
    private volatile Engine alternative;
    private volatile boolean alternativeResolved;

    private DeepGemmEngine() {
    }

    /** The engine (one per JVM). */
    public static DeepGemmEngine getInstance() {
        return INSTANCE;
    }

    @Override
    public String getEngineName() {
        return ENGINE_NAME;
    }

    @Override
    public int getRank() {
        return RANK;
    }

    @Override
    public String getVersion() {
        return version;
    }

    /**
     * PyTorch when it is registered with DJL, else DJL's default engine unless that is this engine or the RPC engine;
     * null when none is usable or {@value #DISABLE_ALTERNATIVE_PROPERTY} is set.
     */
    @Override
    public Engine getAlternativeEngine() {
        if (Boolean.getBoolean(DISABLE_ALTERNATIVE_PROPERTY)) {
            return null;
        }
        if (!alternativeResolved) {
            synchronized (this) {
                if (!alternativeResolved) {
                    alternative = resolveAlternative();
                    alternativeResolved = true;
                }
            }
        }
        return alternative;
    }

    private static Engine resolveAlternative() {
        String name = Engine.hasEngine(PREFERRED_ALTERNATIVE) ? PREFERRED_ALTERNATIVE : Engine.getDefaultEngineName();
        if (name == null || name.equals(ENGINE_NAME) || name.equals(RPC_ENGINE)) {
            LOG.debug("{}: no alternative engine; operators it does not implement will throw", ENGINE_NAME);
            return null;
        }
        try {
            Engine engine = Engine.getEngine(name);
            LOG.debug("{}: operators it does not implement fall back to {}", ENGINE_NAME, name);
            return engine;
        } catch (RuntimeException e) {
            // An engine whose natives cannot load must not make this engine unusable.
            LOG.warn("{}: alternative engine {} is unavailable ({}); operators it does not implement will throw",
                    ENGINE_NAME, name, e.toString());
            return null;
        }
    }

    /** {@link StandardCapabilities#CUDA} when a deepgemm4j GPU backend runs here; nothing else. */
    @Override
    public boolean hasCapability(String capability) {
        return StandardCapabilities.CUDA.equals(capability) && gpuAvailable();
    }

    /** {@code gpu(0)} when a GPU backend runs here, else the CPU (host memory). */
    @Override
    public Device defaultDevice() {
        return gpuAvailable() ? Device.gpu(0) : Device.cpu();
    }

    /**
     * The CUDA devices deepgemm4j can allocate on, counted by allocating a byte on each in turn (so this creates a
     * context on every device; {@link #hasCapability} touches only device 0).
     */
    @Override
    public int getGpuCount() {
        if (gpuCount == null) {
            int n = 0;
            while (n < MAX_PROBED_GPUS && canAllocate(Location.cuda(n))) {
                n++;
            }
            gpuCount = n;
        }
        return gpuCount;
    }

    private boolean gpuAvailable() {
        if (gpuPresent == null) {
            gpuPresent = canAllocate(Location.cuda(0));
        }
        return gpuPresent;
    }

    /** Whether deepgemm4j's public API can place a tensor there (a device backend runs and owns that device). */
    private static boolean canAllocate(Location location) {
        try (Tensor probe = Tensor.zeros(location, DType.UINT8, 1)) {
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public Model newModel(String name, Device device) {
        return new DeepGemmModel(name, device);
    }

    @Override
    public NDManager newBaseManager() {
        return DeepGemmNDManager.system().newSubManager();
    }

    @Override
    public NDManager newBaseManager(Device device) {
        return DeepGemmNDManager.system().newSubManager(device);
    }

    // ---------------------------------------------------------------- counters

    /**
     * NDArray operators of this engine's arrays that ran on the alternative engine (each a host copy of the array)
     * since the JVM started.
     */
    public long fallbackCount() {
        return fallbacks.get();
    }

    /** Arrays of other engines copied in by {@link Fp8Ops} and the FP8 blocks since the JVM started. */
    public long importCount() {
        return imports.get();
    }

    /** Arrays of this engine whose memory has not been freed yet (each owns one tensor storage). */
    public long liveArrayCount() {
        return liveArrays.get();
    }

    void countFallback(String operation, DeepGemmNDArray array) {
        long n = fallbacks.incrementAndGet();
        if (LOG.isDebugEnabled()) {
            Engine alt = getAlternativeEngine();
            LOG.debug("{}: {} on {} {} runs on {} through a host copy (fallback #{})", ENGINE_NAME, operation,
                    array.getDataType(), array.getShape(), alt == null ? "no engine" : alt.getEngineName(), n);
        }
    }

    void countImport() {
        imports.incrementAndGet();
    }

    void arrayAllocated() {
        liveArrays.incrementAndGet();
    }

    void arrayFreed() {
        liveArrays.decrementAndGet();
    }

    private static String readVersion() {
        try (InputStream in = DeepGemmEngine.class.getResourceAsStream("engine.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
