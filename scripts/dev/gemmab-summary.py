#!/usr/bin/env python3
"""Developer tool: tables from the logs of gpu-steps.sh's gemmab / gemmabbig steps (the dense harness, one file per
variant and round: gemm_<variant>.<round>.txt).

For every timed shape, one row per configuration and one column per variant, each cell the kernel times (CUPTI;
event times where the harness had no kernel clock) of the rounds in order, "FAIL" where the check failed; then per
variant its best configuration, and the geometric mean over shapes of base's best time over the variant's best
(above 1: the variant is faster). DIAG configurations (wrong results by design) are listed but never "best".

Usage: scripts/dev/gemmab-summary.py DIR [BASE_VARIANT]   (DIR: the step's log folder, e.g. steps/gemmab)
"""
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

SHAPE = re.compile(r"^shape M=(\d+) N=(\d+) K=(\d+)(.*)$")
TIMED = re.compile(r"^\s+(cfg_\S+)\s+grid\s+\d+\s+(PASS|DIAG)\b.*?([\d.]+) us events\s+([\d.]+|nan|-?inf) us kernel")
FAILED = re.compile(r"^\s+(cfg_\S+)\s+grid\s+\d+\s+FAIL\b")


def parse(path):
    """{(m, n, k): {config: (microseconds, diagnostic) or None for a failure}} of one harness log."""
    shapes = {}
    current = None
    for line in path.read_text(errors="replace").splitlines():
        m = SHAPE.match(line)
        if m:
            edge = "edge shape" in m.group(4)
            current = None if edge else shapes.setdefault(tuple(int(g) for g in m.group(1, 2, 3)), {})
            continue
        if current is None:
            continue
        t = TIMED.match(line)
        if t:
            events, kernel = float(t.group(3)), float(t.group(4))
            us = kernel if math.isfinite(kernel) and kernel > 0 else events
            current[t.group(1)] = (us, t.group(2) == "DIAG")
        elif f := FAILED.match(line):
            current[f.group(1)] = None
    return shapes


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = Path(sys.argv[1])
    base = sys.argv[2] if len(sys.argv) > 2 else "base"
    # times[shape][config][variant] = [per round, in round order]
    times = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    variants = set()
    for path in sorted(folder.glob("gemm_*.*.txt")):
        name = path.name[len("gemm_"):-len(".txt")]
        variant, _, round_ = name.rpartition(".")
        if not round_.isdigit():
            continue
        variants.add(variant)
        for shape, configs in parse(path).items():
            for config, value in configs.items():
                times[shape][config][variant].append((int(round_), value))
    if not times:
        sys.exit(f"no timed shape in {folder}/gemm_*.*.txt")
    order = sorted(variants, key=lambda v: (v != base, v))
    best = defaultdict(dict)  # best[variant][shape] = (us, config)
    width = max(22, *(len(v) + 4 for v in order))
    for shape in sorted(times):
        print(f"\nM={shape[0]} N={shape[1]} K={shape[2]}  (kernel us per round)")
        print(f"  {'config':<16}" + "".join(f"{v:>{width}}" for v in order))
        for config in sorted(times[shape]):
            cells = []
            for v in order:
                runs = sorted(times[shape][config].get(v, []))
                text = []
                for _, value in runs:
                    if value is None:
                        text.append("FAIL")
                        continue
                    us, diagnostic = value
                    text.append(f"{us:.1f}" + ("d" if diagnostic else ""))
                    if not diagnostic and (shape not in best[v] or us < best[v][shape][0]):
                        best[v][shape] = (us, config)
                cells.append(" / ".join(text) if text else "-")
            print(f"  {config[4:]:<16}" + "".join(f"{c:>{width}}" for c in cells))
        print(f"  {'best':<16}" + "".join(
            f"{(best[v][shape][1][4:] + ' ' + format(best[v][shape][0], '.1f')) if shape in best[v] else '-':>{width}}"
            for v in order))
    print(f"\ngeometric mean over shapes of {base}'s best time / the variant's best (d: DIAG, never best):")
    for v in order:
        ratios = [best[base][s][0] / best[v][s][0] for s in best[v] if s in best[base]]
        if ratios:
            mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
            print(f"  {v:<12} {mean:.3f} over {len(ratios)} shapes")


if __name__ == "__main__":
    main()
