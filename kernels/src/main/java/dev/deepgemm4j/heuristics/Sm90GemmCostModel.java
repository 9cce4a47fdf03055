package dev.deepgemm4j.heuristics;

/**
 * Predicted time of the persistent Hopper GEMM ({@code sm90_fp8_gemm_1d2d.cu}) for one tile shape, so that a heuristic
 * can rank tiles without running them.
 *
 * <p>Each CTA walks its tiles one 128-deep K block at a time, and a K block costs the slowest of four limits:
 * <ul>
 * <li>the math warpgroups' round trip (issue, wait for the tensor core, promote), a floor per warpgroup count;</li>
 * <li>the tensor core: {@code 2·blockM·blockN·128} FLOPs at one SM's FP8 rate (wider than 192 columns, with two
 * WGMMA passes, a little less per FLOP: the per-K-block overhead is spread over more columns);</li>
 * <li>L2 to SM: every active CTA loads {@code (blockM + blockN)·128} bytes per K block through the shared L2; in a
 * cluster of 2 along M the B tile is multicast, so a CTA loads {@code (blockM + blockN / 2)·128};</li>
 * <li>when a tile holds every row of A (decode), B streams from HBM with no reuse at one SM's streaming rate.</li>
 * </ul>
 * The busiest CTA's tiles, each plus an epilogue, give the compute time; the whole problem also cannot beat reading
 * its unique bytes from HBM once. The constants were fitted to the 189 (shape, tile) timings of
 * docs/perf/2026-11-23-h100-sm90-fp8-gemm-1d2d.txt (H100 SXM, power-capped): ranked by this model, the picked tile
 * is on average within 1% of the measured best (10% at worst), and predictions are within about 25%; the two-pass
 * factor was refitted to the current kernel's timings (docs/perf/2026-12-07-h100-sm90-gemm-1d2d.txt: 14 shapes, the
 * pick within 5% of the best timed tile, 2% on average).
 */
public final class Sm90GemmCostModel {

    /** Round trip of one K block with one math warpgroup (64-row tiles) and with two (128-row tiles), ns. */
    private static final double FLOOR_64_NS = 187;
    private static final double FLOOR_128_NS = 330;
    /** One SM's sustained FP8 tensor-core rate, FLOP/s. */
    private static final double SM_FLOPS = 10.3e12;
    /**
     * K-block cost of the two-pass WGMMA tiles wider than 192 columns relative to the tensor-core term: below 1, since
     * their per-K-block overhead (barriers, promotion issue) is spread over more columns. Refitted to the 2026-12-07
     * harness (docs/perf/2026-12-07-h100-sm90-gemm-1d2d.txt), where 128 × 256 beat the earlier picks on 5 of the 7
     * M = 4096 shapes by 3–13% (the 2026-11-23 kernel gave 1.07).
     */
    private static final double TWO_PASS_FACTOR = 0.95;
    /** L2 to SMs, all SMs together, bytes/s. */
    private static final double L2_BYTES_PER_S = 10.4e12;
    /** HBM, bytes/s. */
    private static final double HBM_BYTES_PER_S = 2.9e12;
    /** One SM streaming tiles it does not share, bytes/s. */
    private static final double SM_STREAM_BYTES_PER_S = 51.9e9;
    /** Epilogue of one tile, µs. */
    private static final double EPILOGUE_US = 0.57;
    /** Launch and ramp-up, µs. */
    private static final double LAUNCH_US = 8.2;
    /**
     * K-block cost of a clustered CTA relative to the same CTA alone (the pair advances at its slower member's pace
     * and each stage waits for both CTAs' consumers). Not fitted yet: no clustered timings of this kernel survive, so
     * it is neutral and a cluster wins only where the L2-to-SM term binds (multicast halves B's share of it). Fit it to
     * the harness's c2 vs plain rows (.scratch/cluster/run.sh of the cluster branch) before widening the use.
     */
    static final double CLUSTER_FACTOR = 1.0;

    private Sm90GemmCostModel() {
    }

    /** Predicted µs of {@code D [m, n] = A [m, k] · B [n, k]ᵀ} with {@code config}'s tile. */
    public static double denseMicros(Sm90GemmConfig config, long m, long n, long k) {
        long uniqueBytes = m * k + n * k + 2 * m * n;
        if (config.clusterM() > 1) {
            return micros(config.blockM(), config.blockN(), config.clusterM(), config.tiles(m, n),
                    config.gridCtas(m, n), ceilDiv(k, 128), uniqueBytes);
        }
        return micros(config.blockM(), config.blockN(), config.tiles(m, n), ceilDiv(k, 128), m <= config.blockM(),
                uniqueBytes, config.numSms());
    }

    /**
     * Predicted µs of a persistent launch of {@code grid} CTAs in clusters of {@code clusterM} along M over
     * {@code tiles} tiles (a clustered tile never holds every row of A: there are at least two M blocks).
     */
    static double micros(int blockM, int blockN, int clusterM, long tiles, long grid, long kBlocks,
            long uniqueBytes) {
        long tilesPerCta = ceilDiv(tiles, grid);
        double l2Bytes = (blockM + (double) blockN / clusterM) * 128.0;
        double kBlockNs = kBlockNs(blockM, blockN, grid, l2Bytes, 0, 0) * CLUSTER_FACTOR;
        double computeUs = tilesPerCta * (kBlocks * kBlockNs * 1e-3 + EPILOGUE_US);
        return Math.max(computeUs, uniqueBytes / HBM_BYTES_PER_S * 1e6) + LAUNCH_US;
    }

    private static double kBlockNs(int blockM, int blockN, long grid, double l2Bytes, double streamNs,
            double minFloorNs) {
        double floorNs = Math.max(minFloorNs, blockM <= 64 ? FLOOR_64_NS : FLOOR_128_NS);
        double mmaNs = 2.0 * blockM * blockN * 128 / SM_FLOPS * 1e9 * (blockN > 192 ? TWO_PASS_FACTOR : 1);
        double l2Ns = grid * l2Bytes / L2_BYTES_PER_S * 1e9;
        return Math.max(Math.max(floorNs, mmaNs), Math.max(l2Ns, streamNs));
    }

    /**
     * Predicted µs of a persistent launch over {@code tiles} output tiles of {@code blockM × blockN}.
     *
     * @param kBlocks 128-deep K blocks per tile
     * @param streamsB whether one tile covers all rows of A, so that B is read once, straight from HBM
     * @param uniqueBytes bytes of A, B and D the problem touches at least once
     * @param numSms SMs of the persistent grid
     */
    public static double micros(int blockM, int blockN, long tiles, long kBlocks, boolean streamsB, long uniqueBytes,
            int numSms) {
        return micros(blockM, blockN, tiles, kBlocks, streamsB, uniqueBytes, numSms, 0);
    }

    /**
     * {@link #micros(int, int, long, long, boolean, long, int)} for a kernel whose math round trip per K block is at
     * least {@code minFloorNs} (a costlier promotion than this model's kernel).
     */
    public static double micros(int blockM, int blockN, long tiles, long kBlocks, boolean streamsB, long uniqueBytes,
            int numSms, double minFloorNs) {
        if (tiles == 0) {
            return LAUNCH_US;
        }
        long grid = Math.min(tiles, numSms);
        long tilesPerCta = ceilDiv(tiles, grid);
        double loadBytes = (blockM + blockN) * 128.0;
        double streamNs = streamsB ? loadBytes / SM_STREAM_BYTES_PER_S * 1e9 : 0;
        double kBlockNs = kBlockNs(blockM, blockN, grid, loadBytes, streamNs, minFloorNs);
        double computeUs = tilesPerCta * (kBlocks * kBlockNs * 1e-3 + EPILOGUE_US);
        return Math.max(computeUs, uniqueBytes / HBM_BYTES_PER_S * 1e6) + LAUNCH_US;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
