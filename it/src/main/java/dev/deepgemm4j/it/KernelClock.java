package dev.deepgemm4j.it;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Kernel durations as the CUDA profiler records them: CUPTI's activity records (GPU timestamps at each kernel's start
 * and end), bound with FFM. DeepGEMM's published and anchored figures are such durations (its benchmark reads them
 * through the PyTorch profiler), while CUDA events around a call also count the launch and the grid's ramp, 2–5 µs
 * that weigh on the short decode calls; with this clock the benchmark reports both.
 *
 * <p>One clock per process (CUPTI's activity buffers are process-wide). Between {@link #start()} and {@link #stop()}
 * every kernel that runs is recorded; memsets are not kernels to CUPTI. Offsets are those of CUDA 13's
 * {@code CUpti_ActivityKernel10}, where {@code kind}, {@code start} and {@code end} sit where every earlier kernel
 * record version has them.
 */
final class KernelClock {

    /** System property (or environment variable {@code DEEPGEMM4J_CUPTI}) naming the library file. */
    static final String LIBRARY_PROPERTY = "deepgemm4j.cupti";
    static final CudaLibrarySearch SEARCH = new CudaLibrarySearch(LIBRARY_PROPERTY, "DEEPGEMM4J_CUPTI",
            List.of("libcupti.so.13", "libcupti.so.12", "libcupti.so"),
            List.of("extras/CUPTI/lib64", "lib64", "targets/x86_64-linux/lib"));

    static final int ACTIVITY_KIND_KERNEL = 3;
    static final int ACTIVITY_KIND_CONCURRENT_KERNEL = 10;
    static final long RECORD_KIND_OFFSET = 0;
    static final long RECORD_START_OFFSET = 16;
    static final long RECORD_END_OFFSET = 24;
    private static final long BUFFER_BYTES = 4L << 20;
    private static final long BUFFER_ALIGN = 8;

    private static final ValueLayout PTR = ValueLayout.ADDRESS;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;

    /** Durations in nanoseconds, in the order CUPTI delivered them; filled by {@link #bufferCompleted}. */
    private static final ConcurrentLinkedQueue<Long> DURATIONS = new ConcurrentLinkedQueue<>();
    private static MethodHandle getNextRecord;
    private static MethodHandle alignedAlloc;
    private static MethodHandle free;

    private static KernelClock instance;
    private static String unavailable;

    private final Path library;
    private final MethodHandle enable;
    private final MethodHandle disable;
    private final MethodHandle flushAll;
    private boolean active;

    private KernelClock(Path library, SymbolLookup lookup) {
        this.library = library;
        Linker linker = Linker.nativeLinker();
        enable = bind(linker, lookup, "cuptiActivityEnable", FunctionDescriptor.of(INT, INT));
        disable = bind(linker, lookup, "cuptiActivityDisable", FunctionDescriptor.of(INT, INT));
        flushAll = bind(linker, lookup, "cuptiActivityFlushAll", FunctionDescriptor.of(INT, INT));
        MethodHandle register = bind(linker, lookup, "cuptiActivityRegisterCallbacks",
                FunctionDescriptor.of(INT, PTR, PTR));
        getNextRecord = bind(linker, lookup, "cuptiActivityGetNextRecord", FunctionDescriptor.of(INT, PTR, LONG, PTR));
        SymbolLookup libc = linker.defaultLookup();
        alignedAlloc = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                FunctionDescriptor.of(PTR, LONG, LONG));
        free = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(PTR));
        try {
            MethodHandles.Lookup self = MethodHandles.lookup();
            MemorySegment requested = linker.upcallStub(self.findStatic(KernelClock.class, "bufferRequested",
                    MethodType.methodType(void.class, MemorySegment.class, MemorySegment.class, MemorySegment.class)),
                    FunctionDescriptor.ofVoid(PTR, PTR, PTR), Arena.global());
            MemorySegment completed = linker.upcallStub(self.findStatic(KernelClock.class, "bufferCompleted",
                    MethodType.methodType(void.class, MemorySegment.class, int.class, MemorySegment.class, long.class,
                            long.class)),
                    FunctionDescriptor.ofVoid(PTR, INT, PTR, LONG, LONG), Arena.global());
            check((int) register.invokeExact(requested, completed), "cuptiActivityRegisterCallbacks");
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * The process's clock.
     *
     * @throws IllegalStateException when libcupti is not found or refuses to record activities
     */
    private static synchronized KernelClock open() {
        if (instance == null) {
            CudaLibrarySearch.Found found = SEARCH.open();
            instance = new KernelClock(found.library(), found.lookup());
        }
        return instance;
    }

    /** The process's clock, or null when there is none ({@link #unavailableReason()} says why). */
    static synchronized KernelClock openOrNull() {
        if (instance == null && unavailable == null) {
            try {
                open();
            } catch (RuntimeException | LinkageError e) {
                unavailable = e.getMessage();
            }
        }
        return instance;
    }

    /** Why {@link #openOrNull()} returned null, or null. */
    static synchronized String unavailableReason() {
        return unavailable;
    }

    Path library() {
        return library;
    }

    /**
     * Starts recording kernels (forgetting any recorded before).
     *
     * @return false when CUPTI refuses (another profiler holds it, say): then nothing is recorded
     */
    boolean start() {
        DURATIONS.clear();
        try {
            active = (int) enable.invokeExact(ACTIVITY_KIND_CONCURRENT_KERNEL) == 0;
        } catch (Throwable t) {
            active = false;
        }
        return active;
    }

    /**
     * Stops recording; the caller has waited for the kernels to finish.
     *
     * @return the duration of each kernel that ran since {@link #start()}, in microseconds, in delivery order; empty
     *     when CUPTI failed to deliver them
     */
    List<Double> stop() {
        if (active) {
            active = false;
            try {
                call(flushAll, 1, "cuptiActivityFlushAll");  // 1 = CUPTI_ACTIVITY_FLAG_FLUSH_FORCED
                call(disable, ACTIVITY_KIND_CONCURRENT_KERNEL, "cuptiActivityDisable");
            } catch (IllegalStateException e) {
                DURATIONS.clear();
                return List.of();
            }
        }
        List<Double> us = new ArrayList<>();
        for (Long ns; (ns = DURATIONS.poll()) != null;) {
            us.add(ns * 1e-3);
        }
        return us;
    }

    /** The total duration of the kernels {@link #stop()} returned, or null when none ran. */
    static Double totalMicros(List<Double> kernels) {
        return kernels.isEmpty() ? null : kernels.stream().mapToDouble(Double::doubleValue).sum();
    }

    // CUPTI calls these from its own threads or from inside cuptiActivityFlushAll: an exception escaping an upcall
    // would end the JVM, so both catch everything (a lost buffer only means a row without a kernel time).

    private static void bufferRequested(MemorySegment buffer, MemorySegment size, MemorySegment maxRecords) {
        try {
            MemorySegment memory = (MemorySegment) alignedAlloc.invokeExact(BUFFER_ALIGN, BUFFER_BYTES);
            buffer.reinterpret(PTR.byteSize()).set(ValueLayout.ADDRESS, 0, memory);
            size.reinterpret(LONG.byteSize()).set(LONG, 0, memory.equals(MemorySegment.NULL) ? 0 : BUFFER_BYTES);
            maxRecords.reinterpret(LONG.byteSize()).set(LONG, 0, 0L);
        } catch (Throwable t) {
            // CUPTI sees a zero-sized buffer and drops the records
        }
    }

    private static void bufferCompleted(MemorySegment context, int streamId, MemorySegment buffer, long size,
            long validBytes) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment record = local.allocate(PTR);
            MemorySegment data = buffer.reinterpret(size);
            while ((int) getNextRecord.invokeExact(data, validBytes, record) == 0) {
                MemorySegment r = record.get(ValueLayout.ADDRESS, 0).reinterpret(RECORD_END_OFFSET + 8);
                int kind = r.get(INT, RECORD_KIND_OFFSET);
                if (kind == ACTIVITY_KIND_CONCURRENT_KERNEL || kind == ACTIVITY_KIND_KERNEL) {
                    DURATIONS.add(r.get(LONG, RECORD_END_OFFSET) - r.get(LONG, RECORD_START_OFFSET));
                }
            }
        } catch (Throwable t) {
            // keep what was read
        } finally {
            try {
                free.invokeExact(buffer);
            } catch (Throwable ignored) {
                // nothing more to do
            }
        }
    }

    private static void call(MethodHandle h, int arg, String name) {
        try {
            check((int) h.invokeExact(arg), name);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed: CUPTI status " + status);
        }
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
        return linker.downcallHandle(lookup.find(name).orElseThrow(() -> new IllegalStateException(
                "libcupti has no " + name)), fd);
    }
}
