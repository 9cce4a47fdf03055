package dev.deepgemm4j.heuristics;

import java.util.ArrayList;
import java.util.List;

/** Every kernel configuration any heuristic can choose: what CI compiles ahead of time. */
public final class KernelCatalog {

    private KernelCatalog() {
    }

    /** All configurations, each once. */
    public static List<KernelConfig> all() {
        List<KernelConfig> all = new ArrayList<>();
        all.addAll(DenseGemmHeuristic.allConfigs());
        all.addAll(Sm90GemmHeuristic.allConfigs());
        all.addAll(Sm90GemmHeuristic.groupedConfigs());
        all.addAll(Sm90SmallMGemmHeuristic.allConfigs());
        all.addAll(Sm90Gemm1d1dHeuristic.allConfigs());
        all.addAll(GroupedGemmHeuristic.allConfigs());
        all.addAll(MqaLogitsHeuristic.allConfigs());
        all.addAll(QuantizeHeuristic.allConfigs());
        all.addAll(ScaleLayoutHeuristic.allConfigs());
        all.addAll(TransposeHeuristic.allConfigs());
        return List.copyOf(all);
    }
}
