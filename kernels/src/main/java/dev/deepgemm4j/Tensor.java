package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * An n-dimensional strided view of {@link TensorStorage}: shape, strides (in elements), element offset and
 * {@link DType}. Views ({@link #transpose}, {@link #select}, {@link #narrow}, {@link #view}) share storage with
 * the tensor they come from; only the tensor that allocated the storage frees it on {@link #close()}.
 *
 * <p>Major-ness is read from strides, as DeepGEMM does: a matrix is K-major (row-major for an [M, K] operand)
 * when {@code stride(-1) == 1}, MN-major when {@code stride(-2) == 1}.
 *
 * <p>Element accessors ({@link #getFloat}, {@link #setFloat}, …) work on host tensors only and are meant for
 * tests, data preparation and the CPU reference, not for hot loops over device data.
 */
public final class Tensor implements AutoCloseable {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final TensorStorage storage;
    private final boolean ownsStorage;
    private final DType dtype;
    private final long[] shape;
    private final long[] strides;
    private final long offset;

    private Tensor(TensorStorage storage, boolean ownsStorage, DType dtype, long[] shape, long[] strides,
            long offset) {
        this.storage = storage;
        this.ownsStorage = ownsStorage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---------------------------------------------------------------- construction

    /** A zero-filled, contiguous (row-major) host tensor. */
    public static Tensor zeros(DType dtype, long... shape) {
        return zerosStrided(dtype, shape.clone(), contiguousStrides(shape));
    }

    /**
     * A zero-filled host tensor with the given strides (e.g. an MN-major scale tensor whose MN stride is padded).
     * The allocation covers the largest element the strides reach.
     */
    public static Tensor zerosStrided(DType dtype, long[] shape, long[] strides) {
        Objects.requireNonNull(dtype, "dtype");
        checkShape(shape, strides);
        long elements = spanElements(shape, strides);
        HostStorage storage = new HostStorage(elements * dtype.byteSize());
        return new Tensor(storage, true, dtype, shape.clone(), strides.clone(), 0);
    }

    /**
     * Wraps existing storage (host or device) as a tensor. The tensor frees the storage on close only if
     * {@code takeOwnership} is true.
     *
     * @throws IllegalArgumentException if the view reaches outside the storage
     */
    public static Tensor wrap(TensorStorage storage, DType dtype, long[] shape, long[] strides, long offset,
            boolean takeOwnership) {
        Objects.requireNonNull(storage, "storage");
        Objects.requireNonNull(dtype, "dtype");
        checkShape(shape, strides);
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, got " + offset);
        }
        long span = spanElements(shape, strides);
        if (span > 0 && (offset + span) * dtype.byteSize() > storage.byteSize()) {
            throw new IllegalArgumentException("view of " + (offset + span) * dtype.byteSize()
                    + " bytes exceeds storage of " + storage.byteSize() + " bytes");
        }
        return new Tensor(storage, takeOwnership, dtype, shape.clone(), strides.clone(), offset);
    }

    /** A contiguous FP32 host tensor holding {@code values} (row-major). */
    public static Tensor ofFloats(float[] values, long... shape) {
        return fromFloats(DType.FP32, values, shape);
    }

    /** A contiguous INT32 host tensor holding {@code values} (row-major). */
    public static Tensor ofInts(int[] values, long... shape) {
        Tensor t = zeros(DType.INT32, shape);
        if (values.length != t.numel()) {
            throw new IllegalArgumentException("values has " + values.length + " elements, shape "
                    + Arrays.toString(shape) + " needs " + t.numel());
        }
        MemorySegment.copy(values, 0, t.storage.hostSegment(), I32, 0, values.length);
        return t;
    }

    /**
     * A contiguous host tensor of {@code dtype} holding {@code values} encoded to that type (FP8 and BF16 round to
     * nearest even; FP8 saturates to ±448; INT32 truncates).
     */
    public static Tensor fromFloats(DType dtype, float[] values, long... shape) {
        Tensor t = zeros(dtype, shape);
        if (values.length != t.numel()) {
            throw new IllegalArgumentException("values has " + values.length + " elements, shape "
                    + Arrays.toString(shape) + " needs " + t.numel());
        }
        if (dtype == DType.FP32) {
            MemorySegment.copy(values, 0, t.storage.hostSegment(), F32, 0, values.length);
        } else {
            for (int i = 0; i < values.length; i++) {
                t.setFloatFlat(i, values[i]);
            }
        }
        return t;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    private static void checkShape(long[] shape, long[] strides) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(strides, "strides");
        if (shape.length != strides.length) {
            throw new IllegalArgumentException("shape has " + shape.length + " dims, strides " + strides.length);
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("shape must be >= 0 in every dim, got " + Arrays.toString(shape));
            }
            if (strides[i] < 0) {
                throw new IllegalArgumentException("strides must be >= 0, got " + Arrays.toString(strides));
            }
        }
    }

    /** Number of elements from the first to one past the last element reachable with these strides. */
    private static long spanElements(long[] shape, long[] strides) {
        long last = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return 0;
            }
            last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
        }
        return last + 1;
    }

    // ---------------------------------------------------------------- metadata

    /** Element type. */
    public DType dtype() {
        return dtype;
    }

    /** Where the memory lives. */
    public Location location() {
        return storage.location();
    }

    /** The storage this tensor views. */
    public TensorStorage storage() {
        return storage;
    }

    /** Copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** Copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    /** Offset of element [0, …, 0] from the start of storage, in elements. */
    public long offset() {
        return offset;
    }

    /** Number of dimensions. */
    public int dim() {
        return shape.length;
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end. */
    public long size(int d) {
        return shape[axis(d)];
    }

    /** Stride (in elements) of dimension {@code d}; negative {@code d} counts from the end. */
    public long stride(int d) {
        return strides[axis(d)];
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** Whether the elements are laid out row-major without gaps. */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /** Raw address of element [0, …, 0] (host or device address). */
    public long dataAddress() {
        return storage.address() + offset * dtype.byteSize();
    }

    /**
     * The half-open byte range [first, last + 1) of storage that this view can touch, relative to the storage start;
     * {@code {0, 0}} for an empty tensor.
     */
    public long[] byteRange() {
        long span = spanElements(shape, strides);
        if (span == 0) {
            return new long[] {0, 0};
        }
        return new long[] {offset * dtype.byteSize(), (offset + span) * dtype.byteSize()};
    }

    /** Whether this and {@code other} view the same storage. */
    public boolean sharesStorageWith(Tensor other) {
        return other != null && storage == other.storage;
    }

    /** Whether the byte ranges of this and {@code other} in one storage intersect (conservative for strides). */
    public boolean overlaps(Tensor other) {
        if (!sharesStorageWith(other)) {
            return false;
        }
        long[] a = byteRange();
        long[] b = other.byteRange();
        return a[0] < a[1] && b[0] < b[1] && a[0] < b[1] && b[0] < a[1];
    }

    private int axis(int d) {
        int a = d < 0 ? d + shape.length : d;
        if (a < 0 || a >= shape.length) {
            throw new IndexOutOfBoundsException("dim " + d + " out of range for " + shape.length + "-d tensor");
        }
        return a;
    }

    // ---------------------------------------------------------------- views

    /** View with dimensions {@code d0} and {@code d1} swapped (no copy). */
    public Tensor transpose(int d0, int d1) {
        int a = axis(d0);
        int b = axis(d1);
        long[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(storage, false, dtype, s, st, offset);
    }

    /** View with the last two dimensions swapped. */
    public Tensor t() {
        return transpose(-2, -1);
    }

    /** View of index {@code index} along dimension {@code d}, which is removed. */
    public Tensor select(int d, long index) {
        int a = axis(d);
        Objects.checkIndex(index, shape[a]);
        long[] s = new long[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != a) {
                s[j] = shape[i];
                st[j++] = strides[i];
            }
        }
        return new Tensor(storage, false, dtype, s, st, offset + index * strides[a]);
    }

    /** View of {@code length} indices starting at {@code start} along dimension {@code d}. */
    public Tensor narrow(int d, long start, long length) {
        int a = axis(d);
        Objects.checkFromIndexSize(start, length, shape[a]);
        long[] s = shape.clone();
        s[a] = length;
        return new Tensor(storage, false, dtype, s, strides.clone(), offset + (length == 0 ? 0 : start * strides[a]));
    }

    /**
     * View with a new shape over the same elements; the tensor must be contiguous.
     *
     * @throws IllegalArgumentException if the element count differs or the tensor is not contiguous
     */
    public Tensor view(long... newShape) {
        long n = 1;
        for (long s : newShape) {
            n *= s;
        }
        if (n != numel()) {
            throw new IllegalArgumentException("cannot view " + Arrays.toString(shape) + " as "
                    + Arrays.toString(newShape) + ": element counts differ");
        }
        if (!isContiguous()) {
            throw new IllegalArgumentException("view needs a contiguous tensor, strides are " + Arrays.toString(strides));
        }
        return new Tensor(storage, false, dtype, newShape.clone(), contiguousStrides(newShape), offset);
    }

    /** View with arbitrary shape, strides and element offset over the same storage. */
    public Tensor asStrided(long[] newShape, long[] newStrides, long newOffset) {
        return wrap(storage, dtype, newShape, newStrides, newOffset, false);
    }

    /** View of the same bytes as another dtype of equal element size (e.g. INT32 as UE8M0_PACKED). */
    public Tensor reinterpret(DType other) {
        if (other.byteSize() != dtype.byteSize()) {
            throw new IllegalArgumentException("cannot reinterpret " + dtype + " as " + other
                    + ": element sizes differ");
        }
        return new Tensor(storage, false, other, shape.clone(), strides.clone(), offset);
    }

    // ---------------------------------------------------------------- host element access

    /** Element offset (from storage start) of a multi-index. */
    public long elementOffset(long... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index has " + index.length + " dims, tensor " + shape.length);
        }
        long off = offset;
        for (int i = 0; i < index.length; i++) {
            Objects.checkIndex(index[i], shape[i]);
            off += index[i] * strides[i];
        }
        return off;
    }

    /** The host segment of the storage (whole storage, not just this view). */
    public MemorySegment hostSegment() {
        if (!storage.location().isHost()) {
            throw new UnsupportedOperationException("tensor is on " + storage.location() + ", not in host memory");
        }
        return storage.hostSegment();
    }

    /** Element at {@code index} decoded to float (FP8, BF16, FP32, INT32, UINT8). */
    public float getFloat(long... index) {
        return readFloat(hostSegment(), dtype, elementOffset(index));
    }

    /** Stores {@code value} at {@code index}, encoded to this tensor's dtype. */
    public void setFloat(float value, long... index) {
        writeFloat(hostSegment(), dtype, elementOffset(index), value);
    }

    /** 32-bit element at {@code index} (INT32 or UE8M0_PACKED; FP32 as raw bits). */
    public int getInt(long... index) {
        requireSize(4);
        return hostSegment().get(I32, elementOffset(index) * 4);
    }

    /** Stores a 32-bit element at {@code index}. */
    public void setInt(int value, long... index) {
        requireSize(4);
        hostSegment().set(I32, elementOffset(index) * 4, value);
    }

    /** Raw byte at {@code index} (FP8 or UINT8). */
    public byte getByte(long... index) {
        requireSize(1);
        return hostSegment().get(ValueLayout.JAVA_BYTE, elementOffset(index));
    }

    /** Stores a raw byte at {@code index}. */
    public void setByte(byte value, long... index) {
        requireSize(1);
        hostSegment().set(ValueLayout.JAVA_BYTE, elementOffset(index), value);
    }

    private void requireSize(int bytes) {
        if (dtype.byteSize() != bytes) {
            throw new UnsupportedOperationException(dtype + " elements are not " + bytes + " bytes wide");
        }
    }

    /** All elements in row-major logical order, decoded to float. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        MemorySegment seg = hostSegment();
        int[] i = {0};
        forEachOffset(off -> out[i[0]++] = readFloat(seg, dtype, off));
        return out;
    }

    /** All elements in row-major logical order as ints (INT32 / UE8M0_PACKED). */
    public int[] toIntArray() {
        requireSize(4);
        int[] out = new int[Math.toIntExact(numel())];
        MemorySegment seg = hostSegment();
        int[] i = {0};
        forEachOffset(off -> out[i[0]++] = seg.get(I32, off * 4));
        return out;
    }

    /** All elements in row-major logical order as raw bytes (FP8 / UINT8). */
    public byte[] toByteArray() {
        requireSize(1);
        byte[] out = new byte[Math.toIntExact(numel())];
        MemorySegment seg = hostSegment();
        int[] i = {0};
        forEachOffset(off -> out[i[0]++] = seg.get(ValueLayout.JAVA_BYTE, off));
        return out;
    }

    /** Sets every element to {@code value} (encoded to the dtype). */
    public void fill(float value) {
        MemorySegment seg = hostSegment();
        forEachOffset(off -> writeFloat(seg, dtype, off, value));
    }

    /** Sets every element's bytes to {@code pattern} repeated (e.g. 0xFF to poison an output). */
    public void fillBytes(byte pattern) {
        MemorySegment seg = hostSegment();
        int size = dtype.byteSize();
        forEachOffset(off -> seg.asSlice(off * size, size).fill(pattern));
    }

    /**
     * Copies {@code src}'s elements into this tensor (same shape, same dtype, same location), honouring both tensors'
     * strides. In host memory the copy is done when this returns; on a GPU it is queued on the current stream, like
     * the operators.
     */
    public void copyFrom(Tensor src) {
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("copy needs equal shapes, got " + Arrays.toString(src.shape) + " into "
                    + Arrays.toString(shape));
        }
        if (src.dtype != dtype) {
            throw new IllegalArgumentException("copy needs equal dtypes, got " + src.dtype + " into " + dtype);
        }
        if (!location().isHost() || !src.location().isHost()) {
            Checks.requireSameLocation("src", src, "this", this);
            Backends.forTensor("this", this).copy(src, this);
            return;
        }
        MemorySegment dst = hostSegment();
        MemorySegment from = src.hostSegment();
        int size = dtype.byteSize();
        if (isContiguous() && src.isContiguous()) {
            MemorySegment.copy(from, src.offset * size, dst, offset * size, numel() * size);
            return;
        }
        long[] idx = new long[shape.length];
        long n = numel();
        for (long e = 0; e < n; e++) {
            long so = src.offset;
            long dOff = offset;
            for (int d = 0; d < idx.length; d++) {
                so += idx[d] * src.strides[d];
                dOff += idx[d] * strides[d];
            }
            MemorySegment.copy(from, so * size, dst, dOff * size, size);
            increment(idx);
        }
    }

    /** A new contiguous host tensor with the same shape, dtype and values. */
    public Tensor contiguousCopy() {
        Tensor t = zeros(dtype, shape);
        t.copyFrom(this);
        return t;
    }

    /** Visits the element offsets (from storage start) of all elements in row-major logical order. */
    public void forEachOffset(java.util.function.LongConsumer action) {
        long n = numel();
        if (n == 0) {
            return;
        }
        long[] idx = new long[shape.length];
        long off = offset;
        for (long e = 0; e < n; e++) {
            action.accept(off);
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d]++;
                off += strides[d];
                if (idx[d] < shape[d]) {
                    break;
                }
                off -= idx[d] * strides[d];
                idx[d] = 0;
            }
        }
    }

    private void increment(long[] idx) {
        for (int d = idx.length - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) {
                return;
            }
            idx[d] = 0;
        }
    }

    private void setFloatFlat(long i, float v) {
        writeFloat(storage.hostSegment(), dtype, offset + i, v);
    }

    /** Reads element at element offset {@code off} of a host segment, decoded to float. */
    public static float readFloat(MemorySegment seg, DType dtype, long off) {
        return switch (dtype) {
            case FP32 -> seg.get(F32, off * 4);
            case BF16 -> Bf16.toFloat(seg.get(I16, off * 2));
            case FP8_E4M3 -> Fp8E4M3.toFloat(seg.get(ValueLayout.JAVA_BYTE, off));
            case INT32 -> seg.get(I32, off * 4);
            case UINT8 -> seg.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
            case UE8M0_PACKED -> throw new UnsupportedOperationException(
                    "UE8M0_PACKED holds four scales per element; use getInt and Ue8m0");
        };
    }

    /** Writes {@code v} encoded to {@code dtype} at element offset {@code off} of a host segment. */
    public static void writeFloat(MemorySegment seg, DType dtype, long off, float v) {
        switch (dtype) {
            case FP32 -> seg.set(F32, off * 4, v);
            case BF16 -> seg.set(I16, off * 2, Bf16.fromFloat(v));
            case FP8_E4M3 -> seg.set(ValueLayout.JAVA_BYTE, off, Fp8E4M3.fromFloat(v));
            case INT32 -> seg.set(I32, off * 4, (int) v);
            case UINT8 -> seg.set(ValueLayout.JAVA_BYTE, off, (byte) (int) v);
            case UE8M0_PACKED -> throw new UnsupportedOperationException(
                    "UE8M0_PACKED holds four scales per element; use setInt and Ue8m0");
        }
    }

    // ---------------------------------------------------------------- placement

    /**
     * A zero-filled, contiguous tensor at {@code location} (host memory or a GPU).
     *
     * @throws DeepGemmArgumentException if no backend runs at that location
     */
    public static Tensor zeros(Location location, DType dtype, long... shape) {
        Backend backend = Backends.forLocation("location", location);
        return backend.allocate(dtype, shape.clone(), contiguousStrides(shape), location);
    }

    /**
     * A contiguous copy of this tensor at {@code target}; this tensor itself when it already lives there. The copy
     * owns its memory: close it when done.
     */
    public Tensor to(Location target) {
        if (target.equals(location())) {
            return this;
        }
        Backend backend = target.isHost() ? Backends.forLocation("tensor", location())
                : Backends.forLocation("target", target);
        Tensor out = backend.allocate(dtype, shape.clone(), contiguousStrides(shape), target);
        backend.copy(this, out);
        return out;
    }

    /** A contiguous host copy (this tensor itself when already in host memory). */
    public Tensor toHost() {
        return to(Location.HOST);
    }

    // ---------------------------------------------------------------- lifecycle

    /** Frees the storage if this tensor allocated (or took ownership of) it; views do nothing. */
    @Override
    public void close() {
        if (ownsStorage) {
            storage.close();
        }
    }

    @Override
    public String toString() {
        return "Tensor(" + dtype + ", shape=" + Arrays.toString(shape) + ", strides=" + Arrays.toString(strides)
                + ", " + storage.location() + ")";
    }
}
