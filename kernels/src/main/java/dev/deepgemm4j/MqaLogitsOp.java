package dev.deepgemm4j;

/** Validation and dispatch of the MQA logits operators (plain, paged, paged metadata). */
final class MqaLogitsOp {
    private MqaLogitsOp() {
    }

    static Tensor plain(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, boolean clean, int maxSeqlenK) {
        throw new UnsupportedOperationException("TODO");
    }

    static Tensor metadata(Tensor contextLens, int blockKv, int numSms) {
        throw new UnsupportedOperationException("TODO");
    }

    static Tensor paged(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, int maxContextLen, boolean clean) {
        throw new UnsupportedOperationException("TODO");
    }
}
