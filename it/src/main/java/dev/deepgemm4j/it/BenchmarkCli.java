package dev.deepgemm4j.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.backend.Backends;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The main job: runs every operator of the public API once per problem on generated data, times it and checks it
 * against a float64 reference computed here from the quantised inputs, and prints one table row per operator.
 *
 * <pre>
 * BenchmarkCli [--quick] [--json FILE]
 * </pre>
 *
 * <p>Exit status: 0 when every row is correct, 1 when any operator failed, errored or is not implemented, 2 for a
 * usage error.
 */
public final class BenchmarkCli {

    private static final String USAGE = """
            usage: BenchmarkCli [--quick] [--json FILE]
              --quick      small problems and fewer timed runs (a smoke test)
              --json FILE  also write the results (and the table) as JSON to FILE""";

    /** Inputs live in host memory for now, so every call runs on the backend that serves host tensors. */
    private static final Location TENSORS = Location.HOST;

    private BenchmarkCli() {
    }

    /**
     * The report written with {@code --json}.
     *
     * @param bestBackend the best backend available on this machine
     * @param tensorLocation where the benchmark's tensors live
     * @param java the Java runtime version
     * @param quick whether the quick sizes were used
     * @param rows one row per operator and variant
     * @param table the printed table
     */
    record Report(String bestBackend, String tensorLocation, String java, boolean quick, List<BenchRow> rows,
            String table) {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the benchmark with command-line {@code args}; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        boolean quick = false;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--json" -> {
                    if (i + 1 == args.length) {
                        err.println("--json needs a file name\n" + USAGE);
                        return 2;
                    }
                    json = Path.of(args[++i]);
                }
                case "-h", "--help" -> {
                    out.println(USAGE);
                    return 0;
                }
                default -> {
                    err.println("unknown option " + args[i] + "\n" + USAGE);
                    return 2;
                }
            }
        }
        Sizes sizes = quick ? Sizes.QUICK : Sizes.FULL;
        String backend = Backends.forLocation("tensors", TENSORS).name();
        String header = String.format(Locale.ROOT, "deepgemm4j benchmark (%s): best backend %s; tensors in %s memory,"
                + " run on %s; Java %s", quick ? "quick" : "full", Backends.best().name(), TENSORS, backend,
                Runtime.version());
        out.println(header);

        BenchRunner runner = new BenchRunner(sizes.warmups(), sizes.runs(), backend);
        List<BenchRow> rows = new ArrayList<>();
        out.println(ResultTable.header());
        for (BenchCase c : cases(sizes)) {
            BenchRow row = runner.run(c);
            rows.add(row);
            out.println(ResultTable.line(row));
        }
        String table = ResultTable.render(rows);
        out.println(ResultTable.summary(rows));
        if (json != null) {
            try {
                writeJson(json, new Report(Backends.best().name(), TENSORS.toString(), Runtime.version().toString(),
                        quick, rows, header + "\n" + table));
            } catch (IOException e) {
                err.println("cannot write " + json + ": " + e.getMessage());
                return 1;
            }
        }
        return rows.stream().allMatch(BenchRow::ok) ? 0 : 1;
    }

    /** Every operator of {@link dev.deepgemm4j.DeepGemm}'s public API, one case per variant. */
    static List<BenchCase> cases(Sizes sizes) {
        List<BenchCase> cases = new ArrayList<>();
        cases.addAll(DenseGemmCases.all(sizes));
        cases.addAll(GroupedGemmCases.all(sizes));
        cases.addAll(MqaLogitsCases.all(sizes));
        cases.addAll(QuantizeLayoutCases.all(sizes));
        return cases;
    }

    private static void writeJson(Path file, Report report) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), report);
    }
}
