package dev.deepgemm4j.it;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.GemmLayout;
import dev.deepgemm4j.Gpu;
import dev.deepgemm4j.GpuStream;
import dev.deepgemm4j.GpuTimer;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * cuBLASLt's block-scaled FP8 GEMM (CUDA ≥ 12.9: A scales 1×128 {@code VEC128_32F}, B scales 128×128
 * {@code BLK128x128_32F}, FP32 accumulation, BF16 D) on the same operands as a dense 1D2D NT row: how users see
 * where deepgemm4j stands.
 *
 * <p><b>Mapping.</b> cuBLASLt is column-major and runs FP8 only as "TN" (both operands K-major). Our row-major
 * {@code D [M, N] = A [M, K] · B [N, K]ᵀ} is the column-major {@code Dᵀ [N, M] = B · Aᵀ}: cuBLASLt's A is our B
 * (stored K × N, lda = K, op T, 128×128 scales), its B is our A (stored K × M, ldb = K, op N, 1×128 scales), and its
 * D is our D read as N × M with ldd = N. M is padded to a multiple of 4 (zero rows) because the 1×128 scales are
 * stored M-major and cuBLASLt wants their columns 16-byte aligned.
 *
 * <p><b>Scale layouts.</b> The 1×128 scales are stored M-major, {@code [K/128][M]}, and the 128×128 scales
 * {@code [N/128][K/128]}: the layouts the project's C++ harness ({@code kernels/src/test/cuda/sm90_gemm_bench.cu})
 * verified on an H100. The first run of each problem checks cuBLASLt's output against the float64 reference and, if
 * it does not match, tries the other plausible 128×128 layout ({@code [K/128][pad4(N/128)]}), so a layout mistake
 * shows as "n/a (no scale layout matched …)" rather than as a wrong timing. cuBLASLt 13.1 offers no block-scaled
 * algorithm for M = 1 (that row then says n/a).
 *
 * <p>Timing: as for deepgemm4j's own rows, cuBLASLt runs on the current stream ({@link GpuStream#current()}), the
 * L2 cache is flushed before each call, and CUDA events ({@link GpuTimer}) bracket the call alone.
 */
final class CublasLtBaseline implements AutoCloseable {

    /** cuBLASLt's workspace, as DeepGEMM's own cuBLASLt wrapper allots it. */
    static final long WORKSPACE_BYTES = 32L << 20;
    /** calc_diff below which an output counts as matching the reference when choosing the scale layout. */
    static final double LAYOUT_MATCH = 1e-3;

    /**
     * The baseline on one problem.
     *
     * @param status "ok" or "n/a (reason)"
     * @param timeUs median time of one cuBLASLt call
     * @param tflops its throughput
     * @param speedup cuBLASLt's time over ours: above 1 means deepgemm4j is faster
     * @param calcDiff cuBLASLt's output against the float64 reference
     * @param scaleLayout the 128×128 scale layout that matched
     */
    record Result(String status, Double timeUs, Double tflops, Double speedup, Double calcDiff, String scaleLayout) {

        static Result unavailable(String reason) {
            return new Result("n/a (" + reason + ")", null, null, null, null, null);
        }
    }

    /** How the 128×128 scales of cuBLASLt's A (our B, [N/128, K/128]) are laid out in memory. */
    enum BlockScaleLayout {
        /** {@code [N/128][K/128]}: K blocks innermost (verified on an H100). */
        K_INNER,
        /** {@code [K/128][pad4(N/128)]}: N blocks innermost. */
        N_INNER
    }

    private final CublasLt lt;
    private final Location location;
    private final int runs;
    private final Tensor workspace;
    private final MemorySegment alphaBeta;
    private BlockScaleLayout known;

    private CublasLtBaseline(CublasLt lt, Location location, int runs) {
        this.lt = lt;
        this.location = location;
        this.runs = runs;
        this.workspace = Tensor.zeros(location, DType.UINT8, WORKSPACE_BYTES);
        this.alphaBeta = lt.alphaOneBetaZero();
    }

    /**
     * Loads cuBLASLt and checks it has block-scaled FP8.
     *
     * @param runs timed calls per problem
     * @throws IllegalStateException saying why the baseline cannot run
     */
    static CublasLtBaseline open(Location location, int runs) {
        CublasLt lt = CublasLt.load();
        try {
            if (lt.version() < CublasLt.MIN_VERSION) {
                throw new IllegalStateException("cuBLASLt " + lt.version() + " at " + lt.library()
                        + " predates block-scaled FP8 (12.9)");
            }
            return new CublasLtBaseline(lt, location, runs);
        } catch (RuntimeException e) {
            lt.close();
            throw e;
        }
    }

    /** "cuBLASLt VERSION (PATH)". */
    String describe() {
        return "cuBLASLt " + lt.version() + " (" + lt.library() + ")";
    }

    /**
     * Runs the baseline on {@code trial}'s operands if it is a 1D2D NT problem (null otherwise); any failure becomes
     * an "n/a" result.
     *
     * @param oursUs deepgemm4j's median time on the same problem
     */
    Result measure(DenseGemmCases.DenseTrial trial, BenchTarget target, double oursUs) {
        DenseGemmCases.Problem p = trial.problem;
        if (p.layout() != GemmLayout.NT || !p.recipe().isPerBlockB()) {
            return null;
        }
        try (Operands ops = new Operands(trial)) {
            String mismatch = "";
            List<BlockScaleLayout> order = new ArrayList<>(List.of(BlockScaleLayout.values()));
            if (known != null) {
                order.remove(known);
                order.addFirst(known);
            }
            for (BlockScaleLayout layout : order) {
                ops.setBlockScales(layout);
                ops.call();
                Gpu.synchronize();
                Trial.Check check = trial.checkOutput(ops.d.narrow(0, 0, p.m()));
                if (check.calcDiff() <= LAYOUT_MATCH) {
                    known = layout;
                    double us = ops.time() * 1e3;
                    return new Result(BenchRow.OK, us, 2.0 * p.m() * p.n() * p.k() / us / 1e6, us / oursUs,
                            check.calcDiff(), layout.name());
                }
                mismatch += String.format(Locale.ROOT, " %s: calc_diff %.3g", layout, check.calcDiff());
            }
            return Result.unavailable("no scale layout matched the reference;" + mismatch);
        } catch (RuntimeException | LinkageError e) {
            return Result.unavailable(e.toString());
        }
    }

    /** The problem's operands and descriptors in cuBLASLt's terms, on the device. */
    private final class Operands implements AutoCloseable {
        private final DenseGemmCases.DenseTrial trial;
        private final int mPad;
        private final int n;
        private final int k;
        private final Tensor a;
        private final Tensor b;
        private final Tensor sfa;
        private Tensor sfb;
        final Tensor d;
        private final MemorySegment desc;
        private final MemorySegment aLayout;
        private final MemorySegment bLayout;
        private final MemorySegment dLayout;
        private MemorySegment algorithm;

        Operands(DenseGemmCases.DenseTrial trial) {
            this.trial = trial;
            DenseGemmCases.Problem p = trial.problem;
            mPad = Reference.align(p.m(), 4);
            n = p.n();
            k = p.k();
            int kBlocks = Reference.ceilDiv(k, 128);
            try (Tensor hostA = Tensor.zeros(DType.FP8_E4M3, mPad, k);
                    Tensor hostSfa = Tensor.zeros(DType.FP32, kBlocks, mPad)) {
                hostA.narrow(0, 0, p.m()).copyFrom(trial.hostA.data());
                hostSfa.fill(1f);
                hostSfa.narrow(1, 0, p.m()).copyFrom(trial.hostA.scales().t());
                a = hostA.to(location);
                sfa = hostSfa.to(location);
            }
            b = trial.hostB.data().to(location);
            d = Tensor.zeros(location, DType.BF16, mPad, n);
            desc = lt.createMatmulDesc();
            lt.setInt(desc, CublasLt.DESC_TRANSA, CublasLt.OP_T);
            lt.setInt(desc, CublasLt.DESC_TRANSB, CublasLt.OP_N);
            lt.setInt(desc, CublasLt.DESC_A_SCALE_MODE, CublasLt.SCALE_BLK128X128_32F);
            lt.setInt(desc, CublasLt.DESC_B_SCALE_MODE, CublasLt.SCALE_VEC128_32F);
            lt.setPointer(desc, CublasLt.DESC_B_SCALE_POINTER, sfa.dataAddress());
            aLayout = lt.createLayout(CublasLt.CUDA_R_8F_E4M3, k, n, k);
            bLayout = lt.createLayout(CublasLt.CUDA_R_8F_E4M3, k, mPad, k);
            dLayout = lt.createLayout(CublasLt.CUDA_R_16BF, n, mPad, n);
        }

        /** Uploads our B's 128×128 scales in {@code layout} and picks the algorithm. */
        void setBlockScales(BlockScaleLayout layout) {
            if (sfb != null) {
                sfb.close();
            }
            Tensor scales = trial.hostB.scales();
            int nBlocks = Math.toIntExact(scales.size(0));
            int kBlocks = Math.toIntExact(scales.size(1));
            boolean kInner = layout == BlockScaleLayout.K_INNER;
            int outer = kInner ? nBlocks : kBlocks;
            int inner = kInner ? kBlocks : nBlocks;
            try (Tensor host = Tensor.zeros(DType.FP32, outer, kInner ? inner : Reference.align(inner, 4))) {
                host.fill(1f);
                host.narrow(1, 0, inner).copyFrom(kInner ? scales : scales.t());
                sfb = host.to(location);
            }
            lt.setPointer(desc, CublasLt.DESC_A_SCALE_POINTER, sfb.dataAddress());
            algorithm = lt.bestAlgorithm(desc, aLayout, bLayout, dLayout, dLayout, WORKSPACE_BYTES);
        }

        /** Queues one cuBLASLt GEMM on the current stream. */
        void call() {
            lt.matmul(desc, alphaBeta, b.dataAddress(), aLayout, a.dataAddress(), bLayout, d.dataAddress(),
                    dLayout, d.dataAddress(), dLayout, algorithm, workspace.dataAddress(), WORKSPACE_BYTES,
                    GpuStream.current(location.deviceOrdinal()).rawHandle());
        }

        /** Median milliseconds of {@code runs} calls after two warm-ups, each after an L2 flush. */
        double time() {
            call();
            call();
            double[] ms = new double[runs];
            try (GpuTimer timer = new GpuTimer()) {
                for (int i = 0; i < runs; i++) {
                    Gpu.flushL2();
                    timer.start();
                    call();
                    ms[i] = timer.stopMillis();
                }
            }
            return BenchRunner.median(ms);
        }

        @Override
        public void close() {
            lt.destroyLayout(aLayout);
            lt.destroyLayout(bLayout);
            lt.destroyLayout(dLayout);
            lt.destroyDesc(desc);
            for (Tensor t : new Tensor[] {a, b, sfa, sfb, d}) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    @Override
    public void close() {
        workspace.close();
        lt.close();
    }
}
