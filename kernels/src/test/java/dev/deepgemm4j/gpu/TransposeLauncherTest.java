package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Tensor;
import org.junit.jupiter.api.Test;

/** The byte transpose launcher's argument rules, checked before it touches a device (so on host tensors here). */
class TransposeLauncherTest {

    @Test
    void rejectsOperandsTheKernelCannotAddress() {
        Tensor src = Tensor.zeros(DType.UINT8, 5, 7);
        assertRejected("dst must have shape [7, 5]", src, Tensor.zeros(DType.UINT8, 5, 7));
        assertRejected("dst must have shape [2, 7, 5]", Tensor.zeros(DType.UINT8, 2, 5, 7),
                Tensor.zeros(DType.UINT8, 7, 5));
        assertRejected("src must be a rank-2 or rank-3 tensor of 1-byte elements", Tensor.zeros(DType.BF16, 5, 7),
                Tensor.zeros(DType.UINT8, 7, 5));
        assertRejected("src must be a rank-2 or rank-3 tensor", Tensor.zeros(DType.UINT8, 35),
                Tensor.zeros(DType.UINT8, 35));
        assertRejected("src must have unit column stride", Tensor.zeros(DType.UINT8, 7, 5).t(),
                Tensor.zeros(DType.UINT8, 7, 5));
        assertRejected("dst must have unit column stride", src, Tensor.zeros(DType.UINT8, 5, 7).t());
    }

    private static void assertRejected(String message, Tensor src, Tensor dst) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TransposeLauncher.transpose(null, src, dst));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }
}
