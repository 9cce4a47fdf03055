package dev.deepgemm4j.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrayAdapter;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.TensorStorage;
import java.lang.foreign.MemorySegment;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;

/**
 * An {@link NDArray} of {@link DeepGemmEngine}: a deepgemm4j {@link Tensor} in host or GPU memory that the array
 * owns. {@link Fp8Ops} and the FP8 blocks use it in place; operators this engine does not implement run on the
 * alternative engine through a host copy (counted by {@link DeepGemmEngine#fallbackCount()}).
 *
 * <p><b>FP8 marker.</b> DJL has no FP8 data type, so FP8 E4M3 data is a {@link DataType#UINT8} array whose tensor
 * has dtype {@link DType#FP8_E4M3}; {@link #isFp8()} reads that marker. It belongs to the array itself (not to its
 * name), so renaming, attaching or detaching keeps it. It does not survive leaving the engine (a copy to another
 * engine, {@code encode}, saving a parameter): outside, FP8 data is plain UINT8 codes, and {@link Fp8Ops} reads any
 * UINT8 array passed where an FP8 operand is expected as E4M3 codes. Packed UE8M0 scales are INT32 arrays (four
 * exponents per word) the same way.
 */
public final class DeepGemmNDArray extends NDArrayAdapter {

    private static final StackWalker STACK = StackWalker.getInstance();
    /** How deep below {@link #toByteBuffer} a fallback's {@code getAlternativeArray} frame can be. */
    private static final int FALLBACK_FRAME_DEPTH = 16;

    private Tensor tensor;
    private TensorStorage storage;

    DeepGemmNDArray(DeepGemmNDManager manager, Tensor tensor, DataType dataType) {
        super(manager, manager.alternative(), new Shape(tensor.shape()), dataType, NDManager.nextUid());
        this.tensor = tensor;
        this.storage = tensor.storage();
        engine().arrayAllocated();
        manager.attachInternal(uid, this);
    }

    private static DeepGemmEngine engine() {
        return DeepGemmEngine.getInstance();
    }

    /**
     * The array's tensor, for deepgemm4j's own API. It stays owned by this array: do not close it, and do not use it
     * after the array is closed.
     *
     * @throws IllegalStateException if the array is closed
     */
    public Tensor tensor() {
        if (isClosed) {
            throw new IllegalStateException("array " + uid + " has been closed");
        }
        return tensor;
    }

    /** Whether this array holds FP8 E4M3 codes (its data type then is {@link DataType#UINT8}). */
    public boolean isFp8() {
        return tensor().dtype() == DType.FP8_E4M3;
    }

    /** Where the array's memory lives. */
    public Location location() {
        return tensor().location();
    }

    /**
     * A copy of the elements in row-major order, native byte order (a device-to-host copy for GPU arrays). When the
     * caller is a fallback to the alternative engine, it is counted and logged.
     */
    @Override
    public ByteBuffer toByteBuffer(boolean tryDirect) {
        Tensor t = tensor();
        fallbackOperation().ifPresent(op -> engine().countFallback(op, this));
        Tensor host = Placement.hostContiguous(t);
        try {
            long bytes = host.numel() * host.dtype().byteSize();
            ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder());
            MemorySegment.copy(host.hostSegment(), host.offset() * host.dtype().byteSize(),
                    MemorySegment.ofBuffer(buffer), 0, bytes);
            return buffer;
        } finally {
            if (host != t) {
                host.close();
            }
        }
    }

    /**
     * The NDArrayAdapter operator that is copying this array to the alternative engine, if that is why the bytes are
     * wanted: every fallback reads them through the adapter's private {@code getAlternativeArray}.
     */
    private static Optional<String> fallbackOperation() {
        List<StackWalker.StackFrame> frames = STACK.walk(s -> s.limit(FALLBACK_FRAME_DEPTH).toList());
        for (int i = 0; i + 1 < frames.size(); i++) {
            StackWalker.StackFrame f = frames.get(i);
            if (f.getClassName().equals(NDArrayAdapter.class.getName())
                    && f.getMethodName().equals("getAlternativeArray")) {
                return Optional.of(frames.get(i + 1).getMethodName());
            }
        }
        return Optional.empty();
    }

    /** Arrays of this engine track no gradients (it runs inference only): asking for them is an error. */
    @Override
    public void setRequiresGradient(boolean requiresGrad) {
        if (requiresGrad) {
            throw new UnsupportedOperationException(DeepGemmEngine.ENGINE_NAME
                    + " arrays track no gradients: the engine runs inference only");
        }
    }

    /** Replaces the contents (same shape and data type) with the buffer's elements. */
    @Override
    public void set(Buffer buffer) {
        Tensor old = tensor();
        Tensor fresh = Placement.moveTo(DeepGemmNDManager.hostTensor(buffer, getShape(), getDataType()),
                old.location());
        // Keep what the bytes mean (FP8 codes, packed UE8M0 scales): the data type alone does not say.
        fresh = fresh.dtype() == old.dtype() ? fresh : fresh.reinterpret(old.dtype());
        freeStorage();
        tensor = fresh;
        storage = fresh.storage();
        engine().arrayAllocated();
    }

    /** Takes over the memory of {@code replaced}, an array of this engine, which is closed. */
    @Override
    public void intern(NDArray replaced) {
        if (!(replaced instanceof DeepGemmNDArray other)) {
            throw new IllegalArgumentException("intern needs an array of " + DeepGemmEngine.ENGINE_NAME + ", got "
                    + replaced.getClass().getName());
        }
        Location here = location();
        Tensor t = other.tensor();
        // The storage changes owner without being freed, so it stays counted once.
        other.storage = null;
        other.close();
        freeStorage();
        tensor = Placement.moveTo(t, here);
        storage = tensor.storage();
        shape = other.shape;
        dataType = other.dataType;
    }

    /** Moves the array to the root manager, so no manager frees it; close it yourself. */
    @Override
    public void detach() {
        manager.detachInternal(getUid());
        manager = DeepGemmNDManager.system();
        alternativeManager = DeepGemmNDManager.system().alternative();
    }

    /** A copy on {@code device} (host↔GPU copies without the alternative engine). */
    @Override
    public NDArray toDevice(Device device, boolean copy) {
        if (device.equals(getDevice()) && !copy) {
            return this;
        }
        // The manager may be another engine's (after attach); the copy goes to a manager of this engine below it.
        DeepGemmNDManager target = DeepGemmNDManager.ownedBy(manager, device);
        NDArray array = target.adopt(Placement.copyAt(tensor(), target.location()), getDataType());
        array.setName(getName());
        return array;
    }

    @Override
    public NDArray duplicate() {
        return toDevice(getDevice(), true);
    }

    /** Frees the memory (and the alternative engine's copy, if a fallback made one). */
    @Override
    public void close() {
        if (!isClosed) {
            super.close();
            freeStorage();
        }
    }

    private void freeStorage() {
        if (storage != null) {
            storage.close();
            storage = null;
            engine().arrayFreed();
        }
    }
}
