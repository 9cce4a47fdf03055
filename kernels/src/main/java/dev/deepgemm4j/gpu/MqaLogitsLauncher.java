package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.MqaLogitsHeuristic;

/**
 * The MQA logits kernels: plain ({@code mqa_logits.cu}) with its clean pass ({@code mqa_logits_clean.cu}), paged
 * ({@code paged_mqa_logits.cu}) and the paged schedule ({@code paged_mqa_metadata.cu}). The paged kernel's grid
 * covers every output position, so it reads no schedule.
 */
final class MqaLogitsLauncher {

    private MqaLogitsLauncher() {
    }

    /**
     * Logits kernel parameters: {@code (q, q_ss, q_sh, kv, kv_ss, kv_sf, kv_sf_s, weights, w_ss, ks, ke, logits,
     * l_ss, int s_q, int s_kv, int cols, int compressed)}; then, when {@code clean}, the clean pass
     * {@code (ks, ke, logits, l_ss, int s_q, int cols)}. The two write disjoint positions.
     */
    static void plain(GpuDevice device, Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits,
            boolean clean, int maxSeqlenK) {
        long s = q.size(0);
        long sKv = kv.data().size(0);
        long cols = logits.size(1);
        int sQ = KernelArgs.toInt(s, "S");
        int width = KernelArgs.toInt(cols, "logits columns");
        var launch = MqaLogitsHeuristic.plain(s, cols, (int) q.size(1), (int) q.size(2));
        LaunchArgs args = KernelArgs.begin().addPointer(q).addLong(q.stride(0)).addLong(q.stride(1))
                .addPointer(kv.data()).addLong(kv.data().stride(0))
                .addPointer(kv.scales()).addLong(kv.scales().stride(0))
                .addPointer(weights).addLong(weights.stride(0))
                .addPointer(ks).addPointer(ke)
                .addPointer(logits).addLong(logits.stride(0))
                .addInt(sQ).addInt(KernelArgs.toInt(sKv, "S_kv")).addInt(width).addInt(maxSeqlenK > 0 ? 1 : 0);
        device.launch(launch, args);
        if (clean) {
            var cleanLaunch = MqaLogitsHeuristic.clean(s, cols);
            device.launch(cleanLaunch, KernelArgs.begin().addPointer(ks).addPointer(ke).addPointer(logits)
                    .addLong(logits.stride(0)).addInt(sQ).addInt(width));
        }
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
            Tensor blockTable, Tensor logits, boolean clean) {
        long batch = q.size(0);
        long nextN = q.size(1);
        long heads = q.size(2);
        long headDim = q.size(3);
        long numBlocks = kvCache.size(0);
        long blockKv = kvCache.size(1);
        long maxContextLen = logits.size(1);
        // kv_cache is UINT8, so its block stride is in bytes; a single block may carry any stride.
        long blockBytes = numBlocks > 1 ? kvCache.stride(0) : blockKv * kvCache.size(3);
        var launch = MqaLogitsHeuristic.paged(batch, maxContextLen, (int) heads, (int) headDim);
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
