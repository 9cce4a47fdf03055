package dev.deepgemm4j.djl;

import ai.djl.BaseModel;
import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A {@link ai.djl.Model} of {@link DeepGemmEngine}: a DJL block (e.g. built from {@link Fp8Linear} and {@link Fp8Moe})
 * whose parameters live in this engine's memory. There is no model file format of its own: set the block, then
 * {@link #load} reads the parameters DJL's {@code save} wrote ({@code <prefix>-<epoch>.params}).
 */
final class DeepGemmModel extends BaseModel {

    DeepGemmModel(String name, Device device) {
        super(name);
        manager = DeepGemmEngine.getInstance().newBaseManager(device);
        manager.setName("model");
        dataType = DataType.FLOAT32;
    }

    @Override
    public void load(Path modelPath, String prefix, Map<String, ?> options)
            throws IOException, MalformedModelException {
        if (block == null) {
            throw new IllegalStateException(DeepGemmEngine.ENGINE_NAME
                    + " models are DJL blocks: call setBlock with the model's block before load");
        }
        setModelDir(modelPath);
        wasLoaded = true;
        loadBlock(prefix == null ? modelName : prefix, options);
    }
}
