package dev.deepgemm4j.it;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.TensorStorage;
import java.util.ArrayList;
import java.util.List;

/**
 * One prepared operator call. Inputs are generated in host memory, where the float64 reference reads them, and copied
 * once to where the benchmark runs ({@link #onTarget}); outputs are poisoned before that copy so that a check can see
 * which regions a call wrote. Tensors registered with {@link #own} are freed by {@link #close()}.
 */
abstract class Trial implements AutoCloseable {

    /** Byte pattern of a poisoned output (a finite BF16 / FP32 value no kernel produces from these inputs). */
    static final byte POISON = 0x7F;

    private final List<AutoCloseable> owned = new ArrayList<>();
    private final List<AutoCloseable> returned = new ArrayList<>();
    /** Where the operator's tensors live. */
    final Location location;

    Trial(Location location) {
        this.location = location;
    }

    /** Untimed, before each call: frees what the previous call returned, then {@link #prepare}s the next call. */
    final void beforeRun() {
        closeAll(returned);
        prepare();
    }

    /**
     * Untimed, before each call: puts back inputs the call overwrites (an output accumulated in place gets C again), so
     * that every call computes the same thing and the timed window holds the operator alone.
     */
    void prepare() {
    }

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

    /**
     * Keeps a tensor the operator returned until the next call (or {@link #close()}) frees it. Its storage is freed
     * rather than the tensor, so that a returned view of a padded buffer (MQA logits) frees the whole buffer; a
     * result that views one of this trial's own tensors (an input returned unchanged) is left alone.
     */
    final Tensor returned(Tensor t) {
        TensorStorage storage = t.storage();
        boolean input = owned.stream().anyMatch(o -> o instanceof Tensor own && own.storage() == storage
                || o instanceof Fp8Tensor pair && (pair.data().storage() == storage
                        || pair.scales().storage() == storage));
        if (!input && !returned.contains(storage)) {
            returned.add(storage);
        }
        return t;
    }

    /** Both halves of a returned operand, as {@link #returned(Tensor)}. */
    final Fp8Tensor returned(Fp8Tensor t) {
        returned(t.data());
        returned(t.scales());
        return t;
    }

    /** {@code host} where the benchmark runs: itself on the CPU, else a device copy this trial owns. */
    final Tensor onTarget(Tensor host) {
        Tensor placed = host.to(location);
        return placed == host ? host : own(placed);
    }

    /** Both halves of {@code host} where the benchmark runs. */
    final Fp8Tensor onTarget(Fp8Tensor host) {
        return new Fp8Tensor(onTarget(host.data()), onTarget(host.scales()));
    }

    @Override
    public final void close() {
        closeAll(returned);
        closeAll(owned);
    }

    private static void closeAll(List<AutoCloseable> tensors) {
        for (AutoCloseable t : tensors.reversed()) {
            try {
                t.close();
            } catch (Exception e) {
                throw new IllegalStateException("freeing a benchmark tensor failed", e);
            }
        }
        tensors.clear();
    }

    /**
     * The outcome of a comparison.
     *
     * @param calcDiff DeepGEMM's calc_diff between output and reference over the compared elements
     * @param problem a violated rule other than accuracy (an untouched region written, a wrong layout), or null
     * @param compared how many output elements were compared
     * @param sampled whether those were a sample of the output rather than all of it
     */
    record Check(double calcDiff, String problem, long compared, boolean sampled) {

        static Check of(double calcDiff, long compared, boolean sampled) {
            return new Check(calcDiff, null, compared, sampled);
        }

        /** A check of every element of {@code reference}. */
        static Check full(double[] output, double[] reference) {
            return new Check(Reference.calcDiff(output, reference), null, reference.length, false);
        }

        /** A check that found something wrong before comparing values. */
        static Check failed(String problem) {
            return new Check(Double.NaN, problem, 0, false);
        }

        Check withProblem(String p) {
            return p == null ? this : new Check(calcDiff, problem == null ? p : problem + "; " + p, compared, sampled);
        }
    }
}
