package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The DeepSeek-V3.2 indexer: fp8_mqa_logits (prefill), get_paged_mqa_logits_metadata and fp8_paged_mqa_logits
 * (decode over a paged KV cache, one query token per sequence).
 */
final class MqaLogitsCases {

    /** KV positions per block of the paged cache (DeepGEMM's SM90 value). */
    private static final int BLOCK_KV = 64;
    /** KV positions per unit of scheduled work. */
    private static final int SPLIT_KV = 256;

    private MqaLogitsCases() {
    }

    static List<BenchCase> all(Sizes s) {
        int heads = s.mqaHeads();
        int dim = s.mqaDim();
        List<BenchCase> cases = new ArrayList<>();

        SplittableRandom windows = new SplittableRandom(29);
        int[] ke = windows.ints(s.mqaSeq(), 1, s.mqaSeqKv() + 1).toArray();
        int[] ks = new int[ke.length];
        long pairs = 0;
        for (int i = 0; i < ke.length; i++) {
            ks[i] = windows.nextInt(ke[i]);
            pairs += ke[i] - ks[i];
        }
        cases.add(BenchCase.flops("fp8_mqa_logits", "", "S=" + s.mqaSeq() + " S_kv=" + s.mqaSeqKv() + " H=" + heads
                + " D=" + dim, 2.0 * pairs * heads * dim, BenchCase.FP32_OUTPUT,
                () -> new PlainTrial(ks, ke, s.mqaSeqKv(), heads, dim)));

        int[] lens = new SplittableRandom(31).ints(s.pagedBatch(), 1, s.pagedMaxContext() + 1).toArray();
        long visible = java.util.Arrays.stream(lens).sum();
        int numSms = DeepGemm.getNumSms();
        String pagedShape = "B=" + lens.length + " next_n=1 ctx<=" + s.pagedMaxContext();
        cases.add(BenchCase.bytes("get_paged_mqa_logits_metadata", "", pagedShape + " SMs=" + numSms,
                4.0 * lens.length + 8.0 * (numSms + 1), BenchCase.EXACT, () -> new MetadataTrial(lens, numSms)));
        cases.add(BenchCase.flops("fp8_paged_mqa_logits", "", pagedShape + " H=" + heads + " D=" + dim,
                2.0 * visible * heads * dim, BenchCase.FP32_OUTPUT,
                () -> new PagedTrial(lens, s.pagedMaxContext(), heads, dim, numSms)));
        return cases;
    }

    /** {@code Σ_h w[h] · ReLU(scale · q[h, :] · kv)}, the indexer's score of one (query, KV row) pair. */
    private static double score(double[] q, int qBase, double[] weights, int wBase, int heads, int dim, double[] kv,
            int kvBase, double kvScale) {
        double sum = 0;
        for (int h = 0; h < heads; h++) {
            double dot = 0;
            for (int d = 0; d < dim; d++) {
                dot += q[qBase + h * dim + d] * kv[kvBase + d];
            }
            sum += weights[wBase + h] * Math.max(0, kvScale * dot);
        }
        return sum;
    }

    /** Prefill: query i sees KV rows [ks[i], ke[i]); the rest of its logits row must be −inf (clean_logits). */
    private static final class PlainTrial extends Trial {
        private final Tensor q;
        private final Fp8Tensor kv;
        private final Tensor weights;
        private final Tensor ksTensor;
        private final Tensor keTensor;
        private final int[] ks;
        private final int[] ke;
        private final double[] reference;
        private Tensor logits;

        PlainTrial(int[] ks, int[] ke, int seqKv, int heads, int dim) {
            this.ks = ks;
            this.ke = ke;
            SplittableRandom rng = new SplittableRandom(37);
            int seq = ks.length;
            q = own(Reference.fp8(rng, seq, heads, dim));
            kv = own(new Fp8Tensor(Reference.fp8(rng, seqKv, dim), Reference.scales(rng, seqKv)));
            weights = own(Reference.uniform(rng, DType.FP32, seq, heads));
            ksTensor = own(Tensor.ofInts(ks, seq));
            keTensor = own(Tensor.ofInts(ke, seq));
            double[] qv = Reference.values(q);
            double[] kvv = Reference.values(kv.data());
            double[] sv = Reference.values(kv.scales());
            double[] wv = Reference.values(weights);
            List<Double> ref = new ArrayList<>();
            for (int i = 0; i < seq; i++) {
                for (int j = ks[i]; j < ke[i]; j++) {
                    ref.add(score(qv, i * heads * dim, wv, i * heads, heads, dim, kvv, j * dim, sv[j]));
                }
            }
            reference = ref.stream().mapToDouble(Double::doubleValue).toArray();
        }

        @Override
        void run() {
            logits = own(DeepGemm.fp8MqaLogits(q, kv, weights, ksTensor, keTensor, true, 0));
        }

        @Override
        Check check() {
            int seqKv = Math.toIntExact(kv.data().size(0));
            if (logits.dim() != 2 || logits.size(0) != ks.length || logits.size(1) != seqKv) {
                return new Check(Double.NaN, "logits shape " + java.util.Arrays.toString(logits.shape())
                        + ", expected [" + ks.length + ", " + seqKv + "]");
            }
            double[] got = Reference.values(logits);
            double[] inside = new double[reference.length];
            long notMasked = 0;
            int at = 0;
            for (int i = 0; i < ks.length; i++) {
                for (int j = 0; j < seqKv; j++) {
                    double v = got[i * seqKv + j];
                    if (j >= ks[i] && j < ke[i]) {
                        inside[at++] = v;
                    } else if (v != Double.NEGATIVE_INFINITY) {
                        notMasked++;
                    }
                }
            }
            return new Check(Reference.calcDiff(inside, reference),
                    notMasked > 0 ? notMasked + " logits outside [ks, ke) are not -inf" : null);
        }
    }

    /**
     * The documented schedule for one query token per sequence: sequence b brings ceil(len_b / 256) work units, SM s
     * of numSms starts at unit {@code s·⌊T/numSms⌋ + max(0, s − (numSms − T mod numSms))}, and row s holds the
     * (sequence, split) of that unit; row numSms is the end (B, 0).
     */
    static int[] referenceMetadata(int[] lens, int numSms) {
        int[] prefix = new int[lens.length + 1];
        for (int b = 0; b < lens.length; b++) {
            prefix[b + 1] = prefix[b] + Reference.ceilDiv(lens[b], SPLIT_KV);
        }
        int total = prefix[lens.length];
        int[] meta = new int[2 * (numSms + 1)];
        int b = 0;
        for (int sm = 0; sm <= numSms; sm++) {
            int unit = sm * (total / numSms) + Math.max(0, sm - (numSms - total % numSms));
            while (b < lens.length && prefix[b + 1] <= unit) {
                b++;
            }
            meta[2 * sm] = b;
            meta[2 * sm + 1] = b < lens.length ? unit - prefix[b] : 0;
        }
        return meta;
    }

    private static final class MetadataTrial extends Trial {
        private final Tensor contextLens;
        private final int numSms;
        private final double[] reference;
        private Tensor meta;

        MetadataTrial(int[] lens, int numSms) {
            this.numSms = numSms;
            contextLens = own(Tensor.ofInts(lens, lens.length, 1));
            reference = java.util.Arrays.stream(referenceMetadata(lens, numSms)).asDoubleStream().toArray();
        }

        @Override
        void run() {
            meta = own(DeepGemm.getPagedMqaLogitsMetadata(contextLens, BLOCK_KV, numSms));
        }

        @Override
        Check check() {
            if (meta.dim() != 2 || meta.size(0) != numSms + 1 || meta.size(1) != 2) {
                return new Check(Double.NaN, "schedule_meta shape " + java.util.Arrays.toString(meta.shape())
                        + ", expected [" + (numSms + 1) + ", 2]");
            }
            double[] got = java.util.Arrays.stream(meta.toIntArray()).asDoubleStream().toArray();
            return Check.of(Reference.calcDiff(got, reference));
        }
    }

    /**
     * Decode: sequence b sees positions p &lt; len[b], fetched through a shuffled block table from a fused cache whose
     * blocks hold 64·D FP8 bytes followed by 64 FP32 scales.
     */
    private static final class PagedTrial extends Trial {
        private final Tensor q;
        private final Tensor kvCache;
        private final Tensor weights;
        private final Tensor contextLens;
        private final Tensor blockTable;
        private final Tensor scheduleMeta;
        private final int[] lens;
        private final int maxContext;
        private final double[] reference;
        private Tensor logits;

        PagedTrial(int[] lens, int maxContext, int heads, int dim, int numSms) {
            this.lens = lens;
            this.maxContext = maxContext;
            SplittableRandom rng = new SplittableRandom(41);
            int batch = lens.length;
            int maxBlocks = Reference.ceilDiv(maxContext, BLOCK_KV);
            int numBlocks = 0;
            for (int len : lens) {
                numBlocks += Reference.ceilDiv(len, BLOCK_KV);
            }
            int[] physical = shuffledRange(rng, numBlocks);
            int[] table = new int[batch * maxBlocks];
            int next = 0;
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < Reference.ceilDiv(lens[b], BLOCK_KV); i++) {
                    table[b * maxBlocks + i] = physical[next++];
                }
            }
            int rowBytes = dim + 4;
            kvCache = own(Tensor.zeros(DType.UINT8, numBlocks, BLOCK_KV, 1, rowBytes));
            MemorySegment cache = kvCache.hostSegment();
            for (long i = 0; i < (long) numBlocks * BLOCK_KV * dim; i++) {
                long block = i / ((long) BLOCK_KV * dim);
                cache.set(ValueLayout.JAVA_BYTE, block * BLOCK_KV * rowBytes + i % ((long) BLOCK_KV * dim),
                        Reference.randomFp8Code(rng));
            }
            for (long slot = 0; slot < (long) numBlocks * BLOCK_KV; slot++) {
                long block = slot / BLOCK_KV;
                cache.set(ValueLayout.JAVA_FLOAT_UNALIGNED, block * BLOCK_KV * rowBytes + (long) BLOCK_KV * dim
                        + 4 * (slot % BLOCK_KV), (float) Math.scalb(1 + rng.nextDouble(), -10 + rng.nextInt(6)));
            }
            q = own(Reference.fp8(rng, batch, 1, heads, dim));
            weights = own(Reference.uniform(rng, DType.FP32, batch, heads));
            contextLens = own(Tensor.ofInts(lens, batch, 1));
            blockTable = own(Tensor.ofInts(table, batch, maxBlocks));
            scheduleMeta = own(Tensor.ofInts(referenceMetadata(lens, numSms), numSms + 1, 2));

            double[] qv = Reference.values(q);
            double[] wv = Reference.values(weights);
            double[] row = new double[dim];
            List<Double> ref = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                for (int p = 0; p < lens[b]; p++) {
                    long base = (long) table[b * maxBlocks + p / BLOCK_KV] * BLOCK_KV * rowBytes;
                    int slot = p % BLOCK_KV;
                    for (int d = 0; d < dim; d++) {
                        row[d] = Fp8E4M3.toFloat(cache.get(ValueLayout.JAVA_BYTE, base + (long) slot * dim + d));
                    }
                    float scale = cache.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + (long) BLOCK_KV * dim + 4L * slot);
                    ref.add(score(qv, b * heads * dim, wv, b * heads, heads, dim, row, 0, scale));
                }
            }
            reference = ref.stream().mapToDouble(Double::doubleValue).toArray();
        }

        private static int[] shuffledRange(SplittableRandom rng, int n) {
            int[] v = java.util.stream.IntStream.range(0, n).toArray();
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
            return v;
        }

        @Override
        void run() {
            logits = own(DeepGemm.fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, scheduleMeta,
                    maxContext, false));
        }

        @Override
        Check check() {
            if (logits.dim() != 2 || logits.size(0) != lens.length || logits.size(1) != maxContext) {
                return new Check(Double.NaN, "logits shape " + java.util.Arrays.toString(logits.shape())
                        + ", expected [" + lens.length + ", " + maxContext + "]");
            }
            double[] got = Reference.values(logits);
            double[] visible = new double[reference.length];
            int at = 0;
            for (int b = 0; b < lens.length; b++) {
                System.arraycopy(got, b * maxContext, visible, at, lens[b]);
                at += lens[b];
            }
            return Check.of(Reference.calcDiff(visible, reference));
        }
    }
}
