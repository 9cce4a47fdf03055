package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.cuda.TensorMap;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.heuristics.MqaLogitsHeuristic;
import dev.deepgemm4j.heuristics.Sm90MqaConfig;
import dev.deepgemm4j.heuristics.Sm90PagedMqaConfig;
import java.util.concurrent.atomic.LongAdder;

/**
 * The MQA logits kernels: plain (the Hopper kernel {@code sm90_fp8_mqa_logits.cu} where {@link #sm90Eligible}, else
 * the SIMT {@code mqa_logits.cu}) with its clean pass ({@code mqa_logits_clean.cu}), paged (the Hopper kernel
 * {@code sm90_fp8_paged_mqa_logits.cu}, persistent over the schedule's units, plus the paged clean pass, where
 * {@link #sm90PagedEligible}; else the SIMT {@code paged_mqa_logits.cu}, whose grid covers every output position so
 * it reads no schedule) and the paged schedule ({@code paged_mqa_metadata.cu}). The logits tensor's dtype (FP32 or
 * BF16) picks the variant of every kernel that writes logits, clean passes included.
 */
final class MqaLogitsLauncher {

    /** Plain logits launches of each kernel family since the process started (tests read them to see which ran). */
    static final LongAdder SM90_PLAIN_LAUNCHES = new LongAdder();
    static final LongAdder SIMT_PLAIN_LAUNCHES = new LongAdder();
    /** Paged logits launches of each kernel family. */
    static final LongAdder SM90_PAGED_LAUNCHES = new LongAdder();
    static final LongAdder SIMT_PAGED_LAUNCHES = new LongAdder();
    /** TMA's alignment of base addresses and row pitches. */
    private static final int TMA_ALIGN = 16;

    private MqaLogitsLauncher() {
    }

    /**
     * The logits kernel (Hopper: {@link dev.deepgemm4j.jit.CudaSources#sm90Fp8MqaLogits}; SIMT: {@code (q, q_ss, q_sh,
     * kv, kv_ss, kv_sf, kv_sf_s, weights, w_ss, ks, ke, logits, l_ss, int s_q, int s_kv, int cols, int compressed)});
     * then, when {@code clean}, the clean pass {@code (ks, ke, logits, l_ss, int s_q, int cols)}. The two write
     * disjoint positions.
     */
    static void plain(GpuDevice device, Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits,
            boolean clean, int maxSeqlenK) {
        long s = q.size(0);
        long cols = logits.size(1);
        int sQ = KernelArgs.toInt(s, "S");
        int width = KernelArgs.toInt(cols, "logits columns");
        boolean bf16 = bf16Logits(logits);
        if (sm90Eligible(device, q, kv, weights, logits)) {
            sm90Plain(device, q, kv, weights, ks, ke, logits, maxSeqlenK, bf16);
            SM90_PLAIN_LAUNCHES.increment();
        } else {
            simtPlain(device, q, kv, weights, ks, ke, logits, maxSeqlenK, bf16);
            SIMT_PLAIN_LAUNCHES.increment();
        }
        if (clean) {
            var cleanLaunch = MqaLogitsHeuristic.clean(s, cols, bf16);
            device.launch(cleanLaunch, KernelArgs.begin().addPointer(ks).addPointer(ke).addPointer(logits)
                    .addLong(logits.stride(0)).addInt(sQ).addInt(width));
        }
    }

    /** Whether {@code logits} is BF16 (else FP32, the only other dtype the kernels write). */
    static boolean bf16Logits(Tensor logits) {
        if (logits.dtype() != DType.FP32 && logits.dtype() != DType.BF16) {
            throw new IllegalArgumentException("logits must be FP32 or BF16, got " + logits.dtype());
        }
        return logits.dtype() == DType.BF16;
    }

    /**
     * Whether the Hopper kernel computes this call: an sm_90 device; q, kv and logits rows contiguous with 16-byte
     * aligned bases (q and kv are read by TMA as [S·H, D] and [S_kv, D] byte matrices, D-byte row pitches); contiguous,
     * 4-byte aligned KV scales (read by TMA from the 16-byte boundary at or below them) and weight rows; and at least
     * one whole TMA box of q rows and of KV rows (smaller problems gain nothing from the pipeline).
     */
    static boolean sm90Eligible(GpuDevice device, Tensor q, Fp8Tensor kv, Tensor weights, Tensor logits) {
        long s = q.size(0);
        long heads = q.size(1);
        long dim = q.size(2);
        long sKv = kv.data().size(0);
        if (device.info().computeCapabilityMajor() != 9 || device.info().computeCapabilityMinor() != 0
                || !MqaLogitsHeuristic.HEADS.contains((int) heads) || !MqaLogitsHeuristic.HEAD_DIMS.contains((int) dim)
                || s * heads > Integer.MAX_VALUE || sKv > Integer.MAX_VALUE) {
            return false;
        }
        Sm90MqaConfig c = MqaLogitsHeuristic.sm90Plain(s, (int) heads, (int) dim, 1).config();
        Tensor kvData = kv.data();
        return s * heads >= c.qRows() && sKv >= c.blockKv()
                && q.stride(2) == 1 && q.stride(1) == dim && q.stride(0) == heads * dim
                && q.dataAddress() % TMA_ALIGN == 0
                && kvData.stride(1) == 1 && kvData.stride(0) == dim && kvData.dataAddress() % TMA_ALIGN == 0
                && (sKv == 1 || kv.scales().stride(0) == 1) && kv.scales().dataAddress() % Float.BYTES == 0
                && (heads == 1 || weights.stride(1) == 1)
                && logits.stride(1) == 1;
    }

    /** The Hopper kernel; the caller checked {@link #sm90Eligible}. */
    private static void sm90Plain(GpuDevice device, Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke,
            Tensor logits, int maxSeqlenK, boolean bf16) {
        long s = q.size(0);
        int heads = (int) q.size(1);
        int dim = (int) q.size(2);
        long sKv = kv.data().size(0);
        Launch<Sm90MqaConfig> launch = MqaLogitsHeuristic.sm90Plain(s, heads, dim, device.numSms(), bf16);
        Sm90MqaConfig c = launch.config();
        TensorMap.Swizzle swizzle = Sm90DenseGemmLauncher.swizzle(dim); // rows of D FP8 bytes
        TensorMap mapQ = TensorMaps.rows(TensorMap.DataType.UINT8, q.dataAddress(), dim, s * heads,
                dim, dim, c.qRows(), swizzle);
        TensorMap mapKv = TensorMaps.rows(TensorMap.DataType.UINT8, kv.data().dataAddress(), dim, sKv,
                dim, dim, c.blockKv(), swizzle);
        // TMA wants a 16-byte aligned base: map from the boundary at or below the scales, sfOffset elements early, as
        // 16-byte rows (a tile's box then starts at a whole row, whatever its first KV row).
        long scales = kv.scales().dataAddress();
        int sfOffset = (int) (scales % TMA_ALIGN) / Float.BYTES;
        int perRow = TMA_ALIGN / Float.BYTES;
        TensorMap mapSf = TensorMaps.rows(TensorMap.DataType.FLOAT32, scales - (long) sfOffset * Float.BYTES, perRow,
                Math.ceilDiv(sfOffset + sKv, perRow), TMA_ALIGN, perRow, c.sfBoxRows(),
                TensorMap.Swizzle.NONE);
        LaunchArgs args = KernelArgs.begin().addTensorMap(mapQ).addTensorMap(mapKv).addTensorMap(mapSf)
                .addInt(sfOffset).addPointer(weights.dataAddress()).addLong(weights.stride(0))
                .addPointer(ks).addPointer(ke).addPointer(logits).addLong(logits.stride(0))
                .addInt((int) s).addInt((int) sKv).addInt(KernelArgs.toInt(logits.size(1), "logits columns"))
                .addInt(maxSeqlenK > 0 ? 1 : 0).addPointer(0L);
        device.launch(launch, args);
    }

    private static void simtPlain(GpuDevice device, Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke,
            Tensor logits, int maxSeqlenK, boolean bf16) {
        long s = q.size(0);
        long sKv = kv.data().size(0);
        long cols = logits.size(1);
        int sQ = KernelArgs.toInt(s, "S");
        int width = KernelArgs.toInt(cols, "logits columns");
        var launch = MqaLogitsHeuristic.plain(s, cols, (int) q.size(1), (int) q.size(2), bf16);
        LaunchArgs args = KernelArgs.begin().addPointer(q).addLong(q.stride(0)).addLong(q.stride(1))
                .addPointer(kv.data()).addLong(kv.data().stride(0))
                .addPointer(kv.scales()).addLong(kv.scales().stride(0))
                .addPointer(weights).addLong(weights.stride(0))
                .addPointer(ks).addPointer(ke)
                .addPointer(logits).addLong(logits.stride(0))
                .addInt(sQ).addInt(KernelArgs.toInt(sKv, "S_kv")).addInt(width).addInt(maxSeqlenK > 0 ? 1 : 0);
        device.launch(launch, args);
    }

    /** Kernel parameters: {@code (context_lens, cl_sb, int batch, int next_n, out, int num_sms)}. */
    static void metadata(GpuDevice device, Tensor contextLens, int numSms, Tensor out) {
        device.launch(MqaLogitsHeuristic.metadata(), KernelArgs.begin().addPointer(contextLens)
                .addLong(contextLens.stride(0)).addInt(KernelArgs.toInt(contextLens.size(0), "B"))
                .addInt(KernelArgs.toInt(contextLens.size(1), "next_n")).addPointer(out).addInt(numSms));
    }

    /**
     * Kernel parameters: {@code (q, q_sb, q_st, q_sh, kv_cache, i64 block_bytes, int num_blocks, weights, w_sr,
     * context_lens, cl_sb, block_table, bt_sb, int max_blocks, logits, l_sr, int batch, int max_context_len,
     * int next_n, int block_kv, int clean)}.
     */
    static void paged(GpuDevice device, Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens,
            Tensor blockTable, Tensor scheduleMeta, Tensor logits, boolean clean) {
        boolean bf16 = bf16Logits(logits);
        if (sm90PagedEligible(device, q, kvCache, weights, scheduleMeta, logits)) {
            sm90Paged(device, q, kvCache, weights, contextLens, blockTable, scheduleMeta, logits, clean, bf16);
            SM90_PAGED_LAUNCHES.increment();
            return;
        }
        simtPaged(device, q, kvCache, weights, contextLens, blockTable, logits, clean, bf16);
        SIMT_PAGED_LAUNCHES.increment();
    }

    /**
     * Whether the Hopper paged kernel computes this call: an sm_90 device, next_n 1 or 2, block_kv 32 or 64, q
     * contiguous with a 16-byte aligned base (read by TMA as [B·next_n·H, D]), cache blocks 16-byte aligned and
     * 16-byte multiples apart (a 3-D TMA map over them), contiguous weight rows, a contiguous schedule, unit-stride
     * logits rows, and sizes within the kernel's ints.
     */
    static boolean sm90PagedEligible(GpuDevice device, Tensor q, Tensor kvCache, Tensor weights, Tensor scheduleMeta,
            Tensor logits) {
        long batch = q.size(0);
        long nextN = q.size(1);
        long heads = q.size(2);
        long dim = q.size(3);
        long numBlocks = kvCache.size(0);
        long blockKv = kvCache.size(1);
        long blockBytes = numBlocks > 1 ? kvCache.stride(0) : blockKv * (dim + 4);
        return device.isSm90()
                && (nextN == 1 || nextN == 2) && (blockKv == 32 || blockKv == 64)
                && MqaLogitsHeuristic.HEADS.contains((int) heads) && MqaLogitsHeuristic.HEAD_DIMS.contains((int) dim)
                && batch >= 1 && numBlocks >= 1 && batch * nextN * heads <= Integer.MAX_VALUE
                && numBlocks <= Integer.MAX_VALUE
                && q.stride(3) == 1 && q.stride(2) == dim && q.stride(1) == heads * dim
                && (batch == 1 || q.stride(0) == nextN * heads * dim) && q.dataAddress() % TMA_ALIGN == 0
                && kvCache.dataAddress() % TMA_ALIGN == 0 && blockBytes % TMA_ALIGN == 0
                && blockBytes >= blockKv * (dim + 4)
                && weights.stride(1) == 1
                && scheduleMeta.size(0) >= 2 && scheduleMeta.stride(0) == 2 && scheduleMeta.stride(1) == 1
                && logits.stride(1) == 1;
    }

    /** The Hopper paged kernel and the paged clean pass; the caller checked {@link #sm90PagedEligible}. */
    private static void sm90Paged(GpuDevice device, Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens,
            Tensor blockTable, Tensor scheduleMeta, Tensor logits, boolean clean, boolean bf16) {
        int batch = (int) q.size(0);
        int nextN = (int) q.size(1);
        int heads = (int) q.size(2);
        int dim = (int) q.size(3);
        long numBlocks = kvCache.size(0);
        int blockKv = (int) kvCache.size(1);
        long blockBytes = numBlocks > 1 ? kvCache.stride(0) : (long) blockKv * (dim + 4);
        long maxContextLen = logits.size(1);
        int scheduleSms = KernelArgs.toInt(scheduleMeta.size(0) - 1, "schedule rows");
        Launch<Sm90PagedMqaConfig> launch = MqaLogitsHeuristic.sm90Paged(heads, dim, nextN, blockKv, scheduleSms,
                bf16);
        Sm90PagedMqaConfig c = launch.config();
        TensorMap.Swizzle swizzle = Sm90DenseGemmLauncher.swizzle(dim); // rows of D FP8 bytes
        TensorMap mapQ = TensorMaps.rows(TensorMap.DataType.UINT8, q.dataAddress(), dim,
                (long) batch * nextN * heads, dim, dim, c.qRows(), swizzle);
        TensorMap mapKv = TensorMaps.rank3(TensorMap.DataType.UINT8, kvCache.dataAddress(), dim, blockKv, numBlocks,
                dim, blockBytes, (int) dim, (int) blockKv, 1, swizzle);
        LaunchArgs args = KernelArgs.begin().addTensorMap(mapQ).addTensorMap(mapKv)
                .addPointer(kvCache.dataAddress()).addLong(blockBytes).addInt((int) numBlocks)
                .addPointer(weights.dataAddress()).addLong(weights.stride(0))
                .addPointer(contextLens).addLong(contextLens.stride(0))
                .addPointer(blockTable).addLong(blockTable.stride(0))
                .addInt(KernelArgs.toInt(blockTable.size(1), "max_blocks"))
                .addPointer(scheduleMeta).addPointer(logits).addLong(logits.stride(0))
                .addInt(batch).addInt(KernelArgs.toInt(maxContextLen, "max_context_len")).addPointer(0L);
        device.launch(launch, args);
        if (clean) {
            int rows = KernelArgs.toInt((long) batch * nextN, "B·next_n");
            device.launch(MqaLogitsHeuristic.pagedClean(rows, maxContextLen, bf16), KernelArgs.begin()
                    .addPointer(contextLens).addLong(contextLens.stride(0)).addInt(nextN).addPointer(logits)
                    .addLong(logits.stride(0)).addInt(rows).addInt((int) maxContextLen));
        }
    }

    private static void simtPaged(GpuDevice device, Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens,
            Tensor blockTable, Tensor logits, boolean clean, boolean bf16) {
        long batch = q.size(0);
        long nextN = q.size(1);
        long heads = q.size(2);
        long headDim = q.size(3);
        long numBlocks = kvCache.size(0);
        long blockKv = kvCache.size(1);
        long maxContextLen = logits.size(1);
        // kv_cache is UINT8, so its block stride is in bytes; a single block may carry any stride.
        long blockBytes = numBlocks > 1 ? kvCache.stride(0) : blockKv * kvCache.size(3);
        var launch = MqaLogitsHeuristic.paged(batch, maxContextLen, (int) heads, (int) headDim, bf16);
        LaunchArgs args = KernelArgs.begin().addPointer(q).addLong(q.stride(0)).addLong(q.stride(1))
                .addLong(q.stride(2))
                .addPointer(kvCache).addLong(blockBytes).addInt(KernelArgs.toInt(numBlocks, "num_blocks"))
                .addPointer(weights).addLong(weights.stride(0))
                .addPointer(contextLens).addLong(contextLens.stride(0))
                .addPointer(blockTable).addLong(blockTable.stride(0))
                .addInt(KernelArgs.toInt(blockTable.size(1), "max_blocks"))
                .addPointer(logits).addLong(logits.stride(0))
                .addInt(KernelArgs.toInt(batch, "B")).addInt(KernelArgs.toInt(maxContextLen, "max_context_len"))
                .addInt((int) nextN).addInt((int) blockKv).addInt(clean ? 1 : 0);
        device.launch(launch, args);
    }
}
