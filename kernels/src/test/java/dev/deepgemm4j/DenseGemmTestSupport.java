package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.testing.RandomTensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.function.Executable;

/** Shared helpers of the GEMM tests: random operands, the float64 reference, comparisons. */
final class DenseGemmTestSupport {

    /** Every output is filled with this byte before a run; untouched regions must still hold it. */
    static final byte POISON = 0x7F;

    private DenseGemmTestSupport() {
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** Random FP8 [rows, k] with FP32 scales per (row, 128 K) or, if {@code perBlock}, per 128×128 block. */
    static Fp8Tensor operand(SplittableRandom rng, long rows, long k, boolean perBlock) {
        return new Fp8Tensor(RandomTensors.fp8(rng, rows, k),
                RandomTensors.scales(rng, perBlock ? ceilDiv(rows, 128) : rows, ceilDiv(k, 128)));
    }

    /**
     * The float64 reference {@code c + Σ_kb sfa[m, kb]·sfb[n', kb]·Σ_k a[m, k]·b[n, k]} of NT operands (a [M, K],
     * b [N, K], FP32 scales, n' = n/128 for per-block sfb), row-major [M, N]; {@code c} may be null.
     */
    static double[] reference(Fp8Tensor a, Fp8Tensor b, boolean perBlock, Tensor c) {
        int m = (int) a.data().size(0);
        int k = (int) a.data().size(1);
        int n = (int) b.data().size(0);
        float[] av = a.data().toFloatArray();
        float[] bv = b.data().toFloatArray();
        float[] sa = a.scales().toFloatArray();
        float[] sb = b.scales().toFloatArray();
        int kBlocks = (int) ceilDiv(k, 128);
        float[] cv = c == null ? null : c.toFloatArray();
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int sbRow = perBlock ? j / 128 : j;
                double sum = cv == null ? 0 : cv[i * n + j];
                for (int kb = 0; kb < kBlocks; kb++) {
                    double block = 0;
                    for (int kk = kb * 128; kk < Math.min(k, kb * 128 + 128); kk++) {
                        block += (double) av[i * k + kk] * bv[j * k + kk];
                    }
                    sum += block * sa[i * kBlocks + kb] * sb[sbRow * kBlocks + kb];
                }
                out[i * n + j] = sum;
            }
        }
        return out;
    }

    /** calc_diff of an output against a reference of the same (row-major) element order. */
    static double diff(double[] reference, Tensor out) {
        return RandomTensors.calcDiff(reference, RandomTensors.toDoubles(out.toFloatArray()));
    }

    static void assertClose(double[] reference, Tensor out) {
        double tolerance = out.dtype() == DType.BF16 ? 1e-5 : 1e-9;
        double diff = diff(reference, out);
        assertTrue(diff < tolerance, "calc_diff " + diff + " is not below " + tolerance + " for " + out);
    }

    /** A poisoned, zero-offset output tensor. */
    static Tensor poisoned(DType dtype, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        t.fillBytes(POISON);
        return t;
    }

    /** Asserts that every byte of {@code t}'s elements still holds {@link #POISON}. */
    static void assertPoisoned(Tensor t) {
        byte[] raw = rawBytes(t);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] != POISON) {
                throw new AssertionError("byte " + i + " of " + t + " was written");
            }
        }
    }

    /** Asserts that the whole storage behind {@code t} still holds {@link #POISON} in every byte. */
    static void assertStoragePoisoned(Tensor t) {
        MemorySegment seg = t.hostSegment();
        for (long i = 0; i < seg.byteSize(); i++) {
            assertEquals(POISON, seg.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
        }
    }

    /** A copy of [rows, cols] row-major values into a tensor whose rows are {@code pitch} elements apart. */
    static Tensor withPitch(Tensor src, long pitch) {
        Tensor t = Tensor.zerosStrided(src.dtype(), src.shape(), new long[] {pitch, 1});
        t.copyFrom(src);
        return t;
    }

    /** Bitwise equality of two tensors' elements. */
    static void assertSameBits(Tensor expected, Tensor actual) {
        assertArrayEquals(rawBytes(expected), rawBytes(actual));
    }

    /** The bytes of every element in row-major logical order. */
    static byte[] rawBytes(Tensor t) {
        int size = t.dtype().byteSize();
        byte[] out = new byte[Math.toIntExact(t.numel() * size)];
        MemorySegment seg = t.hostSegment();
        int[] i = {0};
        t.forEachOffset(off -> {
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off * size, out, i[0], size);
            i[0] += size;
        });
        return out;
    }

    /** Runs {@code call}, expecting a {@link DeepGemmArgumentException} naming {@code argument}. */
    static DeepGemmArgumentException assertRejects(String argument, Executable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call);
        assertEquals(argument, e.argument(), e.getMessage());
        assertTrue(e.getMessage().startsWith(argument + ": "), e.getMessage());
        return e;
    }
}
