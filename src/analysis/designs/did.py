"""Difference-in-differences with two-way fixed effects (TWFE) on a balanced panel.

Life cycle: :func:`fit_did` validates the input through :func:`~analysis.designs.data.panel_input`
and :func:`unit_cohorts` (``WorkbenchError`` for every user mistake), fits the regression and
summarises it into an :class:`~analysis.designs.result.EffectResult`.

Model, on the rate in percentage points (100 × numerator / denominator) or on the outcome::

    y_it = a_i + l_t + b·D_it + e_it

with ``D_it = 1`` from the unit's first treated period on. On a balanced panel the unit and
time effects are removed exactly by two-way demeaning (Frisch–Waugh–Lovell), so ``b`` is
Σ D̃·ỹ / Σ D̃² with ``x̃ = x − x̄_i − x̄_t + x̄``; the residuals are those of the regression on
every unit and time dummy. The standard error is cluster-robust by unit,

    V = G/(G − 1) · (N − 1)/(N − K) · Σ_i (Σ_t D̃_it e_it)² / (Σ D̃²)²,

with G units (clusters), N = G·T observations and K = G + T coefficients (intercept,
G − 1 unit and T − 1 time dummies, b): statsmodels' ``cov_type="cluster"`` on the dummy
regression gives the same number, as does pyfixest with ``ssc(fixef_k="full")``
(benchmarks/bench_did_cs.py checks both). By default pyfixest, like Stata's reghdfe, leaves
the unit dummies out of K because they are nested in the clusters (K = T + 1), which gives a
standard error smaller by sqrt((N − G − T)/(N − T − 1)): 0.7 % on a 63-province × 72-month
panel. Counting them is the conservative choice. Intervals and p-values use t with G − 1 degrees of freedom.

TWFE averages the effects of the treated cells with weights proportional to D̃_it; under
staggered adoption some of those weights are negative (de Chaisemartin & D'Haultfœuille 2020;
Goodman-Bacon 2021) and with effects that change over time or between cohorts ``b`` can even
have the wrong sign. The diagnostics count those weights; the staggered design with
heterogeneous effects is :func:`analysis.designs.cs.fit_cs`.

With fewer than ``FEW_TREATED`` treated units adopting together and a rate from counts, the
treated units' own binomial sampling variance of their post-minus-pre mean, less that of as many
comparison units, is added to the variance when positive (a small treated province whose noise
the comparison units' spread does not hold: :mod:`analysis.designs.sampling`);
``se_without_sampling`` keeps the placebo or clustered number. With one to four treated units
the interval comes from placebo estimates (the measure moved to comparison units): their order
statistics when there are enough (39 at 95 %; :mod:`analysis.designs.placebo`), each stretched
by ``se / se_without_sampling`` so that the added sampling variance widens it too, else t on
their standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.designs.data import (
    PanelInput,
    check_controls,
    check_pre_periods,
    panel_input,
    period_timestamp,
)
from analysis.designs.narrative import did_assumptions
from analysis.designs.placebo import min_placebos, order_interval, rank_p_value
from analysis.designs.result import EffectResult, Window
from analysis.designs.rules import FEW_TREATED
from analysis.designs.sampling import excess_sampling_variance, post_minus_pre_weights
from analysis.errors import WorkbenchError
from analysis.panel import RATES

NEVER = -1  # cohort index of a unit never treated in the data
METHOD_LABEL = {
    "vi": "Sai khác kép với hiệu ứng cố định hai chiều (TWFE)",
    "en": "Difference-in-differences with two-way fixed effects (TWFE)",
}
ZERO_SE = 1e-10  # relative to the outcome's spread: a standard error this small is zero


# --- validate ---------------------------------------------------------------------------------


def outcome_name(outcome: str, denominator: str | None) -> str:
    """The rate's name (a key of ``panel.RATES``) when ``outcome``/``denominator`` are its counts,
    so that labels read "online submission rate"; otherwise ``outcome``."""
    if denominator:
        for name, counts in RATES.items():
            if tuple(counts) == (outcome, denominator):
                return name
    return outcome


def time_step_words(periods: pd.Index) -> dict[str, str]:
    """What one period is, for prose: months, years (integers 1000–9999) or periods."""
    if isinstance(periods, pd.DatetimeIndex):
        return {"vi": "tháng", "en": "months"}
    if pd.api.types.is_integer_dtype(periods) and periods.min() >= 1000 and periods.max() <= 9999:
        return {"vi": "năm", "en": "years"}
    return {"vi": "kỳ", "en": "periods"}


def _is_never(values: pd.Series) -> np.ndarray:
    """0, "0", empty, NaN or NaT: a unit never treated in the data."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return (values.isna() | (values == 0)).to_numpy()
    text = values.astype(str).str.strip()
    return (values.isna() | text.isin(["0", "0.0", "", "NaT", "nan", "None"])).to_numpy()


def _read_cohort_values(values: pd.Series, periods: pd.Index, column: str) -> pd.Series:
    """Parse first treated periods in the panel's time type (integers, or month starts)."""
    if isinstance(periods, pd.DatetimeIndex) or pd.api.types.is_datetime64_any_dtype(periods):
        parsed = pd.to_datetime(values, errors="coerce")
        kind, hint = "a date", "write months as YYYY-MM or YYYY-MM-DD, and 0 or empty for never"
    else:
        parsed = pd.to_numeric(values, errors="coerce")
        kind, hint = "a period", "give the first treated period (e.g. 2004), 0 for never"
    bad = parsed.isna()
    if bad.any():
        unit = values.index[np.flatnonzero(bad.to_numpy())[0]]
        raise WorkbenchError(
            f"column {column!r}: unit {unit!r} has {values[unit]!r}, which is not {kind}", hint
        )
    if isinstance(periods, pd.DatetimeIndex) or pd.api.types.is_datetime64_any_dtype(periods):
        return parsed.dt.to_period("M").dt.to_timestamp()
    return parsed


def unit_cohorts(
    data: pd.DataFrame,
    pi: PanelInput,
    *,
    unit: str,
    cohort: str | None = None,
    treated: str | Iterable[str] | None = None,
    start: Any = None,
) -> np.ndarray:
    """Each unit's first treated period, as a column index of ``pi`` (``NEVER`` = never treated).

    Either ``treated`` (names) with ``start`` (one adoption date for all of them), or
    ``cohort``, a column holding each unit's first treated period (0, empty, NaN or NaT for a
    unit never treated). The cohort must be the same in every row of a unit and inside the
    data; a period between two observed periods counts from the next observed one.

    Raises
    ------
    WorkbenchError
        Both or neither way given, an unknown treated unit, a start or cohort outside the data,
        a cohort column missing, unreadable or changing within a unit.
    """
    cohorts = np.full(len(pi.units), NEVER, dtype=int)
    if treated is not None or start is not None:
        if treated is None or start is None:
            raise WorkbenchError(
                "give both the treated units and the start date",
                hint="treated=['Thái Nguyên'], start='2022-07', or a cohort column instead",
            )
        names = [treated] if isinstance(treated, str) else list(treated)
        if not names:
            raise WorkbenchError("the list of treated units is empty", hint="name at least one")
        column = pi.column(start)
        for name in names:
            cohorts[pi.row(name)] = column
        return cohorts
    if cohort is None:
        raise WorkbenchError(
            "no treatment given",
            hint="give treated=[...] and start=..., or cohort='first_treat' (a column)",
        )
    if cohort not in data.columns:
        raise WorkbenchError(
            f"cohort column {cohort!r} is missing",
            hint=f"the panel has: {', '.join(map(str, data.columns))}; it needs each unit's "
            "first treated period (0 or empty for never), or give treated=[...] and start=...",
        )
    pairs = data[[unit, cohort]].copy()
    pairs[unit] = pairs[unit].astype(str)
    never = _is_never(pairs[cohort])
    key = pd.Series(pairs[cohort].astype(str).to_numpy(), index=pairs.index).where(~never, "never")
    changing = key.groupby(pairs[unit]).nunique()
    if (changing > 1).any():
        name = changing.index[np.flatnonzero(changing.to_numpy() > 1)[0]]
        seen = sorted(set(key[pairs[unit] == name]))
        raise WorkbenchError(
            f"column {cohort!r}: unit {name!r} has more than one first treated period "
            f"({', '.join(seen)})",
            hint="a unit's cohort must be the same in all its rows",
        )
    first = pairs.assign(_never=never).groupby(unit, sort=True).first()
    first = first.reindex(pi.units)
    treated_rows = ~first["_never"].to_numpy(dtype=bool)
    if not treated_rows.any():
        return cohorts
    values = _read_cohort_values(first.loc[treated_rows, cohort], pi.periods, cohort)
    lo, hi = pi.periods[0], pi.periods[-1]
    outside = (values < lo) | (values > hi)
    if outside.any():
        name = values.index[np.flatnonzero(outside.to_numpy())[0]]
        raise WorkbenchError(
            f"column {cohort!r}: unit {name!r} is first treated in {values[name]}, outside the "
            f"data ({lo} to {hi})",
            hint="give earlier/later data, drop the unit, or write 0 (never) for a unit not "
            "treated within the data",
        )
    positions = np.searchsorted(np.asarray(pi.periods), values.to_numpy(), side="left")
    cohorts[np.flatnonzero(treated_rows)] = positions
    return cohorts


def _validate_options(level: float, min_pre: int) -> None:
    if not 0 < level < 1:
        raise WorkbenchError(f"level must be between 0 and 1, got {level!r}", hint="e.g. 0.95")
    if not isinstance(min_pre, (int, np.integer)) or min_pre < 1:
        raise WorkbenchError(f"min_pre must be a whole number ≥ 1, got {min_pre!r}")


# --- fit --------------------------------------------------------------------------------------


MIN_PLACEBOS = 10  # fewer comparison units than this: keep clustered errors (and their warning)
PLACEBO_DRAWS = 200  # random placebo assignments when several units are treated


def placebo_estimates(
    controls: np.ndarray, first: int, n_treated: int, seed: int = 0
) -> np.ndarray:
    """TWFE estimates with the treatment moved to comparison units (same start, same count).

    Parameters
    ----------
    controls : ndarray, shape (n_controls, n_periods)
        Outcomes of the units without the measure only.
    first : int
        First treated column.
    n_treated : int
        How many units the real treatment covers; one gives one placebo per comparison unit,
        more gives ``PLACEBO_DRAWS`` random sets.
    seed : int
        For the random sets.
    """
    n = len(controls)
    if n < 2 * n_treated:
        return np.array([])
    yt = two_way_demean(controls)
    rng = np.random.default_rng(seed)
    sets = (
        [[i] for i in range(n)]
        if n_treated == 1
        else [rng.choice(n, n_treated, replace=False) for _ in range(PLACEBO_DRAWS)]
    )
    out = np.empty(len(sets))
    post = np.arange(first, controls.shape[1])
    for k, rows in enumerate(sets):
        d = np.zeros_like(controls)
        d[np.ix_(np.asarray(rows), post)] = 1.0
        dt = two_way_demean(d)
        out[k] = float(np.sum(dt * yt) / np.sum(dt**2))
    return out


def treatment_matrix(cohorts: np.ndarray, n_periods: int) -> np.ndarray:
    """D_it = 1 from each unit's first treated column on (never-treated rows are all 0)."""
    t = np.arange(n_periods)
    return ((cohorts[:, None] != NEVER) & (t[None, :] >= cohorts[:, None])).astype(float)


def two_way_demean(a: np.ndarray) -> np.ndarray:
    """a − unit means − period means + grand mean (exact on a balanced panel)."""
    return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()


def twfe(y: np.ndarray, d: np.ndarray) -> dict[str, Any]:
    """TWFE coefficient of ``d`` with its unit-clustered variance.

    Parameters
    ----------
    y, d : ndarray, shape (n_units, n_periods)
        Outcome and treatment indicator.

    Returns
    -------
    dict
        ``b``, ``var`` (cluster-robust, small-sample corrected), ``resid`` (n_units × n_periods),
        ``d_tilde`` (two-way demeaned treatment, whose treated entries give the TWFE weights),
        ``r2_within``, ``df`` (G − 1).
    """
    n, t = y.shape
    yt, dt = two_way_demean(y), two_way_demean(d)
    sxx = float(np.sum(dt**2))
    b = float(np.sum(dt * yt)) / sxx
    resid = yt - b * dt
    scores = np.sum(dt * resid, axis=1)
    n_obs, k = n * t, n + t
    correction = n / (n - 1) * (n_obs - 1) / (n_obs - k)
    var = correction * float(np.sum(scores**2)) / sxx**2
    total = float(np.sum(yt**2))
    r2 = 1 - float(np.sum(resid**2)) / total if total > 0 else math.nan
    return {"b": b, "var": var, "resid": resid, "d_tilde": dt, "r2_within": r2, "df": n - 1}


# --- summarise --------------------------------------------------------------------------------


def _by_period(
    pi: PanelInput,
    d: np.ndarray,
    fit: dict[str, Any],
    treated_rows: np.ndarray,
    first: int,
    half: float,
) -> pd.DataFrame:
    """Average over the treated units: observed, counterfactual a_i + l_t, effect and gap."""
    fitted = pi.y - fit["resid"]
    counterfactual = fitted - fit["b"] * d
    observed = pi.y[treated_rows].mean(axis=0)
    cf = counterfactual[treated_rows].mean(axis=0)
    gap = observed - cf
    post = np.arange(len(pi.periods)) >= first
    effect = np.where(post, gap, np.nan)
    return pd.DataFrame(
        {
            "period": list(pi.periods),
            "post": post,
            "observed": observed,
            "counterfactual": cf,
            "counterfactual_low": np.where(post, cf - half, np.nan),
            "counterfactual_high": np.where(post, cf + half, np.nan),
            "effect": effect,
            "effect_low": effect - half,
            "effect_high": effect + half,
            "gap": gap,
            "treated_share": d[treated_rows].mean(axis=0),
        }
    )


def fit_did(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    denominator: str | None = None,
    treated: str | Iterable[str] | None = None,
    start: Any = None,
    cohort: str | None = None,
    level: float = 0.95,
    seed: int = 0,
    min_pre: int = 12,
) -> EffectResult:
    """Estimate the effect of a measure by difference-in-differences with two-way fixed effects.

    Parameters
    ----------
    data : pandas.DataFrame
        A long balanced panel: one row per unit and period.
    unit, time, outcome : str
        Column names. ``time`` holds integers (years) or dates (months).
    denominator : str, optional
        With it, ``outcome`` is a count and the analysed outcome is the rate in percentage
        points (100 × outcome / denominator); every unit weighs the same.
    treated : str or list of str, optional
        Names of the treated units, all adopting at ``start``.
    start : date-like or int, optional
        First treated period (its month, or year).
    cohort : str, optional
        Instead of ``treated``/``start``: a column with each unit's first treated period
        (0, empty, NaN or NaT for never treated), for staggered adoption.
    level : float
        Confidence level.
    seed : int
        For the random placebo sets when 2–4 units are treated.
    min_pre : int
        Fewest periods before the (earliest) start; 12 suits monthly data, pass fewer for
        yearly panels.

    Returns
    -------
    EffectResult
        ``method="did"``; ``estimate`` is the TWFE coefficient ``b`` with a unit-clustered
        standard error and a t interval on G − 1 degrees of freedom — except with fewer than
        ``FEW_TREATED`` treated units adopting together and at least ``MIN_PLACEBOS`` placebo
        runs, where the standard error is the spread of :func:`placebo_estimates` and the
        interval their order statistics when there are enough of them (39 at 95 %, with the
        rank p-value: :mod:`analysis.designs.placebo`), else t on (placebos − 1) degrees of
        freedom (``diagnostics["inference"]`` and ``ci_method`` say which; ``cluster_se`` is
        kept). ``by_period`` has every
        period (in the panel's own time type) with, averaged over the treated units,
        ``observed``, ``counterfactual`` (their unit + time effects, i.e. fitted values
        without b·D), ``gap`` = observed − counterfactual (before the start this is the
        treated units' mean residual, a visual check of parallel trends), ``effect`` (the
        gap, from the earliest start on) and ``treated_share`` (share of treated units already
        treated). ``effect_low``/``effect_high`` and ``counterfactual_low``/``_high`` add and
        subtract the half-width of the interval of ``b``: an indication of the overall
        uncertainty, not a per-period interval. A cluster-robust variance of exactly zero
        (one treated and one comparison unit, or an exact fit) gives NaN for ``se``, the
        interval and ``p_value``: no uncertainty can be estimated. Diagnostics: ``coefficient``, ``se``, ``df``,
        ``n_units``, ``n_treated``, ``n_control``, ``n_clusters``, ``n_periods``,
        ``r2_within``, ``staggered``, ``n_cohorts``, ``twfe_negative_weights`` (treated cells
        with a negative TWFE weight) and ``twfe_negative_weight_sum``, ``pre_gap_rmse``.
        ``start``/``window`` are Timestamps (a year becomes 1 January).

    Raises
    ------
    WorkbenchError
        Everything :func:`~analysis.designs.data.panel_input` and :func:`unit_cohorts`
        reject, fewer than ``min_pre`` periods before the start, no units without the measure,
        a bad ``level``.
    """
    _validate_options(level, min_pre)
    pi = panel_input(data, unit=unit, time=time, outcome=outcome, denominator=denominator)
    cohorts = unit_cohorts(data, pi, unit=unit, cohort=cohort, treated=treated, start=start)
    treated_rows = cohorts != NEVER
    if not treated_rows.any():
        raise WorkbenchError(
            f"no unit is ever treated (column {cohort!r})",
            hint="give each treated unit's first treated period",
        )
    check_controls(pi, np.flatnonzero(treated_rows))
    first = int(cohorts[treated_rows].min())
    check_pre_periods(pi, first, min_pre)

    d = treatment_matrix(cohorts, len(pi.periods))
    fit = twfe(pi.y, d)
    se = math.sqrt(max(fit["var"], 0.0))
    b = fit["b"]
    if se <= ZERO_SE * (float(np.std(pi.y)) + abs(b)):
        # A zero cluster-robust variance is not certainty: with one treated and one comparison
        # unit (or an exact fit) the residuals carry no information on the uncertainty.
        se = math.nan
    df = fit["df"]
    q = float(stats.t.ppf(0.5 + level / 2, df))
    p = float(2 * stats.t.sf(abs(b) / se, df))
    cluster_se = se
    n_cohorts = len(np.unique(cohorts[treated_rows]))
    placebo = None
    inference = "cluster"
    if treated_rows.sum() < FEW_TREATED and n_cohorts == 1:
        placebo = placebo_estimates(pi.y[~treated_rows], first, int(treated_rows.sum()), seed)
    if placebo is not None and len(placebo) >= MIN_PLACEBOS:
        # Clustered errors need many treated clusters; with a few treated provinces the spread
        # of the same estimate with the treatment moved to comparison units is the honest
        # measure of noise (Conley & Taber 2011; synthdid's "placebo" variance).
        se = float(np.std(placebo, ddof=1))
        # The spread is estimated from the placebos: Student's t on their number less one (a
        # normal critical value rejected a true zero 8 % of the time in benchmarks/sim_designs).
        df = len(placebo) - 1
        q = float(stats.t.ppf(0.5 + level / 2, df))
        p = float(2 * stats.t.sf(abs(b) / se, df)) if se > 0 else math.nan
        inference = "placebo"
    se_without_sampling = se
    sampling = None
    if pi.weights is not None and treated_rows.sum() < FEW_TREATED and n_cohorts == 1:
        # A few treated units: the placebo (or clustered) spread holds the comparison units'
        # sampling noise, not a small treated unit's own (designs/sampling.py).
        sampling = excess_sampling_variance(
            pi.y,
            pi.weights,
            np.flatnonzero(treated_rows),
            np.flatnonzero(~treated_rows),
            post_minus_pre_weights(len(pi.periods), first),
        )
        if math.isfinite(se) and sampling.excess > 0:
            se = math.sqrt(se**2 + sampling.excess)
            p = float(2 * stats.t.sf(abs(b) / se, df))
    ci_method = "t"
    low, high = b - q * se, b + q * se
    if inference == "placebo" and len(placebo) >= min_placebos(level) and se_without_sampling > 0:
        # Enough placebos for their order statistics: the placebo distribution has heavy tails
        # (a few comparison units far off the common trend), and a t interval on its standard
        # deviation rejected a true zero 8 % of the time (benchmarks/sim_designs.py). The
        # placebos are stretched by the sampling variance added above, if any.
        errors = placebo * (se / se_without_sampling)
        low, high = order_interval(b, errors, level)
        p = rank_p_value(b, errors)
        ci_method = "placebo order statistics"
    weights = fit["d_tilde"][d > 0]
    weights = weights / weights.sum()
    by_period = _by_period(pi, d, fit, treated_rows, first, (high - low) / 2)
    pre_gap = by_period["gap"].to_numpy()[:first]
    diagnostics: dict[str, Any] = {
        "coefficient": b,
        "se": se,
        "df": df,
        "n_units": len(pi.units),
        "n_treated": int(treated_rows.sum()),
        "n_control": int((~treated_rows).sum()),
        "n_clusters": len(pi.units),
        "n_periods": len(pi.periods),
        "r2_within": fit["r2_within"],
        "staggered": n_cohorts > 1,
        "n_cohorts": n_cohorts,
        "twfe_negative_weights": int(np.sum(weights < 0)),
        "twfe_negative_weight_sum": float(weights[weights < 0].sum()),
        "pre_gap_rmse": float(np.sqrt(np.mean(pre_gap**2))),
        "inference": inference,
        "cluster_se": cluster_se,
        "n_placebos": 0 if placebo is None else len(placebo),
        "ci_method": ci_method,
        "se_without_sampling": se_without_sampling,
        "sampling_var_treated": math.nan if sampling is None else sampling.treated,
        "sampling_var_controls": math.nan if sampling is None else sampling.controls,
        "sampling_var_added": math.nan if sampling is None else sampling.excess,
    }
    periods = pi.periods
    name = outcome_name(outcome, denominator)
    return EffectResult(
        method="did",
        outcome=name,
        treated=tuple(str(u) for u in pi.units[treated_rows]),
        start=period_timestamp(periods[first]),
        window=Window(*(period_timestamp(periods[i]) for i in (0, first - 1, first, -1))),
        n_pre=first,
        n_post=len(periods) - first,
        estimate=b,
        ci_low=low,
        ci_high=high,
        ci_level=level,
        p_value=p,
        se=se,
        by_period=by_period,
        diagnostics=diagnostics,
        assumptions=did_assumptions(
            name, diagnostics, n_cohorts > 1, first, time_step_words(periods)
        ),
        method_label=dict(METHOD_LABEL),
        unit=pi.unit_label,
    )
