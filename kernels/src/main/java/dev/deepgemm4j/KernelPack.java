package dev.deepgemm4j;

import dev.deepgemm4j.jit.JitCache;
import dev.deepgemm4j.jit.KernelSource;
import java.io.Serial;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Compiled kernels that travel: the kernels some op shapes will need on some GPUs, compiled ahead of time in one
 * place (a Spark driver, a build step) and {@linkplain KernelCache#install installed} into the kernel cache of every
 * process that will run them, so none of those compiles anything. Each kernel travels as its source and its complete
 * cache entry (CUBIN, checksummed metadata, compile log); a process whose compiler has the same identity and options
 * computes the same cache keys and takes the entries as they are, any other process compiles for itself.
 *
 * <pre>{@code
 * KernelPack pack = KernelPack.plan(GpuTarget.H100_SXM)
 *         .quantizePerToken(hidden)
 *         .groupedGemmContiguous(maxRows, 2L * intermediate, hidden, DeepGemm.getMkAlignmentForContiguousLayout())
 *         .compile(KernelCache.current());
 * // ... serialize it to the workers; on each:
 * KernelCache.current().install(pack);
 * }</pre>
 *
 * <p>A pack is immutable and {@link Serializable}.
 */
public final class KernelPack implements Serializable {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * One kernel.
     *
     * @param family its family
     * @param kernelName its symbol
     * @param code its source
     * @param entryName its cache entry's name where it was compiled ({@code <family>.<key>})
     * @param files the entry's files by name
     */
    record Entry(String family, String kernelName, String code, String entryName, Map<String, byte[]> files)
            implements Serializable {

        KernelSource source() {
            return new KernelSource(family, kernelName, code);
        }
    }

    private final String id;
    private final GpuTarget target;
    private final String arch;
    private final List<Entry> entries;

    private KernelPack(String id, GpuTarget target, String arch, List<Entry> entries) {
        this.id = id;
        this.target = target;
        this.arch = arch;
        this.entries = List.copyOf(entries);
    }

    /** A new, empty plan of the kernels to compile for GPUs of {@code target}. */
    public static Plan plan(GpuTarget target) {
        if (target == null) {
            throw new DeepGemmArgumentException("target", "must not be null");
        }
        return new Plan(target);
    }

    /** Unique per compiled pack, so a receiver can install each pack once however many copies reach it. */
    public String id() {
        return id;
    }

    /** The GPUs it was planned for. */
    public GpuTarget target() {
        return target;
    }

    /** The architecture its kernels were compiled for (e.g. {@code sm_90a}). */
    public String arch() {
        return arch;
    }

    /** How many kernels it carries. */
    public int size() {
        return entries.size();
    }

    /** The kernels' symbols, in plan order. */
    public List<String> kernelNames() {
        return entries.stream().map(Entry::kernelName).toList();
    }

    List<Entry> entries() {
        return entries;
    }

    @Override
    public String toString() {
        return "KernelPack[" + id + ", " + entries.size() + " kernel(s) for " + arch + "]";
    }

    /**
     * The op shapes to compile kernels for. Each method adds the kernels the GPU backend's heuristics choose for
     * that op on the plan's {@link GpuTarget}; kernels several ops share are planned once.
     */
    public static final class Plan {
        private final GpuTarget target;
        private final Set<KernelSource> sources = new LinkedHashSet<>();

        private Plan(GpuTarget target) {
            this.target = target;
        }

        /**
         * The quantiser of FP32 activations with {@code cols} values per row to FP8 with per-token (1×128) FP32
         * scales, as {@link DeepGemm#perTokenCastToFp8} runs it.
         */
        public Plan quantizePerToken(long cols) {
            positive("cols", cols);
            sources.add(KernelPlanner.quantizePerToken(cols));
            return this;
        }

        /**
         * The M-grouped FP8 GEMM over the contiguous layout ({@link DeepGemm#mGroupedFp8GemmNtContiguous}, per-token
         * A and 128×128-block B scales) with B of shape [groups, n, k], for every total row count a batch can have:
         * each multiple of {@code alignment} up to {@code maxRows}.
         *
         * @param maxRows the most rows (padding included) one call will have
         * @param alignment the layout's segment alignment ({@link DeepGemm#getMkAlignmentForContiguousLayout()})
         */
        public Plan groupedGemmContiguous(long maxRows, long n, long k, int alignment) {
            positive("alignment", alignment);
            if (maxRows < alignment) {
                throw new DeepGemmArgumentException("maxRows", "must be >= alignment " + alignment + ", got "
                        + maxRows);
            }
            positive("n", n);
            positive("k", k);
            sources.addAll(KernelPlanner.groupedGemmContiguous(maxRows, n, k, alignment, target));
            return this;
        }

        /**
         * The M-grouped FP8 GEMM over the masked layout ({@link DeepGemm#mGroupedFp8GemmNtMasked}, per-token A and
         * 128×128-block B scales) with B of shape [groups, n, k], for every expected row count per group from 1 to
         * {@code maxRowsPerGroup}.
         */
        public Plan groupedGemmMasked(int groups, long maxRowsPerGroup, long n, long k) {
            positive("groups", groups);
            positive("maxRowsPerGroup", maxRowsPerGroup);
            positive("n", n);
            positive("k", k);
            sources.addAll(KernelPlanner.groupedGemmMasked(groups, maxRowsPerGroup, n, k, target));
            return this;
        }

        /** How many distinct kernels are planned so far. */
        public int size() {
            return sources.size();
        }

        /**
         * Compiles every planned kernel for the plan's target into {@code cache}, or finds it there, and packs the
         * cache entries. Each compile and hit counts in the cache's {@link KernelCache#stats()}. Where the cache
         * publishes nothing on disk ({@code DG_JIT_DISABLE_CACHE}) the pack carries nothing and receivers compile for
         * themselves.
         *
         * @throws RuntimeException if a kernel fails to compile (with the compiler's log)
         */
        public KernelPack compile(KernelCache cache) {
            if (cache == null) {
                throw new DeepGemmArgumentException("cache", "must not be null");
            }
            String arch = cache.targetArch(target);
            JitCache jit = cache.jit();
            List<Entry> entries = new ArrayList<>();
            for (KernelSource source : sources) {
                Optional<Map<String, byte[]>> files = jit.exportEntry(source, arch);
                if (files.isPresent()) {
                    entries.add(new Entry(source.family(), source.kernelName(), source.code(),
                            source.family() + "." + jit.key(source, arch), new TreeMap<>(files.get())));
                }
            }
            return new KernelPack(UUID.randomUUID().toString(), target, arch, entries);
        }

        List<KernelSource> sources() {
            return List.copyOf(sources);
        }

        private static void positive(String argument, long value) {
            if (value < 1) {
                throw new DeepGemmArgumentException(argument, "must be >= 1, got " + value);
            }
        }
    }
}
