package dev.deepgemm4j.it;

import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuTimer;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.JitStats;
import java.util.function.Supplier;
import jcuda.driver.JCudaDriver;

/** Where the benchmark's tensors live, and how one call is timed there. */
interface BenchTarget {

    /** Host enqueue time the memsets before a timed call ({@link #REST_BYTES}, about 3 ms on an H100) surely hide. */
    long HIDDEN_ENQUEUE_NANOS = 1_000_000;
    /** Samples taken at most for one timed call before accepting one whose enqueue was not hidden. */
    int MAX_TIMING_ATTEMPTS = 5;
    /** How long a GPU is kept busy before the first timed row. */
    long CLOCK_WARM_UP_MS = 500;
    /**
     * Bytes written before each timed GPU call: 8 GB, as DeepGEMM's benchmark (and the anchors measured with it) does.
     * Beyond flushing L2 it gives the GPU a rest of a few milliseconds, so a long kernel starts with the power headroom
     * an isolated call has rather than the clocks a back-to-back run settles at under the power cap.
     */
    long REST_BYTES = 8L << 30;
    /** Bytes one {@link Gpu#flushL2()} writes at least. */
    long FLUSH_BYTES = 256L << 20;

    /** Where the tensors live. */
    Location location();

    /** The backend that serves that location. */
    String backend();

    /** Whether this is a GPU. */
    boolean isGpu();

    /** Wall time of {@code call} until its work has completed, in milliseconds. */
    double wallMillis(Runnable call);

    /**
     * The time of one call.
     *
     * @param millis the reported time in milliseconds (GPU: CUDA events, with the L2 cache flushed first)
     * @param kernelMicros the summed duration of the call's kernels as the profiler records them, in microseconds;
     *     null where that is not measured (on the CPU, or without CUPTI)
     */
    record Timing(double millis, Double kernelMicros) {
    }

    /**
     * Times one call. {@code beforeCall} runs untimed ahead of it, and again ahead of any sample taken again: a call
     * that accumulates into its output (D = C + A·B in place) must get C back before every run, or a retried sample
     * would leave C + 2·A·B behind for the check.
     */
    Timing timed(Runnable beforeCall, Runnable call);

    /** One sample of a timed call: its timing and how long the host took to enqueue it. */
    record Sample(Timing timing, long enqueueNanos) {
    }

    /**
     * Runs {@code beforeCall} then takes {@code sample}, again while the sample's enqueue took longer than
     * {@link #HIDDEN_ENQUEUE_NANOS} (host time inside the event window), at most {@link #MAX_TIMING_ATTEMPTS} times;
     * returns the last sample's timing.
     */
    static Timing firstHiddenSample(Runnable beforeCall, Supplier<Sample> sample) {
        for (int attempt = 1;; attempt++) {
            beforeCall.run();
            Sample s = sample.get();
            if (s.enqueueNanos() <= HIDDEN_ENQUEUE_NANOS || attempt == MAX_TIMING_ATTEMPTS) {
                return s.timing();
            }
        }
    }

    /** The JIT's counters, or null where no JIT runs. */
    JitStats jitStats();

    /**
     * One more call of a row inside a profiler range (GPU: between cuProfilerStart and cuProfilerStop, with the L2
     * flushed first, as when timed), so that a profiler started with its collection off sees exactly this call.
     */
    default void profiledRun(Runnable call) {
        call.run();
    }

    /** Brings the target to its steady state before the first row is timed (a GPU idles at low clocks). */
    default void warmUp() {
    }

    /** The clock that times the calls' kernels, or null where kernel time is not measured. */
    default KernelClock kernelClock() {
        return null;
    }

    /** The CPU reference backend, timed by wall clock. */
    static BenchTarget cpu() {
        return new BenchTarget() {
            @Override
            public Location location() {
                return Location.HOST;
            }

            @Override
            public String backend() {
                return Backends.cpu().name();
            }

            @Override
            public boolean isGpu() {
                return false;
            }

            @Override
            public double wallMillis(Runnable call) {
                long start = System.nanoTime();
                call.run();
                return (System.nanoTime() - start) * 1e-6;
            }

            @Override
            public Timing timed(Runnable beforeCall, Runnable call) {
                beforeCall.run();
                return new Timing(wallMillis(call), null);
            }

            @Override
            public JitStats jitStats() {
                return null;
            }
        };
    }

    /**
     * GPU {@code ordinal}, timed as DeepGEMM times its kernels: {@link #REST_BYTES} of memsets on the current stream
     * before each call (which also flush the L2 cache), CUDA events recorded on that stream around the call alone,
     * and the call's kernels timed by {@code kernelClock} (null: not).
     */
    static BenchTarget gpu(int ordinal, KernelClock kernelClock) {
        Location location = Location.cuda(ordinal);
        String backend = Backends.forLocation("tensors", location).name();
        return new BenchTarget() {
            @Override
            public Location location() {
                return location;
            }

            @Override
            public String backend() {
                return backend;
            }

            @Override
            public boolean isGpu() {
                return true;
            }

            @Override
            public KernelClock kernelClock() {
                return kernelClock;
            }

            @Override
            public double wallMillis(Runnable call) {
                long start = System.nanoTime();
                call.run();
                Gpu.synchronize();
                return (System.nanoTime() - start) * 1e-6;
            }

            /**
             * The memsets keep the GPU busy for milliseconds, long enough to hide the host's enqueue of a warm call. A
             * call whose enqueue outlasts it (the JVM still interpreting that path, a GC pause) would put host time in
             * the event window, so such a sample is taken again.
             */
            @Override
            public Timing timed(Runnable beforeCall, Runnable call) {
                try (GpuTimer timer = new GpuTimer()) {
                    return firstHiddenSample(beforeCall, () -> {
                        for (long written = 0; written < REST_BYTES; written += FLUSH_BYTES) {
                            Gpu.flushL2();
                        }
                        boolean clocked = kernelClock != null && kernelClock.start();
                        timer.start();
                        long enqueueStart = System.nanoTime();
                        call.run();
                        long enqueueNanos = System.nanoTime() - enqueueStart;
                        double ms = timer.stopMillis();
                        Double kernelUs = clocked ? KernelClock.totalMicros(kernelClock.stop()) : null;
                        return new Sample(new Timing(ms, kernelUs), enqueueNanos);
                    });
                }
            }

            @Override
            public JitStats jitStats() {
                return Jit.stats();
            }

            @Override
            public void profiledRun(Runnable call) {
                Gpu.flushL2();
                Gpu.synchronize();
                JCudaDriver.cuProfilerStart();
                try {
                    call.run();
                    Gpu.synchronize();
                } finally {
                    JCudaDriver.cuProfilerStop();
                }
            }

            /** Keeps the GPU busy with memsets for {@link #CLOCK_WARM_UP_MS}, so that its clocks have ramped up. */
            @Override
            public void warmUp() {
                long end = System.nanoTime() + CLOCK_WARM_UP_MS * 1_000_000L;
                while (System.nanoTime() < end) {
                    for (int i = 0; i < 50; i++) {
                        Gpu.flushL2();
                    }
                    Gpu.synchronize();
                }
            }
        };
    }
}
