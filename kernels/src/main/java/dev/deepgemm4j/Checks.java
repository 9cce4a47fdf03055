package dev.deepgemm4j;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Argument checks shared by every operation. Each failure is a {@link DeepGemmArgumentException} naming the
 * argument and the rule, raised before any work starts.
 */
final class Checks {

    private Checks() {
    }

    static DeepGemmArgumentException fail(String arg, String rule) {
        return new DeepGemmArgumentException(arg, rule);
    }

    static Tensor requireNonNull(String arg, Tensor t) {
        if (t == null) {
            throw fail(arg, "must not be null");
        }
        if (t.storage().isClosed()) {
            throw fail(arg, "its memory has been freed (tensor closed)");
        }
        return t;
    }

    static void requireDType(String arg, Tensor t, DType... allowed) {
        for (DType d : allowed) {
            if (t.dtype() == d) {
                return;
            }
        }
        throw fail(arg, "dtype must be " + (allowed.length == 1 ? allowed[0] : "one of " + Arrays.toString(allowed))
                + ", got " + t.dtype());
    }

    static void requireDim(String arg, Tensor t, int dims) {
        if (t.dim() != dims) {
            throw fail(arg, "must be " + dims + "-D, got shape " + Arrays.toString(t.shape()));
        }
    }

    /** Shape must equal {@code expected}; {@code what} describes it symbolically, e.g. "[M, ceil(K/128)]". */
    /** {@code t} is 2-D of shape [d0, d1] (no allocation: checks run on every launch). */
    static boolean hasShape(Tensor t, long d0, long d1) {
        return t.dim() == 2 && t.size(0) == d0 && t.size(1) == d1;
    }

    /** {@code t} is 3-D of shape [d0, d1, d2]. */
    static boolean hasShape(Tensor t, long d0, long d1, long d2) {
        return t.dim() == 3 && t.size(0) == d0 && t.size(1) == d1 && t.size(2) == d2;
    }

    /** {@link #requireShape(String, Tensor, String, long...)} for a 2-D shape, allocating only to report a mismatch. */
    static void requireShape(String arg, Tensor t, String what, long d0, long d1) {
        if (!hasShape(t, d0, d1)) {
            requireShape(arg, t, what, new long[] {d0, d1});
        }
    }

    static void requireShape(String arg, Tensor t, String what, long... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw fail(arg, "shape must be " + what + " = " + Arrays.toString(expected) + ", got "
                    + Arrays.toString(t.shape()));
        }
    }

    /** Innermost dimension must be unit-stride (row-major rows), as D, C and K-major operands need. */
    static void requireRowMajor(String arg, Tensor t) {
        if (t.size(-1) > 1 && t.stride(-1) != 1) {
            throw fail(arg, "must be row-major (stride(-1) == 1), got strides " + Arrays.toString(t.strides()));
        }
    }

    /** The byte pitch between rows (stride(-2)) must be a multiple of 16, as TMA requires. */
    static void requireRowPitchAligned(String arg, Tensor t) {
        if (t.size(-2) > 1) {
            long pitch = t.stride(-2) * t.dtype().byteSize();
            if (pitch % 16 != 0) {
                throw fail(arg, "row pitch must be a multiple of 16 bytes (TMA), got " + pitch + " bytes (stride(-2) = "
                        + t.stride(-2) + " x " + t.dtype().byteSize() + " B)");
            }
        }
    }

    /** A matrix operand (last two dims) must be K-major (stride(-1) == 1) or MN-major (stride(-2) == 1). */
    static void requireKOrMnMajor(String arg, Tensor t) {
        boolean kMajor = t.size(-1) <= 1 || t.stride(-1) == 1;
        boolean mnMajor = t.size(-2) <= 1 || t.stride(-2) == 1;
        if (!kMajor && !mnMajor) {
            throw fail(arg, "must be K-major (stride(-1) == 1) or MN-major (stride(-2) == 1), got strides "
                    + Arrays.toString(t.strides()));
        }
    }

    /** All tensors must live in the same place; names and tensors alternate: "a", a, "b", b, … */
    static void requireSameLocation(Object... namesAndTensors) {
        Location first = null;
        String firstName = null;
        for (int i = 0; i < namesAndTensors.length; i += 2) {
            Tensor t = (Tensor) namesAndTensors[i + 1];
            if (t == null) {
                continue;
            }
            if (first == null) {
                first = t.location();
                firstName = (String) namesAndTensors[i];
            } else if (!first.equals(t.location())) {
                throw fail((String) namesAndTensors[i], "must be on the same device as " + firstName + " (" + first
                        + "), got " + t.location());
            }
        }
    }

    /**
     * No two elements of an output may share memory (a zero stride, or rows closer than a row's length), or the
     * writes of different elements would race. Dims of size 1 do not matter; the others, taken by increasing stride,
     * must each step past everything the smaller ones reach.
     */
    static void requireNoSelfOverlap(String arg, Tensor t) {
        if (t.numel() == 0) {
            return;
        }
        Integer[] dims = IntStream.range(0, t.dim()).filter(d -> t.size(d) > 1).boxed()
                .sorted(Comparator.comparingLong(t::stride)).toArray(Integer[]::new);
        long reach = 0;
        for (int d : dims) {
            if (t.stride(d) <= reach) {
                throw fail(arg, "elements must not overlap (an output), got strides "
                        + Arrays.toString(t.strides()) + " for shape " + Arrays.toString(t.shape()));
            }
            reach += (t.size(d) - 1) * t.stride(d);
        }
    }

    /** The output must not share bytes with any input. */
    static void requireNoOverlap(String outArg, Tensor out, Object... namesAndTensors) {
        for (int i = 0; i < namesAndTensors.length; i += 2) {
            Tensor t = (Tensor) namesAndTensors[i + 1];
            if (t != null && t != out && out.overlaps(t)) {
                throw fail(outArg, "must not overlap input " + namesAndTensors[i]);
            }
        }
    }

    static void requirePositive(String arg, long value) {
        if (value <= 0) {
            throw fail(arg, "must be > 0, got " + value);
        }
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    static long align(long a, long b) {
        return ceilDiv(a, b) * b;
    }
}
