package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.heuristics.ScaleLayoutHeuristic;

/**
 * The grid-stride utility kernels ({@code strided_copy.cu}, {@code fill.cu}, {@code pack_ue8m0.cu}): device-side
 * strided copies (also behind the MN-major, TMA-aligned scale transforms), fills, and UE8M0 packing.
 */
final class ScaleLayoutLauncher {

    private ScaleLayoutLauncher() {
    }

    /**
     * {@code dst = src} for two tensors of one device with equal shapes and dtypes and any strides (not overlapping).
     * Kernel parameters: {@code (src, s0, s1, s2, dst, t0, t1, t2, n0, n1, n2)}, one launch per rank-3 piece.
     */
    static void copy(GpuDevice device, Tensor src, Tensor dst) {
        int size = src.dtype().byteSize();
        long srcBase = src.dataAddress();
        long dstBase = dst.dataAddress();
        for (Rank3Pieces.Piece p : Rank3Pieces.of(src.shape(), src.strides(), dst.strides())) {
            long[] n = p.shape();
            long[] s = p.strides()[0];
            long[] t = p.strides()[1];
            var launch = ScaleLayoutHeuristic.copy(size, n[0] * n[1] * n[2], device.numSms());
            LaunchArgs args = KernelArgs.begin().addPointer(srcBase + p.offsets()[0] * size)
                    .addLong(s[0]).addLong(s[1]).addLong(s[2])
                    .addPointer(dstBase + p.offsets()[1] * size).addLong(t[0]).addLong(t[1]).addLong(t[2])
                    .addLong(n[0]).addLong(n[1]).addLong(n[2]);
            device.launch(launch, args);
        }
    }

    /**
     * Every element of {@code dst} set to {@code value} encoded to its dtype (as {@link Tensor#fill} encodes it).
     * Kernel parameters: {@code (dst, t0, t1, t2, n0, n1, n2, u32 bits)}, one launch per rank-3 piece.
     */
    static void fill(GpuDevice device, Tensor dst, float value) {
        int size = dst.dtype().byteSize();
        int bits = bits(dst.dtype(), value);
        long base = dst.dataAddress();
        for (Rank3Pieces.Piece p : Rank3Pieces.of(dst.shape(), dst.strides())) {
            long[] n = p.shape();
            long[] t = p.strides()[0];
            var launch = ScaleLayoutHeuristic.fill(size, n[0] * n[1] * n[2], device.numSms());
            LaunchArgs args = KernelArgs.begin().addPointer(base + p.offsets()[0] * size)
                    .addLong(t[0]).addLong(t[1]).addLong(t[2]).addLong(n[0]).addLong(n[1]).addLong(n[2])
                    .addInt(bits);
            device.launch(launch, args);
        }
    }

    /**
     * FP32 power-of-two scales {@code sf} [(G,) MN, SFK] packed into UE8M0 words {@code out} [(G,) MN, ceil(SFK/4)].
     * Kernel parameters: {@code (sf, s0, s1, s2, out, t0, t1, t2, groups, mn, int sfk)}.
     */
    static void packUe8m0(GpuDevice device, Tensor sf, Tensor out) {
        boolean grouped = sf.dim() == 3;
        long groups = grouped ? sf.size(0) : 1;
        long mn = sf.size(-2);
        long sfk = sf.size(-1);
        long words = groups * mn * out.size(-1);
        var launch = ScaleLayoutHeuristic.packUe8m0(words, device.numSms());
        LaunchArgs args = KernelArgs.begin().addPointer(sf).addLong(grouped ? sf.stride(0) : 0)
                .addLong(sf.stride(-2)).addLong(sf.stride(-1))
                .addPointer(out).addLong(grouped ? out.stride(0) : 0).addLong(out.stride(-2)).addLong(out.stride(-1))
                .addLong(groups).addLong(mn).addInt(KernelArgs.toInt(sfk, "SFK"));
        device.launch(launch, args);
    }

    /** The bit pattern of {@code value} stored as {@code dtype}, the encoding {@link Tensor#writeFloat} uses. */
    static int bits(DType dtype, float value) {
        return switch (dtype) {
            case FP32 -> Float.floatToRawIntBits(value);
            case BF16 -> Bf16.fromFloat(value) & 0xFFFF;
            case FP8_E4M3 -> Fp8E4M3.fromFloat(value) & 0xFF;
            case INT32 -> (int) value;
            case UINT8 -> (int) value & 0xFF;
            case UE8M0_PACKED -> throw new UnsupportedOperationException(
                    "UE8M0_PACKED holds four scales per element; it has no single-value fill");
        };
    }
}
