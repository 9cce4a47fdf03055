package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;

/**
 * What the GPU tests share: the skip rule, same-layout copies between host and GPU, poisoned outputs, whole-storage
 * comparisons, float64 references and calc_diff. The pattern of every operator test: build random host inputs, run
 * the operator once on them (the CPU reference backend) and once on device copies with the same strides (the CUDA
 * backend), each into an identically poisoned output, then compare.
 */
final class GpuTestSupport {

    static final Location GPU = Location.cuda(0);
    /** Outputs are filled with this byte before a run: NaN in FP32 and BF16, −NaN in FP8. */
    static final byte POISON = (byte) 0xFF;

    private GpuTestSupport() {
    }

    /** Skips the calling test class unless a GPU backend runs here. */
    static void assumeGpu() {
        Assumptions.assumeTrue(Gpu.isAvailable(), () -> "no GPU: " + Gpu.unavailableReason());
    }

    /** Kernel launches queued by the CUDA backend so far. */
    static long launches() {
        return CudaBackend.launchCount();
    }

    // ---------------------------------------------------------------- placement

    /** A GPU tensor with {@code host}'s dtype, shape, strides, offset and storage bytes (padding included). */
    static Tensor toGpu(Tensor host) {
        long bytes = host.storage().byteSize();
        Tensor flat = Tensor.zeros(GPU, DType.UINT8, bytes);
        copyInto(Tensor.wrap(host.storage(), DType.UINT8, new long[] {bytes}, new long[] {1}, 0, false), flat);
        return Tensor.wrap(flat.storage(), host.dtype(), host.shape(), host.strides(), host.offset(), true);
    }

    static Fp8Tensor toGpu(Fp8Tensor host) {
        return new Fp8Tensor(toGpu(host.data()), toGpu(host.scales()));
    }

    /** Copies {@code src} into {@code dst} (same shape and dtype, any locations) through the backends. */
    static void copyInto(Tensor src, Tensor dst) {
        Backends.forLocation("dst", src.location().isHost() ? dst.location() : src.location()).copy(src, dst);
    }

    /**
     * {@code runs} calls, each into a fresh GPU copy of {@code poisonedOutput} (a host tensor): the first output
     * checked by {@code checkFirst}, every later one bitwise equal to it, storage padding included.
     *
     * @param call queues one call into the output (run index, output) and makes that run's own assertions
     */
    static void assertBitwiseReruns(int runs, Tensor poisonedOutput, BiConsumer<Integer, Tensor> call,
            Consumer<Tensor> checkFirst) {
        byte[] first = null;
        for (int run = 0; run < runs; run++) {
            Tensor out = toGpu(poisonedOutput);
            call.accept(run, out);
            byte[] bytes = storageBytes(out);
            if (first == null) {
                checkFirst.accept(out);
                first = bytes;
            } else {
                assertArrayEquals(first, bytes, "run " + run);
            }
            out.close();
        }
    }

    /** Every byte of {@code t}'s storage, read back to the host. */
    static byte[] storageBytes(Tensor t) {
        long bytes = t.storage().byteSize();
        Tensor flat = Tensor.wrap(t.storage(), DType.UINT8, new long[] {bytes}, new long[] {1}, 0, false);
        return flat.toHost().toByteArray();
    }

    /** The bytes of {@code t}'s elements in row-major order (its storage's padding left out). */
    static byte[] viewBytes(Tensor t) {
        Tensor compact = t.toHost().contiguousCopy();
        return compact.hostSegment().asSlice(0, compact.numel() * compact.dtype().byteSize()).toArray(
                ValueLayout.JAVA_BYTE);
    }

    /** A host tensor of {@code shape} with row pitch {@code pitch} whose whole storage holds {@link #POISON}. */
    static Tensor poisoned(DType dtype, long[] shape, long pitch) {
        long[] strides = contiguous(shape);
        if (shape.length >= 2) {
            long[] padded = shape.clone();
            padded[shape.length - 1] = pitch;
            strides = contiguous(padded);
        }
        Tensor t = Tensor.zerosStrided(dtype, shape, strides);
        t.hostSegment().fill(POISON);
        return t;
    }

    static Tensor poisoned(DType dtype, long... shape) {
        return poisoned(dtype, shape, shape.length == 0 ? 1 : shape[shape.length - 1]);
    }

    private static long[] contiguous(long[] shape) {
        long[] s = new long[shape.length];
        long stride = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = stride;
            stride *= Math.max(shape[i], 1);
        }
        return s;
    }

    // ---------------------------------------------------------------- comparisons

    /**
     * The GPU output's storage equals the CPU output's byte for byte: same values (the kernels reproduce the CPU
     * reference's arithmetic exactly) and the same untouched (poisoned or zero) bytes around and between them.
     */
    static void assertSameStorage(Tensor cpu, Tensor gpu) {
        assertTrue(cpu.location().isHost() && !gpu.location().isHost(), "expects (cpu, gpu) tensors");
        assertArrayEquals(cpu.shape(), gpu.shape(), "shape");
        assertArrayEquals(cpu.strides(), gpu.strides(), "strides");
        byte[] want = storageBytes(cpu);
        byte[] got = storageBytes(gpu);
        assertEquals(want.length, got.length, "storage size");
        int size = cpu.dtype().byteSize();
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                throw new AssertionError("GPU output differs from the CPU reference at storage byte " + i + " (element "
                        + (i / size - cpu.offset()) + " from the view's start): CPU " + hex(want, i - i % size, size)
                        + ", GPU " + hex(got, i - i % size, size));
            }
        }
    }

    /** Whether cuda:0 is an sm_90 device, where eligible 1D2D GEMMs run the Hopper kernel. */
    static boolean hopper() {
        return dev.deepgemm4j.cuda.CudaRuntime.device(0).computeCapability() == 90;
    }

    /**
     * Runs {@code gemm} (one dense GEMM) and checks which kernel family computed it: the Hopper kernel when
     * {@code sm90Eligible} and the device is an sm_90 one, else the SIMT kernel.
     */
    static void assertDenseKernel(boolean sm90Eligible, Runnable gemm) {
        long sm90 = DenseGemmLauncher.SM90_LAUNCHES.sum();
        long simt = DenseGemmLauncher.SIMT_LAUNCHES.sum();
        gemm.run();
        boolean fast = sm90Eligible && hopper();
        assertEquals(sm90 + (fast ? 1 : 0), DenseGemmLauncher.SM90_LAUNCHES.sum(), "Hopper GEMM launches");
        assertEquals(simt + (fast ? 0 : 1), DenseGemmLauncher.SIMT_LAUNCHES.sum(), "SIMT GEMM launches");
    }

    /**
     * A dense GEMM's GPU output against the CPU's: where the SIMT kernel ran ({@code !hopperRan}) byte for byte
     * ({@link #assertSameStorage}); where the Hopper kernel ran (another summation order) every storage byte outside
     * the view's elements untouched, and the elements within calc_diff 1e-5 of the float64 reference and of the CPU.
     */
    static void assertGemmOutput(Tensor cpu, Tensor gpu, double[] float64Reference, boolean hopperRan) {
        if (!hopperRan) {
            assertSameStorage(cpu, gpu);
            assertClose(cpu, gpu, float64Reference);
            return;
        }
        assertArrayEquals(cpu.shape(), gpu.shape(), "shape");
        assertArrayEquals(cpu.strides(), gpu.strides(), "strides");
        byte[] want = storageBytes(cpu);
        byte[] got = storageBytes(gpu);
        assertEquals(want.length, got.length, "storage size");
        int size = cpu.dtype().byteSize();
        boolean[] element = new boolean[want.length];
        for (long i = 0; i < cpu.size(0); i++) {
            for (long j = 0; j < cpu.size(1); j++) {
                long at = (cpu.offset() + i * cpu.stride(0) + j * cpu.stride(1)) * size;
                for (int b = 0; b < size; b++) {
                    element[(int) at + b] = true;
                }
            }
        }
        for (int i = 0; i < want.length; i++) {
            if (!element[i] && want[i] != got[i]) {
                throw new AssertionError("GPU wrote outside the output view at storage byte " + i + ": "
                        + hex(got, i, 1) + " instead of " + hex(want, i, 1));
            }
        }
        double vsCpu = calcDiff(cpu, gpu);
        assertTrue(vsCpu < 1e-5, "calc_diff(GPU, CPU) = " + vsCpu);
        if (float64Reference != null) {
            double vsReference = calcDiff(float64Reference, gpu);
            assertTrue(vsReference < 1e-5, "calc_diff(GPU, float64) = " + vsReference);
        }
    }

    /**
     * Runs {@code gemm} (one M-grouped GEMM, {@code masked} or contiguous) and checks which kernel family computed it:
     * the Hopper kernel when {@code sm90Eligible} and the device is an sm_90 one, else the SIMT kernel.
     */
    static void assertGroupedKernel(boolean masked, boolean sm90Eligible, Runnable gemm) {
        var sm90 = masked ? GroupedGemmLauncher.SM90_MASKED_LAUNCHES : GroupedGemmLauncher.SM90_CONTIGUOUS_LAUNCHES;
        var simt = masked ? GroupedGemmLauncher.SIMT_MASKED_LAUNCHES : GroupedGemmLauncher.SIMT_CONTIGUOUS_LAUNCHES;
        long sm90Before = sm90.sum();
        long simtBefore = simt.sum();
        gemm.run();
        boolean fast = sm90Eligible && hopper();
        assertEquals(sm90Before + (fast ? 1 : 0), sm90.sum(), "Hopper M-grouped launches");
        assertEquals(simtBefore + (fast ? 0 : 1), simt.sum(), "SIMT M-grouped launches");
    }

    /**
     * A BF16 M-grouped GEMM's GPU output against the CPU's: where the SIMT kernel ran byte for byte
     * ({@link #assertSameStorage}); where the Hopper kernel ran (another summation order) the same elements written,
     * every other storage byte (rows no expert owns, row padding) still the poison byte for byte, and the written
     * elements within calc_diff 1e-5 of the CPU's. A written BF16 result is never the poison pattern (a NaN).
     */
    static void assertGroupedOutput(Tensor cpu, Tensor gpu, boolean hopperRan) {
        if (!hopperRan) {
            assertSameStorage(cpu, gpu);
            return;
        }
        assertTrue(cpu.location().isHost() && !gpu.location().isHost(), "expects (cpu, gpu) tensors");
        assertEquals(DType.BF16, cpu.dtype());
        assertArrayEquals(cpu.shape(), gpu.shape(), "shape");
        assertArrayEquals(cpu.strides(), gpu.strides(), "strides");
        byte[] want = storageBytes(cpu);
        byte[] got = storageBytes(gpu);
        assertEquals(want.length, got.length, "storage size");
        double[] x = new double[want.length / 2];
        double[] y = new double[want.length / 2];
        int written = 0;
        for (int i = 0; i + 1 < want.length; i += 2) {
            boolean wantPoison = want[i] == POISON && want[i + 1] == POISON;
            boolean gotPoison = got[i] == POISON && got[i + 1] == POISON;
            if (wantPoison != gotPoison) {
                throw new AssertionError("storage element " + (i / 2 - cpu.offset()) + " from the view's start: "
                        + (wantPoison ? "the GPU wrote " + hex(got, i, 2) + " where the CPU left the poison"
                        : "the GPU left the poison where the CPU wrote " + hex(want, i, 2)));
            }
            if (!wantPoison) {
                x[written] = bf16(want, i);
                y[written] = bf16(got, i);
                written++;
            }
        }
        double diff = RandomTensors.calcDiff(Arrays.copyOf(x, written), Arrays.copyOf(y, written));
        assertTrue(written == 0 || diff < 1e-5, "calc_diff(GPU, CPU) over the written elements = " + diff);
    }

    private static double bf16(byte[] b, int at) {
        return Float.intBitsToFloat(((b[at + 1] & 0xFF) << 24) | ((b[at] & 0xFF) << 16));
    }

    private static String hex(byte[] b, int from, int n) {
        StringBuilder s = new StringBuilder("0x");
        for (int i = from + n - 1; i >= from; i--) {
            s.append(String.format("%02x", b[i]));
        }
        return s.toString();
    }

    /** calc_diff of two equally shaped host or GPU tensors (read as float64). */
    static double calcDiff(Tensor x, Tensor y) {
        return RandomTensors.calcDiff(doubles(x), doubles(y));
    }

    /** calc_diff of a tensor against float64 values in its row-major order. */
    static double calcDiff(double[] reference, Tensor t) {
        return RandomTensors.calcDiff(reference, doubles(t));
    }

    static double[] doubles(Tensor t) {
        return RandomTensors.toDoubles(t.toHost().toFloatArray());
    }

    /** GPU vs CPU below 1e-10 (FP32 outputs), and, where a float64 reference is given, BF16 output below 1e-5. */
    static void assertClose(Tensor cpu, Tensor gpu, double[] float64Reference) {
        double gpuVsCpu = calcDiff(cpu, gpu);
        assertTrue(gpuVsCpu < 1e-10, "calc_diff(GPU, CPU) = " + gpuVsCpu);
        if (float64Reference != null) {
            double tolerance = gpu.dtype() == DType.BF16 ? 1e-5 : 1e-9;
            double vsReference = calcDiff(float64Reference, gpu);
            assertTrue(vsReference < tolerance, "calc_diff(GPU, float64) = " + vsReference + " >= " + tolerance);
        }
    }

    // ---------------------------------------------------------------- data and references

    /** Random FP8 [rows, k] with FP32 scales per (row, 128 K) or, if {@code perBlock}, per 128×128 block. */
    static Fp8Tensor operand(SplittableRandom rng, long rows, long k, boolean perBlock) {
        return new Fp8Tensor(RandomTensors.fp8(rng, rows, k),
                RandomTensors.scales(rng, perBlock ? ceilDiv(rows, 128) : rows, ceilDiv(k, 128)));
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * The float64 {@code c + Σ_kb sfa[m, kb]·sfb[n', kb]·Σ_k a[m, k]·b[n, k]} of NT host operands (FP32 scales,
     * n' = n/128 when {@code perBlockB}), row-major [M, N], rows in parallel; {@code c} may be null.
     */
    static double[] reference(Fp8Tensor a, Fp8Tensor b, boolean perBlockB, Tensor c) {
        int m = (int) a.data().size(0);
        int k = (int) a.data().size(1);
        int n = (int) b.data().size(0);
        float[] av = a.data().toFloatArray();
        float[] bv = b.data().toFloatArray();
        float[] sa = a.scales().toFloatArray();
        float[] sb = b.scales().toFloatArray();
        int kBlocks = (int) ceilDiv(k, 128);
        float[] cv = c == null ? null : c.toFloatArray();
        double[] out = new double[m * n];
        IntStream.range(0, m).parallel().forEach(i -> {
            for (int j = 0; j < n; j++) {
                int sbRow = perBlockB ? j / 128 : j;
                double sum = cv == null ? 0 : cv[i * n + j];
                for (int kb = 0; kb < kBlocks; kb++) {
                    double block = 0;
                    for (int kk = kb * 128; kk < Math.min(k, kb * 128 + 128); kk++) {
                        block += (double) av[i * k + kk] * bv[j * k + kk];
                    }
                    sum += block * sa[i * kBlocks + kb] * sb[sbRow * kBlocks + kb];
                }
                out[i * n + j] = sum;
            }
        });
        return out;
    }

    /** Concatenation of float64 arrays (references of several row ranges compared as one). */
    static double[] concat(double[]... parts) {
        return Arrays.stream(parts).flatMapToDouble(Arrays::stream).toArray();
    }

    /** The decoded values of several row ranges of host or GPU tensors, concatenated in row-major order. */
    static double[] values(Tensor... parts) {
        return Arrays.stream(parts).map(GpuTestSupport::doubles).flatMapToDouble(Arrays::stream).toArray();
    }

    /** A random ragged [ks, ke) per query row over S_kv positions, the awkward ranges first. */
    static int[][] ranges(SplittableRandom rng, int s, int sKv) {
        int[][] special = {{0, 0}, {sKv, sKv}, {0, 1}, {sKv - 1, sKv}, {127, 129}, {100, 300}, {255, 257},
            {0, sKv}, {256, 512}};
        int[] ks = new int[s];
        int[] ke = new int[s];
        for (int i = 0; i < s; i++) {
            if (i < special.length) {
                ks[i] = Math.clamp(special[i][0], 0, sKv);
                ke[i] = Math.clamp(special[i][1], ks[i], sKv);
            } else {
                ks[i] = rng.nextInt(sKv + 1);
                ke[i] = ks[i] + rng.nextInt(sKv - ks[i] + 1);
            }
        }
        return new int[][] {ks, ke};
    }

    /**
     * A fused paged KV cache [num_blocks, block_kv, 1, D + 4] (per block: block_kv·D FP8 values, then block_kv FP32
     * scales) of random blocks, and a block table [batch, max_blocks] mapping each sequence's blocks to shuffled
     * physical ones; unused table entries are −1.
     */
    record PagedCache(Tensor kvCache, Tensor blockTable) {

        static PagedCache random(SplittableRandom rng, int batch, int maxContext, int headDim, int blockKv) {
            int maxBlocks = Math.ceilDiv(maxContext, blockKv);
            int numBlocks = batch * maxBlocks + 2;
            long pitch = (long) blockKv * (headDim + 4);
            Tensor flat = Tensor.zeros(DType.UINT8, numBlocks * pitch);
            MemorySegment seg = flat.hostSegment();
            ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int blk = 0; blk < numBlocks; blk++) {
                for (int slot = 0; slot < blockKv; slot++) {
                    for (int k = 0; k < headDim; k++) {
                        seg.set(ValueLayout.JAVA_BYTE, blk * pitch + (long) slot * headDim + k,
                                RandomTensors.randomFp8Code(rng));
                    }
                    seg.set(f32, blk * pitch + (long) blockKv * headDim + 4L * slot,
                            (float) Math.scalb(1.0 + rng.nextDouble(), -10 + rng.nextInt(6)));
                }
            }
            int[] physical = IntStream.range(0, numBlocks).toArray();
            for (int i = numBlocks - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = physical[i];
                physical[i] = physical[j];
                physical[j] = t;
            }
            int[] table = new int[batch * maxBlocks];
            System.arraycopy(physical, 0, table, 0, table.length);
            Tensor cache = flat.asStrided(new long[] {numBlocks, blockKv, 1, headDim + 4},
                    new long[] {pitch, headDim + 4, headDim + 4, 1}, 0);
            return new PagedCache(cache, Tensor.ofInts(table, batch, maxBlocks));
        }
    }
}
