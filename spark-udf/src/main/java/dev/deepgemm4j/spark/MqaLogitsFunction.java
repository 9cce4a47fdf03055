package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * {@code fp8_mqa_logits(q ARRAY<FLOAT>, kv ARRAY<FLOAT>, weights ARRAY<FLOAT>) → ARRAY<FLOAT>}: the DeepSeek-V3.2
 * indexer ({@link DeepGemm#fp8MqaLogits}) for one query token against a row's keys:
 * {@code logits[j] = Σ_h weights[h]·ReLU(s_j·(q_h·kv_j))}.
 *
 * <ul>
 *   <li>{@code weights}: one per head; H = len(weights) must be 32 or 64;</li>
 *   <li>{@code q}: [H, D] row-major with D = len(q) / H in {32, 64, 128}, cast to E4M3 without scaling (as the
 *       indexer takes q);</li>
 *   <li>{@code kv}: [S_kv, D] row-major, quantised per key (scale s_j = the key's absolute maximum / 448);</li>
 *   <li>result: S_kv logits, every key visible.</li>
 * </ul>
 * Null arguments give null; lengths that do not fit these shapes are errors naming the argument.
 */
public final class MqaLogitsFunction extends SqlFunction {

    /** The function. */
    public MqaLogitsFunction() {
        super("fp8_mqa_logits", "MQA indexer logits of one query against a row's keys", SqlType.FLOATS,
                param("q", SqlType.FLOATS), param("kv", SqlType.FLOATS), param("weights", SqlType.FLOATS));
    }

    /** The magic method Spark's generated code calls. */
    public ArrayData invoke(ArrayData q, ArrayData kv, ArrayData weights) {
        return (ArrayData) call(q, kv, weights);
    }

    @Override
    Object eval(Object[] args) {
        float[] q = (float[]) args[0];
        float[] kv = (float[]) args[1];
        float[] w = (float[]) args[2];
        int h = w.length;
        if (h != 32 && h != 64) {
            throw bad("weights", "has " + h + " values; it holds one weight per head and H must be 32 or 64");
        }
        int d = q.length / h;
        if (q.length % h != 0 || (d != 32 && d != 64 && d != 128)) {
            throw bad("q", "has " + q.length + " values; it must be H x D = " + h + " x D with D in {32, 64, 128}");
        }
        if (kv.length % d != 0) {
            throw bad("kv", "has " + kv.length + " values, not a multiple of D = " + d);
        }
        int sKv = kv.length / d;
        if (sKv == 0) {
            return new float[0];
        }
        DeepGemmRuntime runtime = DeepGemmRuntime.get();
        return runtime.onDevice(() -> logits(q, kv, w, h, d, sKv, runtime.location()));
    }

    private static float[] logits(float[] q, float[] kv, float[] w, int h, int d, int sKv, Location at) {
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor qd = place(owned, Tensor.fromFloats(DType.FP8_E4M3, q, 1, h, d), at);
            Fp8Tensor keys = DeepGemm.perTokenCastToFp8(place(owned, Tensor.ofFloats(kv, sKv, d), at), false);
            owned.add(keys.data());
            owned.add(keys.scales());
            Tensor wd = place(owned, Tensor.ofFloats(w, 1, h), at);
            Tensor ks = place(owned, Tensor.ofInts(new int[] {0}, 1), at);
            Tensor ke = place(owned, Tensor.ofInts(new int[] {sKv}, 1), at);
            Tensor logits = DeepGemm.fp8MqaLogits(qd, new Fp8Tensor(keys.data(), keys.scales().view(sKv)), wd, ks, ke,
                    false, 0);
            return place(owned, logits, Location.HOST).toFloatArray();
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    /** {@code t} at {@code at}, every tensor involved recorded in {@code owned} for closing. */
    private static Tensor place(List<Tensor> owned, Tensor t, Location at) {
        owned.add(t);
        Tensor moved = t.to(at);
        if (moved != t) {
            owned.add(moved);
        }
        return moved;
    }
}
