package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.GemmScales;
import java.util.ArrayList;
import java.util.List;

/** Tile choice and launch geometry of the dense GEMM kernel ({@code dense_gemm.cu}). */
public final class DenseGemmHeuristic {

    private DenseGemmHeuristic() {
    }

    /**
     * The configuration and geometry for {@code D [m, n] (+)= A [m, k] · B [n, k]ᵀ}: grid (ceil(m/blockM),
     * ceil(n/blockN), 1), 256 threads, no dynamic shared memory.
     *
     * @param numSms SMs the launch may use (a tile-size hint; the grid is not persistent)
     */
    public static Launch<GemmConfig> choose(long m, long n, long k, int numSms, GemmScales scales, boolean bf16Out) {
        requireShape(m, n, k, numSms);
        int[] tile = GemmTiles.choose(m, m, n, 1, numSms);
        GemmConfig config = new GemmConfig(GemmConfig.Kind.DENSE, tile[0], tile[1], scales, bf16Out);
        return new Launch<>(config, config.geometry(m, n, 1));
    }

    /** Every configuration {@link #choose} can return. */
    public static List<GemmConfig> allConfigs() {
        List<GemmConfig> all = new ArrayList<>();
        for (int[] tile : GemmTiles.TILES) {
            for (GemmScales scales : GemmScales.values()) {
                for (boolean bf16Out : new boolean[] {true, false}) {
                    all.add(new GemmConfig(GemmConfig.Kind.DENSE, tile[0], tile[1], scales, bf16Out));
                }
            }
        }
        return all;
    }

    static void requireShape(long m, long n, long k, int numSms) {
        if (m < 1 || n < 1 || k < 0 || numSms < 1) {
            throw new IllegalArgumentException("need m, n, numSms >= 1 and k >= 0, got m=" + m + " n=" + n + " k=" + k
                    + " numSms=" + numSms);
        }
    }
}
