/** The README's main job ({@link dev.deepgemm4j.spark.job.MainJob}); not part of the library's API. */
package dev.deepgemm4j.spark.job;
