package dev.deepgemm4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.deepgemm4j.testing.RandomTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The paged-MQA schedule: every (atom, KV split) unit dealt to exactly one SM, in balanced contiguous runs. */
class PagedMqaLogitsMetadataTest {

    /** The work units (atom, split) in schedule order, from the definition in the API documentation. */
    private static List<List<Integer>> units(int[] lens, int nextN) {
        int perBatch = (nextN + 1) / 2;
        List<List<Integer>> units = new ArrayList<>();
        for (int atom = 0; atom < lens.length / nextN * perBatch; atom++) {
            int b = atom / perBatch;
            int first = 2 * (atom % perBatch);
            int len = 0;
            for (int t = first; t < Math.min(first + 2, nextN); t++) {
                len = Math.max(len, lens[b * nextN + t]);
            }
            for (int split = 0; split * 256 < len; split++) {
                units.add(List.of(atom, split));
            }
        }
        return units;
    }

    private static int[][] metadata(int[] lens, int nextN, int numSms) {
        Tensor meta = DeepGemm.getPagedMqaLogitsMetadata(Tensor.ofInts(lens, lens.length / nextN, nextN), 64,
                numSms);
        assertEquals(DType.INT32, meta.dtype());
        assertArrayEquals(new long[] {numSms + 1, 2}, meta.shape());
        int[] flat = meta.toIntArray();
        int[][] rows = new int[numSms + 1][];
        for (int s = 0; s <= numSms; s++) {
            rows[s] = new int[] {flat[2 * s], flat[2 * s + 1]};
        }
        return rows;
    }

    /** Checks the sentinel, exact-once coverage and the balance rule (the last T mod num_sms SMs take one more). */
    private static void assertBalancedCover(int[] lens, int nextN, int numSms) {
        int[][] rows = metadata(lens, nextN, numSms);
        List<List<Integer>> units = units(lens, nextN);
        int total = units.size();
        int atoms = lens.length / nextN * ((nextN + 1) / 2);
        assertArrayEquals(new int[] {atoms, 0}, rows[numSms], "sentinel");
        int[] start = new int[numSms + 1];
        for (int s = 0; s <= numSms; s++) {
            int u = units.indexOf(List.of(rows[s][0], rows[s][1]));
            start[s] = u >= 0 ? u : total;
            if (u < 0) {
                assertArrayEquals(new int[] {atoms, 0}, rows[s], "SM " + s + " starts at no unit, so at the sentinel");
            }
        }
        assertEquals(0, start[0], "the first SM starts at the first unit");
        int extra = total % numSms;
        for (int s = 0; s < numSms; s++) {
            int expected = total / numSms + (s >= numSms - extra ? 1 : 0);
            assertEquals(expected, start[s + 1] - start[s], "units of SM " + s + " of " + numSms + ", T = " + total);
        }
    }

    @ParameterizedTest(name = "next_n={0} num_sms={1}")
    @CsvSource({"1,1", "1,3", "1,7", "1,132", "2,5", "2,132", "3,4", "4,9"})
    void randomContextsAreCoveredExactlyOnceAndBalanced(int nextN, int numSms) {
        SplittableRandom rng = new SplittableRandom(nextN * 1000 + numSms);
        int[] lens = RandomTensors.ints(rng, 0, 3000, 37, nextN).toIntArray();
        lens[0] = 0;
        lens[lens.length - 1] = 256;
        assertBalancedCover(lens, nextN, numSms);
    }

    @Test
    void emptyAtomsAreSkipped() {
        // Splits per atom: 2, 0, 4, 1 -> T = 7 over 3 SMs: 2, 2, 3 units starting at units 0, 2, 4.
        assertArrayEquals(new int[][] {{0, 0}, {2, 0}, {2, 2}, {4, 0}}, metadata(new int[] {300, 0, 1000, 1}, 1, 3));
    }

    @Test
    void twoDraftTokensShareOneAtomSizedByTheLonger() {
        // Atoms (10, 300) and (600, 5): 2 and 3 splits -> T = 5 over 2 SMs: 2 then 3 units.
        assertArrayEquals(new int[][] {{0, 0}, {1, 0}, {2, 0}}, metadata(new int[] {10, 300, 600, 5}, 2, 2));
    }

    @Test
    void moreSmsThanUnitsLeavesTheFirstSmsIdle() {
        // T = 1 over 4 SMs: SMs 0-2 get empty runs (start == next start), SM 3 the single unit.
        assertArrayEquals(new int[][] {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}}, metadata(new int[] {200}, 1, 4));
    }

    @Test
    void noWorkPointsEverySmAtTheSentinel() {
        int[][] rows = metadata(new int[] {0, 0, 0, 0, 0, 0}, 2, 4);
        for (int[] row : rows) {
            assertArrayEquals(new int[] {3, 0}, row);
        }
    }

    @Test
    void changingNumSmsChangesTheSchedule() {
        int[] lens = RandomTensors.ints(new SplittableRandom(3), 1, 2000, 20, 1).toIntArray();
        assertFalse(Arrays.deepEquals(metadata(lens, 1, 4), metadata(lens, 1, 7)));
        assertBalancedCover(lens, 1, 4);
        assertBalancedCover(lens, 1, 7);
    }
}
