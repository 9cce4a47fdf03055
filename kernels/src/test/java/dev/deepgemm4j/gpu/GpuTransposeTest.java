package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.POISON;
import static dev.deepgemm4j.gpu.GpuTestSupport.storageBytes;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.backend.Backends;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The byte transpose kernel ({@code fp8_transpose.cu}) on the GPU: {@code dst[b, c, r] = src[b, r, c]} byte for
 * byte, for aligned operands (16-byte loads and stores), partial tiles, odd sizes, padded pitches and unaligned
 * offsets (the byte-wise paths), and more tiles than CTAs (the grid stride). The destination storage starts poisoned
 * and every byte outside the view must keep its poison.
 */
@Tag("gpu")
class GpuTransposeTest {

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    @ParameterizedTest(name = "batch={0} rows={1} cols={2} srcPad={3} dstPad={4} srcOffset={5} dstOffset={6}")
    @CsvSource({"1,384,144,0,0,0,0", "1,384,16,16,0,0,0", "3,131,257,5,3,1,7", "2,1,1,0,0,0,0", "1,129,1,0,0,0,0",
        "1,1,300,0,0,3,0", "2,200,136,8,24,16,32", "1,8320,4100,12,0,0,0"})
    void transposesEveryByteAndNothingElse(int batch, int rows, int cols, int srcPad, int dstPad, int srcOffset,
            int dstOffset) {
        SplittableRandom rng = new SplittableRandom(batch * 31L + rows * 7L + cols);
        long srcPitch = cols + srcPad;
        long dstPitch = rows + dstPad;
        // Batch strides one 16-byte line beyond the matrices when pitches are padded: not packed, still aligned.
        long srcBatch = rows * srcPitch + (srcPad > 0 ? 16 : 0);
        long dstBatch = cols * dstPitch + (dstPad > 0 ? 16 : 0);
        Tensor src = wrapped(DType.FP8_E4M3, new long[] {batch, rows, cols}, new long[] {srcBatch, srcPitch, 1},
                srcOffset, srcOffset + batch * srcBatch + 64);
        src.storage().hostSegment().copyFrom(MemorySegment.ofArray(randomBytes(rng, src.storage().byteSize())));
        Tensor dst = wrapped(DType.FP8_E4M3, new long[] {batch, cols, rows}, new long[] {dstBatch, dstPitch, 1},
                dstOffset, dstOffset + batch * dstBatch + 64);
        dst.storage().hostSegment().fill(POISON);

        Tensor srcGpu = toGpu(src);
        Tensor dstGpu = toGpu(dst);
        GpuDevice device = ((CudaBackend) Backends.device()).device(0);
        long before = GpuTestSupport.launches();
        TransposeLauncher.transpose(device, batch == 1 ? srcGpu.select(0, 0) : srcGpu,
                batch == 1 ? dstGpu.select(0, 0) : dstGpu);
        assertEquals(before + 1, GpuTestSupport.launches(), "one launch");

        byte[] want = new byte[Math.toIntExact(dst.storage().byteSize())];
        Arrays.fill(want, POISON);
        MemorySegment in = src.storage().hostSegment();
        for (long b = 0; b < batch; b++) {
            for (long r = 0; r < rows; r++) {
                for (long c = 0; c < cols; c++) {
                    want[(int) (dstOffset + b * dstBatch + c * dstPitch + r)] = in.get(ValueLayout.JAVA_BYTE,
                            srcOffset + b * srcBatch + r * srcPitch + c);
                }
            }
        }
        byte[] got = storageBytes(dstGpu);
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                throw new AssertionError("dst storage byte " + i + ": want " + (want[i] & 0xFF) + ", got "
                        + (got[i] & 0xFF));
            }
        }
    }

    private static Tensor wrapped(DType dtype, long[] shape, long[] strides, long offset, long storageBytes) {
        Tensor storage = Tensor.zeros(DType.UINT8, storageBytes);
        return Tensor.wrap(storage.storage(), dtype, shape, strides, offset, false);
    }

    private static byte[] randomBytes(SplittableRandom rng, long n) {
        byte[] bytes = new byte[Math.toIntExact(n)];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) rng.nextInt(256);
        }
        return bytes;
    }
}
