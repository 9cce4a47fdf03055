package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.SCALE_BLOCK;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.TMA_ALIGN;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.align;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.ceilDiv;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.free;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.mnMajorScalesAligned;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.rowPitch;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.rowsAligned;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.staged;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.swizzle;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.cuda.TensorMap;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.heuristics.Sm90GemmConfig;
import dev.deepgemm4j.heuristics.Sm90GemmHeuristic;
import dev.deepgemm4j.jit.CudaSources;

/**
 * The Hopper kernel ({@code sm90_fp8_gemm_1d2d.cu}) built for the M-grouped MoE GEMMs: contiguous (index or psum
 * layout) and masked. It mirrors {@link Sm90DenseGemmLauncher}: B [G, N, K] is one TMA map of G·N rows, A and D of
 * the masked GEMM are maps of G·M_max rows, and scales not already in the kernel's layout are copied into it on the
 * stream first (freed stream-ordered after the GEMM). {@link GroupedGemmLauncher} falls back to the SIMT kernels
 * where {@link #contiguousEligible} / {@link #maskedEligible} say no.
 *
 * <p>The layout tensors stay on the device: the kernel reads expert ids, end rows and masked_m itself, so a masked
 * launch is the same whatever masked_m holds (graph capture and replay). A device-side index layout that breaks the
 * alignment contract (two experts in one aligned block) is not detected: rows of the second expert are left unwritten.
 */
final class Sm90GroupedGemmLauncher {

    private Sm90GroupedGemmLauncher() {
    }

    /**
     * Whether the Hopper kernel computes this contiguous GEMM: an sm_90 device, BF16 D, K-major A and B with 16-byte
     * aligned bases and row pitches, B's experts one pitch apart ({@code b.stride(0) == N · b.stride(1)}),
     * {@code K % 16 == 0}, {@code N % 8 == 0}, an alignment that a 64- or 128-row tile divides (a tile then never
     * holds two experts), and sizes within the kernel's u32.
     */
    static boolean contiguousEligible(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, int alignment) {
        long m = a.data().size(0);
        long k = a.data().size(1);
        return device.isSm90() && alignment % 64 == 0 && common(a, b, d, m, k)
                && rowsAligned(a.data(), k) && rowsAligned(d, b.data().size(1));
    }

    /**
     * Whether the Hopper kernel computes this masked GEMM: as {@link #contiguousEligible}, with A [G, M_max, K] and
     * D [G, M_max, N] each one uniformly pitched stack of G·M_max rows.
     */
    static boolean maskedEligible(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d) {
        long groups = a.data().size(0);
        long maxM = a.data().size(1);
        long k = a.data().size(2);
        long n = b.data().size(1);
        return device.isSm90() && common(a, b, d, groups * maxM, k) && stacked(a.data()) && stacked(d)
                && rowsAligned(flat(a.data()), k) && rowsAligned(flat(d), n);
    }

    /** Queues the contiguous GEMM; the caller checked {@link #contiguousEligible}. */
    static void contiguous(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout,
            boolean psumLayout, int alignment) {
        long m = a.data().size(0);
        long k = a.data().size(1);
        long groups = b.data().size(0);
        long n = b.data().size(1);
        long kBlocks = ceilDiv(k, SCALE_BLOCK);
        Launch<Sm90GemmConfig> launch = Sm90GemmHeuristic.contiguous(m, n, k, groups, alignment, psumLayout,
                device.numSms());
        Sm90GemmConfig c = launch.config();
        Tensor sfa = a.scales();
        Tensor sfaStaged = mnMajorScalesAligned(sfa, m) ? null : staged(device, sfa, new long[] {1, align(m, 4)});
        Tensor sfbStaged = null;
        try {
            sfbStaged = sfbInKernelLayout(b.scales()) ? null : staged(device, b.scales(), rowMajor(b.scales()));
            Tensor sfaUsed = sfaStaged == null ? sfa : sfaStaged;
            Tensor sfbUsed = sfbStaged == null ? b.scales() : sfbStaged;
            long sfaPitch = kBlocks > 1 ? sfaUsed.stride(1) : align(m, 4);
            TensorMap mapA = TensorMaps.rows(TensorMap.DataType.UINT8, a.data().dataAddress(), k, m,
                    rowPitch(a.data(), k), SCALE_BLOCK, c.blockM(), TensorMap.Swizzle.B128);
            TensorMap mapSfa = TensorMaps.rows(TensorMap.DataType.FLOAT32, sfaUsed.dataAddress(), m, kBlocks,
                    sfaPitch * 4, c.blockM(), 1, TensorMap.Swizzle.NONE);
            launch(device, launch, mapA, mapB(b, c), mapSfa, mapD(d, m, n, c), sfbUsed, m, n, k, groupedLayout,
                    groups, psumLayout ? alignment : 1, d, rowPitch(d, n));
        } finally {
            free(sfaStaged);
            free(sfbStaged);
        }
    }

    /** Queues the masked GEMM; the caller checked {@link #maskedEligible}. */
    static void masked(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        long groups = a.data().size(0);
        long maxM = a.data().size(1);
        long k = a.data().size(2);
        long n = b.data().size(1);
        long kBlocks = ceilDiv(k, SCALE_BLOCK);
        Launch<Sm90GemmConfig> launch = Sm90GemmHeuristic.masked(groups, maxM, expectedM, n, k, device.numSms());
        Sm90GemmConfig c = launch.config();
        Tensor sfa = a.scales();
        long pitch = align(maxM, 4);
        Tensor sfaStaged = maskedSfaPitch(sfa, maxM) > 0 ? null
                : staged(device, sfa, new long[] {kBlocks * pitch, 1, pitch});
        Tensor sfbStaged = null;
        try {
            sfbStaged = sfbInKernelLayout(b.scales()) ? null : staged(device, b.scales(), rowMajor(b.scales()));
            Tensor sfaUsed = sfaStaged == null ? sfa : sfaStaged;
            Tensor sfbUsed = sfbStaged == null ? b.scales() : sfbStaged;
            long rows = groups * maxM;
            Tensor aRows = flat(a.data());
            TensorMap mapA = TensorMaps.rows(TensorMap.DataType.UINT8, aRows.dataAddress(), k, rows, rowPitch(aRows, k),
                    SCALE_BLOCK, c.blockM(), TensorMap.Swizzle.B128);
            // Columns of M_max scales, one run of ceil(K/128) per group: the box never crosses into the next group.
            TensorMap mapSfa = TensorMaps.rows(TensorMap.DataType.FLOAT32, sfaUsed.dataAddress(), maxM, groups * kBlocks,
                    maskedSfaPitch(sfaUsed, maxM) * 4, c.blockM(), 1, TensorMap.Swizzle.NONE);
            Tensor dRows = flat(d);
            launch(device, launch, mapA, mapB(b, c), mapSfa, mapD(dRows, rows, n, c), sfbUsed, maxM, n, k, maskedM,
                    groups, 1, dRows, rowPitch(dRows, n));
        } finally {
            free(sfaStaged);
            free(sfbStaged);
        }
    }

    private static void launch(GpuDevice device, Launch<Sm90GemmConfig> launch, TensorMap mapA, TensorMap mapB,
            TensorMap mapSfa, TensorMap mapD, Tensor sfb, long m, long n, long k, Tensor layout, long groups,
            int alignment, Tensor d, long dPitch) {
        LaunchArgs args = KernelArgs.begin().addTensorMap(mapA).addTensorMap(mapB).addTensorMap(mapSfa)
                .addTensorMap(mapD).addPointer(sfb.dataAddress()).addInt((int) m).addInt((int) n).addInt((int) k)
                .addPointer(0L).addPointer(layout.dataAddress()).addInt((int) groups).addInt(alignment)
                .addPointer(d.dataAddress()).addInt((int) dPitch);
        device.launch(launch, args);
        if (launch.geometry().clusterX() > 1) {
            Sm90DenseGemmLauncher.CLUSTER_LAUNCHES.increment();
        }
    }

    /** B [G, N, K] as one map of G·N rows. */
    private static TensorMap mapB(Fp8Tensor b, Sm90GemmConfig c) {
        Tensor rows = flat(b.data());
        long k = rows.size(1);
        return TensorMaps.rows(TensorMap.DataType.UINT8, rows.dataAddress(), k, rows.size(0), rowPitch(rows, k), SCALE_BLOCK,
                c.blockN(), TensorMap.Swizzle.B128);
    }

    private static TensorMap mapD(Tensor d, long rows, long n, Sm90GemmConfig c) {
        return TensorMaps.rows(TensorMap.DataType.BFLOAT16, d.dataAddress(), n, rows, rowPitch(d, n) * 2,
                CudaSources.sm90DChunkCols(c.blockN()), 64, swizzle(CudaSources.sm90DSwizzleBytes(c.blockN())));
    }


    /** Checks shared by both layouts; {@code rows} = rows of A and D as the kernel's maps see them. */
    private static boolean common(Fp8Tensor a, Fp8Tensor b, Tensor d, long rows, long k) {
        long groups = b.data().size(0);
        long n = b.data().size(1);
        return d.dtype() == DType.BF16 && a.scales().dtype() == DType.FP32 && b.scales().dtype() == DType.FP32
                && rows > 0 && n > 0 && k > 0 && groups > 0 && k % 16 == 0 && n % 8 == 0
                && rows <= Integer.MAX_VALUE && k <= Integer.MAX_VALUE && groups * n <= Integer.MAX_VALUE
                && stacked(b.data()) && rowsAligned(flat(b.data()), k);
    }

    /** A [G, R, C] whose groups follow each other at its row pitch, so that it is one [G·R, C] matrix. */
    private static boolean stacked(Tensor t) {
        return t.size(0) <= 1 || t.size(1) <= 1 || t.stride(0) == t.size(1) * t.stride(1);
    }

    /**
     * The [G·R, C] view of a {@link #stacked} [G, R, C] tensor; with one row per group the group stride is the row
     * pitch, with one row in all any pitch will do (the smallest legal one).
     */
    private static Tensor flat(Tensor t) {
        long pitch = t.size(1) > 1 ? t.stride(1) : t.size(0) > 1 ? t.stride(0)
                : align(t.size(2), TMA_ALIGN / t.dtype().byteSize());
        return t.asStrided(new long[] {t.size(0) * t.size(1), t.size(2)}, new long[] {pitch, t.stride(2)},
                t.offset());
    }

    /**
     * The column pitch (elements) of a masked sfa [G, M_max, kBlocks] already in the kernel's layout (each group's
     * [kBlocks] columns of M_max MN-major scales, groups end to end at that pitch, 16-byte aligned), else 0.
     */
    private static long maskedSfaPitch(Tensor sfa, long maxM) {
        long groups = sfa.size(0);
        long kBlocks = sfa.size(2);
        long pitch = kBlocks > 1 ? sfa.stride(2) : groups > 1 ? sfa.stride(0) : align(maxM, 4);
        boolean ok = (maxM == 1 || sfa.stride(1) == 1) && pitch >= maxM && pitch * 4 % TMA_ALIGN == 0
                && (groups == 1 || sfa.stride(0) == kBlocks * pitch) && sfa.dataAddress() % TMA_ALIGN == 0;
        return ok ? pitch : 0;
    }

    /** sfb [G, ceil(N/128), kBlocks] packed row-major, as the kernel indexes it. */
    private static boolean sfbInKernelLayout(Tensor sfb) {
        long[] packed = rowMajor(sfb);
        for (int i = 0; i < 3; i++) {
            if (sfb.size(i) > 1 && sfb.stride(i) != packed[i]) {
                return false;
            }
        }
        return true;
    }

    private static long[] rowMajor(Tensor t) {
        return new long[] {t.size(1) * t.size(2), t.size(2), 1};
    }
}
