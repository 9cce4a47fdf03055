package dev.deepgemm4j.spark;

import dev.deepgemm4j.DeepGemmArgumentException;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.catalog.functions.BoundFunction;
import org.apache.spark.sql.connector.catalog.functions.ScalarFunction;
import org.apache.spark.sql.connector.catalog.functions.UnboundFunction;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A deepgemm4j SQL function of fixed parameters: its own unbound and bound form (binding only checks the argument
 * types), computing on Java values ({@link #eval}) behind three entry points: typed {@code invoke} magic methods in
 * the subclasses, {@link #produceResult} (Spark's generic path), and {@link #callExternal} for session UDFs. A null
 * argument gives a null result; a bad value raises {@link DeepGemmArgumentException} naming the parameter.
 */
abstract class SqlFunction implements UnboundFunction, ScalarFunction<Object> {

    /** A parameter: its documented name and type. */
    record Param(String name, SqlType type) implements java.io.Serializable {
    }

    private final String name;
    private final String description;
    private final Param[] params;
    private final SqlType result;

    SqlFunction(String name, String description, SqlType result, Param... params) {
        this.name = name;
        this.description = description;
        this.result = result;
        this.params = params;
    }

    /** The result for non-null Java arguments. */
    abstract Object eval(Object[] args);

    /** A bad-input error naming {@code param}, in this function's words. */
    final DeepGemmArgumentException bad(String param, String rule) {
        return new DeepGemmArgumentException(param, signature() + ": " + rule);
    }

    final String signature() {
        return name + Arrays.stream(params).map(Param::name).collect(Collectors.joining(", ", "(", ")"));
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String description() {
        return signature() + " → " + result.dataType.simpleString() + ": " + description;
    }

    /** The SQL name, as plans and generated column names show the function. */
    @Override
    public final String toString() {
        return name;
    }

    @Override
    public final String canonicalName() {
        return "deepgemm4j." + name;
    }

    @Override
    public final BoundFunction bind(StructType inputType) {
        StructField[] fields = inputType.fields();
        if (fields.length != params.length) {
            throw new UnsupportedOperationException(signature() + " takes " + params.length + " argument(s), got "
                    + fields.length);
        }
        for (int i = 0; i < fields.length; i++) {
            if (!params[i].type().accepts(fields[i].dataType())) {
                throw new UnsupportedOperationException(signature() + ": argument " + (i + 1) + " ("
                        + params[i].name() + ") must be " + params[i].type().dataType.simpleString() + ", got "
                        + fields[i].dataType().simpleString());
            }
        }
        return this;
    }

    @Override
    public final DataType[] inputTypes() {
        return Arrays.stream(params).map(p -> p.type().dataType).toArray(DataType[]::new);
    }

    @Override
    public final DataType resultType() {
        return result.dataType;
    }

    @Override
    public Object produceResult(InternalRow input) {
        Object[] args = new Object[params.length];
        for (int i = 0; i < args.length; i++) {
            if (input.isNullAt(i)) {
                return null;
            }
            args[i] = input.get(i, params[i].type().dataType);
        }
        return call(args);
    }

    /** Internal arguments to internal result (the magic methods' body). */
    final Object call(Object... internal) {
        Object[] args = new Object[internal.length];
        for (int i = 0; i < args.length; i++) {
            if (internal[i] == null) {
                return null;
            }
            args[i] = params[i].type().fromInternal(internal[i], this, params[i].name());
        }
        return result.toInternal(eval(args));
    }

    /** External arguments to external result (the session UDFs' body). */
    final Object callExternal(Object... external) {
        Object[] args = new Object[external.length];
        for (int i = 0; i < args.length; i++) {
            if (external[i] == null) {
                return null;
            }
            args[i] = params[i].type().fromExternal(external[i], this, params[i].name());
        }
        return result.toExternal(eval(args));
    }

    static Param param(String name, SqlType type) {
        return new Param(name, type);
    }
}
