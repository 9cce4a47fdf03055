package dev.deepgemm4j.heuristics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The choices a heuristic has made, by problem. Ranking configurations costs more than the rest of a small call's
 * host path, so each problem is ranked once (and DG_PRINT_CONFIGS prints it once). Bounded: a workload uses a handful
 * of shapes, so a full memo is simply dropped. Two threads may rank one new problem at once; they get equal choices.
 */
final class ChoiceMemo<P, C> {

    private static final int MAX_ENTRIES = 4096;
    private final Map<P, C> choices = new ConcurrentHashMap<>();
    private final Function<P, C> rank;

    /** A memo of {@code rank}, which must depend on the problem alone. */
    ChoiceMemo(Function<P, C> rank) {
        this.rank = rank;
    }

    C get(P problem) {
        C choice = choices.get(problem);
        if (choice == null) {
            choice = rank.apply(problem);
            if (choices.size() >= MAX_ENTRIES) {
                choices.clear();
            }
            choices.put(problem, choice);
        }
        return choice;
    }
}
