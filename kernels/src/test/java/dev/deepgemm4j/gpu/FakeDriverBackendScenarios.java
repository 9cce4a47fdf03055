package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.ArgumentFuzzer;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuGraph;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.backend.Backends;
import dev.deepgemm4j.heuristics.Launch;
import dev.deepgemm4j.heuristics.Sm90GemmConfig;
import dev.deepgemm4j.heuristics.Sm90GemmHeuristic;
import dev.deepgemm4j.cuda.FakeCudaLibraries;
import dev.deepgemm4j.jit.CompiledKernel;
import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.KernelSource;
import dev.deepgemm4j.jit.TargetArch;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CUDA backend's Java path against the fake driver (child JVM, started by {@link FakeDriverBackendTest}): every
 * backend method, called through the public API on {@code cuda:0} tensors, must launch the kernel the heuristic
 * names with the grid it computes and the parameters the kernel's source declares, in order. The fake compiler
 * below derives each kernel's parameter signature from its real CUDA source, so the fake driver copies exactly the
 * bytes the real one would; the expected values are written out from the kernels' documented parameter lists.
 * Prints one {@code SCENARIO <name> OK|FAIL} line per scenario.
 */
public final class FakeDriverBackendScenarios {

    static final Map<String, Runnable> SCENARIOS = new LinkedHashMap<>();
    private static final Location GPU = Location.cuda(0);
    private static FakeCudaLibraries.State fake;

    static {
        SCENARIOS.put("backendIsSelected", FakeDriverBackendScenarios::backendIsSelected);
        SCENARIOS.put("denseGemm", FakeDriverBackendScenarios::denseGemm);
        SCENARIOS.put("smallMGemmCapturedDoesNotSplitK", FakeDriverBackendScenarios::smallMGemmCapturedDoesNotSplitK);
        SCENARIOS.put("emptyKFills", FakeDriverBackendScenarios::emptyKFills);
        SCENARIOS.put("contiguousGemm", FakeDriverBackendScenarios::contiguousGemm);
        SCENARIOS.put("maskedGemm", FakeDriverBackendScenarios::maskedGemm);
        SCENARIOS.put("kGroupedGemm", FakeDriverBackendScenarios::kGroupedGemm);
        SCENARIOS.put("mqaLogits", FakeDriverBackendScenarios::mqaLogits);
        SCENARIOS.put("pagedMetadataAndLogits", FakeDriverBackendScenarios::pagedMetadataAndLogits);
        SCENARIOS.put("quantize", FakeDriverBackendScenarios::quantize);
        SCENARIOS.put("packUe8m0", FakeDriverBackendScenarios::packUe8m0);
        SCENARIOS.put("stridedCopy", FakeDriverBackendScenarios::stridedCopy);
        SCENARIOS.put("badInputLaunchesNothing", FakeDriverBackendScenarios::badInputLaunchesNothing);
        SCENARIOS.put("denseGemmClustered", FakeDriverBackendScenarios::denseGemmClustered);
        SCENARIOS.put("denseGemmAutotuned", FakeDriverBackendScenarios::denseGemmAutotuned);
        SCENARIOS.put("argumentFuzz", FakeDriverBackendScenarios::argumentFuzz);
    }

    public static void main(String[] args) {
        fake = new FakeCudaLibraries.State(Path.of(args[0]));
        CudaBackendProvider.binariesForTesting = new SignatureCompiler();
        int failures = 0;
        for (var e : SCENARIOS.entrySet()) {
            try {
                e.getValue().run();
                System.out.println("SCENARIO " + e.getKey() + " OK");
            } catch (Throwable t) {
                failures++;
                java.io.StringWriter w = new java.io.StringWriter();
                t.printStackTrace(new java.io.PrintWriter(w));
                System.out.println("SCENARIO " + e.getKey() + " FAIL " + w.toString().replace("\n", " | "));
            }
            System.out.flush();
        }
        System.exit(failures == 0 ? 0 : 1);
    }

    // ---------------------------------------------------------------- scenarios

    /** The cluster dimensions of the last launch: (0, 0, 0) unless it went through cuLaunchKernelEx with them. */
    private static List<Long> recordedCluster() {
        return List.of(fake.launch(11), fake.launch(12), fake.launch(13));
    }

    static void backendIsSelected() {
        assertTrue(Gpu.isAvailable(), Gpu.unavailableReason());
        assertEquals("cuda:0 (NVIDIA Fake H100)", Backends.device().name());
        assertEquals(132, Gpu.smCount(0));
    }

    /**
     * The opt-in tuner on a shape with several candidates. The first call runs each candidate once untimed and
     * {@link LaunchTuner#TIMED_RUNS} times timed into a scratch D, then launches the fastest (the fake's times are host
     * noise, so any candidate may win) on the caller's D and keeps it on disk. The next call launches it alone; so does
     * one that finds it only on disk (memory forgotten, as in a new process); a captured call never tunes.
     */
    static void denseGemmAutotuned() {
        long m = 256;
        long n = 2112;
        long k = 384;
        List<Launch<Sm90GemmConfig>> candidates = Sm90GemmHeuristic.tuningCandidates(m, n, k, 132);
        assertTrue(candidates.size() > 1, "several candidates: " + candidates);
        assertEquals(Sm90GemmHeuristic.choose(m, n, k, 132), candidates.getFirst(), "the heuristic's choice first");
        Fp8Tensor a = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, m, k), Tensor.zeros(GPU, DType.FP32, k / 128,
                m).t());
        Fp8Tensor b = fp8(n, k, (n + 127) / 128, k / 128);
        Tensor d = Tensor.zeros(GPU, DType.BF16, m, n);
        Path store = Jit.tunedChoices().orElseThrow().directory();
        DeepGemm.setAutotune(true);
        try {
            long tunings = LaunchTuner.TUNINGS.sum();
            long launches = fake.stat(0);
            DeepGemm.fp8GemmNt(a, b, d);
            assertEquals(launches + candidates.size() * (1 + LaunchTuner.TIMED_RUNS) + 1, fake.stat(0),
                    "every candidate 1 + " + LaunchTuner.TIMED_RUNS + " times, then the call");
            assertEquals(tunings + 1, LaunchTuner.TUNINGS.sum());
            String kept = recordedKernel();
            assertEquals(d.dataAddress(), tensorMapAddress(recordedParams().get(3)), "the call writes the caller's D");
            long scratch = tensorMapAddress(recordedParams(1).get(3));
            assertNotEquals(d.dataAddress(), scratch, "the timed runs write a scratch D");
            Launch<Sm90GemmConfig> winner = candidates.stream()
                    .filter(c -> c.config().source().kernelName().equals(kept)).findFirst().orElseThrow();
            assertEquals(List.of(LaunchTuner.id(winner)), storedChoices(store), "the kept choice on disk");

            launches = fake.stat(0);
            DeepGemm.fp8GemmNt(a, b, d);
            assertEquals(launches + 1, fake.stat(0), "kept in memory: the call alone");
            assertEquals(kept, recordedKernel());

            LaunchTuner.forgetKeptInMemory();
            launches = fake.stat(0);
            DeepGemm.fp8GemmNt(a, b, d);
            assertEquals(launches + 1, fake.stat(0), "kept on disk: the call alone");
            assertEquals(kept, recordedKernel());
            assertEquals(tunings + 1, LaunchTuner.TUNINGS.sum());

            Fp8Tensor b2 = fp8(2048, k, 16, k / 128);
            Tensor d2 = Tensor.zeros(GPU, DType.BF16, m, 2048);
            long captured = fake.stat(14);
            try (GpuGraph graph = Gpu.capture(() -> DeepGemm.fp8GemmNt(a, b2, d2))) {
                assertEquals(captured + 1, fake.stat(14), "one captured launch, no timing");
            }
            assertEquals(tunings + 1, LaunchTuner.TUNINGS.sum());
            assertEquals(1, storedChoices(store).size(), "nothing kept for the captured shape");
        } finally {
            DeepGemm.setAutotune(false);
            LaunchTuner.forgetKeptInMemory();
        }
    }

    /** The choices in the tuning store's files (their last line). */
    private static List<String> storedChoices(Path store) {
        try (var files = Files.list(store)) {
            List<String> out = new ArrayList<>();
            for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
                List<String> lines = Files.readAllLines(f);
                out.add(lines.getLast());
            }
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void denseGemmClustered() {
        // A standard M = 2048 shape the heuristic runs in 2-CTA clusters: cuLaunchKernelEx with cluster (2, 1, 1),
        // the _c2 kernel, an even grid, and the same parameters as the plain kernel.
        long m = 2048;
        long n = 7168;
        long k = 2048;
        Launch<Sm90GemmConfig> expected = Sm90GemmHeuristic.choose(m, n, k, 132);
        assertEquals(2, expected.config().clusterM(), expected.config().toString());
        Fp8Tensor a = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, m, k), Tensor.zeros(GPU, DType.FP32, k / 128,
                m).t());
        Fp8Tensor b = fp8(n, k, n / 128, k / 128);
        Tensor d = Tensor.zeros(GPU, DType.BF16, m, n);
        long clusteredBefore = Sm90DenseGemmLauncher.CLUSTER_LAUNCHES.sum();
        long driverBefore = fake.stat(0);
        DeepGemm.fp8GemmNt(a, b, d);
        assertEquals(driverBefore + 1, fake.stat(0), "the GEMM alone");
        assertEquals(clusteredBefore + 1, Sm90DenseGemmLauncher.CLUSTER_LAUNCHES.sum());
        assertEquals(2, fake.launch(0), "cuLaunchKernelEx");
        assertEquals(List.of(2L, 1L, 1L), recordedCluster(), "cluster dims");
        Sm90GemmConfig c = expected.config();
        int grid = expected.geometry().gridX();
        assertEquals(0, grid % 2, "grid " + grid);
        assertTrue(recordedKernel().endsWith("_c2"), recordedKernel());
        assertSm90Launch(c.source().kernelName(), grid, c.threads(), c.dynamicSharedBytes(), a.data().dataAddress(),
                b.data().dataAddress(), a.scales().dataAddress(), d.dataAddress(), b.scales().dataAddress(), (int) m,
                (int) n, (int) k);
        for (Tensor t : new Tensor[] {a.data(), b.data(), b.scales(), d}) {
            t.close();
        }
    }

    static void denseGemm() {
        // K-major sfa [7, 3]: one strided copy into the MN-major TMA-aligned layout, then the Hopper kernel.
        Fp8Tensor a = fp8(7, 384, 7, 3);
        Fp8Tensor b = fp8(136, 384, 2, 3);
        Tensor d = Tensor.zeros(GPU, DType.BF16, 7, 136);
        long sm90Before = DenseGemmLauncher.SM90_LAUNCHES.sum();
        long driverBefore = fake.stat(0);
        DeepGemm.fp8GemmNt(a, b, d);
        assertEquals(driverBefore + 2, fake.stat(0), "sfa layout copy, then the GEMM");
        assertEquals(sm90Before + 1, DenseGemmLauncher.SM90_LAUNCHES.sum());
        List<Object> got = recordedParams();
        long stagedSfa = tensorMapAddress(got.get(2));
        assertNotEquals(a.scales().dataAddress(), stagedSfa);
        // M <= 64: the small-M kernel. 8 token columns; 3 K blocks are too few to split, so 64-row tiles, one unit
        // per CTA: grid 3, 256 threads, 16 stages of 9376 B + the flag; no workspace (null pointers), D pitch 136.
        assertSmallMLaunch("dg_sm90_fp8_gemm_1d2d_small_m_t8r64_s16", 3, 256, 150032, a.data().dataAddress(),
                b.data().dataAddress(), stagedSfa, b.scales().dataAddress(), d.dataAddress(), 136, 0L, 7, 136, 384, 1);

        // sfa already MN-major and TMA-aligned ([8, 3] with column pitch 8): no copy.
        long smallBefore = DenseGemmLauncher.SM90_SMALL_M_LAUNCHES.sum();
        Fp8Tensor a8 = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 8, 384), Tensor.zeros(GPU, DType.FP32, 3, 8)
                .t());
        Tensor d8 = Tensor.zeros(GPU, DType.BF16, 8, 136);
        driverBefore = fake.stat(0);
        DeepGemm.fp8GemmNt(a8, b, d8);
        assertEquals(driverBefore + 1, fake.stat(0), "no layout copy");
        assertEquals(smallBefore + 1, DenseGemmLauncher.SM90_SMALL_M_LAUNCHES.sum());
        assertSmallMLaunch("dg_sm90_fp8_gemm_1d2d_small_m_t8r64_s16", 3, 256, 150032, a8.data().dataAddress(),
                b.data().dataAddress(), a8.scales().dataAddress(), b.scales().dataAddress(), d8.dataAddress(), 136,
                0L, 8, 136, 384, 1);

        // M = 1 against a narrow, deep B ((576, 7168): 9 tiles of 64 rows): K is split, so the launch gets the
        // stream's workspace (arrival counters first), and a second call reuses it without allocating. sfa [1, 56]
        // with a 16-byte column pitch is already in the kernel's layout.
        Tensor sfa1 = Tensor.wrap(Tensor.zeros(GPU, DType.FP32, 4 * 56).storage(), DType.FP32, new long[] {1, 56},
                new long[] {1, 4}, 0, false);
        Fp8Tensor a1 = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 1, 7168), sfa1);
        Fp8Tensor b576 = fp8(576, 7168, 5, 56);
        Tensor d1 = Tensor.zeros(GPU, DType.BF16, 1, 576);
        long liveBefore = fake.stat(2);
        DeepGemm.fp8GemmNt(a1, b576, d1);
        assertEquals(liveBefore + 1, fake.stat(2), "the stream's workspace stays allocated");
        List<Object> first = recordedParams();
        long partials = (Long) first.get(6);
        long counters = (Long) first.get(7);
        int splits = (Integer) first.get(11);
        assertTrue(splits > 1, "split-K, got " + splits);
        assertNotEquals(0L, counters);
        assertEquals(counters + 256, partials, "9 counters padded to 256 B, then the partials");
        assertEquals(Math.min(132, 9 * splits), fake.launch(2), "one CTA per unit, at most one per SM");
        driverBefore = fake.stat(0);
        DeepGemm.fp8GemmNt(a1, b576, d1);
        assertEquals(driverBefore + 1, fake.stat(0), "steady state: the GEMM only");
        assertEquals(liveBefore + 1, fake.stat(2), "steady state: nothing allocated");
        assertEquals(first.subList(3, first.size()), recordedParams().subList(3, first.size()), "same workspace");

        // M = 65: the tiled kernel.
        Fp8Tensor big = fp8(300, 384, 300, 3);
        Tensor dBig = Tensor.zeros(GPU, DType.BF16, 300, 2112);
        DeepGemm.fp8GemmNt(big, fp8(2112, 384, 17, 3), dBig);
        // One wave either way and only 3 K blocks: the cost model prefers the one-warpgroup 64x128 tile (its K-block
        // round trip is shorter): 5 x 17 tiles, 8 stages, 256 threads.
        assertEquals("dg_sm90_fp8_gemm_1d2d_m64n128_s8_sms132", recordedKernel());
        assertEquals(85, fake.launch(2));
        assertEquals(256, fake.launch(5));
        assertEquals(215296, fake.launch(8));
        // The last map encoded is D: BF16 [300, 2112], rows 4224 B apart, boxes of 64 columns x 64 rows, 128B swizzle.
        assertEquals(9, fake.tmap(0), "D map type BF16");
        assertEquals(2112, fake.tmap(3));
        assertEquals(300, fake.tmap(4));
        assertEquals(4224, fake.tmap(8));
        assertEquals(64, fake.tmap(12));
        assertEquals(64, fake.tmap(13));
        assertEquals(3, fake.tmap(23), "swizzle 128B");

        // The SIMT fallbacks: N = 100 (not a multiple of 8; D rows padded to 104), and below an MN-major B.
        long simtBefore = DenseGemmLauncher.SIMT_LAUNCHES.sum();
        Fp8Tensor b100 = fp8(100, 384, 1, 3);
        Tensor dPadded = Tensor.wrap(Tensor.zeros(GPU, DType.BF16, 7 * 104).storage(), DType.BF16,
                new long[] {7, 100}, new long[] {104, 1}, 0, false);
        DeepGemm.fp8GemmNt(a, b100, dPadded);
        assertEquals(simtBefore + 1, DenseGemmLauncher.SIMT_LAUNCHES.sum());
        assertLaunch("dg_dense_gemm_m16n64_pb_bf16", new int[] {1, 2, 1}, 256, a.data().dataAddress(), 384L, 1L,
                b100.data().dataAddress(), 384L, 1L, a.scales().dataAddress(), 3L, 1L, b100.scales().dataAddress(), 3L,
                1L, dPadded.dataAddress(), 104L, 1L, 7, 100, 384, 0);
        // NN: B given as [K, N] reaches the kernel as an MN-major [N, K] view, its scales transposed.
        Fp8Tensor bKn = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 384, 144),
                Tensor.zeros(GPU, DType.FP32, 3, 2));
        Tensor d144 = Tensor.zeros(GPU, DType.BF16, 7, 144);
        DeepGemm.fp8GemmNn(a, bKn, d144);
        assertLaunch("dg_dense_gemm_m16n64_pb_bf16", new int[] {1, 3, 1}, 256, a.data().dataAddress(), 384L, 1L,
                bKn.data().dataAddress(), 1L, 144L, a.scales().dataAddress(), 3L, 1L, bKn.scales().dataAddress(), 1L,
                2L, d144.dataAddress(), 144L, 1L, 7, 144, 384, 0);
    }

    /**
     * A graph may be replayed on any stream, concurrently with the capturing stream's own launches, so a captured
     * small-M launch must not use that stream's split-K workspace: the same call that splits K outside a capture
     * is captured with one split and null workspace pointers (9 tiles of 64 rows: grid 9).
     */
    static void smallMGemmCapturedDoesNotSplitK() {
        Tensor sfa1 = Tensor.wrap(Tensor.zeros(GPU, DType.FP32, 4 * 56).storage(), DType.FP32, new long[] {1, 56},
                new long[] {1, 4}, 0, false);
        Fp8Tensor a1 = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 1, 7168), sfa1);
        Fp8Tensor b576 = fp8(576, 7168, 5, 56);
        Tensor d1 = Tensor.zeros(GPU, DType.BF16, 1, 576);
        DeepGemm.fp8GemmNt(a1, b576, d1);
        assertTrue((Integer) recordedParams().get(11) > 1, "split-K outside a capture");
        long capturedBefore = fake.stat(14);
        try (GpuGraph graph = Gpu.capture(() -> DeepGemm.fp8GemmNt(a1, b576, d1))) {
            assertEquals(capturedBefore + 1, fake.stat(14), "one captured launch");
            assertSmallMLaunch("dg_sm90_fp8_gemm_1d2d_small_m_t8r64_s16", 9, 256, 150032, a1.data().dataAddress(),
                    b576.data().dataAddress(), sfa1.dataAddress(), b576.scales().dataAddress(), d1.dataAddress(), 576,
                    0L, 1, 576, 7168, 1);
        }
    }

    static void emptyKFills() {
        Tensor d = Tensor.wrap(Tensor.zeros(GPU, DType.BF16, 33 * 144).storage(), DType.BF16,
                new long[] {33, 136}, new long[] {144, 1}, 0, false);
        DeepGemm.fp8GemmNt(fp8(33, 0, 33, 0), fp8(136, 0, 2, 0), d);
        // fill: (dst, t0, t1, t2, n0, n1, n2, u32 bits), the 2-D view padded to rank 3.
        assertLaunch("dg_fill_e2_t256", new int[] {18, 1, 1}, 256, d.dataAddress(), 0L, 144L, 1L, 1L, 33L, 136L, 0);
    }

    static void contiguousGemm() {
        // sfa [256, 1] is MN-major already (one K block) and sfb [2, 2, 1] packed: the Hopper kernel, no copies. Two
        // experts fill far less than a wave of wide tiles, so the cost model picks 64x64: 4 x 3 tiles, one wave.
        Fp8Tensor a = fp8(256, 128, 256, 1);
        Fp8Tensor b = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 2, 136, 128),
                Tensor.zeros(GPU, DType.FP32, 2, 2, 1));
        Tensor d = Tensor.zeros(GPU, DType.BF16, 256, 136);
        Tensor layout = Tensor.zeros(GPU, DType.INT32, 256);
        long sm90Before = GroupedGemmLauncher.SM90_CONTIGUOUS_LAUNCHES.sum();
        long driverBefore = fake.stat(0);
        DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, layout);
        assertEquals(driverBefore + 1, fake.stat(0), "the GEMM alone");
        assertEquals(sm90Before + 1, GroupedGemmLauncher.SM90_CONTIGUOUS_LAUNCHES.sum());
        // Index layout: alignment is passed as 1 (only the psum layout reads it); D's pointer and pitch follow.
        assertSm90Launch("dg_sm90_fp8_gemm_1d2d_t1_m64n64_s13_sms132", 12, 256, 224928, a.data().dataAddress(),
                b.data().dataAddress(), a.scales().dataAddress(), d.dataAddress(), b.scales().dataAddress(), 256, 136,
                128, List.of(layout.dataAddress(), 2, 1, d.dataAddress(), 136));
        assertEquals(9, fake.tmap(0), "D map type BF16");
        assertEquals(136, fake.tmap(3));
        assertEquals(256, fake.tmap(4));
        assertEquals(272, fake.tmap(8));

        // Psum layout: the same kernel built for end rows, with the alignment.
        Tensor ends = Tensor.zeros(GPU, DType.INT32, 2);
        DeepGemm.mGroupedFp8GemmNtContiguous(a, b, d, ends, true);
        assertSm90Launch("dg_sm90_fp8_gemm_1d2d_t2_m64n64_s13_sms132", 12, 256, 224928, a.data().dataAddress(),
                b.data().dataAddress(), a.scales().dataAddress(), d.dataAddress(), b.scales().dataAddress(), 256, 136,
                128, List.of(ends.dataAddress(), 2, 128, d.dataAddress(), 136));
        assertEquals(sm90Before + 2, GroupedGemmLauncher.SM90_CONTIGUOUS_LAUNCHES.sum());

        // N = 100 is not a multiple of 8 (B's rows are fine, but the D tile's rows are not 16 bytes wide): the SIMT
        // kernel, with every stride as a parameter (D rows padded to 104).
        long simtBefore = GroupedGemmLauncher.SIMT_CONTIGUOUS_LAUNCHES.sum();
        Fp8Tensor b100 = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 2, 100, 128),
                Tensor.zeros(GPU, DType.FP32, 2, 1, 1));
        Tensor d100 = Tensor.wrap(Tensor.zeros(GPU, DType.BF16, 256 * 104).storage(), DType.BF16,
                new long[] {256, 100}, new long[] {104, 1}, 0, false);
        DeepGemm.mGroupedFp8GemmNtContiguous(a, b100, d100, layout);
        assertLaunch("dg_grouped_gemm_index_m64n64_pb_bf16", new int[] {4, 2, 1}, 256, a.data().dataAddress(), 128L,
                1L, b100.data().dataAddress(), 100L * 128, 128L, 1L, a.scales().dataAddress(), 1L, 1L,
                b100.scales().dataAddress(), 1L, 1L, 1L, d100.dataAddress(), 104L, 1L, layout.dataAddress(), 2, 128,
                256, 100, 128);
        assertEquals(simtBefore + 1, GroupedGemmLauncher.SIMT_CONTIGUOUS_LAUNCHES.sum());
        assertEquals(sm90Before + 2, GroupedGemmLauncher.SM90_CONTIGUOUS_LAUNCHES.sum());
    }

    static void maskedGemm() {
        // sfa [2, 40, 2] K-major: one copy into the kernel's layout (per group, 2 columns of 40 MN-major scales), then
        // the Hopper kernel over all 2 x 40 rows; the grid covers every tile masked_m could ask for: 2 x (1 x 2).
        Fp8Tensor a = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 2, 40, 256),
                Tensor.zeros(GPU, DType.FP32, 2, 40, 2));
        Fp8Tensor b = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 2, 136, 256),
                Tensor.zeros(GPU, DType.FP32, 2, 2, 2));
        Tensor d = Tensor.zeros(GPU, DType.BF16, 2, 40, 136);
        Tensor masked = Tensor.zeros(GPU, DType.INT32, 2);
        long sm90Before = GroupedGemmLauncher.SM90_MASKED_LAUNCHES.sum();
        long driverBefore = fake.stat(0);
        DeepGemm.mGroupedFp8GemmNtMasked(a, b, d, masked, 24);
        assertEquals(driverBefore + 2, fake.stat(0), "sfa layout copy, then the GEMM");
        assertEquals(sm90Before + 1, GroupedGemmLauncher.SM90_MASKED_LAUNCHES.sum());
        long stagedSfa = tensorMapAddress(recordedParams().get(2));
        assertNotEquals(a.scales().dataAddress(), stagedSfa);
        // 24 expected rows: decode-sized groups take 64x128 (8 stages, 256 threads); m is M_max.
        assertSm90Launch("dg_sm90_fp8_gemm_1d2d_t3_m64n128_s8_sms132", 4, 256, 215296, a.data().dataAddress(),
                b.data().dataAddress(), stagedSfa, d.dataAddress(), b.scales().dataAddress(), 40, 136, 256,
                List.of(masked.dataAddress(), 2, 1, d.dataAddress(), 136));
        // D as one map of 2 x 40 rows.
        assertEquals(9, fake.tmap(0), "D map type BF16");
        assertEquals(136, fake.tmap(3));
        assertEquals(80, fake.tmap(4));
        assertEquals(272, fake.tmap(8));

        // N = 100 (D rows padded to 104): the SIMT kernel, grid (M_max blocks, N blocks, groups).
        long simtBefore = GroupedGemmLauncher.SIMT_MASKED_LAUNCHES.sum();
        Fp8Tensor b100 = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 2, 100, 256),
                Tensor.zeros(GPU, DType.FP32, 2, 1, 2));
        Tensor d100 = Tensor.wrap(Tensor.zeros(GPU, DType.BF16, 2 * 40 * 104).storage(), DType.BF16,
                new long[] {2, 40, 100}, new long[] {40 * 104, 104, 1}, 0, false);
        DeepGemm.mGroupedFp8GemmNtMasked(a, b100, d100, masked, 24);
        assertLaunch("dg_grouped_gemm_masked_m32n64_pb_bf16", new int[] {2, 2, 2}, 256, a.data().dataAddress(),
                40L * 256, 256L, 1L, b100.data().dataAddress(), 100L * 256, 256L, 1L, a.scales().dataAddress(), 80L,
                2L, 1L, b100.scales().dataAddress(), 2L, 2L, 1L, d100.dataAddress(), 40L * 104, 104L, 1L,
                masked.dataAddress(), 40, 100, 256);
        assertEquals(simtBefore + 1, GroupedGemmLauncher.SIMT_MASKED_LAUNCHES.sum());
    }

    static void kGroupedGemm() {
        int[] ks = {128, 0, 256};
        long m = 16;
        long n = 32;
        Fp8Tensor a = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 384 * m), Tensor.zeros(GPU, DType.FP32, 3, m)
                .t());
        Fp8Tensor b = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 384 * n), Tensor.zeros(GPU, DType.FP32, 3, n)
                .t());
        Tensor d = Tensor.zeros(GPU, DType.FP32, 3, m, n);
        // "nt" with MN-major, 16-byte aligned scales on the (fake) H100: the Hopper 1D1D kernel, one launch over the
        // two non-empty groups, their A/B maps in a device table.
        long hopperBefore = Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum();
        DeepGemm.kGroupedFp8GemmNtContiguous(a, b, d, ks, null, d);
        assertEquals(hopperBefore + 1, Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum());
        var launch = dev.deepgemm4j.heuristics.Sm90Gemm1d1dHeuristic.kGrouped(2, m, n, 384, 132);
        assertEquals(launch.config().source().kernelName(), recordedKernel());
        assertTrue(recordedKernel().startsWith("dg_sm90_fp8_gemm_1d1d_k_"), recordedKernel());
        assertEquals(2, fake.launch(2), "one CTA per tile: 2 groups x 1 tile");
        assertEquals(launch.config().threads(), fake.launch(5));
        assertEquals(launch.config().dynamicSharedBytes(), fake.launch(8));
        List<Object> got = recordedParams();
        // tm_a and tm_b are unused by the K-grouped variant: the launcher passes the scale maps again.
        assertEquals(List.of(a.scales().dataAddress(), b.scales().dataAddress(), a.scales().dataAddress(),
                b.scales().dataAddress()), List.of(tensorMapAddress(got.get(0)), tensorMapAddress(got.get(1)),
                tensorMapAddress(got.get(2)), tensorMapAddress(got.get(3))), "maps of sfa, sfb, sfa, sfb");
        long[] dMap = (long[]) got.get(4);
        assertEquals(0xFA4E7A9000000003L, dMap[0], "D as a rank-3 map");
        assertEquals(d.dataAddress(), dMap[1]);
        long table = (Long) got.get(5);
        assertNotEquals(0L, table);
        assertEquals(List.of(table + 2 * 2 * 128, 2, (int) m, (int) n, 0, 0L), got.subList(6, got.size()),
                "group infos after 2 x 2 maps, 2 groups, m, n, k unused, status");
        // The last map encoded is D: FLOAT32 {n, m, G}, rows n * 4 bytes apart, groups m * n * 4, box blockN x 64 x 1.
        assertEquals(List.of(7L, 3L, n, m, 3L, n * 4, m * n * 4, (long) launch.config().blockN(), 64L, 1L),
                List.of(fake.tmap(0), fake.tmap(1), fake.tmap(3), fake.tmap(4), fake.tmap(5), fake.tmap(8),
                        fake.tmap(9), fake.tmap(12), fake.tmap(13), fake.tmap(14)));

        // Again with the same buffers (the group table now comes from the memo): the same launch.
        DeepGemm.kGroupedFp8GemmNtContiguous(a, b, d, ks, null, d);
        assertEquals(hopperBefore + 2, Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum());
        assertEquals(got.subList(7, got.size()), recordedParams().subList(7, got.size()));

        // Scales not MN-major (row-major [m, ΣKB]): the SIMT kernel.
        Fp8Tensor aRowScales = new Fp8Tensor(a.data(), Tensor.zeros(GPU, DType.FP32, m, 3));
        DeepGemm.kGroupedFp8GemmNtContiguous(aRowScales, b, d, ks, null, d);
        got = recordedParams();
        long ksPointer = (Long) got.get(12);
        assertNotEquals(0L, ksPointer);
        assertLaunch("dg_k_grouped_gemm_nt_m16n64_pr_f32", new int[] {1, 1, 3}, 256, a.data().dataAddress(),
                b.data().dataAddress(), aRowScales.scales().dataAddress(), 3L, 1L, b.scales().dataAddress(), 1L, n,
                d.dataAddress(), m * n, n, 1L, ksPointer, 3, 384L, (int) m, (int) n);

        // "tn" token rows [ΣK, MN], A's rows padded to a pitch of m + 16 bytes: WGMMA reads K-major operands only, so
        // each operand is transposed into stream-ordered scratch [MN, ΣK] (one launch each, A^T then B^T 256-byte
        // aligned after it), and the same K-grouped kernel reads group g as columns [ΣK_<g, ΣK_≤g) of the scratch.
        Fp8Tensor aTn = new Fp8Tensor(Tensor.wrap(Tensor.zeros(GPU, DType.FP8_E4M3, 384 * (m + 16)).storage(),
                DType.FP8_E4M3, new long[] {384, m}, new long[] {m + 16, 1}, 0, false),
                Tensor.zeros(GPU, DType.FP32, 3, m));
        Fp8Tensor bTn = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 384, n), Tensor.zeros(GPU, DType.FP32, 3, n));
        long before = fake.stat(0);
        long tnBefore = Sm90Gemm1d1dLauncher.K_GROUPED_TN_LAUNCHES.sum();
        DeepGemm.kGroupedFp8GemmTnContiguous(aTn, bTn, d, ks, null, d);
        assertEquals(before + 3, fake.stat(0), "transpose A, transpose B, the GEMM");
        assertEquals(tnBefore + 1, Sm90Gemm1d1dLauncher.K_GROUPED_TN_LAUNCHES.sum());
        assertEquals(hopperBefore + 3, Sm90Gemm1d1dLauncher.K_GROUPED_LAUNCHES.sum());
        // fp8_transpose (src, src_sb, src_sr, dst, dst_sb, dst_sr, batch, rows, cols): 384 x MN bytes, 3 row tiles.
        long aScratch = (Long) recordedParams(2).get(3);
        long bScratch = aScratch + m * 384; // 6144 bytes: already a multiple of 256
        assertLaunchBack(2, "dg_fp8_transpose_t256", new int[] {3, 1, 1}, 256, aTn.data().dataAddress(), 0L,
                m + 16, aScratch, 0L, 384L, 1L, 384L, m);
        assertLaunchBack(1, "dg_fp8_transpose_t256", new int[] {3, 1, 1}, 256, bTn.data().dataAddress(), 0L, n,
                bScratch, 0L, 384L, 1L, 384L, n);
        assertEquals(launch.config().source().kernelName(), recordedKernel());
        got = recordedParams();
        assertEquals(List.of(aTn.scales().dataAddress(), bTn.scales().dataAddress()),
                List.of(tensorMapAddress(got.get(0)), tensorMapAddress(got.get(1))), "[ΣK/128, MN] scales in place");
        assertEquals(List.of(2, (int) m, (int) n, 0, 0L), got.subList(7, got.size()));
        // Group 0 (K = 128) at column 0, group 2 (K = 256) at column 128; rows ΣK = 384 bytes apart.
        int blockM = launch.config().blockM();
        int blockN = launch.config().blockN();
        assertOperandMap(aScratch, 128, m, blockM);
        assertOperandMap(aScratch + 128, 256, m, blockM);
        assertOperandMap(bScratch, 128, n, blockN);
        assertOperandMap(bScratch + 128, 256, n, blockN);

        // Scales given K-major ([ΣK/128, MN] as the transpose of [MN, ΣK/128]): one strided copy into an MN-major
        // [MN, 3] matrix with a 16-byte column pitch before the GEMM, whose sfa map reads the copy.
        Fp8Tensor aTnRowScales = new Fp8Tensor(aTn.data(), Tensor.zeros(GPU, DType.FP32, m, 3).t());
        before = fake.stat(0);
        DeepGemm.kGroupedFp8GemmTnContiguous(aTnRowScales, bTn, d, ks, null, d);
        assertEquals(before + 4, fake.stat(0), "transpose A, transpose B, copy sfa, the GEMM");
        assertEquals(tnBefore + 2, Sm90Gemm1d1dLauncher.K_GROUPED_TN_LAUNCHES.sum());
        assertEquals("dg_fp8_transpose_t256", recordedKernel(3));
        assertEquals("dg_fp8_transpose_t256", recordedKernel(2));
        assertEquals("dg_strided_copy_e4_t256", recordedKernel(1));
        long stagedSfa = (Long) recordedParams(1).get(4);
        assertEquals(List.of(stagedSfa, bTn.scales().dataAddress()), List.of(tensorMapAddress(recordedParams().get(0)),
                tensorMapAddress(recordedParams().get(1))), "sfa from the copy");

        // "tn" given K-major (the transposes of [MN, ΣK] row-major buffers) is no token-row buffer: nothing to
        // transpose, each non-empty group is a K-major block with rows 384 bytes apart, one dense 1D1D launch each.
        Fp8Tensor aKMajor = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, m, 384).t(),
                Tensor.zeros(GPU, DType.FP32, 3, m));
        Fp8Tensor bKMajor = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, n, 384).t(),
                Tensor.zeros(GPU, DType.FP32, 3, n));
        long denseBefore = Sm90Gemm1d1dLauncher.DENSE_LAUNCHES.sum();
        before = fake.stat(0);
        DeepGemm.kGroupedFp8GemmTnContiguous(aKMajor, bKMajor, d, ks, null, d);
        assertEquals(before + 2, fake.stat(0), "one launch per non-empty group");
        assertEquals(denseBefore + 2, Sm90Gemm1d1dLauncher.DENSE_LAUNCHES.sum());
        assertEquals(tnBefore + 2, Sm90Gemm1d1dLauncher.K_GROUPED_TN_LAUNCHES.sum());
        assertTrue(recordedKernel().startsWith("dg_sm90_fp8_gemm_1d1d_d_"), recordedKernel());
        // The last group: K = 256 from token 128, A_2 [m, 256] at byte 128 of each 384-byte row.
        assertEquals(aKMajor.data().dataAddress() + 128, tensorMapAddress(recordedParams().get(0)));
    }

    /**
     * Among the fake's recent encodes, the K-grouped kernel's operand map at {@code address}: UINT8 {K_g, MN} with
     * rows ΣK = 384 bytes apart, boxes of 128 × {@code boxRows}, 128B swizzle.
     */
    private static void assertOperandMap(long address, long kg, long mn, int boxRows) {
        for (int back = 0; back < FakeCudaLibraries.State.HISTORY; back++) {
            if (fake.tmapBack(back, 2) == address && fake.tmapBack(back, 0) == 0) {
                assertEquals(List.of(2L, kg, mn, 384L, 128L, (long) boxRows, 3L),
                        List.of(fake.tmapBack(back, 1), fake.tmapBack(back, 3), fake.tmapBack(back, 4),
                                fake.tmapBack(back, 8), fake.tmapBack(back, 12), fake.tmapBack(back, 13),
                                fake.tmapBack(back, 23)), "rank, dims, row pitch, box, swizzle of the map at " + address);
                return;
            }
        }
        throw new AssertionError("no UINT8 map of " + address + " among the last encodes");
    }

    static void mqaLogits() {
        // S·H = 160 q rows and S_kv = 300 fill a TMA box each: the Hopper kernel (the fake device is an sm_90).
        int s = 5;
        Tensor q = Tensor.zeros(GPU, DType.FP8_E4M3, s, 32, 64);
        Fp8Tensor kv = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 300, 64), Tensor.zeros(GPU, DType.FP32, 300));
        Tensor w = Tensor.zeros(GPU, DType.FP32, s, 32);
        Tensor ks = Tensor.zeros(GPU, DType.INT32, s);
        Tensor ke = Tensor.zeros(GPU, DType.INT32, s);
        long sm90Before = MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum();
        Tensor logits = DeepGemm.fp8MqaLogits(q, kv, w, ks, ke, false, 0);
        assertEquals(sm90Before + 1, MqaLogitsLauncher.SM90_PLAIN_LAUNCHES.sum());
        long pitch = 768; // align(300 + 256, 256)
        assertEquals(pitch, logits.stride(0));
        // 2 query blocks of 4 queries; D = 64: 8 KV stages of 256 rows and 65 rows of 4 scales (1152 B), 158720 B;
        // 4 math warpgroups + the producer. The scales are 16-byte aligned: no offset.
        assertMapLaunch("dg_sm90_fp8_mqa_logits_h32_d64_q128_w4_s8", 2, 640, 158720,
                List.of(q.dataAddress(), kv.data().dataAddress(), kv.scales().dataAddress()), 0, w.dataAddress(), 32L,
                ks.dataAddress(), ke.dataAddress(), logits.dataAddress(), pitch, s, 300, 300, 0, 0L);
        // The map before the last is kv: [300, 64] bytes, boxes of 64 x 256 rows, 64B swizzle.
        assertEquals(List.of(0L, 64L, 300L, 64L, 64L, 256L, 2L), List.of(fake.tmapBack(1, 0), fake.tmapBack(1, 3),
                fake.tmapBack(1, 4), fake.tmapBack(1, 8), fake.tmapBack(1, 12), fake.tmapBack(1, 13),
                fake.tmapBack(1, 23)), "type, dims, row pitch, box, swizzle of the kv map");
        // The last is the scales as 16-byte rows: FLOAT32 (7) {4, 75}, pitch 16, boxes of 4 x 65, no swizzle.
        assertEquals(List.of(7L, 4L, 75L, 16L, 4L, 65L, 0L), List.of(fake.tmap(0), fake.tmap(3), fake.tmap(4),
                fake.tmap(8), fake.tmap(12), fake.tmap(13), fake.tmap(23)), "type, dims, pitch, box, swizzle of the scales map");
        // Scales 4 bytes past a 16-byte boundary: mapped from that boundary, one element early (offset 1, 301 elements
        // in 76 rows).
        Fp8Tensor offsetKv = new Fp8Tensor(kv.data(), Tensor.zeros(GPU, DType.FP32, 301).narrow(0, 1, 300));
        long scales = offsetKv.scales().dataAddress();
        assertEquals(4, scales % 16);
        DeepGemm.fp8MqaLogits(q, offsetKv, w, ks, ke, false, 0);
        assertEquals(List.of(scales - 4, 7L, 4L, 76L), List.of(fake.tmap(2), fake.tmap(0), fake.tmap(3),
                fake.tmap(4)), "base, type and dims of the offset scales map");
        assertEquals(1, recordedParams().get(3), "sf_off");
        long before = fake.stat(0);
        long memsetsBefore = fake.memsets();
        Tensor cleaned = DeepGemm.fp8MqaLogits(q, kv, w, ks, ke, true, 0);
        assertEquals(before + 2, fake.stat(0), "logits, then the clean pass");
        assertEquals(memsetsBefore, fake.memsets(), "the kernel and the clean pass write every position: no zero fill");
        // 5 rows of one 8192-column unit each: one CTA of 8 warps.
        assertLaunch("dg_mqa_logits_clean_t256_k8192", new int[] {1, 1, 1}, 256, ks.dataAddress(), ke.dataAddress(),
                cleaned.dataAddress(), pitch, s, 300);
        memsetsBefore = fake.memsets();
        Tensor compressed = DeepGemm.fp8MqaLogits(q, kv, w, ks, ke, false, 100);
        assertEquals(memsetsBefore, fake.memsets(), "no zero fill without cleaning either: those positions are unspecified");
        assertMapLaunch("dg_sm90_fp8_mqa_logits_h32_d64_q128_w4_s8", 2, 640, 158720,
                List.of(q.dataAddress(), kv.data().dataAddress(), kv.scales().dataAddress()), 0, w.dataAddress(), 32L,
                ks.dataAddress(), ke.dataAddress(), compressed.dataAddress(), 512L, s, 300, 100, 1, 0L);

        // BF16 logits: the _bf16 variants of the Hopper kernel and of the clean pass, with the same shared memory and
        // parameters; rows of align(300 + 256, 512) = 1024 BF16 elements (2048 bytes, on a 1024-byte boundary).
        before = fake.stat(0);
        Tensor bf16 = DeepGemm.fp8MqaLogits(q, kv, w, ks, ke, true, 0, DType.BF16);
        assertEquals(before + 2, fake.stat(0), "BF16 logits, then the BF16 clean pass");
        assertEquals(DType.BF16, bf16.dtype());
        assertEquals(1024, bf16.stride(0));
        assertEquals("dg_sm90_fp8_mqa_logits_h32_d64_q128_w4_s8_bf16", recordedKernel(1));
        assertEquals(List.of(0, w.dataAddress(), 32L, ks.dataAddress(), ke.dataAddress(), bf16.dataAddress(), 1024L, s,
                300, 300, 0, 0L), recordedParams(1).subList(3, 15), "BF16 kernel parameters after the maps");
        assertLaunch("dg_mqa_logits_clean_t256_k8192_bf16", new int[] {1, 1, 1}, 256, ks.dataAddress(),
                ke.dataAddress(), bf16.dataAddress(), 1024L, s, 300);
        Tensor bf16Compressed = DeepGemm.fp8MqaLogits(q, kv, w, ks, ke, false, 100, DType.BF16);
        assertMapLaunch("dg_sm90_fp8_mqa_logits_h32_d64_q128_w4_s8_bf16", 2, 640, 158720,
                List.of(q.dataAddress(), kv.data().dataAddress(), kv.scales().dataAddress()), 0, w.dataAddress(), 32L,
                ks.dataAddress(), ke.dataAddress(), bf16Compressed.dataAddress(), 512L, s, 300, 100, 1, 0L);

        // S_kv = 200 is less than one KV box: the SIMT kernel.
        Fp8Tensor shortKv = new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, 200, 64),
                Tensor.zeros(GPU, DType.FP32, 200));
        long simtBefore = MqaLogitsLauncher.SIMT_PLAIN_LAUNCHES.sum();
        Tensor simt = DeepGemm.fp8MqaLogits(q, shortKv, w, ks, ke, false, 0);
        assertEquals(simtBefore + 1, MqaLogitsLauncher.SIMT_PLAIN_LAUNCHES.sum());
        assertLaunch("dg_mqa_logits_h32_d64_t256", new int[] {5, 1, 1}, 256, q.dataAddress(), 32L * 64, 64L,
                shortKv.data().dataAddress(), 64L, shortKv.scales().dataAddress(), 1L, w.dataAddress(), 32L,
                ks.dataAddress(), ke.dataAddress(), simt.dataAddress(), 512L, s, 200, 200, 0);
        Tensor simtBf16 = DeepGemm.fp8MqaLogits(q, shortKv, w, ks, ke, false, 0, DType.BF16);
        assertEquals(simtBefore + 2, MqaLogitsLauncher.SIMT_PLAIN_LAUNCHES.sum());
        assertLaunch("dg_mqa_logits_h32_d64_t256_bf16", new int[] {5, 1, 1}, 256, q.dataAddress(), 32L * 64, 64L,
                shortKv.data().dataAddress(), 64L, shortKv.scales().dataAddress(), 1L, w.dataAddress(), 32L,
                ks.dataAddress(), ke.dataAddress(), simtBf16.dataAddress(), 512L, s, 200, 200, 0);
    }

    static void pagedMetadataAndLogits() {
        int batch = 3;
        int nextN = 2;
        Tensor lens = Tensor.zeros(GPU, DType.INT32, batch, nextN);
        Tensor meta = DeepGemm.getPagedMqaLogitsMetadata(lens, 64, 132);
        assertLaunch("dg_paged_mqa_metadata_s256_a2_last", new int[] {1, 1, 1}, 512, lens.dataAddress(), 2L, batch,
                nextN, meta.dataAddress(), 132);
        Tensor q = Tensor.zeros(GPU, DType.FP8_E4M3, batch, nextN, 64, 128);
        long blockBytes = 64L * 132 + 64; // padded blocks, 16-byte multiples apart: the Hopper kernel
        Tensor cache = Tensor.wrap(Tensor.zeros(GPU, DType.UINT8, 5 * blockBytes).storage(), DType.UINT8,
                new long[] {5, 64, 1, 132}, new long[] {blockBytes, 132, 132, 1}, 0, false);
        Tensor w = Tensor.zeros(GPU, DType.FP32, batch * nextN, 64);
        Tensor table = Tensor.zeros(GPU, DType.INT32, batch, 4);
        long sm90Before = MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum();
        Tensor logits = DeepGemm.fp8PagedMqaLogits(q, cache, w, lens, table, meta, 300, false);
        assertEquals(sm90Before + 1, MqaLogitsLauncher.SM90_PAGED_LAUNCHES.sum());
        // One CTA per schedule row (132), next_n·H = 128 q rows, 5 KV stages of 256 x 128 B and 256 scales: 203776 B.
        assertMapLaunch("dg_sm90_fp8_paged_mqa_logits_h64_d128_n2_b64_s5", 132, 640, 203776,
                List.of(q.dataAddress(), cache.dataAddress()), cache.dataAddress(), blockBytes, 5, w.dataAddress(),
                64L, lens.dataAddress(), 2L, table.dataAddress(), 4L, 4, meta.dataAddress(), logits.dataAddress(),
                512L, batch, 300, 0L);
        // The last map encoded is the cache's FP8 part: rank 3, {128, 64, 5} bytes, block stride, box {128, 64, 1}.
        assertEquals(3, fake.tmap(1), "rank");
        assertEquals(blockBytes, fake.tmap(9), "block stride");
        long before = fake.stat(0);
        long memsetsBefore = fake.memsets();
        Tensor cleaned = DeepGemm.fp8PagedMqaLogits(q, cache, w, lens, table, meta, 300, true);
        assertEquals(before + 2, fake.stat(0), "logits, then the paged clean pass");
        assertEquals(memsetsBefore, fake.memsets(), "no zero fill of a cleaned output");
        assertLaunch("dg_paged_mqa_logits_clean_t256_k8192", new int[] {1, 1, 1}, 256, lens.dataAddress(), 2L, nextN,
                cleaned.dataAddress(), 512L, batch * nextN, 300);

        // BF16 logits (rows of align(300, 512) = 512 elements): the _bf16 variants, same parameters.
        before = fake.stat(0);
        Tensor bf16 = DeepGemm.fp8PagedMqaLogits(q, cache, w, lens, table, meta, 300, true, DType.BF16);
        assertEquals(before + 2, fake.stat(0), "BF16 logits, then the BF16 paged clean pass");
        assertEquals(DType.BF16, bf16.dtype());
        assertEquals("dg_sm90_fp8_paged_mqa_logits_h64_d128_n2_b64_s5_bf16", recordedKernel(1));
        assertEquals(List.of(meta.dataAddress(), bf16.dataAddress(), 512L, batch, 300, 0L),
                recordedParams(1).subList(12, 18), "BF16 kernel: schedule, logits, l_sr, batch, max_context_len");
        assertLaunch("dg_paged_mqa_logits_clean_t256_k8192_bf16", new int[] {1, 1, 1}, 256, lens.dataAddress(), 2L,
                nextN, bf16.dataAddress(), 512L, batch * nextN, 300);

        // Blocks 8452 B apart (not a 16-byte multiple): no TMA map, the SIMT kernel.
        long oddBytes = 64L * 132 + 4;
        Tensor oddCache = Tensor.wrap(Tensor.zeros(GPU, DType.UINT8, 5 * oddBytes).storage(), DType.UINT8,
                new long[] {5, 64, 1, 132}, new long[] {oddBytes, 132, 132, 1}, 0, false);
        Tensor simt = DeepGemm.fp8PagedMqaLogits(q, oddCache, w, lens, table, meta, 300, true);
        assertLaunch("dg_paged_mqa_logits_h64_d128_t256", new int[] {3, 2, 1}, 256, q.dataAddress(),
                2L * 64 * 128, 64L * 128, 128L, oddCache.dataAddress(), oddBytes, 5, w.dataAddress(), 64L,
                lens.dataAddress(), 2L, table.dataAddress(), 4L, 4, simt.dataAddress(), 512L, batch, 300, nextN, 64,
                1);
        Tensor simtBf16 = DeepGemm.fp8PagedMqaLogits(q, oddCache, w, lens, table, meta, 300, false, DType.BF16);
        assertLaunch("dg_paged_mqa_logits_h64_d128_t256_bf16", new int[] {3, 2, 1}, 256, q.dataAddress(),
                2L * 64 * 128, 64L * 128, 128L, oddCache.dataAddress(), oddBytes, 5, w.dataAddress(), 64L,
                lens.dataAddress(), 2L, table.dataAddress(), 4L, 4, simtBf16.dataAddress(), 512L, batch, 300, nextN,
                64, 0);
    }

    static void quantize() {
        Tensor x = Tensor.zeros(GPU, DType.FP32, 257, 130).t(); // [130, 257], column-major
        Fp8Tensor out = DeepGemm.perBlockCastToFp8(x, true);
        assertLaunch("dg_cast_to_fp8_128x128_f32_ue8m0_t256", new int[] {6, 1, 1}, 256, x.dataAddress(), 0L, 1L,
                130L, out.data().dataAddress(), 0L, 257L, 1L, out.scales().dataAddress(), 0L, 3L, 1L, 130, 257);
    }

    static void packUe8m0() {
        Tensor sf = Tensor.zeros(GPU, DType.FP32, 129, 7);
        Tensor packed = DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf);
        assertEquals(1, packed.stride(0));
        assertEquals(132, packed.stride(1));
        assertLaunch("dg_pack_ue8m0_t256", new int[] {2, 1, 1}, 256, sf.dataAddress(), 0L, 7L, 1L,
                packed.dataAddress(), 0L, 1L, 132L, 1L, 129L, 7);
    }

    static void stridedCopy() {
        Tensor src = Tensor.zeros(GPU, DType.BF16, 4, 6, 10).transpose(0, 2); // [10, 6, 4], strides (1, 10, 60)
        long before = fake.stat(0);
        Tensor host = src.toHost();
        assertEquals(before + 1, fake.stat(0), "one strided copy into the staging buffer");
        List<Object> got = recordedParams();
        assertLaunch("dg_strided_copy_e2_t256", new int[] {1, 1, 1}, 256, src.dataAddress(), 1L, 10L, 60L,
                got.get(4), 24L, 4L, 1L, 10L, 6L, 4L);
        assertEquals(240, host.numel());
        // Four dimensions that do not merge: one launch per index of the outermost.
        Tensor src4 = Tensor.zeros(GPU, DType.FP32, 2, 3, 5, 7).transpose(1, 3);
        Tensor dst4 = Tensor.zeros(GPU, DType.FP32, 2, 7, 5, 3);
        before = fake.stat(0);
        Backends.device().copy(src4, dst4);
        assertEquals(before + 2, fake.stat(0));
        assertLaunch("dg_strided_copy_e4_t256", new int[] {1, 1, 1}, 256, src4.dataAddress() + 4 * 105, 1L, 7L,
                35L, dst4.dataAddress() + 4 * 105, 15L, 3L, 1L, 7L, 5L, 3L);
    }

    static void badInputLaunchesNothing() {
        long before = CudaBackend.launchCount();
        long driverBefore = fake.stat(0);
        Fp8Tensor a = fp8(7, 384, 7, 3);
        Fp8Tensor b = fp8(136, 256, 2, 2);
        Tensor d = Tensor.zeros(GPU, DType.BF16, 7, 136);
        assertThrows(DeepGemmArgumentException.class, () -> DeepGemm.fp8GemmNt(a, b, d));
        assertThrows(DeepGemmArgumentException.class,
                () -> DeepGemm.fp8GemmNt(a, fp8(136, 384, 2, 3), Tensor.zeros(DType.BF16, 7, 136)));
        Tensor q = Tensor.zeros(GPU, DType.FP8_E4M3, 5, 32, 64);
        Fp8Tensor kv = fp8(300, 64, 300, 1);
        Fp8Tensor kvFlat = new Fp8Tensor(kv.data(), kv.scales().view(300));
        Tensor w = Tensor.zeros(GPU, DType.FP32, 5, 32);
        Tensor ks = Tensor.zeros(GPU, DType.INT32, 5);
        DeepGemmArgumentException dtype = assertThrows(DeepGemmArgumentException.class,
                () -> DeepGemm.fp8MqaLogits(q, kvFlat, w, ks, ks, true, 0, DType.FP8_E4M3));
        assertEquals("logits_dtype", dtype.argument());
        assertEquals(before, CudaBackend.launchCount());
        assertEquals(driverBefore, fake.stat(0));
    }

    /** Broken calls on device tensors: each runs, or is rejected by name before any launch, leaving outputs alone. */
    static void argumentFuzz() {
        List<String> failures = new ArrayList<>();
        for (ArgumentFuzzer.Baseline baseline : ArgumentFuzzer.baselines()) {
            failures.addAll(ArgumentFuzzer.failures(baseline, GPU, 300, CudaBackend::launchCount));
        }
        assertEquals(List.of(), failures, () -> String.join("\n\n", failures));
    }

    // ---------------------------------------------------------------- helpers

    /** Device FP8 [rows, k] with FP32 scales [scaleRows, scaleCols]. */
    private static Fp8Tensor fp8(long rows, long k, long scaleRows, long scaleCols) {
        return new Fp8Tensor(Tensor.zeros(GPU, DType.FP8_E4M3, rows, k),
                Tensor.zeros(GPU, DType.FP32, scaleRows, scaleCols));
    }

    /**
     * The last launch: kernel name, grid, block (x; y = z = 1) and parameters. Expected parameters are Long (8-byte
     * pointers and i64), Integer (int, u32) in the kernel's order; tensor maps decode as long[16].
     */
    private static void assertLaunch(String kernel, int[] grid, int block, Object... params) {
        assertLaunchBack(0, kernel, grid, block, params);
    }

    /** As {@link #assertLaunch}, for the launch {@code back} launches before the last. */
    private static void assertLaunchBack(int back, String kernel, int[] grid, int block, Object... params) {
        assertEquals(kernel, recordedKernel(back), "kernel");
        assertEquals(grid[0], fake.launchBack(back, 2), "grid x");
        assertEquals(grid[1], fake.launchBack(back, 3), "grid y");
        assertEquals(grid[2], fake.launchBack(back, 4), "grid z");
        assertEquals(block, fake.launchBack(back, 5), "block x");
        assertEquals(1, fake.launchBack(back, 6) * fake.launchBack(back, 7), "block y, z");
        assertEquals(0, fake.launchBack(back, 8), "dynamic shared memory");
        List<Object> expected = new ArrayList<>();
        for (Object p : params) {
            expected.add(p instanceof Long || p instanceof Integer ? p : ((Number) p).longValue());
        }
        assertEquals(expected, recordedParams(back), "parameters of " + kernel);
    }

    /** The last launch of the Hopper GEMM: maps by their base address (the fake encodes it in word 1), then the rest. */
    private static void assertSm90Launch(String kernel, int grid, int block, int smem, long a, long b, long sfa,
            long d, long sfb, int m, int n, int k) {
        // The dense GEMM passes the M-grouped parameters as null, 1, 1, null, 0.
        assertSm90Launch(kernel, grid, block, smem, a, b, sfa, d, sfb, m, n, k, List.of(0L, 1, 1, 0L, 0));
    }

    /** As above, with the M-grouped parameters (layout, num_groups, alignment, d, d_pitch) that follow status. */
    private static void assertSm90Launch(String kernel, int grid, int block, int smem, long a, long b, long sfa,
            long d, long sfb, int m, int n, int k, List<Object> grouped) {
        assertEquals(kernel, recordedKernel(), "kernel");
        // Plain kernels go through cuLaunchKernel; the clustered (_c2) ones through cuLaunchKernelEx with (2, 1, 1).
        boolean clustered = kernel.endsWith("_c2");
        assertEquals(clustered ? 2 : 1, fake.launch(0), "launch API");
        assertEquals(clustered ? List.of(2L, 1L, 1L) : List.of(0L, 0L, 0L), recordedCluster(), "cluster dims");
        assertEquals(grid, fake.launch(2), "grid x");
        assertEquals(1, fake.launch(3) * fake.launch(4), "grid y, z");
        assertEquals(block, fake.launch(5), "block x");
        assertEquals(smem, fake.launch(8), "dynamic shared memory");
        List<Object> got = recordedParams();
        List<Object> maps = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            maps.add(tensorMapAddress(got.get(i)));
        }
        assertEquals(List.of(a, b, sfa, d), maps, "tensor maps of A, B, sfa, D");
        List<Object> rest = new ArrayList<>(List.of(sfb, m, n, k, 0L));
        rest.addAll(grouped);
        assertEquals(rest, got.subList(4, got.size()), "sfb, m, n, k, status, layout, num_groups, alignment, d, d_pitch");
    }

    /** The last launch of the small-M GEMM: maps by their base address, then the rest up to the split factor. */
    private static void assertSmallMLaunch(String kernel, int grid, int block, int smem, long a, long b, long sfa,
            long sfb, long d, int ldd, long workspace, int m, int n, int k, int splits) {
        assertEquals(kernel, recordedKernel(), "kernel");
        assertEquals(grid, fake.launch(2), "grid x");
        assertEquals(1, fake.launch(3) * fake.launch(4), "grid y, z");
        assertEquals(block, fake.launch(5), "block x");
        assertEquals(smem, fake.launch(8), "dynamic shared memory");
        List<Object> got = recordedParams();
        List<Object> maps = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            maps.add(tensorMapAddress(got.get(i)));
        }
        assertEquals(List.of(a, b, sfa), maps, "tensor maps of A, B, sfa");
        assertEquals(List.of(sfb, d, ldd, workspace, workspace, m, n, k, splits, 0L), got.subList(3, got.size()),
                "sfb, d, ldd, workspace, counters, m, n, k, splits, status");
    }

    /** The global address a fake-encoded tensor map holds. */
    private static long tensorMapAddress(Object map) {
        long[] words = (long[]) map;
        assertEquals(0xFA4E7A9000000002L, words[0] & ~1L, "a rank-2 or rank-3 map encoded by the fake driver");
        return words[1];
    }

    /**
     * The last launch of a kernel whose leading parameters are tensor maps (checked by base address), then the rest
     * as in {@link #assertLaunch}; 1-D grid and block.
     */
    private static void assertMapLaunch(String kernel, int grid, int block, int smem, List<Long> maps,
            Object... rest) {
        assertEquals(kernel, recordedKernel(), "kernel");
        assertEquals(grid, fake.launch(2), "grid x");
        assertEquals(1, fake.launch(3) * fake.launch(4), "grid y, z");
        assertEquals(block, fake.launch(5), "block x");
        assertEquals(smem, fake.launch(8), "dynamic shared memory");
        List<Object> got = recordedParams();
        List<Object> gotMaps = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            gotMaps.add(tensorMapAddress(got.get(i)));
        }
        assertEquals(maps, gotMaps, "tensor map base addresses");
        assertEquals(List.of(rest), got.subList(maps.size(), got.size()), "parameters after the maps");
    }

    /** The name of the last launched function (the fake's CUfunction starts with a 128-byte name). */
    private static String recordedKernel() {
        return recordedKernel(0);
    }

    /** The name of the function launched {@code back} launches before the last. */
    private static String recordedKernel(int back) {
        return MemorySegment.ofAddress(fake.launchBack(back, 1)).reinterpret(128).getString(0,
                StandardCharsets.US_ASCII);
    }

    /** The last launch's parameters decoded with its function's signature. */
    private static List<Object> recordedParams() {
        return recordedParams(0);
    }

    /** The parameters of the launch {@code back} launches before the last. */
    private static List<Object> recordedParams(int back) {
        String signature = MemorySegment.ofAddress(fake.launchBack(back, 1)).reinterpret(192).getString(128,
                StandardCharsets.US_ASCII);
        ByteBuffer bytes = ByteBuffer.wrap(fake.paramsBack(back, (int) fake.launchBack(back, 16)))
                .order(ByteOrder.LITTLE_ENDIAN);
        List<Object> values = new ArrayList<>();
        for (char c : signature.toCharArray()) {
            values.add(switch (c) {
                case 'p', 'l' -> bytes.getLong();
                case 'i' -> bytes.getInt();
                case 'm' -> {
                    long[] words = new long[16];
                    bytes.asLongBuffer().get(words);
                    bytes.position(bytes.position() + 128);
                    yield words;
                }
                default -> throw new AssertionError("unexpected signature letter " + c);
            });
        }
        return values;
    }

    /**
     * Compiles nothing: returns a fake CUBIN naming the kernel and the signature of its {@code extern "C"}
     * parameter list as written in the source (p pointer, l i64, i int/u32, f float), which the fake driver uses to
     * copy each parameter's bytes.
     */
    static final class SignatureCompiler implements KernelBinaries {

        @Override
        public String targetArch(int major, int minor) {
            return TargetArch.forDevice(major, minor, 13, 0);
        }

        @Override
        public CompiledKernel compile(KernelSource source, String arch) {
            String image = "FAKECUBIN\n" + source.kernelName() + " " + signature(source.code()) + "\n\0";
            return new CompiledKernel(source.family(), source.kernelName(), arch,
                    image.getBytes(StandardCharsets.US_ASCII), 0, CompiledKernel.Outcome.COMPILED,
                    source.kernelName() + "@" + arch, null, "");
        }

        static String signature(String code) {
            int open = code.indexOf("DG_KERNEL_NAME(");
            int close = code.indexOf(')', open);
            StringBuilder sig = new StringBuilder();
            for (String param : code.substring(open + "DG_KERNEL_NAME(".length(), close).split(",")) {
                String p = param.strip();
                if (p.contains("TmaDesc") && !p.contains("*")) { // a map by value (a pointer to maps is 'p')
                    sig.append('m');
                    continue;
                }
                String type = p.replace("const ", "").split("\\s+")[0];
                sig.append(p.contains("*") ? 'p' : switch (type) {
                    case "i64" -> 'l';
                    case "int", "u32", "unsigned" -> 'i';
                    case "float" -> 'f';
                    default -> throw new IllegalStateException("unknown parameter type in " + p);
                });
            }
            return sig.toString();
        }
    }
}
