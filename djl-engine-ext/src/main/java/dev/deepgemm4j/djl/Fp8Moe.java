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
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.DeepGemmArgumentException;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * A Mixture-of-Experts feed-forward layer on deepgemm4j's contiguous grouped FP8 GEMM. For each token x [H]:
 * <ol>
 *   <li>router: logits = x·Rᵀ (R [E, H], FP32 computed in float64), p = softmax(logits);</li>
 *   <li>the top-k experts by p (ties to the lower index); their probabilities are the combine weights (not
 *       renormalised);</li>
 *   <li>tokens are permuted into the contiguous layout: each expert's rows form one segment starting at a multiple of
 *       {@link DeepGemm#getMkAlignmentForContiguousLayout()}, padding rows marked −1;</li>
 *   <li>h = act(x·Upₑᵀ) with Up [E, I, H], then o = h·Downₑᵀ with Down [E, H, I], each one grouped GEMM over
 *       all experts (activations quantised per token, weights per 128×128 block of each expert);</li>
 *   <li>y = Σ p_j · o_j over the token's k experts, rows un-permuted.</li>
 * </ol>
 * The activation is {@link Activation#SILU} (default) or {@link Activation#GELU}; experts are not gated.
 *
 * <p>Parameters ({@code router}, {@code up}, {@code down}) are ordinary FLOAT32 DJL parameters that initialise, save
 * and load like any block's; up and down are quantised once when they are initialised or loaded (see
 * {@link Fp8Linear} for when they are quantised again). Routing, permutation, the activation and the combine run in
 * host memory; the grouped GEMMs run where {@link Fp8Ops} would compute for the input's manager (the GPU, when one
 * runs), with a host round trip between them. The output is a FLOAT32 array shaped like the input, in the input's
 * manager. Inference only. H and I must be multiples of 16.
 */
public final class Fp8Moe extends AbstractBlock {

    private static final byte VERSION = 1;
    /** Normal with variance 1/fan-in, the fan-in of an [E, out, in] expert stack being its last dimension. */
    private static final Initializer PER_EXPERT_FAN_IN = (manager, shape, dataType) -> manager.randomNormal(0,
            (float) Math.sqrt(1.0 / shape.get(shape.dimension() - 1)), shape, dataType);

    /** The element-wise function between the up and down projections. */
    public enum Activation {
        /** x·sigmoid(x). */
        SILU {
            @Override
            double apply(double x) {
                return x / (1 + Math.exp(-x));
            }
        },
        /** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
        GELU {
            @Override
            double apply(double x) {
                return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            }
        };

        abstract double apply(double x);
    }

    private final int numExperts;
    private final int topK;
    private final long intermediateSize;
    private final Activation activation;
    private final Parameter router;
    private final Parameter up;
    private final Parameter down;
    private final QuantizedWeight upFp8 = new QuantizedWeight();
    private final QuantizedWeight downFp8 = new QuantizedWeight();
    private NDArray routerSource;
    private float[] routerValues;

    private Fp8Moe(Builder b) {
        super(VERSION);
        numExperts = b.numExperts;
        topK = b.topK;
        intermediateSize = b.intermediateSize;
        activation = b.activation;
        router = addParameter(Parameter.builder().setName("router").setType(Parameter.Type.WEIGHT)
                .optRequiresGrad(false).build());
        // Xavier on a 3-D shape would take I·H as the fan-in; each expert is an [out, in] matrix of its own.
        up = addParameter(Parameter.builder().setName("up").setType(Parameter.Type.WEIGHT)
                .optInitializer(PER_EXPERT_FAN_IN).optRequiresGrad(false).build());
        down = addParameter(Parameter.builder().setName("down").setType(Parameter.Type.WEIGHT)
                .optInitializer(PER_EXPERT_FAN_IN).optRequiresGrad(false).build());
    }

    /** A builder; experts, top-k and the intermediate size are required. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        return new NDList(apply(inputs.singletonOrThrow()));
    }

    /** The layer on x FLOAT32 [..., H] of any engine; the result (same shape) is created in x's manager. */
    public NDArray apply(NDArray x) {
        NDArray upWeights = up.getArray();
        NDArray downWeights = down.getArray();
        int hidden = Math.toIntExact(upWeights.getShape().get(2));
        int inner = Math.toIntExact(intermediateSize);
        try (Staging s = new Staging(x.getManager())) {
            Tensor tx = s.input("x", x, DType.FP32);
            if (tx.dim() == 0 || tx.size(-1) != hidden) {
                throw new DeepGemmArgumentException("x", "last dimension must be the hidden size " + hidden
                        + ", got shape " + Arrays.toString(tx.shape()));
            }
            int tokens = Math.toIntExact(tx.numel() / hidden);
            float[] xs = Placement.hostFloats(tx);
            MoeRouting routing = MoeRouting.route(routerLogits(xs, tokens, hidden), tokens, numExperts, topK,
                    DeepGemm.getMkAlignmentForContiguousLayout());
            int rows = routing.rowCount();
            Location at = s.location();
            Tensor mIndices = s.keep(Placement.moveTo(Tensor.ofInts(routing.mIndices(), rows), at));

            Tensor upOut = groupedGemm(s, routing.permute(xs, hidden), rows, hidden, upFp8.at(upWeights, at),
                    inner, mIndices);
            float[] hiddenActs = routing.mapRows(Placement.hostFloats(upOut), inner, activation::apply);
            Tensor downOut = groupedGemm(s, hiddenActs, rows, inner, downFp8.at(downWeights, at), hidden, mIndices);
            float[] y = routing.combine(Placement.hostFloats(downOut), hidden);
            return s.output(s.keep(Tensor.ofFloats(y, tx.shape())));
        }
    }

    /** One projection of all experts: host rows [M_total, K] quantised per token at the staging's location. */
    private static Tensor groupedGemm(Staging s, float[] rows, int mTotal, int k, Fp8Tensor weights, long n,
            Tensor mIndices) {
        Tensor a = s.keep(Placement.moveTo(s.keep(Tensor.ofFloats(rows, mTotal, k)), s.location()));
        Fp8Tensor aq = s.keep(DeepGemm.perTokenCastToFp8(a, false));
        Tensor d = s.allocate(DType.BF16, mTotal, n);
        DeepGemm.mGroupedFp8GemmNtContiguous(aq, weights, d, mIndices);
        return d;
    }

    /** x·Rᵀ in float64: the router decides discrete choices, so it gets more precision than the experts. */
    private double[] routerLogits(float[] xs, int tokens, int hidden) {
        float[] r = routerHostValues();
        double[] logits = new double[tokens * numExperts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < numExperts; e++) {
                double acc = 0;
                for (int h = 0; h < hidden; h++) {
                    acc += (double) xs[t * hidden + h] * r[e * hidden + h];
                }
                logits[t * numExperts + e] = acc;
            }
        }
        return logits;
    }

    private synchronized float[] routerHostValues() {
        NDArray source = router.getArray();
        if (source != routerSource) {
            routerValues = source.toFloatArray();
            routerSource = source;
        }
        return routerValues;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void beforeInitialize(Shape... inputShapes) {
        if (inputShapes.length != 1) {
            throw new IllegalArgumentException("Fp8Moe takes one input, got " + inputShapes.length);
        }
        long hidden = inputShapes[0].get(inputShapes[0].dimension() - 1);
        if (hidden % 16 != 0) {
            throw new IllegalArgumentException("Fp8Moe: the hidden size must be a multiple of 16 (FP8 rows are moved "
                    + "in 16-byte units), got " + hidden);
        }
        super.beforeInitialize(inputShapes);
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        long hidden = inputShapes[0].get(inputShapes[0].dimension() - 1);
        router.setShape(new Shape(numExperts, hidden));
        up.setShape(new Shape(numExperts, intermediateSize, hidden));
        down.setShape(new Shape(numExperts, hidden, intermediateSize));
    }

    /** Initialises the parameters (if not yet) and quantises the experts. */
    @Override
    public void initialize(NDManager manager, DataType dataType, Shape... inputShapes) {
        super.initialize(manager, dataType, inputShapes);
        quantizeExperts(manager);
    }

    /** Loads the parameters and quantises the experts. */
    @Override
    public void loadParameters(NDManager manager, DataInputStream is) throws IOException, MalformedModelException {
        super.loadParameters(manager, is);
        Shape upShape = up.getArray().getShape();
        Shape downShape = down.getArray().getShape();
        Shape routerShape = router.getArray().getShape();
        long hidden = upShape.dimension() == 3 ? upShape.get(2) : -1;
        if (!upShape.equals(new Shape(numExperts, intermediateSize, hidden))
                || !downShape.equals(new Shape(numExperts, hidden, intermediateSize))
                || !routerShape.equals(new Shape(numExperts, hidden))) {
            throw new MalformedModelException("Fp8Moe with " + numExperts + " experts of intermediate size "
                    + intermediateSize + " cannot load router " + routerShape + ", up " + upShape + ", down "
                    + downShape);
        }
        quantizeExperts(manager);
    }

    private void quantizeExperts(NDManager manager) {
        Location at = DeepGemmNDManager.computeLocation(manager);
        upFp8.at(up.getArray(), at);
        downFp8.at(down.getArray(), at);
    }

    /** Frees the parameters and the experts' FP8 copies. */
    @Override
    public void clear() {
        upFp8.release();
        downFp8.release();
        synchronized (this) {
            routerSource = null;
            routerValues = null;
        }
        super.clear();
    }

    /** Builds {@link Fp8Moe} blocks. */
    public static final class Builder {

        private int numExperts;
        private int topK;
        private long intermediateSize;
        private Activation activation = Activation.SILU;

        private Builder() {
        }

        /** The number of experts E. */
        public Builder setNumExperts(int numExperts) {
            this.numExperts = numExperts;
            return this;
        }

        /** Experts per token, 1 ≤ k ≤ E. */
        public Builder setTopK(int topK) {
            this.topK = topK;
            return this;
        }

        /** I, each expert's inner width: a positive multiple of 16. */
        public Builder setIntermediateSize(long intermediateSize) {
            this.intermediateSize = intermediateSize;
            return this;
        }

        /** The activation between the projections (default {@link Activation#SILU}). */
        public Builder optActivation(Activation activation) {
            this.activation = activation;
            return this;
        }

        /** The block. */
        public Fp8Moe build() {
            if (numExperts <= 0) {
                throw new IllegalArgumentException("Fp8Moe: numExperts must be positive, got " + numExperts);
            }
            if (topK <= 0 || topK > numExperts) {
                throw new IllegalArgumentException("Fp8Moe: topK must be in [1, numExperts = " + numExperts
                        + "], got " + topK);
            }
            if (intermediateSize <= 0 || intermediateSize % 16 != 0) {
                throw new IllegalArgumentException("Fp8Moe: intermediateSize must be a positive multiple of 16, got "
                        + intermediateSize);
            }
            if (activation == null) {
                throw new IllegalArgumentException("Fp8Moe: activation must not be null");
            }
            return new Fp8Moe(this);
        }
    }
}
