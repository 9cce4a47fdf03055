package dev.deepgemm4j.cuda;

import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.JCudaDriver;

/**
 * An instantiated CUDA graph captured from a stream: capture once, replay with one {@link #launch} per step (how
 * masked grouped GEMMs are used in MoE decoding). Capture uses thread-local mode, so other threads of the JVM may
 * keep calling CUDA while this thread captures; the captured code itself must not make synchronous calls (allocate
 * with {@link DeviceMemory#allocateAsync} on the captured stream, or before the capture).
 */
public final class CudaGraph implements AutoCloseable {

    /** {@code CU_STREAM_CAPTURE_MODE_THREAD_LOCAL}. */
    private static final int CAPTURE_THREAD_LOCAL = 1;

    private final CudaContext context;
    private final CUgraph graph;
    private final CUgraphExec exec;
    private boolean closed;

    private CudaGraph(CudaContext context, CUgraph graph, CUgraphExec exec) {
        this.context = context;
        this.graph = graph;
        this.exec = exec;
    }

    /** Starts capturing the work queued on {@code stream} (which must not be the legacy default stream). */
    public static void beginCapture(CudaStream stream) {
        if (stream.rawHandle() == 0) {
            throw new IllegalArgumentException("the legacy default stream cannot be captured; use a created stream");
        }
        stream.context().makeCurrent();
        CudaException.check(JCudaDriver.cuStreamBeginCapture(stream.handle(), CAPTURE_THREAD_LOCAL),
                "cuStreamBeginCapture on cuda:" + stream.ordinal());
    }

    /** Ends the capture on {@code stream} and instantiates the captured graph. */
    public static CudaGraph endCapture(CudaStream stream) {
        stream.context().makeCurrent();
        CUgraph graph = new CUgraph();
        CudaException.check(JCudaDriver.cuStreamEndCapture(stream.handle(), graph), "cuStreamEndCapture");
        CUgraphExec exec = new CUgraphExec();
        int r = JCudaDriver.cuGraphInstantiate(exec, graph, 0);
        if (r != CudaException.SUCCESS) {
            JCudaDriver.cuGraphDestroy(graph);
            throw new CudaException("cuGraphInstantiate", r);
        }
        return new CudaGraph(stream.context(), graph, exec);
    }

    /**
     * Captures what {@code work} queues on {@code stream} and instantiates it. If {@code work} throws, the capture
     * is ended and discarded and the exception propagates.
     */
    public static CudaGraph capture(CudaStream stream, Runnable work) {
        beginCapture(stream);
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            CUgraph partial = new CUgraph();
            if (JCudaDriver.cuStreamEndCapture(stream.handle(), partial) == CudaException.SUCCESS) {
                JCudaDriver.cuGraphDestroy(partial);
            }
            throw e;
        }
        return endCapture(stream);
    }

    /** Queues one replay of the graph on {@code stream}. */
    public void launch(CudaStream stream) {
        if (closed) {
            throw new IllegalStateException("graph is closed");
        }
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuGraphLaunch(exec, stream.handle()), "cuGraphLaunch on cuda:"
                + context.ordinal());
    }

    /** Destroys the executable graph and the graph (idempotent). */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            CudaException.check(JCudaDriver.cuGraphExecDestroy(exec), "cuGraphExecDestroy");
            CudaException.check(JCudaDriver.cuGraphDestroy(graph), "cuGraphDestroy");
        }
    }
}
