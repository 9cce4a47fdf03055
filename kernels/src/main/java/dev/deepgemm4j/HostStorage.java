package dev.deepgemm4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Host memory from a shared arena, so that any thread may read it and the owner may free it early. */
final class HostStorage implements TensorStorage {

    /** 64-byte alignment keeps every row start usable by vectorised loops and by TMA-style checks. */
    private static final long ALIGNMENT = 64;

    private final Arena arena;
    private final MemorySegment segment;

    HostStorage(long byteSize) {
        this.arena = Arena.ofShared();
        this.segment = arena.allocate(Math.max(byteSize, 1), ALIGNMENT);
    }

    @Override
    public Location location() {
        return Location.HOST;
    }

    @Override
    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public long address() {
        return segment.address();
    }

    @Override
    public MemorySegment hostSegment() {
        return segment;
    }

    @Override
    public boolean isClosed() {
        return !arena.scope().isAlive();
    }

    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
