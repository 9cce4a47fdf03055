package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.SCALE_BLOCK;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.TMA_ALIGN;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.align;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.ceilDiv;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.free;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.mnMajorScalesAligned;
import static dev.deepgemm4j.gpu.Sm90DenseGemmLauncher.rowPitch;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.TensorStorage;
import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.cuda.TensorMap;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.heuristics.Sm90Gemm1d1dConfig;
import dev.deepgemm4j.heuristics.Sm90Gemm1d1dHeuristic;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The Hopper weight-gradient GEMM ({@code sm90_fp8_gemm_1d1d.cu}): dense 1D1D {@code D += A·Bᵀ} and K-grouped
 * {@code D[g] += A_g·B_gᵀ} ("tn" token rows transposed K-major first, by {@link TransposeLauncher}), FP32 D
 * accumulated in place by TMA reduce-add. {@link DenseGemmLauncher} and {@link GroupedGemmLauncher} ask it first and
 * fall back to the SIMT kernels where it declines.
 */
final class Sm90Gemm1d1dLauncher {

    /** Launches of each variant since the process started (tests read them to see which path ran). */
    static final LongAdder DENSE_LAUNCHES = new LongAdder();
    static final LongAdder K_GROUPED_LAUNCHES = new LongAdder();
    /** The K-grouped launches whose operands were "tn" token rows, transposed K-major first. */
    static final LongAdder K_GROUPED_TN_LAUNCHES = new LongAdder();

    /**
     * {@code DG_SM90_1D1D=0} (or {@code -Ddeepgemm4j.sm90_1d1d=0}) keeps these GEMMs on the SIMT kernels: a way
     * back, without a rebuild, should a shape misbehave on the new kernel.
     */
    static final boolean ENABLED = enabled();
    /** Alignment of B's block in the "tn" scratch: TMA needs 16 bytes; 256, as the allocator aligns A's. */
    private static final long SCRATCH_ALIGN = 256;

    private Sm90Gemm1d1dLauncher() {
    }

    /**
     * Whether the Hopper kernel computes this dense call: an sm_90 device, the 1D1D recipe with FP32 scales, FP32 D
     * accumulated into (D already holds C), K-major A and B and row-major D with 16-byte aligned bases and row
     * pitches, {@code K % 16 == 0} and {@code N % 4 == 0}, sizes within the kernel's u32.
     */
    static boolean denseEligible(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe,
            boolean accumulate) {
        return ENABLED && device.isSm90() && accumulate && recipe.equals(Recipe.PER_TOKEN_PER_TOKEN)
                && d.dtype() == DType.FP32 && Sm90DenseGemmLauncher.tmaOperandsFit(a, b, d, 4);
    }

    /** Queues the dense GEMM; the caller checked {@link #denseEligible}. */
    static void dense(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d) {
        long m = a.data().size(0);
        long k = a.data().size(1);
        long n = b.data().size(0);
        long kBlocks = ceilDiv(k, SCALE_BLOCK);
        Launch<Sm90Gemm1d1dConfig> launch = Sm90Gemm1d1dHeuristic.dense(m, n, k, device.numSms());
        Sm90Gemm1d1dConfig c = launch.config();
        // Staging launches use the thread's parameter block: they all go before this launch's arguments are built.
        Tensor sfaStaged = mnMajorScalesAligned(a.scales(), m) ? null : staged(device, a.scales(), m);
        Tensor sfbStaged = mnMajorScalesAligned(b.scales(), n) ? null : staged(device, b.scales(), n);
        try {
            Tensor sfa = sfaStaged == null ? a.scales() : sfaStaged;
            Tensor sfb = sfbStaged == null ? b.scales() : sfbStaged;
            long dPitch = rowPitch(d, n);
            LaunchArgs args = KernelArgs.begin()
                    .addTensorMap(operandMap(a.data().dataAddress(), k, m, rowPitch(a.data(), k), c.blockM()))
                    .addTensorMap(operandMap(b.data().dataAddress(), k, n, rowPitch(b.data(), k), c.blockN()))
                    .addTensorMap(scaleMap(sfa.dataAddress(), m, kBlocks, scalePitch(sfa, m), c.blockM()))
                    .addTensorMap(scaleMap(sfb.dataAddress(), n, kBlocks, scalePitch(sfb, n), c.blockN()))
                    .addTensorMap(outputMap(d.dataAddress(), 1, m, n, dPitch, c.blockN()))
                    .addPointer(0L).addPointer(0L).addInt(1).addInt((int) m).addInt((int) n).addInt((int) k)
                    .addPointer(0L);
            device.launch(launch, args);
            DENSE_LAUNCHES.increment();
        } finally {
            free(sfaStaged);
            free(sfbStaged);
        }
    }

    /**
     * Runs {@code d[g] += A_g · B_gᵀ} on the Hopper kernel and returns true where it applies: an sm_90 device, D
     * contiguous FP32 [G, M, N] with a 16-byte aligned base and {@code N % 4 == 0}, at least one non-empty group,
     * every K_g a multiple of 128, and the groups in one of two layouts:
     * <ul>
     * <li>"nt": [MN, K_g] K-major blocks laid end to end in one buffer, scales MN-major with a 16-byte column pitch
     * in one [MN, ΣK/128] matrix; the kernel reads them in place.</li>
     * <li>"tn": MN-major views of consecutive row ranges of one [ΣK, MN] token-row buffer (any row pitch), scales
     * views of one [ΣK/128, MN] matrix; transposed first ({@link #kGroupedTokenRows}).</li>
     * </ul>
     * Returns false, having queued nothing, otherwise.
     */
    static boolean kGrouped(GpuDevice device, List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d) {
        if (!ENABLED || !device.isSm90() || d.dtype() != DType.FP32 || !d.isContiguous()
                || d.dataAddress() % TMA_ALIGN != 0) {
            return false;
        }
        long m = d.size(1);
        long n = d.size(2);
        if (m < 1 || n < 1 || n % 4 != 0 || m > Integer.MAX_VALUE || n > Integer.MAX_VALUE) {
            return false;
        }
        Flat a = Flat.of(aGroups, m);
        Flat b = a == null ? null : Flat.of(bGroups, n);
        if (b != null) {
            if (a.items().isEmpty() || !a.items().equals(b.items())) {
                return false;
            }
            launchKGrouped(device, a, b, d);
            return true;
        }
        TokenRows aRows = TokenRows.of(aGroups, m);
        TokenRows bRows = aRows == null ? null : TokenRows.of(bGroups, n);
        if (bRows == null || !Arrays.equals(aRows.ks(), bRows.ks())) {
            return false;
        }
        kGroupedTokenRows(device, aRows, bRows, d);
        return true;
    }

    /**
     * The "tn" layout. WGMMA reads FP8 operands K-major only, so each operand's [ΣK, MN] token rows are first
     * transposed (one launch each) into stream-ordered scratch [MN, ΣK], in which group g is the K-major block of
     * columns [Σ_{h<g} K_h, Σ_{h≤g} K_h) with a row pitch of ΣK bytes (a multiple of 16: every K_g is a multiple of
     * 128); the kernel then reads those blocks through per-group maps as it reads "nt" blocks. The scales
     * [ΣK/128, MN] are MN-major already: read in place where the kernel's scale maps can address them, else copied
     * to a column pitch of align(MN, 4) first. Scratch: (M + N)·ΣK bytes plus any scale copies, all freed on the
     * stream after the GEMM.
     */
    private static void kGroupedTokenRows(GpuDevice device, TokenRows a, TokenRows b, Tensor d) {
        long m = d.size(1);
        long n = d.size(2);
        long sumK = a.totalK();
        long bOffset = align(m * sumK, SCRATCH_ALIGN);
        Tensor sfaStaged = null;
        Tensor sfbStaged = null;
        // Staging launches use the thread's parameter block: they all go before the GEMM's arguments are built.
        try (DeviceMemory scratch = DeviceMemory.allocateAsync(device.stream(), bOffset + n * sumK)) {
            Tensor aKMajor = Tensor.wrap(scratch, DType.FP8_E4M3, new long[] {m, sumK}, new long[] {sumK, 1}, 0,
                    false);
            Tensor bKMajor = Tensor.wrap(scratch, DType.FP8_E4M3, new long[] {n, sumK}, new long[] {sumK, 1},
                    bOffset, false);
            TransposeLauncher.transpose(device, a.data(), aKMajor);
            TransposeLauncher.transpose(device, b.data(), bKMajor);
            sfaStaged = mnMajorScalesAligned(a.scales(), m) ? null : staged(device, a.scales(), m);
            sfbStaged = mnMajorScalesAligned(b.scales(), n) ? null : staged(device, b.scales(), n);
            Flat aFlat = Flat.packed(aKMajor, sfaStaged == null ? a.scales() : sfaStaged, a.ks(), m);
            Flat bFlat = Flat.packed(bKMajor, sfbStaged == null ? b.scales() : sfbStaged, b.ks(), n);
            launchKGrouped(device, aFlat, bFlat, d);
            K_GROUPED_TN_LAUNCHES.increment();
        } finally { // the scratch and the scale copies are freed on the stream, after the kernel
            free(sfaStaged);
            free(sfbStaged);
        }
    }

    /** Queues the K-grouped kernel over operands the kernel can read as they are. */
    private static void launchKGrouped(GpuDevice device, Flat a, Flat b, Tensor d) {
        long m = d.size(1);
        long n = d.size(2);
        int items = a.items().size();
        long totalK = 0;
        for (int[] item : a.itemsK()) {
            totalK += item[1];
        }
        Launch<Sm90Gemm1d1dConfig> launch = Sm90Gemm1d1dHeuristic.kGrouped(items, m, n, totalK, device.numSms());
        Sm90Gemm1d1dConfig c = launch.config();
        CudaStream stream = device.stream();
        long mapBytes = 2L * items * TensorMap.BYTES;
        MemorySegment host = groupTable(a, b, m, n, c);
        try (DeviceMemory table = DeviceMemory.allocateAsync(stream, host.byteSize())) {
            // Pageable host memory: the driver has staged the bytes when the call returns.
            CudaCopy.hostToDeviceAsync(host, table, 0, stream);
            TensorMap sfaMap = scaleMap(a.scales(), m, a.totalKBlocks(), a.scalePitch(), c.blockM());
            TensorMap sfbMap = scaleMap(b.scales(), n, b.totalKBlocks(), b.scalePitch(), c.blockN());
            // tm_a and tm_b are unused by the K-grouped kernel (it reads the table): any valid map will do.
            LaunchArgs args = KernelArgs.begin().addTensorMap(sfaMap).addTensorMap(sfbMap).addTensorMap(sfaMap)
                    .addTensorMap(sfbMap).addTensorMap(outputMap(d.dataAddress(), d.size(0), m, n, n, c.blockN()))
                    .addPointer(table.address()).addPointer(table.address() + mapBytes).addInt(items)
                    .addInt((int) m).addInt((int) n).addInt(0).addPointer(0L);
            device.launch(launch, args);
            K_GROUPED_LAUNCHES.increment();
        } // freed on the stream, after the kernel
    }

    /** Everything a group table's bytes depend on. */
    private record TableKey(List<Long> aAddresses, List<Long> bAddresses, List<Long> aPitches, List<Long> bPitches,
            List<Integer> itemsK, long m, long n, int blockM, int blockN) {
    }

    /**
     * Bounds the memo; a training step reuses a handful of buffers, so a full memo is simply dropped. The "tn" maps
     * point into per-call scratch, which the stream-ordered pool (never trimmed: see CudaContext) mostly hands back
     * at the same address for the same size, so repeated calls still hit; a key holds every input of the table's
     * bytes, so a hit is never stale.
     */
    private static final int MAX_TABLES = 256;
    private static final Map<TableKey, MemorySegment> TABLES = new ConcurrentHashMap<>();

    /**
     * The group table (two maps per non-empty group, then its {index, K_g, first scale column, 0}), memoised: two
     * encodes per group cost several microseconds each, more than the rest of the host path.
     */
    private static MemorySegment groupTable(Flat a, Flat b, long m, long n, Sm90Gemm1d1dConfig c) {
        List<Integer> flatItems = new ArrayList<>();
        for (int[] item : a.itemsK()) {
            flatItems.add(item[0]);
            flatItems.add(item[1]);
            flatItems.add(item[2]);
        }
        TableKey key = new TableKey(a.addresses(), b.addresses(), a.rowPitches(), b.rowPitches(), flatItems, m, n,
                c.blockM(), c.blockN());
        MemorySegment table = TABLES.get(key);
        if (table != null) {
            return table;
        }
        int items = a.itemsK().size();
        long mapBytes = 2L * items * TensorMap.BYTES;
        table = Arena.ofAuto().allocate(mapBytes + 16L * items, TensorMap.ALIGNMENT);
        for (int i = 0; i < items; i++) {
            int[] item = a.itemsK().get(i);
            int kg = item[1];
            MemorySegment.copy(operandMap(a.addresses().get(i), kg, m, a.rowPitches().get(i), c.blockM()).segment(),
                    0, table, (2L * i) * TensorMap.BYTES, TensorMap.BYTES);
            MemorySegment.copy(operandMap(b.addresses().get(i), kg, n, b.rowPitches().get(i), c.blockN()).segment(),
                    0, table, (2L * i + 1) * TensorMap.BYTES, TensorMap.BYTES);
            long info = mapBytes + 16L * i;
            table.set(ValueLayout.JAVA_INT, info, item[0]);
            table.set(ValueLayout.JAVA_INT, info + 4, kg);
            table.set(ValueLayout.JAVA_INT, info + 8, item[2]);
            table.set(ValueLayout.JAVA_INT, info + 12, 0);
        }
        if (TABLES.size() >= MAX_TABLES) {
            TABLES.clear();
        }
        TABLES.put(key, table);
        return table;
    }

    /**
     * A K-grouped operand as the kernel reads it. {@code itemsK} lists the non-empty groups as {index, K_g, first
     * scale column}; {@code addresses} their K-major blocks' first bytes and {@code rowPitches} the bytes between
     * the blocks' rows; {@code scales} the address of scale column 0 of the MN-major matrix whose columns are
     * {@code scalePitch} floats apart.
     */
    private record Flat(List<Integer> items, List<int[]> itemsK, List<Long> addresses, List<Long> rowPitches,
            long scales, long scalePitch, long totalKBlocks) {

        /** The "nt" groups as the API lays them out (see {@link #kGrouped}), or null where they are not. */
        static Flat of(List<Fp8Tensor> groups, long mn) {
            List<Integer> items = new ArrayList<>();
            List<int[]> itemsK = new ArrayList<>();
            List<Long> addresses = new ArrayList<>();
            List<Long> rowPitches = new ArrayList<>();
            long kBefore = 0;
            Long dataBase = null;
            Long scaleBase = null;
            long pitch = 0;
            TensorStorage dataStorage = null;
            TensorStorage scaleStorage = null;
            for (int g = 0; g < groups.size(); g++) {
                Tensor data = groups.get(g).data();
                Tensor sf = groups.get(g).scales();
                long kg = data.size(1);
                if (kg % SCALE_BLOCK != 0 || kg > Integer.MAX_VALUE) {
                    return null;
                }
                if (kg > 0) {
                    boolean kMajor = data.stride(1) == 1 && (mn <= 1 || data.stride(0) == kg);
                    long base = data.dataAddress() - mn * kBefore;
                    if (!kMajor || base % TMA_ALIGN != 0 || sf.dtype() != DType.FP32
                            || (dataBase != null && (dataBase != base || dataStorage != data.storage()))) {
                        return null;
                    }
                    long sfPitch = sf.size(1) > 1 ? sf.stride(1) : pitch > 0 ? pitch : align(mn, 4);
                    boolean mnMajor = (mn <= 1 || sf.stride(0) == 1) && sfPitch >= mn && sfPitch % 4 == 0;
                    long sBase = sf.dataAddress() - 4 * sfPitch * (kBefore / SCALE_BLOCK);
                    if (!mnMajor || sBase % TMA_ALIGN != 0 || (scaleBase != null && (scaleBase != sBase
                            || scaleStorage != sf.storage() || pitch != sfPitch))) {
                        return null;
                    }
                    dataBase = base;
                    dataStorage = data.storage();
                    scaleBase = sBase;
                    scaleStorage = sf.storage();
                    pitch = sfPitch;
                    items.add(g);
                    itemsK.add(new int[] {g, (int) kg, (int) (kBefore / SCALE_BLOCK)});
                    addresses.add(data.dataAddress());
                    rowPitches.add(kg);
                }
                kBefore += kg;
            }
            if (dataBase == null) {
                return new Flat(items, itemsK, addresses, rowPitches, 0, 0, 0);
            }
            return new Flat(items, itemsK, addresses, rowPitches, scaleBase, pitch, kBefore / SCALE_BLOCK);
        }

        /**
         * Groups of sizes {@code ks} as consecutive column ranges of one K-major [MN, ΣK] matrix {@code kMajor}
         * (16-byte aligned base and row pitch), with MN-major scales {@code sf} [MN, ΣK/128] that pass
         * {@link Sm90DenseGemmLauncher#mnMajorScalesAligned}.
         */
        static Flat packed(Tensor kMajor, Tensor sf, int[] ks, long mn) {
            List<Integer> items = new ArrayList<>();
            List<int[]> itemsK = new ArrayList<>();
            List<Long> addresses = new ArrayList<>();
            List<Long> rowPitches = new ArrayList<>();
            long kBefore = 0;
            for (int g = 0; g < ks.length; g++) {
                if (ks[g] > 0) {
                    items.add(g);
                    itemsK.add(new int[] {g, ks[g], (int) (kBefore / SCALE_BLOCK)});
                    addresses.add(kMajor.dataAddress() + kBefore);
                    rowPitches.add(kMajor.stride(0));
                }
                kBefore += ks[g];
            }
            long pitch = Sm90Gemm1d1dLauncher.scalePitch(sf, mn);
            return new Flat(items, itemsK, addresses, rowPitches, sf.dataAddress(), pitch, kBefore / SCALE_BLOCK);
        }
    }

    /**
     * A K-grouped "tn" operand: {@code data} the [ΣK, MN] token rows (unit column stride, any row pitch) whose row
     * ranges the groups are, {@code scales} the [MN, ΣK/128] view of their [ΣK/128, MN] scales, {@code ks} the group
     * sizes.
     */
    record TokenRows(Tensor data, Tensor scales, int[] ks, long totalK) {

        /**
         * The one buffer behind {@code groups} ([MN, K_g] MN-major views, K_g multiples of 128, at least one
         * non-empty), or null where the groups are not consecutive row ranges of one token-row buffer with their
         * scales consecutive row ranges of one scale matrix.
         */
        static TokenRows of(List<Fp8Tensor> groups, long mn) {
            int[] ks = new int[groups.size()];
            long kBefore = 0;
            Tensor first = null;
            Tensor firstSf = null;
            for (int g = 0; g < ks.length; g++) {
                Tensor data = groups.get(g).data();
                Tensor sf = groups.get(g).scales();
                long kg = data.size(1);
                if (kg % SCALE_BLOCK != 0 || kg > Integer.MAX_VALUE) {
                    return null;
                }
                ks[g] = (int) kg;
                if (kg > 0) {
                    if (!(mn <= 1 || data.stride(0) == 1) || sf.dtype() != DType.FP32) {
                        return null;
                    }
                    // Empty groups own no rows, so the first non-empty group starts at row 0 of the buffer.
                    if (first == null) {
                        first = data;
                        firstSf = sf;
                    }
                    boolean sameRows = data.storage() == first.storage() && data.stride(1) == first.stride(1)
                            && data.dataAddress() == first.dataAddress() + first.stride(1) * kBefore;
                    boolean sameScales = sf.storage() == firstSf.storage() && sf.stride(1) == firstSf.stride(1)
                            && (mn <= 1 || sf.stride(0) == firstSf.stride(0))
                            && sf.dataAddress() == firstSf.dataAddress()
                                    + 4 * firstSf.stride(1) * (kBefore / SCALE_BLOCK);
                    if (!sameRows || !sameScales) {
                        return null;
                    }
                }
                kBefore += kg;
            }
            if (first == null) {
                return null;
            }
            Tensor rows = Tensor.wrap(first.storage(), first.dtype(), new long[] {kBefore, mn},
                    new long[] {first.stride(1), 1}, first.offset(), false);
            Tensor scales = Tensor.wrap(firstSf.storage(), DType.FP32, new long[] {mn, kBefore / SCALE_BLOCK},
                    new long[] {mn <= 1 ? 1 : firstSf.stride(0), firstSf.stride(1)}, firstSf.offset(), false);
            return new TokenRows(rows, scales, ks, kBefore);
        }
    }

    // ---------------------------------------------------------------- maps

    private static TensorMap operandMap(long address, long k, long rows, long pitchBytes, int boxRows) {
        return TensorMaps.rows(TensorMap.DataType.UINT8, address, k, rows, pitchBytes, SCALE_BLOCK, boxRows,
                TensorMap.Swizzle.B128);
    }

    private static TensorMap scaleMap(long address, long mn, long kBlocks, long pitch, int boxMn) {
        return TensorMaps.rows(TensorMap.DataType.FLOAT32, address, mn, Math.max(kBlocks, 1), pitch * 4, boxMn, 1,
                TensorMap.Swizzle.NONE);
    }

    /** D as {n, m, groups}: boxes never cross from one group's rows into the next. */
    private static TensorMap outputMap(long address, long groups, long m, long n, long rowPitch, int blockN) {
        return TensorMaps.rank3(TensorMap.DataType.FLOAT32, address, n, m, groups, rowPitch * 4, rowPitch * 4 * m,
                blockN, 64, 1, TensorMap.Swizzle.NONE);
    }

    // ---------------------------------------------------------------- layout helpers

    private static boolean enabled() {
        String v = System.getProperty("deepgemm4j.sm90_1d1d", System.getenv("DG_SM90_1D1D"));
        return v == null || !(v.strip().equals("0") || v.strip().equalsIgnoreCase("false"));
    }

    private static long scalePitch(Tensor sf, long mn) {
        return sf.size(1) > 1 ? sf.stride(1) : align(mn, 4);
    }

    /** A stream-ordered MN-major copy of scales [mn, kBlocks], column pitch align(mn, 4). */
    private static Tensor staged(GpuDevice device, Tensor sf, long mn) {
        return Sm90DenseGemmLauncher.staged(device, sf, new long[] {1, align(mn, 4)});
    }

}
