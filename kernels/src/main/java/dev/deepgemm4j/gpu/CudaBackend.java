package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaDevice;
import dev.deepgemm4j.cuda.CudaRuntime;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import java.util.List;

/**
 * The CUDA backend: every device of the process, each with its own context, loaded kernels and launch path
 * ({@link GpuDevice}). Operations are asynchronous: they queue kernels on the calling thread's current stream of the
 * tensors' device ({@link CurrentStream}) and return; copies into host memory wait for that stream. Each operator
 * family has its launcher, which picks the heuristic's configuration and marshals the kernel's parameters.
 *
 * <p>Internal: users reach it through {@code DeepGemm} with device tensors, and through {@code dev.deepgemm4j.Gpu}.
 */
public final class CudaBackend implements Backend {

    private final KernelBinaries binaries;
    private final GpuDevice[] devices;
    private final TensorCopies copies = new TensorCopies(this::device);

    CudaBackend(KernelBinaries binaries) {
        this.binaries = binaries;
        this.devices = new GpuDevice[CudaRuntime.deviceCount()];
    }

    /** Kernel launches the backend has queued in this process (all devices), for tests. */
    static long launchCount() {
        return GpuDevice.launches();
    }

    @Override
    public String name() {
        CudaDevice first = CudaRuntime.device(0);
        return "cuda:0 (" + first.name() + ")" + (devices.length > 1 ? " and " + (devices.length - 1) + " more" : "");
    }

    @Override
    public int smCount() {
        return CudaRuntime.device(0).smCount();
    }

    @Override
    public boolean supports(Location location) {
        return location.kind() == Location.Kind.CUDA && location.deviceOrdinal() < devices.length;
    }

    @Override
    public Tensor allocate(DType dtype, long[] shape, long[] strides, Location location) {
        return allocate(dtype, shape, strides, location, true);
    }

    @Override
    public Tensor allocateForOverwrite(DType dtype, long[] shape, long[] strides, Location location) {
        return allocate(dtype, shape, strides, location, false);
    }

    private Tensor allocate(DType dtype, long[] shape, long[] strides, Location location, boolean zeroed) {
        if (location.isHost()) {
            return Tensor.zerosStrided(dtype, shape, strides);
        }
        CudaStream stream = device(location.deviceOrdinal()).stream();
        long bytes = Math.multiplyExact(spanElements(shape, strides), dtype.byteSize());
        DeviceMemory memory = DeviceMemory.allocateAsync(stream, bytes);
        try {
            if (zeroed) {
                CudaCopy.memsetD8Async(memory, 0, bytes, (byte) 0, stream);
            }
            return Tensor.wrap(memory, dtype, shape, strides, 0, true);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        copies.copy(src, dst);
    }

    @Override
    public void fill(Tensor dst, float value) {
        ScaleLayoutLauncher.fill(device(dst), dst, value);
    }

    @Override
    public void fp8Gemm(Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        DenseGemmLauncher.gemm(device(d), a, b, d, recipe, accumulate);
    }

    @Override
    public void mGroupedFp8GemmContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout,
            boolean psumLayout, int alignment) {
        GroupedGemmLauncher.contiguous(device(d), a, b, d, groupedLayout, psumLayout, alignment);
    }

    @Override
    public void mGroupedFp8GemmMasked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        GroupedGemmLauncher.masked(device(d), a, b, d, maskedM, expectedM);
    }

    @Override
    public void kGroupedFp8Gemm(List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d) {
        GroupedGemmLauncher.kGrouped(device(d), aGroups, bGroups, d);
    }

    @Override
    public void fp8MqaLogits(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits,
            boolean clean, int maxSeqlenK) {
        MqaLogitsLauncher.plain(device(q), q, kv, weights, ks, ke, logits, clean, maxSeqlenK);
    }

    @Override
    public void pagedMqaLogitsMetadata(Tensor contextLens, int blockKv, int numSms, Tensor out) {
        MqaLogitsLauncher.metadata(device(contextLens), contextLens, numSms, out);
    }

    @Override
    public void fp8PagedMqaLogits(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, Tensor logits, boolean clean) {
        MqaLogitsLauncher.paged(device(q), q, kvCache, weights, contextLens, blockTable, scheduleMeta, logits, clean);
    }

    @Override
    public void castToFp8(Tensor x, int granRows, int granCols, boolean ue8m0, Tensor data, Tensor scales) {
        QuantizeLauncher.cast(device(x), x, granRows, granCols, ue8m0, data, scales);
    }

    @Override
    public void packUe8m0(Tensor sf, Tensor out) {
        ScaleLayoutLauncher.packUe8m0(device(sf), sf, out);
    }

    // ---------------------------------------------------------------- beyond the Backend contract (Gpu's needs)

    /** Waits for all work queued on every device this backend has used. */
    public void synchronize() {
        for (GpuDevice d : devices) {
            if (d != null) {
                d.context().synchronize();
            }
        }
    }

    /** Evicts L2 of the current stream's device by overwriting a scratch buffer on that stream. */
    public void flushL2() {
        CudaStream stream = CurrentStream.get();
        device(stream.ordinal()).flushL2(stream);
    }

    // ---------------------------------------------------------------- devices

    private GpuDevice device(Tensor t) {
        return device(t.location().deviceOrdinal());
    }

    /** Device {@code ordinal}, set up on first use. */
    GpuDevice device(int ordinal) {
        if (ordinal < 0 || ordinal >= devices.length) {
            throw new IllegalArgumentException("no CUDA device " + ordinal + " (" + devices.length + " present)");
        }
        GpuDevice d = devices[ordinal];
        if (d == null) {
            synchronized (devices) {
                if (devices[ordinal] == null) {
                    devices[ordinal] = new GpuDevice(ordinal, binaries);
                }
                d = devices[ordinal];
            }
        }
        return d;
    }

    /** Elements from the first to one past the last element the strides reach (0 for an empty shape). */
    private static long spanElements(long[] shape, long[] strides) {
        if (shape.length != strides.length) {
            throw new IllegalArgumentException("shape has " + shape.length + " dims, strides " + strides.length);
        }
        long last = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0 || strides[i] < 0) {
                throw new IllegalArgumentException("shape and strides must be >= 0");
            }
            if (shape[i] == 0) {
                return 0;
            }
            last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
        }
        return last + 1;
    }
}
