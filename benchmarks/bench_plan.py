"""Time the evaluation plan of one province with four designs against brute force, side by side.

Ours: :func:`analysis.documents.plan.prepare` (one fit per placebo, the injected effect added exactly;
ITS and DiD vectorised over units). Baseline: the same placebos refitted by the designs'
public functions for each injected size, as a simulation without the linearity shortcut
would do; ten sizes per placebo (what a bisection for the 80 % point needs), far fewer than
the plan's 1,201-point power curve. The baseline's time per refit is measured on a sample
of placebos of each design and multiplied by the plan's number of placebos × 10 (refitting
all would take an hour). JSON to benchmarks/results/plan.json.

    .venv/bin/python benchmarks/bench_plan.py [--repeat 3] [--sample 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pandas as pd

from analysis.documents import plan
from analysis.evaluation.effects import canonical_frame
from analysis.sources import open_panel

ROOT = Path(__file__).resolve().parents[1]
SIZES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=6, help="placebos refitted per design")
    parser.add_argument("--province", default="Hà Nội")
    args = parser.parse_args()

    runs, result = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = plan.prepare(args.province, start="2027-01")
        runs.append(time.perf_counter() - t0)
    ours = statistics.median(runs)

    frame = canonical_frame(open_panel().frame, "online_rate", "new34")
    frame = frame[frame["time"] < pd.Timestamp("2027-01-01")]
    months = pd.DatetimeIndex(sorted(frame["time"].unique()))
    starts = plan._starts(months)
    per_fit, baseline = {}, 0.0
    for design, p in result.designs.items():
        pairs = [(u, starts[i % len(starts)]) for i, u in enumerate(p.units[: args.sample])]
        t0 = time.perf_counter()
        plan.fitted_draws(frame, design, pairs, "online_rate", months, effect=5.0)
        per_fit[design] = (time.perf_counter() - t0) / len(pairs)
        baseline += per_fit[design] * len(p.draws) * SIZES
    out = {
        "province": args.province,
        "designs": list(result.designs),
        "placebos": {d: len(p.draws) for d, p in result.designs.items()},
        "ours_seconds_median": ours,
        "ours_seconds_runs": runs,
        "baseline_seconds_per_refit": per_fit,
        "baseline_sizes_per_placebo": SIZES,
        "baseline_seconds_extrapolated": baseline,
        "ratio_baseline_over_ours": baseline / ours,
        "target_seconds": 20,
    }
    path = ROOT / "benchmarks" / "results" / "plan.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
