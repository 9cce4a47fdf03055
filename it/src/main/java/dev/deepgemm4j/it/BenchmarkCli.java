package dev.deepgemm4j.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.jit.Jit;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The main job and the GPU benchmark: runs every operator of the public API on generated data, times it, checks it
 * against a float64 reference of the quantised inputs, and prints one table row per operator and problem.
 *
 * <p>On a GPU (used by default when one is usable, {@code --gpu} to insist, {@code --cpu} to stay on the CPU) the
 * problems are DeepGEMM's standard shapes ({@link Plan}); each call is timed with CUDA events after an L2 flush, the
 * first call's JIT work is reported, the host's launch overhead and cold/warm JIT compile times are measured, and
 * with {@code --cublaslt} cuBLASLt's block-scaled FP8 GEMM runs on the dense shapes for comparison. On the CPU the
 * problems are small and the reference checks are complete.
 *
 * <p>Exit status: 0 when every row is correct, 1 when any operator failed, errored or is not implemented (or a GPU
 * was required and none is usable), 2 for a usage error.
 */
public final class BenchmarkCli {

    private static final int DEVICE = 0;

    private BenchmarkCli() {
    }

    /**
     * The device the benchmark ran on.
     *
     * @param name the GPU's name, or "cpu"
     * @param ordinal the device ordinal, or -1 for the CPU
     * @param smCount streaming multiprocessors (CPU: available processors)
     * @param deviceCount GPUs visible to the process
     */
    record DeviceInfo(String name, int ordinal, int smCount, int deviceCount) {
    }

    /**
     * The report written with {@code --json}.
     *
     * @param mode "gpu" or "cpu"
     * @param plan the plan's name
     * @param quick whether the quick plan ran
     * @param device where it ran
     * @param backend the backend that served the tensors
     * @param java the Java runtime version
     * @param cublasLt the cuBLASLt library used, "n/a (…)" when it could not run, or null when not asked for
     * @param rows one row per operator, variant and problem
     * @param hostOverhead the host's launch overhead (GPU only)
     * @param jit cold and warm JIT times (GPU only)
     * @param seconds wall time of the whole run
     * @param table the printed table
     */
    record Report(String mode, String plan, boolean quick, DeviceInfo device, String backend, String java,
            String cublasLt, List<BenchRow> rows, HostOverhead.Result hostOverhead, JitColdWarm.Result jit,
            double seconds, String table) {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the benchmark with command-line {@code args}; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        CliOptions options;
        try {
            options = CliOptions.parse(args);
        } catch (CliOptions.UsageException e) {
            err.println(e.getMessage() + "\n" + CliOptions.USAGE);
            return 2;
        }
        if (options == null) {
            out.println(CliOptions.USAGE);
            return 0;
        }
        long start = System.nanoTime();
        BenchTarget target;
        try {
            target = chooseTarget(options, out);
        } catch (IllegalStateException e) {
            err.println(e.getMessage());
            return 1;
        }
        Plan plan = target.isGpu() ? Plan.gpu(options.size()) : Plan.cpu(options.size() == Plan.Size.QUICK);
        if (options.maxRuns() != null) {
            plan = plan.withMaxRuns(options.maxRuns());
        }
        DeviceInfo device = target.isGpu() ? new DeviceInfo(Gpu.deviceName(DEVICE), DEVICE, Gpu.smCount(DEVICE),
                Gpu.deviceCount()) : new DeviceInfo("cpu", -1, Runtime.getRuntime().availableProcessors(), 0);
        RandomTensors.useFp8Values(options.fp8Values());
        out.println(String.format(Locale.ROOT, "deepgemm4j benchmark, plan %s: %s (%d %s), backend %s; Java %s; FP8"
                + " operands: %s", plan.name(), device.name(), device.smCount(), target.isGpu() ? "SMs" : "cores",
                target.backend(), Runtime.version(), options.fp8Values() == RandomTensors.Fp8Values.NORMAL
                        ? "quantised normals" : "uniform codes"));

        if (target.isGpu()) {
            KernelClock clock = target.kernelClock();
            out.println("kernel time (the profiler's measure, as DeepGEMM reports): " + (clock != null
                    ? "CUPTI, " + clock.library() : "not measured (" + (options.profile() ? "--profile"
                            : KernelClock.unavailableReason()) + ")"));
        }
        Path freshCache = target.isGpu() && options.freshJitCache() ? freshJitCache(out) : null;
        if (options.autotune() && !target.isGpu()) {
            out.println("--autotune ignored: the tuner serves the GPU kernels");
        } else if (options.autotune()) {
            DeepGemm.setAutotune(true);
            out.println("autotune: on; tuned choices kept in " + Jit.tunedChoices().map(t -> t.directory().toString())
                    .orElse("memory only") + " (a choice kept there by an earlier run is reused, not timed again)");
        }
        CublasLtBaseline baseline = null;
        String cublasLt = null;
        if (options.cublasLt() && !target.isGpu()) {
            out.println("--cublaslt ignored: the baseline needs a GPU");
        } else if (options.cublasLt()) {
            try {
                baseline = CublasLtBaseline.open(target.location(), plan.maxRuns());
                cublasLt = baseline.describe();
            } catch (RuntimeException | LinkageError e) {
                cublasLt = "n/a (" + e.getMessage() + ")";
            }
            out.println("cuBLASLt baseline: " + cublasLt);
        }

        List<BenchRow> rows = new ArrayList<>();
        HostOverhead.Result overhead = null;
        JitColdWarm.Result jit = null;
        ResultTable table = new ResultTable(target.isGpu());
        try {
            List<BenchCase> cases = cases(plan).stream().filter(options::selects).toList();
            BenchRunner runner = new BenchRunner(target, plan, baseline, options.profile() && target.isGpu());
            target.warmUp();
            // Before the rows, so that CUPTI has never recorded in this process: measured after the 200 rows of a full
            // run, whose timed calls each turn its recording on and off, the same host path took 9.0 µs a call (graph
            // replay 5.1) against 5.2-5.6 (3.1-3.2) in earlier runs (H100, 2026-12-07).
            if (target.isGpu()) {
                overhead = HostOverhead.measure(target.location());
                out.println(ResultTable.overhead(overhead));
                jit = JitColdWarm.measure(DEVICE);
                out.println(ResultTable.jit(jit));
            }
            for (BenchCase c : cases) {
                BenchRow row = runner.run(c);
                rows.add(row);
                out.println(String.format(Locale.ROOT, "[%d/%d] %s %s: %s µs, %s", rows.size(), cases.size(),
                        row.label(), row.shape(), ResultTable.number(row.timeUs()), row.status()));
            }
        } finally {
            if (baseline != null) {
                baseline.close();
            }
            JitColdWarm.deleteQuietly(freshCache);
        }

        String rendered = table.render(rows);
        out.print(rendered);
        String deepGemm = target.isGpu() ? ResultTable.deepGemm(rows, device.name()) : null;
        if (deepGemm != null) {
            out.print(deepGemm);
        }
        out.println(ResultTable.summary(rows));
        double seconds = (System.nanoTime() - start) * 1e-9;
        out.println(String.format(Locale.ROOT, "total %.1f s", seconds));
        if (options.json() != null) {
            try {
                writeJson(options.json(), new Report(target.isGpu() ? "gpu" : "cpu", plan.name(),
                        options.size() == Plan.Size.QUICK, device, target.backend(), Runtime.version().toString(),
                        cublasLt, rows, overhead, jit, seconds, rendered));
            } catch (IOException e) {
                err.println("cannot write " + options.json() + ": " + e.getMessage());
                return 1;
            }
        }
        return rows.stream().allMatch(BenchRow::ok) ? 0 : 1;
    }

    /**
     * The GPU when one is usable and not declined, else the CPU.
     *
     * @throws IllegalStateException if {@code --gpu} was given and no GPU is usable
     */
    static BenchTarget chooseTarget(CliOptions options, PrintStream out) {
        if (options.device() == CliOptions.Device.CPU) {
            return BenchTarget.cpu();
        }
        String reason;
        try {
            reason = Gpu.isAvailable() ? null : Gpu.unavailableReason();
            if (reason == null) {
                // Under --profile a profiler (ncu) owns CUPTI: no kernel clock of our own beside it.
                return BenchTarget.gpu(DEVICE, options.profile() ? null : KernelClock.openOrNull());
            }
        } catch (RuntimeException | LinkageError e) {
            reason = e.toString();
        }
        if (options.device() == CliOptions.Device.GPU) {
            throw new IllegalStateException("--gpu: no usable GPU (" + reason + ")");
        }
        out.println("no usable GPU (" + reason + "); running the CPU plan");
        return BenchTarget.cpu();
    }

    /** Every operator of {@link dev.deepgemm4j.DeepGemm}'s public API, one case per variant and problem. */
    static List<BenchCase> cases(Plan plan) {
        List<BenchCase> cases = new ArrayList<>();
        cases.addAll(DenseGemmCases.cases(plan.dense()));
        cases.addAll(GroupedGemmCases.cases(plan.contiguous(), plan.masked(), plan.kGrouped()));
        cases.addAll(MqaLogitsCases.cases(plan.mqa(), plan.paged()));
        cases.addAll(QuantizeLayoutCases.cases(plan.casts(), plan.layouts()));
        return cases;
    }

    /** Points the process's JIT at a new temporary cache, so that every kernel compiles on its first call. */
    private static Path freshJitCache(PrintStream out) {
        try {
            Path dir = Files.createTempDirectory("deepgemm4j-jit-");
            Jit.configure(Jit.config().withCacheDir(dir));
            out.println("JIT cache: " + dir + " (fresh)");
            return dir;
        } catch (IOException | RuntimeException e) {
            out.println("--fresh-jit-cache failed, using the configured cache: " + e);
            return null;
        }
    }

    private static void writeJson(Path file, Report report) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), report);
    }
}
