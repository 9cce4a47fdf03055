package dev.deepgemm4j.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * FFM bindings of the CUDA driver calls that JCuda lacks or makes slow: kernel launches ({@code cuLaunchKernel},
 * {@code cuLaunchKernelEx} with cluster and programmatic-dependent-launch attributes), {@code cuTensorMapEncodeTiled},
 * and the current-context get/set on the launch path. Handles and device pointers travel as raw {@code long}s.
 *
 * <p>Symbols are resolved through {@code cuGetProcAddress_v2} (asking for the CUDA 12.0 ABI with legacy-stream
 * semantics, as JCuda uses), so the versioned variant {@code cuda.h} would pick is the one bound; a driver without
 * it falls back to plain symbol lookup. The library is {@code libcuda.so.1} unless the system property
 * {@value #DRIVER_LIB_PROPERTY} names another (tests point it at a fake driver).
 *
 * <p>Every call returns the raw {@code CUresult}; callers turn failures into {@link CudaException}s with context.
 */
public final class CudaDriverFfm {

    /** System property naming the driver library (a path, or a soname for the dynamic loader to search). */
    public static final String DRIVER_LIB_PROPERTY = "deepgemm4j.cuda.driverLib";
    static final String DEFAULT_DRIVER_LIB = "libcuda.so.1";

    /** The ABI version asked of cuGetProcAddress: every call bound here exists in this form since CUDA 12.0. */
    private static final int ABI_VERSION = 12000;
    private static final long CU_GET_PROC_ADDRESS_LEGACY_STREAM = 1;
    /** {@code CU_MEMPOOL_ATTR_RELEASE_THRESHOLD} of cuda.h. */
    private static final int CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final ThreadLocal<MemorySegment> OUT_SLOT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(JAVA_LONG));

    private final String library;
    private final boolean viaProcAddress;
    private final MethodHandle cuInit;
    private final MethodHandle cuDriverGetVersion;
    private final MethodHandle cuCtxGetCurrent;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuLaunchKernelEx;
    private final MethodHandle cuTensorMapEncodeTiled;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetDefaultMemPool;
    private final MethodHandle cuMemPoolSetAttribute;

    private CudaDriverFfm(String library, SymbolLookup lookup) {
        this.library = library;
        MethodHandle getProc = lookup.find("cuGetProcAddress_v2")
                .map(s -> LINKER.downcallHandle(s,
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS)))
                .orElse(null);
        this.viaProcAddress = getProc != null;
        Resolver r = new Resolver(lookup, getProc);
        cuInit = r.bind("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuDriverGetVersion = r.bind("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuCtxGetCurrent = r.bind("cuCtxGetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuCtxSetCurrent = r.bind("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        cuLaunchKernel = r.bind("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
        cuLaunchKernelEx = r.bind("cuLaunchKernelEx",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
        cuTensorMapEncodeTiled = r.bind("cuTensorMapEncodeTiled", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        cuDeviceGet = r.bind("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetDefaultMemPool = r.bind("cuDeviceGetDefaultMemPool",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuMemPoolSetAttribute = r.bind("cuMemPoolSetAttribute",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
    }

    /**
     * Opens a driver library: a path (anything with a {@code /}) or a soname searched by the dynamic loader.
     *
     * @throws IllegalArgumentException if the library cannot be loaded or lacks a required symbol
     */
    public static CudaDriverFfm open(String library) {
        SymbolLookup lookup = library.contains("/")
                ? SymbolLookup.libraryLookup(Path.of(library), Arena.global())
                : SymbolLookup.libraryLookup(library, Arena.global());
        return new CudaDriverFfm(library, lookup);
    }

    /** The library name or path this binding was opened from. */
    public String library() {
        return library;
    }

    /** Whether the symbols were resolved through {@code cuGetProcAddress_v2} rather than by name. */
    public boolean resolvedThroughProcAddress() {
        return viaProcAddress;
    }

    /** {@code cuInit(flags)}. */
    public int init(int flags) {
        try {
            return (int) cuInit.invokeExact(flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuDriverGetVersion}: the driver's CUDA version as 1000 × major + 10 × minor, or -1 on failure. */
    public int driverVersion() {
        MemorySegment out = OUT_SLOT.get();
        try {
            int r = (int) cuDriverGetVersion.invokeExact(out);
            return r == CudaException.SUCCESS ? out.get(JAVA_INT, 0) : -1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuCtxGetCurrent}: the calling thread's current context handle (0 for none). */
    public long currentContext() {
        MemorySegment out = OUT_SLOT.get();
        try {
            CudaException.check((int) cuCtxGetCurrent.invokeExact(out), "cuCtxGetCurrent");
            return out.get(JAVA_LONG, 0);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuCtxSetCurrent(context)}. */
    public int setCurrentContext(long context) {
        try {
            return (int) cuCtxSetCurrent.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuLaunchKernel(function, grid, block, sharedMemBytes, stream, kernelParams, NULL)}. */
    public int launchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
            int sharedMemBytes, long stream, MemorySegment kernelParams) {
        try {
            return (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                    sharedMemBytes, stream, kernelParams, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuLaunchKernelEx(config, function, kernelParams, NULL)}; {@code config} is a filled CUlaunchConfig. */
    public int launchKernelEx(MemorySegment config, long function, MemorySegment kernelParams) {
        try {
            return (int) cuLaunchKernelEx.invokeExact(config, function, kernelParams, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code cuTensorMapEncodeTiled}. The arrays are native {@code cuuint64_t[rank]} dims,
     * {@code cuuint64_t[rank - 1]} byte strides and {@code cuuint32_t[rank]} box dims and element strides; the enum
     * arguments are the raw {@code cuda.h} values.
     */
    public int tensorMapEncodeTiled(MemorySegment map, int dataType, int rank, long globalAddress,
            MemorySegment globalDims, MemorySegment globalStrides, MemorySegment boxDims,
            MemorySegment elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill) {
        try {
            return (int) cuTensorMapEncodeTiled.invokeExact(map, dataType, rank, globalAddress, globalDims,
                    globalStrides, boxDims, elementStrides, interleave, swizzle, l2Promotion, oobFill);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Sets the release threshold of device {@code ordinal}'s default memory pool (the pool {@code cuMemAllocAsync}
     * draws from): freed memory up to that many bytes stays reserved for reuse at the next synchronisation instead of
     * going back to the system. Returns the first failing call's CUresult, or 0.
     */
    public int setDefaultPoolReleaseThreshold(int ordinal, long bytes) {
        MemorySegment out = OUT_SLOT.get();
        try {
            int r = (int) cuDeviceGet.invokeExact(out, ordinal);
            if (r != CudaException.SUCCESS) {
                return r;
            }
            r = (int) cuDeviceGetDefaultMemPool.invokeExact(out, out.get(JAVA_INT, 0));
            if (r != CudaException.SUCCESS) {
                return r;
            }
            long pool = out.get(JAVA_LONG, 0);
            out.set(JAVA_LONG, 0, bytes);
            return (int) cuMemPoolSetAttribute.invokeExact(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, out);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** Finds driver entry points, through cuGetProcAddress_v2 when the driver has it. */
    private record Resolver(SymbolLookup lookup, MethodHandle getProc) {

        MethodHandle bind(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(find(name), descriptor);
        }

        private MemorySegment find(String name) {
            if (getProc != null) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment pfn = arena.allocate(ADDRESS);
                    MemorySegment status = arena.allocate(JAVA_INT);
                    int r = (int) getProc.invokeExact(arena.allocateFrom(name), pfn, ABI_VERSION,
                            CU_GET_PROC_ADDRESS_LEGACY_STREAM, status);
                    MemorySegment fn = pfn.get(ADDRESS, 0);
                    if (r == CudaException.SUCCESS && status.get(JAVA_INT, 0) == 0 && fn.address() != 0) {
                        return fn;
                    }
                } catch (Throwable t) {
                    throw rethrow(t);
                }
            }
            return lookup.find(name).orElseThrow(
                    () -> new IllegalArgumentException("the CUDA driver has no symbol " + name));
        }
    }
}
