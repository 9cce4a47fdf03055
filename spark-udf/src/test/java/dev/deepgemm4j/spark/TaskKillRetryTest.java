package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.TaskContext;
import org.apache.spark.TaskKilled;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scoring task killed in the middle of its partition (after it has scored and written a batch) is re-run by Spark,
 * and the Parquet output equals the one of a clean run.
 */
class TaskKillRetryTest {

    private static final int TOKENS = 400;
    private static final int BATCH = 64;
    /** Partition 0's first attempt stops after this many rows: mid-partition, after two whole batches. */
    private static final int STOP_AFTER = 150;

    // Shared with the task threads (local mode: one JVM).
    private static final CountDownLatch STOPPED = new CountDownLatch(1);
    private static final AtomicLong STOPPED_TASK = new AtomicLong(-1);
    private static volatile boolean armed;

    @TempDir
    Path dir;

    /** Hidden states of ids; when armed, partition 0's first attempt blocks mid-way until it is killed. */
    private record Source(int hidden) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> ids) {
            TaskContext task = TaskContext.get();
            boolean stopHere = armed && task.partitionId() == 0 && task.attemptNumber() == 0;
            AtomicInteger emitted = new AtomicInteger();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return ids.hasNext();
                }

                @Override
                public Row next() {
                    if (stopHere && emitted.incrementAndGet() > STOP_AFTER) {
                        STOPPED_TASK.set(task.taskAttemptId());
                        STOPPED.countDown();
                        try {
                            Thread.sleep(120_000);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IllegalStateException("killed", e);
                        }
                        throw new IllegalStateException("was never killed");
                    }
                    long id = ids.next().getLong(0);
                    SplittableRandom rng = new SplittableRandom(id);
                    return RowFactory.create(id, MoeModel.gaussian(rng, hidden, 1));
                }
            };
        }
    }

    private static Dataset<Row> tokens(SparkSession spark) {
        StructType schema = new StructType().add("id", DataTypes.LongType, false)
                .add("hidden", DataTypes.createArrayType(DataTypes.FloatType, false), false);
        return spark.range(0, TOKENS, 1, 2).toDF().mapPartitions(new Source(MoeScorerTest.D), Encoders.row(schema));
    }

    @Test
    void aTaskKilledMidPartitionIsRetriedAndTheOutputEqualsACleanRun() throws Exception {
        SparkSession spark = LocalSpark.session();
        Path model = dir.resolve("m.dgw");
        try (MoeModel m = MoeModel.generate(31, MoeScorerTest.EXPERTS, MoeScorerTest.D, MoeScorerTest.F)) {
            WeightFile.write(model, m.toTensors());
        }
        MoeScorer scorer = new MoeScorer().setModel(WeightRef.of(model.toString())).setBatchTokens(BATCH);
        String clean = dir.resolve("clean").toString();
        String killed = dir.resolve("killed").toString();
        scorer.transform(tokens(spark)).write().parquet(clean);

        List<String> kills = new java.util.concurrent.CopyOnWriteArrayList<>();
        SparkListener listener = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() instanceof TaskKilled k) {
                    kills.add(end.taskInfo().taskId() + ": " + k.reason());
                }
            }
        };
        spark.sparkContext().addSparkListener(listener);
        armed = true;
        try {
            CompletableFuture<Void> job = CompletableFuture.runAsync(
                    () -> scorer.transform(tokens(spark)).write().parquet(killed));
            assertTrue(STOPPED.await(60, TimeUnit.SECONDS), "partition 0 never reached its stop point");
            assertTrue(spark.sparkContext().killTaskAttempt(STOPPED_TASK.get(), true, "test: kill mid-partition"));
            job.get(120, TimeUnit.SECONDS);
        } finally {
            armed = false;
            spark.sparkContext().removeSparkListener(listener);
        }

        // Listener events arrive asynchronously.
        for (int i = 0; i < 100 && kills.isEmpty(); i++) {
            Thread.sleep(100);
        }
        assertEquals(List.of(STOPPED_TASK.get() + ": test: kill mid-partition"), kills);
        List<Row> expected = spark.read().parquet(clean).orderBy("id").collectAsList();
        List<Row> actual = spark.read().parquet(killed).orderBy("id").collectAsList();
        assertEquals(TOKENS, expected.size());
        assertEquals(expected, actual);
        DeepGemmRuntime runtime = DeepGemmRuntime.get();
        assertEquals(runtime.concurrentTasks(), runtime.availablePermits(), "the killed task gave its permit back");
    }
}
