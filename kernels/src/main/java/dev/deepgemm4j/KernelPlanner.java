package dev.deepgemm4j;

import dev.deepgemm4j.heuristics.GroupedGemmHeuristic;
import dev.deepgemm4j.heuristics.QuantizeHeuristic;
import dev.deepgemm4j.heuristics.Sm90GemmHeuristic;
import dev.deepgemm4j.jit.GemmScales;
import dev.deepgemm4j.jit.KernelSource;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The kernels the GPU backend's heuristics pick for op shapes, asked the same way the launchers ask them, so a
 * {@link KernelPack} holds exactly what the launches will look up. Where a choice depends on data only known at run
 * time (a batch's row count), every possible value is enumerated; the distinct configurations stay few.
 */
final class KernelPlanner {

    private KernelPlanner() {
    }

    /** The quantiser of FP32 rows of {@code cols} values to FP8 with FP32 per-token (1×128) scales. */
    static KernelSource quantizePerToken(long cols) {
        return QuantizeHeuristic.cast(1, 1, cols, 1, 128, false, false).config().source();
    }

    /**
     * The contiguous-layout grouped GEMM (index layout, as the scorer calls it) for every total row count a batch can
     * have: a multiple of the alignment, up to {@code maxRows}.
     */
    static Set<KernelSource> groupedGemmContiguous(long maxRows, long n, long k, int alignment, GpuTarget target) {
        boolean hopper = hopperKernelFits(target, n, k) && alignment % 64 == 0;
        Set<KernelSource> out = new LinkedHashSet<>();
        for (long rows = alignment; rows <= maxRows; rows += alignment) {
            out.add(hopper
                    ? Sm90GemmHeuristic.contiguous(rows, n, k, 1, alignment, false, target.numSms()).config().source()
                    : GroupedGemmHeuristic.contiguous(rows, n, k, alignment, false, GemmScales.FP32_PER_BLOCK_B,
                            target.numSms()).config().source());
        }
        return out;
    }

    /** The masked-layout grouped GEMM for every expected row count per group from 1 to {@code maxRowsPerGroup}. */
    static Set<KernelSource> groupedGemmMasked(int groups, long maxRowsPerGroup, long n, long k, GpuTarget target) {
        boolean hopper = hopperKernelFits(target, n, k);
        Set<KernelSource> out = new LinkedHashSet<>();
        for (long expected = 1; expected <= maxRowsPerGroup; expected++) {
            out.add(hopper
                    ? Sm90GemmHeuristic.masked(groups, maxRowsPerGroup, expected, n, k, target.numSms()).config()
                            .source()
                    : GroupedGemmHeuristic.masked(groups, expected, expected, n, k, GemmScales.FP32_PER_BLOCK_B,
                            target.numSms()).config().source());
        }
        return out;
    }

    /**
     * Whether the launchers take the Hopper kernel for weights [·, n, k] on {@code target}: the shape rules of the
     * grouped Hopper launcher (the scorer's operands are K-major, contiguous and TMA-aligned by construction).
     */
    private static boolean hopperKernelFits(GpuTarget target, long n, long k) {
        return target.major() == 9 && target.minor() == 0 && k % 16 == 0 && n % 8 == 0;
    }
}
