package dev.deepgemm4j;

import dev.deepgemm4j.cuda.CudaOutOfMemoryException;
import dev.deepgemm4j.testing.RandomTensors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Random bad input for every public operation: each trial takes a valid call, breaks one or two of its arguments at
 * random (dtype, a size, the rank, the strides, a misaligned base, an alias of another argument, null, a closed
 * tensor, nasty integers inside index tensors or as integer arguments, NaN scales) and requires the call either to
 * run or to throw a {@link DeepGemmArgumentException} naming an argument, with no launch and every output's memory
 * left as it was (or, for an output legally asked larger than memory, the allocation's out-of-memory failure). Any
 * other exception is a hole in the validation that the targeted validation tests missed.
 *
 * <p>The arguments are built in host memory; for a GPU location each storage is copied there once (so that aliases
 * stay aliases) and every tensor becomes the same view of the copy. {@link ArgumentFuzzTest} runs it on the CPU
 * backend, {@code FakeDriverBackendScenarios} on the GPU backend over the fake CUDA driver.
 */
public final class ArgumentFuzzer {

    private ArgumentFuzzer() {
    }

    private static final int[] NASTY_INTS = {-1, 0, 1, 2, 3, 7, 63, 64, 127, 128, 129, 200, 1 << 20,
        Integer.MAX_VALUE, Integer.MIN_VALUE};

    /**
     * The arguments of one call. An FP8 operand travels as its two tensors: {@link #fp8} joins them again (null when
     * its data was nulled). Integer arguments also encode enums and booleans (see each call).
     */
    public static final class Args {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        final Map<String, Integer> ints = new LinkedHashMap<>();
        final Map<String, String> fp8Scales = new LinkedHashMap<>();
        final List<String> outputs = new ArrayList<>();
        int[] ks;

        Args tensor(String name, Tensor t) {
            tensors.put(name, t);
            return this;
        }

        Args output(String name, Tensor t) {
            outputs.add(name);
            return tensor(name, t);
        }

        Args fp8(String data, Tensor d, String scales, Tensor s) {
            fp8Scales.put(data, scales);
            return tensor(data, d).tensor(scales, s);
        }

        Args integer(String name, int v) {
            ints.put(name, v);
            return this;
        }

        Tensor t(String name) {
            return tensors.get(name);
        }

        int i(String name) {
            return ints.get(name);
        }

        boolean flag(String name) {
            return (ints.get(name) & 1) != 0;
        }

        Fp8Tensor fp8(String data) {
            Tensor d = tensors.get(data);
            return d == null ? null : new Fp8Tensor(d, tensors.get(fp8Scales.get(data)));
        }
    }

    /**
     * A valid call: {@code make} builds fresh arguments from a random source, {@code call} runs the operation;
     * {@code hostOnly}: the operation reads host tensors only (a GPU run leaves it out).
     */
    public record Baseline(String name, boolean hostOnly, Function<SplittableRandom, Args> make,
            Function<Args, Object> call) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** One valid call of every public operation. */
    public static List<Baseline> baselines() {
        return List.of(
                new Baseline("fp8_gemm 1D2D", false, ArgumentFuzzer::dense1d2d, ArgumentFuzzer::dense),
                new Baseline("fp8_gemm 1D1D, any layout", false, ArgumentFuzzer::dense1d1d, ArgumentFuzzer::dense),
                new Baseline("m_grouped contiguous", false, ArgumentFuzzer::contiguous, a -> {
                    if (a.flag("nn")) {
                        DeepGemm.mGroupedFp8GemmNnContiguous(a.fp8("a"), a.fp8("b"), a.t("d"), a.t("layout"),
                                a.flag("psum"));
                    } else {
                        DeepGemm.mGroupedFp8GemmNtContiguous(a.fp8("a"), a.fp8("b"), a.t("d"), a.t("layout"),
                                a.flag("psum"));
                    }
                    return null;
                }),
                new Baseline("m_grouped masked", false, ArgumentFuzzer::masked, a -> {
                    DeepGemm.mGroupedFp8GemmNtMasked(a.fp8("a"), a.fp8("b"), a.t("d"), a.t("masked_m"),
                            a.i("expected_m"));
                    return null;
                }),
                new Baseline("k_grouped nt / tn", false, ArgumentFuzzer::kGrouped, a -> {
                    if (a.flag("tn")) {
                        DeepGemm.kGroupedFp8GemmTnContiguous(a.fp8("a"), a.fp8("b"), a.t("d"), a.ks, a.t("ks_tensor"),
                                a.t("c"));
                    } else {
                        DeepGemm.kGroupedFp8GemmNtContiguous(a.fp8("a"), a.fp8("b"), a.t("d"), a.ks, a.t("ks_tensor"),
                                a.t("c"));
                    }
                    return null;
                }),
                new Baseline("fp8_mqa_logits", false, ArgumentFuzzer::mqa, a -> DeepGemm.fp8MqaLogits(a.t("q"),
                        a.fp8("kv"), a.t("weights"), a.t("ks"), a.t("ke"), a.flag("clean"), a.i("max_seqlen_k"),
                        dtype(a.i("logits_dtype")))),
                new Baseline("get_paged_mqa_logits_metadata", false, ArgumentFuzzer::pagedMetadata,
                        a -> DeepGemm.getPagedMqaLogitsMetadata(a.t("context_lens"), a.i("block_kv"),
                                a.i("num_sms"))),
                new Baseline("fp8_paged_mqa_logits", false, ArgumentFuzzer::paged, a -> DeepGemm.fp8PagedMqaLogits(
                        a.t("q"), a.t("kv_cache"), a.t("weights"), a.t("context_lens"), a.t("block_table"),
                        a.t("schedule_meta"), a.i("max_context_len"), a.flag("clean"), dtype(a.i("logits_dtype")))),
                new Baseline("quantizers", false, ArgumentFuzzer::quantize, a -> switch (Math.floorMod(a.i("kind"),
                        3)) {
                    case 0 -> DeepGemm.perTokenCastToFp8(a.t("x"), a.flag("ue8m0"));
                    case 1 -> DeepGemm.perBlockCastToFp8(a.t("x"), a.flag("ue8m0"));
                    default -> DeepGemm.perChannelCastToFp8(a.t("x"), a.flag("ue8m0"));
                }),
                new Baseline("scale layout utilities", false, ArgumentFuzzer::scaleLayout, a -> switch (
                        Math.floorMod(a.i("kind"), 4)) {
                    case 0 -> DeepGemm.getMnMajorTmaAlignedTensor(a.t("sf"));
                    case 1 -> DeepGemm.getMnMajorTmaAlignedPackedUe8m0Tensor(a.t("sf"));
                    case 2 -> DeepGemm.getTmaAlignedSize(a.i("mn"), a.i("element_size"));
                    default -> DeepGemm.transformSfIntoRequiredLayout(a.t("sf"), a.i("mn"), a.i("k"),
                            recipe(a.i("recipe")), a.i("num_groups"), a.flag("is_sfa"), a.flag("disable_ue8m0"));
                }),
                new Baseline("calc_diff", true, r -> new Args().tensor("x", RandomTensors.uniform(r, DType.FP32, 7, 9))
                        .tensor("y", RandomTensors.uniform(r, DType.BF16, 7, 9)),
                        a -> DeepGemm.calcDiff(a.t("x"), a.t("y"))));
    }

    /**
     * Runs {@code trials} broken calls of {@code baseline} with their tensors at {@code where}; returns what went
     * wrong (empty when nothing did; it stops at 5).
     *
     * @param launches the backend's launch counter (a rejected call must not have launched anything)
     */
    public static List<String> failures(Baseline baseline, Location where, int trials, LongSupplier launches) {
        List<String> failures = new ArrayList<>();
        if (baseline.hostOnly() && !where.isHost()) {
            return failures;
        }
        try (Placement valid = new Placement(where)) {
            baseline.call().apply(valid.placed(baseline.make().apply(new SplittableRandom(1))));
        } catch (RuntimeException e) {
            failures.add(baseline + ": the valid call failed: " + trace(e));
            return failures;
        }
        for (int trial = 0; trial < trials && failures.size() < 5; trial++) {
            SplittableRandom rng = new SplittableRandom(1000L * trial + baseline.name().hashCode());
            Args hostArgs = baseline.make().apply(rng);
            List<String> done = new ArrayList<>();
            int mutations = rng.nextInt(10) < 7 ? 1 : 2;
            for (int i = 0; i < mutations; i++) {
                done.add(mutate(hostArgs, rng));
            }
            String problem;
            try (Placement placement = new Placement(where)) {
                Args args = placement.placed(hostArgs);
                Map<String, byte[]> before = placement.snapshot(args);
                long launched = launches.getAsLong();
                try {
                    baseline.call().apply(args);
                    problem = null;
                } catch (DeepGemmArgumentException e) {
                    problem = e.argument() == null || e.argument().isEmpty() ? "no argument named: " + e
                            : launches.getAsLong() != launched ? "rejected (" + e.getMessage() + ") after a launch"
                            : placement.changed(args, before, "rejected (" + e.getMessage() + ")");
                } catch (OutOfMemoryError | CudaOutOfMemoryException e) {
                    problem = placement.changed(args, before, e.toString());
                }
            } catch (RuntimeException | Error e) {
                problem = e + " instead of a DeepGemmArgumentException\n" + trace(e);
            }
            if (problem != null) {
                failures.add(baseline + " trial " + trial + " " + done + ": " + problem);
            }
        }
        return failures;
    }

    private static String trace(Throwable e) {
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        return trace.toString();
    }

    /**
     * The arguments' tensors at one location: each host storage copied there once, views kept. The copies are freed
     * on close.
     */
    private static final class Placement implements AutoCloseable {
        private final Location where;
        private final Map<TensorStorage, Tensor> copies = new IdentityHashMap<>();

        Placement(Location where) {
            this.where = where;
        }

        Args placed(Args host) {
            if (where.isHost()) {
                return host;
            }
            Args a = new Args();
            a.ints.putAll(host.ints);
            a.fp8Scales.putAll(host.fp8Scales);
            a.outputs.addAll(host.outputs);
            a.ks = host.ks;
            host.tensors.forEach((name, t) -> a.tensors.put(name, place(t)));
            return a;
        }

        private Tensor place(Tensor t) {
            if (t == null) {
                return null;
            }
            Tensor copy = copies.computeIfAbsent(t.storage(), this::copyOf);
            return Tensor.wrap(copy.storage(), t.dtype(), t.shape(), t.strides(), t.offset(), false);
        }

        private Tensor copyOf(TensorStorage host) {
            if (host.isClosed()) {
                Tensor closed = Tensor.zeros(where, DType.UINT8, host.byteSize());
                closed.close();
                return closed;
            }
            return Tensor.wrap(host, DType.UINT8, new long[] {host.byteSize()}, new long[] {1}, 0, false).to(where);
        }

        /** The bytes of each output's whole storage (a write outside the view counts too); none when closed. */
        Map<String, byte[]> snapshot(Args a) {
            Map<String, byte[]> out = new LinkedHashMap<>();
            for (String name : a.outputs) {
                byte[] bytes = storageBytes(a.t(name));
                if (bytes != null) {
                    out.put(name, bytes);
                }
            }
            return out;
        }

        /** How the outputs differ from {@code before} after {@code outcome}; null when they do not. */
        String changed(Args a, Map<String, byte[]> before, String outcome) {
            for (Map.Entry<String, byte[]> out : before.entrySet()) {
                if (!Arrays.equals(out.getValue(), storageBytes(a.t(out.getKey())))) {
                    return outcome + " after writing " + out.getKey();
                }
            }
            return null;
        }

        private static byte[] storageBytes(Tensor t) {
            if (t == null || t.storage().isClosed()) {
                return null;
            }
            TensorStorage s = t.storage();
            if (s.location().isHost()) {
                return s.hostSegment().toArray(ValueLayout.JAVA_BYTE);
            }
            try (Tensor host = Tensor.wrap(s, DType.UINT8, new long[] {s.byteSize()}, new long[] {1}, 0, false)
                    .toHost()) {
                return host.toByteArray();
            }
        }

        @Override
        public void close() {
            copies.values().forEach(Tensor::close);
        }
    }

    // ------------------------------------------------------------------ valid calls

    private static Object dense(Args a) {
        int layout = a.i("layout");
        DeepGemm.fp8Gemm(layout >= 0 && layout < 4 ? GemmLayout.values()[layout] : null, a.fp8("a"), a.fp8("b"),
                a.t("d"), a.t("c"), recipe(a.i("recipe")));
        return null;
    }

    /** 0: none (chosen from the scales), 1: 1D2D, 2: 1D1D, else a recipe built from the number (often illegal). */
    private static Recipe recipe(int code) {
        return switch (code) {
            case 0 -> null;
            case 1 -> Recipe.PER_TOKEN_PER_BLOCK;
            case 2 -> Recipe.PER_TOKEN_PER_TOKEN;
            default -> new Recipe(1, code, 128);
        };
    }

    private static DType dtype(int code) {
        return code >= 0 && code < DType.values().length ? DType.values()[code] : null;
    }

    private static Args dense1d2d(SplittableRandom r) {
        return new Args().fp8("a", RandomTensors.fp8(r, 8, 256), "sfa", RandomTensors.scales(r, 8, 2))
                .fp8("b", RandomTensors.fp8(r, 16, 256), "sfb", RandomTensors.scales(r, 1, 2))
                .output("d", Tensor.zeros(DType.BF16, 8, 16)).tensor("c", null)
                .integer("layout", 0).integer("recipe", r.nextInt(2));
    }

    /** Square operands, so that every layout reads them legally. */
    private static Args dense1d1d(SplittableRandom r) {
        return new Args().fp8("a", RandomTensors.fp8(r, 128, 128), "sfa", RandomTensors.scales(r, 128, 1))
                .fp8("b", RandomTensors.fp8(r, 128, 128), "sfb", RandomTensors.scales(r, 128, 1))
                .output("d", Tensor.zeros(DType.FP32, 128, 128))
                .tensor("c", RandomTensors.uniform(r, DType.FP32, 128, 128))
                .integer("layout", r.nextInt(4)).integer("recipe", 2 * r.nextInt(2));
    }

    /** Two experts of 128 aligned rows (the second 100 rows long in the psum layout), K = 128, N = 16. */
    private static Args contiguous(SplittableRandom r) {
        boolean psum = r.nextBoolean();
        boolean nn = r.nextBoolean();
        int[] index = new int[256];
        for (int i = 0; i < 256; i++) {
            index[i] = i < 128 ? 0 : i < 228 ? 1 : -1;
        }
        Tensor b = RandomTensors.fp8(r, 2, 16, 128);
        Tensor sfb = RandomTensors.scales(r, 2, 1, 1);
        return new Args().fp8("a", RandomTensors.fp8(r, 256, 128), "sfa", RandomTensors.scales(r, 256, 1))
                .fp8("b", nn ? b.transpose(1, 2) : b, "sfb", nn ? sfb.transpose(1, 2) : sfb)
                .output("d", Tensor.zeros(DType.BF16, 256, 16))
                .tensor("layout", psum ? Tensor.ofInts(new int[] {128, 228}, 2) : Tensor.ofInts(index, 256))
                .integer("psum", psum ? 1 : 0).integer("nn", nn ? 1 : 0);
    }

    private static Args masked(SplittableRandom r) {
        return new Args().fp8("a", RandomTensors.fp8(r, 2, 8, 128), "sfa", RandomTensors.scales(r, 2, 8, 1))
                .fp8("b", RandomTensors.fp8(r, 2, 16, 128), "sfb", RandomTensors.scales(r, 2, 1, 1))
                .output("d", Tensor.zeros(DType.BF16, 2, 8, 16))
                .tensor("masked_m", Tensor.ofInts(new int[] {3, 8}, 2)).integer("expected_m", 4);
    }

    /** ks = {128, 256}, M = 16, N = 32; nt takes flat K-major blocks, tn [ΣK, M] and [ΣK, N]. */
    private static Args kGrouped(SplittableRandom r) {
        boolean tn = r.nextBoolean();
        Args a = new Args();
        a.ks = new int[] {128, 256};
        if (tn) {
            a.fp8("a", RandomTensors.fp8(r, 384, 16), "sfa", RandomTensors.scales(r, 3, 16))
                    .fp8("b", RandomTensors.fp8(r, 384, 32), "sfb", RandomTensors.scales(r, 3, 32));
        } else {
            a.fp8("a", RandomTensors.fp8(r, 384 * 16), "sfa", RandomTensors.scales(r, 16, 3))
                    .fp8("b", RandomTensors.fp8(r, 384 * 32), "sfb", RandomTensors.scales(r, 32, 3));
        }
        return a.output("d", Tensor.zeros(DType.FP32, 2, 16, 32))
                .tensor("c", RandomTensors.uniform(r, DType.FP32, 2, 16, 32))
                .tensor("ks_tensor", r.nextBoolean() ? null : Tensor.ofInts(new int[] {128, 256}, 2))
                .integer("tn", tn ? 1 : 0);
    }

    private static Args mqa(SplittableRandom r) {
        return new Args().tensor("q", RandomTensors.fp8(r, 6, 32, 64))
                .fp8("kv", RandomTensors.fp8(r, 50, 64), "kv_sf", RandomTensors.scales(r, 50))
                .tensor("weights", RandomTensors.uniform(r, DType.FP32, 6, 32))
                .tensor("ks", Tensor.ofInts(new int[] {0, 3, 10, 20, 49, 50}, 6))
                .tensor("ke", Tensor.ofInts(new int[] {5, 3, 40, 50, 50, 50}, 6))
                .integer("clean", r.nextInt(2)).integer("max_seqlen_k", 0)
                .integer("logits_dtype", r.nextBoolean() ? DType.FP32.ordinal() : DType.BF16.ordinal());
    }

    private static Tensor contextLens() {
        return Tensor.ofInts(new int[] {10, 11, 0, 200, 130, 64}, 3, 2);
    }

    private static Args pagedMetadata(SplittableRandom r) {
        return new Args().tensor("context_lens", contextLens()).integer("block_kv", 64).integer("num_sms", 8);
    }

    /** B = 3, next_n = 2, H = 32, D = 64, pages of 64 tokens, 9 pages in the cache, 4 per sequence. */
    private static Args paged(SplittableRandom r) {
        Tensor cache = Tensor.zeros(DType.UINT8, 9, 64, 1, 68);
        cache.forEachOffset(off -> cache.hostSegment().set(ValueLayout.JAVA_BYTE, off, RandomTensors.randomFp8Code(r)));
        for (int blk = 0; blk < 9; blk++) {
            for (int slot = 0; slot < 64; slot++) {
                cache.hostSegment().set(ValueLayout.JAVA_FLOAT_UNALIGNED, blk * 64L * 68 + 64L * 64 + 4L * slot, 0.01f);
            }
        }
        Tensor lens = contextLens();
        return new Args().tensor("q", RandomTensors.fp8(r, 3, 2, 32, 64)).tensor("kv_cache", cache)
                .tensor("weights", RandomTensors.uniform(r, DType.FP32, 6, 32)).tensor("context_lens", lens)
                .tensor("block_table", Tensor.ofInts(new int[] {4, -1, -1, -1, 0, 8, 2, 6, 1, 3, 5, -1}, 3, 4))
                .tensor("schedule_meta", DeepGemm.getPagedMqaLogitsMetadata(lens, 64, DeepGemm.getNumSms()))
                .integer("max_context_len", 200).integer("clean", r.nextInt(2))
                .integer("logits_dtype", DType.FP32.ordinal());
    }

    private static Args quantize(SplittableRandom r) {
        return new Args().tensor("x", RandomTensors.uniform(r, r.nextBoolean() ? DType.FP32 : DType.BF16, 5, 200))
                .integer("kind", r.nextInt(3)).integer("ue8m0", r.nextInt(2));
    }

    /** sf: FP32 scales [MN = 40, ceil(K / 128) = 2] of a K = 256 operand. */
    private static Args scaleLayout(SplittableRandom r) {
        return new Args().tensor("sf", RandomTensors.scales(r, 40, 2)).integer("kind", r.nextInt(4))
                .integer("mn", 40).integer("k", 256).integer("element_size", 4).integer("recipe", 1)
                .integer("num_groups", 1).integer("is_sfa", 1).integer("disable_ue8m0", 1);
    }

    // ------------------------------------------------------------------ breaking them

    /** Breaks one argument of {@code a}; returns what it did, for the failure message. */
    private static String mutate(Args a, SplittableRandom r) {
        List<String> names = new ArrayList<>(a.tensors.keySet());
        boolean onInt = names.isEmpty() || (!a.ints.isEmpty() && r.nextInt(5) == 0);
        if (a.ks != null && r.nextInt(6) == 0) {
            return mutateKs(a, r);
        }
        if (onInt) {
            List<String> ints = new ArrayList<>(a.ints.keySet());
            String name = ints.get(r.nextInt(ints.size()));
            int v = NASTY_INTS[r.nextInt(NASTY_INTS.length)];
            a.ints.put(name, v);
            return name + " = " + v;
        }
        String name = names.get(r.nextInt(names.size()));
        Tensor t = a.t(name);
        try {
            return mutateTensor(a, r, names, name, t);
        } catch (IllegalStateException closedByAnEarlierMutation) {
            return "nothing";
        }
    }

    private static String mutateTensor(Args a, SplittableRandom r, List<String> names, String name, Tensor t) {
        if (t == null) {
            Tensor like = a.t(a.outputs.isEmpty() ? names.get(0) : a.outputs.get(0));
            a.tensors.put(name, RandomTensors.uniform(r, DType.FP32, like == null ? new long[] {4} : like.shape()));
            return name + " given";
        }
        switch (r.nextInt(11)) {
            case 0 -> {
                DType other = DType.values()[r.nextInt(DType.values().length)];
                a.tensors.put(name, randomTensor(r, other, t.shape()));
                return name + " as " + other;
            }
            case 1 -> {
                if (t.dim() == 0) {
                    return "nothing";
                }
                long[] shape = t.shape().clone();
                int d = r.nextInt(shape.length);
                long[] sizes = {0, 1, shape[d] - 1, shape[d] + 1, 2 * shape[d], shape[d] + 128};
                shape[d] = Math.max(0, sizes[r.nextInt(sizes.length)]);
                a.tensors.put(name, randomTensor(r, t.dtype(), shape));
                return name + " shape " + Arrays.toString(shape);
            }
            case 2 -> {
                long[] shape = new long[t.dim() + 1];
                shape[0] = 1 + r.nextInt(2);
                System.arraycopy(t.shape(), 0, shape, 1, t.dim());
                a.tensors.put(name, randomTensor(r, t.dtype(), shape));
                return name + " one more dim " + Arrays.toString(shape);
            }
            case 3 -> {
                if (t.dim() < 1 || t.size(0) == 0) {
                    return "nothing";
                }
                a.tensors.put(name, t.select(0, 0));
                return name + " one dim less";
            }
            case 4 -> {
                if (t.dim() < 2) {
                    return "nothing";
                }
                long[] swapped = t.shape().clone();
                int last = swapped.length - 1;
                long tmp = swapped[last];
                swapped[last] = swapped[last - 1];
                swapped[last - 1] = tmp;
                Tensor transposed = randomTensor(r, t.dtype(), swapped).transpose(last - 1, last);
                a.tensors.put(name, transposed);
                return name + " transposed strides";
            }
            case 5 -> {
                if (t.dim() < 1 || t.size(0) < 2) {
                    return "nothing";
                }
                long[] strides = t.strides().clone();
                strides[0] = 0;
                a.tensors.put(name, t.asStrided(t.shape(), strides, t.offset()));
                return name + " rows aliased (stride 0)";
            }
            case 6 -> {
                Tensor flat = randomTensor(r, t.dtype(), t.numel() + 1);
                long[] strides = Tensor.contiguousStrides(t.shape());
                a.tensors.put(name, flat.asStrided(t.shape(), strides, 1));
                return name + " at offset 1";
            }
            case 7 -> {
                String other = names.get(r.nextInt(names.size()));
                if (a.t(other) == null) {
                    return "nothing";
                }
                a.tensors.put(name, a.t(other));
                return name + " = " + other;
            }
            case 8 -> {
                // Fp8Tensor's constructor refuses null scales, so the whole operand becomes null.
                String data = a.fp8Scales.entrySet().stream().filter(e -> e.getValue().equals(name))
                        .map(Map.Entry::getKey).findFirst().orElse(name);
                a.tensors.put(data, null);
                return data + " null";
            }
            case 9 -> {
                Tensor copy = t.contiguousCopy();
                a.tensors.put(name, copy);
                copy.close();
                return name + " closed";
            }
            default -> {
                Tensor copy = t.contiguousCopy();
                if (copy.numel() == 0) {
                    return "nothing";
                }
                long[] index = new long[copy.dim()];
                for (int d = 0; d < index.length; d++) {
                    index[d] = r.nextLong(copy.size(d));
                }
                if (copy.dtype() == DType.FP8_E4M3 || copy.dtype() == DType.UINT8) {
                    byte v = (byte) r.nextInt(256);  // NaN codes included
                    copy.setByte(v, index);
                    a.tensors.put(name, copy);
                    return name + Arrays.toString(index) + " = byte " + v;
                }
                if (copy.dtype() == DType.INT32 || copy.dtype() == DType.UE8M0_PACKED) {
                    int v = NASTY_INTS[r.nextInt(NASTY_INTS.length)];
                    copy.setInt(v, index);
                    a.tensors.put(name, copy);
                    return name + Arrays.toString(index) + " = " + v;
                }
                float[] values = {Float.NaN, Float.POSITIVE_INFINITY, -1f, 0f, 1e30f};
                float v = values[r.nextInt(values.length)];
                copy.setFloat(v, index);
                a.tensors.put(name, copy);
                return name + Arrays.toString(index) + " = " + v;
            }
        }
    }

    private static String mutateKs(Args a, SplittableRandom r) {
        if (r.nextInt(4) == 0) {
            a.ks = r.nextBoolean() ? null : new int[] {128, 256, 128};
            return "ks " + Arrays.toString(a.ks);
        }
        int[] ks = a.ks.clone();
        int i = r.nextInt(ks.length);
        ks[i] = NASTY_INTS[r.nextInt(NASTY_INTS.length)];
        a.ks = ks;
        return "ks " + Arrays.toString(ks);
    }

    /** Random contents of any dtype: FP8 codes, small floats, small ints, raw bytes. */
    private static Tensor randomTensor(SplittableRandom r, DType dtype, long... shape) {
        return switch (dtype) {
            case FP8_E4M3 -> RandomTensors.fp8(r, shape);
            case BF16, FP32 -> RandomTensors.uniform(r, dtype, shape);
            default -> {
                Tensor t = Tensor.zeros(dtype, shape);
                t.forEachOffset(off -> {
                    for (int b = 0; b < dtype.byteSize(); b++) {
                        t.hostSegment().set(ValueLayout.JAVA_BYTE, off * dtype.byteSize() + b,
                                (byte) r.nextInt(dtype == DType.INT32 ? 2 : 256));
                    }
                });
                yield t;
            }
        };
    }
}
