package dev.deepgemm4j.jit;

import dev.deepgemm4j.cuda.Nvrtc;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Compiles in-process with NVRTC ({@link Nvrtc}): {@code --gpu-architecture=sm_XX -std=c++N -default-device}, the
 * CUDA include directory, and {@code --ptxas-options=-v} so that the ptxas report lands in the log. Each ptxas option
 * is its own argument (NVRTC rejects comma lists).
 */
public final class NvrtcCompiler implements KernelCompiler {

    private static final Logger LOG = Logger.getLogger(NvrtcCompiler.class.getName());

    private final JitConfig config;
    private final Nvrtc nvrtc;
    private final int[] version;

    /** A compiler using {@code nvrtc} with {@code config}'s flags. */
    public NvrtcCompiler(JitConfig config, Nvrtc nvrtc) {
        this.config = config;
        this.nvrtc = nvrtc;
        String[] parts = nvrtc.version().split("\\.");
        this.version = new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    }

    @Override
    public String identity() {
        return "NVRTC" + nvrtc.version() + " " + (nvrtc.library() == null ? "(soname)" : nvrtc.library());
    }

    @Override
    public int[] version() {
        return version.clone();
    }

    @Override
    public List<String> options(String arch) {
        List<String> o = new ArrayList<>(List.of("--gpu-architecture=" + arch, "-std=c++" + config.cppStandard(),
                "-default-device", "--ptxas-options=-v"));
        nvrtc.includeDir().ifPresent(dir -> o.add("--include-path=" + dir));
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
        if (!TargetArch.isCubinTarget(arch)) {
            throw new CompileException("NVRTC makes a CUBIN only for a real sm_XX target, got " + arch, "",
                    sourceFile);
        }
        List<String> options = options(arch);
        if (config.printCompilerCommand() || config.debug()) {
            LOG.info(() -> "deepgemm4j JIT: NVRTC " + nvrtc.version() + " " + String.join(" ", options) + " "
                    + sourceFile);
        }
        Nvrtc.Result r = nvrtc.compile(source.code(), sourceFile.getFileName().toString(), options);
        if (!r.success()) {
            throw new CompileException("NVRTC " + nvrtc.version() + " failed compiling " + source.family() + "/"
                    + source.kernelName() + " for " + arch, r.log(), sourceFile);
        }
        if (r.cubin() == null || r.cubin().length == 0) {
            throw new CompileException("NVRTC returned no CUBIN for " + arch, r.log(), sourceFile);
        }
        return new Output(r.cubin(), r.log(), wantPtx ? r.ptx() : null);
    }
}
