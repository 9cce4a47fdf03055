package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration of the Hopper paged MQA logits kernel ({@code sm90_fp8_paged_mqa_logits.cu}, sm_90a only): 4 math
 * warpgroups over 256-position KV splits, {@code nextN} draft tokens per WGMMA, {@code stages} KV stages.
 *
 * @param heads H
 * @param headDim D
 * @param nextN draft tokens per sequence (1 or 2)
 * @param blockKv positions per cache block (32 or 64)
 * @param stages KV pipeline depth
 * @param bf16Logits the kernel writes BF16 logits (else FP32); shared memory and pipeline are the same
 */
public record Sm90PagedMqaConfig(int heads, int headDim, int nextN, int blockKv, int stages, boolean bf16Logits)
        implements KernelConfig {

    /**
     * KV stages with one draft token. A stage sweep on the H100 (B = 256, context 65536, H = 64, D = 128, two rounds
     * each) ran next_n = 1 in 808-810 µs with 3 stages against 824-829 µs with the 6 that fit (2: 810, 4-5: 821-825);
     * with next_n = 2 every depth from 3 to 5 took 836-839 µs, so that case keeps the deepest ring.
     */
    static final int NEXT_N1_STAGES = 3;

    /** The configuration of the measured best KV pipeline depth: see {@link #NEXT_N1_STAGES}, else the deepest. */
    public static Sm90PagedMqaConfig of(int heads, int headDim, int nextN, int blockKv, boolean bf16Logits) {
        int deepest = CudaSources.sm90PagedMqaMaxStages(heads, headDim, nextN);
        return new Sm90PagedMqaConfig(heads, headDim, nextN, blockKv,
                nextN == 1 ? Math.min(NEXT_N1_STAGES, deepest) : deepest, bf16Logits);
    }

    @Override
    public KernelSource source() {
        return CudaSources.sm90Fp8PagedMqaLogits(heads, headDim, nextN, blockKv, stages, bf16Logits);
    }

    @Override
    public int threads() {
        return CudaSources.sm90MqaThreads(4);
    }

    @Override
    public int staticSharedBytes() {
        return 0;
    }

    /** Dynamic shared memory per CTA. */
    public int dynamicSharedBytes() {
        return CudaSources.sm90PagedMqaSharedBytes(heads, headDim, nextN, stages);
    }

    /** (draft token, head) rows of q per sequence: the q map's box height. */
    public int qRows() {
        return nextN * heads;
    }

    @Override
    public String toString() {
        return "sm90 paged MQA logits H=" + heads + " D=" + headDim + " next_n=" + nextN + " block_kv=" + blockKv
                + ", " + stages + " stages, " + threads() + " threads, " + dynamicSharedBytes() + " B smem"
                + (bf16Logits ? ", BF16 logits" : "");
    }
}
