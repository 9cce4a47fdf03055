package dev.deepgemm4j.cpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8E4M3;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.Ue8m0;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * CPU reference of the dense FP8 GEMM, {@code D (+)= A·Bᵀ} with A [M, K], B [N, K] (any strides) and the numerics of
 * DeepGEMM's Hopper kernels: for every 128-wide K block the products of the decoded FP8 values are summed in FP32,
 * that partial sum is multiplied by {@code sfa[m, kb]·sfb[n, kb]} and "promoted" into an FP32 accumulator; the result
 * is rounded to D's dtype once.
 *
 * <p>Operands are decoded to float once per call (B transposed into N panels so the innermost loop runs along N, which
 * the JIT vectorises), then M×N tiles are computed in parallel on the common fork-join pool. Very large operands are
 * processed in chunks so a decoded panel never outgrows a Java array.
 */
final class CpuDenseGemm {

    private static final int BLOCK_K = 128;
    /** Rows per task. */
    private static final int TILE_M = 32;
    /** Columns per task and per decoded B panel (a 128×128 block of B is 64 KiB, cache resident). */
    private static final int TILE_N = 128;
    /** Rows that share one pass over a B block. */
    private static final int MR = 4;
    /** Upper bound on decoded floats per operand chunk (64 MiB). */
    private static final long CHUNK_FLOATS = 1L << 24;
    /** Below this many multiply-adds a call stays on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1L << 20;

    private CpuDenseGemm() {
    }

    /**
     * {@code d (+)= A·Bᵀ}. Scales are FP32 ({@code recipe} per-block B: sfb [ceil(N/128), ceil(K/128)]; per-token B:
     * [N, ceil(K/128)]) or UE8M0_PACKED on both operands ([M | N, ceil(ceil(K/128)/4)]).
     *
     * @param accumulate add to {@code d}'s values instead of overwriting them
     */
    static void gemm(Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        gemm(a, b, d, recipe, accumulate, CHUNK_FLOATS);
    }

    /**
     * As {@link #gemm(Fp8Tensor, Fp8Tensor, Tensor, Recipe, boolean)} with about {@code chunkFloats} decoded floats
     * per operand chunk at most (small values let tests reach the chunked path).
     */
    static void gemm(Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate, long chunkFloats) {
        int m = Math.toIntExact(d.size(0));
        int n = Math.toIntExact(d.size(1));
        int k = Math.toIntExact(a.data().size(1));
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                d.fill(0f);
            }
            return;
        }
        int kBlocks = ceilDiv(k, BLOCK_K);
        float[] sfa = decodeScales(a.scales(), m, kBlocks, 1);
        // sfb expanded to one value per (kb, n): per-block and per-token recipes then share one inner loop.
        float[] sfb = decodeScales(b.scales(), n, kBlocks, recipe.isPerBlockB() ? 128 : 1);
        Problem p = new Problem(a.data(), b.data(), d, m, n, k, kBlocks, sfa, sfb, accumulate);

        int nChunk = (int) Math.min(n, Math.max(TILE_N, chunkFloats / k / TILE_N * TILE_N));
        int mChunk = (int) Math.min(m, Math.max(TILE_M, chunkFloats / k / TILE_M * TILE_M));
        for (int n0 = 0; n0 < n; n0 += nChunk) {
            int nLen = Math.min(nChunk, n - n0);
            Panel[] panels = p.decodeBPanels(n0, nLen);
            for (int m0 = 0; m0 < m; m0 += mChunk) {
                int mLen = Math.min(mChunk, m - m0);
                p.compute(p.decodeARows(m0, mLen), m0, mLen, panels);
            }
        }
    }

    /**
     * Scales decoded to float, laid out [kb][row] with {@code rows} entries per K block; {@code granRows} rows share
     * one scale row of {@code sf} (128 for per-block B scales).
     */
    private static float[] decodeScales(Tensor sf, int rows, int kBlocks, int granRows) {
        MemorySegment seg = sf.hostSegment();
        boolean packed = sf.dtype() == DType.UE8M0_PACKED;
        long s0 = sf.stride(0);
        long s1 = sf.stride(1);
        float[] out = new float[Math.multiplyExact(kBlocks, rows)];
        for (int kb = 0; kb < kBlocks; kb++) {
            for (int r = 0; r < rows; r++) {
                long row = r / granRows;
                float v;
                if (packed) {
                    int word = seg.get(ValueLayout.JAVA_INT_UNALIGNED, 4 * (sf.offset() + row * s0 + (kb >> 2) * s1));
                    v = Ue8m0.unpack(word, kb & 3);
                } else {
                    v = Tensor.readFloat(seg, DType.FP32, sf.offset() + row * s0 + kb * s1);
                }
                out[kb * rows + r] = v;
            }
        }
        return out;
    }

    private static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    private static void forEachTask(int tasks, long work, IntConsumer body) {
        IntStream range = IntStream.range(0, tasks);
        (work >= PARALLEL_THRESHOLD && tasks > 1 ? range.parallel() : range).forEach(body);
    }

    /**
     * Decodes FP8 elements {@code src[r, c]} (r < rows, c < cols; element offsets from the storage start) into
     * {@code dst[dstOff + r·dRow + c·dCol]}, walking the source along its unit-stride dimension where it has one so
     * rows are copied in bulk.
     */
    private static void decodeFp8(MemorySegment seg, long srcOff, long sRow, long sCol, int rows, int cols,
            float[] dst, int dstOff, int dRow, int dCol) {
        if (sCol != 1 && sRow == 1) {
            decodeFp8(seg, srcOff, sCol, sRow, cols, rows, dst, dstOff, dCol, dRow);
            return;
        }
        byte[] buf = new byte[cols];
        for (int r = 0; r < rows; r++) {
            long off = srcOff + r * sRow;
            if (sCol == 1) {
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, buf, 0, cols);
            } else {
                for (int c = 0; c < cols; c++) {
                    buf[c] = seg.get(ValueLayout.JAVA_BYTE, off + c * sCol);
                }
            }
            int o = dstOff + r * dRow;
            for (int c = 0; c < cols; c++) {
                dst[o + c * dCol] = Fp8E4M3.toFloat(buf[c]);
            }
        }
    }

    /** One call's operands and decoded scales. */
    private record Problem(Tensor a, Tensor b, Tensor d, int m, int n, int k, int kBlocks, float[] sfa, float[] sfb,
            boolean accumulate) {

        /** Rows [m0, m0 + mLen) of A as float, row-major [mLen][K]. */
        float[] decodeARows(int m0, int mLen) {
            float[] out = new float[Math.multiplyExact(mLen, k)];
            MemorySegment seg = a.hostSegment();
            int tiles = ceilDiv(mLen, TILE_M);
            forEachTask(tiles, (long) mLen * k, t -> {
                int r0 = t * TILE_M;
                int rows = Math.min(TILE_M, mLen - r0);
                decodeFp8(seg, a.offset() + (long) (m0 + r0) * a.stride(0), a.stride(0), a.stride(1), rows, k, out,
                        r0 * k, k, 1);
            });
            return out;
        }

        /** Columns [n0, n0 + nLen) of B, transposed into panels of at most TILE_N columns. */
        Panel[] decodeBPanels(int n0, int nLen) {
            Panel[] panels = new Panel[ceilDiv(nLen, TILE_N)];
            MemorySegment seg = b.hostSegment();
            forEachTask(panels.length, (long) nLen * k, t -> {
                int c0 = n0 + t * TILE_N;
                int w = Math.min(TILE_N, n0 + nLen - c0);
                float[] flat = new float[k * w];
                decodeFp8(seg, b.offset() + (long) c0 * b.stride(0), b.stride(0), b.stride(1), w, k, flat, 0, 1, w);
                float[][] rows = new float[k][];
                for (int kk = 0; kk < k; kk++) {
                    rows[kk] = Arrays.copyOfRange(flat, kk * w, (kk + 1) * w);
                }
                float[][] scales = new float[kBlocks][];
                for (int kb = 0; kb < kBlocks; kb++) {
                    scales[kb] = Arrays.copyOfRange(sfb, kb * n + c0, kb * n + c0 + w);
                }
                panels[t] = new Panel(c0, w, rows, scales);
            });
            return panels;
        }

        /** D rows [m0, m0 + mLen) × the panels' columns, tiles in parallel. */
        void compute(float[] aRows, int m0, int mLen, Panel[] panels) {
            int mTiles = ceilDiv(mLen, TILE_M);
            // Panel-major task order: neighbouring tasks reuse the same B panel from cache.
            forEachTask(mTiles * panels.length, (long) mLen * panels.length * TILE_N * k, t -> {
                int r0 = (t % mTiles) * TILE_M;
                new Tile(this, aRows, panels[t / mTiles]).run(m0, r0, Math.min(TILE_M, mLen - r0));
            });
        }
    }

    /**
     * Columns [col0, col0 + w) of B as float: {@code rows[k]} holds B[col0 + j, k] at j, {@code scales[kb]} the
     * expanded sfb of those columns. Every row is its own array so that the inner loops index all their arrays with
     * the same {@code j}, the form C2 vectorises.
     */
    private record Panel(int col0, int w, float[][] rows, float[][] scales) {
    }

    /** One task: up to TILE_M rows of A against one B panel, with per-task scratch. */
    private static final class Tile {
        private final Problem p;
        private final float[] aRows;
        private final Panel panel;
        private final float[][] acc = new float[MR][];
        private final float[][] part = new float[MR][];

        Tile(Problem p, float[] aRows, Panel panel) {
            this.p = p;
            this.aRows = aRows;
            this.panel = panel;
            for (int i = 0; i < MR; i++) {
                acc[i] = new float[panel.w];
                part[i] = new float[panel.w];
            }
        }

        /** D rows {@code mBase + r0 ..} (row {@code r0} of the decoded chunk {@code aRows}) for the panel's columns. */
        void run(int mBase, int r0, int rows) {
            int r = 0;
            for (; r + MR <= rows; r += MR) {
                rowGroup(mBase, r0 + r, MR);
            }
            for (; r < rows; r++) {
                rowGroup(mBase, r0 + r, 1);
            }
        }

        private void rowGroup(int mBase, int row, int count) {
            for (int i = 0; i < count; i++) {
                loadAccumulator(mBase + row + i, acc[i]);
            }
            for (int kb = 0; kb < p.kBlocks; kb++) {
                int kStart = kb * BLOCK_K;
                int kEnd = Math.min(p.k, kStart + BLOCK_K);
                if (count == MR) {
                    blockProducts4(row, kStart, kEnd);
                } else {
                    blockProducts1(row, kStart, kEnd);
                }
                for (int i = 0; i < count; i++) {
                    promote(acc[i], part[i], p.sfa[kb * p.m + mBase + row + i], panel.scales[kb]);
                }
            }
            for (int i = 0; i < count; i++) {
                storeAccumulator(mBase + row + i, acc[i]);
            }
        }

        /** part[i][j] = Σ_{k in block} A[row + i, k]·B[col0 + j, k] for four rows sharing each load of B. */
        private void blockProducts4(int row, int kStart, int kEnd) {
            float[] p0 = part[0];
            float[] p1 = part[1];
            float[] p2 = part[2];
            float[] p3 = part[3];
            Arrays.fill(p0, 0f);
            Arrays.fill(p1, 0f);
            Arrays.fill(p2, 0f);
            Arrays.fill(p3, 0f);
            int k = p.k;
            int a0 = row * k;
            int w = panel.w;
            for (int kk = kStart; kk < kEnd; kk++) {
                float x0 = aRows[a0 + kk];
                float x1 = aRows[a0 + k + kk];
                float x2 = aRows[a0 + 2 * k + kk];
                float x3 = aRows[a0 + 3 * k + kk];
                float[] bk = panel.rows[kk];
                for (int j = 0; j < w; j++) {
                    float y = bk[j];
                    p0[j] += x0 * y;
                    p1[j] += x1 * y;
                    p2[j] += x2 * y;
                    p3[j] += x3 * y;
                }
            }
        }

        private void blockProducts1(int row, int kStart, int kEnd) {
            float[] p0 = part[0];
            Arrays.fill(p0, 0f);
            int a0 = row * p.k;
            int w = panel.w;
            for (int kk = kStart; kk < kEnd; kk++) {
                float x0 = aRows[a0 + kk];
                float[] bk = panel.rows[kk];
                for (int j = 0; j < w; j++) {
                    p0[j] += x0 * bk[j];
                }
            }
        }

        /** The per-128-K promotion: acc += partial · (sfa · sfb), in FP32 like the GPU kernel. */
        private void promote(float[] accRow, float[] partRow, float sa, float[] sb) {
            for (int j = 0; j < accRow.length; j++) {
                accRow[j] += partRow[j] * (sa * sb[j]);
            }
        }

        private void loadAccumulator(int mRow, float[] accRow) {
            if (!p.accumulate) {
                Arrays.fill(accRow, 0f);
                return;
            }
            Tensor d = p.d;
            MemorySegment seg = d.hostSegment();
            long off = d.offset() + mRow * d.stride(0) + panel.col0 * d.stride(1);
            for (int j = 0; j < accRow.length; j++) {
                accRow[j] = Tensor.readFloat(seg, d.dtype(), off + j * d.stride(1));
            }
        }

        private void storeAccumulator(int mRow, float[] accRow) {
            Tensor d = p.d;
            MemorySegment seg = d.hostSegment();
            long off = d.offset() + mRow * d.stride(0) + panel.col0 * d.stride(1);
            for (int j = 0; j < accRow.length; j++) {
                Tensor.writeFloat(seg, d.dtype(), off + j * d.stride(1), accRow[j]);
            }
        }
    }
}
