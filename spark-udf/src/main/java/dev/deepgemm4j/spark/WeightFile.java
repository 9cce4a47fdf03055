package dev.deepgemm4j.spark;

import dev.deepgemm4j.DType;
import dev.deepgemm4j.Tensor;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * A file of named host tensors, the on-disk form of a weight set. Layout: the magic {@code DGW1}; the tensor count
 * (int); per tensor its name (modified UTF-8), dtype name, rank (int), dims (longs) and then its elements, row-major,
 * little-endian. Header integers are big-endian ({@link DataOutputStream}).
 *
 * <p>A file is identified by its SHA-256 ({@link #checksum(String)}): executors verify it while loading, so a
 * weight set that changed after it was registered is refused instead of silently mixed.
 *
 * <p>URIs are read through Hadoop's {@code FileSystem} (so {@code file:}, {@code hdfs:}, {@code s3a:} all work); a
 * plain path means a local file.
 */
public final class WeightFile {

    private static final int MAGIC = 0x44475731; // "DGW1"
    private static final int MAX_RANK = 8;
    private static final int COPY_CHUNK = 1 << 20;

    private WeightFile() {
    }

    /** Writes {@code tensors} (host tensors, any strides) to {@code path}. */
    public static void write(Path path, Map<String, Tensor> tensors) throws IOException {
        requireLittleEndianHost();
        Files.createDirectories(path.toAbsolutePath().getParent());
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(path),
                COPY_CHUNK))) {
            out.writeInt(MAGIC);
            out.writeInt(tensors.size());
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = e.getValue();
                out.writeUTF(e.getKey());
                out.writeUTF(t.dtype().name());
                out.writeInt(t.dim());
                for (long s : t.shape()) {
                    out.writeLong(s);
                }
                try (Tensor dense = t.isContiguous() ? null : t.contiguousCopy()) {
                    Tensor src = dense != null ? dense : t;
                    MemorySegment seg = src.hostSegment().asSlice(src.offset() * t.dtype().byteSize(),
                            src.numel() * t.dtype().byteSize());
                    copy(seg, out);
                }
            }
        }
    }

    /** Reads the tensors of {@code uri} into host memory, checking the file's SHA-256 against {@code checksum}. */
    public static Map<String, Tensor> read(String uri, String checksum) {
        MessageDigest sha = sha256();
        Map<String, Tensor> tensors;
        try (InputStream raw = open(uri)) {
            tensors = read(new DigestInputStream(raw, sha), uri);
        } catch (IOException e) {
            throw new UncheckedIOException("weights " + uri + ": cannot read", e);
        }
        String actual = HexFormat.of().formatHex(sha.digest());
        if (checksum != null && !checksum.equalsIgnoreCase(actual)) {
            tensors.values().forEach(Tensor::close);
            throw new IllegalStateException("weights " + uri + ": SHA-256 is " + actual + " but " + checksum
                    + " was registered (the file changed after registration?)");
        }
        return tensors;
    }

    /** The SHA-256 of the file at {@code uri}, in hex. */
    public static String checksum(String uri) {
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(open(uri), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException("weights " + uri + ": cannot read", e);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The names and shapes of the tensors at {@code uri}, reading only the headers. */
    public static Map<String, long[]> shapes(String uri) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(open(uri), COPY_CHUNK))) {
            if (in.readInt() != MAGIC) {
                throw new IOException("weights " + uri + ": not a deepgemm4j weight file (bad magic)");
            }
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                String name = in.readUTF();
                DType dtype = DType.valueOf(in.readUTF());
                long[] shape = new long[in.readInt()];
                long bytes = dtype.byteSize();
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = in.readLong();
                    bytes *= shape[d];
                }
                shapes.put(name, shape);
                in.skipNBytes(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("weights " + uri + ": cannot read", e);
        }
        return shapes;
    }

    private static Map<String, Tensor> read(InputStream raw, String uri) throws IOException {
        requireLittleEndianHost();
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, COPY_CHUNK));
        if (in.readInt() != MAGIC) {
            throw new IOException("weights " + uri + ": not a deepgemm4j weight file (bad magic)");
        }
        int count = in.readInt();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try {
            for (int i = 0; i < count; i++) {
                String name = in.readUTF();
                DType dtype = DType.valueOf(in.readUTF());
                int rank = in.readInt();
                if (rank < 0 || rank > MAX_RANK) {
                    throw new IOException("weights " + uri + ": tensor " + name + " has rank " + rank);
                }
                long[] shape = new long[rank];
                for (int d = 0; d < rank; d++) {
                    shape[d] = in.readLong();
                }
                Tensor t = Tensor.zeros(dtype, shape);
                tensors.put(name, t);
                MemorySegment seg = t.hostSegment();
                byte[] chunk = new byte[COPY_CHUNK];
                for (long pos = 0, size = t.numel() * dtype.byteSize(); pos < size;) {
                    int n = (int) Math.min(chunk.length, size - pos);
                    in.readFully(chunk, 0, n);
                    MemorySegment.copy(MemorySegment.ofArray(chunk), 0, seg, pos, n);
                    pos += n;
                }
            }
            if (in.read() != -1) {
                throw new IOException("weights " + uri + ": trailing bytes after " + count + " tensors");
            }
        } catch (EOFException e) {
            tensors.values().forEach(Tensor::close);
            throw new IOException("weights " + uri + ": truncated", e);
        } catch (IOException | RuntimeException e) {
            tensors.values().forEach(Tensor::close);
            throw e;
        }
        return tensors;
    }

    private static InputStream open(String uri) throws IOException {
        URI parsed = URI.create(uri);
        if (parsed.getScheme() == null) {
            return Files.newInputStream(Path.of(uri));
        }
        org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(parsed);
        return path.getFileSystem(new Configuration()).open(path);
    }

    private static void copy(MemorySegment seg, OutputStream out) throws IOException {
        byte[] chunk = new byte[COPY_CHUNK];
        for (long pos = 0; pos < seg.byteSize();) {
            int n = (int) Math.min(chunk.length, seg.byteSize() - pos);
            MemorySegment.copy(seg, pos, MemorySegment.ofArray(chunk), 0, n);
            out.write(chunk, 0, n);
            pos += n;
        }
    }

    private static void requireLittleEndianHost() {
        // Host tensors hold native-order elements and the file is little-endian.
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("weight files need a little-endian host");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
