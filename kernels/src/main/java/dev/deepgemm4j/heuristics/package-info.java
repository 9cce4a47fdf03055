/**
 * Launch heuristics of the CUDA kernels: for a problem shape and SM count, which compiled configuration of a kernel
 * to use ({@link dev.deepgemm4j.heuristics.KernelConfig}, whose {@code source()} is the unit to JIT) and with what
 * launch geometry ({@link dev.deepgemm4j.heuristics.LaunchGeometry}). Each heuristic also lists every configuration
 * it can choose ({@code allConfigs()}), so CI can compile all of them ahead of time ({@link
 * dev.deepgemm4j.heuristics.KernelCatalog}).
 */
package dev.deepgemm4j.heuristics;
