package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ScaleLayoutTest {

    private final SplittableRandom rng = new SplittableRandom(23);

    private static void assertRejected(String argument, String fragment, Runnable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call::run);
        assertEquals(argument, e.argument());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    /** Random power-of-two scales 2^-20 .. 2^4 (what use_ue8m0 quantisation produces). */
    private Tensor powersOfTwo(long... shape) {
        Tensor t = Tensor.zeros(DType.FP32, shape);
        t.forEachOffset(off -> Tensor.writeFloat(t.hostSegment(), DType.FP32, off,
                Math.scalb(1f, rng.nextInt(-20, 5))));
        return t;
    }

    /** Strides of an MN-major TMA-aligned [.., MN, SFK] tensor, and storage that covers its padding. */
    private static void assertMnMajorTmaAligned(Tensor t, long... shape) {
        int n = shape.length;
        long pitch = (shape[n - 2] + 3) / 4 * 4;
        assertArrayEquals(shape, t.shape());
        assertEquals(1, t.stride(-2));
        assertEquals(pitch, t.stride(-1));
        if (n == 3) {
            assertEquals(pitch * shape[2], t.stride(0));
        }
        long groups = n == 3 ? shape[0] : 1;
        assertTrue(t.storage().byteSize() >= (t.offset() + groups * pitch * shape[n - 1]) * 4,
                "storage covers the padding of the last column");
    }

    @Test
    void tmaAlignedSizeRoundsUpTo16Bytes() {
        assertEquals(8, DeepGemm.getTmaAlignedSize(5, 4));
        assertEquals(8, DeepGemm.getTmaAlignedSize(8, 4));
        assertEquals(0, DeepGemm.getTmaAlignedSize(0, 4));
        assertEquals(32, DeepGemm.getTmaAlignedSize(17, 1));
        assertEquals(8, DeepGemm.getTmaAlignedSize(3, 2));
        assertEquals(4, DeepGemm.getTmaAlignedSize(3, 8));
        assertEquals(1L << 40, DeepGemm.getTmaAlignedSize((1L << 40) - 3, 4));
        for (int bad : new int[] {0, 3, 16, -4}) {
            assertRejected("element_size", "1, 2, 4 or 8", () -> DeepGemm.getTmaAlignedSize(4, bad));
        }
        assertRejected("x", ">= 0", () -> DeepGemm.getTmaAlignedSize(-1, 4));
    }

    @Test
    void mnMajorTmaAlignedCopiesIntoThePaddedLayout() {
        try (Tensor sf = RandomTensors.scales(rng, 5, 3)) {
            Tensor out = DeepGemm.getMnMajorTmaAlignedTensor(sf);
            assertNotSame(sf, out);
            assertMnMajorTmaAligned(out, 5, 3);
            assertArrayEquals(sf.toFloatArray(), out.toFloatArray());
            assertSame(out, DeepGemm.getMnMajorTmaAlignedTensor(out), "already in layout: returned as is");
            out.close();
            assertTrue(out.storage().isClosed(), "the result owns its storage");
            assertFalse(sf.storage().isClosed());
        }
        try (Tensor sf = RandomTensors.scales(rng, 2, 6, 3)) {
            Tensor out = DeepGemm.getMnMajorTmaAlignedTensor(sf);
            assertMnMajorTmaAligned(out, 2, 6, 3);
            assertArrayEquals(sf.toFloatArray(), out.toFloatArray());
            out.close();
        }
        try (Tensor empty = Tensor.zeros(DType.FP32, 0, 3); Tensor out = DeepGemm.getMnMajorTmaAlignedTensor(empty)) {
            assertArrayEquals(new long[] {0, 3}, out.shape());
        }
    }

    @Test
    void mnMajorTmaAlignedReturnsInputOnlyWhenStridesAndStorageFit() {
        // MN = 8: the strided allocation already ends at the padded extent.
        try (Tensor exact = Tensor.zerosStrided(DType.FP32, new long[] {8, 3}, new long[] {1, 8})) {
            assertSame(exact, DeepGemm.getMnMajorTmaAlignedTensor(exact));
        }
        // MN = 5: canonical strides, but the storage stops before the last column's padding.
        try (Tensor shortStorage = Tensor.zerosStrided(DType.FP32, new long[] {5, 3}, new long[] {1, 8})) {
            shortStorage.copyFrom(RandomTensors.scales(rng, 5, 3));
            Tensor out = DeepGemm.getMnMajorTmaAlignedTensor(shortStorage);
            assertNotSame(shortStorage, out);
            assertArrayEquals(shortStorage.toFloatArray(), out.toFloatArray());
            out.close();
        }
        // MN-major but the column pitch is not 16-byte aligned; and a K-major [4, 1] column.
        try (Tensor unaligned = Tensor.zerosStrided(DType.FP32, new long[] {5, 3}, new long[] {1, 5});
                Tensor column = RandomTensors.scales(rng, 4, 1)) {
            Tensor a = DeepGemm.getMnMajorTmaAlignedTensor(unaligned);
            assertMnMajorTmaAligned(a, 5, 3);
            Tensor b = DeepGemm.getMnMajorTmaAlignedTensor(column);
            assertMnMajorTmaAligned(b, 4, 1);
            assertArrayEquals(column.toFloatArray(), b.toFloatArray());
            a.close();
            b.close();
        }
    }

    @Test
    void mnMajorTmaAlignedValidation() {
        assertRejected("sf", "null", () -> DeepGemm.getMnMajorTmaAlignedTensor(null));
        try (Tensor bf = Tensor.zeros(DType.BF16, 4, 2); Tensor line = Tensor.zeros(DType.FP32, 4);
                Tensor four = Tensor.zeros(DType.FP32, 1, 2, 4, 2)) {
            assertRejected("sf", "dtype", () -> DeepGemm.getMnMajorTmaAlignedTensor(bf));
            assertRejected("sf", "[G, MN, SFK]", () -> DeepGemm.getMnMajorTmaAlignedTensor(line));
            assertRejected("sf", "[G, MN, SFK]", () -> DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(four));
        }
    }

    @Test
    void packedUe8m0HoldsFourBlocksPerWordLowestFirst() {
        try (Tensor storage = powersOfTwo(5, 6)) {
            Tensor sf = storage.t(); // [6, 5], already MN-major: the packer must follow strides
            try (Tensor out = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf)) {
                assertEquals(DType.UE8M0_PACKED, out.dtype());
                assertMnMajorTmaAligned(out, 6, 2);
                for (long mn = 0; mn < 6; mn++) {
                    for (long w = 0; w < 2; w++) {
                        int word = out.getInt(mn, w);
                        for (int j = 0; j < 4; j++) {
                            long kb = 4 * w + j;
                            if (kb < 5) {
                                assertEquals(sf.getFloat(mn, kb), Ue8m0.unpack(word, j), mn + "," + kb);
                            } else {
                                assertEquals(0, word >>> (8 * j) & 0xFF, "missing tail block packs as 0");
                            }
                        }
                    }
                }
            }
        }
        try (Tensor sf = powersOfTwo(2, 5, 9); Tensor out = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf)) {
            assertMnMajorTmaAligned(out, 2, 5, 3);
            assertEquals(sf.getFloat(1, 4, 8), Ue8m0.unpack(out.getInt(1, 4, 2), 0));
            assertEquals(sf.getFloat(1, 3, 6), Ue8m0.unpack(out.getInt(1, 3, 1), 2));
        }
    }

    @Test
    void packedUe8m0AcceptsQuantizerScalesAndRejectsOthers() {
        try (Tensor x = RandomTensors.uniform(rng, DType.FP32, 9, 520);
                Fp8Tensor q = DeepGemm.perTokenCastToFp8(x, true);
                Tensor packed = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(q.scales())) {
            assertMnMajorTmaAligned(packed, 9, 2);
            assertEquals(q.scales().getFloat(7, 4), Ue8m0.unpack(packed.getInt(7, 1), 0));
            try (Fp8Tensor plain = DeepGemm.perTokenCastToFp8(x, false)) {
                assertRejected("sf", "ue8m0", () -> DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(plain.scales()));
            }
        }
        for (float bad : new float[] {0f, -0.5f, Float.POSITIVE_INFINITY, Float.NaN, 0x1p-130f}) {
            try (Tensor sf = powersOfTwo(4, 4)) {
                sf.setFloat(bad, 2, 3);
                assertRejected("sf", "power of two", () -> DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf));
            }
        }
    }

    @Test
    void transformSfPerTokenBecomesMnMajorTmaAligned() {
        try (Tensor sfa = RandomTensors.scales(rng, 70, 3)) {
            for (boolean disableUe8m0Cast : new boolean[] {false, true}) {
                Tensor out = DeepGemm.transformSfIntoRequiredLayout(sfa, 70, 300, Recipe.PER_TOKEN_PER_BLOCK, 0, true,
                        disableUe8m0Cast);
                assertMnMajorTmaAligned(out, 70, 3);
                assertArrayEquals(sfa.toFloatArray(), out.toFloatArray());
                assertSame(out, DeepGemm.transformSfIntoRequiredLayout(out, 70, 300, Recipe.PER_TOKEN_PER_BLOCK, 0,
                        true, disableUe8m0Cast));
                out.close();
            }
        }
        try (Tensor sfb = RandomTensors.scales(rng, 3, 50, 2)) {
            Tensor out = DeepGemm.transformSfIntoRequiredLayout(sfb, 50, 256, Recipe.PER_TOKEN_PER_TOKEN, 3, false,
                    false);
            assertMnMajorTmaAligned(out, 3, 50, 2);
            assertArrayEquals(sfb.toFloatArray(), out.toFloatArray());
            out.close();
        }
    }

    @Test
    void transformSfPerBlockIsOnlyChecked() {
        try (Tensor sfb = RandomTensors.scales(rng, 2, 3); Tensor mnMajor = RandomTensors.scales(rng, 3, 2);
                Tensor wide = RandomTensors.scales(rng, 2, 4)) {
            Recipe r = Recipe.PER_TOKEN_PER_BLOCK;
            assertSame(sfb, DeepGemm.transformSfIntoRequiredLayout(sfb, 200, 384, r, 0, false, false));
            Tensor t = mnMajor.t();
            assertSame(t, DeepGemm.transformSfIntoRequiredLayout(t, 256, 257, r, 0, false, false));
            assertRejected("sf", "dense K-major or MN-major",
                    () -> DeepGemm.transformSfIntoRequiredLayout(wide.narrow(1, 0, 3), 200, 384, r, 0, false, false));
            assertRejected("sf", "[ceil(mn/128), ceil(k/128)] = [2, 4]",
                    () -> DeepGemm.transformSfIntoRequiredLayout(sfb, 200, 385, r, 0, false, false));
            assertRejected("sf", "[ceil(mn/128), ceil(k/128)] = [1, 3]",
                    () -> DeepGemm.transformSfIntoRequiredLayout(sfb, 128, 384, r, 0, false, false));
        }
        try (Tensor grouped = RandomTensors.scales(rng, 4, 2, 3)) {
            Recipe r = Recipe.PER_TOKEN_PER_BLOCK;
            assertSame(grouped, DeepGemm.transformSfIntoRequiredLayout(grouped, 256, 300, r, 4, false, false));
            assertRejected("sf", "[num_groups, ceil(mn/128), ceil(k/128)] = [3, 2, 3]",
                    () -> DeepGemm.transformSfIntoRequiredLayout(grouped, 256, 300, r, 3, false, false));
            assertRejected("sf", "shape", () -> DeepGemm.transformSfIntoRequiredLayout(grouped, 256, 300, r, 0, false,
                    false));
            Tensor gapped = grouped.asStrided(new long[] {2, 2, 3}, new long[] {12, 3, 1}, 0);
            assertRejected("sf", "groups packed",
                    () -> DeepGemm.transformSfIntoRequiredLayout(gapped, 256, 300, r, 2, false, false));
        }
    }

    @Test
    void transformSfPackedUe8m0IsOnlyChecked() {
        try (Tensor sf = powersOfTwo(70, 5); Tensor packed = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf);
                Tensor rowMajor = Tensor.zeros(DType.UE8M0_PACKED, 70, 2)) {
            Recipe r = Recipe.PER_TOKEN_PER_TOKEN;
            // k = 600 -> 5 K blocks -> 2 words.
            assertSame(packed, DeepGemm.transformSfIntoRequiredLayout(packed, 70, 600, r, 0, true, false));
            assertSame(packed, DeepGemm.transformSfIntoRequiredLayout(packed, 70, 600, r, 0, false, true));
            assertRejected("sf", "[mn, ceil(ceil(k/128)/4)] = [70, 3]",
                    () -> DeepGemm.transformSfIntoRequiredLayout(packed, 70, 1100, r, 0, true, false));
            assertRejected("sf", "MN-major",
                    () -> DeepGemm.transformSfIntoRequiredLayout(rowMajor, 70, 600, r, 0, true, false));
        }
    }

    @Test
    void transformSfValidation() {
        try (Tensor sf = RandomTensors.scales(rng, 8, 2); Tensor bf = Tensor.zeros(DType.BF16, 8, 2)) {
            Recipe r = Recipe.PER_TOKEN_PER_BLOCK;
            assertRejected("sf", "null", () -> DeepGemm.transformSfIntoRequiredLayout(null, 8, 256, r, 0, true, false));
            assertRejected("sf", "dtype", () -> DeepGemm.transformSfIntoRequiredLayout(bf, 8, 256, r, 0, true, false));
            assertRejected("recipe", "null",
                    () -> DeepGemm.transformSfIntoRequiredLayout(sf, 8, 256, null, 0, true, false));
            assertRejected("mn", ">= 0", () -> DeepGemm.transformSfIntoRequiredLayout(sf, -1, 256, r, 0, true, false));
            assertRejected("k", ">= 0", () -> DeepGemm.transformSfIntoRequiredLayout(sf, 8, -1, r, 0, true, false));
            assertRejected("num_groups", ">= 0",
                    () -> DeepGemm.transformSfIntoRequiredLayout(sf, 8, 256, r, -1, true, false));
            assertRejected("sf", "[mn, ceil(k/128)] = [9, 2]",
                    () -> DeepGemm.transformSfIntoRequiredLayout(sf, 9, 256, r, 0, true, false));
            assertRejected("sf", "[num_groups, mn, ceil(k/128)] = [1, 8, 2]",
                    () -> DeepGemm.transformSfIntoRequiredLayout(sf, 8, 256, r, 1, true, false));
        }
    }
}
