/**
 * deepgemm4j for Spark 4.2: FP8 SQL functions ({@link dev.deepgemm4j.spark.DeepGemmCatalog},
 * {@link dev.deepgemm4j.spark.Fp8Functions}), batch Mixture-of-Experts scoring
 * ({@link dev.deepgemm4j.spark.MoeScorer}, its Spark-free batch path {@link dev.deepgemm4j.spark.MoeLayer}), and the
 * per-executor runtime that keeps weights resident on the executor's device
 * ({@link dev.deepgemm4j.spark.DeepGemmRuntime}, {@link dev.deepgemm4j.spark.DeepGemmPlugin}). Settings are under
 * {@code spark.deepgemm4j.*} ({@link dev.deepgemm4j.spark.DeepGemmConf}).
 */
package dev.deepgemm4j.spark;
