package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.CudaSources;
import java.util.ArrayList;
import java.util.List;

/**
 * Launch geometry of the grid-stride utility kernels ({@code strided_copy.cu}, {@code fill.cu},
 * {@code pack_ue8m0.cu}): 256 threads, enough CTAs for one element per thread up to 16 CTAs per SM.
 */
public final class ScaleLayoutHeuristic {

    static final int THREADS = 256;
    private static final int CTAS_PER_SM = 16;

    private ScaleLayoutHeuristic() {
    }

    /** Copy of {@code elements} elements of {@code elementBytes} bytes. */
    public static Launch<SimpleKernelConfig> copy(int elementBytes, long elements, int numSms) {
        return launch(config(CudaSources.stridedCopy(elementBytes, THREADS)), elements, numSms);
    }

    /** Fill of {@code elements} elements of {@code elementBytes} bytes. */
    public static Launch<SimpleKernelConfig> fill(int elementBytes, long elements, int numSms) {
        return launch(config(CudaSources.fill(elementBytes, THREADS)), elements, numSms);
    }

    /** Packing into {@code words} UE8M0 words. */
    public static Launch<SimpleKernelConfig> packUe8m0(long words, int numSms) {
        return launch(config(CudaSources.packUe8m0(THREADS)), words, numSms);
    }

    /** Every configuration the methods above can return. */
    public static List<KernelConfig> allConfigs() {
        List<KernelConfig> all = new ArrayList<>();
        for (int bytes : new int[] {1, 2, 4}) {
            all.add(config(CudaSources.stridedCopy(bytes, THREADS)));
            all.add(config(CudaSources.fill(bytes, THREADS)));
        }
        all.add(config(CudaSources.packUe8m0(THREADS)));
        return all;
    }

    private static SimpleKernelConfig config(dev.deepgemm4j.jit.KernelSource source) {
        return new SimpleKernelConfig(source, THREADS, 0);
    }

    private static Launch<SimpleKernelConfig> launch(SimpleKernelConfig config, long elements, int numSms) {
        if (elements < 0 || numSms < 1) {
            throw new IllegalArgumentException("need elements >= 0 and numSms >= 1, got " + elements + ", " + numSms);
        }
        long ctas = Math.min(Math.ceilDiv(Math.max(elements, 1), THREADS), (long) numSms * CTAS_PER_SM);
        return new Launch<>(config, new LaunchGeometry((int) ctas, 1, 1, THREADS, 0));
    }
}
