package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.Tensor;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weight files: round trip, checksums, damaged files. */
class WeightFileTest {

    @TempDir
    Path dir;

    @Test
    void aModelRoundTripsBitForBitThroughAFileUri() throws Exception {
        Path file = dir.resolve("m.dgw");
        try (MoeModel model = MoeModel.generate(5, 3, 128, 128)) {
            WeightFile.write(file, model.toTensors());
            WeightRef ref = WeightRef.of(file.toUri().toString());
            try (MoeModel back = MoeModel.fromTensors(WeightFile.read(ref.uri(), ref.checksum()))) {
                assertArrayEquals(model.w13().data().toByteArray(), back.w13().data().toByteArray());
                assertArrayEquals(model.w13().scales().toFloatArray(), back.w13().scales().toFloatArray());
                assertArrayEquals(model.w2().data().toByteArray(), back.w2().data().toByteArray());
                assertArrayEquals(model.w2().scales().toFloatArray(), back.w2().scales().toFloatArray());
                assertArrayEquals(model.router().toFloatArray(), back.router().toFloatArray());
                assertEquals(Arrays.toString(model.w2().data().shape()), Arrays.toString(back.w2().data().shape()));
            }
            assertEquals(ref.checksum(), WeightFile.checksum(file.toString()), "path and file: URI agree");
        }
    }

    @Test
    void aChangedFileIsRefusedAgainstItsRegisteredChecksum() throws Exception {
        Path file = dir.resolve("w.dgw");
        WeightSets.writeGemmWeights(file, new float[] {1, 2, 3, 4}, 2, 2);
        String before = WeightFile.checksum(file.toString());
        WeightSets.writeGemmWeights(file, new float[] {1, 2, 3, 5}, 2, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> WeightFile.read(file.toString(), before));
        assertTrue(e.getMessage().contains("changed after registration"), e.getMessage());
    }

    @Test
    void truncatedOrForeignFilesGiveAClearError() throws Exception {
        Path file = dir.resolve("t.dgw");
        try (Tensor t = Tensor.ofFloats(new float[] {1, 2, 3}, 3)) {
            WeightFile.write(file, Map.of("x", t));
        }
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 2));
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> WeightFile.read(file.toString(), null));
        assertTrue(e.getCause().getMessage().contains("truncated"), e.getCause().getMessage());
        Files.writeString(file, "not weights");
        e = assertThrows(UncheckedIOException.class, () -> WeightFile.read(file.toString(), null));
        assertTrue(e.getCause().getMessage().contains("bad magic"), e.getCause().getMessage());
    }
}
