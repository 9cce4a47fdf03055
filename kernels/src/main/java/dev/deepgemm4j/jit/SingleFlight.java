package dev.deepgemm4j.jit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * At most one computation per key at a time within this process: a thread that finds its key's computation running on
 * another thread waits for that result, or its exception, instead of computing it again. Used where a second run
 * would be wasted and would also disturb the first, as a kernel compile or the tuner's timing.
 *
 * <p>Nothing is remembered once a computation ends: callers keep results themselves and look there first.
 *
 * @param <K> the key (equality decides what counts as the same computation)
 * @param <V> the result
 */
public final class SingleFlight<K, V> {

    /** A result, and whether this caller waited for another thread's computation instead of running it. */
    public record Outcome<V>(V value, boolean waited) {
    }

    private final ConcurrentHashMap<K, CompletableFuture<V>> inFlight = new ConcurrentHashMap<>();

    /**
     * {@code work}'s result for {@code key}: computed on this thread, or, if another thread is computing it now, that
     * thread's result (its exception is rethrown here as well).
     *
     * @throws IllegalStateException if this thread is interrupted while it waits
     */
    public Outcome<V> run(K key, Supplier<V> work) {
        CompletableFuture<V> mine = new CompletableFuture<>();
        CompletableFuture<V> other = inFlight.putIfAbsent(key, mine);
        if (other != null) {
            return new Outcome<>(join(other), true);
        }
        try {
            V value = work.get();
            mine.complete(value);
            return new Outcome<>(value, false);
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(key, mine);
        }
    }

    private static <V> V join(CompletableFuture<V> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new CompletionException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for another thread's result", e);
        }
    }
}
