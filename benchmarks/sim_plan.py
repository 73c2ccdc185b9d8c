"""The evaluation plan's stated power against fresh simulations, including its two known gaps.

The plan (``analysis.documents.plan``) states the power of a design at an effect size from
placebo draws on the history; here it is compared with the share of fresh simulated panels,
the effect injected, whose estimate (the public fit) exceeds the plan's critical value:

``known-its``, ``known-did``
    A generator written here, apart from ``analysis.synthetic.panel``: rates in pp with a unit
    level (30–70) and trend (0.1–0.4 pp a month), a Tết dip (−0.4 pp per holiday day) and AR(1)
    noise (φ 0.5, sd 1.5); 30 units, 84 months of history, 400 panels per size, the sizes where
    the stated power is near 30 %, 60 % and 90 %. ``tests/documents/test_plan.py`` runs
    ``known-its`` (marker ``simulation``). ``known-did`` is a known gap (issue 17 report): at
    ~90 % stated power, fresh panels reject 0.835 where the plan states 0.911; 30 % and 60 %
    agree within 5 points.
``synthetic``
    The plan on the synthetic panel of seed 766 for a start of 2025-10, against fresh panels of
    ``synth.generate`` (seeds 1–150), the same province treated with d pp from 2025-10, the ITS
    refitted on each, for Lai Châu and Hà Nội. The measures the generator injected are taken out
    with its ground truth first (in both), so that the only effect in the fresh panels is d. A
    known gap (issue 17 report): the stated ITS power for Lai Châu is 0.30 where fresh panels
    reject 0.16 at the same size; the placebo windows mix trend misfits that, in fresh panels of
    the same expected path, are one fixed misfit.

The two known gaps ran in the test suite as non-strict ``xfail`` tests (about 4 minutes, an
outcome that could not fail the suite); they are measured here instead. One line per size:
stated, observed, and ``ok`` when they are within 5 points (the tests' tolerance). Exit 1 when
any is off (today: the two known gaps).

    nice -n 10 .venv/bin/python benchmarks/sim_plan.py [--checks known-did,synthetic]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from analysis.calendar import tet_days
from analysis.designs.did import fit_did
from analysis.designs.its import fit_its
from analysis.documents import plan
from analysis.evaluation.effects import canonical_frame
from analysis.synthetic import panel as synth

OUTCOME = "online_rate"
W = plan.PRE_WINDOW
TOLERANCE = 0.05  # points of power between stated and observed
CHECKS = ("known-its", "known-did", "synthetic")


def generate(rng, n_units, months, effect=0.0, start=None):
    """Rates in pp: unit level and trend, Tết dip, AR(1) noise (phi 0.5, sd 1.5)."""
    t = np.arange(len(months))
    level = np.linspace(30, 70, n_units)[:, None]
    trend = np.linspace(0.1, 0.4, n_units)[:, None] * t
    tet = -0.4 * tet_days(months).to_numpy(float)[None, :]
    e = np.zeros((n_units, len(months)))
    shocks = rng.normal(0, 1.5, (n_units, len(months)))
    e[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.25)
    for k in range(1, len(months)):
        e[:, k] = 0.5 * e[:, k - 1] + shocks[:, k]
    y = level + trend + tet + e
    if effect:
        y[0, start:] += effect
    return y


def long_frame(y, months):
    """A (units × months) matrix as a long panel: unit ``u00``, ``u01``, …, time, outcome."""
    n = y.shape[0]
    return pd.DataFrame(
        {
            "unit": np.repeat([f"u{i:02d}" for i in range(n)], len(months)),
            "time": np.tile(months, n),
            "outcome": y.ravel(),
        }
    )


def sizes(draws):
    """Three effect sizes where the stated power is near 30 %, 60 % and 90 %."""
    pw = plan.power(draws, plan.GRID)
    return [float(plan.GRID[np.argmax(pw >= target)]) for target in (0.3, 0.6, 0.9)]


def known_generator(design: str) -> list[tuple[str, float, float, float]]:
    """(design, size, stated, observed) at three sizes, on the generator of this module."""
    rng = np.random.default_rng(17)
    n_units, h, n_sim = 30, 12, 400
    months = pd.date_range("2018-01-01", periods=84 + h, freq="MS")
    history = months[:84]
    draws = plan.linear_draws(design, generate(rng, n_units, history), history, 0)[:, h - 1]
    c = plan.critical_value(draws)
    rows = []
    for d in sizes(draws):
        stated = plan.power(draws, [d])[0]
        rejected = 0
        for _ in range(n_sim):
            y = generate(rng, n_units, months, effect=d, start=84)
            if design == "its":
                series = pd.DataFrame({"month": months, "value": y[0]})
                est = fit_its(
                    series, months[84], outcome="value", placebo=False, post_months=h, pre_months=W
                ).estimate
            else:
                window = long_frame(y[:, 84 - W :], months[84 - W :])
                est = fit_did(window, treated="u00", start=months[84]).estimate
            rejected += abs(est) > c
        rows.append((design, d, stated, rejected / n_sim))
    return rows


def _rates(seed: int) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """online_rate (pp) by province and month on new34, the generator's own effects taken out."""
    data = synth.generate(seed=seed)
    f = canonical_frame(data.panel, OUTCOME, "new34")
    f = f.assign(r=100 * f["dossiers_online"] / f["dossiers_received"])
    wide = f.pivot(index="unit", columns="time", values="r")
    truth = data.truth[(data.truth["boundary"] == "new34") & (data.truth["outcome"] == OUTCOME)]
    known = truth.pivot_table(index="province", columns="month", values="effect_pp", aggfunc="sum")
    return wide.sub(known.reindex_like(wide).fillna(0.0)), pd.DatetimeIndex(wide.columns)


def synthetic_panels() -> list[tuple[str, float, float, float]]:
    """(province, size, stated, observed): Lai Châu and Hà Nội, three sizes each."""
    h, seeds = 12, range(1, 151)
    start = pd.Timestamp("2025-10-01")
    wide, months = _rates(766)
    keep = months < start
    hist = months[keep]
    names = list(wide.index)
    fresh = [_rates(s) for s in seeds]
    rows = []
    for province in ("Lai Châu", "Hà Nội"):
        own = names.index(province)
        draws = plan.linear_draws("its", wide.to_numpy()[:, keep], hist, own)[:, h - 1]
        c = plan.critical_value(draws)
        for d in sizes(draws):
            stated = plan.power(draws, [d])[0]
            hits = []
            for w, m in fresh:
                y = w.loc[province].to_numpy()[: len(hist) + h].copy()
                y[len(hist) :] += d
                series = pd.DataFrame({"month": m[: len(hist) + h], "value": y})
                est = fit_its(
                    series, start, outcome="value", placebo=False, post_months=h, pre_months=W
                )
                hits.append(abs(est.estimate) > c)
            rows.append((province, d, stated, float(np.mean(hits))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", default=",".join(CHECKS), help=f"of {', '.join(CHECKS)}")
    args = parser.parse_args(argv)
    off = 0
    for check in args.checks.split(","):
        if check not in CHECKS:
            parser.error(f"unknown check {check!r}: one of {', '.join(CHECKS)}")
        rows = synthetic_panels() if check == "synthetic" else known_generator(check[6:])
        for what, d, stated, observed in rows:
            ok = abs(observed - stated) <= TOLERANCE + 1e-9
            off += not ok
            print(
                f"{'ok ' if ok else 'OFF'} {check} {what} d={d:.2f} pp: "
                f"stated {stated:.3f}, observed {observed:.3f}"
            )
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
