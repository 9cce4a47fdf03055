package dev.deepgemm4j.jit;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * The JIT's two-level cache: compiled kernels in memory, then on disk under {@code <root>/cache/<family>.<hash>/}
 * ({@code kernel.cu}, {@code kernel.cubin}, {@code meta} with sizes and SHA-256 checksums, {@code compile.log}, and
 * {@code kernel.ptx} / {@code kernel.sass} when asked for).
 *
 * <p><b>Key.</b> SHA-256 over the kernel's family, name and code, the compiler's identity (name, exact version,
 * path), its full option list and the target architecture; the first 128 bits name the entry.
 *
 * <p><b>Publication.</b> An entry is built in a private {@code <root>/tmp/<pid>-<random>} directory, every file
 * fsync'ed, then the directory is renamed into place in one atomic step, so no reader ever sees a partial entry. If a
 * valid entry appeared meanwhile, ours is discarded and theirs used.
 *
 * <p><b>One compile per key across processes.</b> Before compiling, a process takes the key's lock file under
 * {@code <root>/locks} ({@link CacheLock}: exclusive create, heartbeat, stale-lock recovery); others poll, with
 * backoff, for the published entry. Within a process, concurrent requests for a key share one compile.
 *
 * <p><b>Trust.</b> The root and its directories are created owner-only ({@code rwx------}). An entry is loaded only if
 * its files are regular files owned by this user, complete, and match their recorded sizes and checksums and the
 * requested source; anything else is refused (one warning per cache), rebuilt and replaced.
 *
 * <p>Every compile is appended to {@code <root>/compile.log} (time, pid, host, entry, milliseconds).
 */
public final class JitCache {

    static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private static final Logger LOG = Logger.getLogger(JitCache.class.getName());
    private static final int FORMAT = 1;
    private static final String CU = "kernel.cu";
    private static final String CUBIN = "kernel.cubin";
    private static final String META = "meta";
    private static final String LOG_FILE = "compile.log";
    /** Build directories left behind by crashed processes are removed after this long. */
    private static final Duration TMP_MAX_AGE = Duration.ofDays(1);

    /**
     * Timing of the cross-process lock.
     *
     * @param heartbeat how often a compiling holder touches its lock
     * @param staleAfter how long a lock may go without a heartbeat before waiters break it
     * @param maxWait how long a waiter waits for another process's compile before giving up
     */
    public record LockTiming(Duration heartbeat, Duration staleAfter, Duration maxWait) {
        /** 5 s heartbeat, 60 s stale timeout, 30 min maximum wait. */
        public static final LockTiming DEFAULT =
                new LockTiming(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofMinutes(30));
    }

    private final JitConfig config;
    private final KernelCompiler compiler;
    private final LockTiming timing;
    private final Path root;
    private final Path entries;
    private final Path tmp;
    private final Path locks;
    private final int uid;
    private final ConcurrentHashMap<String, CompiledKernel> memory = new ConcurrentHashMap<>();
    /** Compiles running in this process, which other threads asking for the same kernel wait for. */
    private final SingleFlight<String, CompiledKernel> compilesInFlight = new SingleFlight<>();
    private final AtomicBoolean warnedRefusal = new AtomicBoolean();
    private final AtomicBoolean warnedNoCuobjdump = new AtomicBoolean();
    private final LongAdder compiles = new LongAdder();
    private final LongAdder compileFailures = new LongAdder();
    private final LongAdder compileMillis = new LongAdder();
    private final LongAdder memoryHits = new LongAdder();
    private final LongAdder diskHits = new LongAdder();
    private final LongAdder waits = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder staleBroken = new LongAdder();

    /** A cache at {@code config.cacheDir()} compiling with {@code compiler}. */
    public JitCache(JitConfig config, KernelCompiler compiler) {
        this(config, compiler, LockTiming.DEFAULT);
    }

    /**
     * A cache with explicit lock timing (tests use short timeouts).
     *
     * @throws IllegalStateException if the cache directories cannot be created
     */
    public JitCache(JitConfig config, KernelCompiler compiler, LockTiming timing) {
        this.config = config;
        this.compiler = compiler;
        this.timing = timing;
        this.root = config.cacheDir().toAbsolutePath();
        this.entries = root.resolve("cache");
        this.tmp = root.resolve("tmp");
        this.locks = root.resolve("locks");
        try {
            if (!Files.isDirectory(root)) {
                Files.createDirectories(root, OWNER_ONLY_DIR);
            }
            for (Path dir : List.of(entries, tmp, locks)) {
                ownerOnlyDirectory(dir);
            }
            this.uid = currentUid(tmp);
        } catch (IOException e) {
            throw new IllegalStateException("cannot set up the JIT cache in " + root + ": " + e, e);
        }
        removeOldBuildDirs();
    }

    /** The cache root. */
    public Path root() {
        return root;
    }

    /** The settings. */
    public JitConfig config() {
        return config;
    }

    /** The compiler. */
    public KernelCompiler compiler() {
        return compiler;
    }

    /** The counters so far. */
    public JitStats stats() {
        return new JitStats(compiles.sum(), compileFailures.sum(), compileMillis.sum(), memoryHits.sum(),
                diskHits.sum(), waits.sum(), refused.sum(), staleBroken.sum());
    }

    /** The cache key (32 hex digits) of {@code source} compiled for {@code arch}. */
    public String key(KernelSource source, String arch) {
        MessageDigest sha = sha256();
        for (String part : List.of("deepgemm4j-jit/" + FORMAT, source.family(), source.kernelName(),
                compiler.identity(), String.join("\u0001", compiler.options(arch)), arch, source.code())) {
            byte[] b = part.getBytes(StandardCharsets.UTF_8);
            sha.update(ByteBuffer.allocate(8).putLong(b.length).flip());
            sha.update(b);
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 16);
    }

    /** Where the entry of {@code source} for {@code arch} is (or would be) published. */
    public Path entryDir(KernelSource source, String arch) {
        return entries.resolve(source.family() + "." + key(source, arch));
    }

    /**
     * The files of the published entry of {@code source} for {@code arch} by name, compiling it first if needed (so
     * the request counts in {@link #stats()} like a {@link #get}); empty when nothing is published (cache disabled,
     * or an entry refused and rebuilt without being republished). Another cache whose compiler has the same identity
     * and options can {@link #installEntry install} them.
     *
     * @throws CompileException if compiling fails
     */
    public Optional<Map<String, byte[]>> exportEntry(KernelSource source, String arch) {
        CompiledKernel kernel = get(source, arch);
        if (kernel.entryDir() == null) {
            return Optional.empty();
        }
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(kernel.entryDir())) {
            for (Path f : list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                files.put(f.getFileName().toString(), readTrusted(f));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the cache entry " + kernel.entryDir() + ": " + e, e);
        }
        return Optional.of(files);
    }

    /**
     * Publishes an entry {@link #exportEntry exported} by another cache as the entry of {@code source} for
     * {@code arch}, the way a compile is published (built in a private directory, checked like an entry read from
     * disk, renamed into place), so the next {@link #get} serves it as a disk hit. The caller must have checked that
     * the exporting cache computes the same {@link #key} (same compiler identity and options).
     *
     * @param files the entry's files by plain file name
     * @return true if published; false if an entry was there already (or appeared meanwhile), or the on-disk cache
     *     is disabled
     * @throws IllegalArgumentException if a file name is not a plain name, or the files are not a valid entry of
     *     {@code source} for {@code arch} under this cache's key (truncated, checksum or source mismatch, another
     *     compiler)
     */
    public boolean installEntry(KernelSource source, String arch, Map<String, byte[]> files) {
        for (String name : files.keySet()) {
            if (!name.matches("[A-Za-z0-9_][A-Za-z0-9._-]*")) {
                throw new IllegalArgumentException("files: names must be plain file names, got '" + name + "'");
            }
        }
        if (config.disableCache()) {
            return false;
        }
        String key = key(source, arch);
        Path entry = entries.resolve(source.family() + "." + key);
        if (Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Path work = null;
        try {
            work = Files.createDirectory(tmp.resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID()),
                    OWNER_ONLY_DIR);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                writeSynced(work.resolve(f.getKey()), f.getValue());
            }
            syncDirectory(work);
            Loaded check = load(work, source, arch, key);
            if (check.kernel == null) {
                throw new IllegalArgumentException("files: not a valid cache entry of " + source.kernelName()
                        + " for " + arch + " here: " + check.refusal);
            }
            try {
                Files.move(work, entry, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileSystemException raced) {
                return false; // another process published the key first; the cache verifies theirs when it loads it
            }
            work = null;
            syncDirectory(entries);
            return true;
        } catch (IOException e) {
            throw new IllegalStateException("cannot install the cache entry " + entry + ": " + e, e);
        } finally {
            if (work != null) {
                deleteTree(work);
            }
        }
    }

    /**
     * The CUBIN of {@code source} for {@code arch}: from memory, from disk, or compiled (by this process or, waited
     * for, by another).
     *
     * @throws CompileException if compiling fails
     */
    public CompiledKernel get(KernelSource source, String arch) {
        if (arch == null || !arch.matches("(sm|compute)_\\d{2,3}[af]?")) {
            throw new IllegalArgumentException("arch must look like sm_90a, got " + arch);
        }
        String key = key(source, arch);
        CompiledKernel hit = memory.get(key);
        if (hit != null) {
            memoryHits.increment();
            return hit.withOutcome(CompiledKernel.Outcome.MEMORY_HIT);
        }
        SingleFlight.Outcome<CompiledKernel> got = compilesInFlight.run(key, () -> {
            CompiledKernel k = resolve(source, arch, key);
            memory.put(key, k);
            return k;
        });
        if (got.waited()) {
            waits.increment();
            return got.value().withOutcome(CompiledKernel.Outcome.WAITED);
        }
        return got.value();
    }

    private CompiledKernel resolve(KernelSource source, String arch, String key) {
        try {
            if (config.disableCache()) {
                return build(source, arch, key, null);
            }
            Path entry = entries.resolve(source.family() + "." + key);
            Loaded first = load(entry, source, arch, key);
            if (first.kernel != null) {
                diskHits.increment();
                return first.kernel.withOutcome(CompiledKernel.Outcome.DISK_HIT);
            }
            return lockAndBuild(source, arch, key, entry);
        } catch (IOException e) {
            throw new IllegalStateException("JIT cache I/O failed in " + root + ": " + e, e);
        }
    }

    /** Takes the key's lock and builds, or waits for the holder's entry; breaks stale locks on the way. */
    private CompiledKernel lockAndBuild(KernelSource source, String arch, String key, Path entry) throws IOException {
        Path lockFile = locks.resolve(entry.getFileName() + ".lock");
        CacheLock.Watch watch = new CacheLock.Watch(timing.staleAfter());
        long deadline = System.nanoTime() + timing.maxWait().toNanos();
        boolean waited = false;
        long sleep = 5;
        while (true) {
            CacheLock lock = CacheLock.tryAcquire(lockFile, timing.heartbeat());
            if (lock != null) {
                try (lock) {
                    Loaded now = load(entry, source, arch, key);
                    if (now.kernel != null) {
                        diskHits.increment();
                        return now.kernel.withOutcome(waited ? CompiledKernel.Outcome.WAITED
                                : CompiledKernel.Outcome.DISK_HIT);
                    }
                    if (now.refusal != null) {
                        refuse(entry, now.refusal);
                    }
                    return build(source, arch, key, entry);
                }
            }
            if (!waited) {
                waited = true;
                waits.increment();
                if (config.debug()) {
                    LOG.info("deepgemm4j JIT: waiting for another compile of " + entry.getFileName());
                }
            }
            sleepMillis(sleep);
            sleep = Math.min(sleep * 2, 200);
            Loaded polled = load(entry, source, arch, key);
            if (polled.kernel != null) {
                diskHits.increment();
                return polled.kernel.withOutcome(CompiledKernel.Outcome.WAITED);
            }
            if (watch.isStale(lockFile) && CacheLock.breakStale(lockFile)) {
                staleBroken.increment();
                LOG.warning("deepgemm4j JIT: broke the stale compile lock " + lockFile);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("gave up after " + timing.maxWait() + " waiting for the compile lock "
                        + lockFile + " (held by " + CacheLock.read(lockFile).orElse(null) + ")");
            }
        }
    }

    /** Compiles into a private directory and, when {@code entry} is given, publishes it there. */
    private CompiledKernel build(KernelSource source, String arch, String key, Path entry) throws IOException {
        Path work = Files.createDirectory(tmp.resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID()),
                OWNER_ONLY_DIR);
        Path cu = work.resolve(CU);
        byte[] code = source.code().getBytes(StandardCharsets.UTF_8);
        writeSynced(cu, code);
        if (config.debug()) {
            LOG.info("deepgemm4j JIT: compiling " + source.family() + "/" + source.kernelName() + " for " + arch
                    + " in " + work + "\n" + source.code());
        }
        long t0 = System.nanoTime();
        KernelCompiler.Output out;
        try {
            out = compiler.compile(source, arch, work, cu, config.dumpPtx());
            PtxasReport report = PtxasReport.parse(out.log());
            if (config.ptxasVerbose() || config.debug()) {
                LOG.info("deepgemm4j JIT: ptxas report for " + source.kernelName() + ":\n" + out.log().strip());
            }
            if (config.ptxasCheck() && report.usesLocalMemory()) {
                throw new CompileException("DG_JIT_PTXAS_CHECK: " + source.kernelName() + " uses local memory ("
                        + report.spillStoreBytes() + " B spill stores, " + report.spillLoadBytes()
                        + " B spill loads, stack frame " + report.stackFrameBytes() + " B)", out.log(), cu);
            }
        } catch (CompileException e) {
            compileFailures.increment();
            throw e;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        compiles.increment();
        compileMillis.add(ms);
        byte[] cubin = out.cubin();
        writeSynced(work.resolve(CUBIN), cubin);
        writeSynced(work.resolve(LOG_FILE), out.log().getBytes(StandardCharsets.UTF_8));
        if (out.ptx() != null) {
            writeSynced(work.resolve("kernel.ptx"), out.ptx());
        }
        if (config.dumpSass()) {
            dumpSass(work);
        }
        writeSynced(work.resolve(META), meta(source, arch, key, code, cubin, ms).getBytes(StandardCharsets.UTF_8));
        syncDirectory(work);
        appendCompileLog(source, key, arch, ms);
        CompiledKernel mine = new CompiledKernel(source.family(), source.kernelName(), arch, cubin, ms,
                CompiledKernel.Outcome.COMPILED, key, null, out.log());
        if (entry == null) {
            deleteTree(work);
            return mine;
        }
        try {
            Files.move(work, entry, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(entries);
            return new CompiledKernel(source.family(), source.kernelName(), arch, cubin, ms,
                    CompiledKernel.Outcome.COMPILED, key, entry, out.log());
        } catch (FileSystemException e) {
            // Another process published first (possible only after a lock was judged stale): use theirs if valid.
            Loaded theirs = load(entry, source, arch, key);
            deleteTree(work);
            return theirs.kernel != null ? theirs.kernel.withOutcome(CompiledKernel.Outcome.WAITED) : mine;
        }
    }

    /** Moves a refused entry out of the way (into tmp, then deletes it); counts and warns once. */
    private void refuse(Path entry, String reason) {
        refused.increment();
        if (warnedRefusal.compareAndSet(false, true)) {
            LOG.warning("deepgemm4j JIT: refusing cache entry " + entry + " (" + reason + "); rebuilding it. Further "
                    + "refusals in " + root + " are logged at FINE.");
        } else {
            LOG.fine(() -> "deepgemm4j JIT: refusing cache entry " + entry + " (" + reason + ")");
        }
        Path aside = tmp.resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID() + ".refused");
        try {
            Files.move(entry, aside, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(aside);
        } catch (IOException e) {
            LOG.log(Level.FINE, "could not move the refused entry aside; the rebuild stays unpublished", e);
        }
    }

    /** The result of looking at an entry: a kernel, a reason to refuse it, or neither (absent). */
    private record Loaded(CompiledKernel kernel, String refusal) {
        static final Loaded ABSENT = new Loaded(null, null);
    }

    private Loaded load(Path entry, KernelSource source, String arch, String key) {
        if (!Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
            return Loaded.ABSENT;
        }
        try {
            if (!Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                return refusal("not a directory");
            }
            String owner = ownerProblem(entry);
            if (owner != null) {
                return refusal(owner);
            }
            Properties meta = new Properties();
            meta.load(new StringReader(new String(readTrusted(entry.resolve(META)), StandardCharsets.UTF_8)));
            byte[] cu = readTrusted(entry.resolve(CU));
            byte[] cubin = readTrusted(entry.resolve(CUBIN));
            String mismatch = firstMismatch(meta, source, arch, key, cu, cubin);
            if (mismatch != null) {
                return refusal(mismatch);
            }
            Path logPath = entry.resolve(LOG_FILE);
            String log = Files.isRegularFile(logPath, LinkOption.NOFOLLOW_LINKS) && ownerProblem(logPath) == null
                    ? Files.readString(logPath) : "";
            return new Loaded(new CompiledKernel(source.family(), source.kernelName(), arch, cubin,
                    Long.parseLong(meta.getProperty("compile.millis", "0")), CompiledKernel.Outcome.DISK_HIT, key,
                    entry, log), null);
        } catch (NoSuchFileException e) {
            return refusal("missing " + e.getFile());
        } catch (IOException | RuntimeException e) {
            return refusal(e.toString());
        }
    }

    private static Loaded refusal(String reason) {
        return new Loaded(null, reason);
    }

    private String firstMismatch(Properties meta, KernelSource source, String arch, String key, byte[] cu,
            byte[] cubin) {
        String[][] expected = {
            {"format", String.valueOf(FORMAT)}, {"key", key}, {"family", source.family()},
            {"kernel", source.kernelName()}, {"arch", arch}, {"compiler", compiler.identity()},
            {"cu.size", String.valueOf(cu.length)}, {"cu.sha256", sha256Hex(cu)},
            {"cubin.size", String.valueOf(cubin.length)}, {"cubin.sha256", sha256Hex(cubin)}};
        for (String[] e : expected) {
            if (!e[1].equals(meta.getProperty(e[0]))) {
                return "meta " + e[0] + " is " + meta.getProperty(e[0]) + ", expected " + e[1];
            }
        }
        if (!Arrays.equals(cu, source.code().getBytes(StandardCharsets.UTF_8))) {
            return "kernel.cu differs from the requested source";
        }
        return null;
    }

    private String meta(KernelSource source, String arch, String key, byte[] cu, byte[] cubin, long ms) {
        return "format=" + FORMAT + "\nkey=" + key + "\nfamily=" + source.family() + "\nkernel="
                + source.kernelName() + "\narch=" + arch + "\ncompiler=" + escape(compiler.identity()) + "\noptions="
                + escape(String.join(" ", compiler.options(arch))) + "\ncu.size=" + cu.length + "\ncu.sha256="
                + sha256Hex(cu) + "\ncubin.size=" + cubin.length + "\ncubin.sha256=" + sha256Hex(cubin)
                + "\ncompile.millis=" + ms + "\ncreated=" + Instant.now() + "\n";
    }

    /** Escapes a value for a properties file. */
    private static String escape(String value) {
        StringBuilder b = new StringBuilder();
        for (char c : value.toCharArray()) {
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case ':', '=', '#', '!' -> b.append('\\').append(c);
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** Reads a file that must be a regular file (not a link) owned by this user. */
    private byte[] readTrusted(Path file) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(file.toString());
        }
        String owner = ownerProblem(file);
        if (owner != null) {
            throw new IOException(owner);
        }
        return Files.readAllBytes(file);
    }

    /** Why {@code path} is not trusted by owner, or null if it is ours (or the file system has no owners). */
    private String ownerProblem(Path path) throws IOException {
        return ownerProblem(path, uid);
    }

    /** Why {@code path} is not owned by {@code uid}, or null if it is (or {@code uid} is -1: no owners). */
    static String ownerProblem(Path path, int uid) throws IOException {
        if (uid < 0) {
            return null;
        }
        int owner = (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        return owner == uid ? null : path.getFileName() + " is owned by uid " + owner + ", not " + uid;
    }

    private void dumpSass(Path work) {
        var tool = CudaToolkit.cuobjdump(config.nvccPath());
        if (tool.isEmpty()) {
            if (warnedNoCuobjdump.compareAndSet(false, true)) {
                LOG.warning("deepgemm4j JIT: DG_JIT_DUMP_SASS is set but cuobjdump was not found; no kernel.sass");
            }
            return;
        }
        try {
            CudaToolkit.Run run = CudaToolkit.run(List.of(tool.get().toString(), "--dump-sass", CUBIN), work, 120);
            if (run.exitCode() != 0) {
                LOG.warning("deepgemm4j JIT: cuobjdump exited with " + run.exitCode() + ": " + run.output().strip());
                return;
            }
            writeSynced(work.resolve("kernel.sass"), run.output().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.warning("deepgemm4j JIT: cuobjdump failed: " + e.getMessage());
        }
    }

    private void appendCompileLog(KernelSource source, String key, String arch, long ms) {
        String line = Instant.now() + " pid=" + ProcessHandle.current().pid() + " host=" + CacheLock.HOST + " "
                + source.family() + "." + key + " " + arch + " " + ms + "ms " + compiler.identity() + "\n";
        try {
            Files.writeString(root.resolve("compile.log"), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            LOG.log(Level.FINE, "could not append to compile.log", e);
        }
    }

    private void removeOldBuildDirs() {
        deleteOlderThan(tmp, TMP_MAX_AGE, p -> true);
    }

    /**
     * Deletes the entries of {@code dir} (files or trees) that {@code filter} accepts and that were last modified
     * more than {@code age} ago; best effort.
     */
    static void deleteOlderThan(Path dir, Duration age, Predicate<Path> filter) {
        Instant cutoff = Instant.now().minus(age);
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(filter).filter(p -> {
                try {
                    return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff);
                } catch (IOException e) {
                    return false;
                }
            }).forEach(JitCache::deleteTree);
        } catch (IOException e) {
            // best effort
        }
    }

    /** Creates {@code dir} ({@code rwx------}) if absent, else makes it owner-only. */
    static void ownerOnlyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectory(dir, OWNER_ONLY_DIR);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // created concurrently by another process
            }
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (!perms.equals(PosixFilePermissions.fromString("rwx------"))) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    /** This process's uid, from a file it creates in {@code dir}; -1 where the file system has no owners. */
    static int currentUid(Path dir) throws IOException {
        Path probe = Files.createTempFile(dir, "uid-", "", OWNER_ONLY_FILE);
        try {
            return (Integer) Files.getAttribute(probe, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /** Writes a new owner-only file and forces it to disk. */
    static void writeSynced(Path file, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                OWNER_ONLY_FILE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** fsync of a directory, so a rename into or inside it is durable; not every file system allows it. */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // durability is best effort where directories cannot be opened
        }
    }

    /** Deletes a directory tree without following links; best effort (failures leave files for the age sweep). */
    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // leave it
                }
            });
        } catch (IOException e) {
            // leave it
        }
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a kernel compile", e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256Hex(byte[] data) {
        return HexFormat.of().formatHex(sha256().digest(data));
    }
}
