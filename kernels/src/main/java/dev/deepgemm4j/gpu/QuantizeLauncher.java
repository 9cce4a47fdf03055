package dev.deepgemm4j.gpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.QuantizeHeuristic;

/** The FP8 quantiser ({@code cast_to_fp8.cu}): one CTA per scale block, any input strides. */
final class QuantizeLauncher {

    private QuantizeLauncher() {
    }

    /**
     * {@code x} [(batch,) R, C] (FP32 or BF16) to FP8 {@code data} [(batch,) R, C] and FP32 {@code scales}
     * [(batch,) ceil(R/granRows), ceil(C/granCols)]. Kernel parameters: {@code (x, x_sb, x_sr, x_sc, data, d_sb,
     * d_sr, d_sc, scales, s_sb, s_sr, s_sc, int rows, int cols)}, batch strides 0 for 2-D tensors.
     */
    static void cast(GpuDevice device, Tensor x, int granRows, int granCols, boolean ue8m0, Tensor data,
            Tensor scales) {
        long batch = x.dim() == 3 ? x.size(0) : 1;
        long rows = x.size(-2);
        long cols = x.size(-1);
        var launch = QuantizeHeuristic.cast(batch, rows, cols, granRows, granCols, x.dtype() == DType.BF16, ue8m0);
        LaunchArgs args = KernelArgs.begin();
        batched(args, x);
        batched(args, data);
        batched(args, scales);
        args.addInt(KernelArgs.toInt(rows, "rows")).addInt(KernelArgs.toInt(cols, "cols"));
        device.launch(launch, args);
    }

    /** Pointer, then batch, row and column strides (batch stride 0 for a 2-D tensor). */
    private static void batched(LaunchArgs args, Tensor t) {
        args.addPointer(t).addLong(t.dim() == 3 ? t.stride(0) : 0).addLong(t.stride(-2)).addLong(t.stride(-1));
    }
}
