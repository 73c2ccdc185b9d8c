"""Interrupted time series: hand-checkable series, simulations with known truth, bad input.

Tolerances
----------
EXACT = 1e-6
    Noise-free series: OLS recovers the generating coefficients up to floating-point error
    (condition number of the design ~1e3, so 1e-6 leaves a wide margin).
COVERAGE = (0.88, 0.99)
    200 replications of a nominal 95 % interval: the Monte Carlo standard error of a coverage
    of 0.95 is sqrt(0.95·0.05/200) ≈ 0.015, so 0.88–0.99 allows for it plus the small-sample
    shortfall of any feasible autocorrelation correction.
PLACEBO_MAX_REJECTION = 0.10
    A 5 % test on 200 no-effect series: allows for the Monte Carlo error (≈ 0.015) and for
    mild over-rejection on an 18 + 12 month placebo window.

Binomial model (``model="binomial"``): hand cases use exact (fractional) counts
n·expit(η) so the GLM recovers η to floating-point error (EXACT); the simulations draw
binomial counts around a logit-linear path with AR(1) noise on the logit scale (phi 0.4), near
95 % and near 3 %, and the truth is the model's estimand at the generating coefficients,
100·mean(expit(η_t) − expit(η_t^cf)) over the post months (the attenuation of logit
coefficients by noise of sd 0.08 is < 0.2 %, far inside the interval). Same COVERAGE bounds;
about 4 s per 200 replications, so not marked slow.

Simulated series follow the issue: a denominator of about 20,000 dossiers a month, an online
share on a linear trend (30 % + 0.3 pp a month), binomial draws, plus AR(1) noise in percentage
points (phi 0.4, stationary sd 1 pp); 30 months before the start and 24 after.

Why the default covariance is "ar1" and not Newey–West: on these series the Newey–West interval
(3 lags by the rule of thumb, small-sample correction, t with n − k df) covered the truth in
about 78 % of 300 replications, and more lags made it worse (the residual autocorrelation of a
model with trend and break terms is biased towards zero). The OLS sandwich under AR(1) errors
with ρ by REML has a mean standard error matching the one computed from the true error
covariance (0.94 pp) and covered about 91 % with n − k df; with Satterthwaite-type df for the
uncertainty of ρ̂ it covers about 93–96 %, and the placebo on 18 + 12 months rejects about 5 %
of no-effect series (9 % with n − k df), measured on 1,000 series outside the seeds below.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from analysis.calendar import tet_days
from analysis.designs import EffectResult, Window, fit_its, format_number
from analysis.errors import WorkbenchError

EXACT = 1e-6
COVERAGE = (0.88, 0.99)
PLACEBO_MAX_REJECTION = 0.10


# --- data -------------------------------------------------------------------------------------


def _noise_free(n_pre: int = 36, n_post: int = 12, first: str = "2019-01-01") -> pd.DataFrame:
    """y = 20 + 0.5·t before the start; after it, + 8 and + 0.2 a month since the start."""
    months = pd.date_range(first, periods=n_pre + n_post, freq="MS")
    t = np.arange(n_pre + n_post, dtype=float)
    k = t - n_pre
    y = 20 + 0.5 * t + np.where(k >= 0, 8 + 0.2 * k, 0.0)
    return pd.DataFrame({"month": months, "value": y})


def _simulate_counts(
    seed: int,
    *,
    n_pre: int = 30,
    n_post: int = 24,
    effect: float = 6.0,
    phi: float = 0.4,
    sd: float = 1.0,
    tet_pp: float = 0.0,
    tet_volume: float = 0.0,
    pre_jump: tuple[int, float] | None = None,
) -> pd.DataFrame:
    """Monthly counts with a level shift of ``effect`` pp at month ``n_pre``.

    ``tet_pp`` moves the online share by that many pp per Tết day, ``tet_volume`` cuts the
    volume by that fraction per Tết day; ``pre_jump=(month, pp)`` adds an undeclared earlier
    level shift.
    """
    rng = np.random.default_rng(seed)
    n = n_pre + n_post
    months = pd.date_range("2019-01-01", periods=n, freq="MS")
    t = np.arange(n)
    noise = np.empty(n)
    noise[0] = rng.normal(0, sd)
    innovations = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + innovations[i]
    tet = tet_days(months).to_numpy()
    rate = 30 + 0.3 * t + effect * (t >= n_pre) + tet_pp * tet + noise
    if pre_jump is not None:
        rate = rate + pre_jump[1] * (t >= pre_jump[0])
    denominator = rng.poisson(20_000 * (1 - tet_volume * tet))
    numerator = rng.binomial(denominator, rate / 100)
    return pd.DataFrame({"month": months, "numerator": numerator, "denominator": denominator})


START = pd.Timestamp("2021-07-01")  # month 30 of the simulated series


# --- hand-checkable ---------------------------------------------------------------------------


@pytest.mark.parametrize("seasonality", ["none", "tet"])
def test_noise_free_series_recovers_level_slope_and_average(seasonality: str) -> None:
    series = _noise_free(n_pre=36, n_post=12)
    result = fit_its(series, "2022-01-01", post_months=12, seasonality=seasonality)
    # Average over k = 0..11 of 8 + 0.2·k = 8 + 0.2·mean(0..11) = 8 + 0.2·5.5 = 9.1.
    assert result.estimate == pytest.approx(9.1, abs=EXACT)
    assert result.diagnostics["level_change"] == pytest.approx(8.0, abs=EXACT)
    assert result.diagnostics["slope_change"] == pytest.approx(0.2, abs=EXACT)
    assert result.diagnostics["pre_slope"] == pytest.approx(0.5, abs=EXACT)
    assert result.unit == ""  # a value series is in its own units, not percentage points
    assert (result.n_pre, result.n_post) == (36, 12)
    assert result.window == Window(
        pd.Timestamp("2019-01-01"),
        pd.Timestamp("2021-12-01"),
        pd.Timestamp("2022-01-01"),
        pd.Timestamp("2022-12-01"),
    )
    post = result.by_period[result.by_period["post"]]
    k = np.arange(12)
    np.testing.assert_allclose(post["effect"], 8 + 0.2 * k, atol=EXACT)
    # The counterfactual continues 20 + 0.5·t, t = 36..47.
    np.testing.assert_allclose(post["counterfactual"], 20 + 0.5 * (36 + k), atol=EXACT)
    assert result.by_period.loc[~result.by_period["post"], "effect"].isna().all()


def test_post_window_limits_the_average() -> None:
    # 24 months after the start are available, only the first 12 are averaged: 9.1 as above.
    result = fit_its(_noise_free(n_pre=36, n_post=24), "2022-01-01", post_months=12)
    assert result.n_post == 12
    assert result.estimate == pytest.approx(9.1, abs=EXACT)
    # All 24: 8 + 0.2·mean(0..23) = 8 + 0.2·11.5 = 10.3.
    result = fit_its(_noise_free(n_pre=36, n_post=24), "2022-01-01", post_months=None)
    assert result.estimate == pytest.approx(10.3, abs=EXACT)


def test_counts_are_analysed_in_percentage_points() -> None:
    # Rate 20 % + 0.5 pp a month, + 8 pp and + 0.2 pp a month after month 36, from exact counts
    # out of 1,000: numerator = 10 × rate in percent.
    rates = _noise_free(n_pre=36, n_post=12)
    series = pd.DataFrame(
        {
            "month": rates["month"],
            "dossiers_online": np.round(10 * rates["value"]).astype(int),
            "dossiers_received": 1000,
        }
    )
    result = fit_its(series, "2022-01-01", post_months=12, outcome="online_rate", model="ols")
    assert result.unit == "pp"
    assert result.estimate == pytest.approx(9.1, abs=EXACT)


def test_known_earlier_break_is_modelled() -> None:
    # An earlier measure in month 12: + 3 and + 0.1 a month. Declared, it leaves 8 and 0.2.
    series = _noise_free(n_pre=36, n_post=12)
    t = np.arange(len(series))
    series["value"] += np.where(t >= 12, 3 + 0.1 * (t - 12), 0.0)
    result = fit_its(series, "2022-01-01", post_months=12, breaks=["2020-01-01"])
    assert result.diagnostics["level_change"] == pytest.approx(8.0, abs=EXACT)
    assert result.diagnostics["slope_change"] == pytest.approx(0.2, abs=EXACT)
    assert result.diagnostics["breaks"] == [pd.Timestamp("2020-01-01")]


# --- simulated counts -------------------------------------------------------------------------


def test_interval_covers_the_injected_shift() -> None:
    # One draw (seed 0, as everywhere for single draws): any one 95 % interval misses with
    # probability about 0.05–0.1; the replication test below carries the statistical claim.
    result = fit_its(_simulate_counts(seed=0), START, treated="Bắc Ninh")
    assert result.method == "its"
    assert result.treated == ("Bắc Ninh",)
    assert (result.n_pre, result.n_post) == (30, 24)
    assert result.ci_low < 6.0 < result.ci_high
    assert result.ci_low < result.estimate < result.ci_high
    assert result.p_value < 0.05
    # The monthly effects average to the estimate; the counterfactual band surrounds it.
    post = result.by_period[result.by_period["post"]]
    assert (post["counterfactual_low"] < post["counterfactual"]).all()
    assert (post["counterfactual"] < post["counterfactual_high"]).all()
    assert np.isclose(post["effect"].mean(), result.estimate)


@pytest.mark.simulation
def test_coverage_over_200_replications() -> None:
    began = time.perf_counter()
    covered = 0
    for seed in range(200):
        result = fit_its(_simulate_counts(seed), START, placebo=False)
        covered += result.ci_low <= 6.0 <= result.ci_high
    elapsed = time.perf_counter() - began
    print(f"coverage {covered / 200:.3f} in {elapsed:.1f} s")
    assert COVERAGE[0] <= covered / 200 <= COVERAGE[1]


@pytest.mark.simulation
def test_tet_dip_does_not_bias_the_estimate() -> None:
    # Online share −1 pp and volume −6 % per Tết day (about −7 pp and −40 % in a Tết month).
    estimates, tet_coefs = [], []
    for seed in range(100):
        series = _simulate_counts(seed, tet_pp=-1.0, tet_volume=0.06)
        result = fit_its(series, START, seasonality="tet", placebo=False, model="ols")
        estimates.append(result.estimate)
        tet_coefs.append(result.diagnostics["tet_days_coef"])
    # Monte Carlo sd of the mean estimate ≈ 1 pp / sqrt(100) = 0.1: allow 3 of them.
    assert np.mean(estimates) == pytest.approx(6.0, abs=0.3)
    assert np.mean(tet_coefs) == pytest.approx(-1.0, abs=0.05)

    series = _simulate_counts(0, tet_pp=-1.0, tet_volume=0.06)
    with_tet = fit_its(series, START, seasonality="tet", model="ols")
    without = fit_its(series, START, seasonality="none", model="ols")
    coef, se = with_tet.diagnostics["tet_days_coef"], with_tet.diagnostics["tet_days_coef_se"]
    assert coef - 2.1 * se < -1.0 < coef + 2.1 * se  # t(49) 97.5 % quantile ≈ 2.01
    assert with_tet.ci_low < 6.0 < with_tet.ci_high
    assert with_tet.diagnostics["pre_rmse"] < without.diagnostics["pre_rmse"]


def test_month_dummies_with_tet() -> None:
    result = fit_its(_simulate_counts(3, tet_pp=-1.0), START, seasonality="tet+month")
    assert result.diagnostics["n_params"] == 5 + 11
    assert result.ci_low < 6.0 < result.ci_high


def test_degrees_of_freedom() -> None:
    result = fit_its(_simulate_counts(0), START)
    # 54 months, 5 terms: n − k = 49; the AR(1) df for the estimate lie between 2 and 49.
    assert result.diagnostics["df_resid"] == 49
    assert 2 <= result.diagnostics["df"] <= 49
    assert result.diagnostics["cov_type"] == "ar1"
    assert -1 < result.diagnostics["ar1_rho"] < 1


def test_newey_west_option() -> None:
    result = fit_its(_simulate_counts(11), START, cov_type="hac", hac_lags=4)
    assert result.diagnostics["cov_type"] == "hac"
    assert result.diagnostics["hac_lags"] == 4
    assert result.se == pytest.approx(result.diagnostics["se_hac"])
    assert result.diagnostics["df"] == result.diagnostics["df_resid"] == 49
    # Default lags for 54 months: floor(4·0.54^(2/9)) = floor(3.49) = 3.
    assert fit_its(_simulate_counts(11), START).diagnostics["hac_lags"] == 3


# --- placebo ----------------------------------------------------------------------------------


@pytest.mark.simulation
def test_placebo_rejects_at_about_the_nominal_rate() -> None:
    began = time.perf_counter()
    rejected = 0
    for seed in range(200):
        result = fit_its(_simulate_counts(10_000 + seed, effect=0.0), START)
        # 30 pre months: fake start 12 months before the real one.
        assert result.diagnostics["placebo_start"] == pd.Timestamp("2020-07-01")
        rejected += result.diagnostics["placebo_p_value"] < 0.05
    print(f"placebo rejection {rejected / 200:.3f} in {time.perf_counter() - began:.1f} s")
    assert rejected / 200 <= PLACEBO_MAX_REJECTION


def test_placebo_flags_an_undeclared_earlier_shift() -> None:
    # +5 pp in month 18 (2020-07), not declared: the placebo there finds it and the
    # assumptions paragraph warns in both languages.
    series = _simulate_counts(5, pre_jump=(18, 5.0))
    result = fit_its(series, START)
    assert result.diagnostics["placebo_p_value"] < 0.05
    assert "Cảnh báo" in result.assumptions["vi"]
    assert "Warning" in result.assumptions["en"]
    # Declared as a break, the placebo moves to halfway (month 15) and the warning goes.
    declared = fit_its(series, START, breaks=["2020-07-01"])
    assert declared.diagnostics["placebo_start"] == pd.Timestamp("2020-04-01")
    assert "Cảnh báo" not in declared.assumptions["vi"]


def test_short_pre_period_uses_a_halfway_placebo() -> None:
    series = _simulate_counts(2, n_pre=16, n_post=12)
    result = fit_its(series, "2020-05-01")
    assert result.diagnostics["placebo_start"] == pd.Timestamp("2019-09-01")  # month 8 of 16
    assert "16 tháng" in result.assumptions["vi"]


# --- result -----------------------------------------------------------------------------------


def _hand_result(estimate: float, low: float, high: float, p: float) -> EffectResult:
    month = pd.Timestamp("2022-07-01")
    return EffectResult(
        method="its",
        outcome="online_rate",
        treated=("Thái Nguyên",),
        start=month,
        window=Window(pd.Timestamp("2020-01-01"), pd.Timestamp("2022-06-01"), month, month),
        n_pre=30,
        n_post=1,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        ci_level=0.95,
        p_value=p,
        se=1.5,
        by_period=pd.DataFrame(
            {
                "period": [month],
                "post": [True],
                "observed": [60.0],
                "counterfactual": [51.9],
                "effect": [estimate],
                "effect_low": [low],
                "effect_high": [high],
            }
        ),
        diagnostics={"level_change": np.float64(8.1), "placebo_p_value": np.nan},
        assumptions={"vi": "…", "en": "…"},
        method_label={"vi": "Chuỗi thời gian ngắt quãng", "en": "Interrupted time series"},
    )


def test_summary_sentences() -> None:
    result = _hand_result(8.1, 5.2, 11.0, 0.001)
    assert result.summary("vi") == (
        "Biện pháp làm tăng tỷ lệ hồ sơ nộp trực tuyến 8,1 điểm phần trăm "
        "(KTC 95 %: 5,2 – 11,0; p = 0,001)."
    )
    assert result.summary("en") == (
        "The measure increased the share of dossiers submitted online by 8.1 percentage points "
        "(95% CI 5.2 to 11.0; p = 0.001)."
    )
    small = _hand_result(-1.3, -3.0, 0.4, 0.2)
    assert small.summary("vi") == (
        "Biện pháp làm giảm tỷ lệ hồ sơ nộp trực tuyến 1,3 điểm phần trăm "
        "(KTC 95 %: −3,0 – 0,4; p = 0,200), nhưng khác biệt không có ý nghĩa thống kê."
    )
    assert _hand_result(8.1, 5.2, 11.0, 0.00001).summary("en").endswith("p < 0.001).")


def test_format_number() -> None:
    assert format_number(12345.678, "vi", 1) == "12.345,7"
    assert format_number(1234.5, "en", 2) == "1,234.50"
    assert format_number(-0.04, "vi", 1) == "0,0"
    assert format_number(float("nan"), "en", 1) == "—"


def test_to_dict_is_json() -> None:
    data = json.loads(json.dumps(_hand_result(8.1, 5.2, 11.0, 0.001).to_dict()))
    assert data["method"] == "its"
    assert data["ci"] == [5.2, 11.0]
    assert data["start"] == "2022-07-01"
    assert data["by_period"] == [
        {
            "period": "2022-07-01",
            "estimate": 8.1,
            "ci_low": 5.2,
            "ci_high": 11.0,
            "observed": 60.0,
            "counterfactual": 51.9,
        }
    ]
    assert data["diagnostics"] == {"level_change": 8.1, "placebo_p_value": None}

    fitted = fit_its(_simulate_counts(1), START).to_dict()
    fitted = json.loads(json.dumps(fitted))
    assert len(fitted["by_period"]) == 24
    assert fitted["window"]["post_start"] == "2021-07-01"
    assert fitted["diagnostics"]["placebo_start"] == "2020-07-01"


def test_result_is_frozen() -> None:
    result = _hand_result(8.1, 5.2, 11.0, 0.001)
    with pytest.raises(AttributeError):
        result.estimate = 0.0  # type: ignore[misc]


# --- bad input --------------------------------------------------------------------------------


def _counts() -> pd.DataFrame:
    return _simulate_counts(0)


def _drop_month(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["month"] != "2020-03-01"]


def _set(column: str, month: str, value: float):
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[column] = df[column].astype(float)
        df.loc[df["month"] == month, column] = value
        return df

    return change


def _constant(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(numerator=5_000, denominator=10_000)


def _duplicate(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[4]]])


def _mid_month(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(month=df["month"] + pd.Timedelta(days=14))


def _no_counts(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={"numerator": "online"})


def _same(df: pd.DataFrame) -> pd.DataFrame:
    return df


BAD_INPUTS = [
    ("start before", _same, {"start": "2018-06-01"}, "no pre-period"),
    ("start at first", _same, {"start": "2019-01-01"}, "no pre-period"),
    ("start after", _same, {"start": "2024-01-01"}, "no post-period"),
    ("few pre", _same, {"start": "2019-09-01"}, "only 8 months before the start 2019-09"),
    ("few pre with min", _same, {"min_pre": 36}, "only 30 months before.*at least 36"),
    ("missing month", _drop_month, {}, "no row for 2020-03"),
    ("zero denominator", _set("denominator", "2020-05-01", 0), {}, "0 in 2020-05"),
    ("negative denominator", _set("denominator", "2020-05-01", -3), {}, "positive denominator"),
    ("numerator above", _set("numerator", "2021-02-01", 30_000), {}, "exceeds.*2021-02"),
    ("negative numerator", _set("numerator", "2021-02-01", -1), {}, "negative"),
    ("missing count", _set("numerator", "2021-02-01", np.nan), {}, "not a number in 2021-02"),
    ("constant", _constant, {}, "constant"),
    ("duplicate month", _duplicate, {}, "2019-05 appears more than once"),
    ("mid month", _mid_month, {}, "not the first day of a month"),
    ("no outcome", _no_counts, {}, "no outcome columns"),
    ("seasonality", _same, {"seasonality": "weekly"}, "seasonality 'weekly'"),
    ("cov_type", _same, {"cov_type": "hc3"}, "cov_type"),
    ("level", _same, {"level": 95}, "level must be between 0 and 1"),
    ("post months", _same, {"post_months": 0}, "post_months"),
    ("few post", _same, {"start": "2023-05-01"}, "only 2 months from the start"),
    ("break after start", _same, {"breaks": ["2022-01-01"]}, "not before the start"),
    ("break too close", _same, {"breaks": ["2021-05-01"]}, "only 2 months between"),
    ("bad start", _same, {"start": "2022-13-01"}, "not a date"),
]


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_a_workbench_error(change, kwargs, message: str) -> None:
    kwargs = {"start": START, **kwargs}
    with pytest.raises(WorkbenchError, match=message):
        fit_its(change(_counts()), **kwargs)


def test_too_many_terms_for_the_window() -> None:
    # 12 + 3 months cannot carry 16 terms (trend, post terms, Tết days and 11 month dummies).
    series = _simulate_counts(0, n_pre=12, n_post=3)
    with pytest.raises(WorkbenchError, match="16 terms but the window has only 15 months"):
        fit_its(series, "2020-01-01", seasonality="tet+month")


def test_not_a_table() -> None:
    with pytest.raises(WorkbenchError, match="must be a table"):
        fit_its([1, 2, 3], START)  # type: ignore[arg-type]


# --- binomial model ---------------------------------------------------------------------------


def _logit_counts(eta: np.ndarray, first: str = "2019-01-01", n: float = 1000.0) -> pd.DataFrame:
    """Exact fractional counts n·expit(η): the binomial GLM fits them without error."""
    months = pd.date_range(first, periods=len(eta), freq="MS")
    return pd.DataFrame({"month": months, "numerator": n * expit(eta), "denominator": n})


def test_binomial_level_change_on_paper() -> None:
    # Log-odds 0 (50 %) for 24 months, then + ln 3: odds 3, a rate of 75 %, for 4 months.
    # Effect 75 − 50 = 25 pp every post month, so 25 pp on average and in the first month;
    # the effect does not change, so the slope change is 0 pp a month.
    k = np.arange(28) - 24
    series = _logit_counts(np.where(k >= 0, np.log(3), 0.0))
    result = fit_its(series, "2021-01-01", model="binomial", seasonality="none", post_months=None)
    assert result.unit == "pp"
    assert result.estimate == pytest.approx(25.0, abs=EXACT)
    d = result.diagnostics
    assert d["model"] == "binomial"
    assert d["level_change"] == pytest.approx(25.0, abs=EXACT)
    assert d["slope_change"] == pytest.approx(0.0, abs=EXACT)
    assert d["level_change_logit"] == pytest.approx(np.log(3), abs=EXACT)
    assert d["pre_slope"] == pytest.approx(0.0, abs=EXACT)
    post = result.by_period[result.by_period["post"]]
    np.testing.assert_allclose(post["counterfactual"], 50.0, atol=EXACT)
    np.testing.assert_allclose(post["fitted"], 75.0, atol=EXACT)
    np.testing.assert_allclose(post["effect"], 25.0, atol=EXACT)
    assert result.method_label["en"].startswith("Interrupted time series (logistic")


def test_binomial_slope_change_on_paper() -> None:
    # Log-odds 0 before; from the start + ln 3 a month: k = 0, 1, 2 give odds 1, 3, 9, rates
    # 50, 75, 90 %, effects 0, 25, 40 pp. Average (0 + 25 + 40) / 3 = 21.67 pp; the effect in
    # the first month is 0; it changes by (40 − 0) / 2 = 20 pp a month over the window.
    k = np.arange(27) - 24
    series = _logit_counts(np.where(k >= 0, np.log(3) * k, 0.0))
    result = fit_its(series, "2021-01-01", model="binomial", seasonality="none", post_months=None)
    assert result.estimate == pytest.approx(65 / 3, abs=EXACT)
    d = result.diagnostics
    assert d["level_change"] == pytest.approx(0.0, abs=EXACT)
    assert d["slope_change"] == pytest.approx(20.0, abs=EXACT)
    assert d["slope_change_logit"] == pytest.approx(np.log(3), abs=EXACT)
    post = result.by_period[result.by_period["post"]]
    np.testing.assert_allclose(post["effect"], [0.0, 25.0, 40.0], atol=EXACT)
    assert np.isclose(post["effect"].mean(), result.estimate)


def _simulate_logit(
    seed: int,
    *,
    base: float,
    trend: float,
    shift: float,
    n_pre: int = 30,
    n_post: int = 24,
    sd: float = 0.08,
    phi: float = 0.4,
) -> tuple[pd.DataFrame, float]:
    """Counts around logit(base) + trend·t + shift·post with AR(1) logit noise; and the truth
    in pp, 100·mean over the post months of expit(η) − expit(η_cf) without noise."""
    rng = np.random.default_rng(seed)
    n = n_pre + n_post
    t = np.arange(n)
    noise = np.empty(n)
    noise[0] = rng.normal(0, sd)
    innovations = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + innovations[i]
    eta_cf = logit(base) + trend * t
    eta = eta_cf + shift * (t >= n_pre)
    denominator = rng.poisson(20_000, n)
    numerator = rng.binomial(denominator, expit(eta + noise))
    truth = 100 * float(np.mean(expit(eta[n_pre:]) - expit(eta_cf[n_pre:])))
    months = pd.date_range("2019-01-01", periods=n, freq="MS")
    series = pd.DataFrame({"month": months, "numerator": numerator, "denominator": denominator})
    return series, truth


@pytest.mark.simulation
@pytest.mark.parametrize(
    ("base", "trend", "shift"),
    [(0.95, 0.005, 0.3), (0.03, 0.01, 0.4)],
    ids=["near 95 %", "near 3 %"],
)
def test_binomial_coverage_near_the_bounds(base: float, trend: float, shift: float) -> None:
    began = time.perf_counter()
    covered, estimates = 0, []
    for seed in range(200):
        series, truth = _simulate_logit(seed, base=base, trend=trend, shift=shift)
        result = fit_its(series, START, model="binomial", placebo=False)
        covered += result.ci_low <= truth <= result.ci_high
        estimates.append(result.estimate - truth)
    elapsed = time.perf_counter() - began
    print(
        f"binomial coverage {covered / 200:.3f}, bias {np.mean(estimates):+.3f} in {elapsed:.1f} s"
    )
    assert COVERAGE[0] <= covered / 200 <= COVERAGE[1]
    # The truth is about 1.0 pp (near 95 %) and 2.1 pp (near 3 %): the mean error is small.
    assert abs(np.mean(estimates)) < 0.1


def test_binomial_bands_stay_inside_0_100_and_placebo_runs() -> None:
    series, truth = _simulate_logit(0, base=0.97, trend=0.01, shift=0.5)
    result = fit_its(series, START, model="binomial")
    bp = result.by_period
    assert (bp["counterfactual_high"] < 100).all() and (bp["counterfactual_low"] > 0).all()
    assert (bp["fitted"] < 100).all()
    assert result.ci_low < truth < result.ci_high
    assert result.diagnostics["placebo_start"] == pd.Timestamp("2020-07-01")
    assert np.isfinite(result.diagnostics["placebo_p_value"])
    assert result.diagnostics["dispersion"] > 1  # logit noise on 20,000 dossiers a month
    assert "logit" in result.assumptions["en"] and "logistic" in result.assumptions["en"]
    assert "log-odds" in result.assumptions["vi"]
    hac = fit_its(series, START, model="binomial", cov_type="hac", placebo=False)
    assert hac.se == pytest.approx(hac.diagnostics["se_hac"])
    json.dumps(result.to_dict())


def test_binomial_needs_counts() -> None:
    with pytest.raises(WorkbenchError, match="model='binomial' needs counts"):
        fit_its(_noise_free(), "2022-01-01", model="binomial")
    with pytest.raises(WorkbenchError, match="model 'probit' is not known"):
        fit_its(_counts(), START, model="probit")


def test_binomial_rate_at_zero_throughout_a_segment() -> None:
    # No online dossier at all before the start: the pre-period log-odds are −∞.
    series = _counts()
    series.loc[series["month"] < START, "numerator"] = 0
    with pytest.raises(WorkbenchError, match="0 % throughout a segment"):
        fit_its(series, START, model="binomial")


def _share_series(rate_pp: np.ndarray, seed: int = 7) -> pd.DataFrame:
    """Counts of a share (pp) on 20 000 dossiers a month, binomial noise only."""
    rng = np.random.default_rng(seed)
    den = np.full(len(rate_pp), 20_000)
    return pd.DataFrame(
        {
            "month": pd.date_range("2020-01-01", periods=len(rate_pp), freq="MS"),
            "numerator": rng.binomial(den, rate_pp / 100),
            "denominator": den,
        }
    )


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # 5 % rising 0,6 pp a month: a line in pp; in log-odds it bends (−2,94 to −0,85 over 36
        # months, slope falling from 0,12 to 0,03), so a log-odds line forecasts it too high.
        (5 + 0.6 * np.arange(60), "ols"),
        # log-odds −3 + 0,06 t: 4,7 % to 24,6 % over 36 months, accelerating in pp.
        (100 * expit(-3 + 0.06 * np.arange(60)), "binomial"),
    ],
    ids=["line-in-pp", "line-in-log-odds"],
)
def test_auto_model_follows_the_pre_period_shape(shape, expected) -> None:
    series = _share_series(shape)
    r = fit_its(series, "2023-01-01", placebo=False)
    choice = r.diagnostics["model_choice"]
    assert choice["chosen"] == expected == r.diagnostics["model"]
    other = "binomial" if expected == "ols" else "ols"
    assert choice[expected] < 0.75 * choice[other] or expected == "binomial"
    # No effect was injected: the chosen shape's interval holds 0, and the text says which.
    assert r.ci_low < 0 < r.ci_high
    assert "log-odds" in r.assumptions["en"] and "điểm %" in r.assumptions["vi"]
