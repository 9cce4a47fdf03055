package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.deepgemm4j.DeepGemmArgumentException;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.function.Executable;

/** Assertions shared by the Spark tests. */
final class SparkAssertions {

    private SparkAssertions() {
    }

    /**
     * Runs {@code job}, which must fail because of a {@link DeepGemmArgumentException} naming {@code argument} and
     * saying {@code says}; returns it.
     */
    static DeepGemmArgumentException assertBadRow(Executable job, String argument, String says) {
        Throwable thrown = assertThrows(Throwable.class, job);
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof DeepGemmArgumentException e) {
                assertEquals(argument, e.argument(), e.getMessage());
                assertTrue(e.getMessage().contains(says), e.getMessage());
                return e;
            }
        }
        return fail("no DeepGemmArgumentException in the causes of " + thrown, thrown);
    }

    /** An array value of a collected row as floats. */
    static float[] floats(Row row, int i) {
        List<Object> values = row.getList(i);
        float[] out = new float[values.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = ((Number) values.get(j)).floatValue();
        }
        return out;
    }

    /** A float array as the boxed list Spark's external rows take. */
    static List<Float> boxed(float[] v) {
        java.util.ArrayList<Float> out = new java.util.ArrayList<>(v.length);
        for (float x : v) {
            out.add(x);
        }
        return out;
    }
}
