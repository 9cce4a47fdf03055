#!/usr/bin/env python3
"""Developer tool: the table of a tuner log (DG_PRINT_CONFIGS=1 with the tuner on, e.g. gpu-steps' bench_tune.log).

For each tuned problem: the cost model's pick (the tuner lists it first) and its time, the fastest candidate and its
time, and how much faster that is; then the geometric mean of pick / fastest over all problems. The times are the
tuner's (CUDA events around one launch, L2 flushed, median of its runs), so they include about 2-3 us of launch
window that the profiler's kernel time leaves out.

Usage: scripts/dev/tune-summary.py LOG [LOG...]
"""
import math
import re
import sys

HEADER = re.compile(r"^deepgemm4j: autotune (.*):\s*$")
KEPT = re.compile(r"^deepgemm4j: autotune (.*): kept on disk -> (.*)$")
CANDIDATE = re.compile(r"^\s+([0-9.]+|NaN)\s+us\s+(.*)$")
CHOSEN = re.compile(r"^\s+->\s+(.*)$")


def short(config):
    """'sm90 1D2D 128x192, 4 stages, ... clusters of 2 along M (B multicast)' -> '128x192c2'."""
    m = re.search(r"(\d+)x(\d+)", config)
    name = f"{m.group(1)}x{m.group(2)}" if m else config
    return name + ("c2" if "clusters of 2" in config else "")


def parse(lines):
    """[(problem, [(us or None, config)], chosen config)] in log order; problems kept on disk (not timed) are
    reported on stderr."""
    out = []
    current = None
    for line in lines:
        line = line.rstrip("\n")
        kept = KEPT.match(line)
        if kept:
            print(f"{kept.group(1)}: not timed, kept on disk by an earlier run ({short(kept.group(2))})",
                  file=sys.stderr)
            current = None
            continue
        h = HEADER.match(line)
        if h:
            current = (h.group(1), [], None)
            continue
        if current is None:
            continue
        c = CANDIDATE.match(line)
        if c:
            us = None if c.group(1) == "NaN" else float(c.group(1))
            current[1].append((us, c.group(2)))
            continue
        k = CHOSEN.match(line)
        if k:
            out.append((current[0], current[1], k.group(1)))
        current = None
    return out


def main(paths):
    problems = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            problems.extend(parse(f))
    if not problems:
        print("no tuner blocks found (was DG_PRINT_CONFIGS=1 set and the tuner on?)")
        return 1
    print(f"{'problem':<52} {'pick':>11} {'us':>8} {'fastest':>11} {'us':>8} {'gain':>7}  candidates")
    ratios = []
    for problem, cands, chosen in problems:
        pick_us, pick = cands[0]
        timed = [(us, cfg) for us, cfg in cands if us is not None]
        best_us, best = min(timed, key=lambda t: t[0]) if timed else (None, chosen)
        gain = ""
        if pick_us is not None and best_us:
            ratios.append(pick_us / best_us)
            gain = f"{100.0 * (pick_us / best_us - 1):6.1f}%"
        others = " ".join(f"{short(cfg)}={us:.1f}" if us is not None else f"{short(cfg)}=n/a" for us, cfg in cands)
        pick_s = f"{pick_us:8.1f}" if pick_us is not None else "     n/a"
        best_s = f"{best_us:8.1f}" if best_us is not None else "     n/a"
        print(f"{problem:<52} {short(pick):>11} {pick_s} {short(best):>11} {best_s} {gain:>7}  {others}")
    if ratios:
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"geomean pick / fastest over {len(ratios)} problems: {geo:.3f} "
              f"(the tuner's gain over the cost model's picks: {100 * (geo - 1):.1f}%)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip())
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
