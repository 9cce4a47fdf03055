package dev.deepgemm4j.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SingleFlightTest {

    private final SingleFlight<String, Integer> flights = new SingleFlight<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    /** Work that signals it started, then runs {@code result} once the test releases it. */
    private Supplier<Integer> heldWork(AtomicInteger runs, Supplier<Integer> result) {
        return () -> {
            runs.incrementAndGet();
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return result.get();
        };
    }

    /** Waits until {@code thread} is parked (waiting for a flight), so the test knows it arrived during the flight. */
    private static void awaitParked(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (thread.getState() != Thread.State.WAITING && thread.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < deadline, "the second caller never waited: " + thread.getState());
            Thread.sleep(1);
        }
    }

    private record Call(Thread thread, Future<SingleFlight.Outcome<Integer>> result) {
    }

    /** Starts {@code flights.run(key, work)} on its own thread. */
    private Call start(String key, Supplier<Integer> work) throws InterruptedException {
        CountDownLatch running = new CountDownLatch(1);
        Thread[] thread = new Thread[1];
        Future<SingleFlight.Outcome<Integer>> f = pool.submit(() -> {
            thread[0] = Thread.currentThread();
            running.countDown();
            return flights.run(key, work);
        });
        running.await();
        return new Call(thread[0], f);
    }

    @Test
    void aCallerArrivingDuringAFlightWaitsForItsResultInsteadOfRunningTheWork() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        Call first = start("k", heldWork(runs, () -> 42));
        started.await();
        Call second = start("k", () -> {
            runs.incrementAndGet();
            return -1;
        });
        awaitParked(second.thread());
        release.countDown();

        SingleFlight.Outcome<Integer> ran = first.result().get();
        SingleFlight.Outcome<Integer> waited = second.result().get();
        assertEquals(42, ran.value());
        assertFalse(ran.waited());
        assertEquals(42, waited.value(), "the flight's result, not the second caller's own work");
        assertTrue(waited.waited());
        assertEquals(1, runs.get(), "the work ran once");
    }

    @Test
    void theFlightsExceptionReachesTheWaiterToo() throws Exception {
        IllegalStateException failure = new IllegalStateException("compile failed");
        Call first = start("k", heldWork(new AtomicInteger(), () -> {
            throw failure;
        }));
        started.await();
        Call second = start("k", () -> 7);
        awaitParked(second.thread());
        release.countDown();

        ExecutionException a = assertThrows(ExecutionException.class, () -> first.result().get());
        ExecutionException b = assertThrows(ExecutionException.class, () -> second.result().get());
        assertSame(failure, a.getCause());
        assertSame(failure, b.getCause());
    }

    @Test
    void otherKeysDoNotWaitAndNothingIsRememberedAfterAFlight() throws Exception {
        Call held = start("k", heldWork(new AtomicInteger(), () -> 1));
        started.await();
        SingleFlight.Outcome<Integer> other = flights.run("other", () -> 2);
        assertEquals(2, other.value(), "a different key runs at once, while k is in flight");
        assertFalse(other.waited());
        release.countDown();
        assertEquals(1, held.result().get().value());

        SingleFlight.Outcome<Integer> again = flights.run("k", () -> 3);
        assertEquals(3, again.value(), "a finished flight leaves nothing behind: the next call runs its own work");
        assertFalse(again.waited());
        assertThrows(ArithmeticException.class, () -> flights.run("k", () -> 1 / (again.value() - 3)));
        assertEquals(4, flights.run("k", () -> 4).value(), "a failed flight leaves nothing behind either");
    }
}
