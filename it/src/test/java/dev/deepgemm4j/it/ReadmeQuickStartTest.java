package dev.deepgemm4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The README's Quick start (its first two {@code bash} blocks: run the main job, run the tests) must keep matching
 * the build: scripts exist and are executable, the main classes they name have a {@code main} method in a reactor
 * module, the modules they name are modules of the reactor, and CI runs exactly the README's test command.
 */
class ReadmeQuickStartTest {

    private static final Path ROOT = Path.of(System.getProperty("deepgemm4j.root", "..")).toAbsolutePath()
            .normalize();
    private static final Pattern BASH_BLOCK = Pattern.compile("(?ms)^```bash\\n(.*?)^```");
    private static final Pattern MAIN_CLASS = Pattern.compile("\\bdev\\.deepgemm4j(?:\\.[a-z0-9_]+)+\\.[A-Z]\\w*");
    private static final Pattern MODULE_LIST = Pattern.compile("(?:-pl|--projects)\\s+(\\S+)");
    private static final Pattern POM_MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern MAIN_METHOD = Pattern.compile(
            "public\\s+static\\s+void\\s+main\\s*\\(\\s*String\\s*(\\[\\s*\\]\\s*\\w+|\\.\\.\\.\\s*\\w+|\\w+\\s*\\[\\s*\\])\\s*\\)");

    /** The non-blank, non-comment lines of the first two bash blocks. */
    private static List<List<String>> quickStart() throws IOException {
        Matcher m = BASH_BLOCK.matcher(Files.readString(ROOT.resolve("README.md")));
        List<List<String>> blocks = new ArrayList<>();
        while (blocks.size() < 2 && m.find()) {
            blocks.add(m.group(1).lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .toList());
        }
        assertEquals(2, blocks.size(), "README.md needs two ```bash blocks (main job, tests)");
        return blocks;
    }

    /** The command's own text plus the text of the script it runs, if it runs one of ours. */
    private static String commandAndScript(String command) throws IOException {
        String first = command.split("\\s+")[0];
        if (!first.startsWith("./")) {
            return command;
        }
        Path script = ROOT.resolve(first.substring(2));
        assertTrue(Files.isRegularFile(script), command + ": no such script " + script);
        assertTrue(Files.isExecutable(script), script + " is not executable");
        return command + "\n" + Files.readString(script);
    }

    private static void assertModulesExist(String text) throws IOException {
        Set<String> modules = modules();
        Matcher m = MODULE_LIST.matcher(text);
        while (m.find()) {
            for (String module : m.group(1).split(",")) {
                assertTrue(modules.contains(module), "module " + module + " is not in the reactor " + modules);
            }
        }
    }

    /** The reactor's modules, from the parent pom. */
    private static Set<String> modules() throws IOException {
        return POM_MODULE.matcher(Files.readString(ROOT.resolve("pom.xml"))).results().map(r -> r.group(1))
                .collect(Collectors.toSet());
    }

    @Test
    void mainJobCommandNamesAnExistingMainClassAndModules() throws Exception {
        List<String> block = quickStart().get(0);
        assertEquals(1, block.size(), "the main-job block should be one command: " + block);
        String text = commandAndScript(block.get(0));
        assertModulesExist(text);
        List<String> classes = MAIN_CLASS.matcher(text).results().map(java.util.regex.MatchResult::group).distinct().toList();
        assertFalse(classes.isEmpty(), "the main-job command names no main class:\n" + text);
        // The main class may live in a module this one does not depend on (the Spark job): find its source.
        for (String name : classes) {
            String relative = "src/main/java/" + name.replace('.', '/') + ".java";
            List<Path> sources = modules().stream().map(m -> ROOT.resolve(m).resolve(relative))
                    .filter(Files::isRegularFile).toList();
            assertEquals(1, sources.size(), name + " is not the source of exactly one module: " + sources);
            assertTrue(MAIN_METHOD.matcher(Files.readString(sources.get(0))).find(),
                    name + " has no public static void main(String[] args)");
        }
    }

    @Test
    void testCommandIsWhatCiRunsAndRunsTheMavenTests() throws Exception {
        List<String> block = quickStart().get(1);
        assertEquals(1, block.size(), "the test block should be one command: " + block);
        String command = block.get(0);
        String text = commandAndScript(command);
        assertModulesExist(text);
        assertTrue(Pattern.compile("\\bmvn\\b.*\\bverify\\b").matcher(text).find(),
                "the test command does not run `mvn … verify`:\n" + text);
        List<String> ci = Files.readAllLines(ROOT.resolve(".ci/run")).stream().map(String::strip).toList();
        assertTrue(ci.contains(command), ".ci/run does not run the README's test command `" + command + "`");
    }
}
