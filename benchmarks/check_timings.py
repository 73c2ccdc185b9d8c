"""Timing promises the test suite used to assert, checked here on a quiet machine.

A wall-clock bound inside a unit test fails on a loaded machine (four engineers, two cores)
for reasons that are not the code's; here it is run on purpose, alone:

    .venv/bin/python benchmarks/check_timings.py

Exit 1 when a promise is broken, with the seconds it took.
"""

from __future__ import annotations

import sys
import time

from analysis.synthetic import panel as synth

# (what, bound in seconds, the call)
PROMISES = [
    ("synthetic panel generated (seed 1)", 5.0, lambda: synth.generate(1)),
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
