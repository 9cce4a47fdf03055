package dev.deepgemm4j.djl;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineProvider;

/**
 * Registers {@link DeepGemmEngine} with DJL through {@code META-INF/services/ai.djl.engine.EngineProvider}. The engine
 * is created on first use, so merely having this jar on the classpath costs nothing.
 */
public final class DeepGemmEngineProvider implements EngineProvider {

    /** Used by {@link java.util.ServiceLoader}. */
    public DeepGemmEngineProvider() {
    }

    @Override
    public String getEngineName() {
        return DeepGemmEngine.ENGINE_NAME;
    }

    @Override
    public int getEngineRank() {
        return DeepGemmEngine.RANK;
    }

    @Override
    public Engine getEngine() {
        return DeepGemmEngine.getInstance();
    }
}
