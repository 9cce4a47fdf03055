package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration of the Hopper plain MQA logits kernel ({@code sm90_fp8_mqa_logits.cu}, sm_90a only): query blocks of
 * {@code qRows} (query, head) rows, KV tiles of 64 rows per math warpgroup streamed through {@code stages} TMA stages.
 *
 * @param heads H
 * @param headDim D
 * @param qRows (query, head) rows per query block, the WGMMA N
 * @param mathWgs math warpgroups
 * @param pingpong two accumulator sets per math warpgroup
 * @param stages KV pipeline depth
 * @param bf16Logits the kernel writes BF16 logits (else FP32); shared memory and pipeline are the same
 */
public record Sm90MqaConfig(int heads, int headDim, int qRows, int mathWgs, boolean pingpong, int stages,
        boolean bf16Logits) implements KernelConfig {

    /** The configuration with the deepest KV pipeline that fits, as the verified harness builds it. */
    public static Sm90MqaConfig of(int heads, int headDim, int qRows, int mathWgs, boolean pingpong,
            boolean bf16Logits) {
        return new Sm90MqaConfig(heads, headDim, qRows, mathWgs, pingpong,
                CudaSources.sm90MqaMaxStages(headDim, qRows, mathWgs), bf16Logits);
    }

    @Override
    public KernelSource source() {
        return CudaSources.sm90Fp8MqaLogits(heads, headDim, qRows, mathWgs, pingpong, stages, bf16Logits);
    }

    @Override
    public int threads() {
        return CudaSources.sm90MqaThreads(mathWgs);
    }

    @Override
    public int staticSharedBytes() {
        return 0;
    }

    /** Dynamic shared memory per CTA. */
    public int dynamicSharedBytes() {
        return CudaSources.sm90MqaSharedBytes(headDim, qRows, mathWgs, stages);
    }

    /** Queries per query block. */
    public int blockQ() {
        return qRows / heads;
    }

    /** KV rows per tile (the KV map's box height). */
    public int blockKv() {
        return CudaSources.sm90MqaBlockKv(mathWgs);
    }

    /** 16-byte rows of KV scales per tile (the scales map's box height). */
    public int sfBoxRows() {
        return CudaSources.sm90MqaSfBoxRows(mathWgs);
    }

    /**
     * The persistent grid for {@code sQ} queries: one CTA per query block up to {@code numSms}; each CTA walks the
     * KV range of its blocks, so more CTAs than SMs would only queue.
     */
    LaunchGeometry geometry(long sQ, int numSms) {
        long blocks = Math.max(1, (sQ + blockQ() - 1) / blockQ());
        return new LaunchGeometry((int) Math.min(blocks, numSms), 1, 1, threads(), dynamicSharedBytes());
    }

    @Override
    public String toString() {
        return "sm90 MQA logits H=" + heads + " D=" + headDim + ", " + qRows + " q rows, " + mathWgs + " math WGs"
                + (pingpong ? " (ping-pong)" : "") + ", " + stages + " stages, " + threads() + " threads, "
                + dynamicSharedBytes() + " B smem" + (bf16Logits ? ", BF16 logits" : "");
    }
}
