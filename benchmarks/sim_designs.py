"""Do the designs' default intervals hold on realistic count data? A simulation study, before → after.

The panels come from a generator written here, apart from ``analysis.synthetic.panel`` (whose own
assumptions must not grade the designs):

- 50 provinces × 60 months (2019-01 to 2023-12), the measure from 2022-01 (36 months before,
  24 after: the documents' 24-month window).
- Online share on a logit trend: logit p_it = α_i + β_i·t/12 + γ·tet_it + u_it with
  α_i ~ N(logit 0.3, 0.6²), heterogeneous slopes β_i ~ N(0.30, 0.05²) per year (an S-curve in
  percentage points, steeper in the middle), a Tết dip γ = −0.03 per Tết holiday day of the month
  (``analysis.calendar``), and AR(1) unit shocks u_it = φ_i·u_i,t−1 + e_it, φ_i ~ U(0.3, 0.6),
  e_it ~ N(0, 0.06²) (stationary start).
- Dossiers received n_it ~ negative binomial (gamma–Poisson, shape 30) with mean m_i·(1 − 0.04 ·
  tet_it); m_i log-uniform on 300–10⁵ a month; online dossiers ~ Binomial(n_it, p_it + δ_t/100).

Cases (the treated unit's volume is set, its trend parameters drawn like every other's):

=============  =====================================================================
large_null     one treated province, 30 000 dossiers a month, no effect
large_8pp      the same with +8 pp from the start
ramp           +8 pp reached linearly over 6 months (δ_k = 8·min(1, (k + 1)/6))
small_null     one treated province of 300 dossiers a month, no effect
staggered      3 cohorts of 5 provinces (from 2021-01, 2021-07, 2022-01), +5 pp each
=============  =====================================================================

The truth is the mean of δ over the post months (the estimand of every design here: ITS's
average post effect, DiD's coefficient, the mean gap of synthetic control and SDID, CS's simple
ATT). Each design is run as ``workbench effect`` runs it by default — except that the ITS
placebo-in-time and the CS bootstrap are switched off: neither changes the estimate or its
interval, only diagnostics (and they cost most of the time). "after" is the code as it is;
"before" reruns the earlier behaviour from the same panels:

- its: ``model="ols"`` (a straight line in pp; before ``model="auto"`` chose binomial)
- did: a t interval on the standard error, ``estimate ± t(df) · se`` (with one treated province
  ``se`` is the placebos' standard deviation with the sampling variance added, df = placebos − 1;
  after, their order statistics, designs/placebo.py)
- sdid: the standard error without the treated unit's own sampling variance
  (``se_without_sampling``, designs/sampling.py)
- synth: the average-effect interval with the placebo gaps scaled by the plain ratio of
  pre-period RMSPEs (after, each placebo is first put at the treated unit's binomial noise);
  the JSON also keeps the constant-effect inversion alone (``inversion``: empty = no interval)
- cs: ``min_cohort=1`` (before, a cohort of one unit was accepted)

Reported per case, design and version: bias, RMSE, coverage of the 95 % interval, the rate at
which it excludes 0 (false-positive rate when the truth is 0, power otherwise), intervals not
given, each with its Monte Carlo standard error: sd/√R for the bias, sd(err²)/(2·RMSE·√R) for
the RMSE (delta method), √(c(1 − c)/R) for a proportion.

    nice -n 10 .venv/bin/python benchmarks/sim_designs.py [--reps 40] [--seed 13]
        [--cases large_null,small_null] [--designs its,did] [--out benchmarks/results]

Writes ``sim_designs.json`` (every number) and ``sim_designs.md`` (the table) under ``--out``.
The cases can run as separate processes and be put into one table afterwards (each case has its
own random stream, so the numbers are the same as in one run):

    for c in large_null large_8pp ramp small_null staggered; do
        nice -n 15 .venv/bin/python benchmarks/sim_designs.py --reps 200 --cases $c --out /tmp/sim/$c &
    done; wait
    .venv/bin/python benchmarks/sim_designs.py --merge /tmp/sim/*/sim_designs.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.calendar import tet_days
from analysis.errors import WorkbenchError

ROOT = Path(__file__).resolve().parents[1]
N_UNITS = 50
MONTHS = pd.date_range("2019-01-01", "2023-12-01", freq="MS")
START = "2022-01"
LEVEL = 0.95
TET = tet_days(MONTHS).to_numpy(dtype=float)


@dataclass(frozen=True)
class Case:
    """One simulated situation: treated units, their volume, the effect path in pp."""

    name: str
    label: str
    effect: float
    ramp: int = 0  # months to reach the full effect (0: at once)
    treated_volume: float | None = 30_000.0  # None: drawn like every unit's
    cohorts: tuple[str, ...] = ()  # staggered starts; empty: one treated unit from START
    cohort_size: int = 5

    def effect_path(self, k: np.ndarray) -> np.ndarray:
        """δ in pp for months k = 0, 1, … since the unit's start (negative: before)."""
        full = self.effect * (np.minimum(1.0, (k + 1) / self.ramp) if self.ramp else 1.0)
        return np.where(k >= 0, full, 0.0)


CASES = {
    c.name: c
    for c in (
        Case("large_null", "one treated province (30 000/month), no effect", 0.0),
        Case("large_8pp", "one treated province (30 000/month), +8 pp", 8.0),
        Case("ramp", "+8 pp ramping up over 6 months", 8.0, ramp=6),
        Case(
            "small_null", "small treated province (300/month), no effect", 0.0, treated_volume=300
        ),
        Case(
            "staggered",
            "staggered, 3 cohorts of 5, +5 pp",
            5.0,
            treated_volume=None,
            cohorts=("2021-01", "2021-07", "2022-01"),
        ),
    )
}
DESIGNS = ("its", "did", "synth", "sdid", "cs")


# --- generator ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """A simulated panel: the long frame the designs read, and its true average effect."""

    frame: pd.DataFrame
    truth: float
    treated: tuple[str, ...]


def unit_names(n: int = N_UNITS) -> list[str]:
    """Province-like unit names that sort in row order."""
    return [f"P{i:02d}" for i in range(n)]


def generate(case: Case, rng: np.random.Generator) -> Panel:
    """One panel of ``case`` (see the module docstring for every distribution)."""
    n, t = N_UNITS, len(MONTHS)
    alpha = rng.normal(np.log(0.3 / 0.7), 0.6, n)
    beta = rng.normal(0.30, 0.05, n)
    phi = rng.uniform(0.3, 0.6, n)
    shocks = rng.normal(0.0, 0.06, (n, t))
    u = np.empty((n, t))
    u[:, 0] = shocks[:, 0] / np.sqrt(1 - phi**2)
    for j in range(1, t):
        u[:, j] = phi * u[:, j - 1] + shocks[:, j]
    years = np.arange(t) / 12
    eta = alpha[:, None] + beta[:, None] * years[None] - 0.03 * TET[None] + u
    volume = np.exp(rng.uniform(np.log(300), np.log(1e5), n))
    starts = np.full(n, -1)
    names = unit_names(n)
    if case.cohorts:
        rows = rng.permutation(n)[: case.cohort_size * len(case.cohorts)]
        for c, when in enumerate(case.cohorts):
            col = int(MONTHS.get_loc(pd.Timestamp(when)))
            starts[rows[c * case.cohort_size : (c + 1) * case.cohort_size]] = col
    else:
        starts[0] = int(MONTHS.get_loc(pd.Timestamp(START)))
        volume[0] = case.treated_volume
    k = np.arange(t)[None] - starts[:, None]
    delta = np.where(starts[:, None] >= 0, case.effect_path(k), 0.0)
    p = np.clip(expit(eta) + delta / 100, 0.0, 1.0)
    mean = volume[:, None] * (1 - 0.04 * TET[None])
    received = np.maximum(rng.poisson(rng.gamma(30.0, mean / 30.0)), 1)
    online = rng.binomial(received, p)
    treated_rows = np.flatnonzero(starts >= 0)
    # The estimand: the treated units' mean effect over their post months (simple ATT).
    truth = float(np.mean([delta[r, starts[r] :].mean() for r in treated_rows]))
    if case.cohorts:
        weights = [t - s for s in starts[treated_rows]]
        truth = float(
            np.average([delta[r, starts[r] :].mean() for r in treated_rows], weights=weights)
        )
    first = np.where(starts >= 0, starts, 0)
    frame = pd.DataFrame(
        {
            "unit": np.repeat(names, t),
            "time": np.tile(MONTHS, n),
            "online": online.ravel(),
            "received": received.ravel(),
            "first_treat": np.repeat(
                [MONTHS[f] if s >= 0 else pd.NaT for f, s in zip(first, starts, strict=True)], t
            ),
        }
    )
    return Panel(frame, truth, tuple(names[r] for r in treated_rows))


# --- running the designs ------------------------------------------------------------------------


Interval = tuple[float, float, float]  # estimate, low, high


def _panel_kwargs(panel: Panel) -> dict:
    return {"unit": "unit", "time": "time", "outcome": "online", "denominator": "received"}


def run_its(panel: Panel, case: Case) -> dict[str, Interval]:
    from analysis.designs.its import fit_its

    rows = panel.frame[panel.frame["unit"] == panel.treated[0]]
    series = pd.DataFrame(
        {
            "month": rows["time"].to_numpy(),
            "numerator": rows["online"].to_numpy(float),
            "denominator": rows["received"].to_numpy(float),
        }
    )
    out = {}
    for version, model in (("after", "auto"), ("before", "ols")):
        r = fit_its(series, START, outcome="online_rate", placebo=False, model=model)
        out[version] = (r.estimate, r.ci_low, r.ci_high)
    return out


def _without_sampling(r) -> Interval:
    """The interval the standard error had before the treated unit's sampling variance."""
    se, old = r.se, r.diagnostics.get("se_without_sampling", r.se)
    if not (math.isfinite(se) and se > 0 and math.isfinite(old)):
        return (r.estimate, r.ci_low, r.ci_high)
    half = (r.ci_high - r.estimate) * old / se
    return (r.estimate, r.estimate - half, r.estimate + half)


def run_did(panel: Panel, case: Case) -> dict[str, Interval]:
    from analysis.designs.did import fit_did

    kw = _panel_kwargs(panel)
    if case.cohorts:
        r = fit_did(panel.frame, cohort="first_treat", **kw)
    else:
        r = fit_did(panel.frame, treated=panel.treated[0], start=START, **kw)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, r.diagnostics["df"])) * r.se
    return {
        "after": (r.estimate, r.ci_low, r.ci_high),
        "before": (r.estimate, r.estimate - half, r.estimate + half),
    }


def run_synth(panel: Panel, case: Case) -> dict[str, Interval]:
    from analysis.designs.synth_control import average_effect_interval, fit_synth

    r = fit_synth(panel.frame, treated=panel.treated[0], start=START, **_panel_kwargs(panel))
    pl = r.tables["placebos"]
    pl = pl[~pl["treated"]]
    before = average_effect_interval(
        r.estimate,
        r.diagnostics["pre_rmspe"],
        pl["mean_gap"].to_numpy(),
        pl["pre_rmspe"].to_numpy(),
        LEVEL,
        1e-12,
    )
    d = r.diagnostics
    return {
        "after": (r.estimate, r.ci_low, r.ci_high),
        "before": (r.estimate, *before),
        "inversion": (r.estimate, d["ci_constant_effect_low"], d["ci_constant_effect_high"]),
    }


def run_sdid(panel: Panel, case: Case) -> dict[str, Interval]:
    from analysis.designs.sdid import fit_sdid

    r = fit_sdid(panel.frame, treated=panel.treated[0], start=START, **_panel_kwargs(panel))
    return {"after": (r.estimate, r.ci_low, r.ci_high), "before": _without_sampling(r)}


def run_cs(panel: Panel, case: Case) -> dict[str, Interval | str]:
    from analysis.designs.cs import fit_cs

    kw = dict(_panel_kwargs(panel), bootstrap=0)
    if not case.cohorts:
        kw.update(treated=panel.treated[0], start=START)
    else:
        kw.update(cohort="first_treat")
    out: dict[str, Interval | str] = {}
    for version, min_cohort in (("after", None), ("before", 1)):
        options = {} if min_cohort is None else {"min_cohort": min_cohort}
        try:
            r = fit_cs(panel.frame, **kw, **options)
            out[version] = (r.estimate, r.ci_low, r.ci_high)
        except WorkbenchError as exc:
            out[version] = exc.message
    return out


RUNNERS: dict[str, Callable[[Panel, Case], dict]] = {
    "its": run_its,
    "did": run_did,
    "synth": run_synth,
    "sdid": run_sdid,
    "cs": run_cs,
}


def versions(design: str) -> tuple[str, ...]:
    """The intervals kept per run: before and after, and synth's constant-effect inversion
    alone (``ci_constant_effect_low/high``; empty = no interval), in the JSON only."""
    return ("before", "after", "inversion") if design == "synth" else ("before", "after")


def applies(design: str, case: Case) -> bool:
    """Whether ``workbench effect`` would run the design on the case (one start, one unit...)."""
    return not (case.cohorts and design in ("its", "synth", "sdid"))


# --- summarising --------------------------------------------------------------------------------


def summarise(values: Sequence[Interval | str], truth: Sequence[float]) -> dict:
    """Bias, RMSE, coverage and rejection of 0 with their Monte Carlo standard errors."""
    refused = [v for v in values if isinstance(v, str)]
    fits = [(v, t) for v, t in zip(values, truth, strict=True) if not isinstance(v, str)]
    out: dict = {"reps": len(values), "refused": len(refused)}
    if refused:
        out["refused_reason"] = refused[0]
    if not fits:
        return out
    est = np.array([v[0] for v, _ in fits])
    low = np.array([v[1] for v, _ in fits])
    high = np.array([v[2] for v, _ in fits])
    tr = np.array([t for _, t in fits])
    r = len(fits)
    err = est - tr
    given = np.isfinite(low) & np.isfinite(high)
    covered = given & (low <= tr) & (tr <= high)
    rejects = given & ((low > 0) | (high < 0))
    rmse = float(np.sqrt(np.mean(err**2)))

    def prop(x: np.ndarray) -> tuple[float, float]:
        c = float(np.mean(x))
        return c, math.sqrt(c * (1 - c) / r)

    out.update(
        fitted=r,
        bias=float(err.mean()),
        bias_mc=float(err.std(ddof=1) / math.sqrt(r)) if r > 1 else math.nan,
        rmse=rmse,
        rmse_mc=float(np.std(err**2, ddof=1) / (2 * rmse * math.sqrt(r)))
        if r > 1 and rmse > 0
        else math.nan,
        coverage=prop(covered)[0],
        coverage_mc=prop(covered)[1],
        reject=prop(rejects)[0],
        reject_mc=prop(rejects)[1],
        no_interval=int((~given).sum()),
        mean_width=float(np.mean((high - low)[given])) if given.any() else math.nan,
    )
    return out


def simulate(
    cases: Sequence[str], designs: Sequence[str], reps: int, seed: int, progress: bool = True
) -> dict:
    """Run every design on ``reps`` panels of every case; the summaries by case/design/version.

    Each case draws its panels from its own stream (``SeedSequence(seed).spawn``), so a case's
    numbers do not depend on which other cases run.
    """
    streams = dict(zip(CASES, np.random.SeedSequence(seed).spawn(len(CASES)), strict=True))
    results: dict = {}
    seconds: dict = {}
    for name in cases:
        case = CASES[name]
        rng = np.random.default_rng(streams[name])
        runs = [d for d in designs if applies(d, case)]
        values: dict = {(d, v): [] for d in runs for v in versions(d)}
        truths = []
        seconds[name] = dict.fromkeys(runs, 0.0)
        for rep in range(reps):
            panel = generate(case, rng)
            truths.append(panel.truth)
            for d in runs:
                t0 = time.perf_counter()
                try:
                    got = RUNNERS[d](panel, case)
                except WorkbenchError as exc:  # the design refuses the case
                    got = dict.fromkeys(versions(d), exc.message)
                seconds[name][d] += time.perf_counter() - t0
                for v in versions(d):
                    values[(d, v)].append(got[v])
            if progress:
                print(f"\r{name}: {rep + 1}/{reps}", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        results[name] = {
            d: {v: summarise(values[(d, v)], truths) for v in versions(d)} for d in runs
        }
        results[name]["_truth"] = float(np.mean(truths))
    return {"results": results, "seconds": seconds}


# --- output -------------------------------------------------------------------------------------


def _p(x: float, digits: int = 2) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def cell(s: dict, null: bool) -> str:
    """'coverage / rejection (±MC)' of one version, or why it did not run."""
    if s.get("fitted", 0) == 0:
        return "refused"
    text = f"{_p(s['coverage'])} / {_p(s['reject'])} (±{_p(s['coverage_mc'])}/{_p(s['reject_mc'])})"
    if s["no_interval"]:
        text += f", {s['no_interval']} no CI"
    return text


def table(out: dict) -> str:
    """Markdown: one row per case and design, before → after."""
    lines = [
        "| case | design | before: coverage / reject 0 (±MC) | after: coverage / reject 0 (±MC) "
        "| after: bias (±MC) | after: RMSE (±MC) |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_design in out["results"].items():
        null = CASES[name].effect == 0
        for d, v in by_design.items():
            if d.startswith("_"):
                continue
            a, b = v["after"], v["before"]
            lines.append(
                f"| {name} | {d} | {cell(b, null)} | {cell(a, null)} | "
                f"{_p(a.get('bias', math.nan))} (±{_p(a.get('bias_mc', math.nan))}) | "
                f"{_p(a.get('rmse', math.nan))} (±{_p(a.get('rmse_mc', math.nan))}) |"
            )
    lines.append("")
    lines.append(
        '"reject 0" is the false-positive rate in the *_null cases and the power in the others; '
        '±MC are Monte Carlo standard errors; "refused": the design turns the case down '
        "(Callaway–Sant'Anna with a one-unit cohort)."
    )
    return "\n".join(lines)


def merge(paths: Sequence[Path]) -> dict:
    """One study from the ``sim_designs.json`` of runs side by side (say one case each, as
    separate processes): a case draws from its own stream, so its numbers are those of a
    single run. The runs must share ``reps`` and ``seed`` and not repeat a case."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    if len({(r["reps"], r["seed"]) for r in runs}) != 1:
        raise SystemExit("--merge: the runs differ in --reps or --seed")
    names = [c for r in runs for c in r["results"]]
    if len(set(names)) != len(names):
        raise SystemExit(f"--merge: a case appears twice ({', '.join(names)})")
    found = {c: r for r in runs for c in r["results"]}
    order = [c for c in CASES if c in found]
    return {
        "results": {c: found[c]["results"][c] for c in order},
        "seconds": {c: found[c]["seconds"][c] for c in order},
        "reps": runs[0]["reps"],
        "seed": runs[0]["seed"],
        "seconds_total": max(r["seconds_total"] for r in runs),
        "python": runs[0]["python"],
        "command": [r["command"] for r in runs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="write the table of these sim_designs.json (runs side by side) instead of simulating",
    )
    args = parser.parse_args(argv)
    if args.merge:
        out = merge(args.merge)
    else:
        cases = [c for c in args.cases.split(",") if c]
        designs = [d for d in args.designs.split(",") if d]
        unknown = [c for c in cases if c not in CASES] + [d for d in designs if d not in DESIGNS]
        if unknown or args.reps < 2:
            parser.error(f"unknown case/design {unknown} or --reps < 2")
        t0 = time.perf_counter()
        out = simulate(cases, designs, args.reps, args.seed)
        out.update(
            reps=args.reps,
            seed=args.seed,
            seconds_total=time.perf_counter() - t0,
            python=platform.python_version(),
            command=" ".join(["benchmarks/sim_designs.py", *(argv or sys.argv[1:])]),
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sim_designs.json").write_text(json.dumps(out, indent=2, ensure_ascii=False))
    text = table(out)
    runs = (
        ""
        if isinstance(out["command"], str)
        else f" (the longest of {len(out['command'])} runs side by side)"
    )
    (args.out / "sim_designs.md").write_text(
        f"# Designs on simulated count panels: before → after\n\n{out['reps']} replications per "
        f"case, seed {out['seed']}, {out['seconds_total']:.0f} s{runs}.\n\n{text}\n"
    )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
