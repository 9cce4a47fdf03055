package dev.deepgemm4j.it;

import dev.deepgemm4j.cuda.CudaDevice;
import dev.deepgemm4j.cuda.CudaModule;
import dev.deepgemm4j.cuda.CudaRuntime;
import dev.deepgemm4j.heuristics.KernelCatalog;
import dev.deepgemm4j.heuristics.KernelConfig;
import dev.deepgemm4j.jit.CompiledKernel;
import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.JitConfig;
import dev.deepgemm4j.jit.KernelCompiler;
import dev.deepgemm4j.jit.KernelSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Cold and warm JIT times of one kernel of each family, in a new temporary cache directory so that nothing is
 * cached yet: cold = the first request (the compile, with the process's configured compiler, NVRTC by default);
 * warm = the same request from a new cache over the same directory (an on-disk hit); plus loading the CUBIN into a
 * module. The goal is a cold compile of at most {@value #GOAL_COLD_MS} ms per kernel.
 */
final class JitColdWarm {

    static final double GOAL_COLD_MS = 1000;

    private JitColdWarm() {
    }

    /**
     * One kernel's figures.
     *
     * @param family the kernel family
     * @param kernel the kernel's name
     * @param coldMs wall time of the first request (compile and publish)
     * @param compileMs the compiler's own time, as the JIT recorded it
     * @param warmMs wall time of the request from a new cache (a disk hit)
     * @param warmOutcome how the JIT served that request (DISK_HIT expected)
     * @param loadMs loading the CUBIN into a module and finding the kernel
     * @param status "ok" or what failed
     */
    record Kernel(String family, String kernel, Double coldMs, Long compileMs, Double warmMs, String warmOutcome,
            Double loadMs, String status) {
    }

    /**
     * All figures.
     *
     * @param compiler the compiler's identity
     * @param arch the target architecture
     * @param kernels one per family
     * @param note why nothing was measured, or null
     */
    record Result(String compiler, String arch, List<Kernel> kernels, String note) {
    }

    static Result measure(int ordinal) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("deepgemm4j-jit-cold-");
            JitConfig config = Jit.config().withCacheDir(dir);
            KernelCompiler compiler = Jit.createCompiler(config);
            CudaDevice device = CudaRuntime.device(ordinal);
            String arch = Jit.targetArch(device.computeCapabilityMajor(), device.computeCapabilityMinor());
            JitCache cold = new JitCache(config, compiler);
            JitCache warm = new JitCache(config, compiler);
            List<Kernel> kernels = new ArrayList<>();
            for (KernelSource source : onePerFamily()) {
                kernels.add(measure(source, arch, cold, warm, ordinal));
            }
            return new Result(compiler.identity(), arch, kernels, null);
        } catch (RuntimeException | IOException | LinkageError e) {
            return new Result(null, null, List.of(), e.toString());
        } finally {
            deleteQuietly(dir);
        }
    }

    private static Kernel measure(KernelSource source, String arch, JitCache cold, JitCache warm, int ordinal) {
        try {
            long t0 = System.nanoTime();
            CompiledKernel compiled = cold.get(source, arch);
            long t1 = System.nanoTime();
            CompiledKernel loaded = warm.get(source, arch);
            long t2 = System.nanoTime();
            try (CudaModule module = CudaModule.load(ordinal, loaded.cubin())) {
                module.function(loaded.kernelName());
            }
            long t3 = System.nanoTime();
            String status = compiled.outcome() == CompiledKernel.Outcome.COMPILED ? BenchRow.OK
                    : "cold request was a " + compiled.outcome() + ", not a compile";
            return new Kernel(source.family(), source.kernelName(), (t1 - t0) * 1e-6, compiled.compileMillis(),
                    (t2 - t1) * 1e-6, loaded.outcome().name(), (t3 - t2) * 1e-6, status);
        } catch (RuntimeException | LinkageError e) {
            return new Kernel(source.family(), source.kernelName(), null, null, null, null, null, "error: " + e);
        }
    }

    /** The first configuration of each kernel family in the catalogue (the families differ in compile cost). */
    static List<KernelSource> onePerFamily() {
        Map<String, KernelSource> first = new LinkedHashMap<>();
        for (KernelConfig config : KernelCatalog.all()) {
            KernelSource source = config.source();
            first.putIfAbsent(source.family(), source);
        }
        return List.copyOf(first.values());
    }

    static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // a leftover temporary directory is harmless
        }
    }
}
