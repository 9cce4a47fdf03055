package dev.deepgemm4j.jit;

/**
 * A snapshot of the JIT cache's counters, for metrics.
 *
 * @param compiles kernels compiled by this process
 * @param compileFailures compiles that failed
 * @param compileMillis total time spent compiling
 * @param memoryHits requests served from memory
 * @param diskHits requests served from the on-disk cache
 * @param waits requests that waited for another thread or process compiling the same kernel
 * @param refusedEntries on-disk entries rejected (truncated, checksum mismatch, foreign owner) and rebuilt
 * @param staleLocksBroken compile locks of dead or silent holders that were broken
 */
public record JitStats(long compiles, long compileFailures, long compileMillis, long memoryHits, long diskHits,
        long waits, long refusedEntries, long staleLocksBroken) {
}
