package dev.deepgemm4j.jit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A per-key compile lock that works across processes and hosts sharing the cache directory, including over NFS
 * (where {@code FileChannel.lock} is unreliable): the lock is a file created with {@code O_CREAT|O_EXCL} semantics
 * ({@link Files#createFile}), naming its holder (pid, host, process start, a random token). While compiling, the
 * holder touches the file's mtime every heartbeat. A waiter considers the lock stale when its holder is a dead process
 * in the same pid namespace on the same host, or when its mtime has not moved for the stale timeout (measured on the
 * waiter's own clock, so clock skew between NFS clients does not matter); it breaks the lock by renaming it aside,
 * which only one waiter can win.
 */
final class CacheLock implements AutoCloseable {

    private static final ScheduledExecutorService HEARTBEAT = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "deepgemm4j-jit-lock-heartbeat");
        t.setDaemon(true);
        return t;
    });

    /** Identifies this process's host and pid namespace, so pids are only compared where they mean the same. */
    static final String HOST = hostIdentity();

    private final Path path;
    private final String token;
    private final ScheduledFuture<?> heartbeat;

    private CacheLock(Path path, String token, Duration heartbeatEvery) {
        this.path = path;
        this.token = token;
        long ms = heartbeatEvery.toMillis();
        this.heartbeat = HEARTBEAT.scheduleAtFixedRate(this::touch, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Who holds a lock, as its file says. */
    record Holder(long pid, String host, String start, String token) {
    }

    /**
     * Takes the lock at {@code path} if nobody holds it.
     *
     * @return the lock, or null when the file already exists
     */
    static CacheLock tryAcquire(Path path, Duration heartbeatEvery) throws IOException {
        try {
            Files.createFile(path, JitCache.OWNER_ONLY_FILE);
        } catch (FileAlreadyExistsException e) {
            return null;
        }
        String token = UUID.randomUUID().toString();
        ProcessHandle self = ProcessHandle.current();
        String content = "pid=" + self.pid() + "\nhost=" + HOST + "\nstart="
                + self.info().startInstant().map(Instant::toString).orElse("") + "\ntoken=" + token + "\n";
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.write(StandardCharsets.UTF_8.encode(content));
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(path);
            throw e;
        }
        return new CacheLock(path, token, heartbeatEvery);
    }

    /** The holder named in the lock file, if it exists and is complete (it is written just after creation). */
    static Optional<Holder> read(Path path) {
        try {
            Properties p = new Properties();
            try (var in = Files.newInputStream(path)) {
                p.load(in);
            }
            String token = p.getProperty("token");
            if (token == null) {
                return Optional.empty();
            }
            return Optional.of(new Holder(Long.parseLong(p.getProperty("pid", "-1")), p.getProperty("host", ""),
                    p.getProperty("start", ""), token));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private void touch() {
        try {
            if (read(path).map(h -> h.token().equals(token)).orElse(false)) {
                Files.setLastModifiedTime(path, FileTime.from(Instant.now()));
            }
        } catch (IOException e) {
            // A missed beat only makes the lock look older; the next one corrects it.
        }
    }

    /** Releases the lock: stops the heartbeat and deletes the file if it is still ours. */
    @Override
    public void close() {
        heartbeat.cancel(false);
        try {
            if (read(path).map(h -> h.token().equals(token)).orElse(false)) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // Left behind, it goes stale and the next waiter breaks it.
        }
    }

    /** Decides, over successive looks at one lock file, whether its holder is gone. */
    static final class Watch {
        private final Duration staleAfter;
        private FileTime lastMtime;
        private long lastChange;

        Watch(Duration staleAfter) {
            this.staleAfter = staleAfter;
        }

        /** Whether the lock at {@code path} is stale now; false if it is gone. */
        boolean isStale(Path path) {
            FileTime mtime;
            try {
                mtime = Files.getLastModifiedTime(path);
            } catch (IOException e) {
                return false;
            }
            Optional<Holder> holder = read(path);
            if (holder.isPresent() && holder.get().host().equals(HOST) && !isAlive(holder.get())) {
                return true;
            }
            long now = System.nanoTime();
            if (!mtime.equals(lastMtime)) {
                lastMtime = mtime;
                lastChange = now;
                // A lock whose mtime is far in the past by the wall clock has no live heartbeat (unless the clocks
                // disagree by minutes, which the observed-unchanged rule below still covers).
                return Duration.between(mtime.toInstant(), Instant.now()).compareTo(staleAfter.multipliedBy(2)) > 0;
            }
            return now - lastChange > staleAfter.toNanos();
        }

        private static boolean isAlive(Holder holder) {
            Optional<ProcessHandle> p = ProcessHandle.of(holder.pid());
            if (p.isEmpty() || !p.get().isAlive()) {
                return false;
            }
            String start = p.get().info().startInstant().map(Instant::toString).orElse("");
            return holder.start().isEmpty() || start.isEmpty() || start.equals(holder.start());
        }
    }

    /**
     * Breaks a stale lock by renaming it aside (atomic: of several waiters, one wins) and deleting the renamed file.
     *
     * @return whether this call broke it
     */
    static boolean breakStale(Path path) {
        Path aside = path.resolveSibling(path.getFileName() + ".stale-" + UUID.randomUUID());
        try {
            Files.move(path, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            return false;
        } catch (AtomicMoveNotSupportedException e) {
            throw new IllegalStateException("the JIT cache's file system cannot rename atomically", e);
        } catch (IOException e) {
            return false;
        }
        try {
            Files.deleteIfExists(aside);
        } catch (IOException e) {
            // harmless leftover
        }
        return true;
    }

    private static String hostIdentity() {
        String host = null;
        try {
            host = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        if (host == null || host.isEmpty()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                host = "unknown";
            }
        }
        try {
            host += "/" + Files.readSymbolicLink(Path.of("/proc/self/ns/pid"));
        } catch (IOException | RuntimeException e) {
            // no pid namespaces
        }
        return host;
    }
}
