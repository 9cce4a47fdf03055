package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import java.util.List;

/**
 * Launch geometry of the byte transpose ({@code fp8_transpose.cu}): 256 threads per 128 × 128-byte tile, one CTA per
 * tile up to 16 CTAs per SM, which then stride over the remaining tiles.
 */
public final class TransposeHeuristic {

    /** Rows and columns (bytes) of the kernel's tile. */
    public static final int TILE = 128;
    static final int THREADS = 256;
    private static final int CTAS_PER_SM = 16;
    private static final SimpleKernelConfig CONFIG = new SimpleKernelConfig(CudaSources.fp8Transpose(THREADS),
            THREADS, TILE * TILE);

    private TransposeHeuristic() {
    }

    /** Transpose of {@code batch} byte matrices of {@code rows × cols}. */
    public static Launch<SimpleKernelConfig> transpose(long batch, long rows, long cols, int numSms) {
        if (batch < 0 || rows < 0 || cols < 0 || numSms < 1) {
            throw new IllegalArgumentException("need batch, rows, cols >= 0 and numSms >= 1, got " + batch + ", "
                    + rows + ", " + cols + ", " + numSms);
        }
        long tiles = Math.multiplyExact(batch, Math.multiplyExact(Math.ceilDiv(rows, TILE),
                Math.ceilDiv(cols, TILE)));
        long ctas = Math.max(1, Math.min(tiles, (long) numSms * CTAS_PER_SM));
        return new Launch<>(CONFIG, new LaunchGeometry((int) ctas, 1, 1, THREADS, 0));
    }

    /** Every configuration {@link #transpose} can return. */
    public static List<KernelConfig> allConfigs() {
        return List.of(CONFIG);
    }
}
