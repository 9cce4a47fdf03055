package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The FP8 quantisers (per token, per block, per channel) and the scale-layout utilities (MN-major TMA-aligned FP32,
 * packed UE8M0).
 */
final class QuantizeLayoutCases {

    private QuantizeLayoutCases() {
    }

    /** An FP32 [rows, cols] input to quantise. */
    record Cast(int rows, int cols) {
    }

    /** FP32 scales [mn, sfk] to lay out. */
    record Layout(int mn, int sfk) {
    }

    static List<BenchCase> cases(List<Cast> casts, List<Layout> layouts) {
        List<BenchCase> cases = new ArrayList<>();
        casts.forEach(c -> cases.add(castCase("per_token_cast_to_fp8", c, 1, 128,
                x -> DeepGemm.perTokenCastToFp8(x, false))));
        casts.forEach(c -> cases.add(castCase("per_block_cast_to_fp8", c, 128, 128,
                x -> DeepGemm.perBlockCastToFp8(x, false))));
        casts.forEach(c -> cases.add(castCase("per_channel_cast_to_fp8", c, 128, 1,
                x -> DeepGemm.perChannelCastToFp8(x, false))));
        for (Layout l : layouts) {
            cases.add(new BenchCase("get_mn_major_tma_aligned_tensor", "", "MN=" + l.mn() + " SFK=" + l.sfk(), 0,
                    8.0 * l.mn() * l.sfk(), BenchCase.EXACT, location -> new MnMajorTrial(location, l)));
        }
        for (Layout l : layouts) {
            cases.add(new BenchCase("get_mn_major_tma_aligned_packed_ue8m0_tensor", "", "MN=" + l.mn() + " SFK="
                    + l.sfk(), 0, 4.0 * l.mn() * l.sfk() + 4.0 * l.mn() * Reference.ceilDiv(l.sfk(), 4),
                    BenchCase.EXACT, location -> new PackedUe8m0Trial(location, l)));
        }
        return cases;
    }

    /** Bytes moved: FP32 in, FP8 and FP32 scales out. */
    private static BenchCase castCase(String op, Cast c, int granRows, int granCols, Function<Tensor, Fp8Tensor> cast) {
        double bytes = 5.0 * c.rows() * c.cols()
                + 4.0 * Reference.ceilDiv(c.rows(), granRows) * Reference.ceilDiv(c.cols(), granCols);
        return new BenchCase(op, "", "[" + c.rows() + ", " + c.cols() + "] FP32", 0, bytes, BenchCase.QUANTIZED,
                location -> new CastTrial(location, c, granRows, granCols, cast));
    }

    /**
     * Rows with magnitudes spread over 2^-8 … 2^8, so every block gets its own scale; checked after dequantising,
     * whole rows at a time (all of them when the input is small).
     */
    private static final class CastTrial extends Trial {
        private final Tensor hostX;
        private final Tensor x;
        private final int granRows;
        private final int granCols;
        private final Function<Tensor, Fp8Tensor> cast;
        private final Sample sample;
        private Fp8Tensor out;

        CastTrial(Location location, Cast c, int granRows, int granCols, Function<Tensor, Fp8Tensor> cast) {
            super(location);
            this.granRows = granRows;
            this.granCols = granCols;
            this.cast = cast;
            hostX = own(RandomTensors.spreadRows(43, c.rows(), c.cols()));
            x = onTarget(hostX);
            sample = Sample.of(43, c.rows(), c.cols(), 1);
        }

        @Override
        void run() {
            out = returned(cast.apply(x));
        }

        @Override
        Check check() {
            if (out.data().dtype() != DType.FP8_E4M3 || out.scales().dtype() != DType.FP32) {
                return Check.failed("output dtypes " + out.data().dtype() + " / " + out.scales().dtype());
            }
            long scaleRows = Reference.ceilDiv((int) hostX.size(0), granRows);
            long scaleCols = Reference.ceilDiv((int) hostX.size(1), granCols);
            if (!Arrays.equals(out.data().shape(), hostX.shape()) || out.scales().size(0) != scaleRows
                    || out.scales().size(1) != scaleCols) {
                return Check.failed("output shapes " + Arrays.toString(out.data().shape()) + " / "
                        + Arrays.toString(out.scales().shape()));
            }
            double[][] data = Reference.rows(out.data(), sample.rows());
            return Reference.onHost(out.scales(), scales -> {
                int cols = Math.toIntExact(hostX.size(1));
                double[] got = new double[sample.rows().length * cols];
                double[] want = new double[got.length];
                for (int i = 0; i < sample.rows().length; i++) {
                    int r = sample.rows()[i];
                    for (int c = 0; c < cols; c++) {
                        got[i * cols + c] = data[i][c] * Reference.at(scales, r / granRows, c / granCols);
                        want[i * cols + c] = Reference.at(hostX, r, c);
                    }
                }
                return Check.of(Reference.calcDiff(got, want), got.length, !sample.full());
            });
        }
    }

    /** The layout every scale tensor must reach: MN-major (stride(-2) == 1), MN stride padded to 4 elements. */
    private static String mnMajorLayoutProblem(Tensor t, long mn) {
        long padded = DeepGemm.getTmaAlignedSize(mn, 4);
        if (t.stride(-2) != 1 || t.stride(-1) != padded) {
            return "strides " + Arrays.toString(t.strides()) + ", expected MN-major with stride(-1) = " + padded;
        }
        return null;
    }

    /** Row-major (K-major) FP32 scales [MN, SFK] become MN-major and TMA-aligned with the same values. */
    private static final class MnMajorTrial extends Trial {
        private final Tensor hostSf;
        private final Tensor sf;
        private Tensor out;

        MnMajorTrial(Location location, Layout l) {
            super(location);
            hostSf = own(RandomTensors.scales(47, l.mn(), l.sfk()));
            sf = onTarget(hostSf);
        }

        @Override
        void run() {
            out = returned(DeepGemm.getMnMajorTmaAlignedTensor(sf));
        }

        @Override
        Check check() {
            if (!Arrays.equals(out.shape(), sf.shape()) || out.dtype() != DType.FP32) {
                return Check.failed("output " + out);
            }
            return Check.full(Reference.values(out), Reference.values(hostSf))
                    .withProblem(mnMajorLayoutProblem(out, sf.size(0)));
        }
    }

    /** Power-of-two FP32 scales [MN, SFK] packed four K blocks per word, first block in the lowest byte. */
    private static final class PackedUe8m0Trial extends Trial {
        private final Tensor hostSf;
        private final Tensor sf;
        private Tensor out;

        PackedUe8m0Trial(Location location, Layout l) {
            super(location);
            hostSf = own(RandomTensors.powerOfTwoScales(53, l.mn(), l.sfk()));
            sf = onTarget(hostSf);
        }

        @Override
        void run() {
            out = returned(DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf));
        }

        @Override
        Check check() {
            int mn = Math.toIntExact(sf.size(0));
            int sfk = Math.toIntExact(sf.size(1));
            int words = Reference.ceilDiv(sfk, 4);
            if (out.dim() != 2 || out.size(0) != mn || out.size(1) != words || out.dtype().byteSize() != 4) {
                return Check.failed("output " + out + ", expected [" + mn + ", " + words + "] packed words");
            }
            int[] packed = Reference.onHost(out.reinterpret(DType.INT32), Tensor::toIntArray);
            double[] unpacked = new double[mn * sfk];
            for (int i = 0; i < mn; i++) {
                for (int kb = 0; kb < sfk; kb++) {
                    int exponent = (packed[i * words + kb / 4] >>> (8 * (kb % 4))) & 0xFF;
                    unpacked[i * sfk + kb] = Math.scalb(1.0, exponent - 127);
                }
            }
            return Check.full(unpacked, Reference.values(hostSf)).withProblem(mnMajorLayoutProblem(out, mn));
        }
    }
}
