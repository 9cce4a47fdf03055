package dev.deepgemm4j.gpu;

import dev.deepgemm4j.cuda.TensorMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The TMA descriptors the Hopper launchers pass, memoised by their arguments. Encoding one costs several
 * microseconds, and a small GEMM needs four or five: more than the rest of its host path. A descriptor holds only its
 * arguments, so a hit is exact whatever memory is at the address now. Every map is tiled with unit element strides,
 * no interleave, 256-byte L2 promotion and zero out-of-bounds fill, rank 2 or 3.
 */
final class TensorMaps {

    /** Bounds the memo; steady-state callers reuse a handful of buffers, so a full memo is simply dropped. */
    private static final int MAX_MAPS = 4096;
    private static final Map<Key, TensorMap> MAPS = new ConcurrentHashMap<>();

    /** Every argument of an encoded map (rank 2: dim2 = 1, stride1 = 0, box2 = 1). */
    private record Key(TensorMap.DataType type, long address, int rank, long dim0, long dim1, long dim2,
            long stride0, long stride1, int box0, int box1, int box2, TensorMap.Swizzle swizzle) {
    }

    private TensorMaps() {
    }

    /**
     * A 2-D map of rows: {@code outer} rows of {@code inner} elements, {@code pitchBytes} apart, read in boxes of
     * {@code boxInner × boxOuter}.
     */
    static TensorMap rows(TensorMap.DataType type, long address, long inner, long outer, long pitchBytes,
            int boxInner, int boxOuter, TensorMap.Swizzle swizzle) {
        return get(new Key(type, address, 2, inner, outer, 1, pitchBytes, 0, boxInner, boxOuter, 1, swizzle));
    }

    /** A 3-D map: dims innermost first, the byte strides of dims 1 and 2, boxes of {@code box0 × box1 × box2}. */
    static TensorMap rank3(TensorMap.DataType type, long address, long dim0, long dim1, long dim2, long stride1,
            long stride2, int box0, int box1, int box2, TensorMap.Swizzle swizzle) {
        return get(new Key(type, address, 3, dim0, dim1, dim2, stride1, stride2, box0, box1, box2, swizzle));
    }

    private static TensorMap get(Key key) {
        TensorMap map = MAPS.get(key);
        if (map == null) {
            if (MAPS.size() >= MAX_MAPS) {
                MAPS.clear();
            }
            map = key.rank() == 2
                    ? TensorMap.encodeTiled(key.type(), key.address(), new long[] {key.dim0(), key.dim1()},
                            new long[] {key.stride0()}, new int[] {key.box0(), key.box1()}, new int[] {1, 1},
                            TensorMap.Interleave.NONE, key.swizzle(), TensorMap.L2Promotion.B256,
                            TensorMap.OobFill.NONE)
                    : TensorMap.encodeTiled(key.type(), key.address(), new long[] {key.dim0(), key.dim1(), key.dim2()},
                            new long[] {key.stride0(), key.stride1()}, new int[] {key.box0(), key.box1(), key.box2()},
                            new int[] {1, 1, 1}, TensorMap.Interleave.NONE, key.swizzle(), TensorMap.L2Promotion.B256,
                            TensorMap.OobFill.NONE);
            MAPS.put(key, map);
        }
        return map;
    }
}
