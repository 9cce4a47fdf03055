package dev.deepgemm4j.cpu;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Fp8Tensor;
import dev.deepgemm4j.Location;
import dev.deepgemm4j.Recipe;
import dev.deepgemm4j.Tensor;
import dev.deepgemm4j.backend.Backend;
import java.util.List;

/**
 * The CPU reference backend: DeepGEMM's exact semantics on host tensors, blocked and multi-threaded. It is the test
 * oracle for the GPU kernels and the fallback where no GPU runs. Each operator family lives in its own class.
 */
public final class CpuBackend implements Backend {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int smCount() {
        return Runtime.getRuntime().availableProcessors();
    }

    @Override
    public boolean supports(Location location) {
        return location.isHost();
    }

    @Override
    public Tensor allocate(DType dtype, long[] shape, long[] strides, Location location) {
        return Tensor.zerosStrided(dtype, shape, strides);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        dst.copyFrom(src);
    }

    @Override
    public void fill(Tensor dst, float value) {
        dst.fill(value);
    }

    @Override
    public void fp8Gemm(Fp8Tensor a, Fp8Tensor b, Tensor d, Recipe recipe, boolean accumulate) {
        CpuDenseGemm.gemm(a, b, d, recipe, accumulate);
    }

    @Override
    public void mGroupedFp8GemmContiguous(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor groupedLayout,
            boolean psumLayout, int alignment) {
        CpuGroupedGemm.contiguous(a, b, d, groupedLayout, psumLayout, alignment);
    }

    @Override
    public void mGroupedFp8GemmMasked(Fp8Tensor a, Fp8Tensor b, Tensor d, Tensor maskedM, int expectedM) {
        CpuGroupedGemm.masked(a, b, d, maskedM);
    }

    @Override
    public void kGroupedFp8Gemm(List<Fp8Tensor> aGroups, List<Fp8Tensor> bGroups, Tensor d) {
        CpuGroupedGemm.kGrouped(aGroups, bGroups, d);
    }

    @Override
    public void fp8MqaLogits(Tensor q, Fp8Tensor kv, Tensor weights, Tensor ks, Tensor ke, Tensor logits,
            boolean clean, int maxSeqlenK) {
        CpuMqaLogits.plain(q, kv, weights, ks, ke, logits, clean, maxSeqlenK);
    }

    @Override
    public void pagedMqaLogitsMetadata(Tensor contextLens, int blockKv, int numSms, Tensor out) {
        CpuMqaLogits.metadata(contextLens, blockKv, numSms, out);
    }

    @Override
    public void fp8PagedMqaLogits(Tensor q, Tensor kvCache, Tensor weights, Tensor contextLens, Tensor blockTable,
            Tensor scheduleMeta, Tensor logits, boolean clean) {
        CpuMqaLogits.paged(q, kvCache, weights, contextLens, blockTable, scheduleMeta, logits, clean);
    }

    @Override
    public void castToFp8(Tensor x, int granRows, int granCols, boolean ue8m0, Tensor data, Tensor scales) {
        CpuQuantizer.cast(x, granRows, granCols, ue8m0, data, scales);
    }

    @Override
    public void packUe8m0(Tensor sf, Tensor out) {
        CpuQuantizer.packUe8m0(sf, out);
    }
}
