package dev.deepgemm4j.it.notebooks;

import org.apache.spark.sql.SparkSession;

/**
 * The one local SparkSession of a test run (starting one takes seconds). Notebooks reach it through
 * {@code SparkSession.builder()…getOrCreate()} or {@code SparkSession.active()}, so they need not know about this
 * class. Spark's own shutdown hook stops it when the test JVM exits.
 */
final class SharedSpark {

    private SharedSpark() {
    }

    /** The session, started on first use: two local cores, no UI, few shuffle partitions. */
    static synchronized SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("deepgemm4j-notebooks")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
    }
}
