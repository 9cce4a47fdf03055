package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.DenseGemmHeuristic;
import dev.deepgemm4j.jit.GemmScales;
import java.util.concurrent.atomic.LongAdder;

/**
 * The dense GEMM for the normalised NT problem {@code D (+)= A · Bᵀ}: the Hopper kernels where their preconditions
 * hold (1D1D: {@link Sm90Gemm1d1dLauncher}; 1D2D with M ≤ 64: {@link Sm90SmallMGemmLauncher}, else
 * {@link Sm90DenseGemmLauncher}), else the SIMT kernel ({@code dense_gemm.cu}).
 */
final class DenseGemmLauncher {

    /**
     * Launches of each kernel family since the process started (tests read them to see which path ran); SM90 counts
     * both Hopper kernels.
     */
    static final LongAdder SM90_LAUNCHES = new LongAdder();
    static final LongAdder SIMT_LAUNCHES = new LongAdder();
    /** Of {@link #SM90_LAUNCHES}, those of the small-M (decode) kernel. */
    static final LongAdder SM90_SMALL_M_LAUNCHES = new LongAdder();

    private DenseGemmLauncher() {
    }

    /**
     * SIMT kernel parameters: {@code (a, a_sm, a_sk, b, b_sn, b_sk, sfa, sfa_sm, sfa_sk, sfb, sfb_sn, sfb_sk, d, d_sm,
     * d_sn, int m, int n, int k, int accumulate)}; A [M, K], B [N, K], D [M, N] as the views' strides say.
     */
    static void gemm(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        if (Sm90Gemm1d1dLauncher.denseEligible(device, a, b, d, recipe, accumulate)) {
            Sm90Gemm1d1dLauncher.dense(device, a, b, d);
            SM90_LAUNCHES.increment();
            return;
        }
        if (Sm90SmallMGemmLauncher.eligible(device, a, b, d, recipe, accumulate)) {
            Sm90SmallMGemmLauncher.gemm(device, a, b, d);
            SM90_LAUNCHES.increment();
            SM90_SMALL_M_LAUNCHES.increment();
            return;
        }
        if (Sm90DenseGemmLauncher.eligible(device, a, b, d, recipe, accumulate)) {
            Sm90DenseGemmLauncher.gemm(device, a, b, d);
            SM90_LAUNCHES.increment();
            return;
        }
        long m = a.data().size(0);
        long k = a.data().size(1);
        long n = b.data().size(0);
        var launch = DenseGemmHeuristic.choose(m, n, k, device.numSms(), scales(a.scales().dtype(), recipe),
                d.dtype() == DType.BF16);
        LaunchArgs args = KernelArgs.begin();
        KernelArgs.tensor(args, a.data());
        KernelArgs.tensor(args, b.data());
        KernelArgs.tensor(args, a.scales());
        KernelArgs.tensor(args, b.scales());
        KernelArgs.tensor(args, d);
        args.addInt(KernelArgs.toInt(m, "M")).addInt(KernelArgs.toInt(n, "N")).addInt(KernelArgs.toInt(k, "K"))
                .addInt(accumulate ? 1 : 0);
        device.launch(launch, args);
        SIMT_LAUNCHES.increment();
    }

    /** The kernel's scale format for scales of {@code dtype} under {@code recipe}. */
    static GemmScales scales(DType dtype, Recipe recipe) {
        if (dtype == DType.UE8M0_PACKED) {
            return GemmScales.UE8M0_PER_ROW;
        }
        return recipe.isPerBlockB() ? GemmScales.FP32_PER_BLOCK_B : GemmScales.FP32_PER_ROW_B;
    }
}
