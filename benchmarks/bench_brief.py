"""Time one measure brief against the floor, side by side in one run.

The floor is what any papermill + nbconvert pipeline pays whatever it computes: executing an
empty notebook with papermill (kernel start-up) and converting it with nbconvert. The brief is
`workbench brief` for Thái Nguyên (HTML + PDF). Both run as the user runs them, as separate
processes, alternately, ``--repeat`` times; the medians and their ratio are printed and written
to benchmarks/results/brief.json.

    .venv/bin/python benchmarks/bench_brief.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        empty = nbformat.v4.new_notebook()
        empty.cells = [nbformat.v4.new_code_cell("x = 1")]
        empty.cells[0].metadata["tags"] = ["parameters"]
        empty.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(empty, tmp / "empty.ipynb")
        floor_cmd = [
            "bash",
            "-c",
            f"{BIN}/papermill -k python3 --no-progress-bar {tmp}/empty.ipynb {tmp}/out.ipynb "
            f"&& {BIN}/jupyter nbconvert --to html --no-input {tmp}/out.ipynb --output-dir {tmp}",
        ]
        brief_cmd = [
            str(BIN / "workbench"),
            "brief",
            "--measure",
            "thai-nguyen-fee-50",
            "--out",
            str(tmp / "brief"),
        ]
        subprocess.run([str(BIN / "workbench"), "synth"], check=True, capture_output=True, cwd=ROOT)
        timed(floor_cmd)  # warm the file cache for both
        floors, briefs = [], []
        for _ in range(args.repeat):
            floors.append(timed(floor_cmd))
            briefs.append(timed(brief_cmd))
    floor, brief = statistics.median(floors), statistics.median(briefs)
    result = {
        "floor_seconds": round(floor, 2),
        "brief_seconds": round(brief, 2),
        "ratio_brief_to_floor": round(brief / floor, 2),
        "repeat": args.repeat,
        "floor_runs": [round(x, 2) for x in floors],
        "brief_runs": [round(x, 2) for x in briefs],
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "brief.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
