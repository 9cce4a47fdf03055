package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import dev.deepgemm4j.jit.GemmScales;
import dev.deepgemm4j.jit.KernelSource;

/**
 * A compiled configuration of one of the GEMM kernels (all share {@code gemm_tile.cuh}: 256 threads, a
 * {@code blockM × blockN} tile of D per CTA).
 *
 * @param kind which kernel
 * @param blockM rows of D per CTA
 * @param blockN columns of D per CTA
 * @param scales scale format (K-grouped: always {@link GemmScales#FP32_PER_ROW_B})
 * @param bf16Out D is BF16 (dense only; grouped M kernels always BF16, K-grouped always FP32)
 */
public record GemmConfig(Kind kind, int blockM, int blockN, GemmScales scales, boolean bf16Out)
        implements KernelConfig {

    /** The GEMM kernels. */
    public enum Kind {
        /** {@code dense_gemm}. */
        DENSE,
        /** {@code grouped_gemm_contiguous}, index layout. */
        CONTIGUOUS_INDEX,
        /** {@code grouped_gemm_contiguous}, psum layout. */
        CONTIGUOUS_PSUM,
        /** {@code grouped_gemm_masked}. */
        MASKED,
        /** {@code k_grouped_gemm}, group blocks packed [M, K_g] ("nt"). */
        K_GROUPED_NT,
        /** {@code k_grouped_gemm}, tokens as rows [ΣK, M] ("tn"). */
        K_GROUPED_TN
    }

    /** K elements staged in shared memory per step (gemm_tile.cuh's DG_GEMM_K_STEP). */
    private static final int K_STEP = 32;

    public GemmConfig {
        boolean kGrouped = kind == Kind.K_GROUPED_NT || kind == Kind.K_GROUPED_TN;
        if (kGrouped && (scales != GemmScales.FP32_PER_ROW_B || bf16Out)) {
            throw new IllegalArgumentException("the K-grouped GEMM takes FP32 per-row scales and writes FP32");
        }
        if (kind != Kind.DENSE && !kGrouped && !bf16Out) {
            throw new IllegalArgumentException("the M-grouped GEMMs write BF16");
        }
    }

    @Override
    public KernelSource source() {
        return switch (kind) {
            case DENSE -> CudaSources.denseGemm(blockM, blockN, scales, bf16Out);
            case CONTIGUOUS_INDEX -> CudaSources.groupedGemmContiguous(blockM, blockN, scales, false);
            case CONTIGUOUS_PSUM -> CudaSources.groupedGemmContiguous(blockM, blockN, scales, true);
            case MASKED -> CudaSources.groupedGemmMasked(blockM, blockN, scales);
            case K_GROUPED_NT -> CudaSources.kGroupedGemm(blockM, blockN, false);
            case K_GROUPED_TN -> CudaSources.kGroupedGemm(blockM, blockN, true);
        };
    }

    @Override
    public int threads() {
        return CudaSources.GEMM_THREADS;
    }

    @Override
    public int staticSharedBytes() {
        int tiles = 4 * K_STEP * (blockM + 1 + blockN + 1);
        return tiles + (kind == Kind.CONTIGUOUS_INDEX || kind == Kind.CONTIGUOUS_PSUM ? 4 * blockM : 0);
    }

    /** Geometry for a D of {@code rows × cols} per group over {@code groups} groups. */
    LaunchGeometry geometry(long rows, long cols, int groups) {
        return new LaunchGeometry(LaunchGeometry.blocks(rows, blockM), LaunchGeometry.blocks(cols, blockN), groups,
                threads(), 0);
    }
}
