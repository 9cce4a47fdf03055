package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Validation and dispatch of the FP8 quantizers, and calc_diff.
 *
 * <p>The quantizers take any 2-D FP32 or BF16 {@code x} with any strides and return contiguous outputs. Unlike
 * DeepGEMM's reference helpers they pad nothing: the FP8 data is exactly [R, C]. Whether its row pitch suits a GEMM
 * (C a multiple of 16) is checked by the GEMM that consumes it, not here, so odd widths can still be quantised
 * (e.g. for storage or for the per-channel layout, whose rows are the K dimension).
 */
final class QuantizeOp {

    private QuantizeOp() {
    }

    static Fp8Tensor cast(Tensor x, int granRows, int granCols, boolean ue8m0, String name) {
        Checks.requireNonNull("x", x);
        Checks.requireDType("x", x, DType.FP32, DType.BF16);
        if (x.dim() != 2) {
            throw Checks.fail("x", name + " quantisation needs a 2-D [rows, cols] tensor, got shape "
                    + Arrays.toString(x.shape()));
        }
        Backend backend = Backends.forTensor("x", x);
        long rows = x.size(0);
        long cols = x.size(1);
        long[] dataShape = {rows, cols};
        long[] scaleShape = {Checks.ceilDiv(rows, granRows), Checks.ceilDiv(cols, granCols)};
        Tensor data = backend.allocate(DType.FP8_E4M3, dataShape, Tensor.contiguousStrides(dataShape), x.location());
        Tensor scales = backend.allocate(DType.FP32, scaleShape, Tensor.contiguousStrides(scaleShape), x.location());
        if (rows > 0 && cols > 0) {
            backend.castToFp8(x, granRows, granCols, ue8m0, data, scales);
        }
        return new Fp8Tensor(data, scales);
    }

    static double calcDiff(Tensor x, Tensor y) {
        requireHostFloating("x", x);
        requireHostFloating("y", y);
        if (!Arrays.equals(x.shape(), y.shape())) {
            throw Checks.fail("y", "shape must equal x's shape " + Arrays.toString(x.shape()) + ", got "
                    + Arrays.toString(y.shape()));
        }
        long n = x.numel();
        if (n == 0) {
            return 0;
        }
        MemorySegment xs = x.hostSegment();
        MemorySegment ys = y.hostSegment();
        long[] xStrides = x.strides();
        long[] yStrides = y.strides();
        long[] shape = x.shape();
        long[] idx = new long[shape.length];
        long xo = x.offset();
        long yo = y.offset();
        double sumXy = 0;
        double sumSquares = 0;
        for (long e = 0; e < n; e++) {
            double a = Tensor.readFloat(xs, x.dtype(), xo);
            double b = Tensor.readFloat(ys, y.dtype(), yo);
            sumXy += a * b;
            sumSquares += a * a + b * b;
            // Odometer step over both tensors' strides at once.
            for (int d = shape.length - 1; d >= 0; d--) {
                xo += xStrides[d];
                yo += yStrides[d];
                if (++idx[d] < shape[d]) {
                    break;
                }
                xo -= idx[d] * xStrides[d];
                yo -= idx[d] * yStrides[d];
                idx[d] = 0;
            }
        }
        return sumSquares == 0 ? 0 : 1 - 2 * sumXy / sumSquares;
    }

    private static void requireHostFloating(String arg, Tensor t) {
        Checks.requireNonNull(arg, t);
        Checks.requireDType(arg, t, DType.FP32, DType.BF16, DType.FP8_E4M3);
        if (!t.location().isHost()) {
            throw Checks.fail(arg, "calc_diff reads host tensors; copy it to the host first, it is on "
                    + t.location());
        }
    }
}
