package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Target names per compute capability and compiler version, and the ptxas report parser. */
class TargetArchTest {

    @Test
    void targetsPerDevice() {
        assertEquals("sm_90a", TargetArch.forDevice(9, 0, 13, 0));
        assertEquals("sm_90a", TargetArch.forDevice(9, 0, 12, 3));
        assertEquals("sm_100f", TargetArch.forDevice(10, 0, 13, 0));
        assertEquals("sm_100f", TargetArch.forDevice(10, 0, 12, 9));
        assertEquals("sm_100a", TargetArch.forDevice(10, 0, 12, 8));
        assertEquals("sm_103f", TargetArch.forDevice(10, 3, 13, 0));
        assertEquals("sm_120f", TargetArch.forDevice(12, 0, 13, 0));
        assertEquals("sm_89", TargetArch.forDevice(8, 9, 13, 0));
        assertEquals("sm_80", TargetArch.forDevice(8, 0, 13, 0));
        assertThrows(IllegalArgumentException.class, () -> TargetArch.forDevice(0, 0, 13, 0));
        assertTrue(TargetArch.isCubinTarget("sm_90a"));
        assertTrue(TargetArch.isCubinTarget("sm_100f"));
        assertFalse(TargetArch.isCubinTarget("compute_90a"));
    }

    @Test
    void ptxasReportOfARealNvccLog() {
        String log = """
                ptxas warning : Local memory used for function 'spill', size of stack frame: 256 bytes
                ptxas info    : 0 bytes gmem
                ptxas info    : Compiling entry function 'spill' for 'sm_90a'
                ptxas info    : Function properties for spill
                    256 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
                ptxas info    : Used 32 registers, used 0 barriers, 256 bytes cumulative stack size
                ptxas info    : Compiling entry function 'add_one' for 'sm_90a'
                ptxas info    : Function properties for add_one
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 8 registers, used 0 barriers
                """;
        assertEquals(new PtxasReport(true, 32, 256, 8, 12, true), PtxasReport.parse(log));
        assertTrue(PtxasReport.parse(log).usesLocalMemory());
        PtxasReport clean = PtxasReport.parse(log.lines().skip(6).reduce("", (a, b) -> a + b + "\n"));
        assertEquals(new PtxasReport(true, 8, 0, 0, 0, false), clean);
        assertFalse(clean.usesLocalMemory());
        assertFalse(PtxasReport.parse("nothing here").found());
    }
}
