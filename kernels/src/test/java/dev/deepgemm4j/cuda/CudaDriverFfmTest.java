package dev.deepgemm4j.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;
import jcuda.driver.CUfunction_attribute;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The FFM driver binding, struct layouts and argument marshalling, checked against a fake libcuda built from the real
 * {@code cuda.h} (loaded in this JVM under a soname nothing else links to).
 */
class CudaDriverFfmTest {

    private static Path lib;
    private static CudaDriverFfm driver;
    private static FakeCudaLibraries.State fake;
    private static KernelLauncher launcher;

    @BeforeAll
    static void loadFake() {
        String why = FakeCudaLibraries.unavailable();
        assumeTrue(why == null, () -> "skipped: " + why);
        lib = FakeCudaLibraries.driver(FakeCudaLibraries.IN_PROCESS_SONAME);
        driver = CudaDriverFfm.open(lib.toString());
        fake = new FakeCudaLibraries.State(lib);
        launcher = new KernelLauncher(driver);
    }

    @Test
    void symbolsResolveThroughGetProcAddressWithTheCuda12AbiAndLegacyStreams() {
        assertTrue(driver.resolvedThroughProcAddress());
        assertTrue(fake.stat(5) >= 7, "queries: " + fake.stat(5));
        assertEquals(12000, fake.stat(6));
        assertEquals(1, fake.stat(7), "CU_GET_PROC_ADDRESS_LEGACY_STREAM");
        assertEquals(0, driver.init(0));
        assertEquals(13000, driver.driverVersion());
    }

    @Test
    void launchStructLayoutsMatchCudaH() {
        var cfg = LaunchArgs.LAUNCH_CONFIG;
        var attr = LaunchArgs.LAUNCH_ATTRIBUTE;
        assertEquals(fake.layout(0), cfg.byteSize());
        assertEquals(56, cfg.byteSize());
        assertEquals(fake.layout(1), cfg.byteOffset(groupElement("sharedMemBytes")));
        assertEquals(fake.layout(2), cfg.byteOffset(groupElement("hStream")));
        assertEquals(fake.layout(3), cfg.byteOffset(groupElement("attrs")));
        assertEquals(fake.layout(4), cfg.byteOffset(groupElement("numAttrs")));
        assertEquals(fake.layout(5), attr.byteSize());
        assertEquals(72, attr.byteSize());
        assertEquals(fake.layout(6), attr.byteOffset(groupElement("value")));
        for (int i = 0; i < 3; i++) {
            assertEquals(fake.layout(7 + i), attr.byteOffset(groupElement("value"), groupElement("clusterDim"),
                    groupElement(new String[] {"x", "y", "z"}[i])));
        }
        assertEquals(fake.layout(10), attr.byteOffset(groupElement("value"),
                groupElement("programmaticStreamSerializationAllowed")));
        assertEquals(fake.layout(11), TensorMap.BYTES);
        assertEquals(fake.layout(12), TensorMap.ALIGNMENT);
        assertEquals(fake.layout(13), LaunchArgs.ATTRIBUTE_CLUSTER_DIMENSION);
        assertEquals(fake.layout(14), LaunchArgs.ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        assertEquals(fake.layout(15), CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
    }

    @Test
    void plainLaunchPassesEveryParameterKindByValue() {
        SplittableRandom rng = new SplittableRandom(11);
        long fn = fake.makeFunction("ilfpmi");
        LaunchArgs args = new LaunchArgs();
        for (int round = 0; round < 2; round++) {
            int i1 = rng.nextInt();
            long l = rng.nextLong();
            float f = (float) rng.nextDouble(-5, 5);
            long p = rng.nextLong() & ~15L;
            TensorMap map = encode2d(0x10000L * (round + 1), 512, 256, 512, 128, 64, TensorMap.Swizzle.B128);
            int i2 = rng.nextInt();
            args.reset().addInt(i1).addLong(l).addFloat(f).addPointer(p).addTensorMap(map).addInt(i2);
            LaunchConfig cfg = new LaunchConfig(7, 3, 2, 128, 2, 1, 4096, 1, 1, 1, false);
            long before = fake.stat(0);

            assertEquals(0, launcher.launchRaw(fn, cfg, 0L, args));

            assertEquals(before + 1, fake.stat(0));
            long[] expected = {1, fn, 7, 3, 2, 128, 2, 1, 4096, 0};
            for (int k = 0; k < expected.length; k++) {
                assertEquals(expected[k], fake.launch(k), "launch record " + k);
            }
            assertEquals(0, fake.launch(15), "extra must be NULL");
            assertEquals(6, fake.launch(18));
            ByteBuffer want = ByteBuffer.allocate(156).order(ByteOrder.LITTLE_ENDIAN);
            want.putInt(i1).putLong(l).putFloat(f).putLong(p).put(map.toByteArray()).putInt(i2);
            assertEquals(156, fake.launch(16));
            assertArrayEquals(want.array(), fake.params(156), "round " + round);
        }
    }

    @Test
    void tensorMapValuesAre128ByteAlignedInTheParameterBlock() {
        TensorMap map = encode2d(0x20000L, 256, 64, 256, 64, 32, TensorMap.Swizzle.B64);
        LaunchArgs args = new LaunchArgs().addInt(1).addTensorMap(map).addFloat(2f).addTensorMap(map);
        for (int i : new int[] {1, 3}) {
            long valueAddress = args.kernelParams().getAtIndex(JAVA_LONG, i);
            assertEquals(0, valueAddress % 128, "parameter " + i);
        }
    }

    @Test
    void clusterAndPdlGoThroughLaunchKernelExWithCudaHLayout() {
        long fn = fake.makeFunction("pi");
        long stream = 0x5EED0000L;
        LaunchArgs args = new LaunchArgs().addPointer(0xABC0L).addInt(42);
        LaunchConfig cfg = LaunchConfig.of(132, 384).withDynamicSharedMemory(1024).withCluster(2, 1, 1)
                .withProgrammaticDependentLaunch(true);

        assertEquals(0, launcher.launchRaw(fn, cfg, stream, args));

        assertEquals(2, fake.launch(0));
        assertEquals(132, fake.launch(2));
        assertEquals(384, fake.launch(5));
        assertEquals(1024, fake.launch(8));
        assertEquals(stream, fake.launch(9));
        assertEquals(2, fake.launch(10));
        assertEquals(2, fake.launch(11));
        assertEquals(1, fake.launch(12));
        assertEquals(1, fake.launch(13));
        assertEquals(1, fake.launch(14));
        var raw = fake.configRaw();
        assertEquals(132, raw.get(JAVA_INT, 0));
        assertEquals(384, raw.get(JAVA_INT, 12));
        assertEquals(1024, raw.get(JAVA_INT, 24));
        assertEquals(stream, raw.get(JAVA_LONG, 32));
        assertEquals(2, raw.get(JAVA_INT, 48));
        var attrs = fake.attrsRaw();
        assertEquals(4, attrs.get(JAVA_INT, 0));
        assertEquals(2, attrs.get(JAVA_INT, 8));
        assertEquals(1, attrs.get(JAVA_INT, 12));
        assertEquals(1, attrs.get(JAVA_INT, 16));
        assertEquals(6, attrs.get(JAVA_INT, 72));
        assertEquals(1, attrs.get(JAVA_INT, 80));
        ByteBuffer want = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(0xABC0L).putInt(42);
        assertArrayEquals(want.array(), fake.params(12));
    }

    @Test
    void pdlAloneAndClusterAloneCarryOneAttribute() {
        long fn = fake.makeFunction("i");
        LaunchArgs args = new LaunchArgs().addInt(3);
        assertEquals(0, launcher.launchRaw(fn, LaunchConfig.of(8, 32).withProgrammaticDependentLaunch(true), 0, args));
        assertEquals(2, fake.launch(0));
        assertEquals(1, fake.launch(10));
        assertEquals(0, fake.launch(11));
        assertEquals(1, fake.launch(14));

        assertEquals(0, launcher.launchRaw(fn, LaunchConfig.of(8, 32).withCluster(1, 1, 1), 0, args));
        assertEquals(1, fake.launch(0), "no cluster, no PDL: plain cuLaunchKernel");

        assertEquals(0, launcher.launchRaw(fn, LaunchConfig.of(8, 32).withCluster(4, 1, 1), 0, args));
        assertEquals(2, fake.launch(0));
        assertEquals(1, fake.launch(10));
        assertEquals(4, fake.launch(11));
        assertEquals(-1, fake.launch(14));
    }

    @Test
    void clusterThatDoesNotDivideTheGridIsRejectedBeforeTheDriver() {
        long fn = fake.makeFunction("");
        long before = fake.stat(0);
        var e = assertThrows(IllegalArgumentException.class,
                () -> launcher.launchRaw(fn, LaunchConfig.of(133, 128).withCluster(2, 1, 1), 0, new LaunchArgs()));
        assertTrue(e.getMessage().contains("133x1x1"), e.getMessage());
        assertEquals(before, fake.stat(0));
    }

    @Test
    void launchArgsRejectOverflow() {
        LaunchArgs args = new LaunchArgs();
        for (int i = 0; i < LaunchArgs.MAX_PARAMS; i++) {
            args.addInt(i);
        }
        assertThrows(IllegalStateException.class, () -> args.addInt(0));
        TensorMap map = encode2d(0x30000L, 128, 16, 128, 64, 16, TensorMap.Swizzle.NONE);
        LaunchArgs maps = new LaunchArgs();
        for (int i = 0; i < LaunchArgs.MAX_VALUE_BYTES / TensorMap.BYTES; i++) {
            maps.addTensorMap(map);
        }
        assertThrows(IllegalStateException.class, () -> maps.addTensorMap(map));
        assertEquals(32, maps.count());
    }

    @Test
    void launchConfigRejectsImpossibleGeometry() {
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.of(0, 128));
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.of(1, 2048));
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.of(1, 32).withDynamicSharedMemory(-1));
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.of(1, 32).withCluster(0, 1, 1));
    }

    @Test
    void tensorMapEncodeMarshalsEveryArgument() {
        long address = 0x7F00_0000_1000L;
        TensorMap map = TensorMap.encodeTiled(driver, TensorMap.DataType.BFLOAT16, address,
                new long[] {4096, 7168, 3}, new long[] {8192, 8192L * 7168}, new int[] {64, 128, 1},
                new int[] {1, 1, 1}, TensorMap.Interleave.NONE, TensorMap.Swizzle.B128, TensorMap.L2Promotion.B256,
                TensorMap.OobFill.NONE);
        long[] expected = {9, 3, address, 4096, 7168, 3, 0, 0, 8192, 8192L * 7168, 0, 0, 64, 128, 1, 0, 0, 1, 1, 1,
            0, 0, 0, 3, 3, 0, 0};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], fake.tmap(i), "tensor map record " + i);
        }
        ByteBuffer bytes = ByteBuffer.wrap(map.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xFA4E7A9000000003L, bytes.getLong(0), "the driver wrote into our 128-byte map");
        assertEquals(address, bytes.getLong(8));
        assertEquals(0, map.segment().address() % 128);

        encode2d(0x40000L, 7168, 4096, 7168, 128, 64, TensorMap.Swizzle.B128);
        long[] twoD = {0, 2, 0x40000L, 7168, 4096, 0, 0, 0, 7168, 0, 0, 0, 128, 64, 0, 0, 0, 1, 1, 0, 0, 0, 0, 3, 3,
            0, 0};
        for (int i = 0; i < twoD.length; i++) {
            assertEquals(twoD[i], fake.tmap(i), "2-D record " + i);
        }
    }

    @Test
    void tensorMapErrorsNameEveryArgument() {
        var e = assertThrows(CudaException.class,
                () -> encode2d(0x40000L, 1024, 64, 1024, 256, 64, TensorMap.Swizzle.B128));
        assertEquals(1, e.result());
        assertTrue(e.getMessage().contains("CUDA_ERROR_INVALID_VALUE"), e.getMessage());
        assertTrue(e.getMessage().contains("box [256, 64]"), e.getMessage());
        assertTrue(e.getMessage().contains("swizzle B128"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TensorMap.encodeTiled(driver, TensorMap.DataType.UINT8, 0,
                new long[] {16, 16}, new long[] {}, new int[] {16, 16}, new int[] {1, 1}, TensorMap.Interleave.NONE,
                TensorMap.Swizzle.NONE, TensorMap.L2Promotion.NONE, TensorMap.OobFill.NONE));
    }

    @Test
    void probeReportsMissingDriverNoDeviceAndJCudaFailureWithoutThrowing() {
        CudaDriverFfm[] opened = new CudaDriverFfm[1];
        var missing = CudaRuntime.probe("/nonexistent/libcuda.so.1", opened, () -> {
            throw new AssertionError("JCuda must not be touched");
        });
        assertTrue(!missing.available() && missing.reason().contains("cannot be loaded"), missing.reason());
        try {
            fake.setDeviceCount(0);
            var none = CudaRuntime.probe(lib.toString(), opened, () -> {
                throw new AssertionError("JCuda must not be touched");
            });
            assertTrue(!none.available() && none.reason().contains("CUDA_ERROR_NO_DEVICE"), none.reason());
            assertEquals(13000, none.driverVersion());
        } finally {
            fake.setDeviceCount(1);
        }
        var jcuda = CudaRuntime.probe(lib.toString(), opened, () -> {
            throw new UnsatisfiedLinkError("libJCudaDriver: cannot open");
        });
        assertTrue(!jcuda.available() && jcuda.reason().contains("JCuda") && jcuda.reason().contains("cannot open"),
                jcuda.reason());
        assertEquals(null, opened[0]);
    }

    @Test
    void systemProbeNeverThrowsAndExplainsUnavailability() {
        var a = CudaRuntime.availability();
        assertEquals(a.available(), a.reason() == null);
        if (!a.available()) {
            assertTrue(!a.reason().isBlank());
            assertTrue(a.devices().isEmpty());
            var e = assertThrows(CudaUnavailableException.class, () -> CudaContext.of(0));
            assertTrue(e.getMessage().contains(a.reason()));
            assertThrows(CudaUnavailableException.class, CudaRuntime::driver);
        } else {
            assertTrue(CudaRuntime.deviceCount() > 0);
        }
        if (!java.nio.file.Files.exists(Path.of("/dev/nvidiactl"))) {
            assertTrue(!a.available(), "no NVIDIA device node here, yet the probe says available");
        }
    }

    private static TensorMap encode2d(long address, long inner, long outer, long rowStrideBytes, int boxInner,
            int boxOuter, TensorMap.Swizzle swizzle) {
        return TensorMap.encodeTiled(driver, TensorMap.DataType.UINT8, address, new long[] {inner, outer},
                new long[] {rowStrideBytes}, new int[] {boxInner, boxOuter}, new int[] {1, 1},
                TensorMap.Interleave.NONE, swizzle, TensorMap.L2Promotion.B256, TensorMap.OobFill.NONE);
    }
}
