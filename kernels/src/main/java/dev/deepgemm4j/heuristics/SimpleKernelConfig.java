package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.KernelSource;

/**
 * A configuration whose only tunable is its source (the small utility kernels: clean, metadata, quantiser, copy,
 * fill, pack).
 */
public record SimpleKernelConfig(KernelSource source, int threads, int staticSharedBytes) implements KernelConfig {
}
