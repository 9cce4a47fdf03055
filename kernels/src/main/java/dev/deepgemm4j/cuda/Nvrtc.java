package dev.deepgemm4j.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * NVRTC through FFM, for any installed major version (JCuda's own binding needs {@code libnvrtc.so.12}). The library
 * is found by {@link NvrtcLocator}; the CUDA include directory next to it is reported for {@code --include-path},
 * since NVRTC 13 has no built-in CUDA headers.
 *
 * <p>Programs are compiled with the options given; a real {@code sm_XX} target yields a CUBIN, a {@code compute_XX}
 * target only PTX (then {@link Result#cubin()} is null). Compiling distinct programs from several threads is safe.
 */
public final class Nvrtc {

    /** {@code NVRTC_SUCCESS}. */
    private static final int SUCCESS = 0;
    private static final Linker LINKER = Linker.nativeLinker();

    /**
     * The outcome of one compilation.
     *
     * @param success whether {@code nvrtcCompileProgram} succeeded
     * @param log the program log (compiler diagnostics and, with {@code --ptxas-options=-v}, the ptxas report)
     * @param cubin the CUBIN, or null (failure, or a PTX-only target)
     * @param ptx the PTX, or null when not available
     */
    public record Result(boolean success, String log, byte[] cubin, byte[] ptx) {
    }

    private final Path library;
    private final String version;
    private final Optional<Path> includeDir;
    private final MethodHandle createProgram;
    private final MethodHandle compileProgram;
    private final MethodHandle destroyProgram;
    private final MethodHandle logSize;
    private final MethodHandle log;
    private final MethodHandle cubinSize;
    private final MethodHandle cubin;
    private final MethodHandle ptxSize;
    private final MethodHandle ptx;
    private final MethodHandle errorString;

    private Nvrtc(Path library, SymbolLookup lookup, Optional<Path> includeDir) {
        this.library = library;
        this.includeDir = includeDir;
        MethodHandle versionFn = bind(lookup, "nvrtcVersion", ADDRESS, ADDRESS);
        createProgram = bind(lookup, "nvrtcCreateProgram", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        compileProgram = bind(lookup, "nvrtcCompileProgram", JAVA_LONG, JAVA_INT, ADDRESS);
        destroyProgram = bind(lookup, "nvrtcDestroyProgram", ADDRESS);
        logSize = bind(lookup, "nvrtcGetProgramLogSize", JAVA_LONG, ADDRESS);
        log = bind(lookup, "nvrtcGetProgramLog", JAVA_LONG, ADDRESS);
        cubinSize = bind(lookup, "nvrtcGetCUBINSize", JAVA_LONG, ADDRESS);
        cubin = bind(lookup, "nvrtcGetCUBIN", JAVA_LONG, ADDRESS);
        ptxSize = bind(lookup, "nvrtcGetPTXSize", JAVA_LONG, ADDRESS);
        ptx = bind(lookup, "nvrtcGetPTX", JAVA_LONG, ADDRESS);
        errorString = LINKER.downcallHandle(lookup.find("nvrtcGetErrorString").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            check((int) versionFn.invokeExact(major, minor), "nvrtcVersion");
            this.version = major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw asRuntime(t);
        }
    }

    private static MethodHandle bind(SymbolLookup lookup, String name, java.lang.foreign.MemoryLayout... args) {
        MemorySegment symbol = lookup.find(name)
                .orElseThrow(() -> new IllegalArgumentException("libnvrtc has no symbol " + name));
        return LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    /**
     * Loads NVRTC from the first loadable {@link NvrtcLocator#system()} candidate, then by soname through the dynamic
     * loader.
     *
     * @throws IllegalStateException listing every place tried if none loads
     */
    public static Nvrtc load() {
        return load(NvrtcLocator.system(), List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"));
    }

    /** Loads from {@code locator}'s existing candidates, then from {@code sonames} through the dynamic loader. */
    static Nvrtc load(NvrtcLocator locator, List<String> sonames) {
        List<String> failures = new ArrayList<>();
        for (Path candidate : locator.existing()) {
            try {
                return open(candidate, locator);
            } catch (RuntimeException e) {
                failures.add(candidate + ": " + e.getMessage());
            }
        }
        for (String soname : sonames) {
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(soname, Arena.global());
                return new Nvrtc(null, lookup, locator.includeDir(null));
            } catch (RuntimeException e) {
                failures.add(soname + ": " + e.getMessage());
            }
        }
        throw new IllegalStateException("NVRTC not found (set NVRTC_LIB or CUDA_HOME); looked at "
                + locator.candidates() + "; load failures: " + failures);
    }

    /** Loads NVRTC from {@code library}, preloading {@code libnvrtc-builtins} from the same directory if present. */
    public static Nvrtc open(Path library, NvrtcLocator locator) {
        preloadBuiltins(library.toAbsolutePath().getParent());
        SymbolLookup lookup = SymbolLookup.libraryLookup(library, Arena.global());
        return new Nvrtc(library, lookup, locator.includeDir(library.toAbsolutePath()));
    }

    /**
     * libnvrtc dlopens its builtins library by soname at compile time; when its directory is not on the loader's
     * path that fails (NVRTC_ERROR_BUILTIN_OPERATION_FAILURE) unless the builtins are already loaded.
     */
    private static void preloadBuiltins(Path dir) {
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().matches("libnvrtc-builtins\\.so\\.\\d+(\\.\\d+)*"))
                    .sorted()
                    .findFirst()
                    .ifPresent(p -> SymbolLookup.libraryLookup(p, Arena.global()));
        } catch (IOException | RuntimeException e) {
            // Optional: compilation reports the real problem if the builtins are needed and missing.
        }
    }

    /** The library file, or null when it was found by soname. */
    public Path library() {
        return library;
    }

    /** "major.minor", e.g. "13.0". */
    public String version() {
        return version;
    }

    /** The CUDA include directory to pass as {@code --include-path}, if one was found. */
    public Optional<Path> includeDir() {
        return includeDir;
    }

    /** Compiles {@code source} (named {@code name} in diagnostics) with {@code options}. */
    public Result compile(String source, String name, List<String> options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment progSlot = arena.allocate(ADDRESS);
            check((int) createProgram.invokeExact(progSlot, arena.allocateFrom(source), arena.allocateFrom(name), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            long prog = progSlot.get(JAVA_LONG, 0);
            try {
                MemorySegment argv = arena.allocate(ADDRESS, Math.max(options.size(), 1));
                for (int i = 0; i < options.size(); i++) {
                    argv.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                }
                int r = (int) compileProgram.invokeExact(prog, options.size(), argv);
                String text = new String(fetch(arena, prog, logSize, log), java.nio.charset.StandardCharsets.UTF_8);
                text = text.replace("\0", "");
                if (r != SUCCESS) {
                    return new Result(false, text + (text.isEmpty() ? "" : "\n") + errorName(r), null, null);
                }
                return new Result(true, text, fetch(arena, prog, cubinSize, cubin), stripNul(fetch(arena, prog,
                        ptxSize, ptx)));
            } finally {
                progSlot.set(JAVA_LONG, 0, prog);
                int ignored = (int) destroyProgram.invokeExact(progSlot);
            }
        } catch (Throwable t) {
            throw asRuntime(t);
        }
    }

    /** Reads one of the program's outputs, or null when NVRTC has none (e.g. no CUBIN for a PTX target). */
    private static byte[] fetch(Arena arena, long prog, MethodHandle sizeFn, MethodHandle dataFn) throws Throwable {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if ((int) sizeFn.invokeExact(prog, size) != SUCCESS) {
            return null;
        }
        long n = size.get(JAVA_LONG, 0);
        if (n == 0) {
            return new byte[0];
        }
        MemorySegment buf = arena.allocate(n);
        if ((int) dataFn.invokeExact(prog, buf) != SUCCESS) {
            return null;
        }
        return buf.toArray(JAVA_BYTE);
    }

    private static byte[] stripNul(byte[] text) {
        if (text == null) {
            return null;
        }
        int n = text.length;
        while (n > 0 && text[n - 1] == 0) {
            n--;
        }
        return java.util.Arrays.copyOf(text, n);
    }

    private String errorName(int result) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeExact(result);
            return s.reinterpret(256).getString(0) + " (" + result + ")";
        } catch (Throwable t) {
            return "NVRTC error " + result;
        }
    }

    private void check(int result, String call) {
        if (result != SUCCESS) {
            throw new IllegalStateException(call + " failed: " + errorName(result));
        }
    }

    private static RuntimeException asRuntime(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
