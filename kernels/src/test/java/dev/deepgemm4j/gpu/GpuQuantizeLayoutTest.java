package dev.deepgemm4j.gpu;

import static dev.deepgemm4j.gpu.GpuTestSupport.assertSameStorage;
import static dev.deepgemm4j.gpu.GpuTestSupport.toGpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The quantisers and scale-layout utilities on the GPU: they are deterministic elementwise maps, so the GPU must
 * produce the CPU reference's bytes exactly (FP8 codes, FP32 scale bits, UE8M0 words, padding).
 */
@Tag("gpu")
class GpuQuantizeLayoutTest {

    @BeforeAll
    static void gpu() {
        GpuTestSupport.assumeGpu();
    }

    @ParameterizedTest(name = "{0} {1} rows={2} cols={3} ue8m0={4} transposedInput={5}")
    @CsvSource({"token,FP32,257,300,false,false", "token,BF16,7,2112,true,false", "block,FP32,130,257,false,false",
        "block,BF16,256,384,true,true", "channel,FP32,384,136,false,false", "channel,BF16,129,7,true,true",
        "token,FP32,1,128,true,true"})
    void castMatchesCpuBytes(String granularity, DType dtype, int rows, int cols, boolean ue8m0,
            boolean transposedInput) {
        SplittableRandom rng = new SplittableRandom(rows * 31L + cols + (ue8m0 ? 1 : 0));
        Tensor x = transposedInput ? RandomTensors.uniform(rng, dtype, cols, rows).t()
                : RandomTensors.uniform(rng, dtype, rows, cols);
        // Some outliers so that blocks get different scales, and exact zeros and a huge value to saturate.
        x.setFloat(300f, 0, 0);
        x.setFloat(0f, rows - 1, cols - 1);
        BiFunction<Tensor, Boolean, Fp8Tensor> cast = switch (granularity) {
            case "token" -> DeepGemm::perTokenCastToFp8;
            case "block" -> DeepGemm::perBlockCastToFp8;
            default -> DeepGemm::perChannelCastToFp8;
        };
        Fp8Tensor cpu = cast.apply(x, ue8m0);
        Fp8Tensor gpu = cast.apply(toGpu(x), ue8m0);
        assertSameStorage(cpu.data(), gpu.data());
        assertSameStorage(cpu.scales(), gpu.scales());
    }

    /** MN-major TMA-aligned copies of K-major scales (2-D and grouped 3-D): the strided copy kernel. */
    @ParameterizedTest(name = "groups={0}")
    @ValueSource(ints = {0, 3})
    void mnMajorTmaAligned(int groups) {
        SplittableRandom rng = new SplittableRandom(groups + 40);
        Tensor sf = groups == 0 ? RandomTensors.scales(rng, 129, 7) : RandomTensors.scales(rng, groups, 65, 5);
        Tensor cpu = DeepGemm.getMnMajorTmaAlignedTensor(sf);
        Tensor gpu = DeepGemm.getMnMajorTmaAlignedTensor(toGpu(sf));
        assertSameStorage(cpu, gpu);
    }

    /** UE8M0 packing of power-of-two scales, K blocks not a multiple of 4 (zero tail bytes). */
    @ParameterizedTest(name = "groups={0}")
    @ValueSource(ints = {0, 2})
    void packedUe8m0(int groups) {
        SplittableRandom rng = new SplittableRandom(groups + 50);
        Tensor x = groups == 0 ? RandomTensors.uniform(rng, DType.FP32, 129, 7 * 128)
                : RandomTensors.uniform(rng, DType.FP32, groups * 33L, 5 * 128);
        Tensor sf = DeepGemm.perTokenCastToFp8(x, true).scales();
        if (groups > 0) {
            sf = sf.view(groups, 33, 5);
        }
        Tensor cpu = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf);
        Tensor gpu = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(toGpu(sf));
        assertSameStorage(cpu, gpu);
    }

    /** The per-GEMM transform of per-token scales on the device: a transposing copy into the TMA-aligned layout. */
    @Test
    void transformSfForGemm() {
        SplittableRandom rng = new SplittableRandom(60);
        Tensor sf = RandomTensors.scales(rng, 4, 100, 3);
        Tensor cpu = DeepGemm.transformSfIntoRequiredLayout(sf, 100, 384, Recipe.PER_TOKEN_PER_BLOCK, 4, true,
                false);
        Tensor gpu = DeepGemm.transformSfIntoRequiredLayout(toGpu(sf), 100, 384, Recipe.PER_TOKEN_PER_BLOCK, 4, true,
                false);
        assertSameStorage(cpu, gpu);
    }
}
