/**
 * The CUDA backend: {@link dev.deepgemm4j.gpu.CudaBackend} implements the backend contract over the CUDA runtime
 * ({@code dev.deepgemm4j.cuda}), the JIT ({@code dev.deepgemm4j.jit}) and the launch heuristics
 * ({@code dev.deepgemm4j.heuristics}), with one launcher per kernel family. Internal; the public GPU API is
 * {@code dev.deepgemm4j.Gpu}, {@code GpuStream}, {@code GpuGraph} and {@code GpuTimer}.
 */
package dev.deepgemm4j.gpu;
