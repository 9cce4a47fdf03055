package dev.deepgemm4j.djl;

import ai.djl.Device;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDResource;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.RandomUtils;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.DoubleSupplier;

/**
 * The {@link NDManager} of {@link DeepGemmEngine}: creates {@link DeepGemmNDArray}s in host memory
 * ({@link Device#cpu()}) or in the memory of CUDA device i ({@code Device.gpu(i)}, only when a deepgemm4j GPU backend
 * runs). Closing a manager frees the memory of every array it holds, of its sub-managers, and of the arrays the
 * alternative engine produced for its arrays' fallback operators.
 *
 * <p>Arrays hold {@link DataType#FLOAT32}, {@link DataType#INT32}, {@link DataType#UINT8} or {@link DataType#INT8};
 * FP8 data is UINT8 (see {@link DeepGemmNDArray#isFp8()}). Other data types are refused with an
 * {@link IllegalArgumentException}: create those arrays in another engine. Factories beyond creation, zeros, ones,
 * full and random normal/uniform (arange, eye, …) are not supported.
 */
public class DeepGemmNDManager extends BaseNDManager {

    private final Location location;

    DeepGemmNDManager(NDManager parent, Device device) {
        super(parent, usable(device));
        this.location = locationOf(this.device);
    }

    /** The device, checked before the base class makes an alternative-engine manager for it. */
    private static Device usable(Device device) {
        if (device != null && device.isGpu()
                && !DeepGemmEngine.getInstance().hasCapability(StandardCapabilities.CUDA)) {
            throw new DeepGemmArgumentException("device", "is " + device
                    + " but no deepgemm4j GPU backend runs on this machine");
        }
        return device;
    }

    /** The process-wide root manager. */
    static DeepGemmNDManager system() {
        return SystemManager.INSTANCE;
    }

    /**
     * A new manager of this engine owned by {@code owner}, a manager of any engine: closing {@code owner} closes it.
     */
    static DeepGemmNDManager ownedBy(NDManager owner, Device device) {
        if (owner instanceof DeepGemmNDManager ours) {
            return ours.newSubManager(device);
        }
        DeepGemmNDManager manager = new DeepGemmNDManager(owner, device);
        owner.attachInternal(manager.uid, manager);
        return manager;
    }

    /** Where this manager's arrays live. */
    public Location location() {
        return location;
    }

    @Override
    public DeepGemmEngine getEngine() {
        return DeepGemmEngine.getInstance();
    }

    /** The alternative engine's manager that runs fallback operators of this manager's arrays (may be null). */
    NDManager alternative() {
        return alternativeManager;
    }

    @Override
    public ByteBuffer allocateDirect(int capacity) {
        return ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
    }

    /** The array itself when it is of this engine; otherwise a copy of it in this manager. */
    @Override
    public NDArray from(NDArray array) {
        if (array == null || array instanceof DeepGemmNDArray) {
            return array;
        }
        NDArray copy = create(array.toByteBuffer(), array.getShape(), array.getDataType());
        copy.setName(array.getName());
        return copy;
    }

    @Override
    public DeepGemmNDManager newSubManager() {
        return newSubManager(device);
    }

    @Override
    public DeepGemmNDManager newSubManager(Device device) {
        DeepGemmNDManager manager = new DeepGemmNDManager(this, device);
        attachUncappedInternal(manager.uid, manager);
        return manager;
    }

    @Override
    public NDArray create(Buffer data, Shape shape, DataType dataType) {
        return adopt(hostTensor(data, shape, dataType), dataType);
    }

    /** A host tensor holding the buffer's elements (native byte order, as DJL hands them out). */
    static Tensor hostTensor(Buffer data, Shape shape, DataType dataType) {
        DType dtype = storageType(dataType);
        int count = Math.toIntExact(shape.size());
        validateBuffer(data, dataType, count);
        Tensor host = Tensor.zeros(dtype, shape.getShape());
        ByteBuffer target = host.hostSegment().asSlice(0, (long) count * dtype.byteSize()).asByteBuffer()
                .order(ByteOrder.nativeOrder());
        if (data instanceof ByteBuffer bytes) {
            MemorySegment.copy(MemorySegment.ofBuffer(bytes), 0, MemorySegment.ofBuffer(target), 0,
                    target.capacity());
        } else {
            copyBuffer(data.duplicate(), target);
        }
        return host;
    }

    @Override
    public NDArray zeros(Shape shape, DataType dataType) {
        return adopt(Tensor.zeros(location, storageType(dataType), shape.getShape()), dataType);
    }

    @Override
    public NDArray ones(Shape shape, DataType dataType) {
        return full(shape, 1f, dataType);
    }

    @Override
    public NDArray full(Shape shape, float value, DataType dataType) {
        Tensor host = Tensor.zeros(storageType(dataType), shape.getShape());
        host.fill(value);
        return adopt(host, dataType);
    }

    /** FLOAT32 values uniform in [low, high), from DJL's shared random generator (seeded by setRandomSeed). */
    @Override
    public NDArray randomUniform(float low, float high, Shape shape, DataType dataType) {
        return random(shape, dataType, () -> low + (high - low) * RandomUtils.RANDOM.nextDouble());
    }

    /** FLOAT32 normal samples, from DJL's shared random generator (seeded by setRandomSeed). */
    @Override
    public NDArray randomNormal(float loc, float scale, Shape shape, DataType dataType) {
        return random(shape, dataType, () -> loc + scale * RandomUtils.RANDOM.nextGaussian());
    }

    private NDArray random(Shape shape, DataType dataType, DoubleSupplier sample) {
        if (dataType != DataType.FLOAT32) {
            throw new IllegalArgumentException(DeepGemmEngine.ENGINE_NAME + " draws random FLOAT32 arrays only, got "
                    + dataType.name());
        }
        float[] values = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) sample.getAsDouble();
        }
        return adopt(Tensor.ofFloats(values, shape.getShape()), dataType);
    }

    /**
     * Wraps {@code tensor} (host or device, any strides) as an array of this manager, which then owns the tensor's
     * storage; a tensor elsewhere than {@link #location()} is moved here first (and its storage freed).
     */
    DeepGemmNDArray adopt(Tensor tensor, DataType dataType) {
        Tensor here = Placement.moveTo(tensor, location);
        return new DeepGemmNDArray(this, here, dataType);
    }

    /** As {@link #adopt(Tensor, DataType)} with the data type that corresponds to the tensor's. */
    DeepGemmNDArray adopt(Tensor tensor) {
        return adopt(tensor, dataTypeOf(tensor.dtype()));
    }

    /** Frees everything this manager holds, then the alternative engine's arrays made for its fallbacks. */
    @Override
    public void close() {
        boolean wasOpen = isOpen();
        super.close();
        if (wasOpen && alternativeManager != null) {
            alternativeManager.close();
        }
    }

    // ---------------------------------------------------------------- type and device mapping

    /** The tensor dtype that stores arrays of {@code dataType}. */
    static DType storageType(DataType dataType) {
        return switch (dataType) {
            case FLOAT32 -> DType.FP32;
            case INT32 -> DType.INT32;
            case UINT8, INT8 -> DType.UINT8;
            default -> throw new IllegalArgumentException(DeepGemmEngine.ENGINE_NAME
                    + " arrays hold FLOAT32, INT32, UINT8 (FP8 codes) or INT8, got " + dataType.name()
                    + "; create this array in another engine");
        };
    }

    /** The DJL data type of arrays holding {@code dtype} (BF16 is widened before it becomes an array). */
    static DataType dataTypeOf(DType dtype) {
        return switch (dtype) {
            case FP32 -> DataType.FLOAT32;
            case INT32, UE8M0_PACKED -> DataType.INT32;
            case UINT8, FP8_E4M3 -> DataType.UINT8;
            case BF16 -> throw new IllegalStateException("BF16 tensors are widened to FP32 before they become arrays");
        };
    }

    static Location locationOf(Device device) {
        return device.isGpu() ? Location.cuda(device.getDeviceId()) : Location.HOST;
    }

    static Device deviceOf(Location location) {
        return location.isHost() ? Device.cpu() : Device.gpu(location.deviceOrdinal());
    }

    /**
     * Where deepgemm4j computes a call whose results go to {@code manager}: that manager's location when it is of
     * this engine, else this engine's default device.
     */
    static Location computeLocation(NDManager manager) {
        return manager instanceof DeepGemmNDManager ours ? ours.location
                : locationOf(DeepGemmEngine.getInstance().defaultDevice());
    }

    /** The root manager: lives as long as the JVM, tracks nothing, cannot be closed. */
    private static final class SystemManager extends DeepGemmNDManager implements SystemNDManager {

        private static final SystemManager INSTANCE = new SystemManager();

        private SystemManager() {
            super(null, null);
        }

        @Override
        public void attachInternal(String resourceId, AutoCloseable... resource) {
        }

        @Override
        public void attachUncappedInternal(String resourceId, AutoCloseable resource) {
        }

        @Override
        public void tempAttachInternal(NDManager originalManager, String resourceId, NDResource resource) {
        }

        @Override
        public void detachInternal(String resourceId) {
        }

        @Override
        public void close() {
        }
    }
}
