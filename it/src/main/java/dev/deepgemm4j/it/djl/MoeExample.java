package dev.deepgemm4j.it.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.translate.Batchifier;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import dev.deepgemm4j.djl.DeepGemmEngine;
import dev.deepgemm4j.djl.Fp8Linear;
import dev.deepgemm4j.djl.Fp8Moe;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Random;

/**
 * A small FP8 Mixture-of-Experts model in DJL, the way a DJL user would write one: an {@link Fp8Moe} layer (8
 * experts, top-2) followed by an {@link Fp8Linear} head, in a {@link Model} of the deepgemm4j engine (on the GPU when
 * one runs, else on the CPU reference backend), run through a {@link Predictor} with a {@link Translator} from token
 * embeddings to per-token scores.
 *
 * <pre>
 * MoeExample [TOKENS]
 * </pre>
 */
public final class MoeExample {

    /** Width of a token embedding. */
    public static final int HIDDEN = 256;
    /** Scores per token. */
    public static final int CLASSES = 16;
    static final int EXPERTS = 8;
    static final int TOP_K = 2;
    static final int INNER = 512;
    private static final int SEED = 2026;

    private MoeExample() {
    }

    /** The model: MoE layer then linear head, weights drawn from a fixed seed. */
    public static Model buildModel(Device device) {
        Model model = Model.newInstance("fp8-moe", device, DeepGemmEngine.ENGINE_NAME);
        SequentialBlock net = new SequentialBlock()
                .add(Fp8Moe.builder().setNumExperts(EXPERTS).setTopK(TOP_K).setIntermediateSize(INNER).build())
                .add(Fp8Linear.builder().setUnits(CLASSES).build());
        model.setBlock(net);
        Engine.getEngine(DeepGemmEngine.ENGINE_NAME).setRandomSeed(SEED);
        // Weights are initialised, then quantised to FP8 once, here.
        net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, HIDDEN));
        return model;
    }

    /** Token embeddings [T][HIDDEN] in, scores [T][CLASSES] out. */
    public static final class TokenScorer implements Translator<float[][], float[][]> {

        /** The input already is a batch of tokens: no stacking (which this engine would hand to another one). */
        @Override
        public Batchifier getBatchifier() {
            return null;
        }

        @Override
        public NDList processInput(TranslatorContext ctx, float[][] tokens) {
            return new NDList(ctx.getNDManager().create(tokens));
        }

        @Override
        public float[][] processOutput(TranslatorContext ctx, NDList list) {
            NDArray scores = list.singletonOrThrow();
            int width = Math.toIntExact(scores.getShape().get(1));
            float[] flat = scores.toFloatArray();
            float[][] rows = new float[flat.length / width][width];
            for (int t = 0; t < rows.length; t++) {
                System.arraycopy(flat, t * width, rows[t], 0, width);
            }
            return rows;
        }
    }

    /** Scores for {@code tokens} from a predictor of {@code model}. */
    public static float[][] score(Model model, float[][] tokens) throws TranslateException {
        try (Predictor<float[][], float[][]> predictor = model.newPredictor(new TokenScorer())) {
            return predictor.predict(tokens);
        }
    }

    /** Random embeddings, as an upstream embedding layer would produce them. */
    public static float[][] randomTokens(int count, long seed) {
        Random rng = new Random(seed);
        float[][] tokens = new float[count][HIDDEN];
        for (float[] token : tokens) {
            for (int i = 0; i < HIDDEN; i++) {
                token[i] = (float) rng.nextGaussian();
            }
        }
        return tokens;
    }

    /** Builds the model, scores {@code count} tokens and prints one line per token. */
    public static void run(int count, PrintStream out) throws TranslateException {
        DeepGemmEngine engine = DeepGemmEngine.getInstance();
        try (Model model = buildModel(engine.defaultDevice())) {
            out.printf(Locale.ROOT, "engine %s %s on %s; %d experts, top-%d, hidden %d, inner %d%n",
                    engine.getEngineName(), engine.getVersion(), model.getNDManager().getDevice(), EXPERTS, TOP_K,
                    HIDDEN, INNER);
            float[][] scores = score(model, randomTokens(count, SEED));
            for (int t = 0; t < scores.length; t++) {
                int best = 0;
                for (int c = 1; c < CLASSES; c++) {
                    best = scores[t][c] > scores[t][best] ? c : best;
                }
                out.printf(Locale.ROOT, "token %d: class %d (score %.4f), scores[0..3] = %.4f %.4f %.4f %.4f%n", t,
                        best, scores[t][best], scores[t][0], scores[t][1], scores[t][2], scores[t][3]);
            }
            out.printf(Locale.ROOT, "operators that fell back to another engine: %d%n", engine.fallbackCount());
        }
    }

    public static void main(String[] args) throws TranslateException {
        run(args.length > 0 ? Integer.parseInt(args[0]) : 8, System.out);
    }
}
