package dev.deepgemm4j.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.deepgemm4j.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import jcuda.Pointer;

/**
 * A reusable kernel-parameter block: the {@code void*[]} {@code cuLaunchKernel} takes, each entry pointing at the
 * argument's value inside the same native block. Built once and refilled per launch ({@link #reset()}, then one
 * {@code add…} per kernel parameter in declaration order), so a launch allocates nothing.
 *
 * <p>Not thread-safe: use one per thread, e.g. {@link #forCurrentThread()}. The driver copies the values at launch
 * (and at graph capture), so the block may be refilled as soon as the launch call returns.
 */
public final class LaunchArgs {

    /** Most parameters one launch may carry. */
    public static final int MAX_PARAMS = 128;
    /** Most bytes of parameter values (the classic CUDA limit; tensor maps take 128 each). */
    public static final int MAX_VALUE_BYTES = 4096;

    /** {@code CUlaunchConfig} of {@code cuda.h} (56 bytes). */
    static final StructLayout LAUNCH_CONFIG = MemoryLayout.structLayout(
            JAVA_INT.withName("gridDimX"), JAVA_INT.withName("gridDimY"), JAVA_INT.withName("gridDimZ"),
            JAVA_INT.withName("blockDimX"), JAVA_INT.withName("blockDimY"), JAVA_INT.withName("blockDimZ"),
            JAVA_INT.withName("sharedMemBytes"), MemoryLayout.paddingLayout(4), JAVA_LONG.withName("hStream"),
            ADDRESS.withName("attrs"), JAVA_INT.withName("numAttrs"), MemoryLayout.paddingLayout(4));

    /** {@code CUlaunchAttribute} of {@code cuda.h} (72 bytes: an id, then a 64-byte value union at offset 8). */
    static final StructLayout LAUNCH_ATTRIBUTE = MemoryLayout.structLayout(
            JAVA_INT.withName("id"), MemoryLayout.paddingLayout(4),
            MemoryLayout.unionLayout(
                    MemoryLayout.structLayout(JAVA_INT.withName("x"), JAVA_INT.withName("y"), JAVA_INT.withName("z"))
                            .withName("clusterDim"),
                    JAVA_INT.withName("programmaticStreamSerializationAllowed"),
                    MemoryLayout.sequenceLayout(64, JAVA_BYTE).withName("pad")).withName("value"));

    /** {@code CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION}. */
    static final int ATTRIBUTE_CLUSTER_DIMENSION = 4;
    /** {@code CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION}. */
    static final int ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;

    private static final long POINTERS = MAX_VALUE_BYTES;
    private static final long CONFIG = POINTERS + 8L * MAX_PARAMS;
    private static final long ATTRS = CONFIG + LAUNCH_CONFIG.byteSize() + 8;
    private static final long TOTAL = ATTRS + 2 * LAUNCH_ATTRIBUTE.byteSize();

    private static final long OFF_STREAM = LAUNCH_CONFIG.byteOffset(groupElement("hStream"));
    private static final long OFF_ATTRS = LAUNCH_CONFIG.byteOffset(groupElement("attrs"));
    private static final long OFF_NUM_ATTRS = LAUNCH_CONFIG.byteOffset(groupElement("numAttrs"));
    private static final long OFF_VALUE = LAUNCH_ATTRIBUTE.byteOffset(groupElement("value"));

    private static final ThreadLocal<LaunchArgs> PER_THREAD = ThreadLocal.withInitial(LaunchArgs::new);

    private final MemorySegment block;
    private final MemorySegment params;
    private final MemorySegment config;
    private final MemorySegment[] attributes;
    private final long base;
    private int count;
    private long cursor;

    /** A new, empty parameter block (its native memory is freed when it becomes unreachable). */
    public LaunchArgs() {
        block = Arena.ofAuto().allocate(TOTAL, TensorMap.ALIGNMENT);
        base = block.address();
        params = block.asSlice(POINTERS, 8L * MAX_PARAMS);
        config = block.asSlice(CONFIG, LAUNCH_CONFIG.byteSize());
        attributes = new MemorySegment[] {block.asSlice(ATTRS, LAUNCH_ATTRIBUTE.byteSize()),
            block.asSlice(ATTRS + LAUNCH_ATTRIBUTE.byteSize(), LAUNCH_ATTRIBUTE.byteSize())};
    }

    /** This thread's parameter block, emptied. */
    public static LaunchArgs forCurrentThread() {
        return PER_THREAD.get().reset();
    }

    /** Forgets all parameters. */
    public LaunchArgs reset() {
        count = 0;
        cursor = 0;
        return this;
    }

    /** Appends an {@code int} / {@code unsigned} parameter. */
    public LaunchArgs addInt(int value) {
        block.set(JAVA_INT, slot(4, 4), value);
        return this;
    }

    /** Appends a 64-bit integer parameter. */
    public LaunchArgs addLong(long value) {
        block.set(JAVA_LONG, slot(8, 8), value);
        return this;
    }

    /** Appends a {@code float} parameter. */
    public LaunchArgs addFloat(float value) {
        block.set(JAVA_FLOAT, slot(4, 4), value);
        return this;
    }

    /** Appends a pointer parameter holding a raw device address. */
    public LaunchArgs addPointer(long deviceAddress) {
        return addLong(deviceAddress);
    }

    /** Appends a pointer parameter to element [0, …, 0] of a device tensor. */
    public LaunchArgs addPointer(Tensor deviceTensor) {
        if (deviceTensor.location().isHost()) {
            throw new IllegalArgumentException("kernel arguments must be device tensors, got a host tensor");
        }
        return addLong(deviceTensor.dataAddress());
    }

    /** Appends a {@code CUtensorMap} parameter, passed by value (the kernel declares it {@code __grid_constant__}). */
    public LaunchArgs addTensorMap(TensorMap map) {
        MemorySegment.copy(map.segment(), 0, block, slot(TensorMap.BYTES, TensorMap.ALIGNMENT), TensorMap.BYTES);
        return this;
    }

    /** Number of parameters added since the last {@link #reset()}. */
    public int count() {
        return count;
    }

    /** The {@code void*[]} to pass as {@code kernelParams}. */
    public MemorySegment kernelParams() {
        return params;
    }

    /** The {@code void*[]} as a JCuda pointer, for JCuda's {@code cuLaunchKernel} or graph kernel nodes. */
    public Pointer kernelParamsPointer() {
        return Pointer.to(params.asSlice(0, 8L * Math.max(count, 1)).asByteBuffer());
    }

    /** Reserves an aligned value slot, points the next array entry at it and returns its offset in the block. */
    private long slot(int size, int alignment) {
        long offset = (cursor + alignment - 1) & -alignment;
        if (count == MAX_PARAMS || offset + size > MAX_VALUE_BYTES) {
            throw new IllegalStateException("kernel parameters exceed " + MAX_PARAMS + " entries or "
                    + MAX_VALUE_BYTES + " bytes");
        }
        params.set(JAVA_LONG, 8L * count, base + offset);
        count++;
        cursor = offset + size;
        return offset;
    }

    /** Fills the {@code CUlaunchConfig} (and its attributes) for {@code cfg} on {@code stream}. */
    MemorySegment launchConfig(LaunchConfig cfg, long stream) {
        config.set(JAVA_INT, 0, cfg.gridX());
        config.set(JAVA_INT, 4, cfg.gridY());
        config.set(JAVA_INT, 8, cfg.gridZ());
        config.set(JAVA_INT, 12, cfg.blockX());
        config.set(JAVA_INT, 16, cfg.blockY());
        config.set(JAVA_INT, 20, cfg.blockZ());
        config.set(JAVA_INT, 24, cfg.dynamicSharedMemoryBytes());
        config.set(JAVA_LONG, OFF_STREAM, stream);
        config.set(JAVA_LONG, OFF_ATTRS, base + ATTRS);
        int n = 0;
        if (cfg.hasCluster()) {
            MemorySegment a = attributes[n++];
            a.fill((byte) 0);
            a.set(JAVA_INT, 0, ATTRIBUTE_CLUSTER_DIMENSION);
            a.set(JAVA_INT, OFF_VALUE, cfg.clusterX());
            a.set(JAVA_INT, OFF_VALUE + 4, cfg.clusterY());
            a.set(JAVA_INT, OFF_VALUE + 8, cfg.clusterZ());
        }
        if (cfg.programmaticDependentLaunch()) {
            MemorySegment a = attributes[n++];
            a.fill((byte) 0);
            a.set(JAVA_INT, 0, ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
            a.set(JAVA_INT, OFF_VALUE, 1);
        }
        config.set(JAVA_INT, OFF_NUM_ATTRS, n);
        return config;
    }
}
