package dev.deepgemm4j.it;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One prepared operator call: inputs and outputs allocated, the float64 reference ready. Tensors registered with
 * {@link #own} are freed by {@link #close()}.
 */
abstract class Trial implements AutoCloseable {

    private final List<AutoCloseable> owned = new ArrayList<>();

    /** Calls the operator once. */
    abstract void run();

    /** Compares the output of the last {@link #run()} with the reference. */
    abstract Check check();

    /** Registers a tensor this trial allocated. */
    final Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** Registers an operand this trial allocated. */
    final Fp8Tensor own(Fp8Tensor t) {
        owned.add(t);
        return t;
    }

    @Override
    public final void close() {
        for (AutoCloseable t : owned.reversed()) {
            try {
                t.close();
            } catch (Exception e) {
                throw new IllegalStateException("freeing a benchmark tensor failed", e);
            }
        }
        owned.clear();
    }

    /**
     * The outcome of a comparison.
     *
     * @param calcDiff DeepGEMM's calc_diff between output and reference over the meaningful elements
     * @param problem a violated rule other than accuracy (an untouched region written, a wrong layout), or null
     */
    record Check(double calcDiff, String problem) {

        static Check of(double calcDiff) {
            return new Check(calcDiff, null);
        }
    }
}
