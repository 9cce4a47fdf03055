package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Without a usable GPU the GPU API says why, reports no devices, and refuses device work with that reason. */
class GpuUnavailableTest {

    @BeforeAll
    static void noGpu() {
        assumeFalse(Gpu.isAvailable(), "a GPU is usable here");
    }

    @Test
    void reportsWhyAndNoDevices() {
        String reason = Gpu.unavailableReason();
        assertNotNull(reason);
        assertFalse(reason.isBlank());
        assertEquals(0, Gpu.deviceCount());
        IllegalStateException e = assertThrows(IllegalStateException.class, Gpu::synchronize);
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertThrows(IllegalStateException.class, () -> Gpu.deviceName(0));
        assertThrows(IllegalStateException.class, () -> Gpu.wrap(new CUdeviceptr(), 16, DType.FP32,
                new long[] {4}, new long[] {1}, 0));
    }

    @Test
    void deviceTensorsAreRefusedWithTheArgumentNamed() {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class,
                () -> Tensor.zeros(Location.cuda(0), DType.FP32, 4));
        assertEquals("location", e.argument());
        // Host work is unaffected.
        assertEquals(2, DeepGemm.perTokenCastToFp8(Tensor.zeros(DType.FP32, 2, 128), false).data().size(0));
    }
}
