package dev.deepgemm4j.spark;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.api.java.UDF3;

/**
 * Registers deepgemm4j's SQL functions ({@link DeepGemmCatalog} lists them) as session functions with unqualified
 * names, in one call: {@code Fp8Functions.register(spark)}, then {@code SELECT fp8_quantize(x) FROM t} or
 * {@code functions.call_function("fp8_gemm", lit("proj"), col("x"))}. Same types, results and errors as the
 * catalog's functions.
 */
public final class Fp8Functions {

    private Fp8Functions() {
    }

    /** Registers every function as a temporary function of {@code spark}. */
    public static void register(SparkSession spark) {
        DeepGemmCatalog.FUNCTIONS.forEach((name, factory) -> {
            Udf udf = new Udf(factory.get());
            switch (udf.fn.inputTypes().length) {
                case 1 -> spark.udf().register(name, (UDF1<Object, Object>) udf, udf.fn.resultType());
                case 2 -> spark.udf().register(name, (UDF2<Object, Object, Object>) udf, udf.fn.resultType());
                case 3 -> spark.udf().register(name, (UDF3<Object, Object, Object, Object>) udf, udf.fn.resultType());
                default -> throw new IllegalStateException(name + ": no UDF arity for " + udf.fn.signature());
            }
        });
    }

    /** A function as a Java UDF of its arity. */
    private record Udf(SqlFunction fn) implements UDF1<Object, Object>, UDF2<Object, Object, Object>,
            UDF3<Object, Object, Object, Object> {

        @Override
        public Object call(Object a) {
            return fn.callExternal(a);
        }

        @Override
        public Object call(Object a, Object b) {
            return fn.callExternal(a, b);
        }

        @Override
        public Object call(Object a, Object b, Object c) {
            return fn.callExternal(a, b, c);
        }
    }
}
