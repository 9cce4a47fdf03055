package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.deepgemm4j.heuristics.KernelCatalog;
import dev.deepgemm4j.heuristics.KernelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every kernel configuration any heuristic can choose with nvcc, as the JIT would (one unit, no includes),
 * and checks ptxas's report: the one expected entry point, no spills, no stack frame (local memory), no warnings, no
 * WGMMA serialization. Every configuration is built for sm_90a (the target), the largest configuration of each family
 * (the most register and shared-memory pressure; the kernels have no architecture-specific code) also for sm_80 and
 * sm_89, or every configuration for all three with {@code -Ddeepgemm4j.compileAllArchs=true}; the {@code sm90_*}
 * families are sm_90a only. {@code -Ddeepgemm4j.compileFamilies=a,b} restricts the run to those families. Skipped where
 * nvcc is missing. Writes the register counts to {@code target/kernel-resources.txt}.
 */
class KernelCompileTest {

    private static final int PARALLEL_COMPILES = 2;
    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '([A-Za-z0-9_]+)' for '(sm_\\w+)'");
    private static final Pattern FRAME = Pattern.compile(
            "(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern USAGE = Pattern.compile("Used (\\d+) registers.*?(?:(\\d+) bytes smem|$)",
            Pattern.MULTILINE);

    @TempDir
    Path dir;

    private record Job(KernelSource source, String arch) {
    }

    private record Report(Job job, int registers, int sharedBytes) {
    }

    @Test
    void everyConfigurationCompilesWithoutSpillsOrLocalMemory() throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (PATH, CUDA_HOME): compile test skipped");
        String families = System.getProperty("deepgemm4j.compileFamilies", "");
        List<KernelConfig> configs = KernelCatalog.all().stream().filter(c -> families.isEmpty()
                || List.of(families.split(",")).contains(c.source().family())).toList();
        List<Job> jobs = jobs(configs);
        long start = System.nanoTime();
        List<Report> reports = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(PARALLEL_COMPILES)) {
            List<Future<Report>> futures = new ArrayList<>();
            for (Job job : jobs) {
                futures.add(pool.submit(() -> compile(nvcc, job)));
            }
            for (Future<Report> f : futures) {
                try {
                    reports.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    failures.add(e.getCause().getMessage());
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        writeReport(reports, seconds);
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + jobs.size() + " compiles failed:\n" + String.join("\n\n", failures));
        }
        assertEquals(jobs.size(), reports.size());
    }

    private static List<Job> jobs(List<KernelConfig> configs) {
        boolean allArchs = Boolean.getBoolean("deepgemm4j.compileAllArchs");
        List<Job> jobs = new ArrayList<>();
        Map<String, KernelConfig> largest = new LinkedHashMap<>();
        for (KernelConfig c : configs) {
            KernelSource src = c.source();
            jobs.add(new Job(src, "sm_90a"));
            if (src.family().startsWith("sm90_")) {
                continue; // TMA, WGMMA and setmaxnreg exist on sm_90a only
            }
            if (allArchs) {
                jobs.add(new Job(src, "sm_80"));
                jobs.add(new Job(src, "sm_89"));
            }
            largest.merge(src.family(), c, (a, b) -> b.staticSharedBytes() > a.staticSharedBytes() ? b : a);
        }
        if (!allArchs) {
            for (KernelConfig c : largest.values()) {
                jobs.add(new Job(c.source(), "sm_80"));
                jobs.add(new Job(c.source(), "sm_89"));
            }
        }
        return jobs;
    }

    private Report compile(Nvcc nvcc, Job job) throws IOException {
        String base = job.source().kernelName() + "_" + job.arch();
        Path cu = dir.resolve(base + ".cu");
        Files.writeString(cu, job.source().code());
        Nvcc.Result r = nvcc.run(dir, List.of("-cubin", "-arch=" + job.arch(), "-std=c++17", "-Xptxas", "-v",
                "-o", base + ".cubin", cu.getFileName().toString()), null);
        String what = job.source().kernelName() + " for " + job.arch();
        check(r.exitCode() == 0, what + ": nvcc exited " + r.exitCode(), r);
        check(!r.output().toLowerCase().contains("warning"), what + ": compiler warnings", r);
        // ptxas reports WGMMA serialization (it waits after every wgmma) as info, not as a warning.
        check(!r.output().contains("Potential Performance Loss") && !r.output().contains("is injected"),
                what + ": ptxas serialized the WGMMAs", r);
        Matcher entry = ENTRY.matcher(r.output());
        int entries = 0;
        while (entry.find()) {
            entries++;
            check(entry.group(1).equals(job.source().kernelName()), what + ": unexpected entry " + entry.group(1), r);
        }
        check(entries == 1, what + ": expected one entry function, found " + entries, r);
        Matcher frame = FRAME.matcher(r.output());
        check(frame.find(), what + ": no ptxas resource report", r);
        check(frame.group(1).equals("0") && frame.group(2).equals("0") && frame.group(3).equals("0"),
                what + ": stack frame / spills: " + frame.group(), r);
        Matcher usage = USAGE.matcher(r.output());
        check(usage.find(), what + ": no register count", r);
        int smem = usage.group(2) == null ? 0 : Integer.parseInt(usage.group(2));
        return new Report(job, Integer.parseInt(usage.group(1)), smem);
    }

    private static void check(boolean ok, String message, Nvcc.Result r) {
        if (!ok) {
            throw new AssertionError(message + "\n" + r.output());
        }
    }

    private static void writeReport(List<Report> reports, double seconds) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("# %d compiles in %.1f s (%d parallel)%n", reports.size(), seconds,
                PARALLEL_COMPILES));
        reports.stream().sorted(Comparator.comparing((Report x) -> x.job().source().kernelName())
                .thenComparing(x -> x.job().arch())).forEach(x -> sb.append(String.format("%-48s %-7s %3d regs %6d B smem%n",
                x.job().source().kernelName(), x.job().arch(), x.registers(), x.sharedBytes())));
        Path target = Path.of("target");
        if (Files.isDirectory(target)) {
            Files.writeString(target.resolve("kernel-resources.txt"), sb);
        }
        System.out.print(sb);
    }
}
