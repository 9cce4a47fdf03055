package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.TransposeHeuristic;
import java.util.Arrays;

/**
 * The byte transpose kernel ({@code fp8_transpose.cu}): {@code dst = srcᵀ} over the last two dimensions of 1-byte
 * tensors, queued on the device's stream. The Hopper K-grouped GEMM uses it to turn "tn" token rows K-major.
 */
final class TransposeLauncher {

    private TransposeLauncher() {
    }

    /**
     * Queues {@code dst[.., c, r] = src[.., r, c]}. Kernel parameters: {@code (src, src_sb, src_sr, dst, dst_sb,
     * dst_sr, batch, rows, cols)}, one launch.
     *
     * @param src [rows, cols] or [batch, rows, cols], 1-byte elements, unit column stride
     * @param dst [cols, rows] or [batch, cols, rows] on the same device, 1-byte elements, unit column stride, not
     *     overlapping {@code src}
     * @throws IllegalArgumentException if the shapes, element sizes or column strides break those rules
     */
    static void transpose(GpuDevice device, Tensor src, Tensor dst) {
        requireByteRows("src", src);
        requireByteRows("dst", dst);
        int dims = src.dim();
        long batch = dims == 3 ? src.size(0) : 1;
        long rows = src.size(-2);
        long cols = src.size(-1);
        long[] transposed = dims == 3 ? new long[] {batch, cols, rows} : new long[] {cols, rows};
        if (!Arrays.equals(dst.shape(), transposed)) {
            throw new IllegalArgumentException("dst must have shape " + Arrays.toString(transposed) + " (src "
                    + Arrays.toString(src.shape()) + " with its last two dimensions swapped), got "
                    + Arrays.toString(dst.shape()));
        }
        var launch = TransposeHeuristic.transpose(batch, rows, cols, device.numSms());
        LaunchArgs args = KernelArgs.begin()
                .addPointer(src).addLong(dims == 3 ? src.stride(0) : 0).addLong(src.stride(-2))
                .addPointer(dst).addLong(dims == 3 ? dst.stride(0) : 0).addLong(dst.stride(-2))
                .addLong(batch).addLong(rows).addLong(cols);
        device.launch(launch, args);
    }

    /** A rank-2 or rank-3 tensor of 1-byte elements whose rows are contiguous, as the kernel addresses them. */
    private static void requireByteRows(String arg, Tensor t) {
        if (t.dtype().byteSize() != 1 || t.dim() < 2 || t.dim() > 3) {
            throw new IllegalArgumentException(arg + " must be a rank-2 or rank-3 tensor of 1-byte elements, got "
                    + t.dtype() + " of rank " + t.dim());
        }
        if (t.size(-1) > 1 && t.stride(-1) != 1) {
            throw new IllegalArgumentException(arg + " must have unit column stride (contiguous rows), got strides "
                    + Arrays.toString(t.strides()));
        }
    }
}
