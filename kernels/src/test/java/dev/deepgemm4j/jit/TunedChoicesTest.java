package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tuner's on-disk store: round trip, replacement, what it refuses to read, concurrent writers, old temporaries. */
class TunedChoicesTest {

    private static final String KEY = "NVIDIA H100 80GB HBM3 sm_90 132 SMs | sm90_fp8_gemm_1d2d M=4096 N=2112 K=7168";

    @TempDir
    Path root;

    @Test
    void keepsAndReplacesChoicesOwnerOnly() throws IOException {
        TunedChoices store = new TunedChoices(root);
        assertEquals(Optional.empty(), store.get(KEY));
        store.put(KEY, "128x192");
        assertEquals(Optional.of("128x192"), store.get(KEY));
        assertEquals(Optional.of("128x192"), new TunedChoices(root).get(KEY), "another process reads it");
        store.put(KEY, "128x176");
        assertEquals(Optional.of("128x176"), store.get(KEY));
        assertEquals(Optional.empty(), store.get(KEY + " "), "keys are exact");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store.directory())));
        Path file = store.directory().resolve(TunedChoices.fileName(KEY));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        try (var files = Files.list(store.directory())) {
            assertEquals(List.of(file), files.toList(), "one file per key, no temporaries left");
        }
    }

    @Test
    void ignoresFilesThatDoNotHoldTheKey() throws IOException {
        TunedChoices store = new TunedChoices(root);
        Path file = store.directory().resolve(TunedChoices.fileName(KEY));
        Files.writeString(file, "deepgemm4j-tuning 1\nsome other key\n128x192\n");
        assertEquals(Optional.empty(), store.get(KEY), "a file under the key's name but for another key");
        Files.writeString(file, "deepgemm4j-tuning 1\n" + KEY + "\n");
        assertEquals(Optional.empty(), store.get(KEY), "truncated");
        Files.writeString(file, "deepgemm4j-tuning 2\n" + KEY + "\n128x192\n");
        assertEquals(Optional.empty(), store.get(KEY), "another format");
        Files.write(file, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertEquals(Optional.empty(), store.get(KEY), "not text");
        Files.delete(file);
        Path elsewhere = root.resolve("planted");
        Files.writeString(elsewhere, "deepgemm4j-tuning 1\n" + KEY + "\n128x192\n");
        Files.createSymbolicLink(file, elsewhere);
        assertEquals(Optional.empty(), store.get(KEY), "a link is not followed");
        store.put(KEY, "128x128");
        assertFalse(Files.isSymbolicLink(file), "put replaces the link itself");
        assertEquals("deepgemm4j-tuning 1\n" + KEY + "\n128x192\n", Files.readString(elsewhere), "its target untouched");
        assertEquals(Optional.of("128x128"), store.get(KEY));
    }

    @Test
    void fingerprintFollowsEveryPart() {
        String base = TunedChoices.fingerprint(List.of("128x192", "kernel a", "128x176", "kernel b"));
        assertEquals(base, TunedChoices.fingerprint(List.of("128x192", "kernel a", "128x176", "kernel b")));
        assertEquals(16, base.length());
        assertFalse(base.equals(TunedChoices.fingerprint(List.of("128x192", "kernel a", "128x176", "kernel c"))));
        assertFalse(base.equals(TunedChoices.fingerprint(List.of("128x192", "kernel a"))));
        assertFalse(TunedChoices.fingerprint(List.of("ab", "")).equals(TunedChoices.fingerprint(List.of("a", "b"))),
                "parts are delimited");
    }

    @Test
    void refusesKeysAndChoicesThatAreNotOneLine() {
        TunedChoices store = new TunedChoices(root);
        var e = assertThrows(IllegalArgumentException.class, () -> store.put("a\nb", "x"));
        assertTrue(e.getMessage().startsWith("key"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> store.put(KEY, "x\r"));
        assertTrue(e.getMessage().startsWith("choice"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> store.put(KEY, " "));
        assertThrows(IllegalArgumentException.class, () -> store.get("a\nb"));
    }

    @Test
    void concurrentWritersLeaveOneWholeChoice() throws Exception {
        int writers = 8;
        int rounds = 40;
        Set<String> written = ConcurrentHashMap.newKeySet();
        List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(writers + 2);
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int id = w;
                jobs.add(pool.submit(() -> {
                    TunedChoices store = new TunedChoices(root); // one store per "process"
                    for (int r = 0; r < rounds; r++) {
                        String choice = "writer" + id + "-round" + r + "-" + "x".repeat(200);
                        written.add(choice);
                        store.put(KEY, choice);
                    }
                }));
            }
            Future<?> reader = pool.submit(() -> {
                TunedChoices store = new TunedChoices(root);
                while (!done.get()) {
                    store.get(KEY).ifPresent(seen::add);
                }
            });
            for (Future<?> j : jobs) {
                j.get();
            }
            done.set(true);
            reader.get();
        } finally {
            pool.shutdownNow();
        }
        String last = new TunedChoices(root).get(KEY).orElseThrow();
        assertTrue(written.contains(last), last);
        for (String s : seen) {
            assertTrue(written.contains(s), "a torn read: " + s);
        }
    }

    @Test
    void removesOldTemporariesOnly() throws IOException {
        TunedChoices first = new TunedChoices(root);
        Path old = first.directory().resolve(".tmp-1-old");
        Path fresh = first.directory().resolve(".tmp-2-fresh");
        Files.writeString(old, "x");
        Files.writeString(fresh, "x");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
        first.put(KEY, "128x192");
        new TunedChoices(root);
        assertFalse(Files.exists(old, LinkOption.NOFOLLOW_LINKS), "a crashed writer's file of two days ago");
        assertTrue(Files.exists(fresh), "a temporary another process may still be writing");
        assertEquals(Optional.of("128x192"), first.get(KEY));
        assertEquals("deepgemm4j-tuning 1\n" + KEY + "\n128x192\n",
                Files.readString(first.directory().resolve(TunedChoices.fileName(KEY)), StandardCharsets.UTF_8));
    }
}
