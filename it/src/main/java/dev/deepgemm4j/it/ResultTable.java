package dev.deepgemm4j.it;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Text rendering of the benchmark's results. GPU runs add the kernel time (CUPTI, where measured), the first call's
 * time (which includes the JIT), the kernels it compiled, and the cuBLASLt baseline where it ran.
 */
final class ResultTable {

    private static final String CPU_FORMAT = "%-46s %-38s %11s %9s %9s %16s  %s";
    private static final String GPU_FORMAT = "%-46s %-38s %11s %9s %9s %9s %10s %-11s %16s %11s %9s  %s";

    private final boolean gpu;

    ResultTable(boolean gpu) {
        this.gpu = gpu;
    }

    /** The aligned table with its header line. */
    String render(List<BenchRow> rows) {
        StringBuilder sb = new StringBuilder(header()).append('\n');
        rows.forEach(r -> sb.append(line(r)).append('\n'));
        return sb.toString();
    }

    String header() {
        List<Object> cells = new ArrayList<>(List.of("op", "shape", "µs", "TFLOPS", "GB/s"));
        if (gpu) {
            cells.addAll(List.of("kernel µs", "first ms", "jit"));
        }
        cells.add("calc_diff (n)");
        if (gpu) {
            cells.addAll(List.of("cuBLASLt µs", "speedup"));
        }
        cells.add("status");
        return String.format(Locale.ROOT, gpu ? GPU_FORMAT : CPU_FORMAT, cells.toArray()).stripTrailing();
    }

    /** One row, without a line break. */
    String line(BenchRow r) {
        List<Object> cells = new ArrayList<>(List.of(r.label(), r.shape(), number(r.timeUs()), number(r.tflops()),
                number(r.gbps())));
        if (gpu) {
            cells.add(number(r.kernelUs()));
            cells.add(number(r.coldMs()));
            cells.add(r.jitCompiles() == null ? "-" : r.jitCompiles() == 0 ? "cached"
                    : r.jitCompiles() + " in " + r.jitCompileMs() + "ms");
        }
        cells.add(r.calcDiff() == null ? "-" : String.format(Locale.ROOT, "%.2e (%s%d)", r.calcDiff(),
                Boolean.TRUE.equals(r.sampled()) ? "~" : "", r.compared()));
        if (gpu) {
            CublasLtBaseline.Result b = r.cublasLt();
            boolean ran = b != null && b.timeUs() != null;
            cells.add(ran ? number(b.timeUs()) : b == null ? "" : "n/a");
            cells.add(ran ? String.format(Locale.ROOT, "%.2fx", b.speedup()) : "");
        }
        cells.add(r.status());
        return String.format(Locale.ROOT, gpu ? GPU_FORMAT : CPU_FORMAT, cells.toArray()).stripTrailing();
    }

    /** Three significant digits at most, no exponent for the magnitudes a benchmark produces. */
    static String number(Double v) {
        if (v == null) {
            return "-";
        }
        double a = Math.abs(v);
        if (a >= 100 || a == 0) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        if (a >= 1) {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }

    /** "N rows: a ok, b not implemented, c failed or errored". */
    static String summary(List<BenchRow> rows) {
        long ok = rows.stream().filter(BenchRow::ok).count();
        long missing = rows.stream().filter(r -> BenchRow.NOT_IMPLEMENTED.equals(r.status())).count();
        return rows.size() + " rows: " + ok + " ok, " + missing + " not implemented, " + (rows.size() - ok - missing)
                + " failed or errored";
    }

    /**
     * The rows DeepGEMM's suite also timed ({@link DeepGemmAnchors}): ours by kernel time where measured (else by
     * events) against DeepGEMM's, the ratio (DeepGEMM's time over ours: above 1 means deepgemm4j is faster), then the
     * geometric mean per operator (and M, for the dense GEMM); null when no row that ran has an anchor.
     *
     * @param device this run's GPU, named when it is not the anchors' (the ratios then compare different cards)
     */
    static String deepGemm(List<BenchRow> rows, String device) {
        Map<String, List<Double>> ratios = new LinkedHashMap<>();
        StringBuilder lines = new StringBuilder();
        for (BenchRow r : rows) {
            Double anchor = DeepGemmAnchors.micros(r);
            Double ours = r.kernelUs() != null ? r.kernelUs() : r.timeUs();
            if (anchor == null || ours == null || !r.ok()) {
                continue;
            }
            double ratio = anchor / ours;
            String group = r.shape().startsWith("M=") ? r.label() + " " + r.shape().split(" ")[0] : r.label();
            ratios.computeIfAbsent(group, g -> new ArrayList<>()).add(ratio);
            lines.append(String.format(Locale.ROOT, "  %-46s %-38s %9s µs %-6s %9s µs  %5.2fx%n", r.label(), r.shape(),
                    number(ours), r.kernelUs() != null ? "kernel" : "events", number(anchor), ratio));
        }
        if (ratios.isEmpty()) {
            return null;
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "vs DeepGEMM 2.6.1 (its own benchmark on an %s,"
                + " profiler kernel times; plain MQA logits: its logits and clean kernels summed, as ours are)%s:%n",
                DeepGemmAnchors.DEVICE, DeepGemmAnchors.DEVICE.equals(device) ? ""
                        : "; this run's GPU is " + device + ", so the ratios compare different cards"));
        sb.append(lines);
        ratios.forEach((group, values) -> sb.append(String.format(Locale.ROOT, "  geometric mean %-40s %5.2fx over %d%n",
                group, Math.exp(values.stream().mapToDouble(Math::log).average().orElse(0)), values.size())));
        return sb.toString();
    }

    /** The host-overhead section. */
    static String overhead(HostOverhead.Result o) {
        String goal = String.format(Locale.ROOT, " (goal ≤ %.0f µs)", HostOverhead.GOAL_US);
        return "host launch overhead, " + o.op() + ", " + o.calls() + " calls: "
                + number(o.enqueueUs()) + " µs/call to enqueue (median batch of " + HostOverhead.BATCH + ")" + goal
                + ", " + number(o.completedUs())
                + " µs/call until done; graph replay " + number(o.graphReplayUs()) + " µs/call"
                + (o.note() == null ? "" : "; " + o.note());
    }

    /** The JIT section: one line per kernel. */
    static String jit(JitColdWarm.Result j) {
        if (j.note() != null) {
            return "JIT cold/warm: not measured (" + j.note() + ")";
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "JIT cold/warm (%s, %s, empty cache; goal cold ≤ %.0f ms per kernel):%n", j.compiler(), j.arch(),
                JitColdWarm.GOAL_COLD_MS));
        String format = "  %-26s %-34s %9s %11s %9s %-10s %9s  %s%n";
        sb.append(String.format(Locale.ROOT, format, "family", "kernel", "cold ms", "compile ms", "warm ms",
                "warm via", "load ms", "status"));
        for (JitColdWarm.Kernel k : j.kernels()) {
            sb.append(String.format(Locale.ROOT, format, k.family(), k.kernel(), number(k.coldMs()),
                    k.compileMs() == null ? "-" : k.compileMs(), number(k.warmMs()),
                    k.warmOutcome() == null ? "-" : k.warmOutcome(), number(k.loadMs()), k.status()));
        }
        return sb.toString().stripTrailing();
    }
}
