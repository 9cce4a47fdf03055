package dev.deepgemm4j;

import static dev.deepgemm4j.DenseGemmTestSupport.assertPoisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.assertRejects;
import static dev.deepgemm4j.DenseGemmTestSupport.operand;
import static dev.deepgemm4j.DenseGemmTestSupport.poisoned;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** One test per argument rule of the grouped GEMMs; each names the argument and leaves D untouched. */
class GroupedGemmValidationTest {

    private final SplittableRandom rng = new SplittableRandom(43);

    // Contiguous: M_total = 256 (two aligned blocks), K = 128, N = 16, G = 2.
    private final Fp8Tensor a = operand(rng, 256, 128, false);
    private final Fp8Tensor b = new Fp8Tensor(RandomTensors.fp8(rng, 2, 16, 128), RandomTensors.scales(rng, 2, 1, 1));
    private final Tensor d = poisoned(DType.BF16, 256, 16);

    private static Tensor indices(int... blockExperts) {
        int[] rows = new int[128 * blockExperts.length];
        for (int i = 0; i < blockExperts.length; i++) {
            Arrays.fill(rows, 128 * i, 128 * i + 128, blockExperts[i]);
        }
        return Tensor.ofInts(rows, rows.length);
    }

    @Test
    void expertIndexOutOfRange() {
        var e = assertRejects("m_indices", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, indices(0, 2)));
        assertTrue(e.rule().contains("entry 128 = 2") && e.rule().contains("[0, 2)"), e.rule());
        assertPoisoned(d);
    }

    @Test
    void expertMustStartAtAnAlignedRow() {
        Tensor layout = indices(0, 1);
        for (int r = 128; r < 138; r++) {
            layout.setInt(-1, r);
        }
        var e = assertRejects("m_indices", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout));
        assertTrue(e.rule().contains("row 138") && e.rule().contains("multiple of 128"), e.rule());
    }

    @Test
    void alignedBlockHoldsOneExpert() {
        Tensor layout = indices(0, 1);
        layout.setInt(1, 100);
        assertRejects("m_indices", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout));
    }

    @Test
    void indexLayoutLengthIsMTotal() {
        assertRejects("m_indices", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, indices(0)));
    }

    @Test
    void indexLayoutMustBeInt32() {
        Tensor floats = Tensor.zeros(DType.FP32, 256);
        assertRejects("m_indices", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, floats));
    }

    @Test
    void mTotalMustBeAMultipleOfTheAlignment() {
        Fp8Tensor a200 = operand(rng, 200, 128, false);
        Tensor layout = Tensor.ofInts(new int[200], 200);
        assertRejects("a", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a200, b, poisoned(DType.BF16, 200, 16),
                layout));
    }

    @Test
    void contiguousOutputMustBeBf16() {
        assertRejects("d", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, poisoned(DType.FP32, 256, 16),
                indices(0, 1)));
    }

    @Test
    void contiguousSfbShape() {
        Fp8Tensor wrong = new Fp8Tensor(b.data(), RandomTensors.scales(rng, 2, 16, 1));
        var e = assertRejects("sfb", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, wrong, d, indices(0, 1)));
        assertTrue(e.rule().contains("[G, ceil(N/128), ceil(K/128)] = [2, 1, 1]"), e.rule());
    }

    @Test
    void groupedScalesMustBeFp32() {
        Fp8Tensor packed = new Fp8Tensor(a.data(), Tensor.zeros(DType.UE8M0_PACKED, 256, 1));
        assertRejects("sfa", () -> DeepGemm.mGroupedFp8GemmNtContiguous(packed, b, d, indices(0, 1)));
    }

    @Test
    void psumEndsMustNotDecrease() {
        Tensor ends = Tensor.ofInts(new int[] {200, 150}, 2);
        var e = assertRejects("grouped_layout", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, ends, true));
        assertTrue(e.rule().contains("non-decreasing"), e.rule());
    }

    @Test
    void psumExpertMustEndAfterItsAlignedStart() {
        Tensor ends = Tensor.ofInts(new int[] {100, 120}, 2);
        var e = assertRejects("grouped_layout", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, ends, true));
        assertTrue(e.rule().contains("align(100, 128) = 128"), e.rule());
    }

    @Test
    void psumEndsWithinMTotal() {
        Tensor ends = Tensor.ofInts(new int[] {100, 300}, 2);
        assertRejects("grouped_layout", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, ends, true));
    }

    @Test
    void psumLayoutLengthIsG() {
        Tensor ends = Tensor.ofInts(new int[] {100}, 1);
        assertRejects("grouped_layout", () -> DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, ends, true));
    }

    // Masked: G = 2, M_max = 16, K = 128, N = 16.
    private final Fp8Tensor am = new Fp8Tensor(RandomTensors.fp8(rng, 2, 16, 128), RandomTensors.scales(rng, 2, 16, 1));
    private final Tensor dm = poisoned(DType.BF16, 2, 16, 16);

    @Test
    void maskedMAboveMMax() {
        Tensor maskedM = Tensor.ofInts(new int[] {3, 17}, 2);
        var e = assertRejects("masked_m", () -> DeepGemm.mGroupedFp8GemmNtMasked(am, b, dm, maskedM, 8));
        assertTrue(e.rule().contains("entry 1 = 17") && e.rule().contains("M_max = 16"), e.rule());
        assertPoisoned(dm);
    }

    @Test
    void maskedMNegative() {
        assertRejects("masked_m", () -> DeepGemm.mGroupedFp8GemmNtMasked(am, b, dm, Tensor.ofInts(new int[] {-1, 0},
                2), 8));
    }

    @Test
    void maskedMLengthIsG() {
        assertRejects("masked_m", () -> DeepGemm.mGroupedFp8GemmNtMasked(am, b, dm, Tensor.ofInts(new int[] {1}, 1),
                8));
    }

    @Test
    void expectedMMustBePositive() {
        assertRejects("expected_m", () -> DeepGemm.mGroupedFp8GemmNtMasked(am, b, dm,
                Tensor.ofInts(new int[] {1, 1}, 2), 0));
    }

    @Test
    void maskedOutputGroupsMustNotOverlap() {
        Tensor oneGroup = poisoned(DType.BF16, 1, 16, 16);
        Tensor sharedGroups = oneGroup.asStrided(new long[] {2, 16, 16}, new long[] {0, 16, 1}, 0);
        assertRejects("d", () -> DeepGemm.mGroupedFp8GemmNtMasked(am, b, sharedGroups,
                Tensor.ofInts(new int[] {1, 1}, 2), 8));
        assertPoisoned(oneGroup);
    }

    @Test
    void maskedOperandsMustBeKMajor() {
        Fp8Tensor mnMajor = new Fp8Tensor(RandomTensors.fp8(rng, 2, 128, 16).transpose(1, 2), am.scales());
        assertRejects("a", () -> DeepGemm.mGroupedFp8GemmNtMasked(mnMajor, b, dm, Tensor.ofInts(new int[] {1, 1}, 2),
                8));
    }

    @Test
    void maskedGroupCountsAgree() {
        Fp8Tensor threeGroups = new Fp8Tensor(RandomTensors.fp8(rng, 3, 16, 128), RandomTensors.scales(rng, 3, 1, 1));
        assertRejects("b", () -> DeepGemm.mGroupedFp8GemmNtMasked(am, threeGroups, dm,
                Tensor.ofInts(new int[] {1, 1}, 2), 8));
    }

    // K-grouped NT: ks = {128, 256}, M = 16, N = 32.
    private final int[] ks = {128, 256};
    private final Fp8Tensor ak = new Fp8Tensor(RandomTensors.fp8(rng, 384 * 16), RandomTensors.scales(rng, 16, 3));
    private final Fp8Tensor bk = new Fp8Tensor(RandomTensors.fp8(rng, 384 * 32), RandomTensors.scales(rng, 32, 3));
    private final Tensor dk = poisoned(DType.FP32, 2, 16, 32);
    private final Tensor ck = RandomTensors.uniform(rng, DType.FP32, 2, 16, 32);

    @Test
    void ksMustBeMultiplesOf128() {
        var e = assertRejects("ks", () -> DeepGemm.kGroupedFp8GemmNtContiguous(ak, bk, dk, new int[] {192, 192}, null,
                ck));
        assertTrue(e.rule().contains("entry 0 = 192"), e.rule());
        assertPoisoned(dk);
    }

    @Test
    void ksMustBeGiven() {
        assertRejects("ks", () -> DeepGemm.kGroupedFp8GemmNtContiguous(ak, bk, dk, null, null, ck));
    }

    @Test
    void kGroupedNeedsC() {
        assertRejects("c", () -> DeepGemm.kGroupedFp8GemmNtContiguous(ak, bk, dk, ks, null, null));
    }

    @Test
    void ksTensorMustEqualKs() {
        Tensor ksTensor = Tensor.ofInts(new int[] {256, 128}, 2);
        assertRejects("grouped_layout", () -> DeepGemm.kGroupedFp8GemmNtContiguous(ak, bk, dk, ks, ksTensor, ck));
    }

    @Test
    void flatOperandHoldsSumKTimesM() {
        Fp8Tensor shortA = new Fp8Tensor(RandomTensors.fp8(rng, 384 * 16 - 128), ak.scales());
        var e = assertRejects("a", () -> DeepGemm.kGroupedFp8GemmNtContiguous(shortA, bk, dk, ks, null, ck));
        assertTrue(e.rule().contains("384 * 16"), e.rule());
    }

    @Test
    void kGroupedScaleShape() {
        Fp8Tensor wrong = new Fp8Tensor(ak.data(), RandomTensors.scales(rng, 16, 4));
        assertRejects("sfa", () -> DeepGemm.kGroupedFp8GemmNtContiguous(wrong, bk, dk, ks, null, ck));
    }

    @Test
    void kGroupedOutputGroupsMatchKs() {
        assertRejects("d", () -> DeepGemm.kGroupedFp8GemmNtContiguous(ak, bk, poisoned(DType.FP32, 3, 16, 32), ks,
                null, ck));
    }

    @Test
    void kGroupedOutputMustBeContiguous() {
        Tensor strided = poisoned(DType.FP32, 2, 16, 40).narrow(2, 0, 32);
        assertRejects("d", () -> DeepGemm.kGroupedFp8GemmNtContiguous(ak, bk, strided, ks, null, ck));
    }

    @Test
    void kGroupedTnOperandShape() {
        Fp8Tensor aTn = new Fp8Tensor(RandomTensors.fp8(rng, 384, 24), RandomTensors.scales(rng, 3, 16));
        Fp8Tensor bTn = new Fp8Tensor(RandomTensors.fp8(rng, 384, 32), RandomTensors.scales(rng, 3, 32));
        var e = assertRejects("a", () -> DeepGemm.kGroupedFp8GemmTnContiguous(aTn, bTn, dk, ks, null, ck));
        assertTrue(e.rule().contains("[sum(ks), M] = [384, 16]"), e.rule());
    }
}
