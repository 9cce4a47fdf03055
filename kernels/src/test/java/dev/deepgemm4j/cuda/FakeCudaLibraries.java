package dev.deepgemm4j.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Builds the fake CUDA driver and fake NVRTC (C sources under {@code src/test/resources/fake-cuda}) with gcc, once
 * per JVM and soname, and reads the state they record. Tests skip (with the reason from {@link #unavailable()}) when
 * gcc or {@code cuda.h} is missing.
 */
public final class FakeCudaLibraries {

    /** Soname of the driver fake loaded inside the test JVM: not libcuda.so.1, so that nothing else links to it. */
    public static final String IN_PROCESS_SONAME = "libdg4jfakecuda.so";

    private static final Map<String, Path> BUILT = new ConcurrentHashMap<>();
    private static volatile Path dir;

    private FakeCudaLibraries() {
    }

    /** Why the fakes cannot be built here, or null if they can. */
    public static String unavailable() {
        if (find("gcc").isEmpty()) {
            return "gcc not found";
        }
        if (cudaInclude().isEmpty()) {
            return "cuda.h not found (CUDA_HOME/include, /usr/local/cuda/include)";
        }
        return null;
    }

    /** The fake driver built with {@code soname}. */
    public static Path driver(String soname) {
        return build("fake_libcuda.c", soname, true);
    }

    /** The fake NVRTC. */
    public static Path nvrtc() {
        return build("fake_libnvrtc.c", "libfakenvrtc.so", false);
    }

    private static synchronized Path build(String source, String soname, boolean needsCudaH) {
        return BUILT.computeIfAbsent(source + "/" + soname, k -> {
            try {
                Path d = workDir();
                Path src = d.resolve(source);
                if (!Files.exists(src)) {
                    try (InputStream in = FakeCudaLibraries.class.getResourceAsStream("/fake-cuda/" + source)) {
                        Files.copy(in, src);
                    }
                }
                Path out = d.resolve(soname.replace('/', '_'));
                List<String> cmd = new ArrayList<>(List.of(find("gcc").orElseThrow().toString(), "-shared", "-fPIC",
                        "-O1", "-Wall", "-Werror"));
                if (needsCudaH) {
                    cmd.add("-I" + cudaInclude().orElseThrow());
                }
                cmd.addAll(List.of("-Wl,-soname," + soname, "-o", out.toString(), src.toString()));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException("gcc failed: " + cmd + "\n" + log);
                }
                return out;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    private static Path workDir() throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("dg4j-fake-cuda");
            dir.toFile().deleteOnExit();
        }
        return dir;
    }

    static Optional<Path> cudaInclude() {
        List<Path> dirs = new ArrayList<>();
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(var);
            if (v != null && !v.isBlank()) {
                dirs.add(Path.of(v, "include"));
            }
        }
        dirs.add(Path.of("/usr/local/cuda/include"));
        return dirs.stream().filter(d -> Files.isRegularFile(d.resolve("cuda.h"))).findFirst();
    }

    static Optional<Path> find(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String d : path.split(":")) {
            Path p = Path.of(d.isEmpty() ? "." : d, tool);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The recorded state of a loaded fake driver (same library handle as the binding under test). */
    public static final class State {
        private final SymbolLookup lookup;
        private final Linker linker = Linker.nativeLinker();

        public State(Path library) {
            lookup = SymbolLookup.libraryLookup(library, Arena.global());
        }

        private MemorySegment array(String name, long bytes) {
            return lookup.find(name).orElseThrow().reinterpret(bytes);
        }

        /** {@code fake_stats[i]}. */
        public long stat(int i) {
            return array("fake_stats", 16 * 8).getAtIndex(ValueLayout.JAVA_LONG, i);
        }

        /** {@code fake_memsets}: cuMemsetD8/16/32 calls so far. */
        public long memsets() {
            return array("fake_memsets", 8).get(ValueLayout.JAVA_LONG, 0);
        }

        /** {@code fake_pool_release_threshold[device]}: -2 until set. */
        public long poolReleaseThreshold(int device) {
            return array("fake_pool_release_threshold", 8 * 8).getAtIndex(ValueLayout.JAVA_LONG, device);
        }

        /** {@code fake_launch_record[i]}. */
        public long launch(int i) {
            return array("fake_launch_record", 32 * 8).getAtIndex(ValueLayout.JAVA_LONG, i);
        }

        /** The first {@code n} recorded parameter bytes. */
        public byte[] params(int n) {
            return array("fake_launch_params", 4096).asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }

        /** The recorded raw CUlaunchConfig. */
        public MemorySegment configRaw() {
            return array("fake_launch_config_raw", layout(0));
        }

        /** The recorded raw CUlaunchAttribute array. */
        public MemorySegment attrsRaw() {
            return array("fake_launch_attrs_raw", 4 * layout(5));
        }

        /** {@code fake_tmap_record[i]}. */
        public long tmap(int i) {
            return array("fake_tmap_record", 32 * 8).getAtIndex(ValueLayout.JAVA_LONG, i);
        }

        /** Launches and tensor-map encodes the fake keeps in its histories. */
        public static final int HISTORY = 16;

        /** {@code fake_launch_record[i]} of the launch {@code back} launches before the last (0: the last). */
        public long launchBack(int back, int i) {
            return array("fake_launch_history", HISTORY * 32 * 8).getAtIndex(ValueLayout.JAVA_LONG,
                    historySlot(0, back) * 32L + i);
        }

        /** The first {@code n} parameter bytes of the launch {@code back} launches before the last. */
        public byte[] paramsBack(int back, int n) {
            return array("fake_launch_history_params", HISTORY * 4096L).asSlice(historySlot(0, back) * 4096L, n)
                    .toArray(ValueLayout.JAVA_BYTE);
        }

        /** {@code fake_tmap_record[i]} of the encode {@code back} encodes before the last (0: the last). */
        public long tmapBack(int back, int i) {
            return array("fake_tmap_history", HISTORY * 32 * 8).getAtIndex(ValueLayout.JAVA_LONG,
                    historySlot(1, back) * 32L + i);
        }

        private int historySlot(int kind, int back) {
            long count = array("fake_history_counts", 2 * 8).getAtIndex(ValueLayout.JAVA_LONG, kind);
            if (back < 0 || back >= HISTORY || back >= count) {
                throw new IllegalArgumentException("the fake keeps the last " + Math.min(count, HISTORY)
                        + " of " + count + (kind == 0 ? " launches" : " encodes") + ", asked for " + back + " back");
            }
            return (int) ((count - 1 - back) % HISTORY);
        }

        /** {@code fake_layout[i]}: sizes and offsets from the real cuda.h. */
        public long layout(int i) {
            return array("fake_layout", 16 * 8).getAtIndex(ValueLayout.JAVA_LONG, i);
        }

        /** A function handle whose parameters have {@code signature} (i, f, l, p, m). */
        public long makeFunction(String signature) {
            try (Arena a = Arena.ofConfined()) {
                var h = linker.downcallHandle(lookup.find("fake_make_function").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
                return (long) h.invokeExact(a.allocateFrom(signature));
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        /** Sets how many devices cuInit / cuDeviceGetCount report. */
        public void setDeviceCount(int n) {
            try {
                var h = linker.downcallHandle(lookup.find("fake_set_device_count").orElseThrow(),
                        FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
                h.invokeExact(n);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }
}
