package dev.deepgemm4j.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Starts a child JVM with the test classpath, for tests that need a process of their own. */
public final class ChildJvm {

    private ChildJvm() {
    }

    /** A finished child: exit code and merged output. */
    public record Result(int exitCode, String output) {
    }

    /** Starts {@code mainClass} with {@code jvmArgs} and {@code args}; output is merged into {@code outputFile}. */
    public static Process start(Class<?> mainClass, List<String> jvmArgs, List<String> args, Map<String, String> env,
            Path outputFile) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xshare:auto");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.addAll(jvmArgs);
        cmd.add(mainClass.getName());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(outputFile.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Runs {@code mainClass} to completion (killed after {@code timeoutSeconds}). */
    public static Result run(Class<?> mainClass, List<String> jvmArgs, List<String> args, Map<String, String> env,
            long timeoutSeconds) throws IOException, InterruptedException {
        Path out = java.nio.file.Files.createTempFile("dg4j-child", ".log");
        try {
            Process p = start(mainClass, jvmArgs, args, env, out);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                return new Result(-1, "timed out after " + timeoutSeconds + " s\n"
                        + java.nio.file.Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), java.nio.file.Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            java.nio.file.Files.deleteIfExists(out);
        }
    }
}
