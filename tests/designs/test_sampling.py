"""The treated units' own binomial sampling variance (designs/sampling.py), by hand and in the
DiD and SDID standard errors.

Tolerances
----------
EXACT = 1e-12
    Sums of a few products of small rationals: floating-point error only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.designs.did import fit_did
from analysis.designs.sampling import (
    binomial_variance,
    excess_sampling_variance,
    post_minus_pre_weights,
)
from analysis.designs.sdid import fit_sdid

EXACT = 1e-12


def test_binomial_variance_by_hand():
    # 50 % of 100 dossiers: 50 · 50 / 100 = 25 pp²; 20 % of 400: 20 · 80 / 400 = 4 pp²
    assert binomial_variance(np.array([50.0, 20.0]), np.array([100.0, 400.0])) == pytest.approx(
        [25.0, 4.0], abs=EXACT
    )


def test_post_minus_pre_weights_by_hand():
    assert post_minus_pre_weights(5, 3) == pytest.approx([-1 / 3, -1 / 3, -1 / 3, 0.5, 0.5])
    lam = np.array([0.0, 0.25, 0.75])
    assert post_minus_pre_weights(4, 3, lam) == pytest.approx([0.0, -0.25, -0.75, 1.0])


def test_excess_over_the_controls_by_hand():
    """Treated: rates 50, 50, 20, 80 on 100 dossiers a month, start in column 2, so
    c = (−½, −½, ½, ½) and V_tr = ¼ · (25 + 25 + 16 + 16) = 20.5. Controls: 50 % of 10 000
    (0.25 pp² a month): V = ¼ · 4 · 0.25 = 0.25 each. Excess 20.25."""
    rates = np.array([[50, 50, 20, 80], [50, 50, 50, 50], [50, 50, 50, 50]], dtype=float)
    den = np.array([[100] * 4, [10_000] * 4, [10_000] * 4], dtype=float)
    got = excess_sampling_variance(rates, den, [0], [1, 2], post_minus_pre_weights(4, 2))
    assert got.treated == pytest.approx(20.5, abs=EXACT)
    assert got.controls == pytest.approx(0.25, abs=EXACT)
    assert got.excess == pytest.approx(20.25, abs=EXACT)
    # the other way round (a large treated unit among small ones) adds nothing
    swapped = excess_sampling_variance(rates, den, [1], [0], post_minus_pre_weights(4, 2))
    assert swapped.excess == 0.0
    # two treated units averaged: V_tr = (20.5 + 0.25) / 4; a placebo pair of controls 0.25 / 2
    pair = excess_sampling_variance(rates, den, [0, 1], [2], post_minus_pre_weights(4, 2))
    assert pair.treated == pytest.approx(20.75 / 4, abs=EXACT)
    assert pair.controls == pytest.approx(0.125, abs=EXACT)


def _small_treated_panel(seed: int = 3) -> pd.DataFrame:
    """20 control provinces of 50 000 dossiers a month and one of 200, 30 months, rates near
    40 % with unit levels and noise; the measure (no effect) from month 19."""
    rng = np.random.default_rng(seed)
    n, t = 21, 30
    months = pd.date_range("2021-01-01", periods=t, freq="MS")
    level = rng.normal(40, 5, n)
    rate = np.clip(level[:, None] + rng.normal(0, 0.5, (n, t)), 1, 99) / 100
    received = np.full((n, t), 50_000)
    received[0] = 200
    online = rng.binomial(received, rate)
    names = [f"P{i:02d}" for i in range(n)]
    return pd.DataFrame(
        {
            "unit": np.repeat(names, t),
            "time": np.tile(months, n),
            "online": online.ravel(),
            "received": received.ravel(),
        }
    )


def _by_hand(frame: pd.DataFrame, start: str, pre_weights=None) -> float:
    """V_tr − V_co from the counts with plain Python, as the module docstring writes it."""
    start_ts = pd.Timestamp(start)
    per_unit = {}
    for unit, rows in frame.groupby("unit"):
        rows = rows.sort_values("time")
        pre = rows[rows["time"] < start_ts]
        post = rows[rows["time"] >= start_ts]
        w_pre = [1 / len(pre)] * len(pre) if pre_weights is None else list(pre_weights)
        total = 0.0
        for w, (x, n) in zip(w_pre, zip(pre["online"], pre["received"], strict=True), strict=True):
            p = 100 * x / n
            total += w**2 * p * (100 - p) / n
        for x, n in zip(post["online"], post["received"], strict=True):
            p = 100 * x / n
            total += (1 / len(post)) ** 2 * p * (100 - p) / n
        per_unit[unit] = total
    controls = [v for u, v in per_unit.items() if u != "P00"]
    return max(0.0, per_unit["P00"] - sum(controls) / len(controls))


def test_did_adds_the_small_treated_units_sampling_variance():
    frame = _small_treated_panel()
    fit = fit_did(frame, outcome="online", denominator="received", treated="P00", start="2022-07")
    d = fit.diagnostics
    excess = _by_hand(frame, "2022-07")
    # 200 dossiers at ~40 %: about 12 pp² a month, averaged over 18 + 12 months ≈ 1.7 pp²
    assert 1.0 < excess < 3.0
    assert d["sampling_var_added"] == pytest.approx(excess, rel=1e-10)
    assert fit.se == pytest.approx(math.sqrt(d["se_without_sampling"] ** 2 + excess), rel=1e-10)
    # The placebo spread is estimated from the placebos: t on their number less one.
    assert d["inference"] == "placebo" and d["df"] == d["n_placebos"] - 1
    t975 = stats.t.ppf(0.975, d["n_placebos"] - 1)
    assert fit.ci_high - fit.estimate == pytest.approx(t975 * fit.se, rel=1e-5)
    assert "sampling variance" in fit.assumptions["en"]
    assert "phương sai lấy mẫu" in fit.assumptions["vi"]


def test_sdid_adds_the_small_treated_units_sampling_variance():
    frame = _small_treated_panel()
    fit = fit_sdid(
        frame,
        outcome="online",
        denominator="received",
        treated="P00",
        start="2022-07",
        placebo_reps=50,
    )
    d = fit.diagnostics
    lam = fit.tables["time_weights"]["weight"].to_numpy()
    excess = _by_hand(frame, "2022-07", pre_weights=lam)
    assert excess > 0
    assert d["sampling_var_added"] == pytest.approx(excess, rel=1e-10)
    assert fit.se == pytest.approx(math.sqrt(d["se_without_sampling"] ** 2 + excess), rel=1e-10)
    assert "sampling variance" in fit.assumptions["en"]


def test_without_counts_nothing_is_added():
    frame = _small_treated_panel().assign(rate=lambda f: 100 * f["online"] / f["received"])
    fit = fit_did(frame, outcome="rate", treated="P00", start="2022-07")
    assert math.isnan(fit.diagnostics["sampling_var_added"])
    assert fit.se == fit.diagnostics["se_without_sampling"]
