package dev.deepgemm4j.cpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;

/** CPU reference of the MQA logits operators. */
final class CpuMqaLogits {
    private CpuMqaLogits() {
    }

    static void plain(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits, boolean clean,
            int maxSeqlenK) {
        throw new UnsupportedOperationException("TODO");
    }

    static void metadata(Tensor contextLens, int blockKv, int numSms, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }

    static void paged(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, Tensor logits, boolean clean) {
        throw new UnsupportedOperationException("TODO");
    }
}
