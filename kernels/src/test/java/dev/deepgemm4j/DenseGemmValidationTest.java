package dev.deepgemm4j;

import static dev.deepgemm4j.DenseGemmTestSupport.assertPoisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.assertRejects;
import static dev.deepgemm4j.DenseGemmTestSupport.operand;
import static dev.deepgemm4j.DenseGemmTestSupport.poisoned;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** One test per argument rule of the dense GEMMs; each names the argument and leaves D untouched. */
class DenseGemmValidationTest {

    private final SplittableRandom rng = new SplittableRandom(42);
    /** 1D2D: A [32, 256], B [64, 256] per-block, D BF16 [32, 64]. */
    private final Fp8Tensor a = operand(rng, 32, 256, false);
    private final Fp8Tensor b = operand(rng, 64, 256, true);
    private final Fp8Tensor bPerRow = operand(rng, 64, 256, false);
    private final Tensor d = poisoned(DType.BF16, 32, 64);
    private final Tensor d32 = poisoned(DType.FP32, 32, 64);

    @Test
    void nullOperand() {
        assertRejects("b", () -> DeepGemm.fp8GemmNt(a, null, d));
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, null));
        assertRejects("layout", () -> DeepGemm.fp8Gemm(null, a, b, d, null, null));
    }

    @Test
    void closedTensor() {
        Fp8Tensor closed = operand(rng, 32, 256, false);
        closed.close();
        assertTrue(assertRejects("a", () -> DeepGemm.fp8GemmNt(closed, b, d)).rule().contains("closed"));
    }

    @Test
    void operandDTypeMustBeFp8() {
        Tensor bf16 = RandomTensors.uniform(rng, DType.BF16, 32, 256);
        var e = assertRejects("a", () -> DeepGemm.fp8GemmNt(new Fp8Tensor(bf16, a.scales()), b, d));
        assertTrue(e.rule().contains("FP8_E4M3") && e.rule().contains("BF16"), e.rule());
    }

    @Test
    void scaleDTypeMustBeFp32OrPacked() {
        Tensor intScales = Tensor.zeros(DType.INT32, 32, 2);
        assertRejects("sfa", () -> DeepGemm.fp8GemmNt(new Fp8Tensor(a.data(), intScales), b, d));
    }

    @Test
    void fp32AndPackedScalesCannotMix() {
        Tensor packed = Tensor.zeros(DType.UE8M0_PACKED, 64, 1);
        assertRejects("sfb", () -> DeepGemm.fp8GemmNt(a, new Fp8Tensor(b.data(), packed), d32, d32));
    }

    @Test
    void outputDTypeMustBeBf16OrFp32() {
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, Tensor.zeros(DType.INT32, 32, 64)));
    }

    @Test
    void outputElementsMustNotOverlap() {
        Tensor oneRow = poisoned(DType.BF16, 1, 64);
        Tensor everyRowTheSame = oneRow.asStrided(new long[] {32, 64}, new long[] {0, 1}, 0);
        var e = assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, everyRowTheSame));
        assertTrue(e.rule().contains("overlap") && e.rule().contains("[0, 1]"), e.rule());
        // Rows 8 elements (16 bytes) apart: TMA-legal pitch, but each row runs into the next.
        Tensor storage = poisoned(DType.BF16, 32 * 8 + 64);
        Tensor interleaved = storage.asStrided(new long[] {32, 64}, new long[] {8, 1}, 0);
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, interleaved));
        assertPoisoned(storage);
    }

    @Test
    void operandMustBeTwoDimensional() {
        Tensor flat = RandomTensors.fp8(rng, 32 * 256);
        assertRejects("a", () -> DeepGemm.fp8GemmNt(new Fp8Tensor(flat, a.scales()), b, d));
    }

    @Test
    void kMustAgree() {
        Fp8Tensor shortK = operand(rng, 64, 128, true);
        var e = assertRejects("b", () -> DeepGemm.fp8GemmNt(a, shortK, d));
        assertTrue(e.rule().contains("256"), e.rule());
    }

    @Test
    void outputShapeMustBeMByN() {
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, poisoned(DType.BF16, 32, 72)));
    }

    @Test
    void sfaShapeMustBeMByKBlocks() {
        Tensor wrong = RandomTensors.scales(rng, 32, 3);
        var e = assertRejects("sfa", () -> DeepGemm.fp8GemmNt(new Fp8Tensor(a.data(), wrong), b, d));
        assertTrue(e.getMessage().equals("sfa: shape must be [M, ceil(K/128)] = [32, 2], got [32, 3]"),
                e.getMessage());
        assertPoisoned(d);
    }

    @Test
    void transposedSfaShapeIsReportedAsPassed() {
        Fp8Tensor aKByM = new Fp8Tensor(a.data().t().contiguousCopy(), a.scales());
        var e = assertRejects("sfa", () -> DeepGemm.fp8GemmTn(aKByM, b, d));
        assertTrue(e.rule().contains("[ceil(K/128), M] = [2, 32]"), e.rule());
    }

    @Test
    void sfbShapeMustMatchTheRecipe() {
        assertRejects("sfb", () -> DeepGemm.fp8GemmNt(a, bPerRow, d, null, Recipe.PER_TOKEN_PER_BLOCK));
        Tensor neither = RandomTensors.scales(rng, 3, 2);
        var e = assertRejects("sfb", () -> DeepGemm.fp8GemmNt(a, new Fp8Tensor(b.data(), neither), d));
        assertTrue(e.rule().contains("[ceil(N/128), ceil(K/128)] = [1, 2]"), e.rule());
    }

    @Test
    void packedScalesNeedThePerTokenRecipe() {
        Fp8Tensor ap = new Fp8Tensor(a.data(), Tensor.zeros(DType.UE8M0_PACKED, 32, 1));
        Fp8Tensor bp = new Fp8Tensor(b.data(), Tensor.zeros(DType.UE8M0_PACKED, 64, 1));
        assertRejects("recipe", () -> DeepGemm.fp8GemmNt(ap, bp, d, null, Recipe.PER_TOKEN_PER_BLOCK));
    }

    @Test
    void operandMustBeKOrMnMajor() {
        Tensor wide = RandomTensors.fp8(rng, 64, 512);
        Tensor everyOther = wide.asStrided(new long[] {64, 256}, new long[] {512, 2}, 0);
        var e = assertRejects("b", () -> DeepGemm.fp8GemmNt(a, new Fp8Tensor(everyOther, b.scales()), d));
        assertTrue(e.rule().contains("K-major"), e.rule());
    }

    @Test
    void operandRowPitchMustBeMultipleOf16Bytes() {
        Tensor padded = RandomTensors.fp8(rng, 32, 264).narrow(1, 0, 256);
        var e = assertRejects("a", () -> DeepGemm.fp8GemmNt(new Fp8Tensor(padded, a.scales()), b, d));
        assertTrue(e.rule().contains("row pitch must be a multiple of 16 bytes") && e.rule().contains("264"),
                e.rule());
    }

    @Test
    void mnMajorOperandPitchMustBeMultipleOf16Bytes() {
        // TN with A given as a contiguous [K, 33]: the normalised A is MN-major with a 33-byte K stride.
        Fp8Tensor aT = new Fp8Tensor(RandomTensors.fp8(rng, 256, 33), RandomTensors.scales(rng, 2, 33));
        var e = assertRejects("a", () -> DeepGemm.fp8GemmTn(aT, b, poisoned(DType.BF16, 33, 64)));
        assertTrue(e.rule().contains("MN-major"), e.rule());
    }

    @Test
    void bf16OutputNeedsNMultipleOf8() {
        Fp8Tensor b12 = operand(rng, 12, 256, true);
        var e = assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b12, poisoned(DType.BF16, 32, 12)));
        assertTrue(e.rule().contains("N = 12 must be a multiple of 8"), e.rule());
    }

    @Test
    void outputMustBeRowMajor() {
        Tensor columnMajor = poisoned(DType.BF16, 64, 32).t();
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, columnMajor));
    }

    @Test
    void perBlockRecipeTakesNoC() {
        Tensor c = RandomTensors.uniform(rng, DType.BF16, 32, 64);
        assertRejects("c", () -> DeepGemm.fp8GemmNt(a, b, d, c));
        assertPoisoned(d);
    }

    @Test
    void perBlockRecipeNeedsBf16Output() {
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, b, d32, null, Recipe.PER_TOKEN_PER_BLOCK));
    }

    @Test
    void perTokenRecipeNeedsC() {
        var e = assertRejects("c", () -> DeepGemm.fp8GemmNt(a, bPerRow, d32));
        assertTrue(e.rule().contains("required"), e.rule());
    }

    @Test
    void perTokenRecipeNeedsFp32Output() {
        assertRejects("d", () -> DeepGemm.fp8GemmNt(a, bPerRow, d, d));
    }

    @Test
    void cMustMatchD() {
        assertRejects("c", () -> DeepGemm.fp8GemmNt(a, bPerRow, d32, poisoned(DType.FP32, 32, 72)));
        assertRejects("c", () -> DeepGemm.fp8GemmNt(a, bPerRow, d32, poisoned(DType.BF16, 32, 64)));
    }

    @Test
    void cMustBeDOrDisjointFromIt() {
        Tensor storage = poisoned(DType.FP32, 33, 64);
        Tensor out = storage.narrow(0, 0, 32);
        Tensor shifted = storage.narrow(0, 1, 32);
        assertRejects("c", () -> DeepGemm.fp8GemmNt(a, bPerRow, out, shifted));
        assertPoisoned(storage);
    }

    @Test
    void outputMustNotOverlapAnInput() {
        // sfa and d in one FP32 buffer.
        Tensor storage = poisoned(DType.FP32, 40, 64);
        Tensor sfa = storage.narrow(0, 0, 1).view(32, 2);
        Tensor out = storage.narrow(0, 0, 32);
        var e = assertRejects("d", () -> DeepGemm.fp8GemmNt(new Fp8Tensor(a.data(), sfa), bPerRow, out, out));
        assertTrue(e.rule().contains("sfa"), e.rule());
    }

    @Test
    void tensorsMustShareALocation() {
        Tensor onDevice = FakeDeviceTensors.onDevice(DType.FP8_E4M3, 64, 256);
        var e = assertRejects("b", () -> DeepGemm.fp8GemmNt(a, new Fp8Tensor(onDevice, b.scales()), d));
        assertTrue(e.rule().contains("cuda:0"), e.rule());
        assertPoisoned(d);
    }

    @Test
    void emptyProblemsAreStillValidated() {
        Fp8Tensor noRows = operand(rng, 0, 256, false);
        assertRejects("d", () -> DeepGemm.fp8GemmNt(noRows, b, Tensor.zeros(DType.FP32, 0, 64)));
    }
}
