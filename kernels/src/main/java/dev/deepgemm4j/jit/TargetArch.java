package dev.deepgemm4j.jit;

/**
 * The compiler target for a device: {@code sm_90a} on Hopper (the {@code a} suffix unlocks wgmma, setmaxnreg and
 * the other arch-specific instructions), {@code sm_100f}-style family targets on Blackwell and later when the compiler
 * is 12.9 or newer ({@code sm_100a} before), and the plain {@code sm_XY} below Hopper.
 */
public final class TargetArch {

    private TargetArch() {
    }

    /**
     * The target for compute capability {@code major.minor} with a compiler of version
     * {@code compilerMajor.compilerMinor}.
     */
    public static String forDevice(int major, int minor, int compilerMajor, int compilerMinor) {
        if (major < 1 || minor < 0 || minor > 9) {
            throw new IllegalArgumentException("not a compute capability: " + major + "." + minor);
        }
        String base = "sm_" + major + minor;
        if (major < 9) {
            return base;
        }
        if (major == 9) {
            return base + "a";
        }
        boolean familyTargets = compilerMajor > 12 || (compilerMajor == 12 && compilerMinor >= 9);
        return base + (familyTargets ? "f" : "a");
    }

    /** Whether {@code arch} is a real-architecture target that yields a CUBIN ({@code sm_90a}, {@code sm_80} …). */
    public static boolean isCubinTarget(String arch) {
        return arch != null && arch.matches("sm_\\d{2,3}[af]?");
    }
}
