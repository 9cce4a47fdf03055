package dev.deepgemm4j.cuda;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.runtime.cudaStream_t;

/**
 * The bridge between JCuda's handle objects and the raw 64-bit values FFM calls take (public for code that mixes
 * JCuda with this runtime: {@link #address}, {@link #devicePointer}, {@link #raw}, {@link #stream}). JCuda keeps the native value
 * in a protected field, so each handle type gets a subclass that can read it: JCuda's native code fills the field of
 * whatever instance it is given, subclass or not. Raw addresses become JCuda pointers through the public
 * {@code withByteOffset}; only turning a raw stream handle into a {@link CUstream} needs reflection.
 */
public final class JCudaHandles {

    private JCudaHandles() {
    }

    /** A primary context whose raw handle is readable. */
    static final class Context extends CUcontext {
        long raw() {
            return getNativePointer();
        }
    }

    /** A module whose raw handle is readable. */
    static final class Module extends CUmodule {
        long raw() {
            return getNativePointer();
        }
    }

    /** A function whose raw handle is readable. */
    static final class Function extends CUfunction {
        long raw() {
            return getNativePointer();
        }
    }

    /** A stream whose raw handle is readable; the copy constructor reads any other {@link CUstream}. */
    static final class Stream extends CUstream {
        Stream() {
        }

        Stream(CUstream other) {
            super(new cudaStream_t(other));
        }

        long raw() {
            return getNativePointer();
        }
    }

    /** A device pointer whose address (native pointer plus byte offset) is readable. */
    static final class DevicePointer extends CUdeviceptr {
        DevicePointer() {
        }

        DevicePointer(CUdeviceptr other) {
            super(other, 0);
        }

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** The raw address a JCuda device pointer stands for. */
    public static long address(CUdeviceptr pointer) {
        return pointer instanceof DevicePointer p ? p.address() : new DevicePointer(pointer).address();
    }

    /** A JCuda device pointer for a raw device address. */
    public static CUdeviceptr devicePointer(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    /** A JCuda host pointer for a raw host address (JCuda passes native pointer + byte offset through). */
    static Pointer hostPointer(long address) {
        return new Pointer().withByteOffset(address);
    }

    /** The raw handle of a JCuda stream (0 is the legacy default stream). */
    public static long raw(CUstream stream) {
        return stream instanceof Stream s ? s.raw() : new Stream(stream).raw();
    }

    /** A JCuda stream object for a raw stream handle, e.g. one that PyTorch reports. */
    public static CUstream stream(long raw) {
        CUstream s = new CUstream();
        RawField.NATIVE_POINTER.set((NativePointerObject) s, raw);
        return s;
    }

    /** JCuda offers no public way to build a stream from a raw handle; its field is set reflectively. */
    private static final class RawField {
        static final VarHandle NATIVE_POINTER;

        static {
            try {
                NATIVE_POINTER = MethodHandles.privateLookupIn(NativePointerObject.class, MethodHandles.lookup())
                        .findVarHandle(NativePointerObject.class, "nativePointer", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }
}
