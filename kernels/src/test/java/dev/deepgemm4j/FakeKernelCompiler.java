package dev.deepgemm4j;

import dev.deepgemm4j.jit.KernelCompiler;
import dev.deepgemm4j.jit.KernelSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A compiler test double for the public cache classes: counts compiles, returns a CUBIN derived from the source. */
final class FakeKernelCompiler implements KernelCompiler {

    final AtomicInteger compiles = new AtomicInteger();
    private final String identity;

    FakeKernelCompiler(String identity) {
        this.identity = identity;
    }

    @Override
    public String identity() {
        return identity;
    }

    @Override
    public int[] version() {
        return new int[] {13, 0};
    }

    @Override
    public List<String> options(String arch) {
        return List.of("-arch=" + arch);
    }

    @Override
    public Output compile(KernelSource source, String arch, Path workDir, Path sourceFile, boolean wantPtx) {
        compiles.incrementAndGet();
        byte[] cubin = (identity + " " + arch + " " + source.kernelName()).getBytes(StandardCharsets.US_ASCII);
        return new Output(cubin, "ptxas info    : Used 32 registers\n", null);
    }
}
