package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuantizeTest {

    private final SplittableRandom rng = new SplittableRandom(17);

    /** Random values whose magnitude also varies by row and column (2^-6 .. 2^6), so blocks get different scales. */
    private Tensor varied(DType dtype, long rows, long cols) {
        Tensor x = Tensor.zeros(dtype, rows, cols);
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                double v;
                do {
                    v = rng.nextDouble(-1, 1);
                } while (v == 0);
                x.setFloat((float) Math.scalb(v, (int) ((r * 7 + c / 50) % 13) - 6), r, c);
            }
        }
        return x;
    }

    /**
     * Checks {@code q} against DeepGEMM's definition, computed here independently, and bounds the round-trip error:
     * E4M3 keeps 3 mantissa bits, so RNE is off by at most half an ulp, 2^-4 relative for normals, and at most
     * 2^-10 (half the subnormal step 2^-9) in units of the scale below the normal range.
     */
    private static void assertQuantized(Tensor x, int granRows, int granCols, boolean ue8m0, Fp8Tensor q) {
        long rows = x.size(0);
        long cols = x.size(1);
        long rowBlocks = (rows + granRows - 1) / granRows;
        long colBlocks = (cols + granCols - 1) / granCols;
        assertEquals(DType.FP8_E4M3, q.data().dtype());
        assertArrayEquals(new long[] {rows, cols}, q.data().shape());
        assertTrue(q.data().isContiguous());
        assertEquals(DType.FP32, q.scales().dtype());
        assertArrayEquals(new long[] {rowBlocks, colBlocks}, q.scales().shape());
        assertTrue(q.scales().isContiguous());
        for (long rb = 0; rb < rowBlocks; rb++) {
            for (long cb = 0; cb < colBlocks; cb++) {
                long r0 = rb * granRows;
                long r1 = Math.min(r0 + granRows, rows);
                long c0 = cb * granCols;
                long c1 = Math.min(c0 + granCols, cols);
                float amax = 0;
                for (long r = r0; r < r1; r++) {
                    for (long c = c0; c < c1; c++) {
                        amax = Math.max(amax, Math.abs(x.getFloat(r, c)));
                    }
                }
                float exact = Math.max(amax, 1e-4f) / 448f;
                float scale = q.scales().getFloat(rb, cb);
                String where = "block (" + rb + ", " + cb + ")";
                if (ue8m0) {
                    assertEquals(0, Float.floatToRawIntBits(scale) & 0x807FFFFF, where + " scale is a power of two");
                    assertTrue(scale >= exact && scale < 2 * exact, where + " scale " + scale + " vs " + exact);
                } else {
                    assertEquals(exact, scale, 0f, where);
                }
                float maxCode = 0;
                for (long r = r0; r < r1; r++) {
                    for (long c = c0; c < c1; c++) {
                        float v = x.getFloat(r, c);
                        byte code = q.data().getByte(r, c);
                        assertEquals(Fp8E4M3.fromFloat(v / scale), code, where + " element " + r + "," + c);
                        double dequantized = (double) Fp8E4M3.toFloat(code) * scale;
                        double bound = Math.max(0x1p-4 * Math.abs(v), 0x1p-10 * scale) * (1 + 0x1p-18);
                        assertTrue(Math.abs(dequantized - v) <= bound,
                                where + " element " + r + "," + c + ": " + v + " -> " + dequantized);
                        maxCode = Math.max(maxCode, Math.abs(Fp8E4M3.toFloat(code)));
                    }
                }
                if (!ue8m0 && amax >= 1e-4f) {
                    assertEquals(448f, maxCode, where + " block maximum lands on the largest code");
                } else {
                    assertTrue(maxCode <= 448f && (amax < 1e-4f || maxCode >= 224f), where + " max code " + maxCode);
                }
            }
        }
    }

    private static void assertRejected(String fragment, Runnable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call::run);
        assertEquals("x", e.argument());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void perTokenWithTailColumns() {
        try (Tensor x = varied(DType.FP32, 67, 300)) {
            float[] before = x.toFloatArray();
            for (boolean ue8m0 : new boolean[] {false, true}) {
                try (Fp8Tensor q = DeepGemm.perTokenCastToFp8(x, ue8m0)) {
                    assertQuantized(x, 1, 128, ue8m0, q);
                }
            }
            assertArrayEquals(before, x.toFloatArray(), "input untouched");
        }
    }

    @Test
    void perBlockOfAStridedBf16Input() {
        try (Tensor storage = varied(DType.BF16, 260, 130)) {
            Tensor x = storage.t(); // [130, 260], MN-major: tails in both dimensions
            for (boolean ue8m0 : new boolean[] {false, true}) {
                try (Fp8Tensor q = DeepGemm.perBlockCastToFp8(x, ue8m0)) {
                    assertQuantized(x, 128, 128, ue8m0, q);
                }
            }
        }
    }

    @Test
    void perChannelAlongRows() {
        try (Tensor x = varied(DType.FP32, 300, 70)) {
            for (boolean ue8m0 : new boolean[] {false, true}) {
                try (Fp8Tensor q = DeepGemm.perChannelCastToFp8(x, ue8m0)) {
                    assertArrayEquals(new long[] {3, 70}, q.scales().shape());
                    assertQuantized(x, 128, 1, ue8m0, q);
                }
            }
        }
    }

    @Test
    void tailBlocksUseOnlyTheirOwnElements() {
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, 130, 260)) {
            x.setFloat(-300f, 129, 259); // the bottom-right tail block: 2 rows x 4 columns
            x.setFloat(50f, 127, 255); // the block diagonally before it
            try (Fp8Tensor q = DeepGemm.perBlockCastToFp8(x, false)) {
                assertEquals(300f / 448f, q.scales().getFloat(1, 2));
                assertEquals(50f / 448f, q.scales().getFloat(0, 1));
                assertTrue(q.scales().getFloat(0, 2) < 1f / 448f * 1.0001f, "top-right block sees no spike");
                assertTrue(q.scales().getFloat(1, 1) < 1f / 448f * 1.0001f, "bottom-middle block sees no spike");
                assertEquals((byte) 0xFE, q.data().getByte(129, 259));
                assertQuantized(x, 128, 128, false, q);
            }
        }
    }

    @Test
    void allZeroBlocksGetTheFlooredScale() {
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, 3, 256)) {
            x.narrow(1, 128, 128).select(0, 1).fill(0f);
            for (boolean ue8m0 : new boolean[] {false, true}) {
                try (Fp8Tensor q = DeepGemm.perTokenCastToFp8(x, ue8m0)) {
                    float floor = 1e-4f / 448f;
                    assertEquals(ue8m0 ? 0x1p-22f : floor, q.scales().getFloat(1, 1));
                    for (long c = 128; c < 256; c++) {
                        assertEquals(0, q.data().getByte(1, c));
                    }
                    assertQuantized(x, 1, 128, ue8m0, q);
                }
            }
        }
    }

    @Test
    void emptyInputsGiveEmptyOutputs() {
        try (Tensor rowsOnly = Tensor.zeros(DType.FP32, 5, 0);
                Fp8Tensor q = DeepGemm.perTokenCastToFp8(rowsOnly, false);
                Tensor none = Tensor.zeros(DType.BF16, 0, 300);
                Fp8Tensor b = DeepGemm.perBlockCastToFp8(none, true)) {
            assertArrayEquals(new long[] {5, 0}, q.data().shape());
            assertArrayEquals(new long[] {5, 0}, q.scales().shape());
            assertArrayEquals(new long[] {0, 300}, b.data().shape());
            assertArrayEquals(new long[] {0, 3}, b.scales().shape());
        }
    }

    @Test
    void validation() {
        assertRejected("null", () -> DeepGemm.perTokenCastToFp8(null, false));
        try (Tensor fp8 = Tensor.zeros(DType.FP8_E4M3, 4, 128);
                Tensor ints = Tensor.zeros(DType.INT32, 4, 128);
                Tensor cube = Tensor.zeros(DType.FP32, 2, 4, 128);
                Tensor line = Tensor.zeros(DType.BF16, 128)) {
            assertRejected("dtype", () -> DeepGemm.perTokenCastToFp8(fp8, false));
            assertRejected("dtype", () -> DeepGemm.perBlockCastToFp8(ints, false));
            assertRejected("2-D", () -> DeepGemm.perTokenCastToFp8(cube, false));
            assertRejected("2-D", () -> DeepGemm.perChannelCastToFp8(line, false));
        }
        Tensor closed = Tensor.zeros(DType.FP32, 4, 128);
        closed.close();
        assertRejected("freed", () -> DeepGemm.perBlockCastToFp8(closed, false));
        Tensor onDevice = FakeDeviceTensors.onDevice(DType.FP32, 4, 128);
        assertRejected("cuda:0", () -> DeepGemm.perTokenCastToFp8(onDevice, false));
    }
}
