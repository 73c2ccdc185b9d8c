"""Two-way fixed effects difference-in-differences: hand-worked panels, simulations, bad input.

Tolerances
----------
EXACT = 1e-9
    Hand-worked panels: the estimate is a difference of means of small integers and the
    standard error a square root of a rational number, so only floating-point error remains.
REFERENCE = 1e-8 (relative)
    Against statsmodels OLS with unit and time dummies and ``cov_type="cluster"``: the same
    estimator computed another way (dummies and a least-squares solve instead of two-way
    demeaning), agreeing to rounding error.
COVERAGE = (0.90, 0.99)
    200 replications of a nominal 95 % interval: Monte Carlo standard error
    sqrt(0.95·0.05/200) ≈ 0.015, so 0.90–0.99 allows about 3 of them on either side.
PLACEBO_MAX_REJECTION = 0.10
    A 5 % test on 200 no-effect panels: Monte Carlo error ≈ 0.015, plus some small-sample
    over-rejection of cluster-robust tests with 10 treated clusters out of 40.

Simulated panels: 40 units × 30 periods, 10 treated from period 18, unit and period effects,
AR(1) errors within each unit (phi 0.5, innovation sd 1), a constant effect of 2.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.designs.data import panel_input
from analysis.designs.did import fit_did, unit_cohorts
from analysis.errors import WorkbenchError

EXACT = 1e-9
REFERENCE = 1e-8
COVERAGE = (0.90, 0.99)
PLACEBO_MAX_REJECTION = 0.10


def _long(y: dict[str, list[float]], periods) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"unit": u, "time": t, "outcome": v}
            for u, values in y.items()
            for t, v in zip(periods, values, strict=True)
        ]
    )


# --- hand-worked ------------------------------------------------------------------------------


def test_two_units_four_periods_on_paper():
    """T = 1, 2, 5, 6 and C = 1, 3, 3, 5, T treated from period 3.

    TWFE with two units is the 2×2 difference of means: (5.5 − 1.5) − (4 − 2) = 2.
    T − C = 0, −1, 2, 1 sits at −0.5 before and 1.5 after, so its residuals are +0.5, −0.5,
    +0.5, −0.5, shared half and half: e_T = ±0.25 and e_C = −e_T. The counterfactual
    a_T + l_t = y_T − e_T − b·D = 0.75, 2.25, 2.75, 4.25, and the gap (observed minus it)
    0.25, −0.25, 2.25, 1.75. With one treated and one comparison unit the clustered scores
    are exactly zero (each unit's residuals average zero before and after), so no
    uncertainty is reported.
    """
    data = _long({"T": [1, 2, 5, 6], "C": [1, 3, 3, 5]}, [1, 2, 3, 4])
    result = fit_did(data, treated=["T"], start=3, min_pre=2)
    assert result.method == "did"
    assert result.estimate == pytest.approx(2.0, abs=EXACT)
    assert math.isnan(result.se) and math.isnan(result.p_value) and not result.significant
    assert "cannot be estimated" in result.assumptions["en"]
    assert "Không ước lượng được" in result.assumptions["vi"]
    bp = result.by_period
    assert list(bp["period"]) == [1, 2, 3, 4]
    assert list(bp["post"]) == [False, False, True, True]
    np.testing.assert_allclose(bp["observed"], [1, 2, 5, 6], atol=EXACT)
    np.testing.assert_allclose(bp["counterfactual"], [0.75, 2.25, 2.75, 4.25], atol=EXACT)
    np.testing.assert_allclose(bp["effect"], [np.nan, np.nan, 2.25, 1.75], atol=EXACT)
    np.testing.assert_allclose(bp["gap"], [0.25, -0.25, 2.25, 1.75], atol=EXACT)
    assert (result.n_pre, result.n_post) == (2, 2)
    assert result.treated == ("T",)


def test_four_units_two_periods_standard_error_on_paper():
    """Changes: treated 3 and 5, comparison 1 and 2; b = 4 − 1.5 = 2.5.

    The unclustered part of the sandwich is the two-sample variance with 1/n variances:
    1/2 (treated, deviations ±1) + 0.25/2 (comparison, ±0.5) = 0.625; times
    G/(G − 1)·(N − 1)/(N − K) = 4/3 · 7/2 (G = 4 units, N = 8, K = 4 + 2) = 14/3.
    """
    data = _long({"A": [0, 3], "B": [1, 6], "C": [0, 1], "D": [2, 4]}, [2001, 2002])
    result = fit_did(data, treated=["A", "B"], start=2002, min_pre=1)
    se = math.sqrt(0.625 * 14 / 3)
    assert result.estimate == pytest.approx(2.5, abs=EXACT)
    assert result.se == pytest.approx(se, abs=EXACT)
    assert result.diagnostics["df"] == 3
    from scipy import stats

    q = stats.t.ppf(0.975, 3)
    assert result.ci_low == pytest.approx(2.5 - q * se, abs=EXACT)
    assert result.p_value == pytest.approx(2 * stats.t.sf(2.5 / se, 3), abs=EXACT)
    # a year becomes 1 January in the result's dates
    assert result.start == pd.Timestamp("2002-01-01")


def _simulate(seed: int, effect: float = 2.0, n_units=40, n_periods=30, n_treated=10, start=18):
    rng = np.random.default_rng(seed)
    unit_fx = rng.normal(50, 5, n_units)
    time_fx = np.cumsum(rng.normal(0.3, 0.5, n_periods))
    e = np.zeros((n_units, n_periods))
    shocks = rng.normal(0, 1, (n_units, n_periods))
    e[:, 0] = shocks[:, 0] / math.sqrt(1 - 0.25)
    for t in range(1, n_periods):
        e[:, t] = 0.5 * e[:, t - 1] + shocks[:, t]
    d = np.zeros((n_units, n_periods))
    d[:n_treated, start:] = 1
    y = unit_fx[:, None] + time_fx[None, :] + effect * d + e
    units = [f"u{i:02d}" for i in range(n_units)]
    frame = pd.DataFrame(
        {
            "unit": np.repeat(units, n_periods),
            "time": np.tile(np.arange(2000, 2000 + n_periods), n_units),
            "outcome": y.ravel(),
        }
    )
    return frame, units[:n_treated], 2000 + start


def test_matches_statsmodels_dummies_with_cluster_se():
    data, treated, start = _simulate(3)
    result = fit_did(data, treated=treated, start=start)
    frame = data.assign(d=data["unit"].isin(treated) & (data["time"] >= start))
    frame["d"] = frame["d"].astype(float)
    codes = frame["unit"].astype("category").cat.codes
    ref = smf.ols("outcome ~ d + C(unit) + C(time)", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": codes}, use_t=True
    )
    assert result.estimate == pytest.approx(ref.params["d"], rel=REFERENCE)
    assert result.se == pytest.approx(ref.bse["d"], rel=REFERENCE)
    assert result.p_value == pytest.approx(ref.pvalues["d"], rel=1e-6)
    assert result.diagnostics["df"] == 39


@pytest.mark.simulation
def test_simulated_coverage_and_placebo():
    covered, rejected = [], []
    for seed in range(200):
        data, treated, start = _simulate(seed)
        r = fit_did(data, treated=treated, start=start)
        covered.append(r.ci_low <= 2.0 <= r.ci_high)
        data0, treated0, start0 = _simulate(10_000 + seed, effect=0.0)
        rejected.append(fit_did(data0, treated=treated0, start=start0).p_value < 0.05)
    assert COVERAGE[0] <= np.mean(covered) <= COVERAGE[1]
    assert np.mean(rejected) <= PLACEBO_MAX_REJECTION


def test_cohort_column_and_monthly_panel():
    """Monthly dates, cohorts given as dates (NaT and 0 for never); same as treated + start."""
    data, treated, _ = _simulate(5)
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    data["time"] = np.tile(months, 40)
    first = pd.Series(pd.NaT, index=sorted(set(data["unit"])), dtype="datetime64[ns]")
    first[treated] = months[18]
    data["first_treat"] = data["unit"].map(first)
    by_cohort = fit_did(data, time="time", cohort="first_treat")
    by_list = fit_did(data, treated=treated, start="2021-07")
    assert by_cohort.estimate == pytest.approx(by_list.estimate, abs=EXACT)
    assert by_cohort.start == pd.Timestamp("2021-07-01")
    assert by_cohort.window.pre_end == pd.Timestamp("2021-06-01")
    data["first_treat"] = data["first_treat"].astype(object).where(data["first_treat"].notna(), 0)
    assert fit_did(data, cohort="first_treat").estimate == pytest.approx(by_list.estimate)


def test_staggered_adoption_warns_and_counts_negative_weights():
    """Cohorts from periods 1 and 6 of 0–7 and one never-treated unit, no noise, effects that
    grow with time since adoption. The TWFE weight of a treated cell is proportional to
    D̃_it = D_it − D̄_i − D̄_t + D̄; for the early unit in period 7:
    1 − 7/8 − 2/3 + 9/24 = −1/6 < 0. The true average effect over the treated cells is
    (1 + … + 7 + 1 + 2)/9 = 31/9 ≈ 3.4; TWFE gives far less."""
    periods = np.arange(8)
    y = {}
    for name, g in (("early", 1), ("late", 6), ("never", None)):
        effect = np.maximum(periods - g + 1, 0) if g is not None else 0.0
        y[name] = list(10 + 0.5 * periods + effect)
    data = _long(y, list(periods))
    data["g"] = data["unit"].map({"early": 1, "late": 6, "never": 0})
    result = fit_did(data, cohort="g", min_pre=1)
    assert result.estimate < 31 / 9 - 1
    assert result.diagnostics["staggered"]
    assert result.diagnostics["twfe_negative_weights"] > 0
    assert "fit_cs" in result.assumptions["en"] and "Callaway" in result.assumptions["vi"]


def test_rate_outcome_is_named_and_in_points():
    data, treated, start = _simulate(7)
    data["dossiers_received"] = 1000.0
    data["dossiers_online"] = data["outcome"] * 10  # outcome % of 1000
    r = fit_did(
        data,
        outcome="dossiers_online",
        denominator="dossiers_received",
        treated=treated,
        start=start,
    )
    assert r.outcome == "online_rate" and r.unit == "pp"
    assert r.estimate == pytest.approx(fit_did(data, treated=treated, start=start).estimate)
    assert "tỷ lệ hồ sơ nộp trực tuyến" in r.assumptions["vi"]


# --- bad input --------------------------------------------------------------------------------


def test_bad_inputs():
    data, treated, start = _simulate(1)
    with pytest.raises(WorkbenchError, match="not in the panel"):
        fit_did(data, treated=["nowhere"], start=start)
    with pytest.raises(WorkbenchError, match="outside the data"):
        fit_did(data, treated=treated, start=2100)
    with pytest.raises(WorkbenchError, match="at least 12"):
        fit_did(data, treated=treated, start=2005)
    with pytest.raises(WorkbenchError, match="no untreated units"):
        fit_did(data, treated=sorted(set(data["unit"])), start=start)
    with pytest.raises(WorkbenchError, match="cohort column 'g' is missing"):
        fit_did(data, cohort="g")
    with pytest.raises(WorkbenchError, match="both the treated units and the start"):
        fit_did(data, treated=treated)
    with pytest.raises(WorkbenchError, match="no treatment given"):
        fit_did(data)
    with pytest.raises(WorkbenchError, match="level"):
        fit_did(data, treated=treated, start=start, level=95)
    bad = data.assign(g=np.where(data["unit"] == "u00", 2050, 0))
    with pytest.raises(WorkbenchError, match="outside the data"):
        fit_did(bad, cohort="g")
    bad = data.assign(g=np.where(data["unit"] == "u00", data["time"], 0))
    with pytest.raises(WorkbenchError, match="more than one first treated period"):
        fit_did(bad, cohort="g")


def test_unit_cohorts_reads_strings_and_dates():
    months = pd.date_range("2020-01-01", periods=4, freq="MS")
    data = pd.DataFrame(
        {
            "unit": np.repeat(["a", "b", "c"], 4),
            "time": np.tile(months, 3),
            "outcome": np.arange(12.0),
            "g": np.repeat(["2020-03-15", "", "0"], 4),
        }
    )
    pi = panel_input(data)
    np.testing.assert_array_equal(unit_cohorts(data, pi, unit="unit", cohort="g"), [2, -1, -1])
    data["g"] = np.repeat(["soon", "", ""], 4)
    with pytest.raises(WorkbenchError, match="not a date"):
        unit_cohorts(data, pi, unit="unit", cohort="g")


def _one_treated_panel(rng, n_units=30, n_periods=36, start=24, effect=2.0, trend_sd=0.05):
    """Units with their own linear trends (parallel trends hold only on average) and noise."""
    t = np.arange(n_periods)
    y = rng.normal(0, 1, (n_units, 1)) + rng.normal(0, trend_sd, (n_units, 1)) * t
    y = y + rng.normal(0, 0.5, (n_units, n_periods))
    y[0, start:] += effect
    units = [f"u{i:02d}" for i in range(n_units)]
    return pd.DataFrame(
        {
            "unit": np.repeat(units, n_periods),
            "time": np.tile(t + 2000, n_units),
            "outcome": y.ravel(),
        }
    )


@pytest.mark.simulation
def test_one_treated_unit_uses_placebo_inference_that_covers():
    # With a single treated unit the clustered SE rests on one cluster: its interval is far
    # too narrow when units' trends differ. The placebo SE (spread of the estimate with the
    # treatment moved to each comparison unit) must cover the true 2.0 about 95 % of the time.
    rng = np.random.default_rng(20250701)
    covered, covered_cluster = [], []
    for _ in range(200):
        data = _one_treated_panel(rng)
        r = fit_did(data, treated=["u00"], start=2024, min_pre=12)
        assert r.diagnostics["inference"] == "placebo"
        covered.append(r.ci_low <= 2.0 <= r.ci_high)
        q = 2.045  # t(0.975, 29)
        se = r.diagnostics["cluster_se"]
        covered_cluster.append(abs(r.estimate - 2.0) <= q * se)
    assert 0.88 <= np.mean(covered) <= 0.99
    assert np.mean(covered_cluster) < 0.8  # why the placebo is needed


def test_one_treated_unit_with_many_placebos_uses_their_order_statistics():
    # 45 units (44 placebos ≥ 39): the interval is [b − max e, b − min e] (k = floor(0.025 ×
    # 45) = 1) with e the placebo estimates; with one treated unit TWFE is a difference of
    # post-minus-pre changes, b = Δ₀ − mean(Δ of the controls), and placebo j is
    # Δⱼ − mean(Δ of the other controls): both by hand here.
    rng = np.random.default_rng(7)
    data = _one_treated_panel(rng, n_units=45, trend_sd=0.1)
    r = fit_did(data, treated=["u00"], start=2024, min_pre=12)
    y = data.pivot(index="unit", columns="time", values="outcome").to_numpy()
    change = y[:, 24:].mean(axis=1) - y[:, :24].mean(axis=1)
    b = change[0] - change[1:].mean()
    controls = change[1:]
    placebos = np.array([controls[j] - np.delete(controls, j).mean() for j in range(len(controls))])
    assert r.estimate == pytest.approx(b, abs=EXACT)
    assert r.diagnostics["inference"] == "placebo" and r.diagnostics["n_placebos"] == 44
    assert r.diagnostics["ci_method"] == "placebo order statistics"
    assert r.ci_low == pytest.approx(b - placebos.max(), abs=EXACT)
    assert r.ci_high == pytest.approx(b + -placebos.min(), abs=EXACT)
    # two-sided rank p: 1 + the placebos at or beyond b in its tail, twice, over 45
    tail = 1 + min(np.sum(placebos >= b), np.sum(placebos <= b))
    assert r.p_value == pytest.approx(min(1.0, 2 * tail / 45), abs=EXACT)
    # the standard error stays the placebos' spread
    assert r.se == pytest.approx(np.std(placebos, ddof=1), rel=1e-9)
