"""Time the synthetic control and SDID designs on a province-sized panel.

The panel is the synthetic one (``analysis.synth.generate(seed=766)``), levels summed, on the
old boundary (63 provinces × 72 months, 2020-01 to 2025-06), outcome ``online_rate``; the
treated province is Thái Nguyên from 2022-07 (its fee cut). Timed, as the median of
``--repeat`` runs in this process:

- ``fit_synth`` with the placebo-in-space test over all 62 donors (target: ≤ 2 s on 2 cores);
- ``fit_sdid`` with 200 placebo replications.

When ``pysyncon`` can be installed (``pip install --target`` into a temporary folder; never a
project dependency), its ``Synth`` is run on the same outcome-only problem (every pre-period
month as a predictor, fixed identity V) and compared: time ratio and the largest weight
difference. Without it the comparison is skipped. JSON is printed and written to
benchmarks/results/synth_sdid.json.

    .venv/bin/python benchmarks/bench_synth_sdid.py [--repeat 3] [--no-pysyncon]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import panel, synth
from analysis.designs.sdid import fit_sdid
from analysis.designs.synth_control import fit_synth

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "synth_sdid.json"
TREATED, START = "Thái Nguyên", "2022-07"
FIRST, LAST = "2020-01", "2025-06"


def province_panel(seed: int = 766) -> pd.DataFrame:
    """The 63 old provinces × 72 months, all levels summed, with the online-rate counts."""
    data = synth.generate(seed=seed, start=FIRST, end=LAST)
    totals = panel.aggregate(data.panel, levels="sum")
    totals = totals[totals["boundary"] == "old63"]
    return totals[["province", "month", "dossiers_online", "dossiers_received"]].reset_index(
        drop=True
    )


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def pysyncon_comparison(data: pd.DataFrame, ours, repeat: int) -> dict:
    """pysyncon's Synth on the same problem, installed into a temporary folder.

    pysyncon divides each predictor by its standard deviation across units before weighting it
    by V; V = those variances makes its objective the plain pre-period squared error that
    ``fit_synth`` minimises, so the two solve the same problem.
    """
    target = Path(tempfile.gettempdir()) / "bench_pysyncon"
    if not (target / "pysyncon").exists():
        # --no-deps: numpy, pandas, scipy and matplotlib are the project's own.
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
            + ["--target", str(target), "pysyncon"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return {"skipped": "pip install pysyncon failed: " + done.stderr.strip()[-300:]}
    sys.path.append(str(target))
    try:
        from pysyncon import Dataprep, Synth
        from pysyncon.utils import PlaceboTest
    except Exception as exc:  # an optional comparison: any import problem skips it
        return {"skipped": f"pysyncon not importable: {exc!r}"}

    frame = data.assign(
        online_rate=100 * data["dossiers_online"] / data["dossiers_received"],
        t=(data["month"].dt.year - 2020) * 12 + data["month"].dt.month,
    )
    start_t = (int(START[:4]) - 2020) * 12 + int(START[5:])
    pre = sorted(m for m in frame["t"].unique() if m < start_t)
    donors = sorted(set(frame["province"]) - {TREATED})
    dataprep = Dataprep(
        foo=frame,
        predictors=[],
        predictors_op="mean",
        dependent="online_rate",
        unit_variable="province",
        time_variable="t",
        treatment_identifier=TREATED,
        controls_identifier=donors,
        time_predictors_prior=pre,
        time_optimize_ssr=pre,
        special_predictors=[("online_rate", [m], "mean") for m in pre],
    )
    wide = frame.pivot(index="t", columns="province", values="online_rate")
    custom_v = wide.loc[pre].std(axis=1).to_numpy() ** 2

    def run():
        model = Synth()
        model.fit(dataprep=dataprep, custom_V=custom_v)
        return model

    seconds, model = timed(run, repeat)
    theirs = pd.Series(model.W, index=donors)
    mine = ours.tables["weights"].set_index("unit")["weight"].reindex(donors)
    gap = wide[TREATED] - wide[donors] @ theirs
    out = {
        "version": _version("pysyncon"),
        "seconds_one_fit": seconds,
        "weights_max_abs_difference": float((mine - theirs).abs().max()),
        "pre_mse_pysyncon": float(np.mean(gap.loc[pre] ** 2)),
        "pre_mse_ours": float(ours.diagnostics["pre_rmspe"] ** 2),
        "estimate_pysyncon": float(gap.loc[gap.index >= start_t].mean()),
        "estimate_ours": float(ours.estimate),
    }
    placebo = PlaceboTest()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        placebo.fit(
            dataprep=dataprep,
            scm=Synth(),
            scm_options={"custom_V": custom_v},
            max_workers=os.cpu_count(),
            verbose=False,
        )
    out["seconds_with_placebos"] = time.perf_counter() - t0
    out["placebo_note"] = (
        "PlaceboTest over all donors in a process pool of os.cpu_count() workers, run once; "
        "V from the full panel's variances (the placebos' differ slightly)"
    )
    return out


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pysyncon", action="store_true")
    args = parser.parse_args()

    data = province_panel()
    kwargs = dict(
        unit="province",
        time="month",
        outcome="dossiers_online",
        denominator="dossiers_received",
        treated=TREATED,
        start=START,
    )
    n_units, n_months = data["province"].nunique(), data["month"].nunique()

    synth_s, sc = timed(lambda: fit_synth(data, **kwargs), args.repeat)
    synth_one_s, sc_one = timed(lambda: fit_synth(data, placebo=False, **kwargs), args.repeat)
    sdid_s, sd = timed(lambda: fit_sdid(data, placebo_reps=200, **kwargs), args.repeat)

    result = {
        "panel": {
            "source": "analysis.synth.generate(seed=766), levels summed, old63",
            "units": int(n_units),
            "months": int(n_months),
            "outcome": "online_rate",
            "treated": TREATED,
            "start": START,
        },
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
        },
        "repeat": args.repeat,
        "synth": {
            "seconds_with_placebos": synth_s,
            "seconds_one_fit": synth_one_s,
            "n_placebos": sc.diagnostics.get("n_placebos"),
            "target_seconds": 2.0,
            "within_target": synth_s <= 2.0,
            "estimate": sc.estimate,
            "p_value": sc.p_value,
            "pre_rmspe": sc.diagnostics["pre_rmspe"],
            "weights_spread_across_starts": sc.diagnostics["weights_spread"],
            "solver_converged": bool(sc.diagnostics["solver_converged"])
            and bool(sc.diagnostics["placebo_solver_converged"]),
        },
        "sdid": {
            "seconds_with_200_placebos": sdid_s,
            "estimate": sd.estimate,
            "se": sd.se,
            "did_estimate": sd.diagnostics["did_estimate"],
            "sc_estimate": sd.diagnostics["sc_estimate"],
            "omega_iterations": sd.diagnostics["omega_iterations"],
        },
    }
    if args.no_pysyncon:
        result["pysyncon"] = {"skipped": "--no-pysyncon"}
    else:
        comparison = pysyncon_comparison(data, sc_one, args.repeat)
        if "seconds_one_fit" in comparison:
            comparison["time_ratio_pysyncon_over_ours_one_fit"] = (
                comparison["seconds_one_fit"] / synth_one_s
            )
            comparison["time_ratio_pysyncon_over_ours_with_placebos"] = (
                comparison["seconds_with_placebos"] / synth_s
            )
        result["pysyncon"] = comparison

    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
