"""Time the synthetic control and SDID designs on province-sized panels.

Two panels, 63 units each:

- ``random_63x72``: 63 units × 72 months (2020-01 to 2025-12), seeded: unit levels, three
  common random-walk factors with unit loadings, idiosyncratic noise (sd 0.5); unit 5 treated
  from 2022-07 with +3.
- ``synthetic_63x66``: ``analysis.synthetic.panel.generate(seed=766)``, levels summed, on the old boundary
  (63 provinces, 2020-01 to 2025-06: the old boundary ends there, so 66 months), outcome
  ``online_rate`` from its counts; Thái Nguyên treated from 2022-07 (its fee cut).

Timed on each, as the median of ``--repeat`` runs in this process: ``fit_synth`` with the
placebo-in-space test over all 62 donors (target: ≤ 2 s on 2 cores), ``fit_synth`` alone, and
``fit_sdid`` with 200 placebo replications.

When ``pysyncon`` can be installed (``pip install --no-deps --target`` into a temporary folder;
never a project dependency), its ``Synth`` is run on the synthetic panel's outcome-only problem
(every pre-period month a predictor, V set so that its objective is ours) and compared: time
ratio, largest weight difference, pre-period fit. ``--pysyncon-placebos`` also times its
``PlaceboTest`` over all donors (minutes). Without pysyncon the comparison is skipped. JSON is
printed and written to benchmarks/results/synth_sdid.json.

    .venv/bin/python benchmarks/bench_synth_sdid.py [--repeat 3] [--no-pysyncon]
        [--pysyncon-placebos]
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

from analysis import panel
from analysis.designs.sdid import fit_sdid
from analysis.designs.synth_control import fit_synth
from analysis.synthetic import panel as synth

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "synth_sdid.json"
TREATED, START, MEASURE = "Thái Nguyên", "2022-07", "thai-nguyen-fee-50"
FIRST, LAST = "2020-01", "2025-06"


def province_panel(seed: int = 766) -> tuple[pd.DataFrame, float]:
    """The 63 old provinces × 66 months, all levels summed, with the online-rate counts, and
    the true average effect injected for the treated province over the post months."""
    data = synth.generate(seed=seed, start=FIRST, end=LAST)
    totals = panel.aggregate(data.panel, levels="sum")
    totals = totals[totals["boundary"] == "old63"]
    frame = totals[["province", "month", "dossiers_online", "dossiers_received"]]
    post = sorted(m for m in frame["month"].unique() if m >= pd.Timestamp(START))
    truth = synth.true_average_effect(data.truth, MEASURE, "online_rate", post, province=TREATED)
    return frame.reset_index(drop=True), truth


def random_panel(seed: int = 766) -> pd.DataFrame:
    """63 units × 72 months with a factor structure; unit u05 gets +3 from 2022-07."""
    rng = np.random.default_rng(seed)
    n, t = 63, 72
    months = pd.date_range("2020-01-01", periods=t, freq="MS")
    factors = np.cumsum(rng.normal(size=(3, t)), axis=1)
    y = (
        30
        + rng.normal(0, 10, (n, 1))
        + rng.normal(size=(n, 3)) @ factors
        + rng.normal(0, 0.5, (n, t))
    )
    y[5, months >= pd.Timestamp(START)] += 3.0
    return pd.DataFrame(
        {
            "unit": np.repeat([f"u{i:02d}" for i in range(n)], t),
            "month": np.tile(months, n),
            "value": y.ravel(),
        }
    )


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def pysyncon_comparison(data: pd.DataFrame, ours, repeat: int, placebos: bool) -> dict:
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
    if not placebos:
        out["seconds_with_placebos"] = None
        out["placebo_note"] = "not run (use --pysyncon-placebos; minutes)"
        return out
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


def time_designs(data: pd.DataFrame, kwargs: dict, repeat: int) -> tuple[dict, object]:
    synth_s, sc = timed(lambda: fit_synth(data, **kwargs), repeat)
    synth_one_s, sc_one = timed(lambda: fit_synth(data, placebo=False, **kwargs), repeat)
    sdid_s, sd = timed(lambda: fit_sdid(data, placebo_reps=200, **kwargs), repeat)
    units, periods = data[kwargs["unit"]].nunique(), data[kwargs["time"]].nunique()
    return {
        "units": int(units),
        "months": int(periods),
        "treated": kwargs["treated"],
        "start": START,
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
    }, (synth_one_s, synth_s, sc_one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pysyncon", action="store_true")
    parser.add_argument("--pysyncon-placebos", action="store_true")
    args = parser.parse_args()

    result: dict = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
        },
        "repeat": args.repeat,
    }
    random_data = random_panel()
    result["random_63x72"], _ = time_designs(
        random_data,
        dict(unit="unit", time="month", outcome="value", treated="u05", start=START),
        args.repeat,
    )
    result["random_63x72"]["true_effect"] = 3.0
    data, truth = province_panel()
    result["synthetic_63x66"], (synth_one_s, synth_s, sc_one) = time_designs(
        data,
        dict(
            unit="province",
            time="month",
            outcome="dossiers_online",
            denominator="dossiers_received",
            treated=TREATED,
            start=START,
        ),
        args.repeat,
    )
    result["synthetic_63x66"]["source"] = (
        "analysis.synthetic.panel.generate(seed=766), levels summed, old63, online_rate"
    )
    result["synthetic_63x66"]["true_effect"] = truth
    result["synthetic_63x66"]["true_effect_note"] = (
        "mean injected effect of thai-nguyen-fee-50 over the post months; other provinces "
        "carry measures of their own in this window, so the donors are not all clean"
    )
    if args.no_pysyncon:
        result["pysyncon"] = {"skipped": "--no-pysyncon"}
    else:
        comparison = pysyncon_comparison(data, sc_one, args.repeat, args.pysyncon_placebos)
        if "seconds_one_fit" in comparison:
            comparison["panel"] = "synthetic_63x66"
            comparison["time_ratio_pysyncon_over_ours_one_fit"] = (
                comparison["seconds_one_fit"] / synth_one_s
            )
            if comparison.get("seconds_with_placebos"):
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
