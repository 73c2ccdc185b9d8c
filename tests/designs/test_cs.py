"""Callaway & Sant'Anna staggered DiD: the published mpdta numbers, hand-worked panels,
simulations with known truth, bad input.

Reference: R package ``did`` (Callaway & Sant'Anna), ``att_gt(yname="lemp", tname="year",
idname="countyreal", gname="first.treat", data=mpdta)`` — no covariates, never-treated
comparison units, varying base period — and ``aggte(type="dynamic")``, as frozen in
/work/shared/reference/replications.md. The data are tests/data/mpdta.csv (origin in
tests/data/README.md).

Tolerances
----------
ROUNDED = 0.00005
    The published ATT(g,t) and event-study effects have 4 decimals; ours, rounded to 4
    decimals, must equal them (± half a unit of the last digit for ties in the rounding).
DYNAMIC_ATT = 0.0005, DYNAMIC_SE = 0.002
    The overall dynamic effect is published as −0.0772 and its standard error as "≈ 0.020"
    (R reports a bootstrap standard error that moves with the draws in the third decimal);
    our analytic standard error must be within 0.002 of it, and so must our bootstrap one.
SE = 0.0005
    The published analytic standard errors are the doubly robust ones; without covariates the
    doubly robust and outcome-regression influence functions coincide, so the only
    differences are the rounding of the published 4 decimals (≤ 0.00005) — 0.0005 leaves
    room for a different but equivalent variance convention and would still catch a wrong
    one (an n − 1 instead of n divisor moves them by less, a missing comparison-group term
    by far more).
PRETEST_P = 0.01
    Published p = 0.168 (R rounds the Wald p-value to 5 decimals and prints 3).
EXACT = 1e-9
    Hand-worked panels: differences of means of small integers.
COVERAGE = (0.90, 0.99), PLACEBO_MAX_REJECTION = 0.10
    200 replications of a nominal 95 % interval (Monte Carlo standard error ≈ 0.015). The
    analytic standard errors use 1/n_g variances (no degrees-of-freedom correction), which
    could undercover a little with cohorts of 8 units; measured 0.97 on these seeds.
BAND_COVERAGE = (0.88, 0.99)
    The uniform band over all event times, 200 replications of panels three times larger
    (cohorts of 24, 48 never treated), 199 bootstrap draws each. At 40 units it covers only
    about 83 % (a small-sample property of the multiplier bootstrap that R did shares: its
    sup-t critical value comes from a Gaussian approximation with an estimated 25 × 25
    covariance); at 120 units about 95 %, which is what is asserted.
SIZE_MAX = 0.15
    The bootstrap sup-t pre-test on no-pre-trend panels of 40 units: measured about 13 %
    (8 % at 120 units); R's χ² Wald pre-test on the same panels rejects 100 %, which is why
    the assumptions paragraph uses the sup-t test when there are few units per pre-period cell.

Simulated panels: 40 units in cohorts first treated in periods 8, 11 and 14 (8 units each)
and 16 never treated, 20 periods, unit and period effects, AR(1) errors within each unit
(phi 0.5), effects that differ by cohort and grow with time since adoption:
τ_g(e) = δ_g·(1 + 0.2·e), δ = 1, 2, 0.5. The simulations take about 10 s, plus 15 s for the band (marked slow).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.designs.cs import fit_cs
from analysis.designs.plots import plot_event_study
from analysis.errors import WorkbenchError

DATA = Path(__file__).parents[1] / "data" / "mpdta.csv"
ROUNDED = 0.00005
DYNAMIC_ATT = 0.0005
DYNAMIC_SE = 0.002
SE = 0.0005
PRETEST_P = 0.01
EXACT = 1e-9
COVERAGE = (0.90, 0.99)
BAND_COVERAGE = (0.88, 0.99)
PLACEBO_MAX_REJECTION = 0.10
SIZE_MAX = 0.15

# replications.md: ATT(g,t), R did, est_method "reg", never-treated, varying base period.
PUBLISHED_ATT = {
    (2004, 2004): -0.0105,
    (2004, 2005): -0.0704,
    (2004, 2006): -0.1373,
    (2004, 2007): -0.1008,
    (2006, 2004): 0.0065,
    (2006, 2005): -0.0028,
    (2006, 2006): -0.0046,
    (2006, 2007): -0.0412,
    (2007, 2004): 0.0305,
    (2007, 2005): -0.0027,
    (2007, 2006): -0.0311,
    (2007, 2007): -0.0261,
}
PUBLISHED_SE = dict(
    zip(
        PUBLISHED_ATT,
        [0.0233, 0.0310, 0.0364, 0.0344, 0.0233, 0.0196, 0.0178, 0.0202]
        + [0.0150, 0.0164, 0.0179, 0.0167],
        strict=True,
    )
)
PUBLISHED_EVENT = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373}
PUBLISHED_EVENT[3] = -0.1008


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def mpdta_fit(mpdta):
    return fit_cs(
        mpdta, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", seed=766
    )


# --- replication ------------------------------------------------------------------------------


def test_mpdta_file_is_the_published_panel(mpdta):
    assert mpdta.shape == (2500, 5)
    assert mpdta["countyreal"].nunique() == 500
    assert sorted(mpdta["year"].unique()) == [2003, 2004, 2005, 2006, 2007]
    sizes = mpdta.drop_duplicates("countyreal")["first.treat"].value_counts().to_dict()
    assert sizes == {0: 309, 2004: 20, 2006: 40, 2007: 131}


def test_mpdta_group_time_effects(mpdta_fit):
    table = mpdta_fit.tables["att_gt"].set_index(["group", "time"])
    assert len(table) == 12
    for key, published in PUBLISHED_ATT.items():
        assert abs(round(table.loc[key, "att"], 4) - published) <= ROUNDED, key
        assert abs(table.loc[key, "se"] - PUBLISHED_SE[key]) <= SE, key
        assert table.loc[key, "post"] == (key[1] >= key[0])


def test_mpdta_event_study_and_pretest(mpdta_fit):
    es = mpdta_fit.tables["event_study"].set_index("event_time")
    assert list(es.index) == list(range(-3, 4))
    for e, published in PUBLISHED_EVENT.items():
        assert abs(round(es.loc[e, "att"], 4) - published) <= ROUNDED, e
    d = mpdta_fit.diagnostics
    assert d["dynamic_att"] == pytest.approx(-0.0772, abs=DYNAMIC_ATT)
    assert d["dynamic_se"] == pytest.approx(0.020, abs=DYNAMIC_SE)
    assert d["dynamic_se_bootstrap"] == pytest.approx(0.020, abs=DYNAMIC_SE)
    assert d["pretest_p_value"] == pytest.approx(0.168, abs=PRETEST_P)
    assert d["pretest_df"] == 5
    assert d["n_groups"] == 3 and d["n_never_treated"] == 309
    # the uniform band is wider than the pointwise interval, and the critical value > 1.96
    assert d["uniform_critical_value"] > 1.96
    assert (es["band_high"] - es["band_low"] > es["ci_high"] - es["ci_low"]).all()


def test_mpdta_result_shape(mpdta_fit):
    r = mpdta_fit
    assert r.method == "cs" and r.unit == ""
    # the estimate is the "simple" aggregation: post cells weighted by cohort size
    att = r.tables["att_gt"]
    post = att[att["post"]]
    size = post["group"].map({2004: 20, 2006: 40, 2007: 131})
    assert r.estimate == pytest.approx(np.average(post["att"], weights=size), abs=EXACT)
    assert r.ci_low < r.estimate < r.ci_high
    assert r.start == pd.Timestamp("2004-01-01") and (r.n_pre, r.n_post) == (1, 4)
    bp = r.by_period
    assert list(bp["period"]) == list(range(-3, 4)) and bp["period"].dtype.kind == "i"
    assert list(bp["post"]) == [False] * 3 + [True] * 4
    assert bp["observed"].isna().all() and bp["counterfactual"].isna().all()
    assert set(r.tables) == {"att_gt", "event_study", "group", "calendar"}
    assert list(r.tables["group"]["group"]) == [2004, 2006, 2007]
    assert list(r.tables["calendar"]["time"]) == [2004, 2005, 2006, 2007]
    json.dumps(r.to_dict())
    assert "p = 0,168" in r.assumptions["vi"] and "p = 0.168" in r.assumptions["en"]


def test_mpdta_bootstrap_is_seeded(mpdta):
    kwargs = dict(unit="countyreal", time="year", outcome="lemp", cohort="first.treat")
    a = fit_cs(mpdta, seed=1, bootstrap=199, **kwargs)
    b = fit_cs(mpdta, seed=1, bootstrap=199, **kwargs)
    c = fit_cs(mpdta, bootstrap=0, **kwargs)
    pd.testing.assert_frame_equal(a.tables["event_study"], b.tables["event_study"])
    assert c.tables["event_study"]["band_low"].isna().all()
    assert c.estimate == a.estimate and c.se == a.se  # analytic: no draws involved


def test_plot_event_study_labels(mpdta_fit):
    fig = plot_event_study(mpdta_fit, lang="vi")
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_xlabel() == "Số năm so với thời điểm áp dụng"
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any("," in t for t in ticks) and not any("." in t for t in ticks)
    en = plot_event_study(mpdta_fit, lang="en").axes[0]
    assert en.get_xlabel() == "Years since adoption"
    with pytest.raises(WorkbenchError):
        plot_event_study(mpdta_fit, lang="fr")


# --- hand-worked ------------------------------------------------------------------------------


def _hand() -> pd.DataFrame:
    """A first treated in period 2, B in period 3, C and D never; periods 1–3."""
    y = {"A": [1, 4, 6], "B": [2, 3, 7], "C": [1, 2, 3], "D": [3, 5, 5]}
    g = {"A": 2, "B": 3, "C": 0, "D": 0}
    return pd.DataFrame(
        [
            {"unit": u, "time": t, "outcome": v, "first_treat": g[u]}
            for u, values in y.items()
            for t, v in zip([1, 2, 3], values, strict=True)
        ]
    )


def test_hand_worked_never_treated():
    """Changes of C, D: 1→2: +1, +2; 1→3: +2, +2; 2→3: +1, 0.

    ATT(2,2) = (4 − 1) − 1.5 = 1.5; ATT(2,3) = (6 − 1) − 2 = 3; ATT(3,2) (pre, 2 vs 1) =
    (3 − 2) − 1.5 = −0.5; ATT(3,3) (base 2) = (7 − 3) − 0.5 = 3.5. One treated unit per
    cohort, so the SE of ATT(2,2) is the comparison part only: sqrt(0.25/2) (variance of 1, 2
    with divisor n). Simple = mean of the three post cells (equal cohort sizes) = 8/3; event
    study e = −1: −0.5, e = 0: (1.5 + 3.5)/2 = 2.5, e = 1: 3; dynamic overall = 2.75.
    """
    r = fit_cs(_hand(), bootstrap=0, min_cohort=1)
    att = r.tables["att_gt"].set_index(["group", "time"])["att"]
    assert att.to_dict() == pytest.approx({(2, 2): 1.5, (2, 3): 3, (3, 2): -0.5, (3, 3): 3.5})
    se = r.tables["att_gt"].set_index(["group", "time"])["se"]
    assert se[(2, 2)] == pytest.approx(math.sqrt(0.25 / 2), abs=EXACT)
    assert r.estimate == pytest.approx(8 / 3, abs=EXACT)
    es = r.tables["event_study"].set_index("event_time")["att"]
    assert es.to_dict() == pytest.approx({-1: -0.5, 0: 2.5, 1: 3})
    assert r.diagnostics["dynamic_att"] == pytest.approx(2.75, abs=EXACT)
    assert r.diagnostics["smallest_group_size"] == 1
    assert "chỉ có 1 đơn vị" in r.assumptions["vi"]


def test_hand_worked_not_yet_and_universal():
    """Not yet treated: B (first treated in 3) joins the comparison units for ATT(2,2):
    changes 1→2 of B, C, D = 1, 1, 2, mean 4/3, so ATT(2,2) = 3 − 4/3 = 5/3.
    Universal base (period g − 1 for every cell): ATT(3,1) compares 1 with 2:
    B −1, C −1, D −2 → −1 − (−1.5) = 0.5; ATT(3,2) = 0 (the base itself)."""
    notyet = fit_cs(_hand(), control="notyet", bootstrap=0, min_cohort=1)
    att = notyet.tables["att_gt"].set_index(["group", "time"])
    assert att.loc[(2, 2), "att"] == pytest.approx(5 / 3, abs=EXACT)
    assert att.loc[(2, 2), "n_control"] == 3
    universal = fit_cs(_hand(), base_period="universal", bootstrap=0, min_cohort=1)
    att = universal.tables["att_gt"].set_index(["group", "time"])["att"]
    assert att[(3, 1)] == pytest.approx(0.5, abs=EXACT)
    assert att[(3, 2)] == 0 and att[(2, 1)] == 0
    assert att[(2, 3)] == pytest.approx(3, abs=EXACT)


def test_not_yet_without_never_treated_uses_last_cohort():
    """Without never-treated units the last cohort (B) becomes the comparison group and the
    periods from its start are dropped, as R did does: only ATT(2,2) = (4 − 1) − (3 − 2) = 2."""
    data = _hand()
    data = data[data["unit"].isin(["A", "B"])]
    r = fit_cs(data, control="notyet", bootstrap=0, min_cohort=1)
    att = r.tables["att_gt"]
    assert list(zip(att["group"], att["time"], strict=True)) == [(2, 2)]
    assert att["att"].iloc[0] == pytest.approx(2.0, abs=EXACT)
    assert r.diagnostics["dropped_last_cohort"]
    assert "nhóm áp dụng muộn nhất" in r.assumptions["vi"]


def test_staggered_no_noise_recovers_truth_where_twfe_does_not():
    """The TWFE example of test_did (cohorts 1 and 6 of 0–7, effects growing by 1 a period):
    without noise every ATT(g,t) is exact, and the simple aggregation is 31/9."""
    periods = np.arange(8)
    rows = []
    for name, g in (("early", 1), ("late", 6), ("never", 0)):
        effect = np.maximum(periods - g + 1, 0) if g else np.zeros(8)
        rows += [
            {"unit": name, "time": t, "outcome": 10 + 0.5 * t + e, "first_treat": g}
            for t, e in zip(periods, effect, strict=True)
        ]
    r = fit_cs(pd.DataFrame(rows), bootstrap=0, min_cohort=1)
    assert r.estimate == pytest.approx(31 / 9, abs=EXACT)


def test_monthly_panel_with_dates_and_treated_start():
    """Months as dates, cohorts as first treated months (NaT never): the same numbers as the
    integer coding, event times in months; treated + start equals a one-cohort column."""
    data, _ = _simulate(4)
    months = pd.date_range("2020-01-01", periods=20, freq="MS")
    monthly = data.assign(
        time=months[data["time"].to_numpy()],
        first_treat=[months[g] if g > 0 else pd.NaT for g in data["first_treat"]],
    )
    a = fit_cs(data, bootstrap=0)
    b = fit_cs(monthly, bootstrap=0)
    assert b.estimate == pytest.approx(a.estimate, abs=EXACT)
    assert b.start == months[8] and b.window.pre_end == months[7]
    assert b.diagnostics["time_step"] == "months"
    assert b.tables["att_gt"]["group"].iloc[0] == months[8]
    single = data[(data["first_treat"] == 0) | (data["first_treat"] == 8)]
    by_column = fit_cs(single, bootstrap=0)
    units = sorted(set(single.loc[single["first_treat"] == 8, "unit"]))
    by_list = fit_cs(single, treated=units, start=8, bootstrap=0)
    assert by_list.estimate == pytest.approx(by_column.estimate, abs=EXACT)


# --- simulations ------------------------------------------------------------------------------

COHORTS = {8: 1.0, 11: 2.0, 14: 0.5}  # first treated period: δ_g
N_PER_COHORT, N_NEVER, N_PERIODS = 8, 16, 20


def _tau(g: int, e: np.ndarray) -> np.ndarray:
    return np.where(e >= 0, COHORTS[g] * (1 + 0.2 * e), 0.0)


def _simulate(
    seed: int, scale: float = 1.0, size: int = 1
) -> tuple[pd.DataFrame, dict[str, float]]:
    """A staggered panel (``size`` times the units); returns it and the true simple ATT and
    event-study effects."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([*COHORTS, 0], [size * N_PER_COHORT] * len(COHORTS) + [size * N_NEVER])
    n, t = len(groups), np.arange(N_PERIODS)
    e = np.zeros((n, N_PERIODS))
    shocks = rng.normal(0, 1, (n, N_PERIODS))
    e[:, 0] = shocks[:, 0] / math.sqrt(1 - 0.25)
    for k in range(1, N_PERIODS):
        e[:, k] = 0.5 * e[:, k - 1] + shocks[:, k]
    effect = np.array([_tau(g, t - g) if g else np.zeros(N_PERIODS) for g in groups])
    y = rng.normal(20, 3, n)[:, None] + np.cumsum(rng.normal(0.2, 0.5, N_PERIODS)) + e
    y = y + scale * effect
    data = pd.DataFrame(
        {
            "unit": np.repeat([f"u{i:02d}" for i in range(n)], N_PERIODS),
            "time": np.tile(t, n),
            "outcome": y.ravel(),
            "first_treat": np.repeat(groups, N_PERIODS),
        }
    )
    # truth: post cells weighted by cohort size (equal here); event study averaged over cohorts
    post = [(g, k) for g in COHORTS for k in t if k >= g]
    truth = {"simple": scale * np.mean([_tau(g, np.array(k - g)) for g, k in post])}
    for ev in range(-13, N_PERIODS - 8):
        cells = [g for g in COHORTS if 1 <= g + ev < N_PERIODS]
        truth[ev] = scale * np.mean([_tau(g, np.array(ev)) for g in cells])
    return data, truth


@pytest.mark.simulation
def test_simulated_coverage_and_placebo():
    covered, rejected, pre_rejected = [], [], []
    for seed in range(200):
        data, truth = _simulate(seed)
        r = fit_cs(data, bootstrap=0)
        covered.append(r.ci_low <= truth["simple"] <= r.ci_high)
        placebo, _ = _simulate(50_000 + seed, scale=0.0)
        p = fit_cs(placebo, bootstrap=199, seed=seed)
        rejected.append(p.p_value < 0.05)
        pre_rejected.append(p.diagnostics["pretest_sup_t_p_value"] < 0.05)
    assert COVERAGE[0] <= np.mean(covered) <= COVERAGE[1]
    assert np.mean(rejected) <= PLACEBO_MAX_REJECTION
    assert np.mean(pre_rejected) <= SIZE_MAX


@pytest.mark.simulation
@pytest.mark.slow
def test_simulated_uniform_band_coverage():
    """About 15 s: 200 panels of 120 units with 199 bootstrap draws each."""
    band = []
    for seed in range(200):
        data, truth = _simulate(seed, size=3)
        es = fit_cs(data, bootstrap=199, seed=seed).tables["event_study"]
        target = es["event_time"].map(truth)
        band.append(bool(((es["band_low"] <= target) & (target <= es["band_high"])).all()))
    assert BAND_COVERAGE[0] <= np.mean(band) <= BAND_COVERAGE[1]


def test_pretest_detects_a_diverging_cohort():
    """The last cohort drifts 2 a period away from the others before (and after) adoption."""
    data, _ = _simulate(11)
    late = data["first_treat"] == 14
    data.loc[late, "outcome"] += 2.0 * data.loc[late, "time"]
    r = fit_cs(data, bootstrap=199)
    assert r.diagnostics["pretest_sup_t_p_value"] < 0.05
    assert "Cảnh báo" in r.assumptions["vi"] and "Warning" in r.assumptions["en"]
    assert "không đáng tin với 40 đơn vị" in r.assumptions["vi"]


# --- bad input --------------------------------------------------------------------------------


def test_bad_inputs(mpdta):
    kwargs = dict(unit="countyreal", time="year", outcome="lemp")
    with pytest.raises(WorkbenchError, match="cohort column 'first_treat' is missing"):
        fit_cs(mpdta, **kwargs)
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(WorkbenchError, match='control="notyet"'):
        fit_cs(treated_only, cohort="first.treat", **kwargs)
    outside = mpdta.assign(g=mpdta["first.treat"].replace(2007, 2009))
    with pytest.raises(WorkbenchError, match="outside the data"):
        fit_cs(outside, cohort="g", **kwargs)
    early = mpdta.assign(g=mpdta["first.treat"].replace(2004, 2003))
    with pytest.raises(WorkbenchError, match="no period before the measure"):
        fit_cs(early, cohort="g", **kwargs)
    with pytest.raises(WorkbenchError, match="constant"):
        fit_cs(mpdta.assign(lemp=1.0), cohort="first.treat", **kwargs)
    for option in ({"control": "all"}, {"base_period": "fixed"}, {"bootstrap": -1}):
        with pytest.raises(WorkbenchError):
            fit_cs(mpdta, cohort="first.treat", **kwargs, **option)


def test_one_treated_unit_is_refused_not_given_a_narrow_interval():
    """A cohort of one unit has no within-cohort variance: its influence function is zero, so
    the interval would hold only the comparison units' noise (22 % coverage in the issue's
    study). The design refuses and says which cohort and what to use instead."""
    data, _ = _simulate(3)
    keep = (data["first_treat"] == 0) | (data["unit"] == "u00")
    with pytest.raises(WorkbenchError, match=r"smallest cohort has 1 \(u00\)") as info:
        fit_cs(data[keep], bootstrap=0)
    assert "did" in info.value.hint
    four = data[(data["first_treat"] == 0) | data["unit"].isin(["u00", "u01", "u02", "u03"])]
    with pytest.raises(WorkbenchError, match="has 4"):
        fit_cs(four, bootstrap=0)
    assert fit_cs(four, bootstrap=0, min_cohort=4).diagnostics["smallest_group_size"] == 4
