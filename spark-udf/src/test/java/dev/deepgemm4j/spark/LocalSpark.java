package dev.deepgemm4j.spark;

import org.apache.spark.sql.SparkSession;

/**
 * One {@code local[2]} session for all Spark tests of this JVM (starting Spark costs seconds): the catalog is
 * configured as {@code dg}, the plugin is enabled, and the functions are registered as session UDFs.
 */
final class LocalSpark {

    private static SparkSession spark;

    private LocalSpark() {
    }

    static synchronized SparkSession session() {
        if (spark == null) {
            spark = SparkSession.builder()
                    .master("local[2]")
                    .appName("deepgemm4j-spark-test")
                    .config("spark.ui.enabled", "false")
                    // Loopback only: the tests talk to nothing beyond this JVM.
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.sql.catalog.dg", DeepGemmCatalog.class.getName())
                    .config("spark.plugins", DeepGemmPlugin.class.getName())
                    .config("spark.metrics.namespace", "deepgemm4j-test")
                    .getOrCreate();
            spark.sparkContext().setLogLevel("ERROR");
            Fp8Functions.register(spark);
            Runtime.getRuntime().addShutdownHook(new Thread(spark::stop));
        }
        return spark;
    }
}
