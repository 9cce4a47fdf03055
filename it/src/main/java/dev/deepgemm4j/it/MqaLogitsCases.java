package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The DeepSeek-V3.2 indexer: fp8_mqa_logits (prefill), get_paged_mqa_logits_metadata and fp8_paged_mqa_logits
 * (decode over a paged KV cache, next_n query tokens per sequence). TFLOPS count {@code 2 · visible pairs · H · D}, as
 * DeepGEMM reports them.
 */
final class MqaLogitsCases {

    /** KV positions per block of the paged cache (DeepGEMM's SM90 value). */
    private static final int BLOCK_KV = 64;
    /** KV positions per unit of scheduled work. */
    private static final int SPLIT_KV = 256;

    private MqaLogitsCases() {
    }

    /**
     * Prefill: {@code seq} queries over {@code seqKv} keys, query i seeing a causal window that ends at its row; with
     * {@code contextParallel}, DeepGEMM's context-parallel ranges instead (two query halves, each a causal window
     * placed in a different part of the keys). {@code logitsDtype} is the operator's logits_dtype (FP32 or BF16).
     */
    record Plain(int seq, int seqKv, int heads, int dim, boolean contextParallel, DType logitsDtype) {

        Plain(int seq, int seqKv, int heads, int dim) {
            this(seq, seqKv, heads, dim, false);
        }

        Plain(int seq, int seqKv, int heads, int dim, boolean contextParallel) {
            this(seq, seqKv, heads, dim, contextParallel, DType.FP32);
        }
    }

    /**
     * Decode: {@code batch} sequences of about {@code avgContext} cached keys each, {@code nextN} query tokens apiece
     * (speculative decoding), token t of sequence b seeing the first {@code len_b − (nextN − 1 − t)} positions.
     */
    record Paged(int batch, int avgContext, int heads, int dim, int nextN) {

        Paged(int batch, int avgContext, int heads, int dim) {
            this(batch, avgContext, heads, dim, 1);
        }
    }

    static List<BenchCase> cases(List<Plain> plain, List<Paged> paged) {
        List<BenchCase> cases = new ArrayList<>();
        for (Plain p : plain) {
            int[][] window = windows(p);
            long pairs = IntStream.range(0, p.seq()).mapToLong(i -> window[1][i] - window[0][i]).sum();
            boolean bf16 = p.logitsDtype() == DType.BF16;
            double bytes = (double) p.seq() * p.heads() * (p.dim() + 4) + (double) p.seqKv() * (p.dim() + 4)
                    + (double) p.logitsDtype().byteSize() * p.seq() * p.seqKv();
            cases.add(new BenchCase("fp8_mqa_logits", "", "S=" + p.seq() + " S_kv=" + p.seqKv() + " H=" + p.heads()
                    + " D=" + p.dim() + (p.contextParallel() ? " CP" : "") + (bf16 ? " BF16" : ""),
                    2.0 * pairs * p.heads() * p.dim(), bytes, bf16 ? BenchCase.BF16_OUTPUT : BenchCase.FP32_OUTPUT,
                    location -> new PlainTrial(location, p, window[0], window[1])));
        }
        int numSms = DeepGemm.getNumSms();
        // The schedule depends on each sequence's longest token only: one metadata row per batch and context.
        for (Paged p : paged.stream().map(p -> new Paged(p.batch(), p.avgContext(), p.heads(), p.dim())).distinct()
                .toList()) {
            cases.add(new BenchCase("get_paged_mqa_logits_metadata", "", "B=" + p.batch() + " SMs=" + numSms, 0,
                    4.0 * p.batch() + 8.0 * (numSms + 1), BenchCase.EXACT,
                    location -> new MetadataTrial(location, contextLens(p), numSms)));
        }
        for (Paged p : paged) {
            int[] lens = contextLens(p);
            int[] tokenLens = tokenLens(lens, p.nextN());
            long visible = Arrays.stream(tokenLens).asLongStream().sum();
            int maxContext = maxContext(lens);
            // The KV rows of a sequence are read once for all its tokens.
            double bytes = Arrays.stream(lens).asLongStream().sum() * (p.dim() + 4.0)
                    + (double) p.batch() * p.nextN() * p.heads() * (p.dim() + 4)
                    + 4.0 * p.batch() * p.nextN() * maxContext;
            cases.add(new BenchCase("fp8_paged_mqa_logits", "", "B=" + p.batch() + " next_n=" + p.nextN() + " ctx≈"
                    + p.avgContext() + " H=" + p.heads() + " D=" + p.dim(), 2.0 * visible * p.heads() * p.dim(),
                    bytes, BenchCase.FP32_OUTPUT, location -> new PagedTrial(location, p, lens, numSms)));
        }
        return cases;
    }

    /**
     * {ks, ke}: query i sees keys [0, S_kv − S + i + 1), the causal window of DeepGEMM's test without context
     * parallelism (which the anchors were measured on; ranges that start past 0 are the tests' business).
     */
    private static int[][] windows(Plain p) {
        if (p.contextParallel()) {
            return contextParallelWindows(p);
        }
        int[] ks = new int[p.seq()];
        int[] ke = new int[p.seq()];
        for (int i = 0; i < p.seq(); i++) {
            ke[i] = p.seqKv() - p.seq() + i + 1;
        }
        return new int[][] {ks, ke};
    }

    /**
     * DeepGEMM's context-parallel test ranges: ks = 0; with chunk = S/2, cp = S_kv/S and id = cp/3, the first half's
     * query i ends at id·chunk + i and the second half's at (2·cp − 1 − id)·chunk + (i − chunk), each at least 1.
     */
    private static int[][] contextParallelWindows(Plain p) {
        int chunk = p.seq() / 2;
        int cp = p.seqKv() / p.seq();
        int id = cp / 3;
        int[] ks = new int[p.seq()];
        int[] ke = new int[p.seq()];
        for (int i = 0; i < p.seq(); i++) {
            long end = i < chunk ? (long) id * chunk + i : (long) (2 * cp - 1 - id) * chunk + (i - chunk);
            ke[i] = (int) Math.clamp(end, 1, p.seqKv());
        }
        return new int[][] {ks, ke};
    }

    private static int[] contextLens(Paged p) {
        return RandomTensors.around(31L + p.batch(), p.batch(), p.avgContext(), 1, 1, Integer.MAX_VALUE);
    }

    /** Row b·nextN + t: the positions token t of sequence b sees, its sequence's length less the tokens after it. */
    private static int[] tokenLens(int[] lens, int nextN) {
        int[] out = new int[lens.length * nextN];
        for (int b = 0; b < lens.length; b++) {
            for (int t = 0; t < nextN; t++) {
                out[b * nextN + t] = Math.max(1, lens[b] - (nextN - 1 - t));
            }
        }
        return out;
    }

    private static int maxContext(int[] lens) {
        return Reference.align(Arrays.stream(lens).max().orElse(1), BLOCK_KV);
    }

    /** {@code Σ_h w[h] · ReLU(scale · q[h, :] · kv)}, the indexer's score of one (query, KV row) pair. */
    private static double score(double[] q, double[] weights, int heads, int dim, double[] kv, double kvScale) {
        double sum = 0;
        for (int h = 0; h < heads; h++) {
            double dot = 0;
            for (int d = 0; d < dim; d++) {
                dot += q[h * dim + d] * kv[d];
            }
            sum += weights[h] * Math.max(0, kvScale * dot);
        }
        return sum;
    }

    /** Row {@code r} of a contiguous host tensor viewed as [rows, width], widened. */
    private static double[] hostRow(Tensor t, long r, int width) {
        MemorySegment seg = t.hostSegment();
        double[] out = new double[width];
        for (int i = 0; i < width; i++) {
            out[i] = Tensor.readFloat(seg, t.dtype(), r * width + i);
        }
        return out;
    }

    /** Prefill: query i sees KV rows [ks[i], ke[i]); the rest of its logits row must be −inf (clean_logits). */
    private static final class PlainTrial extends Trial {
        private final Plain p;
        private final Tensor hostQ;
        private final Fp8Tensor hostKv;
        private final Tensor hostWeights;
        private final Tensor q;
        private final Fp8Tensor kv;
        private final Tensor weights;
        private final Tensor ksTensor;
        private final Tensor keTensor;
        private final int[] ks;
        private final int[] ke;
        private final Sample sample;
        private Tensor logits;

        PlainTrial(Location location, Plain p, int[] ks, int[] ke) {
            super(location);
            this.p = p;
            this.ks = ks;
            this.ke = ke;
            long seed = 37L + p.seq() + p.seqKv();
            hostQ = own(RandomTensors.fp8(seed, p.seq(), p.heads(), p.dim()));
            hostKv = own(new Fp8Tensor(RandomTensors.fp8(seed + 1, p.seqKv(), p.dim()),
                    RandomTensors.scales(seed + 2, p.seqKv())));
            hostWeights = own(RandomTensors.uniform(seed + 3, p.seq(), p.heads()));
            q = onTarget(hostQ);
            kv = onTarget(hostKv);
            weights = onTarget(hostWeights);
            ksTensor = onTarget(own(Tensor.ofInts(ks, p.seq())));
            keTensor = onTarget(own(Tensor.ofInts(ke, p.seq())));
            sample = Sample.of(seed, p.seq(), p.seqKv(), (long) p.heads() * p.dim());
        }

        @Override
        void run() {
            logits = returned(DeepGemm.fp8MqaLogits(q, kv, weights, ksTensor, keTensor, true, 0, p.logitsDtype()));
        }

        @Override
        Check check() {
            if (logits.dim() != 2 || logits.size(0) != p.seq() || logits.size(1) != p.seqKv()
                    || logits.dtype() != p.logitsDtype()) {
                return Check.failed("logits " + logits.dtype() + " " + Arrays.toString(logits.shape()) + ", expected "
                        + p.logitsDtype() + " [" + p.seq() + ", " + p.seqKv() + "]");
            }
            SplittableRandom rng = new SplittableRandom(p.seq());
            double[][] got = Reference.rows(logits, sample.rows());
            List<Double> output = new ArrayList<>();
            List<Double> reference = new ArrayList<>();
            long notMasked = 0;
            for (int r = 0; r < sample.rows().length; r++) {
                int i = sample.rows()[r];
                double[] row = got[r];
                for (int j = 0; j < row.length; j++) {
                    if ((j < ks[i] || j >= ke[i]) && row[j] != Double.NEGATIVE_INFINITY) {
                        notMasked++;
                    }
                }
                int width = ke[i] - ks[i];
                int[] cols = sample.full() ? IntStream.range(0, width).toArray() : Sample.pick(rng, width,
                        Sample.PICKS);
                double[] qi = hostRow(hostQ, i, p.heads() * p.dim());
                double[] wi = hostRow(hostWeights, i, p.heads());
                for (int c : cols) {
                    int j = ks[i] + c;
                    output.add(row[j]);
                    reference.add(score(qi, wi, p.heads(), p.dim(), hostRow(hostKv.data(), j, p.dim()),
                            hostKv.scales().getFloat(j)));
                }
            }
            double[] out = output.stream().mapToDouble(Double::doubleValue).toArray();
            return Check.of(Reference.calcDiff(out, reference.stream().mapToDouble(Double::doubleValue).toArray()),
                    out.length, !sample.full()).withProblem(notMasked > 0 ? notMasked
                            + " logits outside [ks, ke) are not -inf" : null);
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

        MetadataTrial(Location location, int[] lens, int numSms) {
            super(location);
            this.numSms = numSms;
            contextLens = onTarget(own(Tensor.ofInts(lens, lens.length, 1)));
            reference = Arrays.stream(referenceMetadata(lens, numSms)).asDoubleStream().toArray();
        }

        @Override
        void run() {
            meta = returned(DeepGemm.getPagedMqaLogitsMetadata(contextLens, BLOCK_KV, numSms));
        }

        @Override
        Check check() {
            if (meta.dim() != 2 || meta.size(0) != numSms + 1 || meta.size(1) != 2) {
                return Check.failed("schedule_meta shape " + Arrays.toString(meta.shape()) + ", expected ["
                        + (numSms + 1) + ", 2]");
            }
            double[] got = Reference.onHost(meta, h -> Arrays.stream(h.toIntArray()).asDoubleStream().toArray());
            long wrong = IntStream.range(0, got.length).filter(i -> got[i] != reference[i]).count();
            return Check.full(got, reference).withProblem(wrong > 0 ? wrong + " schedule entries differ" : null);
        }
    }

    /**
     * Decode: token t of sequence b sees positions p &lt; tokenLens[b·next_n + t], fetched through a shuffled block
     * table from a fused cache whose blocks hold 64·D FP8 bytes followed by 64 FP32 scales.
     */
    private static final class PagedTrial extends Trial {
        private final Paged p;
        private final Tensor hostQ;
        private final Tensor hostWeights;
        private final MemorySegment cache;
        private final Tensor q;
        private final Tensor kvCache;
        private final Tensor weights;
        private final Tensor contextLens;
        private final Tensor blockTable;
        private final Tensor scheduleMeta;
        private final int[] lens;
        private final int[] tokenLens;
        private final int[] table;
        private final int maxBlocks;
        private final int maxContext;
        private final Sample sample;
        private Tensor logits;

        PagedTrial(Location location, Paged p, int[] lens, int numSms) {
            super(location);
            this.p = p;
            this.lens = lens;
            this.tokenLens = tokenLens(lens, p.nextN());
            this.maxContext = maxContext(lens);
            long seed = 41L + p.batch() + p.avgContext();
            SplittableRandom rng = new SplittableRandom(seed);
            int batch = lens.length;
            maxBlocks = maxContext / BLOCK_KV;
            int numBlocks = Arrays.stream(lens).map(len -> Reference.ceilDiv(len, BLOCK_KV)).sum();
            int[] physical = shuffledRange(rng, numBlocks);
            table = new int[batch * maxBlocks];
            int next = 0;
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < Reference.ceilDiv(lens[b], BLOCK_KV); i++) {
                    table[b * maxBlocks + i] = physical[next++];
                }
            }
            int dim = p.dim();
            long blockBytes = (long) BLOCK_KV * (dim + 4);
            Tensor hostCache = own(RandomTensors.fp8Codes(seed + 1, DType.UINT8, numBlocks, BLOCK_KV, 1, dim + 4));
            cache = hostCache.hostSegment();
            RandomTensors.fill(cache, (long) numBlocks * BLOCK_KV, seed + 2, (seg, from, to, r) -> {
                for (long slot = from; slot < to; slot++) {
                    seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED, slot / BLOCK_KV * blockBytes + (long) BLOCK_KV * dim
                            + 4 * (slot % BLOCK_KV), RandomTensors.scale(r));
                }
            });
            hostQ = own(RandomTensors.fp8(seed + 3, batch, p.nextN(), p.heads(), dim));
            hostWeights = own(RandomTensors.uniform(seed + 4, batch * p.nextN(), p.heads()));
            kvCache = onTarget(hostCache);
            q = onTarget(hostQ);
            weights = onTarget(hostWeights);
            contextLens = onTarget(own(Tensor.ofInts(tokenLens, batch, p.nextN())));
            blockTable = onTarget(own(Tensor.ofInts(table, batch, maxBlocks)));
            scheduleMeta = onTarget(own(Tensor.ofInts(referenceMetadata(lens, numSms), numSms + 1, 2)));
            sample = Sample.of(seed, batch * p.nextN(), maxContext, (long) p.heads() * dim);
        }

        private static int[] shuffledRange(SplittableRandom rng, int n) {
            int[] v = IntStream.range(0, n).toArray();
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
            logits = returned(DeepGemm.fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, scheduleMeta,
                    maxContext, false));
        }

        /** The dequantisation inputs of cached position {@code pos} of sequence b: D values, then the scale. */
        private double[] cachedRow(int b, int pos, double[] scale) {
            long base = (long) table[b * maxBlocks + pos / BLOCK_KV] * BLOCK_KV * (p.dim() + 4);
            int slot = pos % BLOCK_KV;
            double[] row = new double[p.dim()];
            for (int d = 0; d < row.length; d++) {
                row[d] = Fp8E4M3.toFloat(cache.get(ValueLayout.JAVA_BYTE, base + (long) slot * p.dim() + d));
            }
            scale[0] = cache.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + (long) BLOCK_KV * p.dim() + 4L * slot);
            return row;
        }

        @Override
        Check check() {
            if (logits.dim() != 2 || logits.size(0) != tokenLens.length || logits.size(1) != maxContext) {
                return Check.failed("logits shape " + Arrays.toString(logits.shape()) + ", expected ["
                        + tokenLens.length + ", " + maxContext + "]");
            }
            SplittableRandom rng = new SplittableRandom(lens.length);
            double[][] got = Reference.rows(logits, sample.rows());
            List<Double> output = new ArrayList<>();
            List<Double> reference = new ArrayList<>();
            double[] scale = new double[1];
            for (int r = 0; r < sample.rows().length; r++) {
                int row = sample.rows()[r];
                int b = row / p.nextN();
                int[] positions = sample.full() ? IntStream.range(0, tokenLens[row]).toArray()
                        : Sample.pick(rng, tokenLens[row], Sample.PICKS);
                double[] qb = hostRow(hostQ, row, p.heads() * p.dim());
                double[] wb = hostRow(hostWeights, row, p.heads());
                for (int pos : positions) {
                    double[] kv = cachedRow(b, pos, scale);
                    output.add(got[r][pos]);
                    reference.add(score(qb, wb, p.heads(), p.dim(), kv, scale[0]));
                }
            }
            double[] out = output.stream().mapToDouble(Double::doubleValue).toArray();
            return Check.of(Reference.calcDiff(out, reference.stream().mapToDouble(Double::doubleValue).toArray()),
                    out.length, !sample.full());
        }
    }
}
