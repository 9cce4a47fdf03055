package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Ue8m0;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds the kernels' number codecs ({@code common.cuh}, all {@code __host__ __device__}) into a host program with
 * nvcc and checks them against the Java codecs: FP8 decode of all 256 codes, and FP8 encode, BF16 encode and UE8M0
 * rounding of every FP8 value, every midpoint between neighbouring FP8 values and its neighbours, BF16 ties, special
 * values and random floats. Skipped where nvcc is missing.
 */
class CudaCodecHostTest {

    private static final String MAIN = """
            #include <cstdio>
            %s
            int main() {
                for (unsigned c = 0; c < 256; c++) {
                    std::printf("%%08x\\n", dg_float_bits(dg_fp8_to_float(c)));
                }
                unsigned bits;
                while (std::scanf("%%x", &bits) == 1) {
                    float x = dg_bits_float(bits);
                    std::printf("%%02x %%04x %%08x\\n", (unsigned) dg_float_to_fp8(x), (unsigned) dg_float_to_bf16(x),
                            dg_float_bits(dg_ceil_to_ue8m0(x)));
                }
                return 0;
            }
            """;

    @TempDir
    Path dir;

    @Test
    void hostBuildOfTheKernelCodecsMatchesTheJavaCodecs() throws IOException {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (PATH, CUDA_HOME): codec test skipped");
        Files.writeString(dir.resolve("codecs.cu"), MAIN.formatted(commonHeader()));
        Nvcc.Result build = nvcc.run(dir, List.of("-O2", "-o", "codecs", "codecs.cu"), null);
        assertEquals(0, build.exitCode(), build.output());

        List<Integer> inputs = inputs();
        StringBuilder stdin = new StringBuilder();
        inputs.forEach(b -> stdin.append(Integer.toHexString(b)).append('\n'));
        Nvcc.Result run = Nvcc.exec(dir, List.of(dir.resolve("codecs").toString()), stdin.toString());
        assertEquals(0, run.exitCode(), run.output());
        String[] lines = run.output().split("\n");
        assertEquals(256 + inputs.size(), lines.length);

        for (int code = 0; code < 256; code++) {
            float expected = Fp8E4M3.toFloat((byte) code);
            float actual = Float.intBitsToFloat(Integer.parseUnsignedInt(lines[code], 16));
            if (Float.isNaN(expected)) {
                assertEquals(true, Float.isNaN(actual), "code " + code);
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), "code " + code);
            }
        }
        for (int i = 0; i < inputs.size(); i++) {
            float x = Float.intBitsToFloat(inputs.get(i));
            String[] f = lines[256 + i].strip().split(" ");
            String what = "x = " + x + " (0x" + Integer.toHexString(inputs.get(i)) + ")";
            assertEquals(Fp8E4M3.fromFloat(x) & 0xFF, Integer.parseInt(f[0], 16), "fp8 " + what);
            assertEquals(Bf16.fromFloat(x) & 0xFFFF, Integer.parseInt(f[1], 16), "bf16 " + what);
            assertEquals(Float.floatToRawIntBits(Ue8m0.ceilToPowerOfTwo(x)), Integer.parseUnsignedInt(f[2], 16),
                    "ue8m0 " + what);
        }
    }

    private static String commonHeader() throws IOException {
        try (InputStream in = CudaCodecHostTest.class.getResourceAsStream(SourceAssembler.RESOURCE_ROOT
                + "common.cuh")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("#pragma once", "");
        }
    }

    /** Float bit patterns that exercise every rounding path. */
    private static List<Integer> inputs() {
        List<Integer> bits = new ArrayList<>();
        for (float special : new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.MIN_VALUE, Float.MAX_VALUE, 448f, 464f, 464.1f, 480f, 0x1p-6f, 0x1p-9f, 0x1p-10f, 0x1.8p-10f,
                1e-4f / 448f, 3e38f}) {
            bits.add(Float.floatToRawIntBits(special));
            bits.add(Float.floatToRawIntBits(-special));
        }
        bits.add(0x7fc00001);
        bits.add(0xffa00000);
        bits.add(0x7f800001);
        for (int code = 0; code < 0x7F; code++) {
            float lo = Fp8E4M3.toFloat((byte) code);
            float hi = code == 0x7E ? 480f : Fp8E4M3.toFloat((byte) (code + 1));
            int mid = Float.floatToRawIntBits((lo + hi) / 2);
            for (int v : new int[] {Float.floatToRawIntBits(lo), mid - 1, mid, mid + 1}) {
                bits.add(v);
                bits.add(v | 0x80000000);
            }
        }
        SplittableRandom rng = new SplittableRandom(20261123);
        for (int i = 0; i < 20_000; i++) {
            bits.add(rng.nextInt() & 0xFFFF0000 | 0x8000);
            bits.add(rng.nextInt());
            // Magnitudes around the FP8 range, where the encoder has the most cases.
            bits.add(Float.floatToRawIntBits((float) (rng.nextDouble(-600, 600) * Math.pow(2, -rng.nextInt(0, 14)))));
        }
        return bits;
    }
}
