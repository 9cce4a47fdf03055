package dev.deepgemm4j.cpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.Ue8m0;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/** CPU reference of the FP8 quantizers and UE8M0 packing. */
final class CpuQuantizer {

    /** DeepGEMM's floor on a block's amax, so an all-zero block gets a usable (tiny) scale instead of 0. */
    private static final float MIN_AMAX = 1e-4f;

    private CpuQuantizer() {
    }

    /**
     * Quantises 2-D {@code x} [R, C] block by block. Work is split over row blocks, which are independent because
     * every scale block lies within one row block; each task scans its rows twice (amax, then encode) in row order.
     */
    static void cast(Tensor x, int granRows, int granCols, boolean ue8m0, Tensor data, Tensor scales) {
        long rows = x.size(0);
        long cols = x.size(1);
        int rowBlocks = Math.toIntExact(scales.size(0));
        int colBlocks = Math.toIntExact(scales.size(1));
        MemorySegment xs = x.hostSegment();
        MemorySegment ds = data.hostSegment();
        MemorySegment ss = scales.hostSegment();
        IntStream.range(0, rowBlocks).parallel().forEach(rb -> {
            long r0 = (long) rb * granRows;
            long r1 = Math.min(r0 + granRows, rows);
            float[] amax = new float[colBlocks];
            for (long r = r0; r < r1; r++) {
                long xo = x.offset() + r * x.stride(0);
                for (int cb = 0; cb < colBlocks; cb++) {
                    long c1 = Math.min((long) (cb + 1) * granCols, cols);
                    for (long c = (long) cb * granCols; c < c1; c++) {
                        // Math.max propagates NaN, so a NaN input poisons its block's scale visibly.
                        amax[cb] = Math.max(amax[cb], Math.abs(Tensor.readFloat(xs, x.dtype(), xo + c * x.stride(1))));
                    }
                }
            }
            float[] scale = new float[colBlocks];
            for (int cb = 0; cb < colBlocks; cb++) {
                float s = Math.max(amax[cb], MIN_AMAX) / Fp8E4M3.MAX;
                scale[cb] = ue8m0 ? Ue8m0.ceilToPowerOfTwo(s) : s;
                Tensor.writeFloat(ss, DType.FP32, scales.offset() + rb * scales.stride(0) + cb * scales.stride(1),
                        scale[cb]);
            }
            for (long r = r0; r < r1; r++) {
                long xo = x.offset() + r * x.stride(0);
                long dOff = data.offset() + r * data.stride(0);
                for (int cb = 0; cb < colBlocks; cb++) {
                    long c1 = Math.min((long) (cb + 1) * granCols, cols);
                    for (long c = (long) cb * granCols; c < c1; c++) {
                        float v = Tensor.readFloat(xs, x.dtype(), xo + c * x.stride(1)) / scale[cb];
                        ds.set(ValueLayout.JAVA_BYTE, dOff + c * data.stride(1), Fp8E4M3.fromFloat(v));
                    }
                }
            }
        });
    }

    /** Packs FP32 power-of-two scales [.., MN, SFK] into UE8M0 words [.., MN, ceil(SFK/4)], any strides. */
    static void packUe8m0(Tensor sf, Tensor out) {
        if (sf.dim() > 2) {
            for (long g = 0; g < sf.size(0); g++) {
                packUe8m0(sf.select(0, g), out.select(0, g));
            }
            return;
        }
        long mn = sf.size(0);
        long sfk = sf.size(1);
        MemorySegment src = sf.hostSegment();
        MemorySegment dst = out.hostSegment();
        for (long i = 0; i < mn; i++) {
            long sfRow = sf.offset() + i * sf.stride(0);
            long outRow = out.offset() + i * out.stride(0);
            for (long w = 0; w < out.size(1); w++) {
                int word = 0;
                // Tail bytes past SFK stay 0, as DeepGEMM's packer leaves them.
                for (int j = 0; j < 4 && 4 * w + j < sfk; j++) {
                    float s = Tensor.readFloat(src, DType.FP32, sfRow + (4 * w + j) * sf.stride(1));
                    word |= Ue8m0.encode(s) << (8 * j);
                }
                dst.set(ValueLayout.JAVA_INT_UNALIGNED, (outRow + w * out.stride(1)) * 4, word);
            }
        }
    }
}
