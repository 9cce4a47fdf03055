package dev.deepgemm4j.djl;

import static dev.deepgemm4j.djl.TestSupport.array;
import static dev.deepgemm4j.djl.TestSupport.calcDiff;
import static dev.deepgemm4j.djl.TestSupport.engine;
import static dev.deepgemm4j.djl.TestSupport.fp8;
import static dev.deepgemm4j.djl.TestSupport.fp8Code;
import static dev.deepgemm4j.djl.TestSupport.operand;
import static dev.deepgemm4j.djl.TestSupport.pytorch;
import static dev.deepgemm4j.djl.TestSupport.uniformTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The facade against deepgemm4j's own API (the CPU reference) on the same data: results must be identical, whether
 * the arrays come from PyTorch's engine or from this one, and must land in the manager passed.
 */
class Fp8OpsTest {

    /** Where a test's input arrays come from and its results go. */
    enum Side {
        PYTORCH, OURS
    }

    private final SplittableRandom rng = new SplittableRandom(11);
    private NDManager ours;

    @BeforeEach
    void open() {
        ours = NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME);
    }

    @AfterEach
    void close() {
        ours.close();
    }

    private NDManager manager(Side side) {
        return side == Side.OURS ? ours : pytorch();
    }

    private static void assertIn(NDManager manager, NDArray array) {
        if (manager == pytorch()) {
            assertInstanceOf(PtNDArray.class, array);
        } else {
            assertInstanceOf(DeepGemmNDArray.class, array);
            assertEquals(manager, array.getManager());
        }
    }

    // ------------------------------------------------------------------ quantizers

    @ParameterizedTest
    @EnumSource(Side.class)
    void quantizersMatchTheKernels(Side side) {
        NDManager m = manager(side);
        try (Tensor x = uniformTensor(rng, 136, 320)) {
            NDArray xs = array(m, x);
            for (boolean ue8m0 : new boolean[] {false, true}) {
                check(m, DeepGemm.perTokenCastToFp8(x, ue8m0), Fp8Ops.perTokenCastToFp8(m, xs, ue8m0));
                check(m, DeepGemm.perBlockCastToFp8(x, ue8m0), Fp8Ops.perBlockCastToFp8(m, xs, ue8m0));
                check(m, DeepGemm.perChannelCastToFp8(x, ue8m0), Fp8Ops.perChannelCastToFp8(m, xs, ue8m0));
            }
        }
    }

    private static void check(NDManager m, Fp8Tensor expected, Fp8Operand actual) {
        try (expected) {
            assertIn(m, actual.data());
            assertIn(m, actual.scales());
            assertEquals(DataType.UINT8, actual.data().getDataType());
            assertEquals(new Shape(expected.data().shape()), actual.data().getShape());
            assertArrayEquals(expected.data().toByteArray(), actual.data().toByteArray());
            assertArrayEquals(expected.scales().toFloatArray(), actual.scales().toFloatArray());
            assertEquals(m != pytorch(), Fp8Ops.isFp8(actual.data()), "FP8 marker on this engine's arrays only");
        }
    }

    @Test
    void fp8MarkerStaysWithTheArrayNotItsName() {
        try (Tensor x = uniformTensor(rng, 4, 128)) {
            NDArray data = Fp8Ops.perTokenCastToFp8(ours, array(ours, x), false).data();
            byte[] codes = data.toByteArray();
            data.setName("renamed");
            data.set(ByteBuffer.wrap(codes));
            assertTrue(Fp8Ops.isFp8(data), "set keeps the marker");
            assertTrue(Fp8Ops.isFp8(data.duplicate()), "copies keep it");
            NDArray outside = pytorch().from(data);
            assertEquals(DataType.UINT8, outside.getDataType());
            assertArrayEquals(codes, outside.toByteArray());
            assertFalse(Fp8Ops.isFp8(ours.from(outside)), "it does not survive another engine");
            data.detach();
            assertTrue(Fp8Ops.isFp8(data), "nor does detaching drop it");
            data.close();
        }
    }

    @Test
    void groupedWeightsAreQuantisedGroupByGroup() {
        try (Tensor w = uniformTensor(rng, 3, 136, 200)) {
            Fp8Operand q = Fp8Ops.perBlockCastToFp8(ours, array(pytorch(), w), false);
            assertEquals(new Shape(3, 2, 2), q.scales().getShape());
            for (int g = 0; g < 3; g++) {
                try (Fp8Tensor expected = DeepGemm.perBlockCastToFp8(w.select(0, g), false)) {
                    assertArrayEquals(expected.data().toByteArray(), q.data().get(g).toByteArray());
                    assertArrayEquals(expected.scales().toFloatArray(), q.scales().get(g).toFloatArray());
                }
            }
        }
    }

    @Test
    void packedUe8m0ScalesMatchTheKernels() {
        try (Tensor x = uniformTensor(rng, 40, 1024); Fp8Tensor q = DeepGemm.perTokenCastToFp8(x, true)) {
            Tensor expected = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(q.scales());
            NDArray packed = Fp8Ops.packUe8m0Scales(pytorch(), array(pytorch(), q.scales()));
            assertEquals(DataType.INT32, packed.getDataType());
            assertArrayEquals(expected.toIntArray(), packed.toIntArray());
            expected.storage().close();
        }
    }

    // ------------------------------------------------------------------ dense GEMMs

    @ParameterizedTest
    @EnumSource(GemmLayout.class)
    void denseGemmInEveryLayoutMatchesTheKernels(GemmLayout layout) {
        int m = 48;
        int n = 144;
        int k = 320;
        try (Tensor x = uniformTensor(rng, m, k); Tensor w = uniformTensor(rng, n, k);
                Tensor xT = x.t().contiguousCopy(); Tensor wT = w.t().contiguousCopy();
                Fp8Tensor a = layout.aTransposed() ? DeepGemm.perChannelCastToFp8(xT, false)
                        : DeepGemm.perTokenCastToFp8(x, false);
                Fp8Tensor b = DeepGemm.perBlockCastToFp8(layout.bGivenAsKByN() ? wT : w, false);
                Tensor d = Tensor.zeros(DType.BF16, m, n)) {
            DeepGemm.fp8Gemm(layout, a, b, d, null, null);
            NDArray out = Fp8Ops.fp8Gemm(pytorch(), layout, operand(pytorch(), a), operand(pytorch(), b), null);
            assertEquals(DataType.FLOAT32, out.getDataType());
            assertEquals(new Shape(m, n), out.getShape());
            assertArrayEquals(d.toFloatArray(), out.toFloatArray());
            // End to end against the unquantised product.
            float[] exact = TestSupport.matmulNt(TestSupport.widen(x.toFloatArray()),
                    TestSupport.widen(w.toFloatArray()), m, n, k, 0);
            assertTrue(calcDiff(exact, out.toFloatArray()) < 1e-3);
        }
    }

    @Test
    void perTokenGemmAccumulatesIntoC() {
        try (Tensor x = uniformTensor(rng, 32, 256); Tensor w = uniformTensor(rng, 64, 256);
                Tensor c = uniformTensor(rng, 32, 64); Fp8Tensor a = DeepGemm.perTokenCastToFp8(x, false);
                Fp8Tensor b = DeepGemm.perTokenCastToFp8(w, false); Tensor d = Tensor.zeros(DType.FP32, 32, 64)) {
            DeepGemm.fp8GemmNt(a, b, d, c);
            NDArray out = Fp8Ops.fp8Gemm(ours, GemmLayout.NT, operand(ours, a), operand(ours, b), array(ours, c));
            assertArrayEquals(d.toFloatArray(), out.toFloatArray());
        }
    }

    @Test
    void packedUe8m0GemmMatchesTheKernels() {
        try (Tensor x = uniformTensor(rng, 32, 512); Tensor w = uniformTensor(rng, 64, 512);
                Fp8Tensor a = DeepGemm.perTokenCastToFp8(x, true); Fp8Tensor b = DeepGemm.perTokenCastToFp8(w, true);
                Tensor d = Tensor.zeros(DType.BF16, 32, 64)) {
            Tensor sfa = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(a.scales());
            Tensor sfb = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(b.scales());
            DeepGemm.fp8GemmNt(new Fp8Tensor(a.data(), sfa), new Fp8Tensor(b.data(), sfb), d);
            Fp8Operand pa = new Fp8Operand(array(pytorch(), a.data()),
                    Fp8Ops.packUe8m0Scales(pytorch(), array(pytorch(), a.scales())));
            Fp8Operand pb = new Fp8Operand(array(pytorch(), b.data()),
                    Fp8Ops.packUe8m0Scales(pytorch(), array(pytorch(), b.scales())));
            assertArrayEquals(d.toFloatArray(), Fp8Ops.fp8GemmNt(pytorch(), pa, pb).toFloatArray());
            sfa.storage().close();
            sfb.storage().close();
        }
    }

    // ------------------------------------------------------------------ grouped GEMMs

    /** Experts 0 and 2 own 100 and 130 rows, expert 1 none: segments at 0 and 128, 384 rows in all. */
    private static int[] indexLayout() {
        int[] idx = new int[384];
        java.util.Arrays.fill(idx, -1);
        java.util.Arrays.fill(idx, 0, 100, 0);
        java.util.Arrays.fill(idx, 128, 258, 2);
        return idx;
    }

    @ParameterizedTest
    @EnumSource(Side.class)
    void contiguousGroupedGemmMatchesTheKernels(Side side) {
        NDManager m = manager(side);
        try (Tensor x = uniformTensor(rng, 384, 256); Tensor w = uniformTensor(rng, 3, 128, 256);
                Fp8Tensor a = DeepGemm.perTokenCastToFp8(x, false); Tensor idx = Tensor.ofInts(indexLayout(), 384);
                Tensor ends = Tensor.ofInts(new int[] {100, 128, 258}, 3)) {
            Fp8Operand b = Fp8Ops.perBlockCastToFp8(m, array(m, w), false);
            Fp8Tensor bt = NDArrayTensors.toFp8Tensor(b.data(), b.scales());
            try (bt; Tensor d = Tensor.zeros(DType.BF16, 384, 128); Tensor dPsum = Tensor.zeros(DType.BF16, 384, 128)) {
                DeepGemm.mGroupedFp8GemmNtContiguous(a, bt, d, idx);
                DeepGemm.mGroupedFp8GemmNtContiguous(a, bt, dPsum, ends, true);
                Fp8Operand ao = operand(m, a);
                NDArray out = Fp8Ops.mGroupedFp8GemmNtContiguous(m, ao, b, array(m, idx));
                assertIn(m, out);
                assertArrayEquals(d.toFloatArray(), out.toFloatArray());
                assertArrayEquals(dPsum.toFloatArray(),
                        Fp8Ops.mGroupedFp8GemmNtContiguous(m, ao, b, array(m, ends), true).toFloatArray());
                float[] rows = out.toFloatArray();
                for (int c = 0; c < 128; c++) {
                    assertEquals(0f, rows[110 * 128 + c], "padding rows stay zero");
                }
            }
        }
    }

    @Test
    void contiguousGroupedGemmWithKByNWeightsMatchesTheKernels() {
        try (Tensor x = uniformTensor(rng, 384, 256); Tensor w = uniformTensor(rng, 3, 256, 128);
                Fp8Tensor a = DeepGemm.perTokenCastToFp8(x, false);
                Tensor ends = Tensor.ofInts(new int[] {100, 128, 258}, 3)) {
            Fp8Operand b = Fp8Ops.perBlockCastToFp8(pytorch(), array(pytorch(), w), false);
            try (Fp8Tensor bt = NDArrayTensors.toFp8Tensor(b.data(), b.scales());
                    Tensor d = Tensor.zeros(DType.BF16, 384, 128)) {
                DeepGemm.mGroupedFp8GemmNnContiguous(a, bt, d, ends, true);
                NDArray out = Fp8Ops.mGroupedFp8GemmNnContiguous(pytorch(), operand(pytorch(), a), b,
                        array(pytorch(), ends), true);
                assertArrayEquals(d.toFloatArray(), out.toFloatArray());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Side.class)
    void maskedGroupedGemmMatchesTheKernels(Side side) {
        NDManager m = manager(side);
        try (Tensor x = uniformTensor(rng, 3 * 24, 256); Tensor w = uniformTensor(rng, 3, 64, 256);
                Fp8Tensor flat = DeepGemm.perTokenCastToFp8(x, false);
                Tensor masked = Tensor.ofInts(new int[] {5, 0, 17}, 3)) {
            Fp8Tensor a = new Fp8Tensor(flat.data().view(3, 24, 256), flat.scales().view(3, 24, 2));
            Fp8Operand b = Fp8Ops.perBlockCastToFp8(m, array(m, w), false);
            try (Fp8Tensor bt = NDArrayTensors.toFp8Tensor(b.data(), b.scales());
                    Tensor d = Tensor.zeros(DType.BF16, 3, 24, 64)) {
                DeepGemm.mGroupedFp8GemmNtMasked(a, bt, d, masked, 8);
                NDArray out = Fp8Ops.mGroupedFp8GemmNtMasked(m, operand(m, a), b, array(m, masked), 8);
                assertIn(m, out);
                assertEquals(new Shape(3, 24, 64), out.getShape());
                assertArrayEquals(d.toFloatArray(), out.toFloatArray());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmLayout.class, names = {"NT", "TN"})
    void kGroupedGemmMatchesTheKernels(GemmLayout layout) {
        boolean tn = layout == GemmLayout.TN;
        int[] ks = {128, 0, 256};
        int sumK = 384;
        int m = 32;
        int n = 48;
        try (Tensor xa = uniformTensor(rng, sumK, m); Tensor xb = uniformTensor(rng, sumK, n);
                Tensor c = uniformTensor(rng, 3, m, n); Tensor d = Tensor.zeros(DType.FP32, 3, m, n)) {
            Fp8Tensor a = kGroupedOperand(xa, ks, tn);
            Fp8Tensor b = kGroupedOperand(xb, ks, tn);
            try (a; b) {
                if (tn) {
                    DeepGemm.kGroupedFp8GemmTnContiguous(a, b, d, ks, null, c);
                } else {
                    DeepGemm.kGroupedFp8GemmNtContiguous(a, b, d, ks, null, c);
                }
                NDArray out = tn
                        ? Fp8Ops.kGroupedFp8GemmTnContiguous(pytorch(), operand(pytorch(), a), operand(pytorch(), b),
                                ks, array(pytorch(), c))
                        : Fp8Ops.kGroupedFp8GemmNtContiguous(pytorch(), operand(pytorch(), a), operand(pytorch(), b),
                                ks, array(pytorch(), c));
                assertArrayEquals(d.toFloatArray(), out.toFloatArray());
            }
        }
    }

    /**
     * Tokens-as-rows values [ΣK, MN] quantised per 128 tokens: TN takes them as they are; NT takes each group's
     * [MN, K_g] K-major block, blocks end to end, with scales [MN, ΣK/128].
     */
    private static Fp8Tensor kGroupedOperand(Tensor tokensByMn, int[] ks, boolean tn) {
        Fp8Tensor q = DeepGemm.perChannelCastToFp8(tokensByMn, false);
        if (tn) {
            return q;
        }
        long mn = tokensByMn.size(1);
        Tensor data = Tensor.zeros(DType.FP8_E4M3, tokensByMn.size(0) * mn);
        long start = 0;
        for (int k : ks) {
            data.narrow(0, start * mn, k * mn).view(mn, k).copyFrom(q.data().narrow(0, start, k).t());
            start += k;
        }
        Tensor scales = q.scales().t().contiguousCopy();
        q.close();
        return new Fp8Tensor(data, scales);
    }

    // ------------------------------------------------------------------ MQA logits

    @ParameterizedTest
    @EnumSource(Side.class)
    void mqaLogitsMatchTheKernels(Side side) {
        NDManager m = manager(side);
        try (PlainMqaInputs in = PlainMqaInputs.random(rng)) {
            Tensor expected = DeepGemm.fp8MqaLogits(in.q, in.kv, in.weights, in.ks, in.ke, true, 0);
            NDArray out = Fp8Ops.fp8MqaLogits(m, array(m, in.q), operand(m, in.kv), array(m, in.weights),
                    array(m, in.ks), array(m, in.ke), true, 0);
            assertIn(m, out);
            assertEquals(new Shape(PlainMqaInputs.S, PlainMqaInputs.S_KV), out.getShape());
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            expected.storage().close();
        }
    }

    /** Plain MQA logits inputs: 6 queries of H = 32, D = 64 against 300 keys, with empty and edge ranges. */
    private static final class PlainMqaInputs implements AutoCloseable {
        static final int S = 6;
        static final int S_KV = 300;
        final Tensor q;
        final Fp8Tensor kv;
        final Tensor weights;
        final Tensor ks = Tensor.ofInts(new int[] {0, 10, 128, 0, 299, 300}, S);
        final Tensor ke = Tensor.ofInts(new int[] {300, 200, 257, 0, 300, 300}, S);

        private PlainMqaInputs(SplittableRandom rng) {
            q = fp8(rng, S, 32, 64);
            kv = new Fp8Tensor(fp8(rng, S_KV, 64), uniformTensor(rng, S_KV));
            weights = uniformTensor(rng, S, 32);
        }

        static PlainMqaInputs random(SplittableRandom rng) {
            return new PlainMqaInputs(rng);
        }

        @Override
        public void close() {
            q.close();
            kv.close();
            weights.close();
            ks.close();
            ke.close();
        }
    }

    /** BFLOAT16 logits: the kernels' BF16 logits widened, i.e. the FP32 logits rounded to nearest even. */
    @ParameterizedTest
    @EnumSource(Side.class)
    void mqaLogitsInBf16AreTheFp32LogitsRounded(Side side) {
        NDManager m = manager(side);
        try (PlainMqaInputs in = PlainMqaInputs.random(rng)) {
            Tensor fp32 = DeepGemm.fp8MqaLogits(in.q, in.kv, in.weights, in.ks, in.ke, true, 0);
            Tensor bf16 = DeepGemm.fp8MqaLogits(in.q, in.kv, in.weights, in.ks, in.ke, true, 0, DType.BF16);
            NDArray out = Fp8Ops.fp8MqaLogits(m, array(m, in.q), operand(m, in.kv), array(m, in.weights),
                    array(m, in.ks), array(m, in.ke), true, 0, DataType.BFLOAT16);
            assertIn(m, out);
            assertEquals(DataType.FLOAT32, out.getDataType());
            assertEquals(new Shape(PlainMqaInputs.S, PlainMqaInputs.S_KV), out.getShape());
            float[] got = out.toFloatArray();
            assertArrayEquals(bf16.toFloatArray(), got);
            float[] wide = fp32.toFloatArray();
            int rounded = 0;
            for (int i = 0; i < got.length; i++) {
                assertEquals(Bf16.round(wide[i]), got[i], "position " + i);
                rounded += got[i] != wide[i] ? 1 : 0;
            }
            assertTrue(rounded > 0, "some FP32 logits are not BF16 values");
            fp32.storage().close();
            bf16.storage().close();
        }
    }

    @Test
    void pagedMqaLogitsAndMetadataMatchTheKernels() {
        int batch = 2;
        int blockKv = 64;
        int d = 64;
        int maxContext = 200;
        int[] lens = {200, 70};
        int[] table = {3, 0, 2, 5, 1, 4, 6, 7};
        int numBlocks = 8;
        ByteBuffer cache = ByteBuffer.allocate(numBlocks * blockKv * (d + 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int blk = 0; blk < numBlocks; blk++) {
            int base = blk * blockKv * (d + 4);
            for (int i = 0; i < blockKv * d; i++) {
                cache.put(base + i, fp8Code(rng));
            }
            for (int slot = 0; slot < blockKv; slot++) {
                cache.putFloat(base + blockKv * d + 4 * slot, (float) rng.nextDouble(0.01, 0.1));
            }
        }
        try (Tensor q = fp8(rng, batch, 1, 32, d); Tensor weights = uniformTensor(rng, batch, 32);
                Tensor contextLens = Tensor.ofInts(lens, batch, 1); Tensor blockTable = Tensor.ofInts(table, batch, 4);
                Tensor kvCache = Tensor.zeros(DType.UINT8, numBlocks, blockKv, 1, d + 4)) {
            kvCache.hostSegment().copyFrom(java.lang.foreign.MemorySegment.ofArray(cache.array()));
            Tensor meta = DeepGemm.getPagedMqaLogitsMetadata(contextLens, blockKv, DeepGemm.getNumSms());
            Tensor expected = DeepGemm.fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, meta,
                    maxContext, true);
            NDArray metaOut = Fp8Ops.getPagedMqaLogitsMetadata(pytorch(), array(pytorch(), contextLens), blockKv,
                    DeepGemm.getNumSms());
            assertArrayEquals(meta.toIntArray(), metaOut.toIntArray());
            NDArray out = Fp8Ops.fp8PagedMqaLogits(pytorch(), array(pytorch(), q), array(pytorch(), kvCache),
                    array(pytorch(), weights), array(pytorch(), contextLens), array(pytorch(), blockTable), metaOut,
                    maxContext, true);
            assertEquals(new Shape(batch, maxContext), out.getShape());
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            float[] row1 = out.get(1).toFloatArray();
            assertEquals(Float.NEGATIVE_INFINITY, row1[70], "positions beyond the context are cleaned");
            assertFalse(Float.isInfinite(row1[69]));
            NDArray bf16 = Fp8Ops.fp8PagedMqaLogits(pytorch(), array(pytorch(), q), array(pytorch(), kvCache),
                    array(pytorch(), weights), array(pytorch(), contextLens), array(pytorch(), blockTable), metaOut,
                    maxContext, true, DataType.BFLOAT16);
            assertEquals(DataType.FLOAT32, bf16.getDataType());
            float[] want = expected.toFloatArray();
            float[] got = bf16.toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(Bf16.round(want[i]), got[i], "position " + i);
            }
            meta.close();
            expected.storage().close();
        }
    }

    // ------------------------------------------------------------------ placement

    @Test
    void arraysOfThisEngineAreUsedInPlaceOthersCopiedOnce() {
        try (Tensor x = uniformTensor(rng, 32, 256); Tensor w = uniformTensor(rng, 64, 256)) {
            Fp8Operand b = Fp8Ops.perBlockCastToFp8(ours, array(ours, w), false);
            Fp8Operand a = Fp8Ops.perTokenCastToFp8(ours, array(ours, x), false);
            long imports = engine().importCount();
            long fallbacks = engine().fallbackCount();
            NDArray onOurs = Fp8Ops.fp8GemmNt(ours, a, b);
            assertEquals(imports, engine().importCount(), "no copy of this engine's arrays");
            NDArray onTheirs = Fp8Ops.fp8GemmNt(ours, a, new Fp8Operand(pytorch().from(b.data()),
                    pytorch().from(b.scales())));
            assertEquals(imports + 2, engine().importCount(), "PyTorch's data and scales, once each");
            assertEquals(fallbacks, engine().fallbackCount());
            assertArrayEquals(onOurs.toFloatArray(), onTheirs.toFloatArray());
        }
    }

    @Test
    void temporariesAreFreedAndOnlyResultsLive() {
        try (Tensor x = uniformTensor(rng, 32, 256); Tensor w = uniformTensor(rng, 64, 256)) {
            NDArray xs = array(pytorch(), x);
            NDArray ws = array(pytorch(), w);
            long live = engine().liveArrayCount();
            try (NDManager sub = ours.newSubManager()) {
                Fp8Ops.fp8GemmNt(sub, Fp8Ops.perTokenCastToFp8(sub, xs, false), Fp8Ops.perBlockCastToFp8(sub, ws,
                        false));
                assertEquals(live + 5, engine().liveArrayCount(), "two operands and one product");
            }
            assertEquals(live, engine().liveArrayCount());
        }
    }
}
