package dev.deepgemm4j.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which K-grouped "tn" operands the Hopper launcher recognises as one token-row buffer to transpose
 * ({@link Sm90Gemm1d1dLauncher.TokenRows}), on host tensors: the group views the API makes of [ΣK, MN] data and
 * [ΣK/128, MN] scales, with any row pitch and scale layout, and nothing else.
 */
class Sm90Gemm1d1dLauncherTest {

    private static final long MN = 16;

    @Test
    void apiViewsOfTokenRowsAreOneBuffer() {
        int[] ks = {128, 0, 256};
        Fp8Tensor x = new Fp8Tensor(Tensor.zeros(DType.FP8_E4M3, 384, MN), Tensor.zeros(DType.FP32, 3, MN));
        Sm90Gemm1d1dLauncher.TokenRows rows = Sm90Gemm1d1dLauncher.TokenRows.of(groupViews(x, ks), MN);
        assertNotNull(rows);
        assertArrayEquals(ks, rows.ks());
        assertEquals(384, rows.totalK());
        assertArrayEquals(new long[] {384, MN}, rows.data().shape());
        assertArrayEquals(new long[] {MN, 1}, rows.data().strides());
        assertEquals(x.data().dataAddress(), rows.data().dataAddress());
        // Scales as the kernel's maps see them: [MN, ΣK/128], MN-major with a column pitch of MN.
        assertArrayEquals(new long[] {MN, 3}, rows.scales().shape());
        assertArrayEquals(new long[] {1, MN}, rows.scales().strides());
        assertEquals(x.scales().dataAddress(), rows.scales().dataAddress());
    }

    @Test
    void paddedRowsLeadingEmptyGroupsAndKMajorScalesAreTaken() {
        int[] ks = {0, 256, 0, 128};
        Tensor padded = Tensor.zerosStrided(DType.FP8_E4M3, new long[] {384, MN}, new long[] {MN + 32, 1});
        Tensor scalesKMajor = Tensor.zeros(DType.FP32, MN, 3).t();
        Sm90Gemm1d1dLauncher.TokenRows rows = Sm90Gemm1d1dLauncher.TokenRows.of(
                groupViews(new Fp8Tensor(padded, scalesKMajor), ks), MN);
        assertNotNull(rows);
        assertArrayEquals(new long[] {MN + 32, 1}, rows.data().strides());
        assertEquals(padded.dataAddress(), rows.data().dataAddress());
        assertArrayEquals(new long[] {3, 1}, rows.scales().strides(), "K-major scales, to be staged");
    }

    @Test
    void rejectsAnythingButConsecutiveRowRangesOfOneBuffer() {
        int[] ks = {128, 256};
        Fp8Tensor x = new Fp8Tensor(Tensor.zeros(DType.FP8_E4M3, 384, MN), Tensor.zeros(DType.FP32, 3, MN));
        List<Fp8Tensor> views = groupViews(x, ks);
        // K-major data (the transpose of [MN, ΣK] rows): no transpose needed, not this path.
        Fp8Tensor kMajor = new Fp8Tensor(Tensor.zeros(DType.FP8_E4M3, MN, 384).t(), x.scales());
        assertNull(Sm90Gemm1d1dLauncher.TokenRows.of(groupViews(kMajor, ks), MN));
        // Groups out of order, or from two buffers.
        assertNull(Sm90Gemm1d1dLauncher.TokenRows.of(List.of(views.get(1), views.get(0)), MN));
        Fp8Tensor other = new Fp8Tensor(Tensor.zeros(DType.FP8_E4M3, 384, MN), x.scales());
        assertNull(Sm90Gemm1d1dLauncher.TokenRows.of(List.of(views.get(0), groupViews(other, ks).get(1)), MN));
        // Scales of a group from another matrix.
        Fp8Tensor otherScales = new Fp8Tensor(x.data(), Tensor.zeros(DType.FP32, 3, MN));
        assertNull(Sm90Gemm1d1dLauncher.TokenRows.of(List.of(views.get(0), groupViews(otherScales, ks).get(1)),
                MN));
        // K_g not a multiple of 128, and nothing to compute.
        Fp8Tensor short64 = new Fp8Tensor(x.data().narrow(0, 0, 64).t(), x.scales().narrow(0, 0, 1).t());
        assertNull(Sm90Gemm1d1dLauncher.TokenRows.of(List.of(short64), MN));
        assertNull(Sm90Gemm1d1dLauncher.TokenRows.of(groupViews(x, new int[] {0, 0}), MN));
    }

    /** The per-group [MN, K_g] views (scales [MN, K_g/128]) the API makes of "tn" operands. */
    private static List<Fp8Tensor> groupViews(Fp8Tensor x, int[] ks) {
        List<Fp8Tensor> views = new ArrayList<>();
        long kOff = 0;
        for (int kg : ks) {
            views.add(new Fp8Tensor(x.data().narrow(0, kOff, kg).t(),
                    x.scales().narrow(0, kOff / 128, kg / 128).t()));
            kOff += kg;
        }
        return views;
    }
}
