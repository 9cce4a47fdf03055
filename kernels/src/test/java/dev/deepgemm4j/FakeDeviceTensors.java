package dev.deepgemm4j;

import java.lang.foreign.MemorySegment;

/** Tensors that claim to live on a GPU but are never touched: only their location matters to the checks under test. */
final class FakeDeviceTensors {

    private FakeDeviceTensors() {
    }

    /** A contiguous tensor of {@code dtype} and {@code shape} on cuda:0. */
    static Tensor onDevice(DType dtype, long... shape) {
        long bytes = dtype.byteSize();
        for (long n : shape) {
            bytes *= n;
        }
        return Tensor.wrap(new Storage(bytes), dtype, shape, Tensor.contiguousStrides(shape), 0, false);
    }

    private record Storage(long byteSize) implements TensorStorage {
        @Override
        public Location location() {
            return Location.cuda(0);
        }

        @Override
        public long address() {
            return 0x1000;
        }

        @Override
        public MemorySegment hostSegment() {
            throw new UnsupportedOperationException("device memory");
        }

        @Override
        public boolean isClosed() {
            return false;
        }

        @Override
        public void close() {
        }
    }
}
