package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** On a machine with an NVIDIA driver, the library must find its GPU backend (the bundle's first sanity check). */
@Tag("gpu")
class GpuBackendAvailabilityTest {

    @Test
    void machineWithNvidiaDriverGetsADeviceBackend() {
        assumeTrue(Files.exists(Path.of("/proc/driver/nvidia/version")), "no NVIDIA driver on this machine");
        Backend device = Backends.device();
        assertNotNull(device, "an NVIDIA driver is loaded but no device backend started (see the log for why)");
        System.out.println("device backend: " + device.name() + ", " + device.smCount() + " SMs");
    }
}
