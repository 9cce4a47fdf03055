package dev.deepgemm4j;

import dev.deepgemm4j.cuda.CudaGraph;
import dev.deepgemm4j.gpu.CurrentStream;
import java.util.Objects;

/**
 * GPU work captured once with {@link Gpu#capture} and replayed with one launch per call: the kernels run again with
 * the arguments they were captured with (same tensors, same shapes), reading the tensors' current contents. Replays
 * are queued like any other operation; {@link #close()} frees the graph.
 */
public final class GpuGraph implements AutoCloseable {

    private final CudaGraph graph;
    private final int device;

    GpuGraph(CudaGraph graph, int device) {
        this.graph = graph;
        this.device = device;
    }

    /** Queues one replay on the calling thread's current stream of the graph's GPU. */
    public void replay() {
        graph.launch(CurrentStream.of(device));
    }

    /** Queues one replay on {@code stream} (of the graph's GPU). */
    public void replay(GpuStream stream) {
        Objects.requireNonNull(stream, "stream");
        if (stream.device() != device) {
            throw new IllegalArgumentException("the graph was captured on cuda:" + device + ", the stream is on cuda:"
                    + stream.device());
        }
        graph.launch(stream.cudaStream());
    }

    /** The GPU the graph runs on. */
    public int device() {
        return device;
    }

    /** Frees the graph (idempotent); replays already queued still run. */
    @Override
    public void close() {
        graph.close();
    }
}
