package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * {@code Backend.copy} for device tensors: host↔device and device↔device, any strides on either side. Tensors laid
 * out alike without gaps move as one block; otherwise the host side is staged through a contiguous host tensor and
 * the device side through a contiguous device buffer plus the strided copy kernel. Copies touching host memory are
 * queued on the device's current stream and then wait for it, so host memory is safe to read (and to free) on
 * return; device-to-device copies stay asynchronous. Copies between two devices pass through host memory.
 */
final class TensorCopies {

    private final IntFunction<GpuDevice> devices;

    TensorCopies(IntFunction<GpuDevice> devices) {
        this.devices = devices;
    }

    void copy(Tensor src, Tensor dst) {
        if (src.numel() == 0) {
            return;
        }
        boolean srcHost = src.location().isHost();
        boolean dstHost = dst.location().isHost();
        if (srcHost && dstHost) {
            dst.copyFrom(src);
        } else if (srcHost) {
            hostToDevice(src, dst);
        } else if (dstHost) {
            deviceToHost(src, dst);
        } else if (src.location().equals(dst.location())) {
            deviceToDevice(devices.apply(dst.location().deviceOrdinal()), src, dst);
        } else {
            try (Tensor staging = Tensor.zeros(src.dtype(), src.shape())) {
                deviceToHost(src, staging);
                hostToDevice(staging, dst);
            }
        }
    }

    private void hostToDevice(Tensor src, Tensor dst) {
        GpuDevice device = devices.apply(dst.location().deviceOrdinal());
        CudaStream stream = device.stream();
        long bytes = byteCount(src);
        if (sameDenseLayout(src, dst)) {
            CudaCopy.hostToDeviceAsync(hostBytes(src, src.byteRange()[0], bytes), memory(dst), dst.byteRange()[0],
                    stream);
            stream.synchronize();
            return;
        }
        Tensor host = src.isContiguous() ? src : src.contiguousCopy();
        try (Tensor staging = dst.isContiguous() ? null : contiguousOnDevice(device, dst)) {
            Tensor target = staging == null ? dst : staging;
            CudaCopy.hostToDeviceAsync(hostBytes(host, firstByte(host), bytes), memory(target), firstByte(target),
                    stream);
            if (staging != null) {
                ScaleLayoutLauncher.copy(device, staging, dst);
            }
            stream.synchronize();
        } finally {
            if (host != src) {
                host.close();
            }
        }
    }

    private void deviceToHost(Tensor src, Tensor dst) {
        GpuDevice device = devices.apply(src.location().deviceOrdinal());
        CudaStream stream = device.stream();
        long bytes = byteCount(src);
        if (sameDenseLayout(src, dst)) {
            CudaCopy.deviceToHostAsync(memory(src), src.byteRange()[0], hostBytes(dst, dst.byteRange()[0], bytes),
                    stream);
            stream.synchronize();
            return;
        }
        Tensor host = dst.isContiguous() ? dst : Tensor.zeros(dst.dtype(), dst.shape());
        try (Tensor staging = src.isContiguous() ? null : contiguousOnDevice(device, src)) {
            Tensor source = staging == null ? src : staging;
            if (staging != null) {
                ScaleLayoutLauncher.copy(device, src, staging);
            }
            CudaCopy.deviceToHostAsync(memory(source), firstByte(source), hostBytes(host, firstByte(host), bytes),
                    stream);
            stream.synchronize();
            if (host != dst) {
                dst.copyFrom(host);
            }
        } finally {
            if (host != dst) {
                host.close();
            }
        }
    }

    private static void deviceToDevice(GpuDevice device, Tensor src, Tensor dst) {
        if (sameDenseLayout(src, dst)) {
            long[] s = src.byteRange();
            CudaCopy.deviceToDeviceAsync(memory(src), s[0], memory(dst), dst.byteRange()[0], s[1] - s[0],
                    device.stream());
        } else {
            ScaleLayoutLauncher.copy(device, src, dst);
        }
    }

    /** A contiguous device tensor shaped like {@code like}, its memory stream-ordered on the current stream. */
    private static Tensor contiguousOnDevice(GpuDevice device, Tensor like) {
        DeviceMemory memory = DeviceMemory.allocateAsync(device.stream(), byteCount(like));
        return Tensor.wrap(memory, like.dtype(), like.shape(), contiguousStrides(like.shape()), 0, true);
    }

    /**
     * Equal shapes and strides (over dimensions longer than 1) and no gaps: the elements then sit in the same order
     * in one block of {@code numel · elementSize} bytes on both sides.
     */
    private static boolean sameDenseLayout(Tensor a, Tensor b) {
        long[] shape = a.shape();
        long[] sa = a.strides();
        long[] sb = b.strides();
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > 1 && sa[d] != sb[d]) {
                return false;
            }
        }
        return dense(a) && dense(b);
    }

    private static boolean dense(Tensor t) {
        long[] r = t.byteRange();
        return r[1] - r[0] == byteCount(t);
    }

    private static long byteCount(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }

    /** Byte offset of element [0, …, 0] in the storage. */
    private static long firstByte(Tensor t) {
        return t.offset() * t.dtype().byteSize();
    }

    private static MemorySegment hostBytes(Tensor t, long offset, long bytes) {
        return t.hostSegment().asSlice(offset, bytes);
    }

    private static DeviceMemory memory(Tensor t) {
        if (t.storage() instanceof DeviceMemory m) {
            return m;
        }
        throw new IllegalArgumentException("device tensor " + t + " is not backed by DeviceMemory");
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
}
