package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.LaunchArgs;

/** Marshalling shared by the launchers: a tensor as its kernel parameters, and checked narrowing to {@code int}. */
final class KernelArgs {

    private KernelArgs() {
    }

    /** The calling thread's parameter block, emptied. */
    static LaunchArgs begin() {
        return LaunchArgs.forCurrentThread();
    }

    /**
     * Appends {@code t} as the kernels take a tensor: the device address of element [0, …, 0], then its element
     * strides (i64) from the outermost dimension in.
     */
    static LaunchArgs tensor(LaunchArgs args, Tensor t) {
        args.addPointer(t);
        for (int d = 0; d < t.dim(); d++) {
            args.addLong(t.stride(d));
        }
        return args;
    }

    /** {@code value} as a kernel {@code int}. */
    static int toInt(long value, String what) {
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " = " + value + " exceeds the kernels' 32-bit range");
        }
        return (int) value;
    }
}
