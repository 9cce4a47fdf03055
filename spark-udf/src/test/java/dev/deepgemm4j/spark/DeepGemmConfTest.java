package dev.deepgemm4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.GpuTarget;
import dev.deepgemm4j.Location;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** Reading and validating the spark.deepgemm4j.* keys. */
class DeepGemmConfTest {

    @Test
    void absentKeysGiveTheDocumentedDefaults() {
        assertEquals(DeepGemmConf.DEFAULT, DeepGemmConf.from(new SparkConf(false)));
        assertEquals(GpuTarget.H100_SXM, DeepGemmConf.DEFAULT.jitTarget());
    }

    @Test
    void keysAreReadAndNormalised() {
        DeepGemmConf conf = DeepGemmConf.from(new SparkConf(false).set(DeepGemmConf.DEVICE, " CUDA:1 ")
                .set(DeepGemmConf.CONCURRENT_GPU_TASKS, "3").set(DeepGemmConf.JIT_PRECOMPILE, "True")
                .set(DeepGemmConf.JIT_SHIP, "false").set(DeepGemmConf.JIT_CACHE_DIR, "/c/{executor}")
                .set(DeepGemmConf.JIT_COMPILER, "NVCC").set(DeepGemmConf.JIT_COMPUTE_CAPABILITY, "10.0")
                .set(DeepGemmConf.JIT_NUM_SMS, "148"));
        assertEquals(new DeepGemmConf("cuda:1", 3, "true", false, "/c/{executor}", "nvcc", "10.0", 148), conf);
        assertEquals(Location.cuda(1), DeepGemmConf.fixedGpu(conf.device()));
        assertEquals(new GpuTarget(10, 0, 148), conf.jitTarget());
    }

    @Test
    void badValuesNameTheKey() {
        for (String[] bad : new String[][] {{DeepGemmConf.DEVICE, "gpu"}, {DeepGemmConf.DEVICE, "cuda:-1"},
            {DeepGemmConf.CONCURRENT_GPU_TASKS, "0"}, {DeepGemmConf.JIT_PRECOMPILE, "maybe"},
            {DeepGemmConf.JIT_COMPILER, "clang"}, {DeepGemmConf.JIT_COMPUTE_CAPABILITY, "sm_90"},
            {DeepGemmConf.JIT_NUM_SMS, "0"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DeepGemmConf.from(new SparkConf(false).set(bad[0], bad[1])), bad[0] + "=" + bad[1]);
            assertTrue(e.getMessage().startsWith(bad[0] + " must"), e.getMessage());
        }
    }
}
