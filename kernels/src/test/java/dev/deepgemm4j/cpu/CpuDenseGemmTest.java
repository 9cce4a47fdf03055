package dev.deepgemm4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The CPU core's blocking must not change results: chunked runs and arbitrarily strided operands give bit-identical
 * output to one unchunked run over contiguous copies (each output element is summed in the same order either way).
 * Accuracy against float64 is covered by the API tests.
 */
class CpuDenseGemmTest {

    private final SplittableRandom rng = new SplittableRandom(77);

    @Test
    void chunkedRunMatchesUnchunkedBitForBit() {
        int m = 150;
        int n = 300;
        int k = 320;
        Fp8Tensor a = new Fp8Tensor(RandomTensors.fp8(rng, m, k), RandomTensors.scales(rng, m, 3));
        Fp8Tensor b = new Fp8Tensor(RandomTensors.fp8(rng, n, k), RandomTensors.scales(rng, n, 3));
        Tensor c = RandomTensors.uniform(rng, DType.FP32, m, n);
        Tensor whole = c.contiguousCopy();
        Tensor chunked = c.contiguousCopy();
        CpuDenseGemm.gemm(a, b, whole, Recipe.PER_TOKEN_PER_TOKEN, true);
        // 40·320 floats per chunk: A in chunks of 32 rows, B in chunks of 128 columns, several of each.
        CpuDenseGemm.gemm(a, b, chunked, Recipe.PER_TOKEN_PER_TOKEN, true, 40 * 320);
        assertArrayEquals(whole.toFloatArray(), chunked.toFloatArray());
    }

    @Test
    void anyStridesMatchContiguousCopies() {
        int m = 37;
        int n = 130;
        int k = 200;
        // A with K stride 3 (neither K- nor MN-major), B MN-major, per-block sfb transposed, D with padded rows.
        Tensor aWide = RandomTensors.fp8(rng, m, 3 * k);
        Tensor aStrided = aWide.asStrided(new long[] {m, k}, new long[] {3L * k, 3}, 1);
        Tensor bMnMajor = RandomTensors.fp8(rng, k, n).t();
        Tensor sfa = RandomTensors.scales(rng, m, 2);
        Tensor sfbT = RandomTensors.scales(rng, 2, 2).t();
        Tensor dPadded = Tensor.zerosStrided(DType.BF16, new long[] {m, n}, new long[] {136, 1});

        Fp8Tensor aContig = new Fp8Tensor(aStrided.contiguousCopy(), sfa.contiguousCopy());
        Fp8Tensor bContig = new Fp8Tensor(bMnMajor.contiguousCopy(), sfbT.contiguousCopy());
        Tensor dContig = Tensor.zeros(DType.BF16, m, n);

        CpuDenseGemm.gemm(new Fp8Tensor(aStrided, sfa), new Fp8Tensor(bMnMajor, sfbT), dPadded,
                Recipe.PER_TOKEN_PER_BLOCK, false);
        CpuDenseGemm.gemm(aContig, bContig, dContig, Recipe.PER_TOKEN_PER_BLOCK, false);
        assertArrayEquals(dContig.toFloatArray(), dPadded.toFloatArray());
    }
}
