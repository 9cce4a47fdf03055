package dev.deepgemm4j.jit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compiles with NVCC in a child process: {@code nvcc kernel.cu -cubin -o kernel.cubin -arch=sm_XX …}, run with the
 * private build directory as its working directory so that stray files elsewhere cannot shadow headers. The ptxas
 * report ({@code --ptxas-options=-v}) is always captured into the log.
 */
public final class NvccCompiler implements KernelCompiler {

    private static final Logger LOG = Logger.getLogger(NvccCompiler.class.getName());
    private static final Pattern FULL_VERSION = Pattern.compile("V(\\d+)\\.(\\d+)\\.(\\d+)");
    private static final Pattern RELEASE = Pattern.compile("release (\\d+)\\.(\\d+)");
    /** A compile that takes longer than this is treated as hung. */
    private static final long TIMEOUT_SECONDS = 600;

    private final JitConfig config;
    private final Path nvcc;
    private final String versionString;
    private final int[] version;

    /**
     * NVCC at {@code config.nvccPath()}.
     *
     * @throws IllegalStateException if it cannot be run or does not report a version
     */
    public NvccCompiler(JitConfig config) {
        this.config = config;
        this.nvcc = resolve(config.nvccPath());
        String out;
        try {
            CudaToolkit.Run run = CudaToolkit.run(List.of(nvcc.toString(), "--version"), null, 60);
            out = run.output();
            if (run.exitCode() != 0) {
                throw new IllegalStateException(nvcc + " --version exited with " + run.exitCode() + ": " + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run NVCC at " + nvcc + " (set DG_JIT_NVCC_COMPILER or CUDA_HOME): "
                    + e.getMessage(), e);
        }
        Matcher full = FULL_VERSION.matcher(out);
        Matcher release = RELEASE.matcher(out);
        if (full.find()) {
            versionString = full.group(1) + "." + full.group(2) + "." + full.group(3);
            version = new int[] {Integer.parseInt(full.group(1)), Integer.parseInt(full.group(2))};
        } else if (release.find()) {
            versionString = release.group(1) + "." + release.group(2);
            version = new int[] {Integer.parseInt(release.group(1)), Integer.parseInt(release.group(2))};
        } else {
            throw new IllegalStateException(nvcc + " --version reported no version: " + out);
        }
    }

    private static Path resolve(Path nvcc) {
        try {
            return nvcc.toRealPath();
        } catch (IOException e) {
            return nvcc.toAbsolutePath();
        }
    }

    /** The NVCC executable. */
    public Path path() {
        return nvcc;
    }

    @Override
    public String identity() {
        return "NVCC" + versionString + " " + nvcc;
    }

    @Override
    public int[] version() {
        return version.clone();
    }

    @Override
    public List<String> options(String arch) {
        List<String> o = new ArrayList<>(List.of("-cubin", "-arch=" + arch, "-std=c++" + config.cppStandard(),
                "--expt-relaxed-constexpr", "--ptxas-options=-v"));
        if (config.withLineinfo()) {
            o.add("-lineinfo");
        }
        if (config.ptxasCheck()) {
            o.add("--ptxas-options=--warn-on-local-memory-usage");
            o.add("--ptxas-options=--warn-on-spills");
        }
        return o;
    }

    @Override
    public Output compile(KernelSource source, String arch, Path workDir, Path sourceFile, boolean wantPtx) {
        // Output names differ from the cache's own files; they are deleted once read.
        Path cubin = workDir.resolve("nvcc-out.cubin");
        Path ptxFile = workDir.resolve("nvcc-out.ptx");
        List<String> command = new ArrayList<>(List.of(nvcc.toString(), sourceFile.getFileName().toString(), "-o",
                cubin.getFileName().toString()));
        command.addAll(options(arch));
        CudaToolkit.Run run = run(command, workDir, source, arch, sourceFile);
        try {
            byte[] ptx = null;
            if (wantPtx) {
                List<String> ptxCommand = new ArrayList<>(List.of(nvcc.toString(),
                        sourceFile.getFileName().toString(), "-ptx", "-o", ptxFile.getFileName().toString(),
                        "-arch=" + arch,
                        "-std=c++" + config.cppStandard(), "--expt-relaxed-constexpr"));
                if (config.withLineinfo()) {
                    ptxCommand.add("-lineinfo");
                }
                run(ptxCommand, workDir, source, arch, sourceFile);
                ptx = Files.readAllBytes(ptxFile);
            }
            return new Output(Files.readAllBytes(cubin), run.output(), ptx);
        } catch (IOException e) {
            throw new CompileException("NVCC produced no output for " + source.kernelName() + ": " + e.getMessage(),
                    run.output(), sourceFile);
        } finally {
            try {
                Files.deleteIfExists(cubin);
                Files.deleteIfExists(ptxFile);
            } catch (IOException e) {
                // leftovers are published with the entry; harmless
            }
        }
    }

    private CudaToolkit.Run run(List<String> command, Path workDir, KernelSource source, String arch,
            Path sourceFile) {
        if (config.printCompilerCommand() || config.debug()) {
            LOG.info(() -> "deepgemm4j JIT: (cd " + workDir + " && " + String.join(" ", command) + ")");
        }
        CudaToolkit.Run run;
        try {
            run = CudaToolkit.run(command, workDir, TIMEOUT_SECONDS);
        } catch (IOException e) {
            throw new CompileException("NVCC could not run for " + source.kernelName() + ": " + e.getMessage(), "",
                    sourceFile);
        }
        if (run.exitCode() != 0) {
            throw new CompileException("NVCC " + versionString + " exited with " + run.exitCode() + " compiling "
                    + source.family() + "/" + source.kernelName() + " for " + arch, run.output(),
                    sourceFile);
        }
        return run;
    }
}
