package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner's statuses and timing policy, the plans, sampling, data generation and table formatting. */
class BenchmarkRunnerTest {

    /** A trial whose output check yields {@code diff}, counting its runs and preparations. */
    private static final class FakeTrial extends Trial {
        int runs;
        private final double diff;
        private final String problem;

        FakeTrial(double diff, String problem) {
            super(Location.HOST);
            this.diff = diff;
            this.problem = problem;
        }

        @Override
        void run() {
            runs++;
        }

        @Override
        Check check() {
            return new Check(diff, problem, 10, false);
        }
    }

    private static BenchRow runCase(double tolerance, Function<Location, Trial> setup) {
        return new BenchRunner(BenchTarget.cpu(), Plan.cpu(true), null, false).run(new BenchCase("op", "", "n=1", 1e6,
                4e3, tolerance, setup));
    }

    /**
     * A sample taken again (its enqueue not hidden by the memsets) is prepared again: an output accumulated in place
     * gets C back before every run, so the check sees C + A·B and not C + 2·A·B.
     */
    @Test
    void everySampleTakenAgainIsPreparedAgain() {
        long slow = BenchTarget.HIDDEN_ENQUEUE_NANOS + 1;
        long[] enqueues = {slow, slow, BenchTarget.HIDDEN_ENQUEUE_NANOS, slow};
        int[] taken = {0};
        StringBuilder order = new StringBuilder();
        BenchTarget.Timing t = BenchTarget.firstHiddenSample(() -> order.append('p'), () -> {
            order.append('r');
            int i = taken[0]++;
            return new BenchTarget.Sample(new BenchTarget.Timing(i, null), enqueues[i]);
        });
        assertEquals("prprpr", order.toString(), "prepared before each of the three samples");
        assertEquals(2.0, t.millis(), "the first hidden sample is kept");

        taken[0] = 0;
        order.setLength(0);
        BenchTarget.Timing last = BenchTarget.firstHiddenSample(() -> order.append('p'), () -> {
            order.append('r');
            return new BenchTarget.Sample(new BenchTarget.Timing(taken[0]++, null), slow);
        });
        assertEquals("pr".repeat(BenchTarget.MAX_TIMING_ATTEMPTS), order.toString());
        assertEquals(BenchTarget.MAX_TIMING_ATTEMPTS - 1.0, last.millis(), "the last attempt is accepted");
    }

    @Test
    void withinToleranceIsOkAndEveryRunIsTimed() {
        FakeTrial trial = new FakeTrial(1e-7, null);
        BenchRow row = runCase(1e-6, location -> trial);
        assertEquals("ok", row.status());
        assertEquals(2 + 3, trial.runs, "a cold and a warm call, then the quick CPU plan's 3 timed calls");
        assertEquals(3, row.runs());
        assertEquals(1e-7, row.calcDiff());
        assertEquals(10, row.compared());
        assertTrue(row.timeUs() > 0 && row.tflops() > 0 && row.gbps() > 0 && row.coldMs() >= 0);
        assertEquals(row.tflops() * 1e12 / 1e6, row.gbps() * 1e9 / 4e3, row.tflops() * 1e-3,
                "both rates divide their work by the same time");
        assertNull(row.jitCompiles(), "no JIT on the CPU");
    }

    @Test
    void aboveToleranceFails() {
        BenchRow row = runCase(1e-6, location -> new FakeTrial(2e-6, null));
        assertTrue(row.status().startsWith("FAIL: calc_diff 2.0E-6 > 1.0E-6"), row.status());
    }

    @Test
    void nanFailsAndIsReportedAsNoNumber() {
        BenchRow row = runCase(1e-6, location -> new FakeTrial(Double.NaN, null));
        assertTrue(row.status().startsWith("FAIL"), row.status());
        assertNull(row.calcDiff());
    }

    @Test
    void aRuleViolationFailsEvenWhenAccurate() {
        BenchRow row = runCase(1e-6, location -> new FakeTrial(0, "3 bytes of D beyond masked_m written"));
        assertEquals("FAIL: 3 bytes of D beyond masked_m written", row.status());
    }

    @Test
    void todoPlaceholderIsNotImplementedAndOtherExceptionsAreErrors() {
        assertEquals("not implemented", runCase(1, location -> {
            throw new UnsupportedOperationException("TODO");
        }).status());
        BenchRow error = runCase(1, location -> {
            throw new IllegalStateException("boom");
        });
        assertEquals("error: java.lang.IllegalStateException: boom", error.status());
        assertNull(error.timeUs());
    }

    @Test
    void summaryCountsStatuses() {
        BenchRow ok = runCase(1, location -> new FakeTrial(0, null));
        BenchRow missing = runCase(1, location -> {
            throw new UnsupportedOperationException("TODO");
        });
        BenchRow failed = runCase(0, location -> new FakeTrial(1, null));
        assertEquals("3 rows: 1 ok, 1 not implemented, 1 failed or errored",
                ResultTable.summary(List.of(ok, missing, failed)));
    }

    @Test
    void returnedTensorsAreFreedBeforeTheNextCallAndOnClose() {
        Tensor[] made = new Tensor[2];
        Trial trial = new Trial(Location.HOST) {
            int calls;

            @Override
            void run() {
                made[calls++ % 2] = returned(Tensor.zeros(dev.deepgemm4j.DType.FP32, 4));
            }

            @Override
            Check check() {
                return Check.of(0, 0, false);
            }
        };
        trial.run();
        trial.beforeRun();
        assertTrue(made[0].storage().isClosed(), "freed before the next call");
        trial.run();
        assertFalse(made[1].storage().isClosed());
        trial.close();
        assertTrue(made[1].storage().isClosed(), "freed on close");
    }

    @Test
    void slowRowsGetFewerTimedCallsButAtLeastThree() {
        Plan gpu = Plan.gpu(Plan.Size.DEFAULT);
        assertEquals(10, gpu.runsFor(0.05));
        assertEquals(5, gpu.runsFor(200));
        assertEquals(3, gpu.runsFor(5000));
        assertEquals(2, gpu.withMaxRuns(2).runsFor(0.05), "--reps below the minimum wins");
        assertEquals(5, Plan.cpu(false).runsFor(5000), "CPU plans time a fixed number of calls");
    }

    @Test
    void plansCoverEveryOperatorAndTheStandardShapes() {
        List<String> quickCpu = BenchmarkCli.cases(Plan.cpu(true)).stream().map(BenchCase::label).toList();
        for (Plan.Size size : Plan.Size.values()) {
            List<BenchCase> cases = BenchmarkCli.cases(Plan.gpu(size));
            assertEquals(quickCpu, cases.stream().map(BenchCase::label).distinct().toList(),
                    "every operator and variant, in order, in " + size);
        }
        List<String> dense = BenchmarkCli.cases(Plan.gpu(Plan.Size.DEFAULT)).stream()
                .filter(c -> c.label().equals("fp8_gemm_nt [1D2D]")).map(BenchCase::shape).toList();
        assertEquals(21, dense.size());
        assertTrue(dense.containsAll(List.of("M=1 N=2112 K=7168", "M=128 N=7168 K=16384", "M=4096 N=7168 K=2048")));
        // MQA: 5 plain cases (3 causal, the S=8192 one also with BF16 logits, + DeepGEMM's context-parallel
        // ranges), 3 metadata (one per batch and context), 4 paged (next_n 2 at the goal context too).
        assertEquals(4 * 21 + 4 * 7 + 3 * 8 + 16 + 12 + 5 + 3 + 4 + 6 + 18,
                BenchmarkCli.cases(Plan.gpu(Plan.Size.FULL)).size());
        List<BenchCase> bf16 = BenchmarkCli.cases(Plan.gpu(Plan.Size.FULL)).stream()
                .filter(c -> c.shape().endsWith(" BF16")).toList();
        assertEquals(1, bf16.size(), "one BF16-logits row");
        assertEquals("fp8_mqa_logits", bf16.get(0).op());
        assertEquals("S=8192 S_kv=65536 H=64 D=128 BF16", bf16.get(0).shape());
        assertEquals(BenchCase.BF16_OUTPUT, bf16.get(0).tolerance());
    }

    @Test
    void bf16MqaLogitsRowsCheckTheRoundedLogitsAndCountTwoBytesEach() {
        List<BenchCase> cases = MqaLogitsCases.cases(List.of(new MqaLogitsCases.Plain(32, 128, 32, 32, false,
                DType.BF16), new MqaLogitsCases.Plain(32, 128, 32, 32)), List.of());
        BenchRunner runner = new BenchRunner(BenchTarget.cpu(), Plan.cpu(true), null, false);
        BenchRow bf16 = runner.run(cases.get(0));
        BenchRow fp32 = runner.run(cases.get(1));
        assertEquals("ok", bf16.status());
        assertEquals("ok", fp32.status());
        assertTrue(bf16.calcDiff() > fp32.calcDiff() && bf16.calcDiff() < BenchCase.BF16_OUTPUT,
                "BF16 rounding shows against the float64 reference: " + bf16.calcDiff() + " vs " + fp32.calcDiff());
        assertEquals(cases.get(1).bytes() - 2.0 * 32 * 128, cases.get(0).bytes());
    }

    @Test
    void smallOutputsAreComparedInFullAndLargeOnesOnAGridWithTheirEdges() {
        Sample small = Sample.of(1, 64, 128, 256);
        assertTrue(small.full());
        assertEquals(64 * 128, small.size());
        Sample large = Sample.of(1, 4096, 7168, 7168);
        assertFalse(large.full());
        for (int[] picked : new int[][] {large.rows(), large.cols()}) {
            assertEquals(Sample.PICKS, picked.length);
            assertEquals(0, picked[0]);
            assertTrue(Arrays.stream(picked).distinct().count() == picked.length);
            assertArrayEquals(Arrays.stream(picked).sorted().toArray(), picked);
        }
        assertEquals(4095, large.rows()[Sample.PICKS - 1]);
        assertEquals(7167, large.cols()[Sample.PICKS - 1]);
        assertArrayEquals(new int[] {0, 1, 2}, Sample.pick(new java.util.SplittableRandom(1), 3, Sample.PICKS));
    }

    @Test
    void generatedDataDependsOnTheSeedOnlyAndHoldsNoZerosOrNaNs() {
        long n = 3 * (1 << 20) + 5; // several parallel chunks
        try (Tensor a = RandomTensors.fp8(7, n); Tensor b = RandomTensors.fp8(7, n); Tensor c = RandomTensors.fp8(8,
                n)) {
            byte[] x = a.toByteArray();
            assertArrayEquals(x, b.toByteArray());
            assertFalse(Arrays.equals(x, c.toByteArray()));
            for (byte code : x) {
                float v = Fp8E4M3.toFloat(code);
                assertTrue(v != 0 && !Float.isNaN(v));
            }
        }
        try (Tensor s = RandomTensors.scales(3, 1000)) {
            for (float v : s.toFloatArray()) {
                assertTrue(v >= 0x1p-10f && v < 0x1p-4f, "scale " + v);
            }
        }
    }

    @Test
    void groupSizesFollowDeepGemmsDraw() {
        int[] ks = RandomTensors.around(1, 1000, 4096, 128, 128, Integer.MAX_VALUE);
        for (int k : ks) {
            assertEquals(0, k % 128);
            assertTrue(k >= 0.7 * 4096 && k <= Math.ceil(1.3 * 4096 / 128) * 128, "K_g " + k);
        }
        int[] clamped = RandomTensors.around(2, 100, 4000, 1, 0, 4096);
        assertTrue(Arrays.stream(clamped).allMatch(m -> m <= 4096));
        assertTrue(Arrays.stream(clamped).anyMatch(m -> m == 4096), "1.3 × 4000 is clamped to M_max");
    }

    @Test
    void tableFormatsNumbersAndTheGpuColumns() {
        assertEquals("1235", ResultTable.number(1234.6));
        assertEquals("12.3", ResultTable.number(12.34));
        assertEquals("1.23", ResultTable.number(1.234));
        assertEquals("0.00123", ResultTable.number(0.001234));
        assertEquals("-", ResultTable.number(null));
        BenchRow row = new BenchRow("fp8_gemm_nt", "1D2D", "M=128 N=4096 K=7168", "cuda:0", "ok", 250.0, 241.5, 10, 30.1,
                300.0, 900.0, 1.0, 1L, 850L, 2.5e-7, 1e-5, 256L, true, new CublasLtBaseline.Result("ok", 50.0,
                        150.0, 0.2, 3e-7, "K_INNER"));
        String line = new ResultTable(true).line(row);
        assertTrue(line.startsWith("fp8_gemm_nt [1D2D] "), line);
        for (String cell : List.of(" 250 ", " 242 ", " 30.1 ", " 900 ", "1 in 850ms", "2.50e-07 (~256)", " 50.0 ",
                "0.20x", " ok")) {
            assertTrue(line.contains(cell), "no '" + cell + "' in " + line);
        }
        assertFalse(new ResultTable(false).line(row).contains("850ms"), "CPU tables have no JIT column");
        assertTrue(new ResultTable(true).header().contains("cuBLASLt"));
    }

    @Test
    void deepGemmSectionComparesAnchoredRowsByKernelTime() {
        BenchRow anchored = row("fp8_gemm_nt", "1D2D", "M=128 N=576 K=7168", 12.0, 9.5, BenchRow.OK);
        BenchRow byEvents = row("fp8_mqa_logits", "", "S=2048 S_kv=65536 H=64 D=128", 2000.0, null, BenchRow.OK);
        BenchRow unanchored = row("fp8_gemm_nt", "1D2D", "M=100 N=576 K=7168", 12.0, 10.0, BenchRow.OK);
        BenchRow failed = row("fp8_gemm_nt", "1D2D", "M=1 N=576 K=7168", 12.0, 10.0, "FAIL: calc_diff");
        String section = ResultTable.deepGemm(List.of(anchored, byEvents, unanchored, failed), DeepGemmAnchors.DEVICE);
        assertTrue(section.contains("M=128 N=576 K=7168") && section.contains(" 1.00x"), section);
        assertTrue(section.contains("kernel") && section.contains("events") && section.contains(" 0.95x"), section);
        assertFalse(section.contains("M=100") || section.contains("M=1 N=576"), "unanchored and failed rows: " + section);
        assertTrue(section.contains("geometric mean fp8_gemm_nt [1D2D] M=128"), section);
        assertFalse(section.contains("different cards"), section);
        assertTrue(ResultTable.deepGemm(List.of(anchored), "NVIDIA H200").contains("different cards"));
        assertNull(ResultTable.deepGemm(List.of(unanchored), DeepGemmAnchors.DEVICE));
    }

    private static BenchRow row(String op, String variant, String shape, double timeUs, Double kernelUs,
            String status) {
        return new BenchRow(op, variant, shape, "cuda:0", status, timeUs, kernelUs, 10, 1.0, 1.0, 1.0, 1.0, 0L, 0L,
                1e-6, 1e-5, 256L, true, null);
    }

    @Test
    void cudaLibrariesAreSearchedWhereTheToolkitAndTheWheelsPutThem(@TempDir Path dir) throws Exception {
        Path lib = Files.createDirectories(dir.resolve("a1/x/lib"));
        Files.createDirectories(dir.resolve("a2/y/lib"));
        Files.createDirectories(dir.resolve("b1/x/lib"));
        assertEquals(List.of(lib, dir.resolve("a2/y/lib")), CudaLibrarySearch.glob(dir + "/a*/*/lib").stream().sorted()
                .toList());
        assertEquals(List.of(), CudaLibrarySearch.glob(dir + "/none*/lib"));
        System.setProperty(CublasLt.LIBRARY_PROPERTY, lib.resolve("libcublasLt.so.13").toString());
        try {
            assertEquals(lib.resolve("libcublasLt.so.13"), CublasLt.SEARCH.candidates().get(0), "the explicit file first");
        } finally {
            System.clearProperty(CublasLt.LIBRARY_PROPERTY);
        }
        assertTrue(CublasLt.SEARCH.candidates().contains(Path.of("/usr/local/cuda/lib64/libcublasLt.so.13")));
        assertTrue(KernelClock.SEARCH.candidates().contains(Path.of("/usr/local/cuda/extras/CUPTI/lib64/libcupti.so.13")),
                "CUPTI is looked for where the toolkit puts it");
    }

    @Test
    void gpuSectionsReportInsteadOfThrowingWithoutAGpu() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.deepgemm4j.Gpu.isAvailable(), "a GPU is usable here");
        HostOverhead.Result overhead = HostOverhead.measure(Location.cuda(0));
        assertNull(overhead.enqueueUs());
        assertTrue(overhead.note() != null && !overhead.note().isEmpty());
        JitColdWarm.Result jit = JitColdWarm.measure(0);
        assertTrue(jit.kernels().isEmpty() && jit.note() != null);
        assertTrue(ResultTable.jit(jit).startsWith("JIT cold/warm: not measured"));
    }

    @Test
    void jitSectionCompilesOneKernelOfEachFamily() {
        List<String> families = JitColdWarm.onePerFamily().stream().map(s -> s.family()).toList();
        assertEquals(families.stream().distinct().toList(), families);
        assertTrue(families.containsAll(List.of("dense_gemm", "grouped_gemm_masked", "mqa_logits")), families
                .toString());
    }
}
