package dev.deepgemm4j.jit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * One of the concurrent processes of {@link JitMultiProcessTest}: announces itself ready, waits for the go file, asks
 * for the kernel, prints {@code RESULT <outcome> <sha256 of the cubin>}. Arguments: cache root, "fake" or "nvcc",
 * ready file, go file, compile counter file.
 */
public final class JitChild {

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("DG_JIT_CACHE_DIR", root.toString());
        JitConfig config = JitConfig.from(env::get);
        KernelCompiler compiler = args[1].equals("fake") ? new FakeCompiler(1500, Path.of(args[4]), "")
                : new NvccCompiler(config);
        JitCache cache = new JitCache(config, compiler);
        Files.createFile(Path.of(args[2]));
        Path go = Path.of(args[3]);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(go) && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        CompiledKernel k = cache.get(JitMultiProcessTest.SOURCE, "sm_90a");
        System.out.println("RESULT " + k.outcome() + " " + JitCache.sha256Hex(k.cubin()));
    }
}
