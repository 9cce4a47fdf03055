package dev.deepgemm4j.it;

import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The benchmark's command line.
 *
 * @param device where to run
 * @param size how much of the shape list to run (GPU; the CPU plan only knows quick or not)
 * @param cublasLt whether to run the cuBLASLt baseline on the dense 1D2D NT rows (GPU)
 * @param maxRuns at most this many timed calls per row, or null for the plan's default
 * @param only only rows whose "op [variant] shape" this finds, or null for all
 * @param freshJitCache point the process's JIT at a new temporary cache directory first (GPU)
 * @param profile after timing a row, run one more call inside a profiler range (GPU), for
 *     {@code ncu --profile-from-start off}: one profiled launch per row instead of every warm-up and timed call
 * @param json where to write the JSON report, or null
 * @param fp8Values what the random FP8 operands hold
 * @param autotune turn the opt-in tuner on (GPU), so that each tuned row's first call tunes it
 */
record CliOptions(Device device, Plan.Size size, boolean cublasLt, Integer maxRuns, Pattern only,
        boolean freshJitCache, boolean profile, Path json, RandomTensors.Fp8Values fp8Values, boolean autotune) {

    /** Where the benchmark runs. */
    enum Device {
        /** A GPU when one is usable, else the CPU. */
        AUTO,
        /** The CPU reference backend. */
        CPU,
        /** A GPU, or fail. */
        GPU
    }

    static final String USAGE = """
            usage: BenchmarkCli [--cpu | --gpu] [--quick | --full] [--cublaslt] [--reps N] [--only REGEX]
                                [--fresh-jit-cache] [--profile] [--json FILE] [--fp8-values normal|uniform-codes]
                                [--autotune]
              --cpu              run on the CPU reference backend (small problems), even where a GPU is usable
              --gpu              require a GPU (exit status 1 when none is usable); by default a usable GPU is used
              --quick            smoke run: small problems on the CPU, one standard shape per operator on a GPU
              --full             GPU: every standard DeepGEMM shape of every operator variant (several minutes)
              --cublaslt         GPU: also time cuBLASLt's block-scaled FP8 GEMM on the dense 1D2D NT shapes
              --reps N           at most N timed calls per row (GPU default 10, fewer for slow rows)
              --only REGEX       only the rows whose "op [variant] shape" contains a match of REGEX
              --fresh-jit-cache  GPU: compile into a new temporary JIT cache, so first calls show cold compiles
              --profile          GPU: after timing a row, one more call inside cuProfilerStart/Stop, so that
                                 `ncu --profile-from-start off` profiles one call per row
              --json FILE        also write the results (rows, host overhead, JIT times, device, table) as JSON
              --fp8-values KIND  the FP8 operands: normal (default) = standard normals quantised per 128 values, as
                                 DeepGEMM's benchmark makes them; uniform-codes = every E4M3 code equally likely,
                                 which draws more power (a long compute-bound GEMM ran 5-9% slower on an H100)
              --autotune         GPU: DeepGemm.setAutotune(true): each tuned row's first call (the "first ms"
                                 column) times its candidate configurations and the timed calls run the fastest;
                                 with DG_PRINT_CONFIGS=1 every candidate's time is printed""";

    /** A command line that cannot be run; the message says why. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /**
     * Parses {@code args}.
     *
     * @return the options, or null when help was asked for
     * @throws UsageException for an unknown or malformed option, or two that exclude each other
     */
    static CliOptions parse(String[] args) throws UsageException {
        Device device = Device.AUTO;
        Plan.Size size = Plan.Size.DEFAULT;
        boolean cublasLt = false;
        boolean fresh = false;
        boolean profile = false;
        boolean autotune = false;
        Integer maxRuns = null;
        Pattern only = null;
        Path json = null;
        RandomTensors.Fp8Values fp8Values = RandomTensors.Fp8Values.NORMAL;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--cpu", "--gpu" -> {
                    Device wanted = arg.equals("--cpu") ? Device.CPU : Device.GPU;
                    if (device != Device.AUTO && device != wanted) {
                        throw new UsageException("--cpu and --gpu exclude each other");
                    }
                    device = wanted;
                }
                case "--quick", "--full" -> {
                    Plan.Size wanted = arg.equals("--quick") ? Plan.Size.QUICK : Plan.Size.FULL;
                    if (size != Plan.Size.DEFAULT && size != wanted) {
                        throw new UsageException("--quick and --full exclude each other");
                    }
                    size = wanted;
                }
                case "--cublaslt" -> cublasLt = true;
                case "--fresh-jit-cache" -> fresh = true;
                case "--profile" -> profile = true;
                case "--autotune" -> autotune = true;
                case "--reps" -> {
                    String v = value(args, i++, arg, "a number");
                    try {
                        maxRuns = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        maxRuns = 0;
                    }
                    if (maxRuns < 1) {
                        throw new UsageException("--reps needs a positive number, got " + v);
                    }
                }
                case "--only" -> {
                    String v = value(args, i++, arg, "a regular expression");
                    try {
                        only = Pattern.compile(v);
                    } catch (PatternSyntaxException e) {
                        throw new UsageException("--only: bad regular expression: " + e.getDescription());
                    }
                }
                case "--json" -> json = Path.of(value(args, i++, arg, "a file name"));
                case "--fp8-values" -> {
                    String v = value(args, i++, arg, "normal or uniform-codes");
                    fp8Values = switch (v) {
                        case "normal" -> RandomTensors.Fp8Values.NORMAL;
                        case "uniform-codes" -> RandomTensors.Fp8Values.UNIFORM_CODES;
                        default -> throw new UsageException("--fp8-values needs normal or uniform-codes, got " + v);
                    };
                }
                case "-h", "--help" -> {
                    return null;
                }
                default -> throw new UsageException("unknown option " + arg);
            }
        }
        if (device == Device.CPU && size == Plan.Size.FULL) {
            throw new UsageException("--full is the GPU shape list; the CPU runs small problems only");
        }
        return new CliOptions(device, size, cublasLt, maxRuns, only, fresh, profile, json, fp8Values, autotune);
    }

    private static String value(String[] args, int i, String option, String what) throws UsageException {
        if (i + 1 >= args.length) {
            throw new UsageException(option + " needs " + what);
        }
        return args[i + 1];
    }

    /** Whether a case passes {@code --only}. */
    boolean selects(BenchCase c) {
        return only == null || only.matcher(c.label() + " " + c.shape()).find();
    }
}
