package dev.deepgemm4j.cuda;

import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.TensorStorage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * Copies and fills between host memory and device memory, synchronously or queued on a stream, plus helpers that
 * move whole {@link Tensor}s. Offsets and sizes are in bytes and are checked against the storage before the driver
 * sees them.
 *
 * <p>Asynchronous copies from or to host memory read or write it when the stream gets there: keep it alive and
 * untouched until the stream is synchronised. Host memory allocated by {@link Tensor} is pageable, so the driver
 * stages such copies; they overlap little with other work.
 */
public final class CudaCopy {

    private CudaCopy() {
    }

    /** Copies all of {@code src} (host) to {@code dst} at {@code dstOffset}. */
    public static void hostToDevice(MemorySegment src, DeviceMemory dst, long dstOffset) {
        hostToDevice(src, dst, dstOffset, null);
    }

    /** Queues a copy of all of {@code src} (host) to {@code dst} at {@code dstOffset} on {@code stream}. */
    public static void hostToDeviceAsync(MemorySegment src, DeviceMemory dst, long dstOffset, CudaStream stream) {
        hostToDevice(src, dst, dstOffset, requireStream(stream));
    }

    /** Copies {@code dst.byteSize()} bytes from {@code src} at {@code srcOffset} into {@code dst} (host). */
    public static void deviceToHost(DeviceMemory src, long srcOffset, MemorySegment dst) {
        deviceToHost(src, srcOffset, dst, null);
    }

    /** Queues a copy of {@code dst.byteSize()} bytes from {@code src} at {@code srcOffset} into {@code dst}. */
    public static void deviceToHostAsync(DeviceMemory src, long srcOffset, MemorySegment dst, CudaStream stream) {
        deviceToHost(src, srcOffset, dst, requireStream(stream));
    }

    /** Copies {@code bytes} from {@code src} at {@code srcOffset} to {@code dst} at {@code dstOffset}. */
    public static void deviceToDevice(DeviceMemory src, long srcOffset, DeviceMemory dst, long dstOffset,
            long bytes) {
        deviceToDevice(src, srcOffset, dst, dstOffset, bytes, null);
    }

    /** Queues a device-to-device copy on {@code stream}. */
    public static void deviceToDeviceAsync(DeviceMemory src, long srcOffset, DeviceMemory dst, long dstOffset,
            long bytes, CudaStream stream) {
        deviceToDevice(src, srcOffset, dst, dstOffset, bytes, requireStream(stream));
    }

    /** Sets {@code count} bytes of {@code dst} from {@code offset} to {@code value}. */
    public static void memsetD8(DeviceMemory dst, long offset, long count, byte value) {
        memset(dst, offset, count, 1, value, null);
    }

    /** Sets {@code count} 16-bit words of {@code dst} from {@code offset} (2-aligned) to {@code value}. */
    public static void memsetD16(DeviceMemory dst, long offset, long count, short value) {
        memset(dst, offset, count, 2, value, null);
    }

    /** Sets {@code count} 32-bit words of {@code dst} from {@code offset} (4-aligned) to {@code value}. */
    public static void memsetD32(DeviceMemory dst, long offset, long count, int value) {
        memset(dst, offset, count, 4, value, null);
    }

    /** Queues {@link #memsetD8} on {@code stream}. */
    public static void memsetD8Async(DeviceMemory dst, long offset, long count, byte value, CudaStream stream) {
        memset(dst, offset, count, 1, value, requireStream(stream));
    }

    /** Queues {@link #memsetD16} on {@code stream}. */
    public static void memsetD16Async(DeviceMemory dst, long offset, long count, short value, CudaStream stream) {
        memset(dst, offset, count, 2, value, requireStream(stream));
    }

    /** Queues {@link #memsetD32} on {@code stream}. */
    public static void memsetD32Async(DeviceMemory dst, long offset, long count, int value, CudaStream stream) {
        memset(dst, offset, count, 4, value, requireStream(stream));
    }

    // ---------------------------------------------------------------- tensors

    /**
     * A new device tensor on device {@code ordinal} with {@code host}'s shape, strides and values (the bytes its
     * strides span are copied, gaps included). The returned tensor owns its memory.
     */
    public static Tensor toDevice(Tensor host, int ordinal) {
        requireHost(host, "host");
        long[] range = host.byteRange();
        DeviceMemory memory = DeviceMemory.allocate(ordinal, range[1] - range[0]);
        try {
            copyBytes(host.storage().address() + range[0], Location.HOST, memory.address(), memory.location(),
                    range[1] - range[0], null);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        return Tensor.wrap(memory, host.dtype(), host.shape(), host.strides(), 0, true);
    }

    /** A new host tensor with {@code device}'s shape, strides and values. */
    public static Tensor toHost(Tensor device) {
        if (device.location().isHost()) {
            throw new IllegalArgumentException("tensor is already in host memory");
        }
        long[] range = device.byteRange();
        Tensor host = Tensor.zerosStrided(device.dtype(), device.shape(), device.strides());
        copyBytes(device.storage().address() + range[0], device.location(), host.storage().address(),
                Location.HOST, range[1] - range[0], null);
        return host;
    }

    /**
     * Copies {@code src} into {@code dst}: same shape, dtype and strides, both without gaps (every byte in their
     * span is an element), in any direction between host and device.
     */
    public static void copy(Tensor src, Tensor dst) {
        copyTensor(src, dst, null);
    }

    /** Queues {@link #copy} on {@code stream} (host tensors must stay alive until the stream is synchronised). */
    public static void copyAsync(Tensor src, Tensor dst, CudaStream stream) {
        copyTensor(src, dst, requireStream(stream));
    }

    private static void copyTensor(Tensor src, Tensor dst, CudaStream stream) {
        if (!Arrays.equals(src.shape(), dst.shape()) || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("copy needs equal shapes and dtypes, got " + src + " into " + dst);
        }
        if (!Arrays.equals(src.strides(), dst.strides()) || !isDense(src)) {
            throw new IllegalArgumentException("copy needs equal strides without gaps, got " + src + " into " + dst
                    + "; use toDevice/toHost or a contiguous copy");
        }
        long[] s = src.byteRange();
        long[] d = dst.byteRange();
        copyBytes(src.storage().address() + s[0], src.location(), dst.storage().address() + d[0], dst.location(),
                s[1] - s[0], stream);
    }

    private static boolean isDense(Tensor t) {
        long[] r = t.byteRange();
        return r[1] - r[0] == t.numel() * t.dtype().byteSize();
    }

    private static void requireHost(Tensor t, String name) {
        if (!t.location().isHost()) {
            throw new IllegalArgumentException(name + " must be in host memory, is on " + t.location());
        }
    }

    // ---------------------------------------------------------------- primitives

    private static void hostToDevice(MemorySegment src, DeviceMemory dst, long dstOffset, CudaStream stream) {
        checkRange(dst, dstOffset, src.byteSize());
        withNative(src, true, s -> copyBytes(s.address(), Location.HOST, dst.address() + dstOffset, dst.location(),
                s.byteSize(), stream));
    }

    private static void deviceToHost(DeviceMemory src, long srcOffset, MemorySegment dst, CudaStream stream) {
        checkRange(src, srcOffset, dst.byteSize());
        if (!dst.isNative() && stream != null) {
            throw new IllegalArgumentException("asynchronous copies need native host memory, got a heap segment");
        }
        withNative(dst, false, d -> copyBytes(src.address() + srcOffset, src.location(), d.address(),
                Location.HOST, d.byteSize(), stream));
    }

    private static void deviceToDevice(DeviceMemory src, long srcOffset, DeviceMemory dst, long dstOffset,
            long bytes, CudaStream stream) {
        checkRange(src, srcOffset, bytes);
        checkRange(dst, dstOffset, bytes);
        copyBytes(src.address() + srcOffset, src.location(), dst.address() + dstOffset, dst.location(), bytes,
                stream);
    }

    /** Runs {@code copy} on {@code segment}, staging a heap segment through native memory. */
    private static void withNative(MemorySegment segment, boolean isSource,
            java.util.function.Consumer<MemorySegment> copy) {
        if (segment.isNative()) {
            copy.accept(segment);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staged = arena.allocate(segment.byteSize(), 16);
            if (isSource) {
                staged.copyFrom(segment);
            }
            copy.accept(staged);
            if (!isSource) {
                segment.copyFrom(staged);
            }
        }
    }

    private static void copyBytes(long src, Location srcAt, long dst, Location dstAt, long bytes,
            CudaStream stream) {
        if (bytes == 0) {
            return;
        }
        Location device = srcAt.isHost() ? dstAt : srcAt;
        if (device.isHost()) {
            MemorySegment.copy(MemorySegment.ofAddress(src).reinterpret(bytes), 0,
                    MemorySegment.ofAddress(dst).reinterpret(bytes), 0, bytes);
            return;
        }
        CudaContext context = CudaContext.of(device.deviceOrdinal());
        if (stream != null && stream.ordinal() != device.deviceOrdinal()) {
            throw new IllegalArgumentException("stream is on cuda:" + stream.ordinal() + ", memory on " + device);
        }
        context.makeCurrent();
        CUstream s = stream == null ? null : stream.handle();
        String what;
        int r;
        if (srcAt.isHost()) {
            what = "cuMemcpyHtoD";
            r = s == null ? JCudaDriver.cuMemcpyHtoD(JCudaHandles.devicePointer(dst), JCudaHandles.hostPointer(src),
                    bytes) : JCudaDriver.cuMemcpyHtoDAsync(JCudaHandles.devicePointer(dst),
                    JCudaHandles.hostPointer(src), bytes, s);
        } else if (dstAt.isHost()) {
            what = "cuMemcpyDtoH";
            r = s == null ? JCudaDriver.cuMemcpyDtoH(JCudaHandles.hostPointer(dst), JCudaHandles.devicePointer(src),
                    bytes) : JCudaDriver.cuMemcpyDtoHAsync(JCudaHandles.hostPointer(dst),
                    JCudaHandles.devicePointer(src), bytes, s);
        } else {
            what = "cuMemcpyDtoD";
            r = s == null ? JCudaDriver.cuMemcpyDtoD(JCudaHandles.devicePointer(dst), JCudaHandles.devicePointer(src),
                    bytes) : JCudaDriver.cuMemcpyDtoDAsync(JCudaHandles.devicePointer(dst),
                    JCudaHandles.devicePointer(src), bytes, s);
        }
        CudaException.check(r, what + (s == null ? "" : "Async") + "(" + bytes + " B) " + srcAt + " -> " + dstAt);
    }

    private static void memset(DeviceMemory dst, long offset, long count, int width, int value, CudaStream stream) {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
        if (offset % width != 0) {
            throw new IllegalArgumentException("offset " + offset + " is not a multiple of the " + width
                    + "-byte word");
        }
        checkRange(dst, offset, Math.multiplyExact(count, width));
        if (count == 0) {
            return;
        }
        dst.context().makeCurrent();
        var p = JCudaHandles.devicePointer(dst.address() + offset);
        CUstream s = stream == null ? null : stream.handle();
        int r = switch (width) {
            case 1 -> s == null ? JCudaDriver.cuMemsetD8(p, (byte) value, count)
                    : JCudaDriver.cuMemsetD8Async(p, (byte) value, count, s);
            case 2 -> s == null ? JCudaDriver.cuMemsetD16(p, (short) value, count)
                    : JCudaDriver.cuMemsetD16Async(p, (short) value, count, s);
            default -> s == null ? JCudaDriver.cuMemsetD32(p, value, count)
                    : JCudaDriver.cuMemsetD32Async(p, value, count, s);
        };
        CudaException.check(r, "cuMemsetD" + width * 8 + (s == null ? "" : "Async") + "(" + count + ") on "
                + dst.location());
    }

    private static void checkRange(TensorStorage storage, long offset, long bytes) {
        if (offset < 0 || bytes < 0 || offset > storage.byteSize() - bytes) {
            throw new IndexOutOfBoundsException("byte range [" + offset + ", " + offset + " + " + bytes
                    + ") is outside the " + storage.byteSize() + "-byte " + storage.location() + " storage");
        }
    }

    private static CudaStream requireStream(CudaStream stream) {
        if (stream == null) {
            throw new NullPointerException("stream");
        }
        stream.checkOpen();
        return stream;
    }
}
