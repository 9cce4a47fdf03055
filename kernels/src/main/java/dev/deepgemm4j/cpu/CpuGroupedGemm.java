package dev.deepgemm4j.cpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import java.util.List;

/**
 * CPU reference of the grouped FP8 GEMMs: each expert segment (or group) runs the dense CPU core on views of the
 * caller's tensors, so no work is spent on rows no expert owns, and those rows of D are left untouched.
 */
final class CpuGroupedGemm {
    private CpuGroupedGemm() {
    }

    /**
     * M-grouped contiguous: A [M_total, K], B [G, N, K], D [M_total, N] BF16, 1D2D scales. Index layout: maximal runs
     * of rows with the same expert id (−1 rows skipped); psum layout: expert g owns rows
     * [align(end[g−1], alignment), end[g]).
     */
    static void contiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout, boolean psum, int alignment) {
        int[] entries = groupedLayout.toIntArray();
        if (psum) {
            long previousEnd = 0;
            for (int g = 0; g < entries.length; g++) {
                long start = (previousEnd + alignment - 1) / alignment * alignment;
                if (entries[g] > start) {
                    expertRows(a, b, d, g, start, entries[g] - start);
                }
                previousEnd = entries[g];
            }
            return;
        }
        for (int i = 0; i < entries.length;) {
            int expert = entries[i];
            int end = i + 1;
            while (end < entries.length && entries[end] == expert) {
                end++;
            }
            if (expert >= 0) {
                expertRows(a, b, d, expert, i, end - i);
            }
            i = end;
        }
    }

    private static void expertRows(Fp8Tensor a, Fp8Tensor b, Tensor d, int expert, long row, long rows) {
        Fp8Tensor aRows = new Fp8Tensor(a.data().narrow(0, row, rows), a.scales().narrow(0, row, rows));
        Fp8Tensor bExpert = new Fp8Tensor(b.data().select(0, expert), b.scales().select(0, expert));
        CpuDenseGemm.gemm(aRows, bExpert, d.narrow(0, row, rows), Recipe.PER_TOKEN_PER_BLOCK, false);
    }

    /** M-grouped masked: group g computes its first {@code maskedM[g]} rows; the rest of D is untouched. */
    static void masked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM) {
        int[] rows = maskedM.toIntArray();
        for (int g = 0; g < rows.length; g++) {
            if (rows[g] == 0) {
                continue;
            }
            Fp8Tensor aGroup = new Fp8Tensor(a.data().select(0, g).narrow(0, 0, rows[g]),
                    a.scales().select(0, g).narrow(0, 0, rows[g]));
            Fp8Tensor bGroup = new Fp8Tensor(b.data().select(0, g), b.scales().select(0, g));
            CpuDenseGemm.gemm(aGroup, bGroup, d.select(0, g).narrow(0, 0, rows[g]), Recipe.PER_TOKEN_PER_BLOCK, false);
        }
    }

    /** K-grouped: {@code d[g] += A_g·B_gᵀ} with per-token scales on both sides; {@code d} already holds C. */
    static void kGrouped(List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d) {
        for (int g = 0; g < aGroups.size(); g++) {
            CpuDenseGemm.gemm(aGroups.get(g), bGroups.get(g), d.select(0, g), Recipe.PER_TOKEN_PER_TOKEN, true);
        }
    }
}
