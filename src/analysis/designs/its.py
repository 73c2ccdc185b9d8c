"""Interrupted time series (segmented regression) for one unit's monthly series.

Life cycle: :func:`fit_its` validates the input (``WorkbenchError`` for every user mistake),
builds the design matrix, fits OLS (or, with ``model="binomial"``, a logistic GLM on the
counts) with an autocorrelation-robust covariance (AR(1) by default, or Newey–West), contrasts
the coefficients into the average effect over the post window, runs a placebo-in-time on the
pre-period and summarises everything into an :class:`~analysis.designs.result.EffectResult`.

Model, on the rate in percentage points (100 × numerator / denominator) or on ``value``::

    y_t = b0 + b1·t + b2·post_t + b3·(t − t0)·post_t + γ·tet_days_t [+ month dummies]
          [+ Σ_j (d_j·after_j,t + e_j·(t − t_j)·after_j,t)] + e_t

with ``t`` months since the first month of the window, ``t0`` the first month of the measure
and ``t_j`` earlier known breaks (e.g. an earlier measure). The coefficients are OLS. The
estimand is the average over the post months of ``b2 + b3·(t − t0)``: a linear contrast of the
coefficients, with its standard error from their covariance.

Covariance (``cov_type``): by default the errors are taken to be AR(1), ρ estimated by REML on
the pre-measure months (a phased-in effect would otherwise read as ρ → 1) and σ² from the whole
fit (REML: the least biased estimator of ρ, and the preferred method for series longer than 12
points, in the simulation study of Turner et al. 2021, BMC Med Res Methodol,
doi:10.1186/s12874-021-01364-0), and intervals use the t distribution with Satterthwaite-type
degrees of freedom that allow for the uncertainty of ρ̂. ``cov_type="hac"`` gives
Newey–West (statsmodels ``cov_type="HAC"``) with t on n − k degrees of freedom; on 40–60
months of autocorrelated data its intervals are too narrow (about 78 % coverage for a nominal
95 % in tests/test_its.py's simulation), so it is kept for comparison (``se_hac``).

Binomial model (``model="binomial"``), for rates near 0 or 100 % where a straight line in
percentage points would run out of [0, 100]: the same regressors enter the log-odds of a
binomial GLM (logit link) on the counts (numerator, denominator − numerator)::

    logit p_t = b0 + b1·t + b2·post_t + b3·(t − t0)·post_t + γ·tet_days_t + …

Counts need not be whole numbers (fractional logit: the estimating equations are the same).
Monthly counts of 10⁴ dossiers vary far more than binomial sampling allows, and the extra
variation is autocorrelated, so the binomial variance alone would give intervals several times
too narrow. The coefficients are the GLM's; their covariance is the one of the OLS model applied
to the GLM's whitened working regression (√w·z on √w·X, w = n·p·(1 − p), whose residuals are
the Pearson residuals): with ``cov_type="ar1"`` the Pearson residuals are taken to be AR(1)
with their own scale, ρ by REML on the pre-period — a quasi-binomial model (scale = Pearson χ²
over n − k when ρ = 0) extended to serial correlation, with the same Satterthwaite-type
degrees of freedom as the OLS model; ``"hac"`` gives the Newey–West sandwich of the GLM score.
Quasi-binomial scale alone (no serial correlation) was not chosen: it is the ρ = 0 case of the
same formula, and the simulations in tests/test_its.py have AR(1) noise.

Effects are reported on the rate scale in percentage points: the counterfactual is the
prediction with the level and slope terms zeroed; the effect in month t is
100·(p̂_t − p̂_t^cf) (fitted, not observed, so that noise is not counted as effect); the
average effect is their mean over the post months. Standard errors by the delta method
(gradient 100·[p(1 − p)·x_t − p^cf(1 − p^cf)·x_t^cf] averaged): deterministic and, at the
0.01–0.1 logit standard errors of province series, indistinguishable from parametric simulation
(the curvature of the logistic over ±2 SE is negligible). Counterfactual bands are computed on
the logit scale and transformed, so they stay inside 0–100 %. ``level_change`` is then the
effect in the first post month and ``slope_change`` the mean monthly change of the effect over
the post window (pp per month); the logit coefficients are reported as ``*_logit``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, special, stats
from statsmodels.stats.stattools import durbin_watson
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from analysis.calendar import tet_days
from analysis.designs.narrative import its_assumptions
from analysis.designs.result import (
    EffectResult,
    Window,
    format_number,
)
from analysis.errors import WorkbenchError
from analysis.panel import RATES

SEASONALITY = ("tet", "tet+month", "none")
# "ar1": OLS coefficients, covariance under AR(1) errors with ρ by REML (the default: Newey–West
# with the rule-of-thumb lags under-covers on 40–60 months, see tests/test_its.py);
# "hac": Newey–West, statsmodels cov_type="HAC" with the small-sample correction.
COV_TYPES = ("ar1", "hac")
# "ols": segmented regression on the rate in pp (or on value); "binomial": logit GLM on counts;
# "auto" (the default): on counts, binomial unless the pp line forecast 12-month spans of the
# pre-period clearly better (choose_model), else ols. Neither shape fits every province: on an S-curve a
# line in pp biased the no-effect estimate by +0.6 to +1.1 pp (benchmarks/sim_designs.py),
# on a share rising linearly in pp a line in log-odds overshoots the counterfactual.
MODELS = ("auto", "ols", "binomial")
# A fitted share closer than this to 0 or 1 means a segment sits at 0 % or 100 % throughout
# (perfect separation): its log-odds run off to infinity.
SEPARATION = 1e-9
AR1_BOUND = 0.98
RHO_STEP = 1e-4  # step for numerical derivatives in ρ
# Fewest degrees of freedom given to an interval (t with 2 df: × 4.3 the standard error at 95 %).
MIN_DF = 2
EXACT_FIT = 1e-20
METHOD_LABEL = {
    "vi": "Chuỗi thời gian ngắt quãng (hồi quy phân đoạn)",
    "en": "Interrupted time series (segmented regression)",
}
METHOD_LABEL_BINOMIAL = {
    "vi": "Chuỗi thời gian ngắt quãng (hồi quy logistic trên số hồ sơ)",
    "en": "Interrupted time series (logistic regression on counts)",
}
# Each segment of the pre-period (between the window start, known breaks and the start) needs a
# few months for its own level and slope to be estimated at all.
MIN_SEGMENT = 3
MIN_POST = 3
# Placebo-in-time: a fake start this many months before the real one when the pre-period is at
# least twice as long, else halfway through the pre-period.
PLACEBO_OFFSET = 12
PLACEBO_MIN_PRE = 6

LEVEL, SLOPE = "level_change", "slope_change"


# --- validate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    """A validated window of the series: months (consecutive), outcome y, position of the start."""

    months: pd.DatetimeIndex
    y: np.ndarray
    start: pd.Timestamp
    n_pre: int
    is_rate: bool
    post_truncated: bool
    numerator: np.ndarray | None = None
    denominator: np.ndarray | None = None


def _month(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise WorkbenchError(
            f"{what} {value!r} is not a date", "give a date such as '2022-07-01'"
        ) from exc
    if pd.isna(ts):
        raise WorkbenchError(f"{what} is missing", "give a date such as '2022-07-01'")
    # The month holding the date is the first month counted as treated.
    return ts.to_period("M").to_timestamp()


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """Whole months from ``a`` to ``b`` (both first of month)."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def _outcome_columns(series: pd.DataFrame, outcome: str) -> tuple[str, str] | str:
    columns = set(series.columns)
    if {"numerator", "denominator"} <= columns:
        return "numerator", "denominator"
    if outcome in RATES and set(RATES[outcome]) <= columns:
        return RATES[outcome]
    if "value" in columns:
        return "value"
    counts = f" or {RATES[outcome][0]}, {RATES[outcome][1]}" if outcome in RATES else ""
    raise WorkbenchError(
        f"the series has no outcome columns (it has: {', '.join(map(str, series.columns))})",
        f"give columns month and numerator, denominator{counts} for a rate, or month and value",
    )


def _numeric(series: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(series[column], errors="coerce")
    bad = values.isna()
    if bad.any():
        month = series["month"][bad].iloc[0]
        raise WorkbenchError(
            f"column {column} is missing or not a number in {month:%Y-%m} "
            f"(value {series[column][bad].iloc[0]!r})",
            "fill the month or shorten the window with pre_months/post_months",
        )
    return values.to_numpy(dtype=float)


def _validate_options(
    seasonality: str,
    post_months: int | None,
    pre_months: int | None,
    hac_lags: int | None,
    min_pre: int,
    level: float,
    cov_type: str,
    model: str = "ols",
) -> None:
    if model not in MODELS:
        raise WorkbenchError(f"model {model!r} is not known", f"use one of {', '.join(MODELS)}")
    if cov_type not in COV_TYPES:
        raise WorkbenchError(
            f"cov_type {cov_type!r} is not known", f"use one of {', '.join(COV_TYPES)}"
        )
    if seasonality not in SEASONALITY:
        raise WorkbenchError(
            f"seasonality {seasonality!r} is not known", f"use one of {', '.join(SEASONALITY)}"
        )
    for name, value in (("post_months", post_months), ("pre_months", pre_months)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise WorkbenchError(
                f"{name} must be a whole number of months ≥ 1, got {value!r}",
                "or None to use all months",
            )
    if hac_lags is not None and (not isinstance(hac_lags, (int, np.integer)) or hac_lags < 0):
        raise WorkbenchError(
            f"hac_lags must be a whole number ≥ 0, got {hac_lags!r}", "or None for the default"
        )
    if not isinstance(min_pre, (int, np.integer)) or min_pre < 2:
        raise WorkbenchError(f"min_pre must be a whole number ≥ 2, got {min_pre!r}")
    if not 0 < level < 1:
        raise WorkbenchError(f"level must be between 0 and 1, got {level!r}", "e.g. 0.95")


def _validate_series(
    series: pd.DataFrame,
    start: Any,
    outcome: str,
    pre_months: int | None,
    post_months: int | None,
    min_pre: int,
) -> _Series:
    if not isinstance(series, pd.DataFrame):
        raise WorkbenchError(
            f"series must be a table (DataFrame), got {type(series).__name__}",
            "give columns month and numerator, denominator (or value)",
        )
    if "month" not in series.columns:
        raise WorkbenchError(
            "the series has no column month",
            "add a month column holding the first day of each month",
        )
    columns = _outcome_columns(series, outcome)
    data = series.copy()
    try:
        data["month"] = pd.to_datetime(data["month"])
    except (TypeError, ValueError) as exc:
        raise WorkbenchError(
            "column month holds values that are not dates", "use dates such as 2022-07-01"
        ) from exc
    if data["month"].isna().any():
        row = int(np.flatnonzero(data["month"].isna().to_numpy())[0])
        raise WorkbenchError(f"column month is empty in row {row + 1}", "give every row a month")
    not_first = data["month"] != data["month"].dt.to_period("M").dt.to_timestamp()
    if not_first.any():
        raise WorkbenchError(
            f"month {data['month'][not_first].iloc[0]:%Y-%m-%d} is not the first day of a month",
            "store each month as its first day (e.g. .dt.to_period('M').dt.to_timestamp())",
        )
    duplicated = data["month"].duplicated()
    if duplicated.any():
        raise WorkbenchError(
            f"month {data['month'][duplicated].iloc[0]:%Y-%m} appears more than once",
            "give one row per month (aggregate levels or units first)",
        )
    data = data.sort_values("month", ignore_index=True)
    first, last = data["month"].iloc[0], data["month"].iloc[-1]

    start_month = _month(start, "start")
    if start_month <= first:
        raise WorkbenchError(
            f"start {start_month:%Y-%m} is not after the first month of the series "
            f"({first:%Y-%m}): there is no pre-period",
            "check the start date or give earlier months",
        )
    if start_month > last:
        raise WorkbenchError(
            f"start {start_month:%Y-%m} is after the last month of the series ({last:%Y-%m}): "
            "there is no post-period",
            "check the start date or give later months",
        )

    pre_start = first
    if pre_months is not None:
        pre_start = max(first, start_month - pd.DateOffset(months=int(pre_months)))
    post_end = last
    post_truncated = False
    if post_months is not None:
        wanted_end = start_month + pd.DateOffset(months=int(post_months) - 1)
        post_truncated = wanted_end > last
        post_end = min(last, wanted_end)
    expected = pd.date_range(pre_start, post_end, freq="MS")
    data = data[(data["month"] >= pre_start) & (data["month"] <= post_end)]
    missing = expected.difference(pd.DatetimeIndex(data["month"]))
    if len(missing):
        raise WorkbenchError(
            f"the series has no row for {missing[0]:%Y-%m}"
            + (f" (and {len(missing) - 1} more months)" if len(missing) > 1 else ""),
            "fill the missing months, or shorten the window with pre_months/post_months",
        )

    n_pre = _months_between(pre_start, start_month)
    if n_pre < min_pre:
        raise WorkbenchError(
            f"only {n_pre} months before the start {start_month:%Y-%m} "
            f"({pre_start:%Y-%m} to {start_month - pd.DateOffset(months=1):%Y-%m}); "
            f"the interrupted time series needs at least {min_pre}",
            "give earlier months, or use a design with comparison provinces",
        )
    n_post = _months_between(start_month, post_end) + 1
    if n_post < MIN_POST:
        raise WorkbenchError(
            f"only {n_post} months from the start {start_month:%Y-%m}; "
            f"need at least {MIN_POST} after it",
            "wait for more data or move the start",
        )

    if isinstance(columns, tuple):
        num_col, den_col = columns
        numerator = _numeric(data, num_col)
        denominator = _numeric(data, den_col)
        months = data["month"]
        bad = denominator <= 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WorkbenchError(
                f"{den_col} is {denominator[i]:g} in {months.iloc[i]:%Y-%m}: a rate needs a "
                "positive denominator",
                "drop or fill the month, or shorten the window",
            )
        bad = numerator < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WorkbenchError(
                f"{num_col} is negative ({numerator[i]:g}) in {months.iloc[i]:%Y-%m}",
                "counts cannot be negative; check the data",
            )
        bad = numerator > denominator
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WorkbenchError(
                f"{num_col} ({numerator[i]:g}) exceeds {den_col} ({denominator[i]:g}) "
                f"in {months.iloc[i]:%Y-%m}",
                "the numerator must be a part of the denominator; check the columns",
            )
        y = 100.0 * numerator / denominator
        counts = {"numerator": numerator, "denominator": denominator}
    else:
        counts = {}
        y = _numeric(data, columns)
        if not np.isfinite(y).all():
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise WorkbenchError(f"value is not finite in {data['month'].iloc[i]:%Y-%m}")
    if np.ptp(y) == 0:
        raise WorkbenchError(
            f"the outcome is constant ({y[0]:g}) over the window "
            f"{pre_start:%Y-%m} to {post_end:%Y-%m}: there is nothing to explain",
            "check the columns, or choose another outcome",
        )
    return _Series(
        months=pd.DatetimeIndex(data["month"]),
        y=y,
        start=start_month,
        n_pre=n_pre,
        is_rate=isinstance(columns, tuple),
        post_truncated=post_truncated,
        **counts,
    )


def _validate_breaks(
    breaks: Sequence[Any] | None, months: pd.DatetimeIndex, start: pd.Timestamp
) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """Known earlier breaks inside the pre-period: (used, ignored because before the window)."""
    used: list[pd.Timestamp] = []
    ignored: list[pd.Timestamp] = []
    for value in breaks or []:
        month = _month(value, "break")
        if month >= start:
            raise WorkbenchError(
                f"break {month:%Y-%m} is not before the start {start:%Y-%m}",
                "breaks are earlier known changes (e.g. an earlier measure); drop it",
            )
        (ignored if month <= months[0] else used).append(month)
    used = sorted(set(used))
    edges = [months[0], *used, start]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if _months_between(a, b) < MIN_SEGMENT:
            raise WorkbenchError(
                f"only {_months_between(a, b)} months between {a:%Y-%m} and {b:%Y-%m}: each "
                f"segment around a break needs at least {MIN_SEGMENT}",
                "drop the break or widen the window (pre_months)",
            )
    return used, sorted(set(ignored))


# --- fit --------------------------------------------------------------------------------------


def default_hac_lags(n: int) -> int:
    """Newey–West rule of thumb floor(4·(n/100)^(2/9)), at least 3."""
    return max(3, math.floor(4 * (n / 100) ** (2 / 9)))


def design_matrix(
    months: pd.DatetimeIndex,
    start: pd.Timestamp,
    breaks: Sequence[pd.Timestamp] = (),
    seasonality: str = "tet",
) -> pd.DataFrame:
    """Regressors of the segmented model, one row per month of ``months``.

    Columns: ``intercept``, ``trend`` (months since the first month), for each break
    ``break_YYYY-MM_level``/``_slope``, ``tet_days``, ``month_02``..``month_12`` (January is the
    reference), then ``level_change`` (1 from ``start``) and ``slope_change`` (months since
    ``start``, 0 before). Columns that are zero throughout are dropped.
    """
    t = np.arange(len(months), dtype=float)
    columns: dict[str, np.ndarray] = {"intercept": np.ones(len(months)), "trend": t}
    for month in breaks:
        after = (months >= month).astype(float)
        tb = float(_months_between(months[0], month))
        columns[f"break_{month:%Y-%m}_level"] = after
        columns[f"break_{month:%Y-%m}_slope"] = (t - tb) * after
    if seasonality in ("tet", "tet+month"):
        columns["tet_days"] = tet_days(months).to_numpy(dtype=float)
    if seasonality == "tet+month":
        for m in range(2, 13):
            columns[f"month_{m:02d}"] = (months.month == m).astype(float)
    post = (months >= start).astype(float)
    t0 = float(_months_between(months[0], start))
    columns[LEVEL] = post
    columns[SLOPE] = (t - t0) * post
    frame = pd.DataFrame(columns, index=months)
    keep = [c for c in frame.columns if c in (LEVEL, SLOPE) or frame[c].abs().sum() > 0]
    return frame[keep]


@dataclass(frozen=True)
class _Fit:
    """OLS coefficients with the covariance used for inference.

    ``cov_slope`` is d(cov)/dρ and ``rho_var`` the variance of ρ̂ (AR(1) covariance only):
    together they give each contrast its own degrees of freedom (:func:`_satterthwaite_df`).
    ``cov_hac`` is the Newey–West covariance, always kept for comparison.
    """

    params: pd.Series
    cov: pd.DataFrame
    cov_hac: pd.DataFrame
    df: float
    resid: np.ndarray
    fitted: np.ndarray
    r_squared: float
    lags: int
    cov_type: str
    rho: float = math.nan
    rho_var: float = math.nan
    cov_slope: np.ndarray | None = None


def _prais_winsten(a: np.ndarray, rho: float) -> np.ndarray:
    """Whiten AR(1) errors: first row sqrt(1 − ρ²)·a_1, then a_t − ρ·a_{t−1}."""
    out = np.array(a, dtype=float, copy=True)
    out[1:] = a[1:] - rho * a[:-1]
    out[0] = np.sqrt(1 - rho**2) * a[0]
    return out


def _innovation_var(y: np.ndarray, x: np.ndarray, rho: float) -> tuple[float, float]:
    """Profile REML innovation variance at ρ, and log|X*'X*| of the whitened regressors."""
    n, k = x.shape
    ys, xs = _prais_winsten(y, rho), _prais_winsten(x, rho)
    b, *_ = np.linalg.lstsq(xs, ys, rcond=None)
    return float(np.sum((ys - xs @ b) ** 2)) / (n - k), float(np.linalg.slogdet(xs.T @ xs)[1])


def _reml_objective(rho: float, y: np.ndarray, x: np.ndarray) -> float:
    n, k = x.shape
    variance, logdet = _innovation_var(y, x, rho)
    return 0.5 * ((n - k) * np.log(variance) - np.log(1 - rho**2) + logdet)


def ar1_rho_reml(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """AR(1) coefficient of the errors of ``y = x b + e`` by restricted maximum likelihood.

    With σ² profiled out the restricted log-likelihood is, up to constants,
    −½[(n − k)·log σ̂²(ρ) − log(1 − ρ²) + log|X*'X*|], X* the Prais–Winsten whitened
    regressors. Unlike the lag-1 autocorrelation of OLS residuals, REML allows for the k
    fitted terms, which bias that towards zero.

    Returns
    -------
    (rho, rho_var)
        The estimate and its variance from the curvature of the profile (inf when flat or
        at the bound).
    """
    found = optimize.minimize_scalar(
        _reml_objective, bounds=(-AR1_BOUND, AR1_BOUND), method="bounded", args=(y, x)
    )
    rho = float(found.x)
    h = RHO_STEP
    if abs(rho) + h >= AR1_BOUND:
        return rho, math.inf
    curvature = (
        _reml_objective(rho + h, y, x)
        - 2 * _reml_objective(rho, y, x)
        + _reml_objective(rho - h, y, x)
    ) / h**2
    return rho, (1 / curvature if curvature > 0 else math.inf)


def _ar1_ols_cov(y: np.ndarray, x: np.ndarray, rho: float) -> np.ndarray:
    """Sandwich covariance of the OLS coefficients when errors are AR(1) with this ρ."""
    n = len(y)
    variance, _ = _innovation_var(y, x, rho)
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    omega = variance / (1 - rho**2) * rho**lag
    bread = np.linalg.inv(x.T @ x)
    return bread @ x.T @ omega @ x @ bread


def _rho_sample(y: np.ndarray, design: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The months and regressors ρ is estimated from: the pre-period, without effect terms.

    A measure that phases in over a few months leaves residuals around its start that a level
    and slope change cannot fit; REML on the whole series reads them as near unit-root
    autocorrelation (ρ → 1, seen on the synthetic Thái Nguyên series) and the interval explodes.
    The pre-period is where the model has to be right anyway. Falls back to the whole series
    when the pre-period is too short to estimate its own terms.
    """
    if "level_change" not in design:
        return y, design.to_numpy()
    pre = design["level_change"].to_numpy() == 0
    x = design.loc[pre, [c for c in design.columns if c not in ("level_change", "slope_change")]]
    x = x.loc[:, (x != 0).any()]
    if pre.sum() < x.shape[1] + 6 or np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        return y, design.to_numpy()
    return y[pre], x.to_numpy()


def _ols(y: np.ndarray, design: pd.DataFrame, cov_type: str, lags: int) -> _Fit:
    names = design.columns
    x = design.to_numpy()
    res = sm.OLS(y, x).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
    )
    cov_hac = np.asarray(res.cov_params())
    resid = np.asarray(res.resid)
    extra: dict[str, Any] = {}
    if cov_type == "hac":
        cov = cov_hac
    elif np.sum(resid**2) <= EXACT_FIT * np.sum((y - y.mean()) ** 2):
        cov = np.zeros_like(cov_hac)  # an exact fit: nothing left to estimate the errors from
    else:
        rho, rho_var = ar1_rho_reml(*_rho_sample(y, design))
        cov = _ar1_ols_cov(y, x, rho)
        slope = None
        if math.isfinite(rho_var):
            slope = (_ar1_ols_cov(y, x, rho + RHO_STEP) - _ar1_ols_cov(y, x, rho - RHO_STEP)) / (
                2 * RHO_STEP
            )
        extra = {"rho": rho, "rho_var": rho_var, "cov_slope": slope}
    return _Fit(
        params=pd.Series(np.asarray(res.params), index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        cov_hac=pd.DataFrame(cov_hac, index=names, columns=names),
        df=float(res.df_resid),
        resid=resid,
        fitted=np.asarray(res.fittedvalues),
        r_squared=float(res.rsquared),
        lags=lags,
        cov_type=cov_type,
        **extra,
    )


def _satterthwaite_df(fit: _Fit, matrix: np.ndarray) -> np.ndarray:
    """Degrees of freedom of the variance of each row contrast of ``matrix``.

    A variance estimated with ν degrees of freedom has Var(log s²) ≈ 2/ν. Under AR(1) errors
    s²(ρ̂, σ̂²) varies through σ̂² (≈ 2/(n − k)) and through ρ̂ (delta method:
    (d log s²/dρ)²·Var(ρ̂)); ν = 2 / Var(log s²), between MIN_DF and n − k. Newey–West and
    exact fits keep n − k.
    """
    rows = np.atleast_2d(matrix)
    if fit.cov_type == "hac" or math.isnan(fit.rho):
        return np.full(len(rows), fit.df)
    if fit.cov_slope is None:  # ρ̂ at the bound: its uncertainty is unbounded
        return np.full(len(rows), float(MIN_DF))
    var = np.einsum("ij,jk,ik->i", rows, fit.cov.to_numpy(), rows)
    slope = np.einsum("ij,jk,ik->i", rows, fit.cov_slope, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_var = (slope / var) ** 2 * fit.rho_var + 2 / fit.df
        df = np.where(var > 0, 2 / log_var, fit.df)
    return np.clip(df, MIN_DF, fit.df)


def _estimable(design: pd.DataFrame) -> bool:
    return (
        design.shape[0] > design.shape[1]
        and np.linalg.matrix_rank(design.to_numpy()) == design.shape[1]
    )


@dataclass(frozen=True)
class Contrast:
    """A linear contrast c'b: estimate, standard error, degrees of freedom, t interval, p."""

    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float


def contrast(fit: _Fit, weights: pd.Series, level: float) -> Contrast:
    """Estimate of ``weights · params`` with its standard error, t interval and p-value."""
    c = weights.reindex(fit.params.index, fill_value=0.0).to_numpy(dtype=float)
    return _gradient_contrast(fit, float(c @ fit.params.to_numpy()), c, level)


def _gradient_contrast(fit: _Fit, estimate: float, c: np.ndarray, level: float) -> Contrast:
    """A (possibly non-linear) function of the parameters with gradient ``c``: delta method."""
    se = float(np.sqrt(max(c @ fit.cov.to_numpy() @ c, 0.0)))
    df = float(_satterthwaite_df(fit, c)[0])
    q = float(stats.t.ppf(0.5 + level / 2, df))
    # An exact fit leaves no sampling uncertainty: any non-zero estimate is certain.
    p = float(2 * stats.t.sf(abs(estimate) / se, df)) if se > 0 else float(estimate == 0)
    return Contrast(estimate, se, df, estimate - q * se, estimate + q * se, p)


def _row_intervals(
    matrix: np.ndarray, fit: _Fit, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise ``matrix @ b`` with t intervals from sqrt(diag(M V M')) (parameter uncertainty)."""
    values = matrix @ fit.params.to_numpy()
    var = np.einsum("ij,jk,ik->i", matrix, fit.cov.to_numpy(), matrix)
    half = stats.t.ppf(0.5 + level / 2, _satterthwaite_df(fit, matrix)) * np.sqrt(
        np.clip(var, 0.0, None)
    )
    return values, values - half, values + half


def _expit(eta: np.ndarray) -> np.ndarray:
    return special.expit(eta)


def pp_difference(
    fit: _Fit, rows_a: np.ndarray, rows_b: np.ndarray, weights: np.ndarray, level: float
) -> Contrast:
    """Weighted sum of 100·(expit(a_t·b) − expit(b_t·b)) over rows, by the delta method.

    With ``rows_a`` the design of the post months and ``rows_b`` the same rows with the level
    and slope terms zeroed, and weights 1/n_post, this is the average effect in percentage points
    of the binomial model. The gradient of each term is 100·[p(1 − p)·a_t − q(1 − q)·b_t].
    """
    b = fit.params.to_numpy()
    pa, pb = _expit(np.atleast_2d(rows_a) @ b), _expit(np.atleast_2d(rows_b) @ b)
    w = np.asarray(weights, dtype=float)
    estimate = float(100 * w @ (pa - pb))
    gradient = 100 * ((w * pa * (1 - pa)) @ np.atleast_2d(rows_a)) - 100 * (
        (w * pb * (1 - pb)) @ np.atleast_2d(rows_b)
    )
    return _gradient_contrast(fit, estimate, gradient, level)


def _counterfactual_design(design: pd.DataFrame) -> pd.DataFrame:
    out = design.copy()
    out[[LEVEL, SLOPE]] = 0.0
    return out


def _pp_average_effect(design: pd.DataFrame, fit: _Fit, level: float) -> Contrast:
    """Mean over the post months of the binomial model's effect, in percentage points."""
    post = design[LEVEL].to_numpy() > 0
    rows = design.to_numpy()[post]
    rows_cf = _counterfactual_design(design).to_numpy()[post]
    return pp_difference(fit, rows, rows_cf, np.full(post.sum(), 1 / post.sum()), level)


def average_effect_weights(design: pd.DataFrame) -> pd.Series:
    """Weights of the average post-window effect: mean over post months of b2 + b3·(t − t0)."""
    post = design[LEVEL].to_numpy() > 0
    return pd.Series({LEVEL: 1.0, SLOPE: float(design[SLOPE].to_numpy()[post].mean())})


def _fit_segmented(
    y: np.ndarray,
    months: pd.DatetimeIndex,
    start: pd.Timestamp,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
) -> tuple[pd.DataFrame, _Fit] | None:
    """Fit the model, or None when it cannot be estimated (too few months for its terms)."""
    design = design_matrix(months, start, breaks, seasonality)
    if not _estimable(design):
        return None
    lags = default_hac_lags(len(y)) if hac_lags is None else int(hac_lags)
    return design, _ols(y, design, cov_type, lags)


def _fit_binomial(
    numerator: np.ndarray,
    denominator: np.ndarray,
    months: pd.DatetimeIndex,
    start: pd.Timestamp,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
) -> tuple[pd.DataFrame, _Fit] | None:
    """Binomial GLM (logit link) on the counts, with the covariance of the OLS model applied to
    the whitened working regression (see the module docstring); None when not estimable.

    The returned fit's ``params`` are on the logit scale, ``fitted`` is the fitted rate in pp
    and ``resid`` the Pearson residuals.

    Raises
    ------
    WorkbenchError
        When a segment's rate is 0 % or 100 % throughout (perfect separation), or the fit does
        not converge.
    """
    design = design_matrix(months, start, breaks, seasonality)
    if not _estimable(design):
        return None
    x = design.to_numpy()
    endog = np.column_stack([numerator, denominator - numerator])
    with warnings.catch_warnings():
        # Exact fits (hand-made data) trip statsmodels' perfect-prediction check; genuine
        # separation is detected below from the fitted shares.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        res = sm.GLM(endog, x, family=sm.families.Binomial()).fit(tol=1e-10, maxiter=200)
    params = np.asarray(res.params, dtype=float)
    p = _expit(x @ params)
    if not res.converged or not np.isfinite(params).all():
        raise WorkbenchError(
            f"the binomial model did not converge on {months[0]:%Y-%m} to {months[-1]:%Y-%m}",
            "use model='ols', or check the counts for outliers",
        )
    if (p < SEPARATION).any() or (p > 1 - SEPARATION).any():
        i = int(np.flatnonzero((p < SEPARATION) | (p > 1 - SEPARATION))[0])
        raise WorkbenchError(
            f"the rate is {'0' if p[i] < 0.5 else '100'} % throughout a segment of the window "
            f"(e.g. {months[i]:%Y-%m}): the binomial model's log-odds are infinite there",
            "use model='ols', or a window where the rate moves",
        )
    # IRLS at convergence is weighted least squares of the working response z on X with
    # weights w = n·p·(1 − p); whitened by √w its residuals are the Pearson residuals.
    w = denominator * p * (1 - p)
    root = np.sqrt(w)
    z = x @ params + (numerator - denominator * p) / w
    whitened = pd.DataFrame(x * root[:, None], index=design.index, columns=design.columns)
    lags = default_hac_lags(len(months)) if hac_lags is None else int(hac_lags)
    with np.errstate(invalid="ignore", divide="ignore"):  # R² of a flat working response
        working = _ols(z * root, whitened, cov_type, lags)
    observed = 100 * numerator / denominator
    fitted = 100 * p
    total = float(np.sum((observed - observed.mean()) ** 2))
    fit = replace(
        working,
        params=pd.Series(params, index=design.columns),
        fitted=fitted,
        resid=(numerator - denominator * p) / root,
        r_squared=1 - float(np.sum((observed - fitted) ** 2)) / total if total > 0 else 1.0,
    )
    return design, fit


def _average_effect(
    model: str,
    data: _Series,
    n: int,
    start: pd.Timestamp,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
    level: float,
) -> Contrast | None:
    """Fit ``model`` on the first ``n`` months with this start; the average post effect."""
    months = data.months[:n]
    if model == "binomial":
        fitted = _fit_binomial(
            data.numerator[:n],
            data.denominator[:n],
            months,
            start,
            breaks,
            seasonality,
            hac_lags,
            cov_type,
        )
        if fitted is None:
            return None
        return _pp_average_effect(*fitted, level)
    fitted = _fit_segmented(data.y[:n], months, start, breaks, seasonality, hac_lags, cov_type)
    if fitted is None:
        return None
    design, fit = fitted
    return contrast(fit, average_effect_weights(design), level)


def _pseudo_effect(
    model: str,
    data: _Series,
    n: int,
    start: pd.Timestamp,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
    level: float,
) -> tuple[Contrast | None, str]:
    """:func:`_average_effect` on the first ``n`` months, falling back to simpler seasonality
    (a short window may not carry month dummies); ``(None, "")`` when none can be fitted."""
    ladder = {"tet+month": ["tet+month", "tet", "none"], "tet": ["tet", "none"]}.get(
        seasonality, ["none"]
    )
    for season in ladder:
        try:
            effect = _average_effect(
                model, data, n, start, breaks, season, hac_lags, cov_type, level
            )
        except WorkbenchError:  # a binomial segment at 0 % or 100 % throughout
            effect = None
        if effect is not None:
            return effect, season
    return None, ""


def _placebo(
    data: _Series,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
    level: float,
    model: str = "ols",
) -> dict[str, Any]:
    """Refit on the pre-period only, with a fake start, and test for an effect there."""
    months = data.months[: data.n_pre]
    offsets = []
    if data.n_pre >= 2 * PLACEBO_OFFSET:
        offsets.append(data.n_pre - PLACEBO_OFFSET)
    offsets.append(data.n_pre // 2)
    for position in offsets:
        if position < PLACEBO_MIN_PRE or data.n_pre - position < MIN_POST:
            continue
        fake = months[position]
        if fake in breaks:  # a known break cannot double as the placebo start
            continue
        effect, season = _pseudo_effect(
            model, data, data.n_pre, fake, breaks, seasonality, hac_lags, cov_type, level
        )
        if effect is not None:
            return {
                "placebo_start": fake,
                "placebo_estimate": effect.estimate,
                "placebo_se": effect.se,
                "placebo_df": effect.df,
                "placebo_ci_low": effect.ci_low,
                "placebo_ci_high": effect.ci_high,
                "placebo_p_value": effect.p_value,
                "placebo_n_pre": position,
                "placebo_n_post": data.n_pre - position,
                "placebo_seasonality": season,
            }
    return {"placebo_estimate": math.nan, "placebo_p_value": math.nan}


# --- summarise --------------------------------------------------------------------------------


def choose_model(
    data: _Series,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
    level: float,
) -> tuple[str, dict[str, float]]:
    """The counterfactual's shape for ``model="auto"``, from how each forecast the pre-period.

    Both a straight line in pp ("ols") and a straight line in log-odds ("binomial") forecast
    12 pre-period months from the months before them, from several origins
    (:data:`FORECAST_ORIGINS`). The binomial model is used unless the line in pp's root mean
    square error is below :data:`OLS_MARGIN` times the binomial's. A share rising linearly in pp (the embedded
    synthetic panel: a log-odds line overshot it and turned Thái Nguyên's +7,7 pp into
    −3,4) and one on an S-curve (benchmarks/sim_designs.py: a pp line was biased +0,6 to
    +1,1 pp) each get their own shape. Only pre-period months are used, so the choice does
    not look at the effect.

    Returns
    -------
    (str, dict)
        The model chosen, and each model's root mean square forecast error in pp (NaN where
        it could not be fitted). Binomial when neither could (a short pre-period).
    """
    errors = {
        m: _forecast_error(m, data, breaks, seasonality, hac_lags, cov_type, level)
        for m in MODELS[1:]
    }
    ols, binomial = errors["ols"], errors["binomial"]
    # The binomial model unless the line in pp forecast clearly better: where the two are
    # close, the binomial's dispersion-aware interval held its coverage and the pp line's did
    # not (benchmarks/sim_designs.py).
    clearly = math.isfinite(ols) and not binomial * OLS_MARGIN <= ols
    chosen = "ols" if clearly else "binomial"
    return chosen, errors


# Forecast origins for choose_model: the last 12 pre-period months forecast from the months
# before them, then from origins 6, 12 and 18 months earlier (one 12-month forecast is too
# noisy to tell the two shapes apart: the choice then cost 0.05 of coverage in the simulation).
FORECAST_HORIZON = 12
FORECAST_ORIGINS = (0, 6, 12, 18)
FORECAST_MIN_FIT = 12  # months a forecast is fitted on, at least
OLS_MARGIN = 0.75  # the pp line is chosen when its forecast error is below 0.75 × the binomial's


def _forecast_error(
    model: str,
    data: _Series,
    breaks: Sequence[pd.Timestamp],
    seasonality: str,
    hac_lags: int | None,
    cov_type: str,
    level: float,
) -> float:
    """Root mean square of ``model``'s mean 12-month forecast error (pp) over the origins."""
    errors = []
    for back in FORECAST_ORIGINS:
        end = data.n_pre - back
        origin = end - FORECAST_HORIZON
        if origin < FORECAST_MIN_FIT or data.months[origin] in breaks:
            continue
        effect, _ = _pseudo_effect(
            model, data, end, data.months[origin], breaks, seasonality, hac_lags, cov_type, level
        )
        if effect is not None:
            errors.append(effect.estimate)
    return float(np.sqrt(np.mean(np.square(errors)))) if errors else math.nan


def _fit_auto(series: pd.DataFrame, data: _Series, start, **options) -> EffectResult:
    """``fit_its(model="auto")`` on counts: the model :func:`choose_model` picks, its reason said."""
    used_breaks, _ = _validate_breaks(options["breaks"], data.months, data.start)
    chosen, errors = choose_model(
        data,
        used_breaks,
        options["seasonality"],
        options["hac_lags"],
        options["cov_type"],
        options["level"],
    )
    fallback = None
    try:
        result = fit_its(series, start, model=chosen, **options)
    except WorkbenchError as exc:
        if chosen != "binomial" or "log-odds are infinite" not in exc.message:
            raise
        fallback, result = exc.message, fit_its(series, start, model="ols", **options)
    used = result.diagnostics["model"]
    diagnostics = {**result.diagnostics, "model_choice": {"chosen": used, **errors}}
    if fallback:
        diagnostics["model_fallback"] = fallback
    if fallback or not all(math.isfinite(e) for e in errors.values()):
        return replace(result, diagnostics=diagnostics)
    shape = {
        "vi": {
            "ols": "một đường thẳng theo điểm phần trăm",
            "binomial": "một đường thẳng theo log-odds (mô hình nhị thức)",
        },
        "en": {
            "ols": "a straight line in percentage points",
            "binomial": "a straight line in log-odds (the binomial model)",
        },
    }
    other = "binomial" if used == "ols" else "ols"
    said = {
        "vi": (
            f"Kịch bản không có biện pháp được dựng bằng {shape['vi'][used]}: khi dự báo từng "
            f"{FORECAST_HORIZON} tháng trước biện pháp từ các tháng trước đó, dạng này sai lệch "
            f"bình quân {format_number(errors[used], 'vi', 1)} điểm %, còn {shape['vi'][other]} "
            f"sai lệch {format_number(errors[other], 'vi', 1)} điểm %."
        ),
        "en": (
            f"The no-measure scenario follows {shape['en'][used]}: forecasting spans of "
            f"{FORECAST_HORIZON} months before the measure from the months before them, it erred "
            f"by {format_number(errors[used], 'en', 1)} pp on average (root mean square), "
            f"{shape['en'][other]} by {format_number(errors[other], 'en', 1)} pp."
        ),
    }
    assumptions = {k: f"{v} {said[k]}" for k, v in result.assumptions.items()}
    return replace(result, diagnostics=diagnostics, assumptions=assumptions)


def fit_its(
    series: pd.DataFrame,
    start: Any,
    *,
    outcome: str = "online_rate",
    treated: str = "",
    post_months: int | None = 24,
    pre_months: int | None = None,
    breaks: Sequence[Any] | None = None,
    seasonality: str = "tet",
    hac_lags: int | None = None,
    cov_type: str = "ar1",
    min_pre: int = 12,
    level: float = 0.95,
    placebo: bool = True,
    model: str = "auto",
) -> EffectResult:
    """Estimate the effect of a measure on one unit's monthly series by segmented regression.

    Parameters
    ----------
    series : pandas.DataFrame
        One row per month: ``month`` (datetime64, first day of the month) and either
        ``numerator`` and ``denominator`` counts (or the count columns of ``outcome`` in
        ``panel.RATES``, e.g. ``dossiers_online``/``dossiers_received``) for a rate, analysed in
        percentage points; or ``value`` for any other outcome, analysed in its own units.
    start : date-like
        When the measure took effect; its month is the first treated month.
    outcome : str
        Name of the outcome, for labels and for finding count columns.
    treated : str
        Name of the unit (province), for labels.
    post_months : int or None
        Months from the start to average the effect over (fewer if the data end earlier);
        None uses every month after the start.
    pre_months : int or None
        Months before the start to use; None uses all.
    breaks : list of date-like, optional
        Earlier known changes inside the pre-period (e.g. an earlier measure); each adds a level
        and a slope term. Breaks before the window are ignored (the trend absorbs them).
    seasonality : {"tet", "tet+month", "none"}
        Tết-days regressor, plus month-of-year dummies, or nothing.
    hac_lags : int or None
        Newey–West lags; None uses floor(4·(n/100)^(2/9)), at least 3.
    cov_type : {"ar1", "hac"}
        Covariance of the OLS coefficients used for every interval and p-value. "ar1" (default):
        errors follow an AR(1) process whose ρ is estimated by restricted maximum likelihood
        (REML) on the pre-measure months, which allows for the fitted trend and break terms; t intervals with
        Satterthwaite-type degrees of freedom (``df`` in the diagnostics). "hac": Newey–West
        (statsmodels ``cov_type="HAC"``, Bartlett kernel, ``hac_lags``, small-sample
        correction), t with n − k degrees of freedom. Newey–West with few lags is too narrow on
        40–60 months of autocorrelated data (see the module docstring); its standard error of
        the estimate is always reported (``se_hac``) for comparison.
    min_pre : int
        Fewest pre-period months accepted.
    level : float
        Confidence level of the intervals.
    placebo : bool
        Run the placebo-in-time on the pre-period.
    model : {"auto", "ols", "binomial"}
        "auto" (default): on counts (numerator and denominator), "binomial" unless a line
        in pp forecast the pre-period clearly better (:func:`choose_model`, the choice and
        both errors in ``model_choice``), else "ols"; when a segment sits at 0 % or 100 % throughout (infinite
        log-odds) it falls back to "ols" and says so (``model_fallback`` in the diagnostics).
        "ols": segmented regression on the rate in pp (or on ``value``).
        "binomial": logistic (binomial GLM, logit link) regression on the counts, for rates
        near 0 or 100 %; needs numerator and denominator. Same regressors; the covariance
        (``cov_type``) is applied to the GLM's whitened working regression (quasi-binomial
        scale with AR(1) Pearson residuals, or Newey–West); effects in pp by the delta method
        (see the module docstring).

    Returns
    -------
    EffectResult
        ``method="its"``; ``estimate`` is the average of ``b2 + b3·k`` over the ``n_post``
        months k = 0, 1, …; ``by_period`` has every month of the window (effects after the
        start); diagnostics hold ``level_change``/``slope_change`` with their SEs, intervals
        and p-values, ``pre_slope``, ``tet_days_coef``, ``cov_type``, ``ar1_rho``, ``df`` (of
        the estimate), ``se_hac``, ``hac_lags``, ``df_resid``, ``durbin_watson``,
        ``r_squared``, ``pre_rmse``, ``coefficients`` and the ``placebo_*`` results; ``model``.
        With ``model="binomial"`` every effect is in pp (``level_change``: effect in the first
        post month; ``slope_change``: its mean monthly change over the post window;
        ``pre_slope``: mean monthly change of the fitted rate before the start), the logit
        coefficients are ``level_change_logit``, ``slope_change_logit``, ``pre_slope_logit``,
        ``tet_days_coef_logit`` (with ``_se``, ``_ci_low``, ``_ci_high``, ``_p_value``),
        ``coefficients`` are on the logit scale, ``durbin_watson`` is of the Pearson residuals
        and ``dispersion`` is Pearson χ² / (n − k).

    Raises
    ------
    WorkbenchError
        Start outside the data, too few pre or post months, missing or duplicated months,
        non-positive denominators, a numerator above its denominator, a constant outcome,
        bad options, or a model with more terms than the window can carry; for
        ``model="binomial"``, a series without counts, or a rate at 0 % or 100 % throughout a
        segment (the log-odds are then infinite).
    """
    _validate_options(
        seasonality, post_months, pre_months, hac_lags, min_pre, level, cov_type, model
    )
    data = _validate_series(series, start, outcome, pre_months, post_months, min_pre)
    if model == "auto":
        if not data.is_rate:
            model = "ols"
        else:
            return _fit_auto(
                series,
                data,
                start,
                outcome=outcome,
                treated=treated,
                post_months=post_months,
                pre_months=pre_months,
                breaks=breaks,
                seasonality=seasonality,
                hac_lags=hac_lags,
                cov_type=cov_type,
                min_pre=min_pre,
                level=level,
                placebo=placebo,
            )
    if model == "binomial" and not data.is_rate:
        raise WorkbenchError(
            "model='binomial' needs counts: the series has a value column but no numerator "
            "and denominator",
            "give columns numerator and denominator, or use model='ols'",
        )
    used_breaks, ignored_breaks = _validate_breaks(breaks, data.months, data.start)

    if model == "binomial":
        fitted = _fit_binomial(
            data.numerator,
            data.denominator,
            data.months,
            data.start,
            used_breaks,
            seasonality,
            hac_lags,
            cov_type,
        )
    else:
        fitted = _fit_segmented(
            data.y, data.months, data.start, used_breaks, seasonality, hac_lags, cov_type
        )
    if fitted is None:
        n_terms = design_matrix(data.months, data.start, used_breaks, seasonality).shape[1]
        raise WorkbenchError(
            f"the model has {n_terms} terms but the window has only {len(data.y)} months "
            f"(seasonality={seasonality!r}, {len(used_breaks)} breaks): it cannot be estimated",
            "use seasonality='tet' or 'none', fewer breaks, or a longer window",
        )
    design, fit = fitted
    if model == "binomial":
        effect, diagnostics, effect_gradient = _binomial_terms(data, design, fit, level)
    else:
        effect = contrast(fit, average_effect_weights(design), level)
        diagnostics = _ols_terms(design, fit, level)
        effect_gradient = (
            average_effect_weights(design).reindex(design.columns, fill_value=0.0).to_numpy()
        )
    pre = slice(0, data.n_pre)
    hac_var = effect_gradient @ fit.cov_hac.to_numpy() @ effect_gradient
    diagnostics.update(
        {
            "model": model,
            "cov_type": cov_type,
            "ar1_rho": fit.rho,
            "ar1_rho_se": math.sqrt(fit.rho_var) if math.isfinite(fit.rho_var) else math.nan,
            "df": effect.df,
            "se_hac": float(np.sqrt(max(hac_var, 0.0))),
            "hac_lags": fit.lags,
            "df_resid": fit.df,
            "n_params": design.shape[1],
            "durbin_watson": float(durbin_watson(fit.resid)),
            "r_squared": fit.r_squared,
            # In the outcome's units (pp for rates) for both models: observed minus fitted.
            "pre_rmse": float(np.sqrt(np.mean((data.y[pre] - fit.fitted[pre]) ** 2))),
            "seasonality": seasonality,
            "breaks": list(used_breaks),
            "breaks_ignored": list(ignored_breaks),
            "post_window_truncated": data.post_truncated,
            "coefficients": {k: float(v) for k, v in fit.params.items()},
            "coefficient_se": {k: float(np.sqrt(fit.cov.loc[k, k])) for k in fit.params.index},
        }
    )
    if placebo:
        diagnostics.update(
            _placebo(data, used_breaks, seasonality, hac_lags, cov_type, level, model)
        )
    else:
        diagnostics.update(
            {"placebo_estimate": math.nan, "placebo_p_value": math.nan, "placebo_skipped": True}
        )

    if model == "binomial":
        by_period = _by_period_binomial(data, design, fit, level)
    else:
        by_period = _by_period(data, design, fit, level)
    months = data.months
    return EffectResult(
        method="its",
        outcome=outcome,
        treated=(treated,) if treated else (),
        start=data.start,
        window=Window(months[0], months[data.n_pre - 1], months[data.n_pre], months[-1]),
        n_pre=data.n_pre,
        n_post=len(months) - data.n_pre,
        estimate=effect.estimate,
        ci_low=effect.ci_low,
        ci_high=effect.ci_high,
        ci_level=level,
        p_value=effect.p_value,
        se=effect.se,
        by_period=by_period,
        diagnostics=diagnostics,
        assumptions=its_assumptions(data, outcome, seasonality, diagnostics, post_months, model),
        method_label=dict(METHOD_LABEL_BINOMIAL if model == "binomial" else METHOD_LABEL),
        unit="pp" if data.is_rate else "",
    )


def _term(name: str, term: Contrast) -> dict[str, float]:
    return {
        name: term.estimate,
        f"{name}_se": term.se,
        f"{name}_ci_low": term.ci_low,
        f"{name}_ci_high": term.ci_high,
        f"{name}_p_value": term.p_value,
    }


def _ols_terms(design: pd.DataFrame, fit: _Fit, level: float) -> dict[str, Any]:
    """Level and slope change, pre-period slope and Tết coefficient of the OLS model."""
    diagnostics: dict[str, Any] = {}
    for name in (LEVEL, SLOPE):
        diagnostics.update(_term(name, contrast(fit, pd.Series({name: 1.0}), level)))
    diagnostics["pre_slope"] = float(fit.params["trend"])
    diagnostics["pre_slope_se"] = float(np.sqrt(fit.cov.loc["trend", "trend"]))
    if "tet_days" in design:
        diagnostics["tet_days_coef"] = float(fit.params["tet_days"])
        diagnostics["tet_days_coef_se"] = float(np.sqrt(fit.cov.loc["tet_days", "tet_days"]))
    return diagnostics


def _binomial_terms(
    data: _Series, design: pd.DataFrame, fit: _Fit, level: float
) -> tuple[Contrast, dict[str, Any], np.ndarray]:
    """Average effect in pp (with its gradient) and the binomial model's diagnostics.

    ``level_change`` is the effect in the first post month, ``slope_change`` the mean monthly
    change of the effect from the first to the last post month, ``pre_slope`` the mean monthly
    change of the fitted rate over the pre-period: all in pp, by the delta method. The logit
    coefficients are kept as ``*_logit`` (log odds ratios).
    """
    x, x_cf = design.to_numpy(), _counterfactual_design(design).to_numpy()
    post = np.flatnonzero(design[LEVEL].to_numpy() > 0)
    first, last, n_post = post[0], post[-1], len(post)
    effect = _pp_average_effect(design, fit, level)
    b = fit.params.to_numpy()
    pa, pb = _expit(x[post] @ b), _expit(x_cf[post] @ b)
    gradient = 100 * (((pa * (1 - pa)) @ x[post]) - ((pb * (1 - pb)) @ x_cf[post])) / n_post
    diagnostics: dict[str, Any] = {}
    diagnostics.update(_term(LEVEL, pp_difference(fit, x[first], x_cf[first], [1.0], level)))
    step = np.array([-1.0, 1.0]) / (n_post - 1)
    diagnostics.update(
        _term(SLOPE, pp_difference(fit, x[[first, last]], x_cf[[first, last]], step, level))
    )
    # Seasonal terms set to zero, so that a Tết month at either end does not tilt the slope.
    seasonal = [i for i, c in enumerate(design.columns) if c == "tet_days" or c[:6] == "month_"]
    ends = x[[0, data.n_pre - 1]].copy()
    ends[:, seasonal] = 0.0
    pre = pp_difference(fit, ends[1], ends[0], [1 / (data.n_pre - 1)], level)
    diagnostics["pre_slope"], diagnostics["pre_slope_se"] = pre.estimate, pre.se
    logit_names = {LEVEL: LEVEL, SLOPE: SLOPE, "trend": "pre_slope", "tet_days": "tet_days_coef"}
    for column, name in logit_names.items():
        if column in design:
            term = contrast(fit, pd.Series({column: 1.0}), level)
            diagnostics.update(_term(f"{name}_logit", term))
    k = design.shape[1]
    diagnostics["dispersion"] = float(np.sum(fit.resid**2) / (len(data.y) - k))
    return effect, diagnostics, gradient


def _by_period(data: _Series, design: pd.DataFrame, fit: _Fit, level: float) -> pd.DataFrame:
    """Per month: observed, fitted, counterfactual (post terms zeroed) and effect b2 + b3·k,
    with intervals from parameter uncertainty only (never the spread of post residuals)."""
    counterfactual_design = design.copy()
    counterfactual_design[[LEVEL, SLOPE]] = 0.0
    cf, cf_low, cf_high = _row_intervals(counterfactual_design.to_numpy(), fit, level)
    post = design[LEVEL].to_numpy() > 0
    effect_design = np.zeros_like(design.to_numpy())
    columns = list(design.columns)
    effect_design[:, columns.index(LEVEL)] = design[LEVEL].to_numpy()
    effect_design[:, columns.index(SLOPE)] = design[SLOPE].to_numpy()
    effect, effect_low, effect_high = (
        np.where(post, values, np.nan) for values in _row_intervals(effect_design, fit, level)
    )
    return pd.DataFrame(
        {
            "period": data.months,
            "post": post,
            "observed": data.y,
            "fitted": fit.fitted,
            "counterfactual": cf,
            "counterfactual_low": cf_low,
            "counterfactual_high": cf_high,
            "effect": effect,
            "effect_low": effect_low,
            "effect_high": effect_high,
        }
    ).reset_index(drop=True)


def _by_period_binomial(
    data: _Series, design: pd.DataFrame, fit: _Fit, level: float
) -> pd.DataFrame:
    """Per month for the binomial model, in pp: observed, fitted, counterfactual with a band
    computed on the logit scale (so it stays in 0–100), and the effect 100·(p − p_cf) with a
    delta-method interval."""
    x, x_cf = design.to_numpy(), _counterfactual_design(design).to_numpy()
    b = fit.params.to_numpy()
    eta_cf, low, high = _row_intervals(x_cf, fit, level)
    p, p_cf = _expit(x @ b), _expit(eta_cf)
    post = design[LEVEL].to_numpy() > 0
    gradient = 100 * ((p * (1 - p))[:, None] * x - (p_cf * (1 - p_cf))[:, None] * x_cf)
    var = np.einsum("ij,jk,ik->i", gradient, fit.cov.to_numpy(), gradient)
    half = stats.t.ppf(0.5 + level / 2, _satterthwaite_df(fit, gradient)) * np.sqrt(
        np.clip(var, 0.0, None)
    )
    effect = 100 * (p - p_cf)
    return pd.DataFrame(
        {
            "period": data.months,
            "post": post,
            "observed": data.y,
            "fitted": 100 * p,
            "counterfactual": 100 * p_cf,
            "counterfactual_low": 100 * _expit(low),
            "counterfactual_high": 100 * _expit(high),
            "effect": np.where(post, effect, np.nan),
            "effect_low": np.where(post, effect - half, np.nan),
            "effect_high": np.where(post, effect + half, np.nan),
        }
    ).reset_index(drop=True)
