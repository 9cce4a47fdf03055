package dev.deepgemm4j.jit;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CUDA kernels of deepgemm4j as ready-to-compile units: each factory bakes its configuration into the source of
 * one kernel family ({@code src/main/cuda/<family>.cu}, shipped on the classpath) and returns a {@link KernelSource}
 * defining exactly one {@code extern "C" __global__} function.
 *
 * <p>Kernel ABI, common to all kernels: pointers are raw device addresses; {@code u8} = unsigned char (FP8 E4M3
 * bytes, or raw bytes), {@code u16} = unsigned short (BF16 bits), {@code u32} = unsigned int (UE8M0 words, bit
 * patterns), {@code i64} = long long (strides, always in elements unless a name ends in {@code _bytes}),
 * {@code int} = 32-bit. Each factory's javadoc gives the exact parameter order and the launch geometry; the
 * {@code .cu} file's header comment gives the same list with the memory layout of every argument. The SIMT kernels
 * need no dynamic shared memory and use at most 48 KB of static shared memory; the Hopper kernel
 * ({@link #sm90Fp8Gemm1d2d}) takes up to 227 KB of dynamic shared memory.
 *
 * <p>All but the Hopper kernel are the correctness-first SIMT kernels: FP8 is decoded in software, every output is summed by one thread
 * in the CPU reference's order (results are bitwise reproducible, and the GEMM and MQA kernels match the CPU
 * reference bit for bit), and no index read from device memory can make a kernel read or write out of bounds.
 */
public final class CudaSources {

    /** KV positions per paged-MQA work unit, as the CPU reference schedules them. */
    public static final int PAGED_SPLIT_KV = 256;
    /** Draft tokens that share one paged-MQA query atom, as the CPU reference schedules them. */
    public static final int PAGED_TOKENS_PER_ATOM = 2;
    /** Threads of every GEMM kernel. */
    public static final int GEMM_THREADS = 256;
    /** Dynamic shared memory the Hopper kernel may use per CTA (its DG_SMEM_LIMIT default, 227 KB). */
    public static final int SM90_SMEM_LIMIT = 232448;
    /** Gemm types of {@link #sm90Fp8GemmGrouped1d2d} (the kernel's DG_GEMM_TYPE). */
    public static final int SM90_DENSE = 0;
    public static final int SM90_CONTIGUOUS_INDEX = 1;
    public static final int SM90_CONTIGUOUS_PSUM = 2;
    public static final int SM90_MASKED = 3;

    private CudaSources() {
    }

    /**
     * Dense GEMM {@code D (+)= A·Bᵀ}, family {@code dense_gemm}.
     *
     * <p>Parameters: {@code (const u8* a, i64 a_sm, i64 a_sk, const u8* b, i64 b_sn, i64 b_sk, const sf* sfa,
     * i64 sfa_sm, i64 sfa_sk, const sf* sfb, i64 sfb_sn, i64 sfb_sk, out* d, i64 d_sm, i64 d_sn, int m, int n, int k,
     * int accumulate)} with {@code sf} = float, or u32 for {@link GemmScales#UE8M0_PER_ROW}, and {@code out} = u16
     * (BF16) or float. A [m, k], B [n, k], D [m, n]; sfa [m, ceil(k/128)] (u32: [m, ceil(k/512)]); sfb
     * [ceil(n/128), ceil(k/128)] per block, [n, ceil(k/128)] per row (u32: [n, ceil(k/512)]); accumulate 1 adds to D.
     *
     * <p>Launch: grid (ceil(m/blockM), ceil(n/blockN), 1), block ({@value #GEMM_THREADS}), no dynamic shared memory.
     *
     * @param blockM rows per CTA: 16, 32, 64 or 128
     * @param blockN columns per CTA: 16, 32, 64 or 128, with blockM·blockN ≤ 8192
     * @param scales the scale format
     * @param bf16Out D holds BF16 (else FP32)
     */
    public static KernelSource denseGemm(int blockM, int blockN, GemmScales scales, boolean bf16Out) {
        return gemm("dense_gemm", "dg_dense_gemm", blockM, blockN, scales, bf16Out, Map.of());
    }

    /**
     * Hopper dense GEMM with 1D2D scaling, family {@code sm90_fp8_gemm_1d2d} (sm_90a only: TMA, WGMMA, setmaxnreg):
     * persistent, warp-specialised, BF16 D, no accumulation.
     *
     * <p>Parameters: {@code (CUtensorMap tm_a, CUtensorMap tm_b, CUtensorMap tm_sfa, CUtensorMap tm_d,
     * const float* sfb, u32 m, u32 n, u32 k, u32* status, const int* layout, u32 num_groups, u32 alignment, u16* d,
     * u32 d_pitch)}, the maps by value (128 bytes each; the dense GEMM passes null, 1, 1, null, 0 for the last five,
     * see {@link #sm90Fp8GemmGrouped1d2d}): A [m, k] FP8
     * K-major, box 128 × blockM, 128B swizzle; B [n, k] likewise with box 128 × blockN; sfa MN-major [ceil(k/128)]
     * rows of m FP32, box blockM × 1, no swizzle; D [m, n] BF16 row-major, box {@link #sm90DChunkCols} × 64 with the
     * swizzle of {@link #sm90DSwizzleBytes}; sfb [ceil(n/128), ceil(k/128)] FP32 row-major; status may be null (the
     * watchdog then only traps). Needs k % 16 == 0 and n % 8 == 0.
     *
     * <p>Launch: grid (any x in [1, tiles]; the CTAs stride over the tiles), block ({@link #sm90Threads}), dynamic
     * shared memory {@link #sm90SharedBytes}.
     *
     * @param blockM rows per tile: 64 or 128
     * @param blockN columns per tile: a multiple of 16 in [16, 256]
     * @param stages pipeline depth, at least 2, with {@link #sm90SharedBytes} within 227 KB
     * @param numSms SMs the tile order is planned for
     */
    public static KernelSource sm90Fp8Gemm1d2d(int blockM, int blockN, int stages, int numSms) {
        return sm90Fp8GemmGrouped1d2d(blockM, blockN, stages, numSms, SM90_DENSE);
    }

    /**
     * {@link #sm90Fp8Gemm1d2d(int, int, int, int)} in clusters of {@code clusterM} CTAs on consecutive tiles
     * ({@code DG_CLUSTER_M}): with 2, where both tiles of a pair read the same B tile one CTA multicasts it into both
     * (decided per tile pair; elsewhere each loads its own). The launch must then set cluster dimensions
     * (clusterM, 1, 1) with an even grid. The clustered kernel has its own name (suffix {@code _c2}).
     *
     * @param clusterM 1 or 2
     */
    public static KernelSource sm90Fp8Gemm1d2d(int blockM, int blockN, int stages, int numSms, int clusterM) {
        return sm90Fp8GemmGrouped1d2d(blockM, blockN, stages, numSms, SM90_DENSE, clusterM);
    }

    /**
     * {@link #sm90Fp8GemmGrouped1d2d(int, int, int, int, int)} in clusters of {@code clusterM} CTAs, as
     * {@link #sm90Fp8Gemm1d2d(int, int, int, int, int)}: a tile pair of two experts, or with one tile skipped, loads
     * its B tiles separately.
     *
     * @param clusterM 1 or 2
     */
    public static KernelSource sm90Fp8GemmGrouped1d2d(int blockM, int blockN, int stages, int numSms, int gemmType,
            int clusterM) {
        require(clusterM == 1 || clusterM == 2, "clusterM must be 1 or 2, got " + clusterM);
        KernelSource plain = sm90Fp8GemmGrouped1d2d(blockM, blockN, stages, numSms, gemmType);  // checks the rest
        if (clusterM == 1) {
            return plain;
        }
        Map<String, Long> constants = constants("DG_BLOCK_M", blockM, "DG_BLOCK_N", blockN, "DG_STAGES", stages,
                "DG_NUM_SMS", numSms, "DG_CLUSTER_M", clusterM);
        if (gemmType != SM90_DENSE) {
            constants.put("DG_GEMM_TYPE", (long) gemmType);
        }
        return SourceAssembler.classpath().assemble("sm90_fp8_gemm_1d2d", plain.kernelName() + "_c" + clusterM,
                constants);
    }

    /**
     * The Hopper kernel of {@link #sm90Fp8Gemm1d2d} built for an M-grouped GEMM (same family, same parameters):
     * experts share N and K; B [G, N, K] is one map of G·N rows (dims {k, G·n}) and sfb G consecutive
     * [ceil(n/128), ceil(k/128)] blocks; D rows no expert owns are left untouched.
     * <ul>
     * <li>{@link #SM90_CONTIGUOUS_INDEX}: A, sfa, D over the m = M_total rows of all experts; layout [m] holds each
     * row's expert or −1. A tile takes the expert of its first row (experts start at multiples of blockM) and a tile
     * whose first row is −1 loads and computes nothing.</li>
     * <li>{@link #SM90_CONTIGUOUS_PSUM}: layout [G] holds each expert's end row; expert g owns rows
     * [align(end[g−1], alignment), end[g]), alignment a multiple of blockM.</li>
     * <li>{@link #SM90_MASKED}: m = M_max; A and D maps span G·M_max rows, sfa's map dims {M_max, G·ceil(k/128)};
     * layout [G] is masked_m, read on the device only (graph-capturable; an empty group costs one read).</li>
     * </ul>
     * {@code d} and {@code d_pitch} (elements, 16-byte aligned) address D for the row-by-row stores of tiles only
     * partly owned by their expert. Launch as {@link #sm90Fp8Gemm1d2d}; the grid may exceed the tiles a masked
     * launch turns out to have (idle CTAs exit).
     *
     * @param gemmType {@link #SM90_DENSE}, {@link #SM90_CONTIGUOUS_INDEX}, {@link #SM90_CONTIGUOUS_PSUM} or
     *     {@link #SM90_MASKED}
     */
    public static KernelSource sm90Fp8GemmGrouped1d2d(int blockM, int blockN, int stages, int numSms, int gemmType) {
        require(gemmType >= SM90_DENSE && gemmType <= SM90_MASKED, "gemmType must be 0..3, got " + gemmType);
        require(blockM == 64 || blockM == 128 || (blockM == 256 && gemmType == SM90_DENSE), "blockM must be 64 or 128"
                + " (or 256 for the dense GEMM), got " + blockM);
        require(blockN % 16 == 0 && blockN >= 16 && blockN <= (blockM == 256 ? 128 : 256), "blockN must be a multiple of"
                + " 16 in [16, " + (blockM == 256 ? 128 : 256) + "], got " + blockN);
        require(stages >= 2 && sm90SharedBytes(blockM, blockN, stages) <= SM90_SMEM_LIMIT, "stages must be >= 2"
                + " and fit " + SM90_SMEM_LIMIT + " B of shared memory, got " + stages);
        require(numSms >= 1, "numSms must be positive, got " + numSms);
        if (gemmType == SM90_DENSE) {
            return SourceAssembler.classpath().assemble("sm90_fp8_gemm_1d2d", "dg_sm90_fp8_gemm_1d2d_m" + blockM + "n"
                    + blockN + "_s" + stages + "_sms" + numSms, constants("DG_BLOCK_M", blockM, "DG_BLOCK_N", blockN,
                    "DG_STAGES", stages, "DG_NUM_SMS", numSms));
        }
        return SourceAssembler.classpath().assemble("sm90_fp8_gemm_1d2d", "dg_sm90_fp8_gemm_1d2d_t" + gemmType + "_m"
                + blockM + "n" + blockN + "_s" + stages + "_sms" + numSms, constants("DG_BLOCK_M", blockM,
                "DG_BLOCK_N", blockN, "DG_STAGES", stages, "DG_NUM_SMS", numSms, "DG_GEMM_TYPE", gemmType));
    }

    /**
     * Threads of the Hopper kernel: one producer warpgroup plus one math warpgroup per 64 rows, at most two (a 256-row
     * tile runs two 64-row waves per math warpgroup).
     */
    public static int sm90Threads(int blockM) {
        return 128 + (blockM == 64 ? 128 : 256);
    }

    /** Dynamic shared memory of the Hopper kernel (its kSmemBytes): the D staging tile plus the stages. */
    public static int sm90SharedBytes(int blockM, int blockN, int stages) {
        return sm90DStagingBytes(blockM, blockN) + stages * sm90StageBytes(blockM, blockN);
    }

    /** The deepest pipeline that fits {@link #SM90_SMEM_LIMIT} (at most 16 stages), as the kernel's DG_STAGES=0. */
    public static int sm90MaxStages(int blockM, int blockN) {
        return Math.min(16, (SM90_SMEM_LIMIT - sm90DStagingBytes(blockM, blockN)) / sm90StageBytes(blockM, blockN));
    }

    /** Swizzle span of the Hopper kernel's D staging tile and store map: the widest of 128/64/32 B dividing a row. */
    public static int sm90DSwizzleBytes(int blockN) {
        return (blockN * 2) % 128 == 0 ? 128 : (blockN * 2) % 64 == 0 ? 64 : 32;
    }

    /** Columns per TMA store box of D (one swizzle span of BF16). */
    public static int sm90DChunkCols(int blockN) {
        return sm90DSwizzleBytes(blockN) / 2;
    }

    private static int sm90DStagingBytes(int blockM, int blockN) {
        return alignUp(blockM * blockN * 2, 1024);
    }

    // A and B tiles of 128 K bytes per row, sfa (128-byte aligned), 16 bytes of sfb, full + empty barriers.
    private static int sm90StageBytes(int blockM, int blockN) {
        return blockM * 128 + blockN * 128 + alignUp(blockM * 4, 128) + 16 + 2 * 8;
    }

    /**
     * Hopper weight-gradient GEMM with 1D1D scaling, family {@code sm90_fp8_gemm_1d1d} (sm_90a only): persistent,
     * warp-specialised, {@code D[g] += A_g·B_gᵀ} into FP32 D by TMA reduce-add (D already holds C).
     *
     * <p>Parameters: {@code (CUtensorMap tm_a, CUtensorMap tm_b, CUtensorMap tm_sfa, CUtensorMap tm_sfb,
     * CUtensorMap tm_d, const CUtensorMap* group_maps, const u32* groups, u32 num_groups, u32 m, u32 n, u32 k,
     * u32* status)}, the first five by value: A [m, k] FP8 K-major, box 128 × blockM, 128B swizzle; B [n, k] likewise
     * with box 128 × blockN; sfa FP32 MN-major, dims {m, total K blocks}, column pitch a multiple of 16 bytes, box
     * blockM × 1; sfb likewise with n and blockN; D FP32 [G, m, n], dims {n, m, G}, box blockN × 64 × 1, no swizzle.
     * Dense: group_maps and groups null, num_groups 1. K-grouped: tm_a and tm_b unused (any map), group_maps holds
     * two maps (A_g then B_g, dims {K_g, m} / {K_g, n}) per entry of groups, whose entries are 4 u32 {index of D's
     * group, K_g, first scale column, 0}, only groups with K_g &gt; 0; k unused. Needs k (every K_g) % 16 == 0 and
     * n % 4 == 0.
     *
     * <p>Launch: grid (any x in [1, tiles]), block ({@link #sm90Threads}), dynamic shared memory
     * {@link #sm90Gemm1d1dSharedBytes}.
     *
     * @param blockM rows per tile: 64 or 128
     * @param blockN columns per tile: a multiple of 8 in [8, 192]
     * @param stages pipeline depth, at least 2, within 227 KB of shared memory
     * @param numSms SMs the tile order is planned for
     * @param kGrouped the K-grouped variant
     */
    public static KernelSource sm90Fp8Gemm1d1d(int blockM, int blockN, int stages, int numSms, boolean kGrouped) {
        require(blockM == 64 || blockM == 128, "blockM must be 64 or 128, got " + blockM);
        require(blockN % 8 == 0 && blockN >= 8 && blockN <= 192, "blockN must be a multiple of 8 in [8, 192], got "
                + blockN);
        require(stages >= 2 && sm90Gemm1d1dSharedBytes(blockM, blockN, stages) <= SM90_SMEM_LIMIT,
                "stages must be >= 2 and fit " + SM90_SMEM_LIMIT + " B of shared memory, got " + stages);
        require(numSms >= 1, "numSms must be positive, got " + numSms);
        return SourceAssembler.classpath().assemble("sm90_fp8_gemm_1d1d", "dg_sm90_fp8_gemm_1d1d_"
                + (kGrouped ? "k" : "d") + "_m" + blockM + "n" + blockN + "_s" + stages + "_sms" + numSms,
                constants("DG_BLOCK_M", blockM, "DG_BLOCK_N", blockN, "DG_STAGES", stages, "DG_NUM_SMS", numSms,
                        "DG_K_GROUPED", kGrouped ? 1 : 0));
    }

    /** Dynamic shared memory of the 1D1D kernel: the FP32 D staging tile plus the stages. */
    public static int sm90Gemm1d1dSharedBytes(int blockM, int blockN, int stages) {
        return alignUp(blockM * blockN * 4, 1024) + stages * sm90Gemm1d1dStageBytes(blockM, blockN);
    }

    /** The deepest 1D1D pipeline that fits {@link #SM90_SMEM_LIMIT} (at most 16 stages), as DG_STAGES=0 builds. */
    public static int sm90Gemm1d1dMaxStages(int blockM, int blockN) {
        return Math.min(16, (SM90_SMEM_LIMIT - alignUp(blockM * blockN * 4, 1024))
                / sm90Gemm1d1dStageBytes(blockM, blockN));
    }

    // A and B tiles of 128 K bytes per row, sfa and sfb (each 128-byte aligned), full + empty barriers.
    private static int sm90Gemm1d1dStageBytes(int blockM, int blockN) {
        return blockM * 128 + blockN * 128 + alignUp(blockM * 4, 128) + alignUp(blockN * 4, 128) + 2 * 8;
    }

    private static int alignUp(int x, int a) {
        return (x + a - 1) / a * a;
    }

    /**
     * Hopper dense GEMM for few tokens (decode), family {@code sm90_fp8_gemm_1d2d_small_m} (sm_90a only): the
     * operands swapped so that B's rows fill WGMMA's M side and the tokens its N side, K split over the SMs with a
     * deterministic last-arriver reduction, BF16 D, no accumulation. Same operand and scale layouts as
     * {@link #sm90Fp8Gemm1d2d}.
     *
     * <p>Parameters: {@code (CUtensorMap tm_a, CUtensorMap tm_b, CUtensorMap tm_sfa, const float* sfb, u16* d,
     * u32 ldd, float* workspace, u32* counters, u32 m, u32 n, u32 k, u32 splits, u32* status)}, the maps by value:
     * A [m, k] FP8 K-major, box 128 × tokens, 128B swizzle; B [n, k] likewise with box 128 × blockRows; sfa MN-major
     * [ceil(k/128)] rows of m FP32 (pitch a multiple of 16 bytes), box tokens × 1, no swizzle; sfb
     * [ceil(n/128), ceil(k/128)] FP32 row-major; D row pitch ldd elements. With splits &gt; 1, workspace holds
     * {@link #sm90SmallMWorkspaceFloats} floats and counters ceil(n/blockRows) zeros (each launch leaves them zero);
     * both may be null when splits == 1. Needs m ≤ tokens, k % 16 == 0, 1 ≤ splits ≤ ceil(k/128); N arbitrary.
     *
     * <p>Launch: grid (any x in [1, ceil(n/blockRows)·splits]; the CTAs stride over the work units), block
     * ({@link #sm90SmallMThreads}), dynamic shared memory {@link #sm90SmallMSharedBytes}.
     *
     * @param tokens token columns per tile: a multiple of 8 in [8, 128]
     * @param blockRows B rows per tile: 64 or 128
     * @param stages pipeline depth, at least 2, within 227 KB of shared memory
     */
    public static KernelSource sm90Fp8Gemm1d2dSmallM(int tokens, int blockRows, int stages) {
        requireSm90SmallM(tokens, blockRows, stages);
        return SourceAssembler.classpath().assemble("sm90_fp8_gemm_1d2d_small_m", "dg_sm90_fp8_gemm_1d2d_small_m_t"
                + tokens + "r" + blockRows + "_s" + stages, constants("DG_TOKENS", tokens, "DG_BLOCK_ROWS", blockRows,
                "DG_STAGES", stages));
    }

    /** Checks the rules of {@link #sm90Fp8Gemm1d2dSmallM}'s parameters without assembling the source. */
    public static void requireSm90SmallM(int tokens, int blockRows, int stages) {
        require(tokens % 8 == 0 && tokens >= 8 && tokens <= 128, "tokens must be a multiple of 8 in [8, 128], got "
                + tokens);
        require(blockRows == 64 || blockRows == 128, "blockRows must be 64 or 128, got " + blockRows);
        require(stages >= 2 && stages <= 16 && sm90SmallMSharedBytes(tokens, blockRows, stages) <= SM90_SMEM_LIMIT,
                "stages must be in [2, 16] and fit " + SM90_SMEM_LIMIT + " B of shared memory, got " + stages);
    }

    /** Threads of the small-M kernel: one producer warpgroup plus one math warpgroup per 64 B rows. */
    public static int sm90SmallMThreads(int blockRows) {
        return 128 + 2 * blockRows;
    }

    /** Dynamic shared memory of the small-M kernel (its kSmemBytes): the stages plus the last-arriver flag. */
    public static int sm90SmallMSharedBytes(int tokens, int blockRows, int stages) {
        return stages * sm90SmallMStageBytes(tokens, blockRows) + 16;
    }

    /** The deepest pipeline of the small-M kernel that fits {@link #SM90_SMEM_LIMIT} (at most 16 stages). */
    public static int sm90SmallMMaxStages(int tokens, int blockRows) {
        return Math.min(16, (SM90_SMEM_LIMIT - 16) / sm90SmallMStageBytes(tokens, blockRows));
    }

    /** FP32 partials of a split-K launch: one tokens × blockRows tile per (split, row tile). */
    public static long sm90SmallMWorkspaceFloats(int tokens, int blockRows, long n, int splits) {
        return (long) splits * ((n + blockRows - 1) / blockRows) * tokens * blockRows;
    }

    // B and A tiles of 128 K bytes per row, sfa (128-byte aligned), 16 bytes of sfb, full + empty barriers.
    private static int sm90SmallMStageBytes(int tokens, int blockRows) {
        return blockRows * 128 + tokens * 128 + alignUp(tokens * 4, 128) + 16 + 2 * 8;
    }

    /**
     * M-grouped contiguous GEMM, family {@code grouped_gemm_contiguous}: {@code D[i] = A[i]·B[e(i)]ᵀ} with BF16 D;
     * rows without an expert are untouched; expert ids and psum ends are checked on the device.
     *
     * <p>Parameters: {@code (const u8* a, i64 a_sm, i64 a_sk, const u8* b, i64 b_sg, i64 b_sn, i64 b_sk,
     * const sf* sfa, i64 sfa_sm, i64 sfa_sk, const sf* sfb, i64 sfb_sg, i64 sfb_sn, i64 sfb_sk, u16* d, i64 d_sm,
     * i64 d_sn, const int* grouped_layout, int num_groups, int alignment, int m, int n, int k)}. A [m, k],
     * B [num_groups, n, k], D [m, n]; grouped_layout [m] (index) or [num_groups] end rows (psum); alignment is the
     * psum segment alignment (ignored by the index layout).
     *
     * <p>Launch: grid (ceil(m/blockM), ceil(n/blockN), 1), block ({@value #GEMM_THREADS}), no dynamic shared memory.
     *
     * @param psumLayout grouped_layout holds per-expert end rows (else one expert id per row, −1 for padding)
     */
    public static KernelSource groupedGemmContiguous(int blockM, int blockN, GemmScales scales, boolean psumLayout) {
        return gemm("grouped_gemm_contiguous", psumLayout ? "dg_grouped_gemm_psum" : "dg_grouped_gemm_index",
                blockM, blockN, scales, true, Map.of("DG_PSUM_LAYOUT", psumLayout ? 1L : 0L));
    }

    /**
     * M-grouped masked GEMM, family {@code grouped_gemm_masked}: {@code D[g, i] = A[g, i]·B[g]ᵀ} for
     * {@code i < masked_m[g]} (read on the device), BF16 D, other rows untouched.
     *
     * <p>Parameters: {@code (const u8* a, i64 a_sg, i64 a_sm, i64 a_sk, const u8* b, i64 b_sg, i64 b_sn, i64 b_sk,
     * const sf* sfa, i64 sfa_sg, i64 sfa_sm, i64 sfa_sk, const sf* sfb, i64 sfb_sg, i64 sfb_sn, i64 sfb_sk, u16* d,
     * i64 d_sg, i64 d_sm, i64 d_sn, const int* masked_m, int max_m, int n, int k)}. A [G, max_m, k], B [G, n, k],
     * D [G, max_m, n].
     *
     * <p>Launch: grid (ceil(max_m/blockM), ceil(n/blockN), G), block ({@value #GEMM_THREADS}), no dynamic shared
     * memory.
     */
    public static KernelSource groupedGemmMasked(int blockM, int blockN, GemmScales scales) {
        return gemm("grouped_gemm_masked", "dg_grouped_gemm_masked", blockM, blockN, scales, true, Map.of());
    }

    /**
     * K-grouped GEMM, family {@code k_grouped_gemm}: {@code D[g] += A_g·B_gᵀ}, FP32 per-token scales, FP32 D.
     *
     * <p>Parameters: {@code (const u8* a, const u8* b, const float* sfa, i64 sfa_sm, i64 sfa_sk, const float* sfb,
     * i64 sfb_sn, i64 sfb_sk, float* d, i64 d_sg, i64 d_sm, i64 d_sn, const int* ks, int num_groups, i64 total_k,
     * int m, int n)}. a, b flat FP8 buffers of m·total_k and n·total_k values; sfa logical [m, Σ ceil(K_g/128)], sfb
     * [n, Σ ceil(K_g/128)]; D [num_groups, m, n]; ks [num_groups] on the device.
     *
     * <p>Launch: grid (ceil(m/blockM), ceil(n/blockN), num_groups), block ({@value #GEMM_THREADS}), no dynamic
     * shared memory.
     *
     * @param mnMajor a is [ΣK, m] and b [ΣK, n] with tokens as rows ("tn"); else group blocks [m, K_g] and [n, K_g]
     *     are packed end to end ("nt")
     */
    public static KernelSource kGroupedGemm(int blockM, int blockN, boolean mnMajor) {
        return gemm("k_grouped_gemm", mnMajor ? "dg_k_grouped_gemm_tn" : "dg_k_grouped_gemm_nt", blockM, blockN,
                GemmScales.FP32_PER_ROW_B, false, Map.of("DG_MN_MAJOR", mnMajor ? 1L : 0L));
    }

    /**
     * Plain MQA logits, family {@code mqa_logits}: logits of query row i at KV rows j in [ks[i], ke[i]); other
     * positions untouched.
     *
     * <p>Parameters: {@code (const u8* q, i64 q_ss, i64 q_sh, const u8* kv, i64 kv_ss, const float* kv_sf,
     * i64 kv_sf_s, const float* weights, i64 w_ss, const int* ks, const int* ke, float* logits, i64 l_ss, int s_q,
     * int s_kv, int cols, int compressed)}. q [s_q, H, D], kv [s_kv, D], kv_sf [s_kv], weights [s_q, H] (innermost
     * dimensions contiguous), logits [s_q, cols]; cols = s_kv, or max_seqlen_k with compressed = 1 (column c is KV
     * row ks[i] + c).
     *
     * <p>Launch: grid (s_q, ceil(cols/tileKv), 1), block (tileKv), no dynamic shared memory.
     *
     * @param heads H, 1 to 64
     * @param headDim D, a multiple of 16 up to 128
     * @param tileKv KV positions (= threads) per CTA, a multiple of 32 up to 1024
     */
    public static KernelSource mqaLogits(int heads, int headDim, int tileKv) {
        return mqaLogits(heads, headDim, tileKv, false);
    }

    /**
     * {@link #mqaLogits(int, int, int)} writing FP32 or, with {@code bf16Logits}, BF16 logits ({@code u16* logits}:
     * each FP32 logit rounded to nearest even, bit for bit as {@code Bf16.fromFloat}); the BF16 kernel has its own
     * name (suffix {@code _bf16}).
     */
    public static KernelSource mqaLogits(int heads, int headDim, int tileKv, boolean bf16Logits) {
        return logitsKernel("mqa_logits", "dg_mqa_logits_h" + heads + "_d" + headDim + "_t" + tileKv,
                mqaConstants(heads, headDim, tileKv), bf16Logits);
    }

    /**
     * Hopper plain MQA logits, family {@code sm90_fp8_mqa_logits} (sm_90a only: TMA, WGMMA, setmaxnreg): persistent
     * over query blocks of {@code qRows / heads} queries; writes only the visible logits (the clean pass does the rest).
     *
     * <p>Parameters: {@code (CUtensorMap tm_q, CUtensorMap tm_kv, CUtensorMap tm_sf, int sf_off, const float* weights,
     * i64 w_ss, const int* ks, const int* ke, float* logits, i64 l_ss, int s_q, int s_kv, int cols, int compressed,
     * u32* status)}, the maps by value: q viewed as [s_q·H, D] UINT8 with box D × qRows, kv [s_kv, D] UINT8 with box
     * D × {@link #sm90MqaBlockKv}, both swizzled by D bytes; the KV scales (contiguous FP32, 4-byte aligned) as rows of
     * 4, FLOAT32 dims {4, ceil((sf_off + s_kv) / 4)} with a 16-byte pitch and box 4 × {@link #sm90MqaSfBoxRows},
     * unswizzled, based {@code sf_off} (0..3) elements below the scales so that the base is 16-byte aligned (the last
     * row may reach 12 bytes past the scales, never past their 16-byte granule); weights [s_q, H] with unit column
     * stride; logits [s_q, cols]; status may be null (the watchdog then only traps).
     *
     * <p>Launch: grid (any x ≥ 1; the CTAs stride over the query blocks), block ({@link #sm90MqaThreads}), dynamic
     * shared memory {@link #sm90MqaSharedBytes}.
     *
     * @param heads H, 32 or 64
     * @param headDim D, 32, 64 or 128
     * @param qRows (query, head) rows per query block = the WGMMA N: 128, or 256 with 2 math warpgroups
     * @param mathWgs math warpgroups (64 KV rows each): 2, 3 or 4
     * @param pingpong two accumulator sets per math warpgroup (128-row blocks, 2 math warpgroups only)
     * @param stages KV pipeline depth, at least 2, within 227 KB of shared memory
     */
    public static KernelSource sm90Fp8MqaLogits(int heads, int headDim, int qRows, int mathWgs, boolean pingpong,
            int stages) {
        return sm90Fp8MqaLogits(heads, headDim, qRows, mathWgs, pingpong, stages, false);
    }

    /**
     * {@link #sm90Fp8MqaLogits(int, int, int, int, boolean, int)} writing FP32 or, with {@code bf16Logits}, BF16
     * logits ({@code u16* logits}, each FP32 logit rounded to nearest even at its store; {@code DG_LOGITS_BF16}); the
     * BF16 kernel has its own name (suffix {@code _bf16}).
     */
    public static KernelSource sm90Fp8MqaLogits(int heads, int headDim, int qRows, int mathWgs, boolean pingpong,
            int stages, boolean bf16Logits) {
        require(heads == 32 || heads == 64, "heads must be 32 or 64, got " + heads);
        require(headDim == 32 || headDim == 64 || headDim == 128, "headDim must be 32, 64 or 128, got " + headDim);
        require(mathWgs >= 2 && mathWgs <= 4, "mathWgs must be 2, 3 or 4, got " + mathWgs);
        require(qRows == 128 || (qRows == 256 && mathWgs == 2), "qRows must be 128, or 256 with 2 math warpgroups,"
                + " got " + qRows + " with " + mathWgs);
        require(!pingpong || (qRows == 128 && mathWgs == 2), "pingpong needs qRows 128 and 2 math warpgroups");
        require(stages >= 2 && stages <= 8 && sm90MqaSharedBytes(headDim, qRows, mathWgs, stages) <= SM90_SMEM_LIMIT,
                "stages must be in [2, 8] and fit " + SM90_SMEM_LIMIT + " B of shared memory, got " + stages);
        return logitsKernel("sm90_fp8_mqa_logits", "dg_sm90_fp8_mqa_logits_h" + heads + "_d" + headDim + "_q" + qRows
                + "_w" + mathWgs + (pingpong ? "_pp" : "") + "_s" + stages,
                constants("DG_HEADS", heads, "DG_HEAD_DIM", headDim, "DG_Q_ROWS", qRows, "DG_MATH_WGS", mathWgs,
                        "DG_PINGPONG", pingpong ? 1 : 0, "DG_KV_STAGES", stages), bf16Logits);
    }

    /** Threads of the Hopper MQA kernel: one producer warpgroup plus the math warpgroups. */
    public static int sm90MqaThreads(int mathWgs) {
        return 128 * (mathWgs + 1);
    }

    /** KV rows per tile of the Hopper MQA kernel (64 per math warpgroup). */
    public static int sm90MqaBlockKv(int mathWgs) {
        return 64 * mathWgs;
    }

    /**
     * Dynamic shared memory of the Hopper MQA kernel (its kSmemBytes): 1 KB of alignment slack, two q stages, the
     * KV stages (each a tile and its FP32 scales) and 1 KB of barriers.
     */
    public static int sm90MqaSharedBytes(int headDim, int qRows, int mathWgs, int stages) {
        return 1024 + 2 * qRows * headDim + stages * sm90MqaStageBytes(headDim, mathWgs) + 1024;
    }

    /** The deepest KV pipeline that fits (at most 8), as the kernel's DG_KV_STAGES=0 picks it. */
    public static int sm90MqaMaxStages(int headDim, int qRows, int mathWgs) {
        return Math.min(8, (SM90_SMEM_LIMIT - 2048 - 2 * qRows * headDim) / sm90MqaStageBytes(headDim, mathWgs));
    }

    /** A KV tile and the 16-byte rows of scales that cover it from any start (kSmemSfBytes: 128-byte multiples). */
    private static int sm90MqaStageBytes(int headDim, int mathWgs) {
        int blockKv = sm90MqaBlockKv(mathWgs);
        return blockKv * headDim + Math.ceilDiv(sm90MqaSfBoxRows(mathWgs) * 16, 128) * 128;
    }

    /** Rows of 4 KV scales one tile of the Hopper MQA kernel loads (its kSfBoxRows): a tile from any start. */
    public static int sm90MqaSfBoxRows(int mathWgs) {
        return sm90MqaBlockKv(mathWgs) / 4 + 1;
    }

    /**
     * Hopper paged MQA logits, family {@code sm90_fp8_paged_mqa_logits} (sm_90a only): persistent CTAs walking the
     * (atom, 256-position split) units of the scheduling metadata ({@link #pagedMqaMetadata()}); each KV tile is read
     * once for both draft tokens. Writes only the visible logits (NaN where a visible position's block table entry is
     * invalid); the paged clean pass ({@link #mqaLogitsClean(int, int, boolean)}) writes the −inf.
     *
     * <p>Parameters: {@code (CUtensorMap tm_q, CUtensorMap tm_kv, const u8* kv_cache, i64 block_bytes, int num_blocks,
     * const float* weights, i64 w_sr, const int* context_lens, i64 cl_sb, const int* block_table, i64 bt_sb,
     * int max_blocks, const int* schedule, float* logits, i64 l_sr, int batch, int max_context_len, u32* status)}:
     * tm_q maps q [batch·next_n·H, D] UINT8 with box D × next_n·H; tm_kv the cache's FP8 part as UINT8 dims
     * {D, block_kv, num_blocks}, strides {D, block_bytes}, box {D, block_kv, 1}; both swizzled by D bytes; schedule
     * [grid + 1, 2].
     *
     * <p>Launch: grid (the schedule's num_sms), block ({@link #sm90MqaThreads}(4)), dynamic shared memory
     * {@link #sm90PagedMqaSharedBytes}.
     */
    public static KernelSource sm90Fp8PagedMqaLogits(int heads, int headDim, int nextN, int blockKv, int stages) {
        return sm90Fp8PagedMqaLogits(heads, headDim, nextN, blockKv, stages, false);
    }

    /**
     * {@link #sm90Fp8PagedMqaLogits(int, int, int, int, int)} writing FP32 or, with {@code bf16Logits}, BF16 logits
     * ({@code u16* logits}, rounded to nearest even at the store; {@code DG_LOGITS_BF16}); the BF16 kernel has its own
     * name (suffix {@code _bf16}).
     */
    public static KernelSource sm90Fp8PagedMqaLogits(int heads, int headDim, int nextN, int blockKv, int stages,
            boolean bf16Logits) {
        require(heads == 32 || heads == 64, "heads must be 32 or 64, got " + heads);
        require(headDim == 32 || headDim == 64 || headDim == 128, "headDim must be 32, 64 or 128, got " + headDim);
        require(nextN == 1 || nextN == 2, "nextN must be 1 or 2, got " + nextN);
        require(blockKv == 32 || blockKv == 64, "blockKv must be 32 or 64, got " + blockKv);
        require(stages >= 2 && stages <= 8 && sm90PagedMqaSharedBytes(heads, headDim, nextN, stages) <= SM90_SMEM_LIMIT,
                "stages must be in [2, 8] and fit " + SM90_SMEM_LIMIT + " B of shared memory, got " + stages);
        return logitsKernel("sm90_fp8_paged_mqa_logits", "dg_sm90_fp8_paged_mqa_logits_h" + heads + "_d" + headDim
                + "_n" + nextN + "_b" + blockKv + "_s" + stages, constants("DG_HEADS", heads, "DG_HEAD_DIM", headDim,
                "DG_NEXT_N", nextN, "DG_BLOCK_KV", blockKv, "DG_KV_STAGES", stages), bf16Logits);
    }

    /**
     * Dynamic shared memory of the Hopper paged kernel: slack, two 1 KB-aligned q stages, the 256-row KV stages with
     * their 256 FP32 scales, barriers.
     */
    public static int sm90PagedMqaSharedBytes(int heads, int headDim, int nextN, int stages) {
        return 1024 + 2 * alignUp(nextN * heads * headDim, 1024) + stages * PAGED_SPLIT_KV * (headDim + 4) + 1024;
    }

    /** The deepest KV pipeline of the Hopper paged kernel that fits (at most 8). */
    public static int sm90PagedMqaMaxStages(int heads, int headDim, int nextN) {
        return Math.min(8, (SM90_SMEM_LIMIT - 2048 - 2 * alignUp(nextN * heads * headDim, 1024))
                / (PAGED_SPLIT_KV * (headDim + 4)));
    }

    /**
     * The clean pass of the plain MQA logits, family {@code mqa_logits_clean}: −inf at every column outside
     * [ks[i], ke[i]).
     *
     * <p>Parameters: {@code (const int* ks, const int* ke, float* logits, i64 l_ss, int s_q, int cols)}.
     *
     * <p>Launch: grid (any x ≥ 1, 1, 1), block (threads), no dynamic shared memory. Warps stride over units of one
     * row and {@code chunkCols} columns and visit only the masked spans.
     */
    public static KernelSource mqaLogitsClean(int threads, int chunkCols) {
        return mqaLogitsClean(threads, chunkCols, false);
    }

    /**
     * The clean pass, plain ({@code paged} false, as {@link #mqaLogitsClean(int, int)}) or paged (family
     * {@code paged_mqa_logits_clean}): −inf at every column outside [0, context_lens[b, t]) of row b·next_n + t,
     * parameters {@code (const int* context_lens, i64 cl_sb, int next_n, float* logits, i64 l_ss, int rows,
     * int cols)}, same launch.
     */
    public static KernelSource mqaLogitsClean(int threads, int chunkCols, boolean paged) {
        return mqaLogitsClean(threads, chunkCols, paged, false);
    }

    /**
     * {@link #mqaLogitsClean(int, int, boolean)} over FP32 or, with {@code bf16Logits}, BF16 logits ({@code u16*
     * logits}, −inf = 0xFF80); the BF16 kernel has its own name (suffix {@code _bf16}).
     */
    public static KernelSource mqaLogitsClean(int threads, int chunkCols, boolean paged, boolean bf16Logits) {
        requireThreads(threads);
        require(chunkCols >= 4 && chunkCols % 4 == 0, "chunkCols must be a positive multiple of 4, got " + chunkCols);
        String family = paged ? "paged_mqa_logits_clean" : "mqa_logits_clean";
        return logitsKernel(family, "dg_" + family + "_t" + threads + "_k" + chunkCols,
                constants("DG_THREADS", threads, "DG_CHUNK_COLS", chunkCols), bf16Logits);
    }

    /**
     * Paged MQA logits, family {@code paged_mqa_logits}: every position p &lt; max_context_len of every row
     * (b, t); visible positions (p &lt; context_lens[b, t]) get their logit (NaN if the block table points outside
     * the cache), invisible ones −inf when clean, else stay untouched.
     *
     * <p>Parameters: {@code (const u8* q, i64 q_sb, i64 q_st, i64 q_sh, const u8* kv_cache, i64 block_bytes,
     * int num_blocks, const float* weights, i64 w_sr, const int* context_lens, i64 cl_sb, const int* block_table,
     * i64 bt_sb, int max_blocks, float* logits, i64 l_sr, int batch, int max_context_len, int next_n, int block_kv,
     * int clean)}. q [batch, next_n, H, D]; kv_cache blocks of block_kv·D FP8 bytes then block_kv FP32 scales,
     * block_bytes apart; weights [batch·next_n, H]; context_lens [batch, next_n]; block_table [batch, max_blocks];
     * logits [batch·next_n, max_context_len].
     *
     * <p>Launch: grid (batch, ceil(max_context_len/tileKv), 1), block (tileKv), no dynamic shared memory. The grid
     * covers every output position, so the kernel takes no schedule.
     */
    public static KernelSource pagedMqaLogits(int heads, int headDim, int tileKv) {
        return pagedMqaLogits(heads, headDim, tileKv, false);
    }

    /**
     * {@link #pagedMqaLogits(int, int, int)} writing FP32 or, with {@code bf16Logits}, BF16 logits ({@code u16*
     * logits}, rounded as {@code Bf16.fromFloat}, −inf = 0xFF80); the BF16 kernel has its own name (suffix
     * {@code _bf16}).
     */
    public static KernelSource pagedMqaLogits(int heads, int headDim, int tileKv, boolean bf16Logits) {
        return logitsKernel("paged_mqa_logits", "dg_paged_mqa_logits_h" + heads + "_d" + headDim + "_t" + tileKv,
                mqaConstants(heads, headDim, tileKv), bf16Logits);
    }

    /** Threads of the metadata kernel's one block: they read the context lengths in parallel. */
    public static final int PAGED_METADATA_THREADS = 512;

    /** {@link #pagedMqaMetadata(int, int, boolean)} with the CPU reference's schedule (256, 2, extra units last). */
    public static KernelSource pagedMqaMetadata() {
        return pagedMqaMetadata(PAGED_SPLIT_KV, PAGED_TOKENS_PER_ATOM, false);
    }

    /**
     * Paged MQA scheduling metadata, family {@code paged_mqa_metadata} (the rule is in the {@code .cu} header).
     *
     * <p>Parameters: {@code (const int* context_lens, i64 cl_sb, int batch, int next_n, int* out, int num_sms)};
     * out [num_sms + 1, 2] row-major.
     *
     * <p>Launch: grid (1, 1, 1), block ({@link #PAGED_METADATA_THREADS}), no dynamic shared memory.
     *
     * @param splitKv KV positions per work unit
     * @param tokensPerAtom draft tokens per query atom
     * @param extraToFirst the T mod num_sms SMs that get one more unit are the first (else the last) ones
     */
    public static KernelSource pagedMqaMetadata(int splitKv, int tokensPerAtom, boolean extraToFirst) {
        require(splitKv >= 1, "splitKv must be positive, got " + splitKv);
        require(tokensPerAtom >= 1, "tokensPerAtom must be positive, got " + tokensPerAtom);
        return SourceAssembler.classpath().assemble("paged_mqa_metadata", "dg_paged_mqa_metadata_s" + splitKv + "_a"
                + tokensPerAtom + (extraToFirst ? "_first" : "_last"), constants("DG_SPLIT_KV", splitKv,
                "DG_TOKENS_PER_ATOM", tokensPerAtom, "DG_EXTRA_FIRST", extraToFirst ? 1 : 0, "DG_METADATA_THREADS",
                PAGED_METADATA_THREADS));
    }

    /**
     * FP8 quantisation with one FP32 scale per granRows × granCols block, family {@code cast_to_fp8}.
     *
     * <p>Parameters: {@code (const in* x, i64 x_sb, i64 x_sr, i64 x_sc, u8* data, i64 d_sb, i64 d_sr, i64 d_sc,
     * float* scales, i64 s_sb, i64 s_sr, i64 s_sc, int rows, int cols)} with {@code in} = u16 (BF16) or float;
     * x and data [batch, rows, cols], scales [batch, ceil(rows/granRows), ceil(cols/granCols)].
     *
     * <p>Launch: grid (ceil(rows/granRows)·ceil(cols/granCols), 1, batch), block (threads), no dynamic shared memory.
     */
    public static KernelSource castToFp8(int granRows, int granCols, boolean bf16Input, boolean ue8m0, int threads) {
        require(granRows >= 1 && granCols >= 1 && (long) granRows * granCols <= 1 << 20,
                "granularity must be positive with at most 2^20 elements per block, got " + granRows + "x" + granCols);
        requireThreads(threads);
        return SourceAssembler.classpath().assemble("cast_to_fp8", "dg_cast_to_fp8_" + granRows + "x" + granCols
                + (bf16Input ? "_bf16" : "_f32") + (ue8m0 ? "_ue8m0" : "") + "_t" + threads,
                constants("DG_GRAN_ROWS", granRows, "DG_GRAN_COLS", granCols, "DG_IN_BF16", bf16Input ? 1 : 0,
                        "DG_UE8M0", ue8m0 ? 1 : 0, "DG_THREADS", threads));
    }

    /**
     * Strided copy of a rank ≤ 3 tensor, family {@code strided_copy}.
     *
     * <p>Parameters: {@code (const e* src, i64 s0, i64 s1, i64 s2, e* dst, i64 t0, i64 t1, i64 t2, i64 n0, i64 n1,
     * i64 n2)} with {@code e} = u8, u16 or u32 by elementBytes.
     *
     * <p>Launch: grid (any x ≥ 1; grid-stride loop), block (threads), no dynamic shared memory.
     */
    public static KernelSource stridedCopy(int elementBytes, int threads) {
        return elementwise("strided_copy", elementBytes, threads);
    }

    /**
     * Byte transpose of a batch of matrices, family {@code fp8_transpose}: {@code dst[b, c, r] = src[b, r, c]} for FP8
     * (or any 1-byte) data, 128 × 128-byte tiles through 16 KB of static shared memory, 16-byte global loads and
     * stores where addresses, strides and the tile's extent allow.
     *
     * <p>Parameters: {@code (const u8* src, i64 src_sb, i64 src_sr, u8* dst, i64 dst_sb, i64 dst_sr, i64 batch,
     * i64 rows, i64 cols)}, strides in bytes; src [batch, rows, cols] with unit column stride, dst [batch, cols, rows]
     * with unit column stride; not overlapping.
     *
     * <p>Launch: grid (any x ≥ 1; the CTAs stride over the batch·ceil(rows/128)·ceil(cols/128) tiles), block
     * (threads), no dynamic shared memory.
     *
     * @param threads 32, 64, 128 or 256
     */
    public static KernelSource fp8Transpose(int threads) {
        require(threads == 32 || threads == 64 || threads == 128 || threads == 256,
                "threads must be 32, 64, 128 or 256, got " + threads);
        return SourceAssembler.classpath().assemble("fp8_transpose", "dg_fp8_transpose_t" + threads,
                constants("DG_THREADS", threads));
    }

    /**
     * Fill of a rank ≤ 3 tensor with one bit pattern, family {@code fill}.
     *
     * <p>Parameters: {@code (e* dst, i64 t0, i64 t1, i64 t2, i64 n0, i64 n1, i64 n2, u32 bits)}; the low
     * elementBytes bytes of bits are stored.
     *
     * <p>Launch: grid (any x ≥ 1; grid-stride loop), block (threads), no dynamic shared memory.
     */
    public static KernelSource fill(int elementBytes, int threads) {
        return elementwise("fill", elementBytes, threads);
    }

    /**
     * UE8M0 packing of FP32 power-of-two scales, family {@code pack_ue8m0}.
     *
     * <p>Parameters: {@code (const float* sf, i64 s0, i64 s1, i64 s2, u32* out, i64 t0, i64 t1, i64 t2, i64 groups,
     * i64 mn, int sfk)}; sf [groups, mn, sfk], out [groups, mn, ceil(sfk/4)].
     *
     * <p>Launch: grid (any x ≥ 1; grid-stride loop), block (threads), no dynamic shared memory.
     */
    public static KernelSource packUe8m0(int threads) {
        requireThreads(threads);
        return SourceAssembler.classpath().assemble("pack_ue8m0", "dg_pack_ue8m0_t" + threads,
                constants("DG_THREADS", threads));
    }

    private static KernelSource gemm(String family, String baseName, int blockM, int blockN, GemmScales scales,
            boolean bf16Out, Map<String, Long> extra) {
        require(blockM % 16 == 0 && blockM >= 16 && blockM <= 128, "blockM must be 16, 32, ..., 128, got " + blockM);
        require(blockN % 16 == 0 && blockN >= 16 && 128 % blockN == 0, "blockN must be 16, 32, 64 or 128, got "
                + blockN);
        require(blockM * blockN <= 8192, "blockM·blockN must be at most 8192 (registers), got " + blockM + "x"
                + blockN);
        Map<String, Long> c = constants("DG_BLOCK_M", blockM, "DG_BLOCK_N", blockN, "DG_SCALES", scales.code(),
                "DG_OUT_BF16", bf16Out ? 1 : 0);
        c.putAll(extra);
        String name = baseName + "_m" + blockM + "n" + blockN + "_" + scales.tag() + (bf16Out ? "_bf16" : "_f32");
        return SourceAssembler.classpath().assemble(family, name, c);
    }

    private static Map<String, Long> mqaConstants(int heads, int headDim, int tileKv) {
        require(heads >= 1 && heads <= 64, "heads must be in [1, 64], got " + heads);
        require(headDim % 16 == 0 && headDim >= 16 && headDim <= 128, "headDim must be a multiple of 16 up to 128,"
                + " got " + headDim);
        requireThreads(tileKv);
        return constants("DG_HEADS", heads, "DG_HEAD_DIM", headDim, "DG_TILE_KV", tileKv);
    }

    /**
     * An MQA logits kernel (or clean pass) of {@code family}: the FP32 variant exactly as before (no extra constant,
     * the same name, so its cache key and code are unchanged), the BF16 one with {@code DG_LOGITS_BF16} and its own
     * name.
     */
    private static KernelSource logitsKernel(String family, String name, Map<String, Long> constants,
            boolean bf16Logits) {
        if (bf16Logits) {
            constants.put("DG_LOGITS_BF16", 1L);
        }
        return SourceAssembler.classpath().assemble(family, bf16Logits ? name + "_bf16" : name, constants);
    }

    private static KernelSource elementwise(String family, int elementBytes, int threads) {
        require(elementBytes == 1 || elementBytes == 2 || elementBytes == 4, "elementBytes must be 1, 2 or 4, got "
                + elementBytes);
        requireThreads(threads);
        return SourceAssembler.classpath().assemble(family, "dg_" + family + "_e" + elementBytes + "_t" + threads,
                constants("DG_ELEM_BYTES", elementBytes, "DG_THREADS", threads));
    }

    private static void requireThreads(int threads) {
        require(threads >= 32 && threads <= 1024 && threads % 32 == 0, "threads must be a multiple of 32 in [32, 1024],"
                + " got " + threads);
    }

    private static Map<String, Long> constants(Object... nameValue) {
        Map<String, Long> c = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            c.put((String) nameValue[i], ((Number) nameValue[i + 1]).longValue());
        }
        return c;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
