package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import java.util.ArrayList;
import java.util.List;

/**
 * Launch geometry of the MQA logits kernels: the SIMT ones ({@code mqa_logits.cu}, {@code mqa_logits_clean.cu},
 * {@code paged_mqa_logits.cu}, {@code paged_mqa_metadata.cu}; no dynamic shared memory) and the Hopper plain kernel
 * ({@code sm90_fp8_mqa_logits.cu}, {@link #sm90Plain}). Every kernel that writes logits comes in an FP32 and a BF16
 * variant ({@code bf16Logits}) with the same geometry; the methods without the flag pick FP32.
 */
public final class MqaLogitsHeuristic {

    /** Heads the API accepts (SM90 DeepGEMM: 32 or 64). */
    public static final List<Integer> HEADS = List.of(32, 64);
    /** Head dims the API accepts. */
    public static final List<Integer> HEAD_DIMS = List.of(32, 64, 128);
    /** KV positions (threads) per logits CTA. */
    static final int TILE_KV = 256;
    /** Clean passes: threads per CTA, columns of one warp's unit of work, and the most CTAs a launch has. */
    static final int CLEAN_THREADS = 256;
    static final int CLEAN_CHUNK_COLS = 8192;
    /** About what 132 SMs hold at once (8 CTAs of 256 threads each); the warps stride over the rest. */
    static final int CLEAN_MAX_CTAS = 1024;
    /** Hopper plain kernel: (query, head) rows per query block and math warpgroups. */
    static final int SM90_Q_ROWS = 128;
    static final int SM90_MATH_WGS = 4;
    /** The metadata kernel runs one block. */
    static final int METADATA_THREADS = CudaSources.PAGED_METADATA_THREADS;

    private MqaLogitsHeuristic() {
    }

    /** Plain logits [sQ, cols]: grid (sQ, ceil(cols/256), 1), 256 threads. */
    public static Launch<MqaConfig> plain(long sQ, long cols, int heads, int headDim) {
        return plain(sQ, cols, heads, headDim, false);
    }

    /** {@link #plain(long, long, int, int)} writing FP32 or BF16 logits. */
    public static Launch<MqaConfig> plain(long sQ, long cols, int heads, int headDim, boolean bf16Logits) {
        requireHeads(heads, headDim);
        MqaConfig config = new MqaConfig(false, heads, headDim, TILE_KV, bf16Logits);
        return new Launch<>(config, new LaunchGeometry(LaunchGeometry.blocks(sQ, 1), LaunchGeometry.blocks(cols,
                TILE_KV), 1, TILE_KV, 0));
    }

    /**
     * The Hopper plain logits for {@code sQ} queries on {@code numSms} SMs: 4 math warpgroups (256-row KV tiles) and
     * 128-row query blocks for every (H, D), the configuration the earlier H100 harness runs measured fastest for
     * H=64, D=128 (the 2-warpgroup ping-pong and 256-row variants were slower; kernels/src/test/cuda/sm90_mqa_bench.cu
     * times all three).
     */
    public static Launch<Sm90MqaConfig> sm90Plain(long sQ, int heads, int headDim, int numSms) {
        return sm90Plain(sQ, heads, headDim, numSms, false);
    }

    /** {@link #sm90Plain(long, int, int, int)} writing FP32 or BF16 logits. */
    public static Launch<Sm90MqaConfig> sm90Plain(long sQ, int heads, int headDim, int numSms, boolean bf16Logits) {
        requireHeads(heads, headDim);
        if (sQ < 1 || numSms < 1) {
            throw new IllegalArgumentException("S and numSms must be positive, got " + sQ + " and " + numSms);
        }
        Sm90MqaConfig config = sm90Config(heads, headDim, bf16Logits);
        return new Launch<>(config, config.geometry(sQ, numSms));
    }

    /**
     * The Hopper paged logits: one CTA per row of the schedule ({@code scheduleSms} = its rows − 1), the deepest KV
     * pipeline that fits.
     */
    public static Launch<Sm90PagedMqaConfig> sm90Paged(int heads, int headDim, int nextN, int blockKv,
            int scheduleSms) {
        return sm90Paged(heads, headDim, nextN, blockKv, scheduleSms, false);
    }

    /** {@link #sm90Paged(int, int, int, int, int)} writing FP32 or BF16 logits. */
    public static Launch<Sm90PagedMqaConfig> sm90Paged(int heads, int headDim, int nextN, int blockKv,
            int scheduleSms, boolean bf16Logits) {
        requireHeads(heads, headDim);
        if (scheduleSms < 1) {
            throw new IllegalArgumentException("the schedule must cover at least one SM, got " + scheduleSms);
        }
        if ((nextN != 1 && nextN != 2) || (blockKv != 32 && blockKv != 64)) {
            throw new IllegalArgumentException("the Hopper paged kernel needs next_n 1 or 2 and block_kv 32 or 64, got "
                    + nextN + " and " + blockKv);
        }
        Sm90PagedMqaConfig config = Sm90PagedMqaConfig.of(heads, headDim, nextN, blockKv, bf16Logits);
        return new Launch<>(config, new LaunchGeometry(scheduleSms, 1, 1, config.threads(),
                config.dynamicSharedBytes()));
    }

    /** The paged clean pass over logits [rows, cols]: {@link #cleanGeometry}, 256 threads. */
    public static Launch<SimpleKernelConfig> pagedClean(long rows, long cols) {
        return pagedClean(rows, cols, false);
    }

    /** {@link #pagedClean(long, long)} over FP32 or BF16 logits. */
    public static Launch<SimpleKernelConfig> pagedClean(long rows, long cols, boolean bf16Logits) {
        return new Launch<>(pagedCleanConfig(bf16Logits), cleanGeometry(rows, cols));
    }

    private static SimpleKernelConfig pagedCleanConfig(boolean bf16Logits) {
        return new SimpleKernelConfig(CudaSources.mqaLogitsClean(CLEAN_THREADS, CLEAN_CHUNK_COLS, true, bf16Logits),
                CLEAN_THREADS, 0);
    }

    /**
     * A clean pass over [rows, cols]: one warp per unit of a row and {@link #CLEAN_CHUNK_COLS} columns, at most
     * {@link #CLEAN_MAX_CTAS} CTAs (the warps stride over the remaining units).
     */
    static LaunchGeometry cleanGeometry(long rows, long cols) {
        long units = Math.max(1, rows) * LaunchGeometry.blocks(Math.max(1, cols), CLEAN_CHUNK_COLS);
        long ctas = Math.min(CLEAN_MAX_CTAS, (units + CLEAN_THREADS / 32 - 1) / (CLEAN_THREADS / 32));
        return new LaunchGeometry((int) ctas, 1, 1, CLEAN_THREADS, 0);
    }

    /**
     * Hopper paged configurations compiled ahead of time: the benchmark's (H=64, D=128, block_kv=64, next_n 1 and 2)
     * and a fixed sample of the others (the rest compile on first use).
     */
    static final int[][] SM90_PAGED_CATALOG = {{64, 128, 1, 64}, {64, 128, 2, 64}, {64, 64, 2, 64}, {32, 64, 2, 32},
        {32, 32, 1, 32}};

    private static Sm90MqaConfig sm90Config(int heads, int headDim, boolean bf16Logits) {
        return Sm90MqaConfig.of(heads, headDim, SM90_Q_ROWS, SM90_MATH_WGS, false, bf16Logits);
    }

    /** The clean pass over logits [sQ, cols]: {@link #cleanGeometry}, 256 threads. */
    public static Launch<SimpleKernelConfig> clean(long sQ, long cols) {
        return clean(sQ, cols, false);
    }

    /** {@link #clean(long, long)} over FP32 or BF16 logits. */
    public static Launch<SimpleKernelConfig> clean(long sQ, long cols, boolean bf16Logits) {
        return new Launch<>(cleanConfig(bf16Logits), cleanGeometry(sQ, cols));
    }

    /** Paged logits [batch·next_n, maxContextLen]: grid (batch, ceil(maxContextLen/256), 1), 256 threads. */
    public static Launch<MqaConfig> paged(long batch, long maxContextLen, int heads, int headDim) {
        return paged(batch, maxContextLen, heads, headDim, false);
    }

    /** {@link #paged(long, long, int, int)} writing FP32 or BF16 logits. */
    public static Launch<MqaConfig> paged(long batch, long maxContextLen, int heads, int headDim,
            boolean bf16Logits) {
        requireHeads(heads, headDim);
        MqaConfig config = new MqaConfig(true, heads, headDim, TILE_KV, bf16Logits);
        return new Launch<>(config, new LaunchGeometry(LaunchGeometry.blocks(batch, 1),
                LaunchGeometry.blocks(maxContextLen, TILE_KV), 1, TILE_KV, 0));
    }

    /** The schedule metadata: grid (1, 1, 1), one block, the CPU reference's rule. */
    public static Launch<SimpleKernelConfig> metadata() {
        return new Launch<>(metadataConfig(), new LaunchGeometry(1, 1, 1, METADATA_THREADS, 0));
    }

    /** Every configuration the methods above can return, with FP32 and with BF16 logits. */
    public static List<KernelConfig> allConfigs() {
        List<KernelConfig> all = new ArrayList<>();
        for (boolean bf16 : new boolean[] {false, true}) {
            for (boolean paged : new boolean[] {false, true}) {
                for (int h : HEADS) {
                    for (int d : HEAD_DIMS) {
                        all.add(new MqaConfig(paged, h, d, TILE_KV, bf16));
                    }
                }
            }
            for (int h : HEADS) {
                for (int d : HEAD_DIMS) {
                    all.add(sm90Config(h, d, bf16));
                }
            }
            for (int[] c : SM90_PAGED_CATALOG) {
                all.add(Sm90PagedMqaConfig.of(c[0], c[1], c[2], c[3], bf16));
            }
            all.add(cleanConfig(bf16));
            all.add(pagedCleanConfig(bf16));
        }
        all.add(metadataConfig());
        return all;
    }

    private static SimpleKernelConfig cleanConfig(boolean bf16Logits) {
        return new SimpleKernelConfig(CudaSources.mqaLogitsClean(CLEAN_THREADS, CLEAN_CHUNK_COLS, false, bf16Logits),
                CLEAN_THREADS, 0);
    }

    private static SimpleKernelConfig metadataConfig() {
        return new SimpleKernelConfig(CudaSources.pagedMqaMetadata(), METADATA_THREADS, 0);
    }

    private static void requireHeads(int heads, int headDim) {
        if (!HEADS.contains(heads) || !HEAD_DIMS.contains(headDim)) {
            throw new IllegalArgumentException("heads must be one of " + HEADS + " and headDim one of " + HEAD_DIMS
                    + ", got " + heads + " and " + headDim);
        }
    }
}
