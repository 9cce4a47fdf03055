package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.DeepGemm;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The FP8 quantisers (per token, per block, per channel) and the scale-layout utilities (MN-major TMA-aligned FP32,
 * packed UE8M0).
 */
final class QuantizeLayoutCases {

    private QuantizeLayoutCases() {
    }

    static List<BenchCase> all(Sizes s) {
        int r = s.castRows();
        int c = s.castCols();
        int mn = s.layoutMn();
        int sfk = s.layoutSfk();
        return List.of(
                castCase("per_token_cast_to_fp8", r, c, 1, 128, x -> DeepGemm.perTokenCastToFp8(x, false)),
                castCase("per_block_cast_to_fp8", r, c, 128, 128, x -> DeepGemm.perBlockCastToFp8(x, false)),
                castCase("per_channel_cast_to_fp8", r, c, 128, 1, x -> DeepGemm.perChannelCastToFp8(x, false)),
                BenchCase.bytes("get_mn_major_tma_aligned_tensor", "", "MN=" + mn + " SFK=" + sfk,
                        8.0 * mn * sfk, BenchCase.EXACT, () -> new MnMajorTrial(mn, sfk)),
                BenchCase.bytes("get_mn_major_tma_aligned_packed_ue8m0_tensor", "", "MN=" + mn + " SFK=" + sfk,
                        4.0 * mn * sfk + 4.0 * mn * Reference.ceilDiv(sfk, 4), BenchCase.EXACT,
                        () -> new PackedUe8m0Trial(mn, sfk)));
    }

    /** Bytes moved: FP32 in, FP8 and FP32 scales out. */
    private static BenchCase castCase(String op, int rows, int cols, int granRows, int granCols,
            Function<Tensor, Fp8Tensor> cast) {
        double bytes = 5.0 * rows * cols
                + 4.0 * Reference.ceilDiv(rows, granRows) * Reference.ceilDiv(cols, granCols);
        return BenchCase.bytes(op, "", "[" + rows + ", " + cols + "] FP32", bytes, BenchCase.QUANTIZED,
                () -> new CastTrial(rows, cols, granRows, granCols, cast));
    }

    /** Rows with magnitudes spread over 2^-8 … 2^8, so every block gets its own scale; checked after dequantising. */
    private static final class CastTrial extends Trial {
        private final Tensor x;
        private final int granRows;
        private final int granCols;
        private final Function<Tensor, Fp8Tensor> cast;
        private Fp8Tensor out;

        CastTrial(int rows, int cols, int granRows, int granCols, Function<Tensor, Fp8Tensor> cast) {
            this.granRows = granRows;
            this.granCols = granCols;
            this.cast = cast;
            SplittableRandom rng = new SplittableRandom(43);
            x = own(Reference.uniform(rng, DType.FP32, rows, cols));
            for (int i = 0; i < rows; i++) {
                float rowScale = Math.scalb(1f, rng.nextInt(-8, 9));
                for (int j = 0; j < cols; j++) {
                    x.setFloat(x.getFloat(i, j) * rowScale, i, j);
                }
            }
        }

        @Override
        void run() {
            out = own(cast.apply(x));
        }

        @Override
        Check check() {
            if (out.data().dtype() != DType.FP8_E4M3 || out.scales().dtype() != DType.FP32) {
                return new Check(Double.NaN, "output dtypes " + out.data().dtype() + " / " + out.scales().dtype());
            }
            long scaleRows = Reference.ceilDiv((int) x.size(0), granRows);
            long scaleCols = Reference.ceilDiv((int) x.size(1), granCols);
            if (!java.util.Arrays.equals(out.data().shape(), x.shape()) || out.scales().size(0) != scaleRows
                    || out.scales().size(1) != scaleCols) {
                return new Check(Double.NaN, "output shapes " + java.util.Arrays.toString(out.data().shape()) + " / "
                        + java.util.Arrays.toString(out.scales().shape()));
            }
            return Check.of(Reference.calcDiff(Reference.dequantize(out.data(), out.scales(), granRows, granCols),
                    Reference.values(x)));
        }
    }

    /** The layout every scale tensor must reach: MN-major (stride(-2) == 1), MN stride padded to 4 elements. */
    private static String mnMajorLayoutProblem(Tensor t, long mn) {
        long padded = DeepGemm.getTmaAlignedSize(mn, 4);
        if (t.stride(-2) != 1 || t.stride(-1) != padded) {
            return "strides " + java.util.Arrays.toString(t.strides()) + ", expected MN-major with stride(-1) = "
                    + padded;
        }
        return null;
    }

    /** Row-major (K-major) FP32 scales [MN, SFK] become MN-major and TMA-aligned with the same values. */
    private static final class MnMajorTrial extends Trial {
        private final Tensor sf;
        private Tensor out;

        MnMajorTrial(int mn, int sfk) {
            sf = own(Reference.scales(new SplittableRandom(47), mn, sfk));
        }

        @Override
        void run() {
            Tensor result = DeepGemm.getMnMajorTmaAlignedTensor(sf);
            out = result == sf ? result : own(result);
        }

        @Override
        Check check() {
            if (!java.util.Arrays.equals(out.shape(), sf.shape()) || out.dtype() != DType.FP32) {
                return new Check(Double.NaN, "output " + out);
            }
            return new Check(Reference.calcDiff(Reference.values(out), Reference.values(sf)),
                    mnMajorLayoutProblem(out, sf.size(0)));
        }
    }

    /** Power-of-two FP32 scales [MN, SFK] packed four K blocks per word, first block in the lowest byte. */
    private static final class PackedUe8m0Trial extends Trial {
        private final Tensor sf;
        private Tensor out;

        PackedUe8m0Trial(int mn, int sfk) {
            sf = own(Reference.powerOfTwoScales(new SplittableRandom(53), mn, sfk));
        }

        @Override
        void run() {
            out = own(DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(sf));
        }

        @Override
        Check check() {
            int mn = Math.toIntExact(sf.size(0));
            int sfk = Math.toIntExact(sf.size(1));
            int words = Reference.ceilDiv(sfk, 4);
            if (out.dim() != 2 || out.size(0) != mn || out.size(1) != words || out.dtype().byteSize() != 4) {
                return new Check(Double.NaN, "output " + out + ", expected [" + mn + ", " + words + "] packed words");
            }
            int[] packed = out.reinterpret(DType.INT32).toIntArray();
            double[] unpacked = new double[mn * sfk];
            for (int i = 0; i < mn; i++) {
                for (int kb = 0; kb < sfk; kb++) {
                    int exponent = (packed[i * words + kb / 4] >>> (8 * (kb % 4))) & 0xFF;
                    unpacked[i * sfk + kb] = Math.scalb(1.0, exponent - 127);
                }
            }
            return new Check(Reference.calcDiff(unpacked, Reference.values(sf)), mnMajorLayoutProblem(out, mn));
        }
    }
}
