package dev.deepgemm4j.gpu;

import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.cuda.CudaCopy;
import dev.deepgemm4j.cuda.CudaStream;
import dev.deepgemm4j.cuda.DeviceMemory;
import dev.deepgemm4j.cuda.LaunchArgs;
import dev.deepgemm4j.cuda.TensorMap;
import dev.deepgemm4j.heuristics.Sm90SmallMGemmConfig;
import dev.deepgemm4j.heuristics.Sm90SmallMGemmHeuristic;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Hopper small-M GEMM ({@code sm90_fp8_gemm_1d2d_small_m.cu}) for decode-sized {@code D = A · Bᵀ}: M ≤
 * {@link Sm90SmallMGemmHeuristic#MAX_M} where the tiled Hopper kernel's preconditions hold (same operand layouts;
 * scales are staged into the kernel layout the same way). Split-K launches need a workspace (FP32 partials plus one
 * arrival counter per row tile); it is cached per (device, stream), so steady-state calls allocate nothing.
 */
final class Sm90SmallMGemmLauncher {

    private Sm90SmallMGemmLauncher() {
    }

    /** Whether this kernel computes the call: few rows, and everything the tiled Hopper kernel requires. */
    static boolean eligible(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        return a.data().size(0) <= Sm90SmallMGemmHeuristic.MAX_M
                && Sm90DenseGemmLauncher.eligible(device, a, b, d, recipe, accumulate);
    }

    /** Queues the GEMM; the caller checked {@link #eligible}. */
    static void gemm(GpuDevice device, Fp8Tensor a, Fp8Tensor b, Tensor d) {
        long m = a.data().size(0);
        long k = a.data().size(1);
        long n = b.data().size(0);
        long kBlocks = Sm90DenseGemmLauncher.ceilDiv(k, 128);
        CudaStream stream = device.stream();
        Sm90SmallMGemmHeuristic.Choice choice = Sm90SmallMGemmHeuristic.choose(m, n, k, device.numSms(), true);
        // A graph captured now may be replayed on any stream, concurrently with this one's launches: it must not
        // share the stream's workspace, so a captured launch does not split K.
        if (choice.splits() > 1 && stream.isCapturing()) {
            choice = Sm90SmallMGemmHeuristic.choose(m, n, k, device.numSms(), false);
        }
        Sm90SmallMGemmConfig c = choice.config();
        int splits = choice.splits();
        Workspace ws = splits > 1 ? workspace(device, stream, c.tiles(n), c.workspaceFloats(n, splits)) : null;
        Tensor sfa = a.scales();
        Tensor sfaStaged = Sm90DenseGemmLauncher.mnMajorScalesAligned(sfa, m) ? null
                : Sm90DenseGemmLauncher.staged(device, sfa, new long[] {1, Sm90DenseGemmLauncher.align(m, 4)});
        Tensor sfb = b.scales();
        Tensor sfbStaged = Sm90DenseGemmLauncher.sfbInKernelLayout(sfb, kBlocks) ? null
                : Sm90DenseGemmLauncher.staged(device, sfb, new long[] {kBlocks, 1});
        try {
            Tensor sfaUsed = sfaStaged == null ? sfa : sfaStaged;
            Tensor sfbUsed = sfbStaged == null ? sfb : sfbStaged;
            long sfaPitch = kBlocks > 1 ? sfaUsed.stride(1) : Sm90DenseGemmLauncher.align(m, 4);
            TensorMap mapA = TensorMaps.rows(TensorMap.DataType.UINT8, a.data().dataAddress(), k, m,
                    Sm90DenseGemmLauncher.rowPitch(a.data(), k), 128, c.tokens(), TensorMap.Swizzle.B128);
            TensorMap mapB = TensorMaps.rows(TensorMap.DataType.UINT8, b.data().dataAddress(), k, n,
                    Sm90DenseGemmLauncher.rowPitch(b.data(), k), 128, c.blockRows(), TensorMap.Swizzle.B128);
            TensorMap mapSfa = TensorMaps.rows(TensorMap.DataType.FLOAT32, sfaUsed.dataAddress(), m,
                    kBlocks, sfaPitch * 4, c.tokens(), 1, TensorMap.Swizzle.NONE);
            long ldd = Sm90DenseGemmLauncher.rowPitch(d, n);
            LaunchArgs args = KernelArgs.begin().addTensorMap(mapA).addTensorMap(mapB).addTensorMap(mapSfa)
                    .addPointer(sfbUsed.dataAddress()).addPointer(d.dataAddress())
                    .addInt(KernelArgs.toInt(ldd, "D row pitch"))
                    .addPointer(ws == null ? 0L : ws.partialsAddress()).addPointer(ws == null ? 0L : ws.countersAddress())
                    .addInt((int) m).addInt((int) n).addInt((int) k).addInt(splits).addPointer(0L);
            device.launch(choice.launch(), args);
        } finally {
            Sm90DenseGemmLauncher.free(sfaStaged);
            Sm90DenseGemmLauncher.free(sfbStaged);
        }
    }

    // ---------------------------------------------------------------- split-K workspace

    private record StreamKey(int ordinal, long stream) {
    }

    private static final Map<StreamKey, Workspace> WORKSPACES = new ConcurrentHashMap<>();

    /**
     * Device memory of one stream's split-K launches: {@code counterWords} u32 arrival counters (zeroed once; every
     * launch leaves them zero), then FP32 partials. Launches on one stream run in order, so they can share it; a
     * launch on another stream gets that stream's own. Closing frees it stream-ordered, after the queued launches.
     */
    static final class Workspace implements AutoCloseable {
        private static final long COUNTER_BYTES_ALIGN = 256;
        final CudaStream stream;
        final DeviceMemory memory;
        final long counterWords;
        final long partialFloats;

        Workspace(CudaStream stream, long counterWords, long partialFloats) {
            this.stream = stream;
            this.counterWords = counterWords;
            this.partialFloats = partialFloats;
            this.memory = DeviceMemory.allocateAsync(stream, counterBytes() + partialFloats * 4);
            try {
                CudaCopy.memsetD32Async(memory, 0, counterWords, 0, stream);
            } catch (RuntimeException e) {
                memory.close();
                throw e;
            }
        }

        private long counterBytes() {
            return Sm90DenseGemmLauncher.align(counterWords * 4, COUNTER_BYTES_ALIGN);
        }

        boolean fits(long counters, long floats) {
            return !memory.isClosed() && counters <= counterWords && floats <= partialFloats;
        }

        long countersAddress() {
            return memory.address();
        }

        long partialsAddress() {
            return memory.address() + counterBytes();
        }

        @Override
        public void close() {
            memory.close();
        }
    }

    /**
     * The stream's workspace, grown (to at least twice its size, so a workload's shapes settle after a few calls)
     * when this launch needs more.
     */
    static Workspace workspace(GpuDevice device, CudaStream stream, long counters, long floats) {
        StreamKey key = new StreamKey(device.ordinal(), stream.rawHandle());
        Workspace ws = WORKSPACES.get(key);
        if (ws != null && ws.fits(counters, floats)) {
            return ws;
        }
        synchronized (WORKSPACES) {
            ws = WORKSPACES.get(key);
            if (ws != null && ws.fits(counters, floats)) {
                return ws;
            }
            releaseClosedStreams();
            long c = Math.max(counters, ws == null ? 0 : 2 * ws.counterWords);
            long f = Math.max(floats, ws == null ? 0 : 2 * ws.partialFloats);
            Workspace grown = new Workspace(stream, c, f);
            // The replaced one is not closed here: another thread on the same stream may have fetched it and not
            // queued its launch yet. Unreachable, its cleaner frees it on the stream, after every launch queued
            // before; the doubling bounds what waits for that to twice the final size.
            WORKSPACES.put(key, grown);
            return grown;
        }
    }

    /** Frees the workspaces of streams closed since (their handles may be reused by new streams). */
    private static void releaseClosedStreams() {
        WORKSPACES.values().removeIf(ws -> {
            if (ws.stream.isClosed()) {
                ws.close();
                return true;
            }
            return false;
        });
    }

    /** Cached workspaces (tests check that steady-state calls allocate none). */
    static int workspaceCount() {
        return WORKSPACES.size();
    }

    /** The workspace cached for {@code stream}, or null (tests). */
    static Workspace cachedWorkspace(CudaStream stream) {
        return WORKSPACES.get(new StreamKey(stream.ordinal(), stream.rawHandle()));
    }
}
