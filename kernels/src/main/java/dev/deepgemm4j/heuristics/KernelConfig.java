package dev.deepgemm4j.heuristics;

import dev.deepgemm4j.jit.KernelSource;

/** One compiled configuration of a kernel: the unit to compile plus what its launches need to know. */
public interface KernelConfig {

    /** The translation unit (all parameters baked in). */
    KernelSource source();

    /** Threads per CTA (the kernel's {@code __launch_bounds__}). */
    int threads();

    /** Static shared memory the kernel declares, in bytes (an upper estimate; at most 48 KB). */
    int staticSharedBytes();
}
