package dev.deepgemm4j.it;

/**
 * Problem sizes of one benchmark run. The full set keeps the whole run (CPU reference and float64 checks included)
 * under a minute on two cores; the quick set is for smoke tests.
 */
record Sizes(int warmups, int runs, int denseM, int denseN, int denseK, int groups, int groupN, int groupK,
        int maskedMaxM, int kGroupM, int kGroupN, int kGroupMaxBlocks, int mqaSeq, int mqaSeqKv, int mqaHeads,
        int mqaDim, int pagedBatch, int pagedMaxContext, int castRows, int castCols, int layoutMn, int layoutSfk) {

    static final Sizes FULL = new Sizes(2, 5, 128, 256, 1024, 4, 256, 512, 128, 128, 256, 4, 128, 512, 32, 64, 16,
            1024, 512, 2048, 2049, 56);

    static final Sizes QUICK = new Sizes(1, 3, 64, 128, 256, 2, 128, 256, 64, 64, 64, 2, 32, 128, 32, 32, 4, 256, 128,
            512, 257, 7);
}
