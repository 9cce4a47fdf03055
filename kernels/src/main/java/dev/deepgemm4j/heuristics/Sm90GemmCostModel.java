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
 * <li>when a tile holds every row of A, or M is at most {@value #DECODE_ROWS} (decode), B streams from HBM with next
 * to no reuse, and a CTA's loads are bound by the latency of its own requests: a fixed cost per K block, plus its A
 * tile at the rate of L2 hits (every CTA reads the same few A rows) and its B tile at the much lower rate of HBM
 * reads.</li>
 * </ul>
 * The busiest CTA's tiles, each plus an epilogue, give the compute time; the whole problem also cannot beat reading
 * its unique bytes from HBM once. The constants were fitted to the 189 (shape, tile) timings of
 * docs/perf/2026-11-23-h100-sm90-fp8-gemm-1d2d.txt (H100 SXM, power-capped): ranked by this model, the picked tile
 * is on average within 1% of the measured best (10% at worst), and predictions are within about 25%; the two-pass
 * factor was refitted to the current kernel's timings (docs/perf/2026-12-07-h100-sm90-gemm-1d2d.txt: 14 shapes, the
 * pick within 5% of the best timed tile, 2% on average). The decode term was refitted to the M = 128 harness timings of
 * docs/perf/2026-12-07-h100-session12.txt (kernel times, 64- and 128-row tiles on the 7 standard (N, K)): it ranks
 * the best timed tile first on 5 of the 7 and picks the untimed 128 × 112 on the other two (within 1% and 12% of the
 * best on an H200), though it overestimates the slower candidates by up to 70%.
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
    /** Decode K block of one CTA: fixed cost (ns), A bytes at the L2-hit rate, B bytes at the HBM-read rate (B/s). */
    private static final double STREAM_FIXED_NS = 70;
    private static final double STREAM_A_BYTES_PER_S = 250e9;
    private static final double STREAM_B_BYTES_PER_S = 36e9;
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
        return micros(config.blockM(), config.blockN(), config.tiles(m, n), ceilDiv(k, 128),
                streamsB(m, config.blockM()), uniqueBytes, config.numSms());
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

    /**
     * Rows of A up to which every tile streams B (the M = 128 timings the decode term was fitted to; above it, 64-row
     * tiles reuse B across three or more M blocks).
     */
    public static final long DECODE_ROWS = 128;

    /** Whether {@code rows} rows of A in tiles of {@code blockM} rows make a decode-like problem ({@link #micros}). */
    public static boolean streamsB(long rows, int blockM) {
        return rows <= Math.max(blockM, DECODE_ROWS);
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
     * @param streamsB whether the problem is decode-like ({@link #streamsB(long, int)}), so that B streams from HBM
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
        double streamNs = streamsB ? STREAM_FIXED_NS + (blockM * 128.0 / STREAM_A_BYTES_PER_S
                + blockN * 128.0 / STREAM_B_BYTES_PER_S) * 1e9 : 0;
        double kBlockNs = kBlockNs(blockM, blockN, grid, loadBytes, streamNs, minFloorNs);
        double computeUs = tilesPerCta * (kBlocks * kBlockNs * 1e-3 + EPILOGUE_US);
        return Math.max(computeUs, uniqueBytes / HBM_BYTES_PER_S * 1e6) + LAUNCH_US;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
