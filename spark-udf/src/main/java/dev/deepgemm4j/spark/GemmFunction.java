package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * {@code fp8_gemm(weights STRING, x ARRAY<FLOAT>) → ARRAY<FLOAT>}: {@code y = W·x} for one row's activations x
 * (length K) against the weight set registered as {@code weights} ({@link WeightSets}; W is FP8 [N, K] with
 * 128×128 block scales, resident on the executor's device). x is quantised per token (1×128) and the product runs as
 * DeepGEMM's 1D2D {@link DeepGemm#fp8GemmNt}, so y's N values are BF16-exact. Null arguments give null; an
 * unregistered name, a null element, or a length other than K is an error naming the argument.
 */
public final class GemmFunction extends SqlFunction {

    /** The registry; its entries travel with the function into tasks. */
    private final WeightSets.Registry registry = WeightSets.registry();

    /** The function. */
    public GemmFunction() {
        super("fp8_gemm", "FP8 GEMM of a row's activations against a registered, executor-resident weight set",
                SqlType.FLOATS, param("weights", SqlType.STRING), param("x", SqlType.FLOATS));
    }

    /** The magic method Spark's generated code calls. */
    public ArrayData invoke(UTF8String weights, ArrayData x) {
        return (ArrayData) call(weights, x);
    }

    @Override
    Object eval(Object[] args) {
        String name = (String) args[0];
        float[] x = (float[]) args[1];
        WeightRef ref = registry.lookup(signature(), "weights", name);
        DeepGemmRuntime runtime = DeepGemmRuntime.get();
        GemmWeights w = runtime.gemmWeights(ref);
        if (x.length != w.k()) {
            throw bad("x", "has " + x.length + " values, but weight set '" + name + "' is [N = " + w.n() + ", K = "
                    + w.k() + "]: x needs K values");
        }
        return runtime.onDevice(() -> multiply(w, x, runtime.location()));
    }

    private static float[] multiply(GemmWeights w, float[] x, Location at) {
        try (Tensor hostX = Tensor.ofFloats(x, 1, x.length);
                Tensor deviceX = hostX.to(at);
                Fp8Tensor a = DeepGemm.perTokenCastToFp8(deviceX, false);
                Tensor d = Tensor.zeros(at, DType.BF16, 1, w.n())) {
            DeepGemm.fp8GemmNt(a, w.weight(), d);
            try (Tensor hostD = d.toHost()) {
                return hostD.toFloatArray();
            }
        }
    }
}
