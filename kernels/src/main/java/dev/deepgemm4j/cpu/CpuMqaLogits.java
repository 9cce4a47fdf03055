package dev.deepgemm4j.cpu;

import dev.deepgemm4j.Bf16;
import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

/**
 * CPU reference of the MQA logits operators. FP8 inputs are decoded once per tile into float arrays; each head's dot
 * product is accumulated in FP32 (FP8 products are exact there), scaled by the KV row's scale, passed through ReLU,
 * weighted and summed over heads in FP32. Every output element is computed by exactly one thread in a fixed order,
 * so results are deterministic. BF16 logits are those FP32 values rounded to nearest even ({@link Bf16#fromFloat}),
 * −inf included.
 *
 * <p>The paged operator walks the schedule from {@code schedule_meta} (one task per SM range), so the metadata really
 * partitions the work; the schedule itself is defined in the MqaLogitsOp javadoc and computed by {@link #metadata}.
 */
final class CpuMqaLogits {

    /** KV positions per paged work unit. */
    private static final int SPLIT_KV = 256;
    /** KV rows decoded together by one plain task. */
    private static final int KV_TILE = 256;
    /** Query rows handled together by one plain task. */
    private static final int Q_BLOCK = 16;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** The fused KV cache stores its scales little-endian, whatever the host order. */
    private static final ValueLayout.OfFloat F32_LE = F32.withOrder(ByteOrder.LITTLE_ENDIAN);

    private CpuMqaLogits() {
    }

    // ------------------------------------------------------------------ plain

    static void plain(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits, boolean clean,
            int maxSeqlenK) {
        int s = (int) q.size(0);
        int h = (int) q.size(1);
        int d = (int) q.size(2);
        int sKv = (int) kv.data().size(0);
        int[] start = ks.toIntArray();
        int[] end = ke.toIntArray();
        boolean compressed = maxSeqlenK > 0;
        Output out = new Output(logits);
        int kvTiles = Math.ceilDiv(sKv, KV_TILE);
        IntStream.range(0, Math.ceilDiv(s, Q_BLOCK) * kvTiles).parallel().forEach(task -> {
            int i0 = task / kvTiles * Q_BLOCK;
            int i1 = Math.min(s, i0 + Q_BLOCK);
            int j0 = task % kvTiles * KV_TILE;
            int j1 = Math.min(sKv, j0 + KV_TILE);
            if (!anyOverlap(start, end, i0, i1, j0, j1)) {
                return;
            }
            float[] kvTile = decodeRows(kv.data(), j0, j1 - j0, d);
            float[] kvScale = new float[j1 - j0];
            for (int j = j0; j < j1; j++) {
                kvScale[j - j0] = readFloat(kv.scales(), kv.scales().offset() + j * kv.scales().stride(0));
            }
            float[] qRows = decodeRows(q.view((long) s, (long) h * d), i0, i1 - i0, h * d);
            float[] w = new float[h];
            for (int i = i0; i < i1; i++) {
                int lo = Math.max(start[i], j0);
                int hi = Math.min(end[i], j1);
                if (lo >= hi) {
                    continue;
                }
                readWeights(weights, i, w);
                int qOff = (i - i0) * h * d;
                for (int j = lo; j < hi; j++) {
                    float v = logit(qRows, qOff, w, kvTile, (j - j0) * d, kvScale[j - j0], d);
                    out.set(i, compressed ? j - start[i] : j, v);
                }
            }
        });
        if (clean) {
            IntStream.range(0, s).parallel().forEach(i -> {
                out.fill(i, 0, start[i], Float.NEGATIVE_INFINITY);
                out.fill(i, end[i], sKv, Float.NEGATIVE_INFINITY);
            });
        }
    }

    private static boolean anyOverlap(int[] start, int[] end, int i0, int i1, int j0, int j1) {
        for (int i = i0; i < i1; i++) {
            if (Math.max(start[i], j0) < Math.min(end[i], j1)) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ paged metadata

    static void metadata(Tensor contextLens, int blockKv, int numSms, Tensor out) {
        int[] splits = atomSplits(contextLens.toIntArray(), (int) contextLens.size(1));
        long total = 0;
        for (int n : splits) {
            total += n;
        }
        long perSm = total / numSms;
        long extra = total % numSms;
        int atom = 0;
        long before = 0;
        for (int sm = 0; sm <= numSms; sm++) {
            long unit = sm * perSm + Math.max(0, sm - (numSms - extra));
            while (atom < splits.length && before + splits[atom] <= unit) {
                before += splits[atom++];
            }
            out.setInt(atom, sm, 0);
            out.setInt(atom < splits.length ? (int) (unit - before) : 0, sm, 1);
        }
    }

    /**
     * KV splits of every atom: atom a = b·ceil(next_n/2) + k holds draft tokens [2k, min(2k + 2, next_n)) of batch
     * row b and needs ceil(max context length of its tokens / 256) splits.
     */
    private static int[] atomSplits(int[] lens, int nextN) {
        int perBatch = Math.ceilDiv(nextN, 2);
        int[] splits = new int[lens.length / nextN * perBatch];
        for (int a = 0; a < splits.length; a++) {
            splits[a] = Math.ceilDiv(atomLength(lens, nextN, a), SPLIT_KV);
        }
        return splits;
    }

    private static int atomLength(int[] lens, int nextN, int atom) {
        int perBatch = Math.ceilDiv(nextN, 2);
        int first = atom / perBatch * nextN + atom % perBatch * 2;
        int last = atom / perBatch * nextN + Math.min(atom % perBatch * 2 + 2, nextN);
        int len = 0;
        for (int r = first; r < last; r++) {
            len = Math.max(len, lens[r]);
        }
        return len;
    }

    // ------------------------------------------------------------------ paged logits

    static void paged(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, Tensor logits, boolean clean) {
        int nextN = (int) q.size(1);
        int hd = (int) (q.size(2) * q.size(3));
        int[] lens = contextLens.toIntArray();
        int[] meta = scheduleMeta.toIntArray();
        int[] splits = atomSplits(lens, nextN);
        PagedCache cache = new PagedCache(kvCache, blockTable);
        Tensor qRows = q.view(lens.length, hd);
        Output out = new Output(logits);
        int perBatch = Math.ceilDiv(nextN, 2);
        IntStream.range(0, meta.length / 2 - 1).parallel().forEach(sm -> {
            int atom = meta[2 * sm];
            int split = meta[2 * sm + 1];
            int endAtom = meta[2 * sm + 2];
            int endSplit = meta[2 * sm + 3];
            float[][] w = new float[2][(int) q.size(2)];
            float[] kvRow = new float[cache.dim];
            while (atom < splits.length && (atom < endAtom || atom == endAtom && split < endSplit)) {
                if (split >= splits[atom]) {
                    atom++;
                    split = 0;
                    continue;
                }
                int batch = atom / perBatch;
                int firstRow = batch * nextN + atom % perBatch * 2;
                int lastRow = batch * nextN + Math.min(atom % perBatch * 2 + 2, nextN);
                float[] qAtom = decodeRows(qRows, firstRow, lastRow - firstRow, hd);
                for (int r = firstRow; r < lastRow; r++) {
                    readWeights(weights, r, w[r - firstRow]);
                }
                int p1 = Math.min((split + 1) * SPLIT_KV, atomLength(lens, nextN, atom));
                for (int p = split * SPLIT_KV; p < p1; p++) {
                    float scale = cache.decode(batch, p, kvRow);
                    for (int r = firstRow; r < lastRow; r++) {
                        if (p < lens[r]) {
                            out.set(r, p, logit(qAtom, (r - firstRow) * hd, w[r - firstRow], kvRow, 0, scale,
                                    cache.dim));
                        }
                    }
                }
                split++;
            }
        });
        if (clean) {
            int width = (int) logits.size(1);
            IntStream.range(0, lens.length).parallel().forEach(r -> out.fill(r, lens[r], width,
                    Float.NEGATIVE_INFINITY));
        }
    }

    /** Reads the fused paged KV cache: per block, block_kv·D FP8 bytes, then block_kv little-endian FP32 scales. */
    private static final class PagedCache {
        final int dim;
        private final int blockKv;
        private final MemorySegment bytes;
        private final long base;
        private final long blockStride;
        private final Tensor blockTable;

        PagedCache(Tensor kvCache, Tensor blockTable) {
            this.dim = (int) kvCache.size(3) - 4;
            this.blockKv = (int) kvCache.size(1);
            this.bytes = kvCache.hostSegment();
            this.base = kvCache.offset();
            this.blockStride = kvCache.stride(0);
            this.blockTable = blockTable;
        }

        /** Decodes logical position {@code p} of batch row {@code batch} into {@code row}; returns its scale. */
        float decode(int batch, int p, float[] row) {
            long block = blockTable.getInt(batch, p / blockKv);
            long blockStart = base + block * blockStride;
            int slot = p % blockKv;
            long at = blockStart + (long) slot * dim;
            for (int k = 0; k < dim; k++) {
                row[k] = Fp8E4M3.toFloat(bytes.get(ValueLayout.JAVA_BYTE, at + k));
            }
            return bytes.get(F32_LE, blockStart + (long) blockKv * dim + 4L * slot);
        }
    }

    // ------------------------------------------------------------------ shared kernel pieces

    /**
     * Σ_h w[h]·ReLU(scale·(q_h · kv)) over the H heads of one query row ({@code q} from {@code qOff}, H·D values) and
     * one KV row ({@code kv} from {@code kvOff}, D values); dot products and sums in FP32.
     */
    private static float logit(float[] q, int qOff, float[] w, float[] kv, int kvOff, float scale, int d) {
        float sum = 0f;
        for (int h = 0; h < w.length; h++) {
            int qh = qOff + h * d;
            // Four partial sums keep the FP adds independent; D is a multiple of 32.
            float a0 = 0f;
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            for (int k = 0; k < d; k += 4) {
                a0 += q[qh + k] * kv[kvOff + k];
                a1 += q[qh + k + 1] * kv[kvOff + k + 1];
                a2 += q[qh + k + 2] * kv[kvOff + k + 2];
                a3 += q[qh + k + 3] * kv[kvOff + k + 3];
            }
            float score = scale * ((a0 + a1) + (a2 + a3));
            if (score > 0f) {
                sum += w[h] * score;
            }
        }
        return sum;
    }

    /** Rows [r0, r0 + n) of a row-major FP8 matrix (unit inner stride, {@code width} columns) decoded to floats. */
    private static float[] decodeRows(Tensor fp8, int r0, int n, int width) {
        MemorySegment seg = fp8.hostSegment();
        float[] out = new float[n * width];
        byte[] row = new byte[width];
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, fp8.offset() + (r0 + r) * fp8.stride(0), row, 0, width);
            for (int k = 0; k < width; k++) {
                out[r * width + k] = Fp8E4M3.toFloat(row[k]);
            }
        }
        return out;
    }

    private static void readWeights(Tensor weights, int row, float[] w) {
        long off = weights.offset() + row * weights.stride(0);
        for (int h = 0; h < w.length; h++) {
            w[h] = readFloat(weights, off + h * weights.stride(1));
        }
    }

    private static float readFloat(Tensor t, long elementOffset) {
        return t.hostSegment().get(F32, elementOffset * 4);
    }

    /** Writes into an FP32 or BF16 logits view of any strides; a BF16 store rounds the FP32 value once. */
    private static final class Output {
        private final MemorySegment seg;
        private final long offset;
        private final long rowStride;
        private final long colStride;
        private final boolean bf16;

        Output(Tensor logits) {
            if (logits.dtype() != DType.FP32 && logits.dtype() != DType.BF16) {
                throw new IllegalArgumentException("logits must be FP32 or BF16, got " + logits.dtype());
            }
            this.seg = logits.hostSegment();
            this.offset = logits.offset();
            this.rowStride = logits.stride(0);
            this.colStride = logits.stride(1);
            this.bf16 = logits.dtype() == DType.BF16;
        }

        void set(int row, int col, float v) {
            long at = offset + row * rowStride + col * colStride;
            if (bf16) {
                seg.set(I16, at * 2, Bf16.fromFloat(v));
            } else {
                seg.set(F32, at * 4, v);
            }
        }

        void fill(int row, int from, int to, float v) {
            for (int col = from; col < to; col++) {
                set(row, col, v);
            }
        }
    }
}
