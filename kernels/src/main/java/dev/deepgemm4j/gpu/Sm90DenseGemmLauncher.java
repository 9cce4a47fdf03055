package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.cuda.TensorMap;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.heuristics.Sm90GemmConfig;
import dev.deepgemm4j.heuristics.Sm90GemmHeuristic;
import dev.deepgemm4j.jit.CudaSources;
import java.util.concurrent.atomic.LongAdder;

/**
 * The Hopper dense GEMM ({@code sm90_fp8_gemm_1d2d.cu}) for the normalised NT problem {@code D = A · Bᵀ} where its
 * preconditions hold ({@link #eligible}); {@link DenseGemmLauncher} falls back to the SIMT kernel everywhere else.
 * Scales not already in the kernel's layout (sfa MN-major with a 16-byte aligned column pitch, sfb row-major) are
 * first copied into it on the stream; those copies are freed stream-ordered after the GEMM.
 */
final class Sm90DenseGemmLauncher {

    /** TMA's alignment of base addresses and row pitches. */
    static final int TMA_ALIGN = 16;
    static final int SCALE_BLOCK = 128;
    /** Launches of the 1D2D kernel (dense or M-grouped) in 2-CTA clusters (B multicast), so that tests can tell. */
    static final LongAdder CLUSTER_LAUNCHES = new LongAdder();

    private Sm90DenseGemmLauncher() {
    }

    /**
     * Whether the Hopper kernel computes this call: an sm_90 device, 1D2D with FP32 scales, no accumulation, BF16 D
     * with contiguous rows, K-major A and B, every base address and row pitch 16-byte aligned, {@code K % 16 == 0}
     * and {@code N % 8 == 0} (16-byte row pitches of the FP8 and BF16 tiles), and sizes within the kernel's u32.
     */
    static boolean eligible(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        return device.isSm90() && !accumulate && recipe.equals(Recipe.PER_TOKEN_PER_BLOCK) && d.dtype() == DType.BF16
                && tmaOperandsFit(a, b, d, 8);
    }

    /**
     * What the TMA-fed Hopper dense GEMMs (this one and the 1D1D one) need of their operands: FP32 scales, a non-empty
     * problem with {@code K % 16 == 0} and {@code N % nMultiple == 0} (16-byte rows of the FP8 operands and of D),
     * sizes within the kernels' u32, and K-major A and B and row-major D with 16-byte aligned bases and row pitches.
     */
    static boolean tmaOperandsFit(Fp8Tensor a, Fp8Tensor b, Tensor d, int nMultiple) {
        long m = a.data().size(0);
        long k = a.data().size(1);
        long n = b.data().size(0);
        return a.scales().dtype() == DType.FP32 && b.scales().dtype() == DType.FP32
                && m > 0 && n > 0 && k > 0 && k % 16 == 0 && n % nMultiple == 0
                && m <= Integer.MAX_VALUE && n <= Integer.MAX_VALUE && k <= Integer.MAX_VALUE
                && rowsAligned(a.data(), k) && rowsAligned(b.data(), k) && rowsAligned(d, n);
    }

    /**
     * Queues the GEMM; the caller checked {@link #eligible}. With the tuner on ({@link LaunchTuner}), a new shape's
     * first call first times the candidate tiles into a scratch D.
     */
    static void gemm(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d) {
        long m = a.data().size(0);
        long k = a.data().size(1);
        long n = b.data().size(0);
        long kBlocks = ceilDiv(k, SCALE_BLOCK);
        int numSms = device.numSms();
        // Staging launches use the thread's parameter block: they all go before this launch's arguments are built.
        Tensor sfa = a.scales();
        Tensor sfaStaged = mnMajorScalesAligned(sfa, m) ? null : staged(device, sfa, new long[] {1, align(m, 4)});
        Tensor sfb = b.scales();
        Tensor sfbStaged = sfbInKernelLayout(sfb, kBlocks) ? null : staged(device, sfb, new long[] {kBlocks, 1});
        try {
            Operands ops = new Operands(a.data(), sfaStaged == null ? sfa : sfaStaged, b.data(),
                    sfbStaged == null ? sfb : sfbStaged, m, n, k);
            Launch<Sm90GemmConfig> launch = DeepGemm.isAutotune()
                    ? LaunchTuner.choose(device, new LaunchTuner.Problem("sm90_fp8_gemm_1d2d", m, n, k, numSms),
                            () -> Sm90GemmHeuristic.tuningCandidates(m, n, k, numSms), () -> scratchTrials(device, ops))
                    : Sm90GemmHeuristic.choose(m, n, k, numSms);
            launch(device, launch, ops, d);
        } finally {
            free(sfaStaged);
            free(sfbStaged);
        }
    }

    /** A and B with their scales in the kernel's layouts, for {@code D [m, n] = A [m, k] · B [n, k]ᵀ}. */
    private record Operands(Tensor a, Tensor sfa, Tensor b, Tensor sfb, long m, long n, long k) {
    }

    /** Queues {@code launch} writing {@code d}. */
    private static void launch(GpuDevice device, Launch<Sm90GemmConfig> launch, Operands ops, Tensor d) {
        Sm90GemmConfig c = launch.config();
        long m = ops.m();
        long n = ops.n();
        long k = ops.k();
        long kBlocks = ceilDiv(k, SCALE_BLOCK);
        long sfaPitch = kBlocks > 1 ? ops.sfa().stride(1) : align(m, 4);
        TensorMap mapA = TensorMaps.rows(TensorMap.DataType.UINT8, ops.a().dataAddress(), k, m, rowPitch(ops.a(), k),
                SCALE_BLOCK, c.blockM(), TensorMap.Swizzle.B128);
        TensorMap mapB = TensorMaps.rows(TensorMap.DataType.UINT8, ops.b().dataAddress(), k, n, rowPitch(ops.b(), k),
                SCALE_BLOCK, c.blockN(), TensorMap.Swizzle.B128);
        TensorMap mapSfa = TensorMaps.rows(TensorMap.DataType.FLOAT32, ops.sfa().dataAddress(), m, kBlocks,
                sfaPitch * 4, c.blockM(), 1, TensorMap.Swizzle.NONE);
        TensorMap mapD = TensorMaps.rows(TensorMap.DataType.BFLOAT16, d.dataAddress(), n, m, rowPitch(d, n) * 2,
                CudaSources.sm90DChunkCols(c.blockN()), 64, swizzle(CudaSources.sm90DSwizzleBytes(c.blockN())));
        LaunchArgs args = KernelArgs.begin().addTensorMap(mapA).addTensorMap(mapB).addTensorMap(mapSfa)
                .addTensorMap(mapD).addPointer(ops.sfb().dataAddress()).addInt((int) m).addInt((int) n)
                .addInt((int) k).addPointer(0L);
        // The M-grouped parameters, unused by the dense GEMM: layout, num_groups, alignment, d, d_pitch.
        args.addPointer(0L).addInt(1).addInt(1).addPointer(0L).addInt(0);
        device.launch(launch, args);
        if (launch.geometry().clusterX() > 1) {
            CLUSTER_LAUNCHES.increment();
        }
    }

    /** The tuner's runs: each candidate writes a scratch D [m, n], freed stream-ordered afterwards. */
    private static LaunchTuner.Trials<Sm90GemmConfig> scratchTrials(GpuDevice device, Operands ops) {
        DeviceMemory memory = DeviceMemory.allocateAsync(device.stream(), ops.m() * ops.n() * DType.BF16.byteSize());
        Tensor scratch = Tensor.wrap(memory, DType.BF16, new long[] {ops.m(), ops.n()}, new long[] {ops.n(), 1}, 0,
                true);
        return new LaunchTuner.Trials<>() {
            @Override
            public void run(Launch<Sm90GemmConfig> candidate) {
                launch(device, candidate, ops, scratch);
            }

            @Override
            public void close() {
                scratch.close();
            }
        };
    }

    /** Innermost stride 1, row pitch (elements) a multiple of 16 bytes and at least {@code cols}, 16-byte base. */
    static boolean rowsAligned(Tensor t, long cols) {
        int size = t.dtype().byteSize();
        return (t.size(1) <= 1 || t.stride(1) == 1) && t.dataAddress() % TMA_ALIGN == 0
                && rowPitch(t, cols) >= cols && rowPitch(t, cols) * size % TMA_ALIGN == 0;
    }

    /** The row pitch in elements; a single row may have any stride, so it gets the smallest legal one. */
    static long rowPitch(Tensor t, long cols) {
        return t.size(0) > 1 ? t.stride(0) : align(cols, TMA_ALIGN / t.dtype().byteSize());
    }

    /**
     * Scales [mn, kBlocks] as the Hopper kernels' maps read per-token scales: MN-major, 16-byte aligned base and
     * column pitch ≥ mn.
     */
    static boolean mnMajorScalesAligned(Tensor sf, long mn) {
        boolean mnMajor = mn == 1 || sf.stride(0) == 1;
        boolean pitchOk = sf.size(1) == 1 || (sf.stride(1) >= mn && sf.stride(1) * 4 % TMA_ALIGN == 0);
        return mnMajor && pitchOk && sf.dataAddress() % TMA_ALIGN == 0;
    }

    /** sfb [ceil(n/128), kBlocks] row-major, as the kernel indexes it. */
    static boolean sfbInKernelLayout(Tensor sfb, long kBlocks) {
        return (sfb.size(0) == 1 || sfb.stride(0) == kBlocks) && (kBlocks == 1 || sfb.stride(1) == 1);
    }

    /** A stream-ordered copy of {@code t} with {@code strides} (16-byte aligned: fresh allocations are). */
    static Tensor staged(GpuDevice device, Tensor t, long[] strides) {
        long span = 1;
        for (int i = 0; i < strides.length; i++) {
            span += (t.size(i) - 1) * strides[i];
        }
        DeviceMemory memory = DeviceMemory.allocateAsync(device.stream(), span * t.dtype().byteSize());
        Tensor copy = Tensor.wrap(memory, t.dtype(), t.shape(), strides, 0, true);
        try {
            ScaleLayoutLauncher.copy(device, t, copy);
        } catch (RuntimeException e) {
            copy.close();
            throw e;
        }
        return copy;
    }

    static void free(Tensor staged) {
        if (staged != null) {
            staged.close();
        }
    }

    static TensorMap.Swizzle swizzle(int bytes) {
        return bytes == 128 ? TensorMap.Swizzle.B128 : bytes == 64 ? TensorMap.Swizzle.B64 : TensorMap.Swizzle.B32;
    }

    static long align(long x, long a) {
        return ceilDiv(x, a) * a;
    }

    static long ceilDiv(long x, long y) {
        return (x + y - 1) / y;
    }
}
