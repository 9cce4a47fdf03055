package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The weights of one Mixture-of-Experts feed-forward layer, FP8 with 128×128 block scales, as the grouped GEMMs take
 * them. Expert e maps a hidden state h (length D) to {@code W2[e] · (SiLU(W1[e]·h) ⊙ (W3[e]·h))}, where W1 and W3
 * (the gate and up projections, each [F, D]) are stacked in {@code w13[e]} (rows [0, F) gate, [F, 2F) up) and W2 is
 * [D, F].
 *
 * <p>In a {@link WeightFile} the tensors are named {@code w13}, {@code w13.scales}, {@code w2}, {@code w2.scales} and,
 * optionally, {@code router}.
 *
 * @param w13 FP8 [E, 2F, D] with FP32 scales [E, 2F/128, D/128]
 * @param w2 FP8 [E, D, F] with FP32 scales [E, D/128, F/128]
 * @param router FP32 [E, D] router weights (token logits = router·h), or null when routing comes with the tokens
 */
public record MoeModel(Fp8Tensor w13, Fp8Tensor w2, Tensor router) implements AutoCloseable {

    /** D and F must be multiples of this (whole scale blocks, aligned GPU tiles). */
    public static final int BLOCK = 128;

    public MoeModel {
        requireFp8("w13", w13, 3);
        requireFp8("w2", w2, 3);
        long e = w13.data().size(0);
        long twoF = w13.data().size(1);
        long d = w13.data().size(2);
        if (e < 1 || d % BLOCK != 0 || d == 0 || twoF % (2 * BLOCK) != 0 || twoF == 0) {
            throw new IllegalArgumentException("w13 must be [E >= 1, 2F, D] with D and F positive multiples of "
                    + BLOCK + ", got " + Arrays.toString(w13.data().shape()));
        }
        requireShape("w13.scales", w13.scales(), e, twoF / BLOCK, d / BLOCK);
        requireShape("w2", w2.data(), e, d, twoF / 2);
        requireShape("w2.scales", w2.scales(), e, d / BLOCK, twoF / 2 / BLOCK);
        if (router != null) {
            if (router.dtype() != DType.FP32) {
                throw new IllegalArgumentException("router must be FP32, got " + router.dtype());
            }
            requireShape("router", router, e, d);
        }
    }

    /** Number of experts E. */
    public int experts() {
        return (int) w13.data().size(0);
    }

    /** Hidden size D. */
    public int hidden() {
        return (int) w13.data().size(2);
    }

    /** Intermediate size F of each expert. */
    public int intermediate() {
        return (int) w2.data().size(2);
    }

    /** Where the weights live. */
    public Location location() {
        return w13.data().location();
    }

    /**
     * A random model: weights ~ N(0, 1/fan_in), quantised per 128×128 block, and a router ~ N(0, 1/D). Same seed,
     * same model.
     */
    public static MoeModel generate(long seed, int experts, int hidden, int intermediate) {
        SplittableRandom rng = new SplittableRandom(seed);
        Fp8Tensor w13 = quantizedExperts(rng, experts, 2 * intermediate, hidden);
        Fp8Tensor w2 = quantizedExperts(rng, experts, hidden, intermediate);
        float[] router = gaussian(rng, experts * hidden, 1.0 / Math.sqrt(hidden));
        return new MoeModel(w13, w2, Tensor.ofFloats(router, experts, hidden));
    }

    /** The model in a {@link WeightFile}'s tensors (takes ownership of them). */
    public static MoeModel fromTensors(Map<String, Tensor> tensors) {
        try {
            return new MoeModel(new Fp8Tensor(require(tensors, "w13"), require(tensors, "w13.scales")),
                    new Fp8Tensor(require(tensors, "w2"), require(tensors, "w2.scales")), tensors.get("router"));
        } catch (RuntimeException e) {
            tensors.values().forEach(Tensor::close);
            throw e;
        }
    }

    /** The tensors to store in a {@link WeightFile}. */
    public Map<String, Tensor> toTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("w13", w13.data());
        out.put("w13.scales", w13.scales());
        out.put("w2", w2.data());
        out.put("w2.scales", w2.scales());
        if (router != null) {
            out.put("router", router);
        }
        return out;
    }

    /**
     * The expert weights copied to {@code target} (the router stays on the host, where routing is computed); this
     * model itself when it already lives there.
     */
    public MoeModel to(Location target) {
        if (target.equals(location())) {
            return this;
        }
        return new MoeModel(new Fp8Tensor(w13.data().to(target), w13.scales().to(target)),
                new Fp8Tensor(w2.data().to(target), w2.scales().to(target)),
                router == null ? null : router.contiguousCopy());
    }

    @Override
    public void close() {
        w13.close();
        w2.close();
        if (router != null) {
            router.close();
        }
    }

    private static Fp8Tensor quantizedExperts(SplittableRandom rng, int experts, int rows, int cols) {
        Tensor data = Tensor.zeros(DType.FP8_E4M3, experts, rows, cols);
        Tensor scales = Tensor.zeros(DType.FP32, experts, ceilDiv(rows, BLOCK), ceilDiv(cols, BLOCK));
        for (int e = 0; e < experts; e++) {
            try (Tensor w = Tensor.ofFloats(gaussian(rng, rows * cols, 1.0 / Math.sqrt(cols)), rows, cols);
                    Fp8Tensor q = DeepGemm.perBlockCastToFp8(w, false)) {
                data.select(0, e).copyFrom(q.data());
                scales.select(0, e).copyFrom(q.scales());
            }
        }
        return new Fp8Tensor(data, scales);
    }

    static float[] gaussian(SplittableRandom rng, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (std * rng.nextGaussian());
        }
        return v;
    }

    private static Tensor require(Map<String, Tensor> tensors, String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("MoE weight file has no tensor '" + name + "' (has " + tensors.keySet()
                    + ")");
        }
        return t;
    }

    private static void requireFp8(String name, Fp8Tensor t, int dims) {
        if (t == null || t.data().dtype() != DType.FP8_E4M3 || t.data().dim() != dims
                || t.scales().dtype() != DType.FP32) {
            throw new IllegalArgumentException(name + " must be FP8_E4M3 data of " + dims
                    + " dims with FP32 scales, got " + (t == null ? "null" : t.data() + " / " + t.scales()));
        }
    }

    private static void requireShape(String name, Tensor t, long... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + " must have shape " + Arrays.toString(shape) + ", got "
                    + Arrays.toString(t.shape()));
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
