package dev.deepgemm4j.gpu;

import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaEvent;
import dev.deepgemm4j.cuda.CudaException;
import dev.deepgemm4j.cuda.CudaOutOfMemoryException;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.heuristics.KernelConfig;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.jit.CompileException;
import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.SingleFlight;
import dev.deepgemm4j.jit.TunedChoices;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The opt-in tuner ({@code DeepGemm.setAutotune}, {@code DG_AUTOTUNE}): on a problem's first call it times the
 * heuristic's few best configurations on the caller's operands and keeps the fastest, in memory and in the JIT cache's
 * {@link TunedChoices}, so that later calls in any process launch it at once.
 *
 * <p>How a problem is timed: each candidate runs once untimed (which compiles and loads it), then {@value #TIMED_RUNS}
 * timed rounds go over all candidates in turn, so that a clock or power change affects them alike; before each timed
 * run a scratch buffer of twice the L2's size is overwritten, since a layer's weights are not in L2 when it runs in a
 * model. A candidate's time is the median of its runs between CUDA events on the caller's stream. The candidates write
 * into a scratch output, never the caller's. A candidate that fails to compile or launch is left out (the heuristic's
 * choice, the first candidate, is not: its failure is the call's); the first candidate also wins ties.
 *
 * <p>The kept choice is keyed by the device model (name, architecture, SM count), the problem and a fingerprint of the
 * candidates' kernel sources, so a changed kernel or candidate list is tuned again. A call whose stream is being
 * captured into a graph never tunes (synchronising would break the capture): it takes a kept choice or the heuristic's.
 * Threads of one process that meet a problem while another thread times it wait for that thread's choice; processes do
 * not coordinate (two that tune one problem at once disturb each other's timing).
 */
final class LaunchTuner {

    /** Timed runs per candidate. */
    static final int TIMED_RUNS = 5;
    /** Problems tuned (timed) by this process, for tests. */
    static final LongAdder TUNINGS = new LongAdder();
    private static final Logger LOG = Logger.getLogger(LaunchTuner.class.getName());
    private static final int MAX_KEPT = 4096;
    /** Kept choices by device ordinal and problem. */
    private static final Map<KeptKey, Launch<?>> KEPT = new ConcurrentHashMap<>();
    /** Problems being decided by a thread of this process. */
    private static final SingleFlight<KeptKey, Launch<?>> IN_FLIGHT = new SingleFlight<>();

    private LaunchTuner() {
    }

    /**
     * Runs of candidates into a scratch output, opened only when a problem is actually timed and closed (stream-ordered)
     * after it.
     */
    interface Trials<C extends KernelConfig> extends AutoCloseable {

        /** Queues one run of {@code candidate} on the device's current stream. */
        void run(Launch<C> candidate);

        @Override
        void close();
    }

    /** A tuned problem: a kernel family's GEMM of one shape planned for one SM count. */
    record Problem(String kernel, long m, long n, long k, int numSms) {
        @Override
        public String toString() {
            return kernel + " M=" + m + " N=" + n + " K=" + k + " SMs=" + numSms;
        }
    }

    /** The memo's key: a problem on one device (records, so that a call allocates no strings). */
    private record KeptKey(int ordinal, Problem problem) {
    }

    /**
     * The launch to use for {@code problem}: the kept choice, else the fastest of {@code candidates} as timed now,
     * else (while the stream is being captured) the first candidate.
     *
     * @param candidates the configurations to time, the heuristic's choice first; called on a miss only
     * @param trials the scratch runs; opened only if timing happens
     */
    static <C extends KernelConfig> Launch<C> choose(GpuDevice device, Problem problem,
            Supplier<List<Launch<C>>> candidates, Supplier<Trials<C>> trials) {
        KeptKey memoKey = new KeptKey(device.ordinal(), problem);
        Launch<C> kept = kept(memoKey);
        if (kept != null) {
            return kept;
        }
        List<Launch<C>> options = candidates.get();
        if (options.size() == 1) {
            return keep(memoKey, options.getFirst());
        }
        // Another thread timing the same problem would double the wait and skew both timings: wait for its choice.
        @SuppressWarnings("unchecked")
        Launch<C> chosen = (Launch<C>) IN_FLIGHT.run(memoKey, () -> decide(device, problem, memoKey, options, trials))
                .value();
        return chosen;
    }

    /** The choice for a problem no kept choice covered, made by the one thread of this process deciding it. */
    private static <C extends KernelConfig> Launch<C> decide(GpuDevice device, Problem problem, KeptKey memoKey,
            List<Launch<C>> options, Supplier<Trials<C>> trials) {
        Launch<C> kept = kept(memoKey); // kept by a thread that finished between this one's two looks
        if (kept != null) {
            return kept;
        }
        String key = device.modelName() + " | " + problem + " | " + fingerprint(options);
        Optional<TunedChoices> store = Jit.tunedChoices();
        Optional<Launch<C>> stored = store.flatMap(s -> s.get(key)).flatMap(id -> byId(options, id));
        if (stored.isPresent()) {
            if (Jit.config().printConfigs()) {
                System.out.printf("deepgemm4j: autotune %s: kept on disk -> %s%n", problem, id(stored.get()));
            }
            return keep(memoKey, stored.get());
        }
        if (device.stream().isCapturing()) {
            return options.getFirst();
        }
        double[] micros;
        try (Trials<C> runs = trials.get()) {
            micros = time(device, options, runs);
        } catch (CudaOutOfMemoryException e) {
            // Tuning must not fail a call that fits without it: untuned this time, tried again on the next call.
            LOG.fine("deepgemm4j autotune: no memory for the scratch buffers of " + problem + ": " + e.getMessage());
            return options.getFirst();
        }
        Launch<C> chosen = options.get(Math.max(0, fastest(micros))); // the first one ran (or threw): never -1
        TUNINGS.increment();
        store.ifPresent(s -> s.put(key, id(chosen)));
        if (Jit.config().printConfigs()) {
            StringBuilder b = new StringBuilder("deepgemm4j: autotune ").append(problem).append(':');
            for (int i = 0; i < options.size(); i++) {
                b.append(String.format("%n  %8.1f us  %s", micros[i], id(options.get(i))));
            }
            System.out.println(b.append(String.format("%n  -> %s", id(chosen))));
        }
        return keep(memoKey, chosen);
    }

    @SuppressWarnings("unchecked")
    private static <C extends KernelConfig> Launch<C> kept(KeptKey memoKey) {
        return (Launch<C>) KEPT.get(memoKey);
    }

    /** Forgets the choices kept in memory (tests: the next call reads the disk store). */
    static void forgetKeptInMemory() {
        KEPT.clear();
    }

    /**
     * The index of the fastest time (the first of equal ones), ignoring NaN (a candidate left out); -1 if all are NaN.
     */
    static int fastest(double[] micros) {
        int best = -1;
        for (int i = 0; i < micros.length; i++) {
            if (!Double.isNaN(micros[i]) && (best < 0 || micros[i] < micros[best])) {
                best = i;
            }
        }
        return best;
    }

    /** The median of {@code samples} (the mean of the middle two for an even count). */
    static double median(double[] samples) {
        double[] s = samples.clone();
        Arrays.sort(s);
        int h = s.length / 2;
        return s.length % 2 == 1 ? s[h] : (s[h - 1] + s[h]) / 2;
    }

    private static <C extends KernelConfig> Launch<C> keep(KeptKey memoKey, Launch<C> launch) {
        if (KEPT.size() >= MAX_KEPT) {
            KEPT.clear();
        }
        KEPT.put(memoKey, launch);
        return launch;
    }

    /** The median µs of each candidate, NaN for one that does not compile. */
    private static <C extends KernelConfig> double[] time(GpuDevice device, List<Launch<C>> options, Trials<C> runs) {
        int n = options.size();
        boolean[] usable = new boolean[n];
        for (int i = 0; i < n; i++) {
            try {
                runs.run(options.get(i));
                usable[i] = true;
            } catch (CompileException | CudaException e) {
                if (i == 0) {
                    throw e; // the heuristic's own choice: the call would fail without the tuner too
                }
                LOG.warning("deepgemm4j autotune: leaving out " + id(options.get(i)) + ": " + e.getMessage());
            }
        }
        CudaStream stream = device.stream();
        List<CudaEvent> events = new ArrayList<>();
        CudaEvent[][] start = new CudaEvent[n][TIMED_RUNS];
        CudaEvent[][] end = new CudaEvent[n][TIMED_RUNS];
        try (DeviceMemory flush = DeviceMemory.allocateAsync(stream, 2 * device.info().l2CacheBytes())) {
            for (int r = 0; r < TIMED_RUNS; r++) {
                for (int i = 0; i < n; i++) {
                    if (!usable[i]) {
                        continue;
                    }
                    CudaCopy.memsetD32Async(flush, 0, flush.byteSize() / 4, r, stream);
                    start[i][r] = event(device, events).record(stream);
                    runs.run(options.get(i));
                    end[i][r] = event(device, events).record(stream);
                }
            }
            stream.synchronize();
            double[] micros = new double[n];
            for (int i = 0; i < n; i++) {
                if (!usable[i]) {
                    micros[i] = Double.NaN;
                    continue;
                }
                double[] samples = new double[TIMED_RUNS];
                for (int r = 0; r < TIMED_RUNS; r++) {
                    samples[r] = 1000.0 * CudaEvent.elapsedMillis(start[i][r], end[i][r]);
                }
                micros[i] = median(samples);
            }
            return micros;
        } finally {
            for (CudaEvent e : events) {
                e.close();
            }
        }
    }

    private static CudaEvent event(GpuDevice device, List<CudaEvent> events) {
        CudaEvent e = CudaEvent.create(device.context());
        events.add(e);
        return e;
    }

    /** How a choice is named in the store: the configuration's description, which names every parameter. */
    static String id(Launch<?> launch) {
        return launch.config().toString();
    }

    private static <C extends KernelConfig> Optional<Launch<C>> byId(List<Launch<C>> options, String id) {
        return options.stream().filter(l -> id(l).equals(id)).findFirst();
    }

    /** A hash of the candidates' names and kernel sources. */
    static String fingerprint(List<? extends Launch<?>> options) {
        List<String> parts = new ArrayList<>();
        for (Launch<?> l : options) {
            parts.add(id(l));
            parts.add(l.config().source().code());
        }
        return TunedChoices.fingerprint(parts);
    }
}
