package dev.deepgemm4j;

import dev.deepgemm4j.backend.Backend;
import dev.deepgemm4j.backend.Backends;
import java.util.Arrays;

/**
 * Validation and dispatch of the MQA logits operators (plain, paged, paged metadata).
 *
 * <p><b>Output buffers.</b> Both logits operators return a view of a larger buffer, as the GPU kernels may store
 * whole tiles without column guards. The buffer is never filled first: with {@code clean_logits} the kernel and the
 * clean pass write every position of the view, and without it a fill would cost as much as a third kernel (5-8% of a
 * paged decode call's time on an H100) for positions the caller must mask anyway.
 * Plain: the buffer has {@code align(S, 128/H)} rows (whole query blocks of 128 query×head rows) and a row stride
 * of {@code align(W + 256, 1024 / e)} elements of e bytes, W being S_kv (or max_seqlen_k when compressed), i.e. one
 * spare 256-wide KV block per row and rows starting on 1024 bytes. Paged: the buffer has B·next_n rows of stride
 * {@code align(max_context_len, 1024 / e)}. Rows start on 1024 bytes for either dtype (a TMA-friendly byte alignment,
 * which halving the element size must not lose), so the stride is a multiple of 256 FP32 or of 512 BF16 elements; the
 * spare block stays 256 positions.
 *
 * <p><b>Logits dtype.</b> {@code logits_dtype} FP32 (the default) or BF16. A BF16 logit is the FP32 logit, computed
 * in the same order, rounded to nearest even (NaN stays NaN, overflow rounds to ±inf); cleaned positions hold BF16
 * −inf. The GPU kernels have a variant per dtype; the BF16 one rounds at the store and writes half the bytes.
 *
 * <p><b>Positions outside the visible range.</b> With {@code clean_logits} they hold −inf. Without it they are
 * unspecified, as in DeepGEMM: the CPU backend leaves the zeros it allocated, a GPU backend whatever the allocator and
 * the tile stores left there (it may differ from call to call).
 * In the compressed plain output, columns c ≥ ke[i] − ks[i] are always unspecified. DeepGEMM HEAD never cleans paged
 * logits (its clean flag asserts against the mandatory 2-D context_lens); we keep v2.1's behaviour of writing −inf.
 *
 * <p><b>Paged schedule.</b> Queries are grouped into <i>atoms</i> of up to two consecutive draft tokens of one batch
 * row (two draft tokens share every KV fetch): batch b holds {@code ceil(next_n / 2)} atoms, atom a = b·ceil(next_n/2)
 * + k covering tokens [2k, min(2k + 2, next_n)). An atom's length is the largest context length of its tokens, and it
 * is cut into {@code ceil(len / 256)} KV splits of 256 positions. The work units (atom, split), in atom-major order,
 * T in all, are dealt to the SMs in contiguous runs: with q = T / num_sms and r = T mod num_sms, SM s starts at unit
 * {@code s·q + max(0, s − (num_sms − r))}, so the first SMs take q units and the last r take q + 1. Metadata row s is
 * that start unit as (atom, split) (splits of empty atoms are never pointed at); row num_sms is the sentinel
 * (total atoms, 0), also used for any SM that starts at T. An SM walks from its row to the next one. block_kv (32 or 64)
 * divides the split size, so it is validated but does not change the schedule. The schedule only partitions the
 * work: a current schedule gives the same logits for every num_sms.
 */
final class MqaLogitsOp {

    /** Row-stride granule of the logits buffers in bytes, whatever the dtype (256 FP32 or 512 BF16 elements). */
    private static final int ROW_ALIGN_BYTES = 1024;
    /** KV rows per GPU tile: the plain output keeps one spare tile per row. */
    private static final int BLOCK_KV = 256;
    /** Query×head rows per GPU tile. */
    private static final int TILE_QH = 128;

    private MqaLogitsOp() {
    }

    // ------------------------------------------------------------------ plain

    static Tensor plain(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, boolean clean, int maxSeqlenK,
            DType logitsDtype) {
        Checks.requireNonNull("q", q);
        if (kv == null) {
            throw Checks.fail("kv", "must not be null");
        }
        Tensor kvData = Checks.requireNonNull("kv", kv.data());
        Tensor kvSf = Checks.requireNonNull("kv_sf", kv.scales());
        Checks.requireNonNull("weights", weights);
        Checks.requireNonNull("cu_seq_len_k_start", ks);
        Checks.requireNonNull("cu_seq_len_k_end", ke);

        Checks.requireDType("q", q, DType.FP8_E4M3);
        Checks.requireDim("q", q, 3);
        requireContiguous("q", q);
        long s = q.size(0);
        long h = q.size(1);
        long d = q.size(2);
        requireHeadsAndDim("q", q, h, d, "[S, H, D]");

        Checks.requireDType("kv", kvData, DType.FP8_E4M3);
        Checks.requireDim("kv", kvData, 2);
        long sKv = kvData.size(0);
        Checks.requireShape("kv", kvData, "[S_kv, D]", sKv, d);
        requireContiguous("kv", kvData);
        Checks.requireDType("kv_sf", kvSf, DType.FP32);
        Checks.requireShape("kv_sf", kvSf, "[S_kv]", sKv);
        requireContiguous("kv_sf", kvSf);

        Checks.requireDType("weights", weights, DType.FP32);
        Checks.requireShape("weights", weights, "[S, H]", s, h);
        Checks.requireRowMajor("weights", weights);

        requireIndexVector("cu_seq_len_k_start", ks, s);
        requireIndexVector("cu_seq_len_k_end", ke, s);

        if (maxSeqlenK < 0) {
            throw Checks.fail("max_seqlen_k", "must be >= 0 (0 = full [S, S_kv] logits), got " + maxSeqlenK);
        }
        boolean compressed = maxSeqlenK > 0;
        if (compressed && clean) {
            throw Checks.fail("clean_logits", "must be false when max_seqlen_k > 0 (compressed logits), got"
                    + " max_seqlen_k = " + maxSeqlenK);
        }
        requireLogitsDtype(logitsDtype);
        Checks.requireSameLocation("q", q, "kv", kvData, "kv_sf", kvSf, "weights", weights, "cu_seq_len_k_start", ks,
                "cu_seq_len_k_end", ke);
        if (q.location().isHost()) {
            requireRanges(ks.toIntArray(), ke.toIntArray(), sKv, maxSeqlenK);
        }

        Backend backend = Backends.forTensor("q", q);
        long width = compressed ? maxSeqlenK : sKv;
        long rows = Checks.align(s, TILE_QH / h);
        long rowStride = Checks.align(width + BLOCK_KV, rowAlign(logitsDtype));
        Tensor logits = owningView(allocateLogits(backend, logitsDtype, rows, rowStride, q.location()), s,
                width);
        if (s > 0) {
            backend.fp8MqaLogits(q, kv, weights, ks, ke, logits, clean, maxSeqlenK);
        }
        return logits;
    }

    /** A row-major logits buffer, not filled (see the class comment). */
    private static Tensor allocateLogits(Backend backend, DType dtype, long rows, long rowStride, Location location) {
        return backend.allocateForOverwrite(dtype, new long[] {rows, rowStride}, new long[] {rowStride, 1}, location);
    }

    /** 0 ≤ ks[i] ≤ ke[i] ≤ S_kv, and, when compressed, ke[i] − ks[i] ≤ max_seqlen_k. */
    private static void requireRanges(int[] ks, int[] ke, long sKv, int maxSeqlenK) {
        for (int i = 0; i < ks.length; i++) {
            if (ks[i] < 0) {
                throw Checks.fail("cu_seq_len_k_start", "must be >= 0, got " + ks[i] + " at row " + i);
            }
            if (ke[i] < ks[i] || ke[i] > sKv) {
                throw Checks.fail("cu_seq_len_k_end", "must satisfy cu_seq_len_k_start <= cu_seq_len_k_end <= S_kv = "
                        + sKv + ", got [" + ks[i] + ", " + ke[i] + ") at row " + i);
            }
            if (maxSeqlenK > 0 && ke[i] - ks[i] > maxSeqlenK) {
                throw Checks.fail("max_seqlen_k", "must be >= every cu_seq_len_k_end - cu_seq_len_k_start, got "
                        + maxSeqlenK + " < " + (ke[i] - ks[i]) + " at row " + i);
            }
        }
    }

    // ------------------------------------------------------------------ paged metadata

    /**
     * Largest num_sms of a schedule: far above any GPU's SM count (a few hundred), it keeps a mistyped value from
     * allocating gigabytes for a schedule no launch could use.
     */
    static final int MAX_SCHEDULE_SMS = 1 << 16;

    static Tensor metadata(Tensor contextLens, int blockKv, int numSms) {
        requireContextLens(contextLens);
        requireBlockKv("block_kv", blockKv);
        if (numSms <= 0 || numSms > MAX_SCHEDULE_SMS) {
            throw Checks.fail("num_sms", "must be in [1, " + MAX_SCHEDULE_SMS + "], got " + numSms);
        }
        if (contextLens.location().isHost()) {
            requireNonNegative(contextLens.toIntArray());
        }
        Backend backend = Backends.forTensor("context_lens", contextLens);
        Tensor out = backend.allocate(DType.INT32, new long[] {numSms + 1L, 2}, new long[] {2, 1},
                contextLens.location());
        backend.pagedMqaLogitsMetadata(contextLens, blockKv, numSms, out);
        return out;
    }

    /** Atoms (groups of up to two draft tokens of one batch row) in a batch of {@code b} rows of {@code nextN}. */
    private static long atomCount(long b, long nextN) {
        return b * Checks.ceilDiv(nextN, 2);
    }

    // ------------------------------------------------------------------ paged logits

    static Tensor paged(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, int maxContextLen, boolean clean, DType logitsDtype) {
        Checks.requireNonNull("q", q);
        Checks.requireNonNull("kv_cache", kvCache);
        Checks.requireNonNull("weights", weights);
        Checks.requireNonNull("block_table", blockTable);
        Checks.requireNonNull("schedule_meta", scheduleMeta);

        Checks.requireDType("q", q, DType.FP8_E4M3);
        Checks.requireDim("q", q, 4);
        requireContiguous("q", q);
        long b = q.size(0);
        long nextN = q.size(1);
        long h = q.size(2);
        long d = q.size(3);
        if (nextN != 1 && nextN != 2) {
            throw Checks.fail("q", "next_n (dim 1 of [B, next_n, H, D]) must be 1 or 2, got " + nextN);
        }
        requireHeadsAndDim("q", q, h, d, "[B, next_n, H, D]");

        Checks.requireDType("kv_cache", kvCache, DType.UINT8);
        Checks.requireDim("kv_cache", kvCache, 4);
        long numBlocks = kvCache.size(0);
        long blockKv = kvCache.size(1);
        requireBlockKv("kv_cache", blockKv);
        Checks.requireShape("kv_cache", kvCache, "[num_blocks, block_kv, 1, D + 4]", numBlocks, blockKv, 1, d + 4);
        if (kvCache.stride(1) != d + 4 || kvCache.stride(3) != 1) {
            throw Checks.fail("kv_cache", "must have stride(1) == D + 4 = " + (d + 4) + " and stride(3) == 1, got"
                    + " strides " + Arrays.toString(kvCache.strides()));
        }
        long blockBytes = blockKv * (d + 4);
        if (numBlocks > 1 && (kvCache.stride(0) % 4 != 0 || kvCache.stride(0) < blockBytes)) {
            throw Checks.fail("kv_cache", "block stride (stride(0)) must be a multiple of 4 bytes and >= block_kv"
                    + " * (D + 4) = " + blockBytes + ", got " + kvCache.stride(0));
        }

        Checks.requireDType("weights", weights, DType.FP32);
        Checks.requireShape("weights", weights, "[B * next_n, H]", b * nextN, h);
        requireContiguous("weights", weights);

        requireContextLens(contextLens);
        Checks.requireShape("context_lens", contextLens, "[B, next_n]", b, nextN);

        Checks.requireDType("block_table", blockTable, DType.INT32);
        Checks.requireDim("block_table", blockTable, 2);
        Checks.requireShape("block_table", blockTable, "[B, max_blocks]", b, blockTable.size(1));
        Checks.requireRowMajor("block_table", blockTable);

        int numSms = Knobs.numSms();
        Checks.requireDType("schedule_meta", scheduleMeta, DType.INT32);
        if (!Arrays.equals(scheduleMeta.shape(), new long[] {numSms + 1L, 2})) {
            throw Checks.fail("schedule_meta", "shape must be [get_num_sms() + 1, 2] = [" + (numSms + 1)
                    + ", 2], got " + Arrays.toString(scheduleMeta.shape()) + "; recompute it with"
                    + " get_paged_mqa_logits_metadata after every set_num_sms");
        }
        requireContiguous("schedule_meta", scheduleMeta);

        if (maxContextLen < 0) {
            throw Checks.fail("max_context_len", "must be >= 0, got " + maxContextLen);
        }
        requireLogitsDtype(logitsDtype);
        Checks.requireSameLocation("q", q, "kv_cache", kvCache, "weights", weights, "context_lens", contextLens,
                "block_table", blockTable, "schedule_meta", scheduleMeta);
        if (q.location().isHost()) {
            int[] lens = contextLens.toIntArray();
            requireContextBounds(lens, (int) nextN, maxContextLen, blockKv, blockTable, numBlocks);
            requireSchedule(scheduleMeta.toIntArray(), atomCount(b, nextN));
        }

        Backend backend = Backends.forTensor("q", q);
        long rowStride = Checks.align(maxContextLen, rowAlign(logitsDtype));
        Tensor logits = owningView(allocateLogits(backend, logitsDtype, b * nextN, rowStride, q.location()),
                b * nextN, maxContextLen);
        if (b > 0) {
            backend.fp8PagedMqaLogits(q, kvCache, weights, contextLens, blockTable, scheduleMeta, logits, clean);
        }
        return logits;
    }

    /**
     * Every context length in [0, min(max_context_len, max_blocks·block_kv)], and every block a visible position
     * needs names a physical block in [0, num_blocks).
     */
    private static void requireContextBounds(int[] lens, int nextN, int maxContextLen, long blockKv,
            Tensor blockTable, long numBlocks) {
        long maxBlocks = blockTable.size(1);
        long limit = Math.min(maxContextLen, maxBlocks * blockKv);
        requireNonNegative(lens);
        for (int r = 0; r < lens.length; r++) {
            if (lens[r] > limit) {
                throw Checks.fail("context_lens", "must be <= min(max_context_len = " + maxContextLen
                        + ", max_blocks * block_kv = " + maxBlocks * blockKv + "), got " + lens[r] + " at [" + r / nextN
                        + ", " + r % nextN + "]");
            }
        }
        for (int batch = 0; batch * nextN < lens.length; batch++) {
            int len = 0;
            for (int t = 0; t < nextN; t++) {
                len = Math.max(len, lens[batch * nextN + t]);
            }
            for (long blk = 0; blk < Checks.ceilDiv(len, blockKv); blk++) {
                int id = blockTable.getInt(batch, blk);
                if (id < 0 || id >= numBlocks) {
                    throw Checks.fail("block_table", "entries for visible positions must be in [0, num_blocks = "
                            + numBlocks + "), got " + id + " at [" + batch + ", " + blk + "]");
                }
            }
        }
    }

    /** Rows are (atom, split) pairs within the batch, and the last row is the sentinel (atoms, 0). */
    private static void requireSchedule(int[] meta, long atoms) {
        for (int i = 0; i < meta.length; i += 2) {
            if (meta[i] < 0 || meta[i] > atoms || meta[i + 1] < 0) {
                throw Checks.fail("schedule_meta", "row " + i / 2 + " = (" + meta[i] + ", " + meta[i + 1]
                        + ") is not an (atom in [0, " + atoms + "], split >= 0) pair; recompute it with"
                        + " get_paged_mqa_logits_metadata for these context_lens");
            }
        }
        int last = meta.length - 2;
        if (meta[last] != atoms || meta[last + 1] != 0) {
            throw Checks.fail("schedule_meta", "last row must be the sentinel (" + atoms + ", 0) for this batch, got ("
                    + meta[last] + ", " + meta[last + 1] + "); recompute it with get_paged_mqa_logits_metadata"
                    + " for these context_lens");
        }
    }

    // ------------------------------------------------------------------ shared rules

    private static void requireLogitsDtype(DType logitsDtype) {
        if (logitsDtype != DType.FP32 && logitsDtype != DType.BF16) {
            throw Checks.fail("logits_dtype", "must be FP32 or BF16, got " + logitsDtype);
        }
    }

    /** Elements per {@link #ROW_ALIGN_BYTES}. */
    private static long rowAlign(DType logitsDtype) {
        return ROW_ALIGN_BYTES / logitsDtype.byteSize();
    }

    private static void requireContextLens(Tensor contextLens) {
        Checks.requireNonNull("context_lens", contextLens);
        Checks.requireDType("context_lens", contextLens, DType.INT32);
        if (contextLens.dim() != 2) {
            throw Checks.fail("context_lens", "must be 2-D [B, next_n] (row (b, t) sees positions p < context_lens[b,"
                    + " t]), got shape " + Arrays.toString(contextLens.shape()));
        }
        if (contextLens.size(1) < 1) {
            throw Checks.fail("context_lens", "next_n (dim 1) must be >= 1, got " + contextLens.size(1));
        }
        requireContiguous("context_lens", contextLens);
    }

    private static void requireNonNegative(int[] lens) {
        for (int i = 0; i < lens.length; i++) {
            if (lens[i] < 0) {
                throw Checks.fail("context_lens", "must be >= 0, got " + lens[i] + " at flat index " + i);
            }
        }
    }

    private static void requireBlockKv(String arg, long blockKv) {
        if (blockKv != 32 && blockKv != 64) {
            throw Checks.fail(arg, "block_kv must be 32 or 64, got " + blockKv);
        }
    }

    private static void requireHeadsAndDim(String arg, Tensor t, long h, long d, String what) {
        if (h != 32 && h != 64) {
            throw Checks.fail(arg, "H (heads) of " + what + " must be 32 or 64, got " + h + " (shape "
                    + Arrays.toString(t.shape()) + ")");
        }
        if (d != 32 && d != 64 && d != 128) {
            throw Checks.fail(arg, "D (head dim) of " + what + " must be 32, 64 or 128, got " + d + " (shape "
                    + Arrays.toString(t.shape()) + ")");
        }
    }

    private static void requireIndexVector(String arg, Tensor t, long s) {
        Checks.requireDType(arg, t, DType.INT32);
        Checks.requireShape(arg, t, "[S]", s);
        requireContiguous(arg, t);
    }

    private static void requireContiguous(String arg, Tensor t) {
        if (!t.isContiguous()) {
            throw Checks.fail(arg, "must be contiguous, got shape " + Arrays.toString(t.shape()) + " with strides "
                    + Arrays.toString(t.strides()));
        }
    }

    /** The [rows, cols] corner of a padded buffer, as a view that frees the whole buffer when closed. */
    private static Tensor owningView(Tensor padded, long rows, long cols) {
        return Tensor.wrap(padded.storage(), padded.dtype(), new long[] {rows, cols}, padded.strides(), padded.offset(),
                true);
    }
}
