"""Time the index scorecards of every commune of a period with `workbench batch`.

A run list with one entry per commune (``by: commune`` and the commune's province: commune
names repeat across provinces) is made from the dossier records, and ``workbench batch
RUNLIST --workers N --force`` makes them (HTML + PDF + XLSX + manifest each, warm kernels).
Every document is checked: done, its HTML and PDF written, its manifest saying synthetic when
the records are synthetic.

``--sample K`` makes K communes spread over the list and extrapolates to all of them (said so
in the output): the whole batch's time scaled by the number of communes (an upper bound: the
start-up is scaled too), and the steady rate (the time after the first document of each
worker, per document). ``--sample 0`` makes them all.

    .venv/bin/python benchmarks/bench_communes.py [--period 2024Q2] [--sample 60] [--workers 2]
        [--formats html,pdf]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_batch import PeakMemory, run, spread  # noqa: E402


def communes(period: str) -> list[tuple[str, str]]:
    """(commune, province) of every commune with dossiers in ``period``."""
    from analysis.documents.scorecard import DEFAULT_DOSSIERS
    from analysis.index766 import score

    units = score(DEFAULT_DOSSIERS, period=period, by="commune").units
    return list(zip(units["unit"], units["province"], strict=True))


def runlist(chosen: list[tuple[str, str]], period: str, path: Path, formats: list[str]) -> None:
    """One entry per commune: the scorecard notebook, by commune, with its province."""
    entries = [
        {
            "notebook": "31_index_scorecard.ipynb",
            "parameters": {"unit": unit, "province": province, "by": "commune", "period": period},
        }
        for unit, province in chosen
    ]
    doc = {"period": period, "formats": formats, "runs": entries}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2024Q2")
    parser.add_argument("--sample", type=int, default=60, help="communes made (0: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--formats", default="html,pdf", help="the run list's formats (html,pdf or html)"
    )
    args = parser.parse_args()
    formats = args.formats.split(",")

    if not (ROOT / "data/processed/synthetic/dossiers").is_dir():
        subprocess.run(
            [str(BIN / "workbench"), "synth", "--dossiers", "300000"], check=True, cwd=ROOT
        )
    every = communes(args.period)
    chosen = spread(every, args.sample)
    with tempfile.TemporaryDirectory(prefix="bench-communes-") as tmp:
        tmp = Path(tmp)
        path = tmp / "communes.yaml"
        runlist(chosen, args.period, path, formats)
        reports = tmp / "reports"
        load = os.getloadavg()[0]
        print(f"{len(chosen)} of {len(every)} communes, {args.period} …", file=sys.stderr)
        with PeakMemory() as memory:
            seconds = run(
                [str(BIN / "workbench"), "batch", str(path), "--workers", str(args.workers),
                 "--out", str(reports), "--force", "--no-progress"],
                memory,
            )  # fmt: skip
        done = json.loads((reports / args.period / "batch.json").read_text(encoding="utf-8"))
        runs = done["runs"]
        bad = [r["run_id"] for r in runs if r["status"] != "done"]
        if bad:
            raise SystemExit(f"{len(bad)} scorecard(s) failed, e.g. {bad[:3]}")
        stages: dict[str, list[float]] = {}
        labelled = 0
        for r in runs:
            for fmt in (*formats, "manifest"):
                if not (reports / r["outputs"][fmt]).is_file():
                    raise SystemExit(f"{r['run_id']}: no {fmt}")
            manifest = json.loads((reports / r["outputs"]["manifest"]).read_text(encoding="utf-8"))
            labelled += bool(manifest.get("synthetic"))
            for stage, value in manifest["seconds"].items():
                stages.setdefault(stage, []).append(value)
    n = len(runs)
    # Steady rate: the documents' own times without the slowest one per worker (each worker's
    # first pays the imports, the peers' scores and the trend), shared by the workers.
    kept = sorted(stages.get("total", []))[: max(n - args.workers, 1)]
    steady = sum(kept) / len(kept) / args.workers
    result = {
        "period": args.period,
        "communes": len(every),
        "made": n,
        "workers": args.workers,
        "formats": formats,
        "cores": os.cpu_count(),
        "seconds": round(seconds, 1),
        "seconds_per_scorecard": round(seconds / n, 3),
        "synthetic_labelled": labelled,
        "peak_rss_mb": round(memory.peak / 2**20),
        "stage_seconds_median": {k: round(statistics.median(v), 3) for k, v in stages.items()},
        "load_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    if n < len(every):
        result["extrapolated"] = {
            "note": f"made {n} of {len(every)} communes; the totals below are extrapolated",
            "all_seconds_scaled": round(seconds * len(every) / n, 1),
            "all_seconds_steady": round(steady * len(every), 1),
        }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_communes.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
