package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A compiled configuration of an MQA logits kernel: one thread per KV position, {@code tileKv} positions per CTA, the
 * query row staged in shared memory as floats.
 *
 * @param paged {@code paged_mqa_logits.cu} (else {@code mqa_logits.cu})
 * @param heads H
 * @param headDim D
 * @param tileKv KV positions (threads) per CTA
 */
public record MqaConfig(boolean paged, int heads, int headDim, int tileKv) implements KernelConfig {

    @Override
    public KernelSource source() {
        return paged ? CudaSources.pagedMqaLogits(heads, headDim, tileKv) : CudaSources.mqaLogits(heads, headDim, tileKv);
    }

    @Override
    public int threads() {
        return tileKv;
    }

    @Override
    public int staticSharedBytes() {
        return 4 * heads * (headDim + 1);
    }
}
