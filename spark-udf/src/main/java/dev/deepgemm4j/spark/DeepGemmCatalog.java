package dev.deepgemm4j.spark;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.spark.sql.catalyst.analysis.NoSuchFunctionException;
import org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException;
import org.apache.spark.sql.connector.catalog.FunctionCatalog;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.functions.UnboundFunction;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * deepgemm4j's SQL functions as a Spark function catalog. One config line enables it under a name of your choice:
 * {@code spark.sql.catalog.dg=dev.deepgemm4j.spark.DeepGemmCatalog}; then {@code SELECT dg.fp8_quantize(x) FROM t}.
 * The functions (each class documents its types):
 *
 * <ul>
 *   <li>{@code fp8_quantize(x)} / {@code fp8_dequantize(q)}: per-token FP8 ({@link QuantizeFunction},
 *       {@link DequantizeFunction});</li>
 *   <li>{@code fp8_quantize_block(x, cols)} / {@code fp8_dequantize_block(q, cols)}: per-block FP8 of a matrix
 *       ({@link QuantizeBlockFunction}, {@link DequantizeBlockFunction});</li>
 *   <li>{@code fp8_gemm(weights, x)}: a row against a registered weight set ({@link GemmFunction});</li>
 *   <li>{@code fp8_mqa_logits(q, kv, weights)}: the MQA indexer for a row ({@link MqaLogitsFunction});</li>
 *   <li>{@code fp8_e4m3_encode(x)} / {@code fp8_e4m3_decode(codes)}: raw E4M3 codes ({@link E4m3EncodeFunction},
 *       {@link E4m3DecodeFunction}).</li>
 * </ul>
 *
 * <p>{@link Fp8Functions#register} registers the same functions as session functions with unqualified names.
 */
public final class DeepGemmCatalog implements FunctionCatalog {

    /** Every function, by SQL name. */
    static final Map<String, Supplier<SqlFunction>> FUNCTIONS = List.<Supplier<SqlFunction>>of(
            QuantizeFunction::new, QuantizeBlockFunction::new, DequantizeFunction::new, DequantizeBlockFunction::new,
            GemmFunction::new, MqaLogitsFunction::new, E4m3EncodeFunction::new, E4m3DecodeFunction::new).stream()
            .collect(Collectors.toUnmodifiableMap(s -> s.get().name(), s -> s));

    private String name;

    @Override
    public void initialize(String name, CaseInsensitiveStringMap options) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Identifier[] listFunctions(String[] namespace) throws NoSuchNamespaceException {
        if (namespace.length != 0) {
            throw new NoSuchNamespaceException(namespace);
        }
        return FUNCTIONS.keySet().stream().sorted().map(f -> Identifier.of(new String[0], f))
                .toArray(Identifier[]::new);
    }

    @Override
    public UnboundFunction loadFunction(Identifier ident) throws NoSuchFunctionException {
        Supplier<SqlFunction> f = ident.namespace().length == 0
                ? FUNCTIONS.get(ident.name().toLowerCase(Locale.ROOT)) : null;
        if (f == null) {
            throw new NoSuchFunctionException(ident);
        }
        return f.get();
    }

    @Override
    public String toString() {
        return "DeepGemmCatalog(" + name + ": " + Arrays.toString(FUNCTIONS.keySet().toArray()) + ")";
    }
}
