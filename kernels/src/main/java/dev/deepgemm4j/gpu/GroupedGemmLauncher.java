package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.TensorStorage;
import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.GroupedGemmHeuristic;
import dev.deepgemm4j.jit.GemmScales;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The grouped GEMM kernels: M-grouped contiguous and masked on the Hopper kernel ({@link Sm90GroupedGemmLauncher})
 * where its preconditions hold, else the SIMT kernels ({@code grouped_gemm_contiguous.cu},
 * {@code grouped_gemm_masked.cu}); K-grouped on the Hopper 1D1D kernel ({@link Sm90Gemm1d1dLauncher}) where it
 * applies, else {@code k_grouped_gemm.cu}. The M-grouped kernels read their
 * layout tensors (expert ids, end rows, masked_m) on the device only, so one launch serves any contents and the
 * masked GEMM can be captured in a CUDA graph.
 */
final class GroupedGemmLauncher {

    private static final int BLOCK_K = 128;

    /** M-grouped launches of each kernel family since the process started (tests read them to see which path ran). */
    static final LongAdder SM90_CONTIGUOUS_LAUNCHES = new LongAdder();
    static final LongAdder SM90_MASKED_LAUNCHES = new LongAdder();
    static final LongAdder SIMT_CONTIGUOUS_LAUNCHES = new LongAdder();
    static final LongAdder SIMT_MASKED_LAUNCHES = new LongAdder();

    private GroupedGemmLauncher() {
    }

    /**
     * Kernel parameters: {@code (a, a_sm, a_sk, b, b_sg, b_sn, b_sk, sfa, sfa_sm, sfa_sk, sfb, sfb_sg, sfb_sn,
     * sfb_sk, d, d_sm, d_sn, grouped_layout, int num_groups, int alignment, int m, int n, int k)}.
     */
    static void contiguous(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout,
            boolean psumLayout, int alignment) {
        if (Sm90GroupedGemmLauncher.contiguousEligible(device, a, b, d, alignment)) {
            Sm90GroupedGemmLauncher.contiguous(device, a, b, d, groupedLayout, psumLayout, alignment);
            SM90_CONTIGUOUS_LAUNCHES.increment();
            return;
        }
        long m = a.data().size(0);
        long k = a.data().size(1);
        long groups = b.data().size(0);
        long n = b.data().size(1);
        var launch = GroupedGemmHeuristic.contiguous(m, n, k, alignment, psumLayout, GemmScales.FP32_PER_BLOCK_B,
                device.numSms());
        LaunchArgs args = KernelArgs.begin();
        KernelArgs.tensor(args, a.data());
        KernelArgs.tensor(args, b.data());
        KernelArgs.tensor(args, a.scales());
        KernelArgs.tensor(args, b.scales());
        KernelArgs.tensor(args, d);
        args.addPointer(groupedLayout).addInt(KernelArgs.toInt(groups, "G")).addInt(alignment)
                .addInt(KernelArgs.toInt(m, "M_total")).addInt(KernelArgs.toInt(n, "N"))
                .addInt(KernelArgs.toInt(k, "K"));
        device.launch(launch, args);
        SIMT_CONTIGUOUS_LAUNCHES.increment();
    }

    /**
     * Kernel parameters: {@code (a, a_sg, a_sm, a_sk, b, b_sg, b_sn, b_sk, sfa, sfa_sg, sfa_sm, sfa_sk, sfb, sfb_sg,
     * sfb_sn, sfb_sk, d, d_sg, d_sm, d_sn, masked_m, int max_m, int n, int k)}.
     */
    static void masked(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        if (Sm90GroupedGemmLauncher.maskedEligible(device, a, b, d)) {
            Sm90GroupedGemmLauncher.masked(device, a, b, d, maskedM, expectedM);
            SM90_MASKED_LAUNCHES.increment();
            return;
        }
        long groups = a.data().size(0);
        long maxM = a.data().size(1);
        long k = a.data().size(2);
        long n = b.data().size(1);
        var launch = GroupedGemmHeuristic.masked(KernelArgs.toInt(groups, "G"), maxM, expectedM, n, k,
                GemmScales.FP32_PER_BLOCK_B, device.numSms());
        LaunchArgs args = KernelArgs.begin();
        KernelArgs.tensor(args, a.data());
        KernelArgs.tensor(args, b.data());
        KernelArgs.tensor(args, a.scales());
        KernelArgs.tensor(args, b.scales());
        KernelArgs.tensor(args, d);
        args.addPointer(maskedM).addInt(KernelArgs.toInt(maxM, "M_max")).addInt(KernelArgs.toInt(n, "N"))
                .addInt(KernelArgs.toInt(k, "K"));
        device.launch(launch, args);
        SIMT_MASKED_LAUNCHES.increment();
    }

    /**
     * {@code d[g] += A_g · B_gᵀ}: on Hopper, where {@link Sm90Gemm1d1dLauncher#kGrouped} takes it ("nt" blocks in
     * place, "tn" token rows after a transpose), its kernel. Otherwise the SIMT kernel ({@code k_grouped_gemm.cu}):
     * when the group views tile flat buffers the way it addresses them (always so for views the API makes of a dense
     * "nt" buffer or a dense [ΣK, MN] "tn" one), one launch with parameters {@code (a, b, sfa, sfa_sm, sfa_sk, sfb,
     * sfb_sn, sfb_sk, d, d_sg, d_sm, d_sn, ks, int num_groups, i64 total_k, int m, int n)}, ks uploaded to a
     * stream-ordered device buffer; else (a padded or K-major "tn" operand) one dense GEMM launch per non-empty
     * group, accumulating into FP32 D with per-token scales.
     */
    static void kGrouped(GpuDevice device, List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d) {
        if (Sm90Gemm1d1dLauncher.kGrouped(device, aGroups, bGroups, d)) {
            return;
        }
        int groups = aGroups.size();
        long m = d.size(1);
        long n = d.size(2);
        for (boolean mnMajor : new boolean[] {false, true}) {
            FlatOperand a = FlatOperand.of(aGroups, m, mnMajor);
            FlatOperand b = a == null ? null : FlatOperand.of(bGroups, n, mnMajor);
            if (b != null) {
                if (a.totalK() > 0) {
                    kGroupedOneLaunch(device, a, b, d, groups, m, n, mnMajor);
                }
                return;
            }
        }
        for (int g = 0; g < groups; g++) {
            if (aGroups.get(g).data().size(1) > 0) {
                DenseGemmLauncher.gemm(device, aGroups.get(g), bGroups.get(g), d.select(0, g),
                        Recipe.PER_TOKEN_PER_TOKEN, true);
            }
        }
    }

    private static void kGroupedOneLaunch(GpuDevice device, FlatOperand a, FlatOperand b, Tensor d, int groups,
            long m, long n, boolean mnMajor) {
        CudaStream stream = device.stream();
        var launch = GroupedGemmHeuristic.kGrouped(groups, m, n, mnMajor, device.numSms());
        try (DeviceMemory ks = DeviceMemory.allocateAsync(stream, 4L * groups)) {
            try (Arena arena = Arena.ofConfined()) {
                // Pageable host memory: the driver has staged the bytes when the call returns.
                MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_INT, a.ks());
                CudaCopy.hostToDeviceAsync(host, ks, 0, stream);
            }
            LaunchArgs args = KernelArgs.begin().addPointer(a.data()).addPointer(b.data())
                    .addPointer(a.scales()).addLong(a.scaleStrideMn()).addLong(a.scaleStrideK())
                    .addPointer(b.scales()).addLong(b.scaleStrideMn()).addLong(b.scaleStrideK());
            KernelArgs.tensor(args, d);
            args.addPointer(ks.address()).addInt(groups).addLong(a.totalK()).addInt(KernelArgs.toInt(m, "M"))
                    .addInt(KernelArgs.toInt(n, "N"));
            device.launch(launch, args);
        } // freed on the stream, after the kernel
    }

    /**
     * A K-grouped operand as the kernel reads it: group g's [MN, K_g] block starts at element MN·Σ_{h<g} K_h of one
     * FP8 buffer ({@code data}) and its scales at column Σ_{h<g} K_h/128 of one [MN, ΣK/128] scale matrix.
     *
     * @param data device address of group 0's first element
     * @param scales device address of scale column 0
     */
    private record FlatOperand(long data, long scales, long scaleStrideMn, long scaleStrideK, int[] ks,
            long totalK) {

        /**
         * The flat description of {@code groups} ([MN, K_g] views with [MN, K_g/128] scales), or null when their
         * strides or offsets are not those of one flat buffer: "nt" blocks [MN, K_g] packed row-major end to end,
         * or ({@code mnMajor}) a row-major [ΣK, MN] buffer.
         */
        static FlatOperand of(List<Fp8Tensor> groups, long mn, boolean mnMajor) {
            int[] ks = new int[groups.size()];
            long kBefore = 0;
            Long dataBase = null;
            Long scaleBase = null;
            long sMn = 0;
            long sK = 0;
            TensorStorage dataStorage = null;
            TensorStorage scaleStorage = null;
            for (int g = 0; g < ks.length; g++) {
                Tensor data = groups.get(g).data();
                Tensor sf = groups.get(g).scales();
                long kg = data.size(1);
                ks[g] = Math.toIntExact(kg);
                if (kg > 0) {
                    boolean strided = mnMajor
                            ? (mn <= 1 || data.stride(0) == 1) && data.stride(1) == mn
                            : (kg <= 1 || data.stride(1) == 1) && (mn <= 1 || data.stride(0) == kg);
                    long base = data.dataAddress() - mn * kBefore;
                    if (!strided || (dataBase != null && (dataBase != base || dataStorage != data.storage()))) {
                        return null;
                    }
                    dataBase = base;
                    dataStorage = data.storage();
                    long base2 = sf.dataAddress() - 4 * sf.stride(1) * (kBefore / BLOCK_K);
                    if (scaleBase != null && (scaleBase != base2 || scaleStorage != sf.storage()
                            || sK != sf.stride(1) || (mn > 1 && sMn != sf.stride(0)))) {
                        return null;
                    }
                    scaleBase = base2;
                    scaleStorage = sf.storage();
                    sMn = sf.stride(0);
                    sK = sf.stride(1);
                }
                kBefore += kg;
            }
            return dataBase == null ? new FlatOperand(0, 0, 0, 0, ks, 0)
                    : new FlatOperand(dataBase, scaleBase, sMn, sK, ks, kBefore);
        }
    }
}
