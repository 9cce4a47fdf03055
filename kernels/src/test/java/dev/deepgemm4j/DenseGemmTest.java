package dev.deepgemm4j;

import static dev.deepgemm4j.DenseGemmTestSupport.assertClose;
import static dev.deepgemm4j.DenseGemmTestSupport.assertPoisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.assertSameBits;
import static dev.deepgemm4j.DenseGemmTestSupport.assertStoragePoisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.ceilDiv;
import static dev.deepgemm4j.DenseGemmTestSupport.operand;
import static dev.deepgemm4j.DenseGemmTestSupport.poisoned;
import static dev.deepgemm4j.DenseGemmTestSupport.reference;
import static dev.deepgemm4j.DenseGemmTestSupport.withPitch;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Dense FP8 GEMM results on the CPU backend against a float64 reference of the quantised inputs. */
class DenseGemmTest {

    /** How C is passed. */
    enum Accumulator { NONE, SEPARATE, IS_D }

    static Stream<Arguments> shapes() {
        long[][] nk = {{136, 128}, {200, 384}, {136, 320}};
        int[] ms = {1, 7, 65, 127, 256};
        List<Arguments> cases = new ArrayList<>();
        int i = 0;
        for (GemmLayout layout : GemmLayout.values()) {
            for (boolean perBlock : new boolean[] {true, false}) {
                for (int m : ms) {
                    long[] s = nk[i % nk.length];
                    Accumulator acc = perBlock ? Accumulator.NONE
                            : i % 2 == 0 ? Accumulator.SEPARATE : Accumulator.IS_D;
                    cases.add(Arguments.of(layout, perBlock, m, s[0], s[1], acc));
                    i++;
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} perBlockB={1} M={2} N={3} K={4} c={5}")
    @MethodSource("shapes")
    void matchesFloat64Reference(GemmLayout layout, boolean perBlock, int m, long n, long k, Accumulator acc) {
        SplittableRandom rng = new SplittableRandom(31L * m + n + k + layout.ordinal());
        Fp8Tensor a = operand(rng, m, k, false);
        Fp8Tensor b = operand(rng, n, k, perBlock);
        Tensor c = perBlock ? null : RandomTensors.uniform(rng, DType.FP32, m, n);
        double[] expected = reference(a, b, perBlock, c);

        Tensor d;
        Tensor cArg = null;
        if (perBlock) {
            d = poisoned(DType.BF16, m, n);
        } else if (acc == Accumulator.SEPARATE) {
            d = poisoned(DType.FP32, m, n);
            cArg = c;
        } else {
            d = c.contiguousCopy();
            cArg = d;
        }
        DeepGemm.fp8Gemm(layout, given(a, layout.aTransposed()), given(b, layout.bGivenAsKByN()), d, cArg, null);
        assertClose(expected, d);
    }

    /**
     * The operand as a caller passes it for a transposed layout: data [K, MN] in MN-major storage whose rows are
     * padded to 16 bytes, scales as a transposed view.
     */
    static Fp8Tensor given(Fp8Tensor nt, boolean transposed) {
        if (!transposed) {
            return nt;
        }
        Tensor data = withPitch(nt.data().t(), ceilDiv(nt.data().size(0), 16) * 16);
        return new Fp8Tensor(data, nt.scales().t());
    }

    @Test
    void explicitRecipeAndStridedViews() {
        SplittableRandom rng = new SplittableRandom(7);
        Fp8Tensor a = operand(rng, 48, 256, false);
        Fp8Tensor b = operand(rng, 64, 256, true);
        double[] expected = reference(a, b, true, null);
        // A rows padded to 272 bytes; scales MN-major with a padded MN stride, as the kernels want them.
        Tensor sfaMnMajor = Tensor.zerosStrided(DType.FP32, new long[] {48, 2}, new long[] {1, 52});
        sfaMnMajor.copyFrom(a.scales());
        Fp8Tensor aPadded = new Fp8Tensor(withPitch(a.data(), 272), sfaMnMajor);
        Tensor storage = poisoned(DType.BF16, 48, 72);
        Tensor d = storage.narrow(1, 0, 64);
        DeepGemm.fp8GemmNt(aPadded, b, d, null, Recipe.PER_TOKEN_PER_BLOCK);
        assertClose(expected, d);
        assertPoisoned(storage.narrow(1, 64, 8));
    }

    @Test
    void perBlockAndPerTokenShapesCoincideSoDTypeDecides() {
        // N = 1: sfb [1, ceil(K/128)] is both per-block and per-row.
        SplittableRandom rng = new SplittableRandom(8);
        Fp8Tensor a = operand(rng, 16, 256, false);
        Fp8Tensor b = operand(rng, 1, 256, true);
        // D rows padded to 16 bytes: a contiguous [16, 1] output breaks the TMA row-pitch rule.
        Tensor bf16 = Tensor.zerosStrided(DType.BF16, new long[] {16, 1}, new long[] {8, 1});
        bf16.fillBytes(DenseGemmTestSupport.POISON);
        DeepGemm.fp8GemmNt(a, b, bf16);
        assertClose(reference(a, b, true, null), bf16);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, 16, 1);
        Tensor fp32 = Tensor.zerosStrided(DType.FP32, new long[] {16, 1}, new long[] {4, 1});
        fp32.fillBytes(DenseGemmTestSupport.POISON);
        DeepGemm.fp8GemmNt(a, b, fp32, c);
        assertClose(reference(a, b, false, c), fp32);
    }

    @ParameterizedTest
    @EnumSource(GemmLayout.class)
    void packedUe8m0Scales(GemmLayout layout) {
        SplittableRandom rng = new SplittableRandom(9 + layout.ordinal());
        int m = 33;
        int n = 48;
        int k = 640; // five K blocks: the second word of each row holds one block and three zero bytes
        Fp8Tensor a = powerOfTwoScales(operand(rng, m, k, false), rng);
        Fp8Tensor b = powerOfTwoScales(operand(rng, n, k, false), rng);
        Fp8Tensor aPacked = given(new Fp8Tensor(a.data(), pack(a.scales())), layout.aTransposed());
        Fp8Tensor bPacked = given(new Fp8Tensor(b.data(), pack(b.scales())), layout.bGivenAsKByN());

        Tensor c = RandomTensors.uniform(rng, DType.FP32, m, n);
        Tensor fp32 = poisoned(DType.FP32, m, n);
        DeepGemm.fp8Gemm(layout, aPacked, bPacked, fp32, c, null);
        assertClose(reference(a, b, false, c), fp32);

        Tensor bf16 = poisoned(DType.BF16, m, n);
        DeepGemm.fp8Gemm(layout, aPacked, bPacked, bf16, null, null);
        assertClose(reference(a, b, false, null), bf16);
    }

    private static Fp8Tensor powerOfTwoScales(Fp8Tensor x, SplittableRandom rng) {
        Tensor sf = x.scales();
        sf.forEachOffset(off -> Tensor.writeFloat(sf.hostSegment(), DType.FP32, off, Math.scalb(1f, -12 + rng.nextInt(8))));
        return x;
    }

    /** FP32 powers of two [MN, SFK] packed to [MN, ceil(SFK/4)] words, block 4p+j in byte j of word p. */
    private static Tensor pack(Tensor sf) {
        long rows = sf.size(0);
        long blocks = sf.size(1);
        Tensor packed = Tensor.zeros(DType.UE8M0_PACKED, rows, ceilDiv(blocks, 4));
        for (long r = 0; r < rows; r++) {
            for (long kb = 0; kb < blocks; kb++) {
                int word = packed.getInt(r, kb / 4) | Ue8m0.encode(sf.getFloat(r, kb)) << (8 * (kb % 4));
                packed.setInt(word, r, kb / 4);
            }
        }
        return packed;
    }

    @Test
    void emptyMOrNTouchesNothing() {
        SplittableRandom rng = new SplittableRandom(10);
        Tensor storage = poisoned(DType.FP32, 8, 64);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, 8, 64);
        DeepGemm.fp8GemmNt(operand(rng, 0, 128, false), operand(rng, 64, 128, false), storage.narrow(0, 0, 0),
                c.narrow(0, 0, 0));
        DeepGemm.fp8GemmNt(operand(rng, 8, 128, false), operand(rng, 0, 128, false), storage.narrow(1, 0, 0),
                c.narrow(1, 0, 0));
        assertStoragePoisoned(storage);
    }

    @Test
    void emptyKGivesCOrZeros() {
        SplittableRandom rng = new SplittableRandom(11);
        Fp8Tensor a = operand(rng, 16, 0, false);
        Fp8Tensor b = operand(rng, 24, 0, true);
        Tensor bf16 = poisoned(DType.BF16, 16, 24);
        DeepGemm.fp8GemmNt(a, b, bf16);
        for (float v : bf16.toFloatArray()) {
            assertEquals(0f, v);
        }

        Fp8Tensor bRows = operand(rng, 24, 0, false);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, 16, 24);
        Tensor d = poisoned(DType.FP32, 16, 24);
        DeepGemm.fp8GemmNt(a, bRows, d, c);
        assertSameBits(c, d);

        Tensor inPlace = c.contiguousCopy();
        DeepGemm.fp8GemmNt(a, bRows, inPlace, inPlace);
        assertSameBits(c, inPlace);
    }

    @Test
    void separateCIsNotModified() {
        SplittableRandom rng = new SplittableRandom(12);
        Fp8Tensor a = operand(rng, 20, 256, false);
        Fp8Tensor b = operand(rng, 40, 256, false);
        Tensor c = RandomTensors.uniform(rng, DType.FP32, 20, 40);
        Tensor cBefore = c.contiguousCopy();
        Tensor d = poisoned(DType.FP32, 20, 40);
        DeepGemm.fp8GemmNt(a, b, d, c);
        assertSameBits(cBefore, c);
        assertClose(reference(a, b, false, c), d);
    }
}
