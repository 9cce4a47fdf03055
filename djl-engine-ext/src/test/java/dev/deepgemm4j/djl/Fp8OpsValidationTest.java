package dev.deepgemm4j.djl;

import static dev.deepgemm4j.djl.TestSupport.array;
import static dev.deepgemm4j.djl.TestSupport.engine;
import static dev.deepgemm4j.djl.TestSupport.pytorch;
import static dev.deepgemm4j.djl.TestSupport.uniformTensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad arguments to the facade raise {@link DeepGemmArgumentException} naming the argument as deepgemm4j does, and
 * leave no result behind. One test per rule the facade itself adds, plus samples of the kernels' rules passing
 * through.
 */
class Fp8OpsValidationTest {

    private static final SplittableRandom RNG = new SplittableRandom(3);
    private static NDManager ours;
    private static Fp8Operand a;
    private static Fp8Operand b;

    @BeforeAll
    static void operands() {
        ours = NDManager.newBaseManager(Device.cpu(), DeepGemmEngine.ENGINE_NAME);
        try (Tensor x = uniformTensor(RNG, 32, 256); Tensor w = uniformTensor(RNG, 64, 256)) {
            a = Fp8Ops.perTokenCastToFp8(ours, array(ours, x), false);
            b = Fp8Ops.perBlockCastToFp8(ours, array(ours, w), false);
        }
    }

    @AfterAll
    static void closeAll() {
        ours.close();
    }

    /** The call fails naming {@code argument}, and creates no array in {@code ours}. */
    private static DeepGemmArgumentException assertRejected(String argument, Executable call) {
        long live = engine().liveArrayCount();
        int managed = ours.getManagedArrays().size();
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call);
        assertEquals(argument, e.argument(), e.getMessage());
        assertEquals(live, engine().liveArrayCount(), "no array may outlive a failed call");
        assertEquals(managed, ours.getManagedArrays().size());
        return e;
    }

    @Test
    void managerIsRequired() {
        assertRejected("manager", () -> Fp8Ops.fp8GemmNt(null, a, b));
    }

    @Test
    void closedManagerIsRefused() {
        NDManager closed = ours.newSubManager();
        closed.close();
        assertRejected("manager", () -> Fp8Ops.fp8GemmNt(closed, a, b));
    }

    @Test
    void operandIsRequired() {
        assertRejected("b", () -> Fp8Ops.fp8GemmNt(ours, a, null));
    }

    @Test
    void scalesAreRequired() {
        assertRejected("sfa", () -> Fp8Ops.fp8GemmNt(ours, new Fp8Operand(a.data(), null), b));
    }

    @Test
    void fp8DataMustBeUint8Codes() {
        DeepGemmArgumentException e = assertRejected("a",
                () -> Fp8Ops.fp8GemmNt(ours, new Fp8Operand(a.scales(), a.scales()), b));
        assertTrue(e.rule().contains("UINT8") && e.rule().contains("FLOAT32"), e.rule());
    }

    @Test
    void closedArraysAreRefused() {
        NDArray data = a.data().duplicate();
        data.close();
        assertRejected("a", () -> Fp8Ops.fp8GemmNt(ours, new Fp8Operand(data, a.scales()), b));
    }

    @Test
    void layoutIsRequired() {
        assertRejected("layout", () -> Fp8Ops.fp8Gemm(ours, null, a, b, null));
    }

    @Test
    void quantizerInputMustBeFloat32() {
        assertRejected("x", () -> Fp8Ops.perTokenCastToFp8(ours, a.data(), false));
    }

    @Test
    void kernelShapeRulesPassThroughNamed() {
        // sfb of per-token shape with a BF16 (no C) call: the kernels name d's dtype rule.
        assertRejected("d", () -> Fp8Ops.fp8GemmNt(ours, a, a));
        assertRejected("b", () -> Fp8Ops.fp8Gemm(ours, GemmLayout.NN, a, b, null));
    }

    @Test
    void foreignArraysAreCheckedToo() {
        Fp8Operand theirs = new Fp8Operand(pytorch().from(a.data()), pytorch().from(a.scales()));
        assertRejected("sfb", () -> Fp8Ops.fp8GemmNt(ours, theirs, new Fp8Operand(b.data(), a.scales())));
    }

    @Test
    void groupedLayoutMustBeInt32() {
        NDArray floats = ours.create(new float[] {0});
        assertRejected("m_indices", () -> Fp8Ops.mGroupedFp8GemmNtContiguous(ours, a, b, floats));
    }

    @Test
    void maskedMMustBeInt32() {
        assertRejected("masked_m", () -> Fp8Ops.mGroupedFp8GemmNtMasked(ours, a, b, null, 1));
    }

    @Test
    void kGroupedNeedsC() {
        assertRejected("c", () -> Fp8Ops.kGroupedFp8GemmNtContiguous(ours, a, b, new int[] {256}, null));
    }

    @Test
    void kGroupedCMustBeGroupsByMByN() {
        NDArray c = ours.zeros(new Shape(2, 32, 64));
        assertRejected("c", () -> Fp8Ops.kGroupedFp8GemmNtContiguous(ours, a, b, new int[] {256}, c));
    }

    @Test
    void mqaQueryMustBeFp8Codes() {
        try (Tensor kv = uniformTensor(RNG, 8, 64); Fp8Tensor kvq = DeepGemm.perTokenCastToFp8(kv, false)) {
            NDArray q = ours.zeros(new Shape(1, 32, 64));
            Fp8Operand kvOperand = TestSupport.operand(ours, kvq);
            assertRejected("q", () -> Fp8Ops.fp8MqaLogits(ours, q, kvOperand, q, q, q, false, 0));
        }
    }

    @Test
    void mqaLogitsDtypeMustBeFloat32OrBfloat16() {
        try (Tensor kv = uniformTensor(RNG, 8, 64); Fp8Tensor kvq = DeepGemm.perTokenCastToFp8(kv, false);
                Tensor q = TestSupport.fp8(RNG, 1, 32, 64)) {
            NDArray qa = array(ours, q);
            NDArray w = ours.zeros(new Shape(1, 32));
            NDArray range = ours.zeros(new Shape(1), DataType.INT32);
            Fp8Operand kvOperand = TestSupport.operand(ours, kvq);
            for (DataType bad : new DataType[] {DataType.FLOAT16, DataType.INT32, null}) {
                DeepGemmArgumentException e = assertRejected("logits_dtype", () -> Fp8Ops.fp8MqaLogits(ours, qa,
                        kvOperand, w, range, range, false, 0, bad));
                assertTrue(e.rule().contains("FLOAT32 or BFLOAT16"), e.rule());
                assertRejected("logits_dtype", () -> Fp8Ops.fp8PagedMqaLogits(ours, qa, qa, w, range, range, range,
                        8, false, bad));
            }
        }
    }

    @Test
    void pagedMetadataNeedsInt32ContextLengths() {
        assertRejected("context_lens", () -> Fp8Ops.getPagedMqaLogitsMetadata(ours, a.scales(), 64, 4));
    }
}
