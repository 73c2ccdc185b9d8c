"""Synthetic control: published replication, hand-made panels, the solver, bad input.

Tolerances
----------
PROP99_SC = (-19.5, 1.0)
    Abadie, Diamond & Hainmueller (2010) report −19.48 packs per capita (average gap
    1989–2000) with covariate predictors (income, beer, price, youth share and three outcome
    lags) and a data-driven V. ``fit_synth`` uses every pre-period outcome as a predictor
    (V = identity), which is a different problem with a nearby answer (Arkhangelsky et al.
    2021 report −19.6 for an outcome-only SC); ±1.0 pack allows for the difference in
    predictors, not for a solver error.
PROP99_MAX_P = 0.10
    Abadie et al. (2010) rank California first of 39 by the post/pre RMSPE ratio (p = 1/39)
    with their predictors; outcome-only weights fit a few small states better, so the rank
    may slip by a couple of places. 0.10 means "rank 3 or better of 39".
WEIGHTS = 1e-4
    An exact convex combination is an interior optimum of a strictly convex problem (eight
    affinely independent random walks over 30 periods); the active-set solver is exact up to
    the ridge (1e-12 relative) and floating-point error, so 1e-4 is the brief's bound with a
    wide margin.
EXACT = 1e-8
    Gaps that are exact sums of the input (the treated unit a copy of a donor plus a constant).
SOLVER = 1e-9
    Against scipy's SLSQP (an independent general-purpose solver, run with a tight ftol) our
    objective must not be worse by more than this (relative); it is usually better.
"""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import long_panel
from scipy import optimize

from analysis.designs.plots import plot_gap, plot_weights
from analysis.designs.synth_control import (
    CI_AVERAGE,
    CI_CONSTANT,
    average_effect_interval,
    constant_effect_interval,
    fit_synth,
    placebo_weights,
    project_simplex,
    rank_p_value,
    simplex_weights,
)
from analysis.errors import WorkbenchError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROP99_SC = (-19.5, 1.0)
PROP99_MAX_P = 0.10
WEIGHTS = 1e-4
EXACT = 1e-8
SOLVER = 1e-9


@pytest.fixture(scope="module")
def prop99_fit(prop99):
    return fit_synth(
        prop99, unit="state", time="year", outcome="packs", treated="California", start=1989
    )


# --- published replication --------------------------------------------------------------------


def test_prop99_estimate_near_published(prop99_fit):
    # −19.48 (Abadie et al. 2010) uses covariate predictors; outcome-only SC lands near it.
    centre, tol = PROP99_SC
    assert abs(prop99_fit.estimate - centre) <= tol
    assert prop99_fit.method == "synth"
    assert prop99_fit.n_pre == 19 and prop99_fit.n_post == 12
    assert prop99_fit.start == pd.Timestamp("1989-01-01")


def test_prop99_weights_are_on_the_simplex(prop99_fit):
    weights = prop99_fit.tables["weights"]
    assert len(weights) == 38 and "California" not in set(weights["unit"])
    assert weights["weight"].min() >= 0
    assert weights["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert list(weights["weight"]) == sorted(weights["weight"], reverse=True)
    # every start reaches the same (unique) optimum
    assert prop99_fit.diagnostics["weights_spread"] < 1e-6
    assert prop99_fit.diagnostics["solver_converged"]


def test_prop99_placebo_p_value(prop99_fit):
    d = prop99_fit.diagnostics
    assert d["n_placebos"] == 38
    assert prop99_fit.p_value == pytest.approx(d["placebo_rank"] / 39)
    assert prop99_fit.p_value <= PROP99_MAX_P
    placebos = prop99_fit.tables["placebos"]
    assert len(placebos) == 39
    assert placebos.loc[placebos["treated"], "rank"].item() == d["placebo_rank"]
    assert list(placebos["ratio"]) == sorted(placebos["ratio"], reverse=True)


def test_prop99_interval_is_the_placebo_inversion_not_a_normal_ci(prop99_fit):
    assert math.isnan(prop99_fit.se)
    assert prop99_fit.ci_low < prop99_fit.estimate < prop99_fit.ci_high
    assert prop99_fit.diagnostics["ci_method"].startswith("constant-effect test inversion")
    # Recompute the inversion from the placebo table: with 39 units at 95 %, only the largest
    # placebo ratio can be exceeded, so the bound is that ratio × the treated pre-RMSPE.
    placebos = prop99_fit.tables["placebos"]
    largest = placebos.loc[~placebos["treated"], "ratio"].max()
    bound = largest * prop99_fit.diagnostics["pre_rmspe"]
    post = prop99_fit.by_period.loc[prop99_fit.by_period["post"], "gap"].to_numpy()
    half = math.sqrt(bound**2 - np.var(post))
    assert prop99_fit.ci_low == pytest.approx(post.mean() - half, rel=1e-12)
    assert prop99_fit.ci_high == pytest.approx(post.mean() + half, rel=1e-12)


def test_prop99_by_period(prop99_fit):
    bp = prop99_fit.by_period
    assert len(bp) == 31
    assert bp["effect"].isna().sum() == 19
    post = bp[bp["post"]]
    assert (post["observed"] - post["counterfactual"] - post["effect"]).abs().max() < EXACT
    assert prop99_fit.estimate == pytest.approx(post["effect"].mean())
    # the per-period interval inverts the placebo band: [gap − q_hi, gap − q_lo]
    width = post["effect_high"] - post["effect_low"]
    assert np.allclose(width, post["placebo_high"] - post["placebo_low"])
    assert np.allclose(post["effect_low"], post["gap"] - post["placebo_high"])


def test_to_dict_is_json(prop99_fit):
    out = prop99_fit.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert '"method": "synth"' in text
    assert out["se"] is None
    assert {"weights", "placebos"} <= set(out["tables"])
    assert out["start"] == "1989-01-01"


def test_assumptions_in_both_languages(prop99_fit):
    vi, en = prop99_fit.assumptions["vi"], prop99_fit.assumptions["en"]
    assert "đối chứng tổng hợp" in vi and "kiểm định giả (placebo)" in vi
    assert "trọng số không âm, tổng bằng 1" in vi
    assert "Firpo" in en and "not a normal-theory confidence interval" in en
    assert "3 of 39" in en or f"{prop99_fit.diagnostics['placebo_rank']} of 39" in en


# --- hand-made panels ---------------------------------------------------------------------------


def _sinusoid_donors(n_periods: int = 20) -> np.ndarray:
    """Four donors with distinct shapes: none is a convex combination of the others."""
    t = np.arange(n_periods)
    return np.vstack(
        [
            10 + np.sin(t / 2),
            12 + np.cos(t / 3),
            8 + 0.2 * t,
            11 + np.sin(t / 1.3) * 0.5 - 0.05 * t,
        ]
    )


def test_copy_of_a_donor_plus_a_constant():
    donors = _sinusoid_donors()
    treated = donors[1].copy()
    treated[12:] += 10.0
    data = long_panel(np.vstack([donors, treated]), ["A", "B", "C", "D", "T"])
    result = fit_synth(data, treated="T", start=2012, min_pre=12)
    weights = result.tables["weights"].set_index("unit")["weight"]
    assert weights["B"] == pytest.approx(1.0, abs=1e-9)
    assert result.estimate == pytest.approx(10.0, abs=EXACT)
    assert result.diagnostics["pre_rmspe"] < EXACT
    # exact pre-fit and a real post gap: the largest ratio of 5, p = 1/5
    assert result.diagnostics["placebo_rank"] == 1
    assert result.p_value == pytest.approx(1 / 5)
    # with 5 units no 5 % test can reject: the interval is unbounded, and says so
    assert math.isinf(result.ci_low) and math.isinf(result.ci_high)
    assert result.diagnostics["ci_infinite"]
    # at the 50 % level m = 2 placebos may lie above, and with an exact pre-fit and a
    # constant gap the accepted constant effects shrink to the gap itself
    half = fit_synth(data, treated="T", start=2012, min_pre=12, level=0.5)
    assert half.ci_low <= 10.0 <= half.ci_high
    assert half.ci_high - half.ci_low < 1e-6


def test_exact_convex_combination_is_recovered():
    rng = np.random.default_rng(11)
    donors = 50 + np.cumsum(rng.normal(size=(8, 40)), axis=1)
    truth = np.zeros(8)
    truth[[0, 3, 5]] = [0.5, 0.3, 0.2]
    treated = truth @ donors
    treated[30:] += 5.0
    names = [f"d{i}" for i in range(8)]
    data = long_panel(np.vstack([donors, treated]), names + ["treated"])
    result = fit_synth(data, treated="treated", start=2030, seed=3)
    got = result.tables["weights"].set_index("unit")["weight"].reindex(names).to_numpy()
    assert np.abs(got - truth).max() < WEIGHTS
    assert result.estimate == pytest.approx(5.0, abs=1e-6)
    assert result.diagnostics["weights_spread"] < WEIGHTS


def test_rates_from_counts_are_in_points():
    rng = np.random.default_rng(2)
    months = pd.date_range("2021-01-01", periods=24, freq="MS")
    rows = []
    for u in range(6):
        share = 0.2 + 0.05 * u + 0.01 * np.arange(24) + rng.normal(0, 0.01, 24)
        rows.append(
            pd.DataFrame(
                {
                    "province": f"P{u}",
                    "month": months,
                    "online": np.round(1000 * share),
                    "received": 1000,
                }
            )
        )
    data = pd.concat(rows, ignore_index=True)
    result = fit_synth(
        data,
        unit="province",
        time="month",
        outcome="online",
        denominator="received",
        treated="P2",
        start="2022-07",
    )
    assert result.unit == "pp"
    assert result.window.post_start == pd.Timestamp("2022-07-01")
    assert 15 < result.by_period["observed"].iloc[0] < 40  # percentage points


# --- inference by hand --------------------------------------------------------------------------


def test_rank_p_value_by_hand():
    # treated ratio 3 among placebos 5, 1, 2, 3: 5 and 3 are at or above it, rank 3 of 5
    p, rank = rank_p_value(3.0, np.array([5.0, 1.0, 2.0, 3.0]))
    assert rank == 3 and p == pytest.approx(3 / 5)


def test_constant_effect_interval_by_hand():
    gap = np.array([1.0, 3.0])  # mean 2, variance 1
    ratios = np.array([3.0, 2.5] + [1.0] * 37)  # 39 placebos: m = floor(0.05 × 40) = 2
    low, high = constant_effect_interval(gap, 1.0, ratios, 0.95, 1e-12)
    # accept τ0 while sqrt(1 + (2 − τ0)²) ≤ 2.5 · 1
    assert low == pytest.approx(2 - math.sqrt(5.25))
    assert high == pytest.approx(2 + math.sqrt(5.25))
    # too few placebos for a 5 % test: unbounded
    assert constant_effect_interval(gap, 1.0, ratios[:10], 0.95, 1e-12) == (-math.inf, math.inf)
    # even the best constant effect is rejected (post variance above the bound²): empty
    low, high = constant_effect_interval(np.array([-5.0, 5.0]), 1.0, ratios, 0.95, 1e-12)
    assert math.isnan(low) and math.isnan(high)


def test_average_effect_interval_by_hand():
    # 39 placebos with mean gaps 1, 2, …, 39 and pre-period RMSPE 1; the treated unit's pre
    # RMSPE is 2, so the scaled gaps are 2, 4, …, 78. At 95 %: k = floor(0.025 × 40) = 1,
    # the interval is [10 − 78, 10 − 2].
    gaps, pre = np.arange(1.0, 40.0), np.ones(39)
    low, high = average_effect_interval(10.0, 2.0, gaps, pre, 0.95, 1e-12)
    assert (low, high) == (pytest.approx(-68.0), pytest.approx(8.0))
    # at 90 %: k = floor(0.05 × 40) = 2, the second largest and second smallest (76 and 4)
    low, high = average_effect_interval(10.0, 2.0, gaps, pre, 0.90, 1e-12)
    assert (low, high) == (pytest.approx(-66.0), pytest.approx(6.0))
    # a placebo that fits its past twice as badly counts half: gap 39 with pre RMSPE 2 → 39
    pre[-1] = 2.0
    low, _ = average_effect_interval(10.0, 2.0, gaps, pre, 0.95, 1e-12)
    assert low == pytest.approx(10.0 - 76.0)
    # 38 placebos cannot give a 95 % interval (k = floor(0.025 × 39) = 0)
    low, high = average_effect_interval(10.0, 2.0, gaps[:38], pre[:38], 0.95, 1e-12)
    assert math.isnan(low) and math.isnan(high)


def test_average_effect_interval_puts_placebos_at_the_treated_units_noise_by_hand():
    # As above (scaled gaps 2, 4, …, 78 without noise), but the treated unit's binomial noise
    # is 3 pp² and the placebos' 0: each placebo's pre RMSPE becomes sqrt(1 + 3) = 2, the scale
    # 2 / 2 = 1 and the interval [10 − 39, 10 − 1].
    gaps, pre = np.arange(1.0, 40.0), np.ones(39)
    low, high = average_effect_interval(
        10.0, 2.0, gaps, pre, 0.95, 1e-12, treated_noise=3.0, placebo_noise=np.zeros(39)
    )
    assert (low, high) == (pytest.approx(-29.0), pytest.approx(9.0))
    # placebos noisier than the treated unit keep their ratio (the floor at 0): as without noise
    low, high = average_effect_interval(
        10.0, 2.0, gaps, pre, 0.95, 1e-12, treated_noise=3.0, placebo_noise=np.full(39, 5.0)
    )
    assert (low, high) == (pytest.approx(-68.0), pytest.approx(8.0))


def test_small_treated_province_gets_placebos_at_its_noise():
    # 45 provinces of 50 000 dossiers a month and one of 200 (rates near 40 %, levels apart,
    # 30 months, the measure from month 19): the treated unit's pre-period noise, by hand
    # p̂(100 − p̂)/n ≈ 12 pp² a month, is added to each placebo's pre MSPE before the ratio.
    rng = np.random.default_rng(4)
    n, t, s = 46, 30, 18
    months = pd.date_range("2021-01-01", periods=t, freq="MS")
    rate = np.clip(rng.normal(40, 5, (n, 1)) + rng.normal(0, 0.5, (n, t)), 1, 99) / 100
    received = np.full((n, t), 50_000)
    received[0] = 200
    online = rng.binomial(received, rate)
    names = [f"P{i:02d}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "unit": np.repeat(names, t),
            "time": np.tile(months, n),
            "online": online.ravel(),
            "received": received.ravel(),
        }
    )
    fit = fit_synth(frame, outcome="online", denominator="received", treated="P00", start=months[s])
    p_hat = 100 * online / received
    noise = (p_hat * (100 - p_hat) / received)[:, :s].mean(axis=1)
    assert 9 < noise[0] < 15 and noise[1:].max() < 0.06  # 40 · 60 / 50 000 ≈ 0.05
    placebos = fit.tables["placebos"].set_index("unit")
    donors = placebos.loc[names[1:]]
    pre_j = np.sqrt(donors["pre_rmspe"].to_numpy() ** 2 + noise[0] - noise[1:])
    scaled = np.sort(donors["mean_gap"].to_numpy() * fit.diagnostics["pre_rmspe"] / pre_j)
    # 45 placebos at 95 %: k = floor(0.025 × 46) = 1, the extremes
    assert fit.diagnostics["ci_method"] == "average effect from the scaled placebo gaps"
    assert fit.ci_low == pytest.approx(fit.estimate - scaled[-1], rel=1e-9)
    assert fit.ci_high == pytest.approx(fit.estimate - scaled[0], rel=1e-9)


def _ramp_panel(n_donors: int, seed: int = 5, step: float = 3.0, constant: float = 0.0):
    """Donors on their own lines plus noise (sd 1); the treated unit the mean of three donors
    plus noise, with an effect ramping 3, 6, …, 30 over the 10 post periods. The post gap's
    variance (about 9 × 8.25 = 74) is far above any bound a placebo ratio of a few times the
    pre RMSPE of about 1 allows: no constant effect is accepted."""
    rng = np.random.default_rng(seed)
    t, s = 30, 20
    trend = np.arange(t)
    donors = (
        rng.normal(50, 10, (n_donors, 1))
        + rng.normal(0, 0.5, (n_donors, 1)) * trend
        + rng.normal(0, 1, (n_donors, t))
    )
    treated = donors[:3].mean(axis=0) + rng.normal(0, 1, t)
    treated[s:] += constant + step * np.arange(1, t - s + 1)
    names = ["treated"] + [f"d{i:02d}" for i in range(n_donors)]
    return long_panel(np.vstack([treated, donors]), names)


def test_ramping_effect_gets_the_average_effect_interval():
    fit = fit_synth(_ramp_panel(40), treated="treated", start=2020)
    d = fit.diagnostics
    assert d["ci_constant_effect_empty"] and math.isnan(d["ci_constant_effect_low"])
    assert d["ci_method"] == CI_AVERAGE
    # the interval from the placebo table by its definition: mean gaps scaled by the ratio of
    # pre-period RMSPEs, then the largest and the smallest (k = 1 with 40 placebos)
    pl = fit.tables["placebos"]
    placebos = pl[~pl["treated"]]
    scaled = np.sort(placebos["mean_gap"] * d["pre_rmspe"] / placebos["pre_rmspe"])
    assert fit.ci_low == pytest.approx(fit.estimate - scaled[-1], rel=1e-12)
    assert fit.ci_high == pytest.approx(fit.estimate - scaled[0], rel=1e-12)
    # the true average effect is 16.5 (3 … 30); with noise of sd ≈ 1 it lies inside
    assert fit.ci_low < 16.5 < fit.ci_high
    assert "average effect" in fit.assumptions["en"]
    assert "tác động trung bình" in fit.assumptions["vi"]


def test_constant_option_keeps_the_inversion_unless_it_is_empty():
    # a constant effect of 5 (no ramp): the inversion is not empty
    frame = _ramp_panel(40, step=0.0, constant=5.0)
    auto = fit_synth(frame, treated="treated", start=2020)
    kept = fit_synth(frame, treated="treated", start=2020, interval="constant")
    assert auto.diagnostics["ci_method"] == CI_AVERAGE
    assert kept.diagnostics["ci_method"] == CI_CONSTANT
    assert (kept.ci_low, kept.ci_high) == (
        kept.diagnostics["ci_constant_effect_low"],
        kept.diagnostics["ci_constant_effect_high"],
    )
    assert (auto.ci_low, auto.ci_high) == (
        kept.diagnostics["ci_average_effect_low"],
        kept.diagnostics["ci_average_effect_high"],
    )
    for fit in (auto, kept):
        assert fit.ci_low < 5.0 < fit.ci_high
    assert "does not reject" in kept.assumptions["en"]
    assert "No constant effect fits" not in auto.assumptions["en"]
    # on the ramp the inversion is empty, so "constant" falls back to the average effect too
    ramp = fit_synth(_ramp_panel(40), treated="treated", start=2020, interval="constant")
    assert ramp.diagnostics["ci_method"] == CI_AVERAGE
    assert "No constant effect fits" in ramp.assumptions["en"]


def test_ramping_effect_with_too_few_placebos_says_why():
    fit = fit_synth(_ramp_panel(30), treated="treated", start=2020)
    d = fit.diagnostics
    assert d["ci_method"] == "none"
    assert math.isnan(fit.ci_low) and math.isnan(fit.ci_high)
    assert "30 placebos" in d["ci_none_reason"] and "39" in d["ci_none_reason"]
    assert "at least 39" in fit.assumptions["en"] and "ít nhất 39" in fit.assumptions["vi"]


def test_constant_effect_keeps_the_inversion(prop99_fit):
    d = prop99_fit.diagnostics
    assert d["ci_method"] == CI_CONSTANT and not d["ci_constant_effect_empty"]
    assert prop99_fit.ci_low == d["ci_constant_effect_low"]


# --- the solver ---------------------------------------------------------------------------------


def test_project_simplex_by_hand():
    v = np.array([[0.5, 2.0, 1.0, 0.3], [0.5, 0.0, 1.0, 0.3], [0.0, 0.0, 1.0, 0.3]])
    got = project_simplex(v)
    assert np.allclose(got[:, 0], [0.5, 0.5, 0.0])
    assert np.allclose(got[:, 1], [1.0, 0.0, 0.0])
    assert np.allclose(got[:, 2], [1 / 3, 1 / 3, 1 / 3])
    assert np.allclose(got[:, 3], [1 / 3, 1 / 3, 1 / 3])
    masked = project_simplex(v, np.array([[True] * 4, [False] * 4, [True] * 4]))
    assert np.allclose(masked[:, 2], [0.5, 0.0, 0.5])


def _slsqp(donors: np.ndarray, target: np.ndarray) -> np.ndarray:
    n = len(donors)
    res = optimize.minimize(
        lambda w: np.mean((donors.T @ w - target) ** 2),
        np.full(n, 1 / n),
        jac=lambda w: 2 * donors @ (donors.T @ w - target) / len(target),
        bounds=[(0, 1)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(n)}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    return res.x


@pytest.mark.parametrize("seed", range(6))
def test_simplex_weights_at_least_as_good_as_slsqp(seed):
    rng = np.random.default_rng(seed)
    n_donors, n_periods = (30, 12) if seed % 2 else (12, 40)  # more donors than periods, or not
    donors = 40 + np.cumsum(rng.normal(size=(n_donors, n_periods)), axis=1)
    target = donors.mean(axis=0) + rng.normal(0, 2, n_periods) + (seed - 3)
    fit = simplex_weights(donors, target, n_starts=4, seed=seed)
    assert fit.converged
    assert fit.weights.min() >= 0 and fit.weights.sum() == pytest.approx(1.0, abs=1e-12)
    reference = np.mean((donors.T @ _slsqp(donors, target) - target) ** 2)
    assert fit.objective <= reference * (1 + SOLVER) + 1e-12
    # optimality: the gradient is equal on the support and no smaller off it
    grad = 2 * donors @ (donors.T @ fit.weights - target) / n_periods
    support = fit.weights > 1e-9
    level = grad[support].mean()
    scale = np.abs(grad).max()
    assert np.abs(grad[support] - level).max() <= 1e-7 * scale
    assert grad[~support].min() >= level - 1e-7 * scale
    assert fit.objective_spread <= 1e-9 * max(fit.objective, 1e-12)


def test_duplicate_donor_objective_unique_weights_not():
    rng = np.random.default_rng(4)
    donors = 10 + np.cumsum(rng.normal(size=(5, 15)), axis=1)
    donors = np.vstack([donors, donors[2]])  # donors 2 and 5 identical
    target = 0.6 * donors[2] + 0.4 * donors[0]
    fit = simplex_weights(donors, target, n_starts=5, seed=1)
    assert fit.objective < 1e-12
    assert fit.weights[2] + fit.weights[5] == pytest.approx(0.6, abs=1e-6)
    assert fit.objective_spread < 1e-12


def test_placebo_weights_exclude_themselves():
    rng = np.random.default_rng(5)
    controls = 20 + np.cumsum(rng.normal(size=(7, 25)), axis=1)
    weights, converged = placebo_weights(controls)
    assert converged
    assert np.allclose(np.diag(weights), 0.0)
    assert np.allclose(weights.sum(axis=0), 1.0)
    for j in (0, 4):
        others = np.delete(np.arange(7), j)
        alone = simplex_weights(controls[others], controls[j], n_starts=1)
        assert np.allclose(weights[others, j], alone.weights, atol=1e-7)


# --- plots --------------------------------------------------------------------------------------


def test_plots_in_both_languages(prop99_fit):
    for lang in ("vi", "en"):
        fig = plot_gap(prop99_fit, lang)
        ax = fig.axes[0]
        assert ax.get_ylabel().startswith("Chênh lệch" if lang == "vi" else "Gap")
        formatted = ax.yaxis.get_major_formatter()(1.5, 0)
        assert formatted == ("1,5" if lang == "vi" else "1.5")
        plt.close(fig)
        fig = plot_weights(prop99_fit, lang, top=3)
        ax = fig.axes[0]
        assert len(ax.patches) == 3
        texts = [t.get_text().strip() for t in ax.texts]
        top = prop99_fit.tables["weights"]["weight"].iloc[0]
        expected = f"{top:.3f}".replace(".", "," if lang == "vi" else ".")
        assert expected in texts
        plt.close(fig)
    with pytest.raises(WorkbenchError):
        plot_gap(prop99_fit, "fr")


# --- bad input ----------------------------------------------------------------------------------


def test_treated_not_in_panel_names_the_closest(prop99):
    with pytest.raises(WorkbenchError, match="California"):
        fit_synth(
            prop99, unit="state", time="year", outcome="packs", treated="Californa", start=1989
        )


@pytest.mark.parametrize("start", [1960, 2010])
def test_start_outside_the_data(prop99, start):
    with pytest.raises(WorkbenchError, match="outside the data"):
        fit_synth(
            prop99, unit="state", time="year", outcome="packs", treated="California", start=start
        )


def test_too_few_pre_periods(prop99):
    with pytest.raises(WorkbenchError, match="at least 12"):
        fit_synth(
            prop99, unit="state", time="year", outcome="packs", treated="California", start=1975
        )


def test_no_donors(prop99):
    alone = prop99[prop99["state"] == "California"]
    with pytest.raises(WorkbenchError, match="no untreated units"):
        fit_synth(
            alone, unit="state", time="year", outcome="packs", treated="California", start=1989
        )


def test_constant_outcome(prop99):
    flat = prop99.assign(packs=100.0)
    with pytest.raises(WorkbenchError, match="constant"):
        fit_synth(
            flat, unit="state", time="year", outcome="packs", treated="California", start=1989
        )


@pytest.mark.parametrize(
    "options",
    [
        {"treated": ["California", "Utah"]},
        {"n_starts": 0},
        {"level": 1.5},
        {"min_pre": 1},
        {"interval": "normal"},
    ],
)
def test_bad_options(prop99, options):
    kwargs = {"treated": "California", "start": 1989} | options
    with pytest.raises(WorkbenchError):
        fit_synth(prop99, unit="state", time="year", outcome="packs", **kwargs)


def test_one_donor_skips_placebos():
    donors = _sinusoid_donors()[:1]
    treated = donors[0] + np.where(np.arange(20) >= 12, 1.0, 0.0)
    result = fit_synth(
        long_panel(np.vstack([donors, treated]), ["A", "T"]), treated="T", start=2012
    )
    assert result.diagnostics["placebo_skipped"]
    assert math.isnan(result.p_value) and math.isnan(result.ci_low)
    assert result.estimate == pytest.approx(1.0)
    assert "placebo" in result.assumptions["en"]
