"""Timing promises the test suite used to assert, checked here on a quiet machine.

A wall-clock bound inside a unit test fails on a loaded machine (four engineers, two cores)
for reasons that are not the code's; here it is run on purpose, alone:

    .venv/bin/python benchmarks/check_timings.py

Exit 1 when a promise is broken, with the seconds it took.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import config
from analysis.synthetic import panel as synth

# A kernel start alone takes ~11 s here; a configuration check made before it answers in the
# time of the imports (tests/batch/test_config_checks.py checks the message and exit code).
BEFORE_A_KERNEL_S = 9.0


def config_mistake_before_a_kernel() -> None:
    """`workbench batch` with a target of 30 (not a share) in a copy of config/: exit 2."""
    with tempfile.TemporaryDirectory(prefix="check-timings-") as tmp:
        home = Path(tmp)
        shutil.copytree(config.CONFIG_DIR, home / "config")
        (home / "notebooks").symlink_to(config.NOTEBOOKS_DIR)
        targets = home / "config" / "targets.yaml"
        text = targets.read_text(encoding="utf-8")
        targets.write_text(text.replace("    value: 0.30", "    value: 30", 1), encoding="utf-8")
        runlist = home / "run.yaml"
        runlist.write_text(
            'period: 2023Q3\nlang: vi\nformats: [html]\ndata: ""\nruns:\n'
            "  - notebook: 30_quarterly_report.ipynb\n"
            "    parameters: {province: Thái Nguyên, quarter: 2023Q3}\n",
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-m", "analysis.cli", "batch", str(runlist), "--out",
             str(home / "reports"), "--no-progress"],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "WORKBENCH_HOME": str(home)},
        )  # fmt: skip
        if result.returncode != 2 or "is not a share" not in result.stderr:
            raise RuntimeError(f"expected the target mistake, got: {result.stderr[-500:]}")


# (what, bound in seconds, the call)
PROMISES = [
    ("synthetic panel generated (seed 1)", 5.0, lambda: synth.generate(1)),
    (
        "a configuration mistake answered before a kernel starts (workbench batch)",
        BEFORE_A_KERNEL_S,
        config_mistake_before_a_kernel,
    ),
]


def main() -> int:
    broken = 0
    for what, bound, call in PROMISES:
        started = time.perf_counter()
        call()
        seconds = time.perf_counter() - started
        ok = seconds < bound
        broken += not ok
        print(f"{'ok ' if ok else 'SLOW'} {what}: {seconds:.2f} s (bound {bound:.0f} s)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
