package dev.deepgemm4j;

import static dev.deepgemm4j.FakeDeviceTensors.onDevice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.testing.RandomTensors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** One test per argument rule of fp8_mqa_logits: each bad input is rejected, naming the argument. */
class MqaLogitsValidationTest {

    private static final int S = 6;
    private static final int S_KV = 50;
    private static final int H = 32;
    private static final int D = 64;

    private final SplittableRandom rng = new SplittableRandom(11);
    private final Tensor q = RandomTensors.fp8(rng, S, H, D);
    private final Tensor kv = RandomTensors.fp8(rng, S_KV, D);
    private final Tensor kvSf = RandomTensors.scales(rng, S_KV);
    private final Tensor weights = RandomTensors.uniform(rng, DType.FP32, S, H);
    private final Tensor ks = Tensor.ofInts(new int[] {0, 3, 10, 20, 49, 50}, S);
    private final Tensor ke = Tensor.ofInts(new int[] {5, 3, 40, 50, 50, 50}, S);

    /** Asserts that {@code call} fails with a DeepGemmArgumentException naming {@code arg} and saying {@code rule}. */
    static void rejects(String arg, String rule, Executable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call);
        assertEquals(arg, e.argument(), e.getMessage());
        assertTrue(e.rule().contains(rule), "rule '" + e.rule() + "' should mention '" + rule + "'");
    }


    private Tensor call(Tensor q, Tensor kv, Tensor kvSf, Tensor weights, Tensor ks, Tensor ke, boolean clean,
            int maxSeqlenK) {
        return DeepGemm.fp8MqaLogits(q, new Fp8Tensor(kv, kvSf), weights, ks, ke, clean, maxSeqlenK);
    }

    @Test
    void validCallPasses() {
        assertEquals(S, call(q, kv, kvSf, weights, ks, ke, true, 0).size(0));
    }

    @Test
    void qMustNotBeNull() {
        rejects("q", "null", () -> call(null, kv, kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void kvMustNotBeNull() {
        rejects("kv", "null", () -> DeepGemm.fp8MqaLogits(q, null, weights, ks, ke, true, 0));
    }

    @Test
    void qMustNotBeClosed() {
        Tensor closed = RandomTensors.fp8(rng, S, H, D);
        closed.close();
        rejects("q", "freed", () -> call(closed, kv, kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void qMustBeFp8() {
        rejects("q", "dtype", () -> call(RandomTensors.uniform(rng, DType.BF16, S, H, D), kv, kvSf, weights, ks, ke,
                true, 0));
    }

    @Test
    void qMustBe3d() {
        rejects("q", "3-D", () -> call(q.view(S, H * D), kv, kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void qMustBeContiguous() {
        Tensor strided = RandomTensors.fp8(rng, S, D, H).transpose(1, 2);
        rejects("q", "contiguous", () -> call(strided, kv, kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void headsMustBe32Or64() {
        rejects("q", "H (heads)", () -> call(RandomTensors.fp8(rng, S, 16, D), kv, kvSf,
                RandomTensors.uniform(rng, DType.FP32, S, 16), ks, ke, true, 0));
    }

    @Test
    void headDimMustBe32Or64Or128() {
        rejects("q", "D (head dim)", () -> call(RandomTensors.fp8(rng, S, H, 96), RandomTensors.fp8(rng, S_KV, 96),
                kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void kvMustBeFp8() {
        rejects("kv", "dtype", () -> call(q, RandomTensors.uniform(rng, DType.FP32, S_KV, D), kvSf, weights, ks, ke,
                true, 0));
    }

    @Test
    void kvMustBe2d() {
        rejects("kv", "2-D", () -> call(q, kv.view(S_KV, 1, D), kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void kvHeadDimMustMatchQ() {
        rejects("kv", "[S_kv, D]", () -> call(q, RandomTensors.fp8(rng, S_KV, 128), kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void kvMustBeContiguous() {
        Tensor strided = RandomTensors.fp8(rng, S_KV, 2 * D).narrow(1, 0, D);
        rejects("kv", "contiguous", () -> call(q, strided, kvSf, weights, ks, ke, true, 0));
    }

    @Test
    void kvScalesMustBeFp32() {
        rejects("kv_sf", "dtype", () -> call(q, kv, RandomTensors.uniform(rng, DType.BF16, S_KV), weights, ks, ke,
                true, 0));
    }

    @Test
    void kvScalesMustHaveOnePerKvRow() {
        rejects("kv_sf", "[S_kv]", () -> call(q, kv, RandomTensors.scales(rng, S_KV + 1), weights, ks, ke, true, 0));
    }

    @Test
    void kvScalesMustBeContiguous() {
        Tensor strided = RandomTensors.scales(rng, S_KV, 2).select(1, 0);
        rejects("kv_sf", "contiguous", () -> call(q, kv, strided, weights, ks, ke, true, 0));
    }

    @Test
    void weightsMustBeFp32() {
        rejects("weights", "dtype", () -> call(q, kv, kvSf, RandomTensors.uniform(rng, DType.BF16, S, H), ks, ke,
                true, 0));
    }

    @Test
    void weightsMustBeSByH() {
        rejects("weights", "[S, H]", () -> call(q, kv, kvSf, RandomTensors.uniform(rng, DType.FP32, S, 64), ks, ke,
                true, 0));
    }

    @Test
    void weightsMustHaveUnitHeadStride() {
        Tensor colMajor = RandomTensors.uniform(rng, DType.FP32, H, S).t();
        rejects("weights", "stride(-1) == 1", () -> call(q, kv, kvSf, colMajor, ks, ke, true, 0));
    }

    @Test
    void rowStridedWeightsAreAccepted() {
        Tensor padded = RandomTensors.uniform(rng, DType.FP32, S, H + 8).narrow(1, 0, H);
        assertEquals(S, call(q, kv, kvSf, padded, ks, ke, true, 0).size(0));
    }

    @Test
    void startsMustBeInt32() {
        rejects("cu_seq_len_k_start", "dtype", () -> call(q, kv, kvSf, weights,
                RandomTensors.uniform(rng, DType.FP32, S), ke, true, 0));
    }

    @Test
    void startsMustHaveOnePerQuery() {
        rejects("cu_seq_len_k_start", "[S]", () -> call(q, kv, kvSf, weights, Tensor.ofInts(new int[S + 1], S + 1),
                ke, true, 0));
    }

    @Test
    void endsMustHaveOnePerQuery() {
        rejects("cu_seq_len_k_end", "[S]", () -> call(q, kv, kvSf, weights, ks, Tensor.ofInts(new int[S], 1, S),
                true, 0));
    }

    @Test
    void endsMustBeContiguous() {
        Tensor strided = Tensor.ofInts(new int[2 * S], S, 2).select(1, 0);
        rejects("cu_seq_len_k_end", "contiguous", () -> call(q, kv, kvSf, weights, ks, strided, true, 0));
    }

    @Test
    void startsMustNotBeNegative() {
        rejects("cu_seq_len_k_start", ">= 0", () -> call(q, kv, kvSf, weights,
                Tensor.ofInts(new int[] {0, -1, 0, 0, 0, 0}, S), ke, true, 0));
    }

    @Test
    void endsMustNotPrecedeStarts() {
        rejects("cu_seq_len_k_end", "[20, 19)", () -> call(q, kv, kvSf, weights, ks,
                Tensor.ofInts(new int[] {5, 3, 40, 19, 50, 50}, S), true, 0));
    }

    @Test
    void endsMustNotPassKvLength() {
        rejects("cu_seq_len_k_end", "S_kv = 50", () -> call(q, kv, kvSf, weights, ks,
                Tensor.ofInts(new int[] {5, 3, 40, 51, 50, 50}, S), true, 0));
    }

    @Test
    void maxSeqlenKMustNotBeNegative() {
        rejects("max_seqlen_k", ">= 0", () -> call(q, kv, kvSf, weights, ks, ke, false, -1));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FP8_E4M3", "INT32", "UINT8", "UE8M0_PACKED"})
    void logitsDtypeMustBeFp32OrBf16(DType bad) {
        rejects("logits_dtype", "must be FP32 or BF16, got " + bad, () -> DeepGemm.fp8MqaLogits(q,
                new Fp8Tensor(kv, kvSf), weights, ks, ke, true, 0, bad));
    }

    @Test
    void logitsDtypeMustNotBeNull() {
        rejects("logits_dtype", "got null", () -> DeepGemm.fp8MqaLogits(q, new Fp8Tensor(kv, kvSf), weights, ks, ke,
                true, 0, null));
    }

    @Test
    void compressedLogitsCannotBeCleaned() {
        rejects("clean_logits", "must be false", () -> call(q, kv, kvSf, weights, ks, ke, true, 64));
    }

    @Test
    void compressedWidthMustHoldEveryRange() {
        rejects("max_seqlen_k", "29 < 30", () -> call(q, kv, kvSf, weights, ks, ke, false, 29));
    }

    @Test
    void inputsMustShareOneDevice() {
        rejects("weights", "same device", () -> call(q, kv, kvSf, onDevice(DType.FP32, S, H), ks, ke, true, 0));
    }

    @Test
    void deviceInputsNeedADeviceBackend() {
        assumeTrue(Backends.device() == null, "a GPU backend runs here");
        // Range values live on the device, so they are not read on the host; the call only fails at dispatch.
        rejects("q", "no GPU backend", () -> call(onDevice(DType.FP8_E4M3, S, H, D), onDevice(DType.FP8_E4M3, S_KV,
                D), onDevice(DType.FP32, S_KV), onDevice(DType.FP32, S, H), onDevice(DType.INT32, S),
                onDevice(DType.INT32, S), true, 0));
    }
}
