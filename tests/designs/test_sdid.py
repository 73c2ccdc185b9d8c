"""Synthetic difference-in-differences: published replication, hand cases, coverage, bad input.

Tolerances
----------
PROP99_SDID = (-15.60, 0.1)
    Arkhangelsky et al. (2021, Table 1; synthdid's README) report −15.60 packs per capita for
    California. ``fit_sdid`` runs synthdid's algorithm step for step (ζ, collapsed form,
    Frank–Wolfe with the same stopping rule and sparsification), so the remaining differences
    are floating-point order and the file's single-precision values (``89.80000305``): far
    below the 0.1 allowed.
TIME_WEIGHTS = 0.01
    Published time weights 1988 0.427, 1986 0.366, 1987 0.206 (three decimals): 0.01 covers
    the rounding and the same small differences.
PROP99_DID = (-27.35, 0.01)
    The published difference-in-differences; on this file a plain 2×2 difference of means
    gives −27.349 (two decimals published, so 0.01).
PROP99_SC = (-19.6, 0.1)
    Arkhangelsky et al. (2021, Table 1) report −19.6 for synthdid's ``sc_estimate`` (one
    decimal published, so 0.1).
EXACT = 1e-9
    Panels that are exactly additive (unit + period effects + a constant effect): every
    weighting on the simplex gives the effect exactly, up to floating-point error.
COVERAGE = (0.88, 0.99)
    200 replications of a nominal 95 % interval: Monte Carlo standard error
    sqrt(0.95·0.05/200) ≈ 0.015; the placebo standard error with 100 replications and 19
    controls also carries its own noise, which widens the lower side a little.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import long_panel
from scipy import stats

from analysis.designs.sdid import (
    fit_sdid,
    frank_wolfe,
    noise_level,
    sparsify,
    two_stage_weights,
)
from analysis.errors import WorkbenchError

PROP99_SDID = (-15.60, 0.1)
TIME_WEIGHTS = 0.01
PROP99_DID = (-27.35, 0.01)
PROP99_SC = (-19.6, 0.1)
EXACT = 1e-9
COVERAGE = (0.88, 0.99)


@pytest.fixture(scope="module")
def prop99_fit(prop99):
    return fit_sdid(
        prop99, unit="state", time="year", outcome="packs", treated="California", start=1989
    )


# --- published replication --------------------------------------------------------------------


def test_prop99_sdid_estimate(prop99_fit):
    centre, tol = PROP99_SDID
    assert abs(prop99_fit.estimate - centre) <= tol
    assert prop99_fit.method == "sdid"
    assert prop99_fit.treated == ("California",)
    assert prop99_fit.n_pre == 19 and prop99_fit.n_post == 12


def test_prop99_time_weights(prop99_fit):
    weights = prop99_fit.tables["time_weights"].set_index("period")["weight"]
    assert list(weights.index) == list(range(1970, 1989))
    for year, published in {1988: 0.427, 1986: 0.366, 1987: 0.206}.items():
        assert abs(weights[year] - published) <= TIME_WEIGHTS
    assert weights.drop([1986, 1987, 1988]).abs().max() <= TIME_WEIGHTS
    assert weights.sum() == pytest.approx(1.0)


def test_prop99_unit_weights(prop99_fit):
    weights = prop99_fit.tables["unit_weights"]
    assert len(weights) == 38
    assert weights["weight"].sum() == pytest.approx(1.0)
    assert weights["weight"].min() >= 0
    assert list(weights["weight"]) == sorted(weights["weight"], reverse=True)


def test_prop99_did_and_sc_diagnostics(prop99, prop99_fit):
    centre, tol = PROP99_DID
    assert abs(prop99_fit.diagnostics["did_estimate"] - centre) <= tol
    centre, tol = PROP99_SC
    assert abs(prop99_fit.diagnostics["sc_estimate"] - centre) <= tol
    # the naive 2×2 difference of means, computed here independently of the module
    ca = prop99["state"] == "California"
    post = prop99["year"] >= 1989
    means = prop99.groupby([ca, post])["packs"].mean()
    naive = (means[True, True] - means[True, False]) - (means[False, True] - means[False, False])
    assert abs(naive - PROP99_DID[0]) <= PROP99_DID[1]
    assert prop99_fit.diagnostics["did_estimate"] == pytest.approx(naive, abs=1e-9)


def test_prop99_placebo_interval_is_normal(prop99_fit):
    se = prop99_fit.se
    assert math.isfinite(se) and se > 0
    z = stats.norm.ppf(0.975)
    assert prop99_fit.ci_low == pytest.approx(prop99_fit.estimate - z * se)
    assert prop99_fit.ci_high == pytest.approx(prop99_fit.estimate + z * se)
    assert prop99_fit.p_value == pytest.approx(2 * stats.norm.sf(abs(prop99_fit.estimate) / se))
    assert prop99_fit.diagnostics["placebo_reps"] == 200


def test_prop99_by_period(prop99_fit):
    bp = prop99_fit.by_period
    post = bp[bp["post"]]
    assert len(bp) == 31 and len(post) == 12
    assert prop99_fit.estimate == pytest.approx(post["effect"].mean())
    assert np.allclose(post["observed"] - post["counterfactual"], post["effect"])
    assert (post["effect_low"] < post["effect"]).all() and (
        post["effect"] < post["effect_high"]
    ).all()
    # the λ-weighted pre-period gap is zero by construction
    lam = prop99_fit.tables["time_weights"]["weight"].to_numpy()
    assert bp.loc[~bp["post"], "gap"].to_numpy() @ lam == pytest.approx(0.0, abs=1e-9)


def test_prop99_to_dict_and_assumptions(prop99_fit):
    out = prop99_fit.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["tables"]["time_weights"][-1]["period"] == 1988
    vi, en = prop99_fit.assumptions["vi"], prop99_fit.assumptions["en"]
    assert "sai khác kép tổng hợp" in vi.lower() and "xu hướng song song" in vi
    assert "−27,35" in vi and "−27.35" in en  # the plain DiD for comparison
    assert "placebo" in en


# --- hand cases -------------------------------------------------------------------------------


def _additive(n_units: int, n_periods: int, treated: list[int], start: int, effect: float):
    rng = np.random.default_rng(7)
    y = rng.normal(0, 5, (n_units, 1)) + np.cumsum(rng.normal(0, 1, (1, n_periods)), axis=1)
    y[np.ix_(treated, np.arange(start, n_periods))] += effect
    return y


def test_additive_panel_gives_the_effect_exactly():
    y = _additive(12, 20, [11], 14, 3.0)
    names = [f"u{i:02d}" for i in range(12)]
    result = fit_sdid(long_panel(y, names), treated="u11", start=2014, placebo_reps=50)
    assert result.estimate == pytest.approx(3.0, abs=EXACT)
    assert result.diagnostics["did_estimate"] == pytest.approx(3.0, abs=EXACT)
    assert result.se < 1e-8  # every placebo estimate is 0 up to rounding


def test_several_treated_units():
    y = _additive(12, 20, [3, 8], 14, -2.0)
    names = [f"u{i:02d}" for i in range(12)]
    result = fit_sdid(long_panel(y, names), treated=["u03", "u08"], start=2014, placebo_reps=20)
    assert result.treated == ("u03", "u08")
    assert result.estimate == pytest.approx(-2.0, abs=EXACT)
    assert result.diagnostics["n_treated"] == 2
    assert len(result.tables["unit_weights"]) == 10


def test_frank_wolfe_by_hand():
    # min ‖x − (0.7, 0.3)‖²/2 on the simplex from (0.5, 0.5): the gradient (−0.2, 0.2) picks
    # vertex 0, d.x = (0.5, −0.5), exact step 0.2/0.5 = 0.4 → x = (0.7, 0.3); the second
    # iteration cannot improve and the rule stops there.
    a = np.eye(2)
    b = np.array([[0.7, 0.3]])
    for batch in (1, 3):  # the single-problem path and the batched one
        x, iterations = frank_wolfe(
            a, np.repeat(b, batch, 0), np.full((batch, 2), 0.5), 0.0, 1e-12, 100
        )
        assert np.allclose(x, [[0.7, 0.3]] * batch, atol=1e-15)
        assert list(iterations) == [2] * batch


def test_batched_equals_one_by_one():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(15, 9))
    b = rng.normal(size=(4, 15))
    allowed = rng.random((4, 9)) > 0.3
    allowed[:, 0] = True
    together, it_together = two_stage_weights(a, b, 0.3, 1e-6, allowed=allowed)
    for j in range(4):
        alone, it_alone = two_stage_weights(a, b[j : j + 1], 0.3, 1e-6, allowed=allowed[j : j + 1])
        assert np.allclose(together[j], alone[0], atol=1e-10)
        assert it_together[j] == it_alone[0]
        assert (together[j][~allowed[j]] == 0).all()


def test_sparsify_by_hand():
    got = sparsify(np.array([[0.5, 0.1, 0.4], [0.25, 0.25, 0.5]]))
    assert np.allclose(got[0], [0.5 / 0.9, 0.0, 0.4 / 0.9])
    assert np.allclose(got[1], [0.25, 0.25, 0.5])  # 0.25 > 0.5/4: kept


def test_noise_level_by_hand():
    # differences 1, 2 and 2, 0 → mean 1.25 … sample sd of (1, 2, 2, 0)
    y = np.array([[0.0, 1.0, 3.0, 9.0], [0.0, 2.0, 2.0, 9.0], [5.0, 5.0, 5.0, 5.0]])
    assert noise_level(y, n0=2, t0=3) == pytest.approx(np.std([1, 2, 2, 0], ddof=1))


def test_no_placebo_replications():
    y = _additive(8, 16, [7], 12, 1.0) + np.random.default_rng(1).normal(0, 0.1, (8, 16))
    names = [f"u{i}" for i in range(8)]
    result = fit_sdid(long_panel(y, names), treated="u7", start=2012, placebo_reps=0)
    assert math.isnan(result.se) and math.isnan(result.ci_low) and math.isnan(result.p_value)
    assert result.diagnostics["placebo_reps"] == 0
    assert "No standard error" in result.assumptions["en"]
    # more treated than controls: the placebo method cannot run
    result = fit_sdid(long_panel(y, names), treated=names[3:], start=2012, placebo_reps=10)
    assert math.isnan(result.se)
    assert "more controls" in result.diagnostics["placebo_skipped_reason"]


# --- simulation ---------------------------------------------------------------------------------


def _simulated(rng: np.random.Generator, effect: float) -> pd.DataFrame:
    """20 units × 16 years (12 before): unit and period effects, a small factor, noise sd 1;
    unit 0 treated from the 13th year."""
    n, t, t0 = 20, 16, 12
    y = (
        rng.normal(0, 2, (n, 1))
        + np.cumsum(rng.normal(0, 1, (1, t)), axis=1)
        + rng.normal(0, 0.5, (n, 1)) * np.cumsum(rng.normal(0, 0.5, (1, t)), axis=1)
        + rng.normal(0, 1, (n, t))
    )
    y[0, t0:] += effect
    return long_panel(y, [f"u{i:02d}" for i in range(n)])


@pytest.mark.simulation
@pytest.mark.slow
def test_placebo_interval_coverage():
    """About 3–4 minutes: 200 fits, each with 100 placebo replications."""
    rng = np.random.default_rng(20240766)
    effect, covered, estimates = 1.5, [], []
    for rep in range(200):
        result = fit_sdid(
            _simulated(rng, effect), treated="u00", start=2012, placebo_reps=100, seed=rep
        )
        covered.append(result.ci_low <= effect <= result.ci_high)
        estimates.append(result.estimate)
    coverage = float(np.mean(covered))
    assert COVERAGE[0] <= coverage <= COVERAGE[1], coverage
    # unbiased up to Monte Carlo error (sd of the mean of 200 estimates ≈ 0.05)
    assert abs(np.mean(estimates) - effect) < 0.2


# --- bad input ----------------------------------------------------------------------------------


def _fit(prop99, **options):
    kwargs = {"treated": "California", "start": 1989} | options
    return fit_sdid(prop99, unit="state", time="year", outcome="packs", **kwargs)


def test_treated_not_in_panel_names_the_closest(prop99):
    with pytest.raises(WorkbenchError, match="California"):
        _fit(prop99, treated="Califronia")
    with pytest.raises(WorkbenchError, match="Utah"):
        _fit(prop99, treated=["California", "Uta"])


@pytest.mark.parametrize("start", [1960, 2001])
def test_start_outside_the_data(prop99, start):
    with pytest.raises(WorkbenchError, match="outside the data"):
        _fit(prop99, start=start)


def test_too_few_pre_periods(prop99):
    with pytest.raises(WorkbenchError, match="at least 12"):
        _fit(prop99, start=1980)


def test_no_controls(prop99):
    states = sorted(prop99["state"].unique())
    with pytest.raises(WorkbenchError, match="no untreated units"):
        _fit(prop99, treated=states)


def test_constant_outcome(prop99):
    with pytest.raises(WorkbenchError, match="constant"):
        _fit(prop99.assign(packs=1.0))


@pytest.mark.parametrize(
    "options",
    [
        {"treated": ["California", "California"]},
        {"treated": []},
        {"placebo_reps": -1},
        {"level": 0},
        {"min_pre": 0},
    ],
)
def test_bad_options(prop99, options):
    with pytest.raises(WorkbenchError):
        _fit(prop99, **options)
