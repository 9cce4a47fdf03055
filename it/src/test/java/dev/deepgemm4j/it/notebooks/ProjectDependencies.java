package dev.deepgemm4j.it.notebooks;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a notebook's dependency magics may name, and how they map onto the classpath the runner already has: the
 * reactor's modules (at the reactor's version) and the test classpath's Maven artifacts.
 */
final class ProjectDependencies {

    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern PROPERTY_REF = Pattern.compile("\\$\\{([^}]+)}");

    private final String groupId;
    private final String version;
    /** Reactor artifactId → the module's directory. */
    private final Map<String, Path> modules = new LinkedHashMap<>();
    private final List<String> classpath;

    private ProjectDependencies(String groupId, String version, List<String> classpath) {
        this.groupId = groupId;
        this.version = version;
        this.classpath = classpath;
    }

    /** The reactor rooted at {@code root}, with the classpath this JVM runs tests on. */
    static ProjectDependencies load(Path root) throws IOException {
        String parentPom = Files.readString(root.resolve("pom.xml"));
        String projectPart = withoutBlocks(parentPom, "parent", "dependencyManagement", "dependencies", "build",
                "profiles");
        Map<String, String> properties = properties(parentPom);
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProjectDependencies deps = new ProjectDependencies(tag(projectPart, "groupId"), tag(projectPart, "version"),
                List.of(cp.split(File.pathSeparator)));
        Matcher m = MODULE.matcher(parentPom);
        while (m.find()) {
            Path dir = root.resolve(m.group(1));
            String pom = withoutBlocks(Files.readString(dir.resolve("pom.xml")), "parent", "dependencies", "build",
                    "dependencyManagement", "profiles");
            deps.modules.put(substitute(tag(pom, "artifactId"), properties), dir);
        }
        return deps;
    }

    String version() {
        return version;
    }

    /**
     * Checks one {@code %maven} coordinate ({@code group:artifact[:type[:classifier]]:version}): a deepgemm4j one
     * must name a reactor module at the reactor's version, any other must be on the test classpath at that version.
     * Either way the runner's classpath already holds it.
     *
     * @throws IllegalArgumentException naming the coordinate and what is wrong
     */
    void checkMavenCoordinate(String coordinate) {
        String[] parts = coordinate.split(":");
        if (parts.length < 3 || parts.length > 5) {
            throw new IllegalArgumentException("%maven " + coordinate + ": expected group:artifact:version");
        }
        String group = parts[0];
        String artifact = parts[1];
        String ver = parts[parts.length - 1];
        if (group.equals(groupId)) {
            if (!modules.containsKey(artifact)) {
                throw new IllegalArgumentException("%maven " + coordinate + ": " + artifact
                        + " is not a module of the reactor " + modules.keySet());
            }
            if (!ver.equals(version)) {
                throw new IllegalArgumentException("%maven " + coordinate + ": the reactor's version is " + version);
            }
            checkModuleOnClasspath(artifact, "%maven " + coordinate);
            return;
        }
        String repoDir = File.separator + group.replace('.', File.separatorChar) + File.separator + artifact
                + File.separator + ver + File.separator;
        if (classpath.stream().noneMatch(e -> e.contains(repoDir))) {
            throw new IllegalArgumentException("%maven " + coordinate
                    + ": not on the test classpath at that version; add it to it/pom.xml (test scope) or fix the"
                    + " version");
        }
    }

    /**
     * The files a {@code %jars}/{@code %classpath} entry adds. An entry naming a reactor module's jar or classes
     * folder (e.g. {@code kernels/target/deepgemm4j-kernels-*.jar}; a jar named without a glob must carry the
     * reactor's version) maps to that module, already on the classpath, and adds nothing; any other entry (a glob, relative to the notebook's folder) must match existing files.
     *
     * @throws IllegalArgumentException if the entry names a missing module, another version, or matches no file
     */
    List<Path> resolveClasspathEntry(String entry, Path notebookDir) throws IOException {
        String reactorModule = reactorModuleNamedBy(entry);
        if (reactorModule != null) {
            String file = Path.of(entry).getFileName().toString();
            String jar = reactorModule + "-" + version + ".jar";
            if (file.endsWith(".jar") && !file.contains("*") && !file.equals(jar)) {
                throw new IllegalArgumentException(entry + ": the build makes " + jar);
            }
            checkModuleOnClasspath(reactorModule, entry);
            return List.of();
        }
        Path pattern = notebookDir.resolve(entry).normalize();
        Path dir = pattern.getParent();
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + pattern.getFileName());
        List<Path> found = new ArrayList<>();
        if (dir != null && Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(p -> matcher.matches(p.getFileName())).sorted().forEach(found::add);
            }
        }
        if (found.isEmpty()) {
            throw new IllegalArgumentException(entry + ": matches no file (looked for " + pattern + ")");
        }
        return found;
    }

    /** The reactor artifact whose jar ({@code artifact-version*.jar}) or {@code target/classes} the entry names. */
    private String reactorModuleNamedBy(String entry) {
        String normalized = entry.replace('\\', '/');
        for (Map.Entry<String, Path> module : modules.entrySet()) {
            String name = module.getKey();
            String dirName = module.getValue().getFileName().toString();
            String file = normalized.substring(normalized.lastIndexOf('/') + 1);
            if (file.startsWith(name + "-") && file.endsWith(".jar")
                    || normalized.endsWith(dirName + "/target/classes")) {
                return name;
            }
        }
        return null;
    }

    private void checkModuleOnClasspath(String artifact, String what) {
        Path dir = modules.get(artifact).toAbsolutePath().normalize();
        String jar = artifact + "-" + version + ".jar";
        boolean present = classpath.stream().map(e -> Path.of(e).toAbsolutePath().normalize())
                .anyMatch(p -> p.startsWith(dir.resolve("target")) || p.getFileName().toString().equals(jar));
        if (!present) {
            throw new IllegalArgumentException(what + ": module " + artifact
                    + " is not on it/'s test classpath; add it to it/pom.xml (test scope)");
        }
    }

    private static String tag(String xml, String name) {
        Matcher m = Pattern.compile("<" + name + ">\\s*([^<]+?)\\s*</" + name + ">").matcher(xml);
        if (!m.find()) {
            throw new IllegalStateException("no <" + name + "> in the POM");
        }
        return m.group(1);
    }

    /** The POM without the given elements, so that the project's own tags are the first ones left. */
    private static String withoutBlocks(String xml, String... names) {
        String out = xml.replaceAll("(?s)<!--.*?-->", "");
        for (String name : names) {
            out = out.replaceAll("(?s)<" + name + ">.*?</" + name + ">", "");
        }
        return out;
    }

    private static Map<String, String> properties(String pom) {
        Map<String, String> props = new LinkedHashMap<>();
        Matcher block = Pattern.compile("(?s)<properties>(.*?)</properties>").matcher(pom);
        if (block.find()) {
            Matcher p = Pattern.compile("<([\\w.\\-]+)>([^<]*)</\\1>").matcher(block.group(1));
            while (p.find()) {
                props.put(p.group(1), p.group(2).strip());
            }
        }
        return props;
    }

    private static String substitute(String value, Map<String, String> properties) {
        return PROPERTY_REF.matcher(value).replaceAll(r -> Matcher.quoteReplacement(
                properties.getOrDefault(r.group(1), r.group())));
    }
}
