package dev.deepgemm4j.it;

import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuTimer;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.JitStats;

/** Where the benchmark's tensors live, and how one call is timed there. */
interface BenchTarget {

    /** Where the tensors live. */
    Location location();

    /** The backend that serves that location. */
    String backend();

    /** Whether this is a GPU. */
    boolean isGpu();

    /** Wall time of {@code call} until its work has completed, in milliseconds. */
    double wallMillis(Runnable call);

    /** The reported time of one call, in milliseconds (GPU: CUDA events, with the L2 cache flushed first). */
    double timedMillis(Runnable call);

    /** The JIT's counters, or null where no JIT runs. */
    JitStats jitStats();

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
            public double timedMillis(Runnable call) {
                return wallMillis(call);
            }

            @Override
            public JitStats jitStats() {
                return null;
            }
        };
    }

    /**
     * GPU {@code ordinal}, timed as DeepGEMM times its kernels: the L2 cache flushed (a memset of a large buffer on
     * the current stream) before each call, CUDA events recorded on that stream around the call alone.
     */
    static BenchTarget gpu(int ordinal) {
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
            public double wallMillis(Runnable call) {
                long start = System.nanoTime();
                call.run();
                Gpu.synchronize();
                return (System.nanoTime() - start) * 1e-6;
            }

            @Override
            public double timedMillis(Runnable call) {
                try (GpuTimer timer = new GpuTimer()) {
                    Gpu.flushL2();
                    timer.start();
                    call.run();
                    return timer.stopMillis();
                }
            }

            @Override
            public JitStats jitStats() {
                return Jit.stats();
            }
        };
    }
}
