package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TensorTest {

    private final SplittableRandom rng = new SplittableRandom(5);

    /** [rows, cols] FP32 holding 1000·r + c, so every element names its own position. */
    private static Tensor positions(long rows, long cols) {
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = 1000 * (i / cols) + i % cols;
        }
        return Tensor.ofFloats(v, rows, cols);
    }

    @Test
    void transposeSwapsShapeAndStridesWithoutCopying() {
        try (Tensor x = positions(3, 5)) {
            Tensor t = x.t();
            assertArrayEquals(new long[] {5, 3}, t.shape());
            assertArrayEquals(new long[] {1, 5}, t.strides());
            assertTrue(t.sharesStorageWith(x));
            assertFalse(t.isContiguous());
            assertEquals(2004f, t.getFloat(4, 2));
            t.setFloat(-1f, 1, 2);
            assertEquals(-1f, x.getFloat(2, 1), "writes through the view land in the original");
        }
        try (Tensor x = Tensor.zeros(DType.FP32, 2, 3, 4)) {
            Tensor t = x.transpose(0, -1);
            assertArrayEquals(new long[] {4, 3, 2}, t.shape());
            assertArrayEquals(new long[] {1, 4, 12}, t.strides());
        }
    }

    @Test
    void selectAndNarrowOffsetIntoTheSameStorage() {
        try (Tensor x = positions(4, 6)) {
            Tensor row = x.select(0, 2);
            assertArrayEquals(new long[] {6}, row.shape());
            assertEquals(12, row.offset());
            assertEquals(2005f, row.getFloat(5));
            Tensor col = x.select(1, 3);
            assertArrayEquals(new long[] {6}, col.strides());
            assertArrayEquals(new float[] {3, 1003, 2003, 3003}, col.toFloatArray());
            Tensor block = x.narrow(0, 1, 2).narrow(1, 2, 3);
            assertArrayEquals(new long[] {2, 3}, block.shape());
            assertEquals(8, block.offset());
            assertArrayEquals(new float[] {1002, 1003, 1004, 2002, 2003, 2004}, block.toFloatArray());
            assertEquals(0, x.narrow(1, 6, 0).numel(), "empty narrow at the end is legal");
            assertThrows(IndexOutOfBoundsException.class, () -> x.narrow(1, 4, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> x.select(0, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> x.size(2));
        }
    }

    @Test
    void viewNeedsContiguityAndEqualCount() {
        try (Tensor x = positions(4, 6)) {
            Tensor v = x.view(2, 3, 4);
            assertArrayEquals(new long[] {12, 4, 1}, v.strides());
            assertEquals(1005f, v.getFloat(0, 2, 3));
            assertThrows(IllegalArgumentException.class, () -> x.view(5, 5));
            assertThrows(IllegalArgumentException.class, () -> x.t().view(24));
            assertTrue(x.narrow(0, 1, 2).isContiguous(), "a row range of a row-major matrix stays contiguous");
            assertFalse(x.narrow(1, 1, 2).isContiguous());
        }
    }

    @Test
    void asStridedAndReinterpretViewTheSameBytes() {
        try (Tensor x = positions(4, 6)) {
            Tensor diagonal = x.asStrided(new long[] {4}, new long[] {7}, 0);
            assertArrayEquals(new float[] {0, 1001, 2002, 3003}, diagonal.toFloatArray());
            Tensor broadcast = x.asStrided(new long[] {3, 2}, new long[] {0, 1}, 6);
            assertArrayEquals(new float[] {1000, 1001, 1000, 1001, 1000, 1001}, broadcast.toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> x.asStrided(new long[] {5}, new long[] {6}, 0),
                    "reaches past the 24-element storage");
            Tensor bits = x.reinterpret(DType.INT32);
            assertEquals(Float.floatToRawIntBits(2003f), bits.getInt(2, 3));
            assertThrows(IllegalArgumentException.class, () -> x.reinterpret(DType.BF16));
        }
    }

    @Test
    void copyFromHonoursBothSidesStrides() {
        try (Tensor src = RandomTensors.uniform(rng, DType.FP32, 5, 7);
                Tensor big = Tensor.zeros(DType.FP32, 9, 12)) {
            big.fill(Float.NaN);
            // Destination: a transposed window of a bigger matrix; source: a transposed view.
            Tensor dst = big.narrow(0, 2, 7).narrow(1, 3, 5);
            dst.copyFrom(src.t());
            for (int r = 0; r < 9; r++) {
                for (int c = 0; c < 12; c++) {
                    boolean inside = r >= 2 && r < 9 && c >= 3 && c < 8;
                    float v = big.getFloat(r, c);
                    if (inside) {
                        assertEquals(src.getFloat(c - 3, r - 2), v);
                    } else {
                        assertTrue(Float.isNaN(v), "untouched outside the window at " + r + "," + c);
                    }
                }
            }
            assertThrows(IllegalArgumentException.class, () -> dst.copyFrom(src));
            try (Tensor bf = Tensor.zeros(DType.BF16, 7, 5)) {
                assertThrows(IllegalArgumentException.class, () -> bf.copyFrom(src.t()));
            }
            try (Tensor copy = src.t().contiguousCopy()) {
                assertTrue(copy.isContiguous());
                assertArrayEquals(src.t().toFloatArray(), copy.toFloatArray());
            }
        }
    }

    @Test
    void overlapsComparesByteRangesWithinOneStorage() {
        try (Tensor x = Tensor.zeros(DType.FP32, 8, 4); Tensor other = Tensor.zeros(DType.FP32, 8, 4)) {
            Tensor top = x.narrow(0, 0, 4);
            Tensor bottom = x.narrow(0, 4, 4);
            Tensor middle = x.narrow(0, 3, 2);
            assertFalse(top.overlaps(bottom));
            assertTrue(top.overlaps(middle));
            assertTrue(bottom.overlaps(middle));
            assertFalse(x.overlaps(other), "different storage never overlaps");
            assertFalse(x.overlaps(x.narrow(0, 2, 0)), "an empty view touches nothing");
            assertArrayEquals(new long[] {64, 80}, bottom.narrow(0, 0, 1).byteRange());
            // Conservative: interleaved columns share no element but their ranges intersect.
            assertTrue(x.narrow(1, 0, 1).overlaps(x.narrow(1, 1, 1)));
        }
    }

    @Test
    void zerosStridedAllocatesTheSpanOfTheStrides() {
        try (Tensor t = Tensor.zerosStrided(DType.FP32, new long[] {3, 4}, new long[] {1, 8})) {
            assertEquals((2 + 3 * 8 + 1) * 4, t.storage().byteSize());
            t.setFloat(5f, 2, 3);
            assertEquals(5f, t.hostSegment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 26));
            float[] want = new float[12];
            want[11] = 5f;
            assertArrayEquals(want, t.toFloatArray(), "zero-filled apart from the element just set");
        }
        try (Tensor empty = Tensor.zerosStrided(DType.BF16, new long[] {0, 4}, new long[] {4, 1})) {
            assertEquals(0, empty.numel());
            assertArrayEquals(new long[] {0, 0}, empty.byteRange());
        }
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.zerosStrided(DType.FP32, new long[] {2, 2}, new long[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.FP32, 2, -1));
    }

    @Test
    void fillBytesTouchesOnlyTheViewsElements() {
        try (Tensor x = Tensor.zeros(DType.BF16, 4, 6)) {
            x.narrow(1, 1, 2).fillBytes((byte) 0x7F);
            short poisoned = (short) 0x7F7F;
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 6; c++) {
                    float want = c == 1 || c == 2 ? Bf16.toFloat(poisoned) : 0f;
                    assertEquals(want, x.getFloat(r, c), r + "," + c);
                }
            }
        }
    }

    @Test
    void encodingFactoriesRoundLikeTheCodecs() {
        float[] v = {1.0f, 1.0625f, 500f, -3.1f};
        try (Tensor fp8 = Tensor.fromFloats(DType.FP8_E4M3, v, 2, 2);
                Tensor bf = Tensor.fromFloats(DType.BF16, v, 4);
                Tensor ints = Tensor.ofInts(new int[] {1, -2, 3}, 3)) {
            assertArrayEquals(new float[] {1.0f, 1.0f, 448f, -3.0f}, fp8.toFloatArray());
            assertEquals((byte) 0x7E, fp8.getByte(1, 0));
            assertArrayEquals(new float[] {1.0f, 1.0625f, 500f, Bf16.round(-3.1f)}, bf.toFloatArray());
            assertArrayEquals(new int[] {1, -2, 3}, ints.toIntArray());
            assertThrows(IllegalArgumentException.class, () -> Tensor.ofFloats(v, 3));
        }
    }

    @Test
    void closeFreesOnlyOwnedStorage() {
        Tensor owner = positions(2, 3);
        Tensor view = owner.t();
        view.close();
        assertFalse(owner.storage().isClosed(), "closing a view frees nothing");
        assertEquals(1002f, owner.getFloat(1, 2));
        owner.close();
        assertTrue(view.storage().isClosed());
        owner.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> view.getFloat(0, 0));
        Tensor y = positions(2, 3);
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class,
                () -> DeepGemm.calcDiff(owner, y));
        assertEquals("x", e.argument());
        assertTrue(e.getMessage().contains("freed"), e.getMessage());
        y.close();
    }

    @Test
    void wrapTakesOwnershipOnlyWhenAsked() {
        Tensor buffer = Tensor.zeros(DType.FP32, 16);
        Tensor borrowed = Tensor.wrap(buffer.storage(), DType.FP32, new long[] {2, 4}, new long[] {8, 1}, 4, false);
        borrowed.close();
        assertFalse(buffer.storage().isClosed());
        assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(buffer.storage(), DType.FP32,
                new long[] {2, 8}, new long[] {8, 1}, 4, false), "12 + 8 elements exceed 16");
        Tensor owning = Tensor.wrap(buffer.storage(), DType.FP32, new long[] {16}, new long[] {1}, 0, true);
        owning.close();
        assertTrue(buffer.storage().isClosed());
    }
}
