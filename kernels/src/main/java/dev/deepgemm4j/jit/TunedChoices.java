package dev.deepgemm4j.jit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The tuner's kept choices on disk, so that every process of the user on the same device model launches the fastest
 * configuration any of them measured: one small file per key under {@code <cache root>/tuning/}.
 *
 * <p>A file is named by the first 128 bits of the SHA-256 of its key and holds a format line, the key and the
 * choice. It is written under a private temporary name, forced to disk and renamed over the old file in one atomic
 * step, so a reader sees the old choice or the new one, never a mix. Two processes tuning one problem at once both
 * write; the last rename wins, which is harmless since both timed the same candidates. A file is read only if it is
 * a regular file owned by this user whose key line is the key asked for (a hash collision or a file copied from
 * elsewhere is ignored); the caller must still check that the choice is one of its candidates. Disk errors never fail
 * a call: the choice then lives in memory only, with one warning.
 */
public final class TunedChoices {

    private static final Logger LOG = Logger.getLogger(TunedChoices.class.getName());
    private static final String FORMAT_LINE = "deepgemm4j-tuning 1";
    private static final String TMP_PREFIX = ".tmp-";
    /** Temporary files left behind by crashed writers are removed after this long. */
    private static final Duration TMP_MAX_AGE = Duration.ofDays(1);

    private final Path dir;
    private final int uid;
    private final AtomicBoolean warned = new AtomicBoolean();

    /**
     * The store under {@code cacheRoot/tuning} (both created owner-only if absent).
     *
     * @throws IllegalStateException if the directory cannot be set up
     */
    public TunedChoices(Path cacheRoot) {
        Path root = cacheRoot.toAbsolutePath();
        this.dir = root.resolve("tuning");
        try {
            if (!Files.isDirectory(root)) {
                Files.createDirectories(root, JitCache.OWNER_ONLY_DIR);
            }
            JitCache.ownerOnlyDirectory(dir);
            this.uid = JitCache.currentUid(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot set up the tuning store in " + dir + ": " + e, e);
        }
        removeOldTemporaries();
    }

    /** The directory holding the choices. */
    public Path directory() {
        return dir;
    }

    /** The choice kept for {@code key}, if a trusted file holds one. */
    public Optional<String> get(String key) {
        requireOneLine(key, "key");
        Path file = dir.resolve(fileName(key));
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || JitCache.ownerProblem(file, uid) != null) {
                return Optional.empty();
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.size() != 3 || !lines.get(0).equals(FORMAT_LINE) || !lines.get(1).equals(key)
                    || lines.get(2).isBlank()) {
                return Optional.empty();
            }
            return Optional.of(lines.get(2));
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.FINE, "unreadable tuning file " + file, e);
            return Optional.empty();
        }
    }

    /** Keeps {@code choice} for {@code key}, replacing any earlier one; best effort. */
    public void put(String key, String choice) {
        requireOneLine(key, "key");
        requireOneLine(choice, "choice");
        if (choice.isBlank()) {
            throw new IllegalArgumentException("choice must not be blank");
        }
        Path target = dir.resolve(fileName(key));
        Path tmp = dir.resolve(TMP_PREFIX + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
        try {
            JitCache.writeSynced(tmp, (FORMAT_LINE + "\n" + key + "\n" + choice + "\n").getBytes(StandardCharsets.UTF_8));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            JitCache.syncDirectory(dir);
        } catch (IOException e) {
            if (warned.compareAndSet(false, true)) {
                LOG.warning("deepgemm4j: cannot keep a tuned choice in " + dir + " (" + e
                        + "); tuned choices stay in memory");
            }
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the age sweep removes it
            }
        }
    }

    /** A short hash of {@code parts} (e.g. the candidates' kernel sources), for a key that must change with them. */
    public static String fingerprint(List<String> parts) {
        return JitCache.sha256Hex(String.join("\0", parts).getBytes(StandardCharsets.UTF_8)).substring(0, 16);
    }

    /** The file name of {@code key}'s choice. */
    static String fileName(String key) {
        return JitCache.sha256Hex(key.getBytes(StandardCharsets.UTF_8)).substring(0, 32);
    }

    private static void requireOneLine(String value, String name) {
        if (value == null || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            throw new IllegalArgumentException(name + " must be one line of text, got " + value);
        }
    }

    private void removeOldTemporaries() {
        JitCache.deleteOlderThan(dir, TMP_MAX_AGE, p -> p.getFileName().toString().startsWith(TMP_PREFIX));
    }
}
