package dev.deepgemm4j.jit;

import java.util.Objects;

/**
 * One fully specialised CUDA translation unit, ready for the compiler: every template parameter is baked into
 * {@code code}, and the unit defines exactly one {@code extern "C" __global__} function named {@code kernelName}.
 * The code includes nothing from outside (local headers are inlined), so its text alone determines the binary for a
 * given compiler, option set and architecture; the JIT cache key hashes it.
 *
 * @param family the kernel family (the source file under {@code src/main/cuda} without extension), for cache
 *     directory names and logs
 * @param kernelName the {@code extern "C"} symbol to look up after loading
 * @param code the complete CUDA C++ source
 */
public record KernelSource(String family, String kernelName, String code) {

    public KernelSource {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(kernelName, "kernelName");
        Objects.requireNonNull(code, "code");
        if (!family.matches("[a-z0-9_]+")) {
            throw new IllegalArgumentException("family must be lower_snake_case, got " + family);
        }
        if (!kernelName.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("kernelName must be a C identifier, got " + kernelName);
        }
    }
}
