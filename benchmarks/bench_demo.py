"""Time what `make demo` runs, command by command, after the install.

The commands are read from the Makefile's ``demo`` recipe (so this measures what the target
does, not a copy of it) and run one after the other as the target runs them, each a fresh
process, with ``$(BIN)`` the interpreter's folder. Reports go where the demo writes them
(``reports/``, ``data/processed/synthetic``). Seconds per command, the total and the load
average before and after are printed and written to ``benchmarks/results/demo.json``.

    nice -n 10 .venv/bin/python benchmarks/bench_demo.py
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def demo_commands(makefile: Path = ROOT / "Makefile") -> list[list[str]]:
    """The ``demo`` target's workbench command lines, ``$(BIN)`` replaced."""
    lines = makefile.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("demo:"))
    out = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        text = line.strip()
        if text.startswith("$(BIN)/"):
            out.append(shlex.split(text.replace("$(BIN)", str(BIN))))
    return out


def main() -> None:
    commands = demo_commands()
    load = os.getloadavg()[0]
    rows = []
    t0 = time.perf_counter()
    for cmd in commands:
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        seconds = time.perf_counter() - t
        rows.append({"command": " ".join(cmd[1:]), "seconds": round(seconds, 2)})
        print(f"{seconds:6.1f} s  {' '.join(cmd[1:])}", file=sys.stderr)
    result = {
        "total_seconds": round(time.perf_counter() - t0, 1),
        "commands": rows,
        "load_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
