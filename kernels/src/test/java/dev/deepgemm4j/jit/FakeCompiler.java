package dev.deepgemm4j.jit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A compiler test double: counts compiles (also into a shared file, for multi-process tests), sleeps to widen race
 * windows, checks that the cache wrote the source file, and returns a CUBIN derived from the source and target.
 * Sources containing {@code #error} fail.
 */
class FakeCompiler implements KernelCompiler {

    final AtomicInteger compiles = new AtomicInteger();
    private final long sleepMillis;
    private final Path counterFile;
    private final String log;

    FakeCompiler(long sleepMillis, Path counterFile, String log) {
        this.sleepMillis = sleepMillis;
        this.counterFile = counterFile;
        this.log = log;
    }

    FakeCompiler() {
        this(0, null, "ptxas info    : Used 40 registers\n    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n");
    }

    /** The CUBIN this compiler makes for {@code source} and {@code arch}. */
    static byte[] cubinFor(KernelSource source, String arch) {
        return ("FAKE-CUBIN " + arch + " " + JitCache.sha256Hex(source.code().getBytes(StandardCharsets.UTF_8)))
                .getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public String identity() {
        return "FAKE1.0";
    }

    @Override
    public int[] version() {
        return new int[] {13, 0};
    }

    @Override
    public List<String> options(String arch) {
        return List.of("-arch=" + arch, "-fake");
    }

    @Override
    public Output compile(KernelSource source, String arch, Path workDir, Path sourceFile, boolean wantPtx) {
        compiles.incrementAndGet();
        try {
            if (counterFile != null) {
                Files.writeString(counterFile, ProcessHandle.current().pid() + "\n", StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            }
            if (!Files.readString(sourceFile).equals(source.code()) || !sourceFile.getParent().equals(workDir)) {
                throw new AssertionError("the cache did not write the source to " + sourceFile);
            }
            Thread.sleep(sleepMillis);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        if (source.code().contains("#error")) {
            throw new CompileException("fake compile failed", "kernel.cu(1): error: #error directive", sourceFile);
        }
        return new Output(cubinFor(source, arch), log, wantPtx ? "// ptx".getBytes(StandardCharsets.US_ASCII) : null);
    }
}
