package dev.deepgemm4j.spark;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The SQL types the functions take and return, and their conversions between Spark's internal values (DSv2 magic
 * methods), Spark's external values (session UDFs: Scala sequences, {@link Row}s) and the Java values the functions
 * compute on ({@code float[]}, {@code byte[]}, {@code String}, {@code Integer}, {@link Quantized}).
 */
enum SqlType {
    /** {@code ARRAY<FLOAT>} ↔ {@code float[]} (null elements are rejected). */
    FLOATS(DataTypes.createArrayType(DataTypes.FloatType, true)),
    /** {@code BINARY} ↔ {@code byte[]}. */
    BINARY(DataTypes.BinaryType),
    /** {@code STRING} ↔ {@code String}. */
    STRING(DataTypes.StringType),
    /** {@code INT} ↔ {@code Integer}. */
    INT(DataTypes.IntegerType),
    /** {@code STRUCT<data: BINARY, scales: ARRAY<FLOAT>>} ↔ {@link Quantized}. */
    QUANTIZED(new StructType().add("data", DataTypes.BinaryType, true)
            .add("scales", DataTypes.createArrayType(DataTypes.FloatType, false), true));

    final DataType dataType;

    SqlType(DataType dataType) {
        this.dataType = dataType;
    }

    /** Whether an argument of type {@code actual} is accepted (numeric arrays are cast to float arrays). */
    boolean accepts(DataType actual) {
        return switch (this) {
            case FLOATS -> actual instanceof ArrayType a && (a.elementType() instanceof NumericType);
            case QUANTIZED -> actual instanceof StructType s && s.fields().length == 2
                    && s.fields()[0].dataType().equals(DataTypes.BinaryType)
                    && s.fields()[1].dataType() instanceof ArrayType a
                    && a.elementType().equals(DataTypes.FloatType);
            case INT -> actual.equals(DataTypes.IntegerType) || actual.equals(DataTypes.ShortType)
                    || actual.equals(DataTypes.ByteType);
            default -> actual.equals(dataType);
        };
    }

    /** The Java value of a non-null internal value. */
    Object fromInternal(Object v, SqlFunction fn, String param) {
        return switch (this) {
            case FLOATS -> floats((ArrayData) v, fn, param);
            case STRING -> v.toString();
            case QUANTIZED -> {
                InternalRow row = (InternalRow) v;
                if (row.isNullAt(0) || row.isNullAt(1)) {
                    throw fn.bad(param, "data and scales must not be null");
                }
                yield new Quantized(row.getBinary(0), floats(row.getArray(1), fn, param + ".scales"));
            }
            default -> v;
        };
    }

    /** The internal value of a non-null Java value. */
    Object toInternal(Object v) {
        return switch (this) {
            case FLOATS -> UnsafeArrayData.fromPrimitiveArray((float[]) v);
            case STRING -> UTF8String.fromString((String) v);
            case QUANTIZED -> {
                Quantized q = (Quantized) v;
                yield new GenericInternalRow(new Object[] {q.data(), UnsafeArrayData.fromPrimitiveArray(q.scales())});
            }
            default -> v;
        };
    }

    /** The Java value of a non-null external value. */
    Object fromExternal(Object v, SqlFunction fn, String param) {
        return switch (this) {
            case FLOATS -> floats(v, fn, param);
            case QUANTIZED -> {
                Row row = (Row) v;
                if (row.isNullAt(0) || row.isNullAt(1)) {
                    throw fn.bad(param, "data and scales must not be null");
                }
                yield new Quantized((byte[]) row.get(0), floats(row.get(1), fn, param + ".scales"));
            }
            case INT -> ((Number) v).intValue();
            default -> v;
        };
    }

    /** The external value of a non-null Java value. */
    Object toExternal(Object v) {
        return this == QUANTIZED ? RowFactory.create(((Quantized) v).data(), ((Quantized) v).scales()) : v;
    }

    private static float[] floats(ArrayData a, SqlFunction fn, String param) {
        float[] out = new float[a.numElements()];
        for (int i = 0; i < out.length; i++) {
            if (a.isNullAt(i)) {
                throw fn.bad(param, "element " + i + " is null");
            }
            out[i] = a.getFloat(i);
        }
        return out;
    }

    /** An external array: a Scala sequence (Spark's UDF input), a Java list or a float array. */
    private static float[] floats(Object v, SqlFunction fn, String param) {
        if (v instanceof float[] f) {
            return f;
        }
        List<?> list = v instanceof scala.collection.Seq<?> seq ? scala.jdk.javaapi.CollectionConverters.asJava(seq)
                : (List<?>) v;
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Number n)) {
                throw fn.bad(param, "element " + i + " is null");
            }
            out[i] = n.floatValue();
        }
        return out;
    }
}
