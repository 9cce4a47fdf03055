package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.util.Map;

/** A resident {@code fp8_gemm} weight set: FP8 [N, K] with 128×128 block scales. */
record GemmWeights(Fp8Tensor weight) implements AutoCloseable {

    static final String DATA = "weight";
    static final String SCALES = "weight.scales";

    int n() {
        return (int) weight.data().size(0);
    }

    int k() {
        return (int) weight.data().size(1);
    }

    /** The weight set in a {@link WeightFile}'s tensors, placed at {@code at} (host copies freed). */
    static GemmWeights load(Map<String, Tensor> tensors, Location at) {
        Tensor data = tensors.get(DATA);
        Tensor scales = tensors.get(SCALES);
        GemmWeights loaded = null;
        try {
            if (data == null || scales == null || data.dtype() != DType.FP8_E4M3 || data.dim() != 2
                    || scales.dtype() != DType.FP32 || scales.dim() != 2
                    || scales.size(0) != (data.size(0) + 127) / 128 || scales.size(1) != (data.size(1) + 127) / 128) {
                throw new IllegalArgumentException("a GEMM weight set needs '" + DATA + "' (FP8 [N, K]) and '" + SCALES
                        + "' (FP32 [ceil(N/128), ceil(K/128)]), got " + tensors);
            }
            loaded = new GemmWeights(new Fp8Tensor(data.to(at), scales.to(at)));
            return loaded;
        } finally {
            for (Tensor t : tensors.values()) {
                if (loaded == null || (t != loaded.weight.data() && t != loaded.weight.scales())) {
                    t.close();
                }
            }
        }
    }

    @Override
    public void close() {
        weight.close();
    }
}
