package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The knobs are process-wide: every test restores what it changes. */
class KnobsTest {

    private static void assertRejected(String argument, Runnable call) {
        DeepGemmArgumentException e = assertThrows(DeepGemmArgumentException.class, call::run);
        assertEquals(argument, e.argument());
        assertTrue(e.getMessage().startsWith(argument + ": "), e.getMessage());
    }

    @Test
    void numSmsDefaultsToTheDeviceAndAcceptsOnlyItsRange() {
        int device = Knobs.deviceSmCount();
        int before = DeepGemm.getNumSms();
        assertTrue(device >= 1);
        try {
            DeepGemm.setNumSms(1);
            assertEquals(1, DeepGemm.getNumSms());
            DeepGemm.setNumSms(device);
            assertEquals(device, DeepGemm.getNumSms());
            assertRejected("num_sms", () -> DeepGemm.setNumSms(0));
            assertRejected("num_sms", () -> DeepGemm.setNumSms(-4));
            assertRejected("num_sms", () -> DeepGemm.setNumSms(device + 1));
            assertEquals(device, DeepGemm.getNumSms(), "a rejected value changes nothing");
        } finally {
            DeepGemm.setNumSms(before);
        }
        assertEquals(before, DeepGemm.getNumSms());
    }

    @Test
    void tcUtilIsAPercentageWhereZeroMeansFull() {
        int before = DeepGemm.getTcUtil();
        try {
            DeepGemm.setTcUtil(0);
            assertEquals(100, DeepGemm.getTcUtil());
            DeepGemm.setTcUtil(37);
            assertEquals(37, DeepGemm.getTcUtil());
            DeepGemm.setTcUtil(100);
            assertEquals(100, DeepGemm.getTcUtil());
            assertRejected("tc_util", () -> DeepGemm.setTcUtil(-1));
            assertRejected("tc_util", () -> DeepGemm.setTcUtil(101));
            assertEquals(100, DeepGemm.getTcUtil());
        } finally {
            DeepGemm.setTcUtil(before);
        }
    }

    @Test
    void mkAlignmentIsAPowerOfTwoFrom16To1024() {
        assertEquals(128, DeepGemm.getMkAlignmentForContiguousLayout(), "default");
        try {
            for (int alignment = 16; alignment <= 1024; alignment *= 2) {
                DeepGemm.setMkAlignmentForContiguousLayout(alignment);
                assertEquals(alignment, DeepGemm.getMkAlignmentForContiguousLayout());
            }
            for (int bad : new int[] {0, 8, 48, 100, 2048, -128}) {
                assertRejected("alignment", () -> DeepGemm.setMkAlignmentForContiguousLayout(bad));
            }
            assertEquals(1024, DeepGemm.getMkAlignmentForContiguousLayout());
        } finally {
            DeepGemm.setMkAlignmentForContiguousLayout(128);
        }
        assertEquals(128, DeepGemm.getMkAlignmentForContiguousLayout());
    }
}
