package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

class GpuTargetTest {

    @Test
    void parsesComputeCapabilities() {
        assertEquals(GpuTarget.H100_SXM, GpuTarget.parse("9.0", 132));
        GpuTarget blackwell = GpuTarget.parse(" 10.0 ", 148);
        assertEquals(10, blackwell.major());
        assertEquals(0, blackwell.minor());
        assertEquals("10.0", blackwell.computeCapability());
        assertEquals(new GpuTarget(8, 9, 128), GpuTarget.parse("8.9", 128));
    }

    @Test
    void rejectsWhatIsNotAComputeCapabilityOrSmCount() {
        for (String bad : new String[] {"9", "9.", ".0", "9.10", "sm_90", "", "nine.zero"}) {
            var e = assertThrows(DeepGemmArgumentException.class, () -> GpuTarget.parse(bad, 132), bad);
            assertEquals("computeCapability", e.argument());
        }
        assertEquals("computeCapability",
                assertThrows(DeepGemmArgumentException.class, () -> GpuTarget.parse(null, 132)).argument());
        assertEquals("numSms", assertThrows(DeepGemmArgumentException.class, () -> GpuTarget.parse("9.0", 0))
                .argument());
        assertEquals("computeCapability", assertThrows(DeepGemmArgumentException.class,
                () -> new GpuTarget(0, 0, 132)).argument());
        assertEquals("computeCapability", assertThrows(DeepGemmArgumentException.class,
                () -> new GpuTarget(9, -1, 132)).argument());
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new GpuTarget(9, 0, 114));
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(new GpuTarget(9, 0, 114), in.readObject());
        }
    }
}
