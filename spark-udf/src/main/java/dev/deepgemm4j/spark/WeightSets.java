package dev.deepgemm4j.spark;

import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Named weight sets for {@code fp8_gemm} (driver side). Register a name once; queries then refer to it by name, e.g.
 * {@code SELECT dg.fp8_gemm('proj', x) FROM t}. The file must hold a {@code weight} tensor (FP8 [N, K]) and its
 * {@code weight.scales} (FP32 128×128 block scales, [ceil(N/128), ceil(K/128)]); {@link #writeGemmWeights} writes
 * one from an FP32 matrix.
 *
 * <p>Only the (URI, checksum) pair is recorded; each executor loads the file at the first row that needs it, once per
 * JVM and device ({@link DeepGemmRuntime}). The registry's entries travel with the functions when a query runs, so
 * register before running the query that uses the name.
 */
public final class WeightSets {

    private static final Registry REGISTRY = new Registry();

    private WeightSets() {
    }

    /** Registers {@code name} for the file at {@code uri} with its current checksum (reads the file once). */
    public static WeightRef register(String name, String uri) {
        return register(name, WeightRef.of(uri));
    }

    /** Registers {@code name} for {@code ref} (replacing an earlier registration of the name). */
    public static WeightRef register(String name, WeightRef ref) {
        REGISTRY.names.put(name, ref);
        return ref;
    }

    /** Forgets {@code name}. */
    public static void unregister(String name) {
        REGISTRY.names.remove(name);
    }

    /**
     * Writes {@code w} (FP32 [N, K], row-major) as a weight set: quantised per 128×128 block.
     */
    public static void writeGemmWeights(Path path, float[] w, int n, int k) throws IOException {
        try (Tensor x = Tensor.ofFloats(w, n, k); Fp8Tensor q = DeepGemm.perBlockCastToFp8(x, false)) {
            WeightFile.write(path, Map.of(GemmWeights.DATA, q.data(), GemmWeights.SCALES, q.scales()));
        }
    }

    /** The live registry, which functions hold so that its entries are serialised with them into tasks. */
    static Registry registry() {
        return REGISTRY;
    }

    /** Name → weight file. Serialises as a snapshot of its entries. */
    static final class Registry implements Serializable {
        private final ConcurrentHashMap<String, WeightRef> names = new ConcurrentHashMap<>();

        WeightRef lookup(String function, String argument, String name) {
            WeightRef ref = name == null ? null : names.get(name);
            if (ref == null) {
                throw new DeepGemmArgumentException(argument, function + ": no weight set named '"
                        + name + "' is registered (WeightSets.register on the driver); known: "
                        + names.keySet());
            }
            return ref;
        }
    }
}
