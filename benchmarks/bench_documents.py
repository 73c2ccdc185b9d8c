"""Time one of each document against the floor, side by side in one run.

The floor is what any papermill + nbconvert pipeline pays whatever it computes: executing an
empty notebook with papermill (kernel start-up) and converting it with nbconvert. The documents
are the measure brief (Thái Nguyên's fee cut), the quarterly report (Thái Nguyên, 2023Q3) and
the national overview (2023Q3), each HTML + PDF + XLSX, run as the user runs them: separate
processes, in turn, ``--repeat`` times. Medians and ratios to the floor are printed and written
to benchmarks/results/documents.json. The demo data (300,000 dossiers) are made if missing.

    .venv/bin/python benchmarks/bench_documents.py [--repeat 3]
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
        wb = str(BIN / "workbench")
        documents = {
            "brief": [wb, "brief", "--measure", "thai-nguyen-fee-50", "--out", str(tmp / "b")],
            "quarterly_report": [
                wb, "report", "--province", "Thái Nguyên", "--quarter", "2023Q3",
                "--out", str(tmp / "q"),
            ],
            "overview": [wb, "overview", "--quarter", "2023Q3", "--out", str(tmp / "o")],
        }  # fmt: skip
        if not (ROOT / "data/processed/synthetic/dossiers_manifest.json").exists():
            subprocess.run([wb, "synth", "--dossiers", "300000"], check=True, cwd=ROOT)
        timed(floor_cmd)  # warm the file cache
        runs: dict[str, list[float]] = {"floor": [], **{name: [] for name in documents}}
        for _ in range(args.repeat):
            runs["floor"].append(timed(floor_cmd))
            for name, cmd in documents.items():
                runs[name].append(timed(cmd))
    floor = statistics.median(runs["floor"])
    result: dict = {"floor_seconds": round(floor, 2), "repeat": args.repeat}
    for name in documents:
        seconds = statistics.median(runs[name])
        result[f"{name}_seconds"] = round(seconds, 2)
        result[f"ratio_{name}_to_floor"] = round(seconds / floor, 2)
    result["runs"] = {name: [round(x, 2) for x in xs] for name, xs in runs.items()}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "documents.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
