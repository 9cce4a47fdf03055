package dev.deepgemm4j.spark;

import dev.deepgemm4j.jit.CompiledKernel;
import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.KernelSource;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kernels compiled on the driver, as they travel to the executors: each kernel's source and its complete cache entry
 * (the files of {@code <cache>/cache/<family>.<key>/}: source, CUBIN, checksummed metadata, compile log). An executor
 * whose compiler has the same identity and options computes the same keys, so it can publish the entries into its
 * own cache exactly as {@link JitCache} publishes a compile (a private build directory renamed into place); the
 * cache then serves them as disk hits and verifies them like any entry (sizes, checksums, owner, source).
 *
 * @param id identifies the bundle, so each executor prepares it once
 * @param arch the target the kernels were compiled for
 * @param entries the kernels
 */
record KernelBundle(String id, String arch, List<Entry> entries) implements Serializable {

    private static final Logger LOG = LoggerFactory.getLogger(KernelBundle.class);

    /**
     * One kernel.
     *
     * @param family its family
     * @param kernelName its symbol
     * @param code its source
     * @param entryName the name of its cache entry on the driver ({@code <family>.<key>})
     * @param files the entry's files by name
     */
    record Entry(String family, String kernelName, String code, String entryName, Map<String, byte[]> files)
            implements Serializable {

        KernelSource source() {
            return new KernelSource(family, kernelName, code);
        }
    }

    /** Compiles (or finds in the driver's cache) every source for {@code arch} and bundles the cache entries. */
    static KernelBundle compile(JitCache cache, List<KernelSource> sources, String arch) {
        List<Entry> entries = new ArrayList<>();
        for (KernelSource source : sources) {
            CompiledKernel kernel = cache.get(source, arch);
            if (kernel.entryDir() == null) {
                continue; // not published (cache disabled): executors compile it themselves
            }
            Map<String, byte[]> files = new LinkedHashMap<>();
            try (Stream<Path> list = Files.list(kernel.entryDir())) {
                for (Path f : list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList()) {
                    files.put(f.getFileName().toString(), Files.readAllBytes(f));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the cache entry " + kernel.entryDir(), e);
            }
            entries.add(new Entry(source.family(), source.kernelName(), source.code(),
                    kernel.entryDir().getFileName().toString(), files));
        }
        return new KernelBundle(UUID.randomUUID().toString(), arch, List.copyOf(entries));
    }

    /**
     * Publishes the entries {@code cache} lacks, then loads every kernel through it (so they are in memory for the
     * first launch). Entries whose key differs here (another compiler or option set) are left out; the executor's
     * backend compiles those itself.
     *
     * @return the number of entries published
     */
    int seed(JitCache cache) {
        int published = 0;
        List<KernelSource> usable = new ArrayList<>();
        for (Entry e : entries) {
            KernelSource source = e.source();
            Path target = cache.entryDir(source, arch);
            if (!target.getFileName().toString().equals(e.entryName())) {
                LOG.warn("deepgemm4j: kernel {} has key {} here but {} on the driver (another compiler?); not seeded",
                        e.kernelName(), target.getFileName(), e.entryName());
                continue;
            }
            usable.add(source);
            if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS) && publish(cache.root(), e, target)) {
                published++;
            }
        }
        usable.forEach(s -> cache.get(s, arch));
        return published;
    }

    /** Writes the entry in a private directory and renames it into place; false if another process was first. */
    private static boolean publish(Path root, Entry e, Path target) {
        var dirPerms = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        var filePerms = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
        Path work = root.resolve("tmp").resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID());
        try {
            Files.createDirectory(work, dirPerms);
            for (Map.Entry<String, byte[]> f : e.files().entrySet()) {
                Path file = work.resolve(Path.of(f.getKey()).getFileName());
                Files.write(Files.createFile(file, filePerms), f.getValue());
            }
            Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException raced) {
            deleteTree(work);
            return false;
        } catch (IOException io) {
            deleteTree(work);
            throw new UncheckedIOException("cannot seed the kernel cache entry " + target, io);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: the JIT sweeps old build directories
        }
    }
}
