package dev.deepgemm4j.djl;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * A linear layer {@code y = x·Wᵀ} (no bias) computed with deepgemm4j's FP8 GEMM: the FLOAT32 weight W [units,
 * in_features] is quantised per 128×128 block once, when the parameter is initialised or loaded; activations x
 * [..., in_features] are quantised per token (1×128) at each forward; the GEMM writes BF16, returned widened to a
 * FLOAT32 y [..., units] in the input's manager.
 *
 * <p>The weight is an ordinary FLOAT32 DJL parameter named {@code weight}: it initialises, saves and loads like
 * {@code Linear}'s. The FP8 copy follows the parameter's array (the new array a load brings is quantised
 * again); changing the array's contents in place is not noticed. The block computes where
 * {@link Fp8Ops} would for the input's manager. It is inference-only: no gradients.
 *
 * <p>in_features must be a multiple of 16 and units a multiple of 8 (FP8 rows and BF16 output rows are moved in
 * 16-byte units).
 */
public final class Fp8Linear extends AbstractBlock {

    private static final byte VERSION = 1;

    private final long units;
    private final Parameter weight;
    private final QuantizedWeight quantized = new QuantizedWeight();

    private Fp8Linear(Builder builder) {
        super(VERSION);
        units = builder.units;
        weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT)
                .optRequiresGrad(false).build());
    }

    /** A builder; {@link Builder#setUnits} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /** Output features. */
    public long getUnits() {
        return units;
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        return new NDList(apply(inputs.singletonOrThrow()));
    }

    /** y = x·Wᵀ for x FLOAT32 [..., in_features] of any engine; y is created in x's manager. */
    public NDArray apply(NDArray x) {
        NDArray w = weight.getArray();
        long inFeatures = w.getShape().get(1);
        try (Staging s = new Staging(x.getManager())) {
            Tensor tx = s.input("x", x, DType.FP32);
            if (tx.dim() == 0 || tx.size(-1) != inFeatures) {
                throw new DeepGemmArgumentException("x", "last dimension must be in_features = " + inFeatures
                        + ", got shape " + Arrays.toString(tx.shape()));
            }
            long rows = tx.numel() / inFeatures;
            Tensor x2 = (tx.isContiguous() ? tx : s.keep(Placement.copyAt(tx, s.location()))).view(rows, inFeatures);
            Fp8Tensor a = s.keep(DeepGemm.perTokenCastToFp8(x2, false));
            Tensor d = s.allocate(DType.BF16, rows, units);
            DeepGemm.fp8GemmNt(a, quantized.at(w, s.location()), d);
            long[] outShape = tx.shape();
            outShape[outShape.length - 1] = units;
            return s.output(d, outShape);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(units)};
    }

    @Override
    protected void beforeInitialize(Shape... inputShapes) {
        if (inputShapes.length != 1) {
            throw new IllegalArgumentException("Fp8Linear takes one input, got " + inputShapes.length);
        }
        long in = inputShapes[0].get(inputShapes[0].dimension() - 1);
        if (in % 16 != 0) {
            throw new IllegalArgumentException("Fp8Linear: in_features must be a multiple of 16 (FP8 rows are "
                    + "moved in 16-byte units), got " + in);
        }
        super.beforeInitialize(inputShapes);
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        weight.setShape(new Shape(units, in.get(in.dimension() - 1)));
    }

    /** Initialises the weight (if not yet) and quantises it. */
    @Override
    public void initialize(NDManager manager, DataType dataType, Shape... inputShapes) {
        super.initialize(manager, dataType, inputShapes);
        quantized.at(weight.getArray(), DeepGemmNDManager.computeLocation(manager));
    }

    /** Loads the weight and quantises it. */
    @Override
    public void loadParameters(NDManager manager, DataInputStream is) throws IOException, MalformedModelException {
        super.loadParameters(manager, is);
        Shape shape = weight.getArray().getShape();
        if (shape.dimension() != 2 || shape.get(0) != units) {
            throw new MalformedModelException("Fp8Linear with " + units + " units cannot load a weight of shape "
                    + shape);
        }
        quantized.at(weight.getArray(), DeepGemmNDManager.computeLocation(manager));
    }

    /** Frees the weight and its FP8 copy. */
    @Override
    public void clear() {
        quantized.release();
        super.clear();
    }

    /** Builds {@link Fp8Linear}s. */
    public static final class Builder {

        private long units;

        private Builder() {
        }

        /** Output features: a positive multiple of 8. */
        public Builder setUnits(long units) {
            this.units = units;
            return this;
        }

        /** The block. */
        public Fp8Linear build() {
            if (units <= 0 || units % 8 != 0) {
                throw new IllegalArgumentException("Fp8Linear: units must be a positive multiple of 8 (BF16 output "
                        + "rows are moved in 16-byte units), got " + units);
            }
            return new Fp8Linear(this);
        }
    }
}
