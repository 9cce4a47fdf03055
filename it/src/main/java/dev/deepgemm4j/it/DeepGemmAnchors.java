package dev.deepgemm4j.it;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DeepGEMM 2.6.1's own times for the benchmark rows that match its suite exactly, measured with its benchmark (profiler
 * kernel times, L2 flushed) on an H100 80GB HBM3 (700 W) on 2026-11-23: the figures of {@code anchors.md} in the
 * project's shared research. Rows whose shapes are drawn at random (the grouped GEMMs) have no exact counterpart and
 * no anchor.
 */
final class DeepGemmAnchors {

    /** The device the anchors were measured on. */
    static final String DEVICE = "NVIDIA H100 80GB HBM3";

    private static final Map<String, Double> MICROS = new LinkedHashMap<>();

    static {
        long[][] nk = {{2112, 7168}, {576, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384}, {4096, 7168},
            {7168, 2048}};
        double[][] dense = {{14.1, 10.2, 21.9, 11.0, 53.5, 18.7, 9.8}, {11.4, 9.5, 22.0, 12.7, 55.8, 17.5, 10.7},
            {96.4, 33.7, 238.5, 136.3, 656.7, 168.7, 93.3}};
        long[] ms = {1, 128, 4096};
        for (int i = 0; i < ms.length; i++) {
            for (int j = 0; j < nk.length; j++) {
                MICROS.put(key("fp8_gemm_nt [1D2D]", "M=" + ms[i] + " N=" + nk[j][0] + " K=" + nk[j][1]), dense[i][j]);
            }
        }
        // DeepGEMM timed its MQA logits kernel and its clean_logits kernel apart; our kernel time is the sum of a
        // call's kernels, the clean pass included, so these anchors are the sums (the context-parallel clean pass
        // alone is 416 µs, a tenth of the call).
        MICROS.put(key("fp8_mqa_logits", "S=2048 S_kv=65536 H=64 D=128"), 1896.0 + 7.0);
        MICROS.put(key("fp8_mqa_logits", "S=8192 S_kv=65536 H=64 D=128"), 7852.0 + 72.0);
        MICROS.put(key("fp8_mqa_logits", "S=8192 S_kv=65536 H=64 D=128 CP"), 3861.0 + 416.0);
        MICROS.put(key("fp8_mqa_logits", "S=8192 S_kv=65536 H=64 D=128 BF16"), 7492.0 + 39.0);
        MICROS.put(key("fp8_paged_mqa_logits", "B=256 next_n=1 ctx≈65536 H=64 D=128"), 790.0);
        MICROS.put(key("fp8_paged_mqa_logits", "B=256 next_n=2 ctx≈65536 H=64 D=128"), 824.0);
    }

    private DeepGemmAnchors() {
    }

    private static String key(String label, String shape) {
        return label + " " + shape;
    }

    /** DeepGEMM's time for {@code row}'s problem in microseconds, or null when it has none. */
    static Double micros(BenchRow row) {
        return MICROS.get(key(row.label(), row.shape()));
    }
}
