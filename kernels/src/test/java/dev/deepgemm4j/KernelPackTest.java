package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.heuristics.GroupedGemmHeuristic;
import dev.deepgemm4j.heuristics.Sm90GemmHeuristic;
import dev.deepgemm4j.jit.GemmScales;
import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.JitConfig;
import dev.deepgemm4j.jit.KernelSource;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning a pack from op shapes, compiling it in one cache and installing it in another. */
class KernelPackTest {

    private static final GpuTarget A100 = new GpuTarget(8, 0, 108);

    private static final int ALIGN = 128;

    @TempDir
    Path dir;

    static KernelCache cache(Path root, FakeKernelCompiler compiler, String... settings) {
        Map<String, String> env = new HashMap<>(Map.of("DG_JIT_CACHE_DIR", root.toString()));
        for (int i = 0; i < settings.length; i += 2) {
            env.put(settings[i], settings[i + 1]);
        }
        return new KernelCache(new JitCache(JitConfig.from(env::get), compiler));
    }

    private static KernelPack.Plan moePlan() {
        return KernelPack.plan(GpuTarget.H100_SXM).quantizePerToken(512).quantizePerToken(256)
                .groupedGemmContiguous(16L * ALIGN, 512, 512, ALIGN).groupedGemmContiguous(16L * ALIGN, 512, 256, ALIGN);
    }

    private static Set<String> entries(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("cache"))) {
            return new HashSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void plansEveryKernelTheLauncherCanPickAndEachOnce() {
        KernelPack.Plan plan = moePlan();
        List<KernelSource> planned = plan.sources();
        assertEquals(planned.size(), new HashSet<>(planned).size());
        assertEquals(planned.size(), plan.size());
        // The quantiser does not depend on the row width: the two calls share one kernel.
        assertEquals(1, planned.stream().filter(s -> s.family().contains("cast")).count(), planned.toString());
        for (long rows = ALIGN; rows <= 16L * ALIGN; rows += ALIGN) {
            for (long[] nk : new long[][] {{512, 512}, {512, 256}}) {
                KernelSource launched = Sm90GemmHeuristic.contiguous(rows, nk[0], nk[1], 8, ALIGN, false, 132)
                        .config().source();
                assertTrue(planned.contains(launched), "rows " + rows + " n " + nk[0] + " k " + nk[1]);
            }
        }
        List<KernelSource> ampere = KernelPack.plan(A100).groupedGemmContiguous(16L * ALIGN, 512, 512, ALIGN)
                .sources();
        for (long rows = ALIGN; rows <= 16L * ALIGN; rows += ALIGN) {
            KernelSource launched = GroupedGemmHeuristic.contiguous(rows, 512, 512, ALIGN, false,
                    GemmScales.FP32_PER_BLOCK_B, 108).config().source();
            assertTrue(ampere.contains(launched), "sm_80, rows " + rows);
        }
        int before = plan.size();
        plan.groupedGemmContiguous(16L * ALIGN, 512, 512, ALIGN);
        assertEquals(before, plan.size(), "planning the same op twice adds nothing");
    }

    @Test
    void maskedPlansCoverEveryExpectedRowCountAndDependOnTheSmCount() {
        List<KernelSource> h100 = KernelPack.plan(GpuTarget.H100_SXM).groupedGemmMasked(8, 64, 4096, 512).sources();
        List<KernelSource> ampere = KernelPack.plan(A100).groupedGemmMasked(8, 64, 4096, 512).sources();
        for (long expected = 1; expected <= 64; expected++) {
            KernelSource hopper = Sm90GemmHeuristic.masked(8, 64, expected, 4096, 512, 132).config().source();
            assertTrue(h100.contains(hopper), "expected " + expected);
            KernelSource simt = GroupedGemmHeuristic.masked(8, 64, expected, 4096, 512,
                    GemmScales.FP32_PER_BLOCK_B, 108).config().source();
            assertTrue(ampere.contains(simt), "sm_80, expected " + expected);
        }
        assertTrue(h100.size() < 64, "distinct configurations stay few: " + h100.size());
    }

    @Test
    void rejectsShapesNamingTheArgument() {
        KernelPack.Plan plan = KernelPack.plan(GpuTarget.H100_SXM);
        assertEquals("maxRows", assertThrows(DeepGemmArgumentException.class,
                () -> plan.groupedGemmContiguous(ALIGN - 1, 512, 512, ALIGN)).argument());
        assertEquals("alignment", assertThrows(DeepGemmArgumentException.class,
                () -> plan.groupedGemmContiguous(1024, 512, 512, 0)).argument());
        assertEquals("n", assertThrows(DeepGemmArgumentException.class,
                () -> plan.groupedGemmMasked(4, 8, 0, 512)).argument());
        assertEquals("groups", assertThrows(DeepGemmArgumentException.class,
                () -> plan.groupedGemmMasked(0, 8, 512, 512)).argument());
        assertEquals("cols", assertThrows(DeepGemmArgumentException.class, () -> plan.quantizePerToken(0))
                .argument());
        assertEquals("target", assertThrows(DeepGemmArgumentException.class, () -> KernelPack.plan(null))
                .argument());
        assertEquals("cache", assertThrows(DeepGemmArgumentException.class, () -> plan.compile(null)).argument());
        assertEquals(0, plan.size(), "nothing planned by a rejected call");
    }

    @Test
    void aPackCompiledInOneCacheIsInstalledInAnotherWithoutCompiling() throws Exception {
        FakeKernelCompiler driverCompiler = new FakeKernelCompiler("FAKE1.0");
        KernelCache driver = cache(dir.resolve("driver"), driverCompiler);
        KernelPack.Plan plan = moePlan();
        KernelPack pack = plan.compile(driver);
        int n = plan.size();
        assertEquals(n, pack.size());
        assertEquals("sm_90a", pack.arch());
        assertEquals(GpuTarget.H100_SXM, pack.target());
        assertEquals(n, driverCompiler.compiles.get());
        assertEquals(n, driver.stats().compiles());

        KernelPack shipped = roundTrip(pack);
        assertEquals(pack.id(), shipped.id());
        FakeKernelCompiler executorCompiler = new FakeKernelCompiler("FAKE1.0");
        KernelCache executor = cache(dir.resolve("executor"), executorCompiler);
        assertEquals(n, executor.install(shipped));
        assertEquals(0, executorCompiler.compiles.get());
        assertEquals(entries(dir.resolve("driver")), entries(dir.resolve("executor")));
        KernelCache.Stats s = executor.stats();
        assertEquals(0, s.compiles());
        assertEquals(n, s.diskHits(), "each kernel loaded once, from the installed entry");

        assertEquals(0, executor.install(shipped), "a second install publishes nothing");
        assertEquals(n, executor.stats().memoryHits());
        assertEquals(0, executorCompiler.compiles.get());
    }

    @Test
    void anotherCompilerSkipsThePackAndLeavesItsCacheAlone() throws Exception {
        KernelPack pack = moePlan().compile(cache(dir.resolve("driver"), new FakeKernelCompiler("FAKE1.0")));
        FakeKernelCompiler other = new FakeKernelCompiler("FAKE2.0");
        KernelCache executor = cache(dir.resolve("executor"), other);
        assertEquals(0, executor.install(pack));
        assertEquals(0, other.compiles.get(), "skipped kernels are compiled when a launch needs them, not now");
        assertEquals(Set.of(), entries(dir.resolve("executor")));
    }

    @Test
    void aDamagedEntryIsRefusedAndNothingIsPublished() throws Exception {
        KernelCache driver = cache(dir.resolve("driver"), new FakeKernelCompiler("FAKE1.0"));
        KernelPack.Plan plan = KernelPack.plan(GpuTarget.H100_SXM).quantizePerToken(128);
        plan.compile(driver);
        try (Stream<Path> s = Files.list(dir.resolve("driver").resolve("cache"))) {
            Path cubin = s.findFirst().orElseThrow().resolve("kernel.cubin");
            byte[] b = Files.readAllBytes(cubin);
            b[0] ^= 1;
            Files.write(cubin, b);
        }
        KernelPack damaged = plan.compile(driver); // a memory hit: the damaged files are packed as they are
        KernelCache executor = cache(dir.resolve("executor"), new FakeKernelCompiler("FAKE1.0"));
        var e = assertThrows(IllegalArgumentException.class, () -> executor.install(damaged));
        assertTrue(e.getMessage().contains("cubin"), e.getMessage());
        assertEquals(Set.of(), entries(dir.resolve("executor")));
        try (Stream<Path> s = Files.list(dir.resolve("executor").resolve("tmp"))) {
            assertEquals(List.of(), s.filter(p -> !p.getFileName().toString().startsWith("uid-")).toList(),
                    "no build directory left behind");
        }
    }

    @Test
    void aCacheWithoutDiskEntriesPacksNothing() {
        FakeKernelCompiler compiler = new FakeKernelCompiler("FAKE1.0");
        KernelPack.Plan plan = moePlan();
        KernelPack pack = plan.compile(cache(dir.resolve("driver"), compiler, "DG_JIT_DISABLE_CACHE", "1"));
        assertEquals(0, pack.size());
        assertEquals(plan.size(), compiler.compiles.get(), "compiled all the same");
        assertNotEquals(pack.id(), plan.compile(cache(dir.resolve("d2"), compiler)).id());
    }

    @Test
    void namesTheTargetArchitectureOfItsCompiler() {
        KernelCache cache = cache(dir, new FakeKernelCompiler("FAKE1.0"));
        assertEquals("sm_90a", cache.targetArch(GpuTarget.H100_SXM));
        assertEquals("sm_100f", cache.targetArch(new GpuTarget(10, 0, 148)));
        assertEquals("sm_89", cache.targetArch(new GpuTarget(8, 9, 128)));
        assertEquals(dir.toAbsolutePath(), cache.root());
    }

    @Test
    void handlesAreEqualExactlyWhenTheyAreTheSameCache() {
        JitCache jit = new JitCache(JitConfig.from(Map.of("DG_JIT_CACHE_DIR", dir.toString())::get),
                new FakeKernelCompiler("FAKE1.0"));
        assertEquals(new KernelCache(jit), new KernelCache(jit));
        assertEquals(new KernelCache(jit).hashCode(), new KernelCache(jit).hashCode());
        assertFalse(new KernelCache(jit).equals(cache(dir, new FakeKernelCompiler("FAKE1.0"))));
    }

    private static KernelPack roundTrip(KernelPack pack) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(pack);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (KernelPack) in.readObject();
        }
    }
}
