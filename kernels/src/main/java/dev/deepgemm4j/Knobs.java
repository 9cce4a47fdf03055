package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.jit.Jit;

/**
 * Process-wide runtime knobs (DeepGEMM's set_num_sms, set_tc_util, set_mk_alignment_for_contiguous_layout, and our
 * autotune switch).
 */
final class Knobs {

    private static volatile int numSms;
    private static volatile int tcUtil;
    private static volatile int mkAlignment = 128;
    /** Null: follow DG_AUTOTUNE. */
    private static volatile Boolean autotune;

    private Knobs() {
    }

    /** SMs of the best device (CPU: available processors), the ceiling for {@link #setNumSms}. */
    static int deviceSmCount() {
        return Backends.best().smCount();
    }

    static int numSms() {
        int n = numSms;
        return n > 0 ? n : deviceSmCount();
    }

    static void setNumSms(int n) {
        int max = deviceSmCount();
        if (n <= 0 || n > max) {
            throw new DeepGemmArgumentException("num_sms", "must be in [1, " + max + "] (the device's SM count), got "
                    + n);
        }
        numSms = n;
    }

    static int tcUtil() {
        return tcUtil == 0 ? 100 : tcUtil;
    }

    static void setTcUtil(int percent) {
        if (percent < 0 || percent > 100) {
            throw new DeepGemmArgumentException("tc_util", "must be in [0, 100], got " + percent);
        }
        tcUtil = percent;
    }

    static int mkAlignment() {
        return mkAlignment;
    }

    static void setMkAlignment(int alignment) {
        if (alignment < 16 || alignment > 1024 || Integer.bitCount(alignment) != 1) {
            throw new DeepGemmArgumentException("alignment", "must be a power of two in [16, 1024], got " + alignment);
        }
        mkAlignment = alignment;
    }

    static boolean autotune() {
        Boolean set = autotune;
        return set != null ? set : Jit.config().autotune();
    }

    static void setAutotune(boolean on) {
        autotune = on;
    }
}
