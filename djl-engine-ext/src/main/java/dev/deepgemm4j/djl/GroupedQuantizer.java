package dev.deepgemm4j.djl;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;

/**
 * Per-block quantisation of grouped weights [G, N, K], group by group, so no 128×128 block straddles two groups
 * (deepgemm4j's quantizers take 2-D tensors). The groups are quantised in host memory, as the public API assembles
 * tensors there only; it is a load-time step.
 */
final class GroupedQuantizer {

    private static final int BLOCK = 128;

    private GroupedQuantizer() {
    }

    /** FP8 data [G, N, K] and FP32 scales [G, ceil(N/128), ceil(K/128)], at {@code x}'s location. */
    static Fp8Tensor perBlock(Tensor x, boolean useUe8m0) {
        long groups = x.size(0);
        long n = x.size(1);
        long k = x.size(2);
        Tensor host = Placement.hostContiguous(x);
        Tensor data = Tensor.zeros(DType.FP8_E4M3, groups, n, k);
        Tensor scales = Tensor.zeros(DType.FP32, groups, ceilDiv(n), ceilDiv(k));
        try {
            for (long g = 0; g < groups; g++) {
                try (Fp8Tensor q = DeepGemm.perBlockCastToFp8(host.select(0, g), useUe8m0)) {
                    data.select(0, g).copyFrom(q.data());
                    scales.select(0, g).copyFrom(q.scales());
                }
            }
        } finally {
            if (host != x) {
                host.close();
            }
        }
        return new Fp8Tensor(Placement.moveTo(data, x.location()), Placement.moveTo(scales, x.location()));
    }

    private static long ceilDiv(long v) {
        return (v + BLOCK - 1) / BLOCK;
    }
}
