package dev.deepgemm4j.it;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;

/**
 * The few cuBLASLt entry points the baseline needs, bound with FFM. Constants are the values of CUDA 13's
 * {@code cublasLt.h}, {@code cublas_api.h} and {@code library_types.h}. Every call returns cuBLAS's status, which
 * {@link #check} turns into an exception.
 */
final class CublasLt implements AutoCloseable {

    /** Names the library is looked up by, newest first. */
    static final List<String> SONAMES = List.of("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so");
    /** System property (or, upper-cased with dots as underscores, environment variable) naming the library file. */
    static final String LIBRARY_PROPERTY = "deepgemm4j.cublasLt";

    static final int CUDA_R_32F = 0;
    static final int CUDA_R_16BF = 14;
    static final int CUDA_R_8F_E4M3 = 28;
    static final int COMPUTE_32F = 68;
    static final int OP_N = 0;
    static final int OP_T = 1;
    static final int DESC_TRANSA = 3;
    static final int DESC_TRANSB = 4;
    static final int DESC_A_SCALE_POINTER = 17;
    static final int DESC_B_SCALE_POINTER = 18;
    static final int DESC_A_SCALE_MODE = 31;
    static final int DESC_B_SCALE_MODE = 32;
    static final int SCALE_VEC128_32F = 4;
    static final int SCALE_BLK128X128_32F = 5;
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    /** The first version with block-scaled FP8 on Hopper (12.9.0). */
    static final long MIN_VERSION = 120900;

    /** {@code cublasLtMatmulHeuristicResult_t}: algo (8 × u64), workspaceSize, state, wavesCount, reserved[4]. */
    private static final long HEURISTIC_RESULT_BYTES = 96;
    private static final long HEURISTIC_WORKSPACE_OFFSET = 64;
    private static final long HEURISTIC_STATE_OFFSET = 72;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final MemoryLayout PTR = ValueLayout.ADDRESS;

    private final Arena arena = Arena.ofShared();
    private final Path library;
    private final MethodHandle destroy;
    private final MethodHandle descCreate;
    private final MethodHandle descDestroy;
    private final MethodHandle descSetAttribute;
    private final MethodHandle layoutCreate;
    private final MethodHandle layoutDestroy;
    private final MethodHandle prefCreate;
    private final MethodHandle prefDestroy;
    private final MethodHandle prefSetAttribute;
    private final MethodHandle heuristic;
    private final MethodHandle matmul;
    private final long version;
    private final MemorySegment handle;

    private CublasLt(Path library, SymbolLookup lookup) {
        this.library = library;
        Linker linker = Linker.nativeLinker();
        MethodHandle create = bind(linker, lookup, "cublasLtCreate", FunctionDescriptor.of(INT, PTR));
        MethodHandle getVersion = bind(linker, lookup, "cublasLtGetVersion", FunctionDescriptor.of(LONG));
        destroy = bind(linker, lookup, "cublasLtDestroy", FunctionDescriptor.of(INT, PTR));
        descCreate = bind(linker, lookup, "cublasLtMatmulDescCreate", FunctionDescriptor.of(INT, PTR, INT, INT));
        descDestroy = bind(linker, lookup, "cublasLtMatmulDescDestroy", FunctionDescriptor.of(INT, PTR));
        descSetAttribute = bind(linker, lookup, "cublasLtMatmulDescSetAttribute",
                FunctionDescriptor.of(INT, PTR, INT, PTR, LONG));
        layoutCreate = bind(linker, lookup, "cublasLtMatrixLayoutCreate",
                FunctionDescriptor.of(INT, PTR, INT, LONG, LONG, LONG));
        layoutDestroy = bind(linker, lookup, "cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(INT, PTR));
        prefCreate = bind(linker, lookup, "cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(INT, PTR));
        prefDestroy = bind(linker, lookup, "cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(INT, PTR));
        prefSetAttribute = bind(linker, lookup, "cublasLtMatmulPreferenceSetAttribute",
                FunctionDescriptor.of(INT, PTR, INT, PTR, LONG));
        heuristic = bind(linker, lookup, "cublasLtMatmulAlgoGetHeuristic",
                FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR, PTR, PTR, INT, PTR, PTR));
        matmul = bind(linker, lookup, "cublasLtMatmul", FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR, PTR,
                PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, LONG, PTR));
        try {
            version = (long) getVersion.invokeExact();
            MemorySegment out = arena.allocate(PTR);
            check((int) create.invokeExact(out), "cublasLtCreate");
            handle = out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Where cuBLASLt is looked for. */
    static final CudaLibrarySearch SEARCH = new CudaLibrarySearch(LIBRARY_PROPERTY, "DEEPGEMM4J_CUBLASLT", SONAMES,
            List.of("lib64", "targets/x86_64-linux/lib"));

    /**
     * Loads cuBLASLt from the first place {@link #SEARCH} finds it: the file {@value #LIBRARY_PROPERTY} names; the
     * CUDA toolkit ({@code $CUDA_HOME}, {@code $CUDA_PATH}, {@code /usr/local/cuda}: {@code lib64},
     * {@code targets/x86_64-linux/lib}); the {@code nvidia-cublas} Python wheels; the system's library path.
     *
     * @throws IllegalStateException naming the places searched when it is nowhere
     */
    static CublasLt load() {
        CudaLibrarySearch.Found found = SEARCH.open();
        return new CublasLt(found.library(), found.lookup());
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
        return linker.downcallHandle(lookup.find(name).orElseThrow(() -> new IllegalStateException(
                "libcublasLt has no " + name)), fd);
    }

    Path library() {
        return library;
    }

    /** The library's version, e.g. 130100 for 13.1.0. */
    long version() {
        return version;
    }

    static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed: " + statusName(status));
        }
    }

    /** cuBLAS's name for a status ({@code cublasStatus_t}). */
    static String statusName(int status) {
        String name = switch (status) {
            case 1 -> "NOT_INITIALIZED";
            case 3 -> "ALLOC_FAILED";
            case 7 -> "INVALID_VALUE";
            case 8 -> "ARCH_MISMATCH";
            case 11 -> "MAPPING_ERROR";
            case 13 -> "EXECUTION_FAILED";
            case 14 -> "INTERNAL_ERROR";
            case 15 -> "NOT_SUPPORTED";
            default -> "status";
        };
        return "CUBLAS_STATUS_" + name + " (" + status + ")";
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

    /** A matmul descriptor with FP32 compute and scale types. */
    MemorySegment createMatmulDesc() {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(PTR);
            check((int) descCreate.invokeExact(out, COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setInt(MemorySegment desc, int attribute, int value) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment buf = local.allocateFrom(INT, value);
            check((int) descSetAttribute.invokeExact(desc, attribute, buf, 4L), "cublasLtMatmulDescSetAttribute("
                    + attribute + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Sets a pointer-valued attribute (a device address). */
    void setPointer(MemorySegment desc, int attribute, long address) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment buf = local.allocateFrom(LONG, address);
            check((int) descSetAttribute.invokeExact(desc, attribute, buf, 8L), "cublasLtMatmulDescSetAttribute("
                    + attribute + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A column-major layout of {@code rows × cols} elements of {@code type} with leading dimension {@code ld}. */
    MemorySegment createLayout(int type, long rows, long cols, long ld) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(PTR);
            check((int) layoutCreate.invokeExact(out, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The heuristic's best algorithm for the problem, as a {@code cublasLtMatmulHeuristicResult_t} (its first 64
     * bytes are the algorithm), allowed {@code workspaceBytes} of workspace.
     */
    MemorySegment bestAlgorithm(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c,
            MemorySegment d, long workspaceBytes) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment prefOut = local.allocate(PTR);
            check((int) prefCreate.invokeExact(prefOut), "cublasLtMatmulPreferenceCreate");
            MemorySegment pref = prefOut.get(ValueLayout.ADDRESS, 0);
            try {
                check((int) prefSetAttribute.invokeExact(pref, PREF_MAX_WORKSPACE_BYTES,
                        local.allocateFrom(LONG, workspaceBytes), 8L), "cublasLtMatmulPreferenceSetAttribute");
                MemorySegment result = arena.allocate(HEURISTIC_RESULT_BYTES, 8);
                MemorySegment count = local.allocate(INT);
                check((int) heuristic.invokeExact(handle, desc, a, b, c, d, pref, 1, result, count),
                        "cublasLtMatmulAlgoGetHeuristic");
                if (count.get(INT, 0) < 1 || result.get(INT, HEURISTIC_STATE_OFFSET) != 0) {
                    throw new IllegalStateException("cuBLASLt has no algorithm for this problem");
                }
                if (result.get(LONG, HEURISTIC_WORKSPACE_OFFSET) > workspaceBytes) {
                    throw new IllegalStateException("cuBLASLt's algorithm needs more workspace than allowed");
                }
                return result;
            } finally {
                check((int) prefDestroy.invokeExact(pref), "cublasLtMatmulPreferenceDestroy");
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code D = alpha · op(A) · op(B) + beta · C} on {@code stream}; host scalars alpha and beta (FP32), device
     * addresses for the matrices and the workspace.
     */
    void matmul(MemorySegment desc, MemorySegment alphaBeta, long a, MemorySegment aLayout, long b,
            MemorySegment bLayout, long c, MemorySegment cLayout, long d, MemorySegment dLayout,
            MemorySegment algorithm, long workspace, long workspaceBytes, long stream) {
        try {
            check((int) matmul.invokeExact(handle, desc, alphaBeta, MemorySegment.ofAddress(a), aLayout,
                    MemorySegment.ofAddress(b), bLayout, alphaBeta.asSlice(4), MemorySegment.ofAddress(c), cLayout,
                    MemorySegment.ofAddress(d), dLayout, algorithm, MemorySegment.ofAddress(workspace),
                    workspaceBytes, MemorySegment.ofAddress(stream)), "cublasLtMatmul");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Host memory holding alpha = 1 then beta = 0 (FP32), as {@link #matmul} takes them. */
    MemorySegment alphaOneBetaZero() {
        MemorySegment s = arena.allocate(8, 4);
        s.set(ValueLayout.JAVA_FLOAT, 0, 1f);
        s.set(ValueLayout.JAVA_FLOAT, 4, 0f);
        return s;
    }

    void destroyDesc(MemorySegment desc) {
        try {
            check((int) descDestroy.invokeExact(desc), "cublasLtMatmulDescDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyLayout(MemorySegment layout) {
        try {
            check((int) layoutDestroy.invokeExact(layout), "cublasLtMatrixLayoutDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void close() {
        try {
            check((int) destroy.invokeExact(handle), "cublasLtDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }
}
