package dev.deepgemm4j.gpu;

import dev.deepgemm4j.jit.CompiledKernel;
import dev.deepgemm4j.jit.Jit;
import dev.deepgemm4j.jit.KernelSource;

/** Where the backend's CUBINs come from: the process's JIT, or a substitute in tests run against a fake driver. */
interface KernelBinaries {

    /** The compiler target for a device of compute capability {@code major.minor}. */
    String targetArch(int major, int minor);

    /** The compiled {@code source} for {@code arch}. */
    CompiledKernel compile(KernelSource source, String arch);

    /**
     * The JIT ({@link Jit}), after checking that it has a compiler.
     *
     * @throws IllegalStateException if neither NVRTC nor NVCC can be used
     */
    static KernelBinaries jit() {
        Jit.cache();
        return new KernelBinaries() {
            @Override
            public String targetArch(int major, int minor) {
                return Jit.targetArch(major, minor);
            }

            @Override
            public CompiledKernel compile(KernelSource source, String arch) {
                return Jit.get(source, arch);
            }
        };
    }
}
