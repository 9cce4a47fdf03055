package dev.deepgemm4j.it;

import java.util.List;
import java.util.Locale;

/** Text rendering of benchmark rows. */
final class ResultTable {

    private static final String FORMAT = "%-46s %-34s %-8s %10s %18s %10s  %s%n";

    private ResultTable() {
    }

    /** The aligned table with its header line. */
    static String render(List<BenchRow> rows) {
        StringBuilder sb = new StringBuilder(header()).append('\n');
        rows.forEach(r -> sb.append(line(r)).append('\n'));
        return sb.toString();
    }

    /** The column titles. */
    static String header() {
        return String.format(Locale.ROOT, FORMAT, "op", "shape", "backend", "time ms", "GFLOP/s | GB/s", "calc_diff",
                "status").stripTrailing();
    }

    /** One row, without a line break (printed as each operator finishes). */
    static String line(BenchRow r) {
        String label = r.variant().isEmpty() ? r.op() : r.op() + " [" + r.variant() + "]";
        String time = r.timeMs() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.timeMs());
        String rate = r.rate() == null ? "-" : String.format(Locale.ROOT, "%.3f %s", r.rate(), r.rateUnit());
        String diff = r.calcDiff() == null ? "-" : String.format(Locale.ROOT, "%.2e", r.calcDiff());
        return String.format(Locale.ROOT, FORMAT, label, r.shape(), r.backend(), time, rate, diff, r.status())
                .stripTrailing();
    }

    /** "N rows: a ok, b not implemented, c failed or errored". */
    static String summary(List<BenchRow> rows) {
        long ok = rows.stream().filter(BenchRow::ok).count();
        long missing = rows.stream().filter(r -> BenchRow.NOT_IMPLEMENTED.equals(r.status())).count();
        return rows.size() + " rows: " + ok + " ok, " + missing + " not implemented, " + (rows.size() - ok - missing)
                + " failed or errored";
    }
}
