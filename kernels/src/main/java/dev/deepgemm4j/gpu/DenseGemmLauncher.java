package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.DenseGemmHeuristic;
import dev.deepgemm4j.jit.GemmScales;

/** The dense GEMM kernel ({@code dense_gemm.cu}) for the normalised NT problem {@code D (+)= A · Bᵀ}. */
final class DenseGemmLauncher {

    private DenseGemmLauncher() {
    }

    /**
     * Kernel parameters: {@code (a, a_sm, a_sk, b, b_sn, b_sk, sfa, sfa_sm, sfa_sk, sfb, sfb_sn, sfb_sk, d, d_sm,
     * d_sn, int m, int n, int k, int accumulate)}; A [M, K], B [N, K], D [M, N] as the views' strides say.
     */
    static void gemm(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
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
    }

    /** The kernel's scale format for scales of {@code dtype} under {@code recipe}. */
    static GemmScales scales(DType dtype, Recipe recipe) {
        if (dtype == DType.UE8M0_PACKED) {
            return GemmScales.UE8M0_PER_ROW;
        }
        return recipe.isPerBlockB() ? GemmScales.FP32_PER_BLOCK_B : GemmScales.FP32_PER_ROW_B;
    }
}
