package dev.deepgemm4j.jit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Function;

/**
 * The JIT's settings, read from DeepGEMM's environment variables with DeepGEMM's meaning. A system property
 * {@code deepgemm4j.jit.<name>} overrides each variable, where {@code <name>} is the variable without its
 * {@code DG_JIT_} / {@code DG_} prefix, in lower case (e.g. {@code -Ddeepgemm4j.jit.cache_dir=/tmp/c} for
 * {@code DG_JIT_CACHE_DIR}). Flags are integers, "set" meaning non-zero ({@code true}/{@code false} are accepted).
 *
 * <table>
 * <caption>Variables</caption>
 * <tr><th>variable</th><th>default</th><th>effect</th></tr>
 * <tr><td>DG_JIT_CACHE_DIR</td><td>$HOME/.deepgemm4j</td><td>root of the on-disk cache</td></tr>
 * <tr><td>DG_JIT_USE_NVRTC</td><td>unset: NVRTC, NVCC if NVRTC cannot load</td><td>1: NVRTC only; 0: NVCC</td></tr>
 * <tr><td>DG_JIT_NVCC_COMPILER</td><td>$CUDA_HOME|$CUDA_PATH/bin/nvcc, nvcc on PATH, /usr/local/cuda/bin/nvcc</td>
 *     <td>NVCC to run</td></tr>
 * <tr><td>DG_JIT_CPP_STANDARD</td><td>17</td><td>{@code -std=c++N} (NVRTC 13 accepts 17 and 20)</td></tr>
 * <tr><td>DG_JIT_DEBUG</td><td>0</td><td>log sources, commands, compiler output, cache decisions</td></tr>
 * <tr><td>DG_JIT_PRINT_COMPILER_COMMAND</td><td>0</td><td>log each compiler command / NVRTC option list</td></tr>
 * <tr><td>DG_JIT_PTXAS_VERBOSE</td><td>0</td><td>log the ptxas report (registers, spills)</td></tr>
 * <tr><td>DG_JIT_PTXAS_CHECK</td><td>0</td><td>fail a compile whose kernel uses local memory or spills</td></tr>
 * <tr><td>DG_JIT_WITH_LINEINFO</td><td>0</td><td>add {@code -lineinfo} (source view in profilers)</td></tr>
 * <tr><td>DG_JIT_DUMP_PTX</td><td>0</td><td>also store {@code kernel.ptx} in the cache entry</td></tr>
 * <tr><td>DG_JIT_DUMP_SASS</td><td>0</td><td>also store {@code kernel.sass} ({@code cuobjdump -sass}, if found)</td></tr>
 * <tr><td>DG_JIT_DUMP_ASM</td><td>0</td><td>both of the above</td></tr>
 * <tr><td>DG_JIT_DISABLE_CACHE</td><td>0</td><td>ignore and do not write the on-disk cache</td></tr>
 * <tr><td>DG_PRINT_CONFIGS</td><td>0</td><td>(for the heuristics) print each chosen kernel configuration</td></tr>
 * <tr><td>DG_AUTOTUNE</td><td>0</td><td>(ours, not DeepGEMM's) time the heuristic's best few configurations on a
 *     problem's first call and keep the fastest, in memory and under {@code <cache>/tuning}; see
 *     {@code DeepGemm.setAutotune}</td></tr>
 * </table>
 *
 * @param cacheDir the cache root
 * @param compiler which compiler to use
 * @param nvccPath the NVCC executable (used when the compiler is NVCC)
 * @param cppStandard the C++ standard, 17 or 20
 * @param debug DG_JIT_DEBUG
 * @param printCompilerCommand DG_JIT_PRINT_COMPILER_COMMAND
 * @param ptxasVerbose DG_JIT_PTXAS_VERBOSE
 * @param ptxasCheck DG_JIT_PTXAS_CHECK
 * @param withLineinfo DG_JIT_WITH_LINEINFO
 * @param dumpPtx DG_JIT_DUMP_PTX
 * @param dumpSass DG_JIT_DUMP_SASS
 * @param disableCache DG_JIT_DISABLE_CACHE
 * @param printConfigs DG_PRINT_CONFIGS
 * @param autotune DG_AUTOTUNE
 */
public record JitConfig(Path cacheDir, CompilerChoice compiler, Path nvccPath, int cppStandard, boolean debug,
        boolean printCompilerCommand, boolean ptxasVerbose, boolean ptxasCheck, boolean withLineinfo,
        boolean dumpPtx, boolean dumpSass, boolean disableCache, boolean printConfigs, boolean autotune) {

    /** Which compiler the JIT runs. */
    public enum CompilerChoice {
        /** NVRTC when it loads, else NVCC (DG_JIT_USE_NVRTC unset). */
        AUTO,
        /** NVRTC only (DG_JIT_USE_NVRTC=1). */
        NVRTC,
        /** NVCC (DG_JIT_USE_NVRTC=0). */
        NVCC
    }

    private static final String PROPERTY_PREFIX = "deepgemm4j.jit.";

    public JitConfig {
        if (cppStandard != 17 && cppStandard != 20) {
            throw new IllegalArgumentException("DG_JIT_CPP_STANDARD must be 17 or 20, got " + cppStandard);
        }
    }

    /** The settings from system properties, then environment variables, then defaults. */
    public static JitConfig fromEnvironment() {
        return from(name -> {
            String p = name.startsWith("DG_") ? System.getProperty(propertyName(name)) : null;
            return p != null ? p : System.getenv(name);
        });
    }

    /** The settings from {@code lookup} (variable name → value or null), then defaults. */
    public static JitConfig from(Function<String, String> lookup) {
        String cacheDir = lookup.apply("DG_JIT_CACHE_DIR");
        String useNvrtc = lookup.apply("DG_JIT_USE_NVRTC");
        String nvcc = lookup.apply("DG_JIT_NVCC_COMPILER");
        CompilerChoice choice = isBlank(useNvrtc) ? CompilerChoice.AUTO
                : flag(lookup, "DG_JIT_USE_NVRTC") ? CompilerChoice.NVRTC : CompilerChoice.NVCC;
        String std = lookup.apply("DG_JIT_CPP_STANDARD");
        return new JitConfig(
                isBlank(cacheDir) ? Path.of(System.getProperty("user.home"), ".deepgemm4j") : Path.of(cacheDir),
                choice,
                isBlank(nvcc) ? defaultNvcc(lookup) : Path.of(nvcc),
                isBlank(std) ? 17 : parseInt("DG_JIT_CPP_STANDARD", std),
                flag(lookup, "DG_JIT_DEBUG"),
                flag(lookup, "DG_JIT_PRINT_COMPILER_COMMAND"),
                flag(lookup, "DG_JIT_PTXAS_VERBOSE"),
                flag(lookup, "DG_JIT_PTXAS_CHECK"),
                flag(lookup, "DG_JIT_WITH_LINEINFO"),
                flag(lookup, "DG_JIT_DUMP_PTX") || flag(lookup, "DG_JIT_DUMP_ASM"),
                flag(lookup, "DG_JIT_DUMP_SASS") || flag(lookup, "DG_JIT_DUMP_ASM"),
                flag(lookup, "DG_JIT_DISABLE_CACHE"),
                flag(lookup, "DG_PRINT_CONFIGS"),
                flag(lookup, "DG_AUTOTUNE"));
    }

    /** The system property overriding environment variable {@code variable}. */
    public static String propertyName(String variable) {
        String bare = variable.startsWith("DG_JIT_") ? variable.substring(7) : variable.substring(3);
        return PROPERTY_PREFIX + bare.toLowerCase(Locale.ROOT);
    }

    /** This configuration with another cache root. */
    public JitConfig withCacheDir(Path dir) {
        return new JitConfig(dir, compiler, nvccPath, cppStandard, debug, printCompilerCommand, ptxasVerbose,
                ptxasCheck, withLineinfo, dumpPtx, dumpSass, disableCache, printConfigs, autotune);
    }

    /** This configuration with another compiler choice. */
    public JitConfig withCompiler(CompilerChoice choice) {
        return new JitConfig(cacheDir, choice, nvccPath, cppStandard, debug, printCompilerCommand, ptxasVerbose,
                ptxasCheck, withLineinfo, dumpPtx, dumpSass, disableCache, printConfigs, autotune);
    }

    /**
     * NVCC as DeepGEMM finds it: under {@code $CUDA_HOME} or {@code $CUDA_PATH}, else {@code nvcc} on the PATH, else
     * {@code /usr/local/cuda/bin/nvcc}.
     */
    static Path defaultNvcc(Function<String, String> lookup) {
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String home = lookup.apply(var);
            if (!isBlank(home)) {
                return Path.of(home, "bin", "nvcc");
            }
        }
        String path = lookup.apply("PATH");
        if (!isBlank(path)) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, "nvcc");
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        return Path.of("/usr/local/cuda/bin/nvcc");
    }

    private static boolean flag(Function<String, String> lookup, String name) {
        String v = lookup.apply(name);
        if (isBlank(v)) {
            return false;
        }
        String t = v.trim().toLowerCase(Locale.ROOT);
        if (t.equals("true")) {
            return true;
        }
        if (t.equals("false")) {
            return false;
        }
        return parseInt(name, t) != 0;
    }

    private static int parseInt(String name, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got \"" + value + "\"");
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
