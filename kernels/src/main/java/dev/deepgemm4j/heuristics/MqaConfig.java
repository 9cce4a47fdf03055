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
 * @param bf16Logits the kernel writes BF16 logits (else FP32)
 */
public record MqaConfig(boolean paged, int heads, int headDim, int tileKv, boolean bf16Logits)
        implements KernelConfig {

    @Override
    public KernelSource source() {
        return paged ? CudaSources.pagedMqaLogits(heads, headDim, tileKv, bf16Logits)
                : CudaSources.mqaLogits(heads, headDim, tileKv, bf16Logits);
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
