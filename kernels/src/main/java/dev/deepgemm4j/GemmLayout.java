package dev.deepgemm4j;

/** The logical transposition of A and B in a GEMM, DeepGEMM's two-letter suffix. */
public enum GemmLayout {
    /** A [M, K], B [N, K]: D = A·Bᵀ. */
    NT(false, false),
    /** A [M, K], B [K, N]: D = A·B. */
    NN(false, true),
    /** A [K, M], B [N, K]: D = Aᵀ·Bᵀ. */
    TN(true, false),
    /** A [K, M], B [K, N]: D = Aᵀ·B. */
    TT(true, true);

    private final boolean aTransposed;
    private final boolean bKByN;

    GemmLayout(boolean aTransposed, boolean bKByN) {
        this.aTransposed = aTransposed;
        this.bKByN = bKByN;
    }

    /** Whether A is given as [K, M]. */
    public boolean aTransposed() {
        return aTransposed;
    }

    /** Whether B is given as [K, N]. */
    public boolean bGivenAsKByN() {
        return bKByN;
    }

    /** DeepGEMM's suffix ("nt", "nn", "tn", "tt"). */
    public String suffix() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
