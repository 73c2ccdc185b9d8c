"""Staggered difference-in-differences of Callaway & Sant'Anna (2021), without covariates.

Life cycle: :func:`fit_cs` validates the input (:func:`~analysis.designs.data.panel_input`,
:func:`~analysis.designs.did.unit_cohorts`; ``WorkbenchError`` for every user mistake), estimates
every group-time effect ATT(g,t), aggregates them, bootstraps, and summarises into an
:class:`~analysis.designs.result.EffectResult`; :func:`plot_event_study` draws the event study.

What is computed, as R's ``did`` package (``att_gt`` with ``est_method="reg"`` and no
covariates, then ``aggte``) does it:

* ATT(g,t) for the cohort g (units first treated in period g) and period t is a 2×2
  comparison of means: the mean change of the outcome of cohort g from the base period to t,
  minus the mean change of the comparison units. The base period is g − 1 − anticipation for
  t ≥ g; before g it is t − 1 ("varying") or also g − 1 − anticipation ("universal", which
  adds a row ATT = 0 at the base period). Comparison units are the never-treated
  (``control="never"``), or also those not yet treated by max(t, base) + anticipation
  (``control="notyet"``; without never-treated units the last cohort becomes the comparison
  group and the periods from its start on are dropped, as R does).
* Influence functions per unit: for a treated unit n·(ΔY_i − mean)/n_g, for a comparison unit
  −n·(ΔY_i − mean)/n_c, 0 otherwise; the analytic standard error of any estimate is
  sqrt(Σ_i ψ_i²)/n — the two-sample variance with 1/n_g and 1/n_c (R's analytic standard errors).
* Aggregations (R's ``aggte``): "simple" (post-treatment cells weighted by cohort size),
  "group" (per cohort, then weighted by cohort size), "calendar" (per period, then averaged),
  "dynamic" (per event time e = t − g, weighted by cohort size; overall = mean over e ≥ 0).
  Their influence functions include the estimation of the cohort-size weights (R's ``wif``).
* Multiplier bootstrap with Mammen's weights: bootstrap standard errors (interquartile range /
  1.349, as R) and the sup-t critical value of a uniform (simultaneous) band over the event
  times, as R's ``mboot``.
* Pre-test of parallel trends: Wald statistic n·θ'V⁻¹θ of the pre-treatment ATT(g,t) with their
  analytic covariance, χ² with as many degrees of freedom as cells (R's ``W``/``Wpval``). It
  needs many units per cell (see ``WALD_UNITS_PER_TEST``); a monthly panel of 63 provinces has
  far more pre-treatment cells than that allows, so the bootstrap sup-t test over the
  pre-treatment event times is reported too, and the assumptions paragraph uses it instead.

Small samples: the analytic standard errors use 1/n variances and the band a Gaussian
bootstrap, both asymptotic. In tests/test_cs.py's simulation (cohorts of 8 units, 16 never
treated) the 95 % interval of the simple aggregation covers the truth about 95–97 % of the
time, but the uniform band over 25 event times only about 83 %; with three times the units
it reaches 95 %.

Every unit weighs the same (with a denominator, the rate of each unit; no survey weights).
Everything runs on the wide matrix with numpy: one matrix of changes per cohort, no per-cell
regression.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.designs.data import PanelInput, panel_input, period_timestamp
from analysis.designs.did import (
    NEVER,
    outcome_name,
    time_step_words,
    unit_cohorts,
)
from analysis.designs.narrative import cs_assumptions
from analysis.designs.result import (
    EffectResult,
    Window,
)
from analysis.designs.rules import SMALL_COHORT
from analysis.errors import WorkbenchError

CONTROLS = ("never", "notyet")
BASE_PERIODS = ("varying", "universal")
METHOD_LABEL = {
    "vi": "Sai khác kép với thời điểm áp dụng so le (Callaway & Sant'Anna)",
    "en": "Staggered difference-in-differences (Callaway & Sant'Anna)",
}
# Mammen's two-point weights: mean 0, variance 1, third moment 1 (R did's multiplier bootstrap).
_SQRT5 = math.sqrt(5.0)
MAMMEN_LOW, MAMMEN_HIGH = (1 - _SQRT5) / 2, (1 + _SQRT5) / 2
MAMMEN_P_LOW = (_SQRT5 + 1) / (2 * _SQRT5)
IQR_NORMAL = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
# Standard errors at or below this are treated as zero (R: sqrt(.Machine$double.eps) * 10).
ZERO_SE = math.sqrt(np.finfo(float).eps) * 10


# --- validate ---------------------------------------------------------------------------------


def _validate_options(
    control: str, base_period: str, bootstrap: int, level: float, anticipation: int
) -> None:
    if control not in CONTROLS:
        raise WorkbenchError(
            f"control {control!r} is not known",
            hint='use "never" (never-treated units) or "notyet" (also not-yet-treated units)',
        )
    if base_period not in BASE_PERIODS:
        raise WorkbenchError(
            f"base_period {base_period!r} is not known", hint='use "varying" or "universal"'
        )
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise WorkbenchError(
            f"bootstrap must be a whole number ≥ 0, got {bootstrap!r}",
            hint="e.g. 999 draws, or 0 for analytic standard errors only",
        )
    if not 0 < level < 1:
        raise WorkbenchError(f"level must be between 0 and 1, got {level!r}", hint="e.g. 0.95")
    if not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise WorkbenchError(
            f"anticipation must be a whole number of periods ≥ 0, got {anticipation!r}"
        )


def _prepare(
    pi: PanelInput, cohorts: np.ndarray, control: str, anticipation: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Check the cohorts; returns (y, cohorts, number of periods kept).

    Without never-treated units and ``control="notyet"``, the last cohort becomes the
    comparison group and only the periods before its start (less anticipation) are kept.
    """
    y = pi.y
    n_periods = len(pi.periods)
    treated = cohorts != NEVER
    if not treated.any():
        raise WorkbenchError(
            "no unit is ever treated", hint="give each treated unit's first treated period"
        )
    early = treated & (cohorts - anticipation < 1)
    if early.any():
        names = ", ".join(map(str, pi.units[early][:3]))
        raise WorkbenchError(
            f"units treated from the first period{' (with anticipation)' if anticipation else ''}"
            f" have no period before the measure to compare with: {names}",
            hint="give earlier data, or drop these units",
        )
    if treated.all():
        if control == "never":
            raise WorkbenchError(
                "every unit is treated at some point: there are no never-treated units to "
                "compare with",
                hint='use control="notyet" to compare with units not yet treated',
            )
        last = int(cohorts.max())
        n_periods = last - anticipation
        cohorts = np.where(cohorts == last, NEVER, cohorts)
        if (cohorts == NEVER).all():
            raise WorkbenchError(
                "all treated units start in the same period and none is left to compare with",
                hint="the panel needs units without the measure, or later adopters",
            )
        y = y[:, :n_periods]
    return y, cohorts, n_periods


def check_cohort_sizes(pi: PanelInput, cohorts: np.ndarray, min_cohort: int) -> None:
    """Refuse cohorts with fewer than ``min_cohort`` treated units (see ``fit_cs``)."""
    labels, sizes = np.unique(cohorts[cohorts != NEVER], return_counts=True)
    small = sizes < int(min_cohort)
    if not small.any():
        return
    first = labels[small][0]
    names = ", ".join(map(str, pi.units[cohorts == first][:3]))
    raise WorkbenchError(
        f"Callaway–Sant'Anna needs at least {int(min_cohort)} treated units in every cohort "
        f"for a valid standard error; the smallest cohort has {int(sizes[small].min())} "
        f"({names}): a cohort this small contributes none of its own variance, so its "
        "interval would be far too narrow",
        hint="use did (placebo inference for few treated units), synth or sdid",
    )


# --- fit: group-time effects ----------------------------------------------------------------


@dataclass(frozen=True)
class GroupTime:
    """The ATT(g,t) cells, as column-aligned arrays (``inf`` is n_units × n_cells).

    ``group``, ``time`` and ``base`` are column indices of the panel; ``inf`` holds the
    influence functions scaled so that the analytic standard error is sqrt(Σ ψ²)/n.
    """

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    inf: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray


def group_time_effects(
    y: np.ndarray,
    cohorts: np.ndarray,
    *,
    control: str = "never",
    base_period: str = "varying",
    anticipation: int = 0,
) -> GroupTime:
    """Every ATT(g,t) with its influence function, one vectorised block per cohort.

    Parameters
    ----------
    y : ndarray, shape (n_units, n_periods)
    cohorts : ndarray of int, shape (n_units,)
        First treated column of each unit, ``NEVER`` (−1) for never treated.
    control, base_period, anticipation
        As in :func:`fit_cs`.
    """
    n, n_periods = y.shape
    never = cohorts == NEVER
    blocks: list[tuple[np.ndarray, ...]] = []
    # A cohort starting after the (possibly truncated) data has no effect to estimate; with
    # control="notyet" its units still serve as comparisons.
    for g in np.unique(cohorts[~never & (cohorts < n_periods)]):
        base_post = g - 1 - anticipation
        if base_period == "varying":
            current = np.arange(1, n_periods)
            base = np.where(current >= g, base_post, current - 1)
        else:
            current = np.arange(n_periods)
            base = np.full(n_periods, base_post)
        change = y[:, current] - y[:, base]
        is_g = cohorts == g
        if control == "never":
            comparison = np.broadcast_to(never[:, None], change.shape)
        else:
            later = cohorts[:, None] > np.maximum(current, base)[None, :] + anticipation
            comparison = never[:, None] | (later & ~is_g[:, None])
        n_g = int(is_g.sum())
        n_c = comparison.sum(axis=0)
        keep = n_c > 0  # a period with nobody to compare with has no estimate
        change, comparison, current, base, n_c = (
            change[:, keep],
            comparison[:, keep],
            current[keep],
            base[keep],
            n_c[keep],
        )
        mean_g = change[is_g].mean(axis=0)
        mean_c = np.where(comparison, change, 0.0).sum(axis=0) / n_c
        inf = np.zeros_like(change)
        inf[is_g] = n * (change[is_g] - mean_g) / n_g
        inf -= np.where(comparison, n * (change - mean_c) / n_c, 0.0)
        blocks.append(
            (
                np.full(len(current), g),
                current,
                base,
                mean_g - mean_c,
                inf,
                np.full(len(current), n_g),
                n_c,
            )
        )
    group, time, base, att, inf, n_treated, n_control = (
        np.concatenate([b[i] for b in blocks], axis=1 if i == 4 else 0) for i in range(7)
    )
    return GroupTime(group, time, base, att, inf, n_treated, n_control)


def analytic_se(inf: np.ndarray) -> np.ndarray:
    """sqrt(Σ_i ψ_i²)/n for each column of influence functions (R did's analytic SE)."""
    n = inf.shape[0]
    return np.sqrt(np.sum(inf**2, axis=0)) / n


def pretest(gt: GroupTime) -> dict[str, float]:
    """Wald test that every pre-treatment ATT(g,t) is zero (R did's ``W``, ``Wpval``).

    Cells with a zero standard error (the universal base period) are left out; a singular
    covariance gives NaN.
    """
    se = analytic_se(gt.inf)
    pre = np.flatnonzero((gt.group > gt.time) & (se > ZERO_SE))
    if pre.size == 0:
        return {"pretest_stat": math.nan, "pretest_df": 0, "pretest_p_value": math.nan}
    n = gt.inf.shape[0]
    if pre.size >= n:  # rank of the covariance is at most n − 1: singular, no need to look
        return {"pretest_stat": math.nan, "pretest_df": int(pre.size), "pretest_p_value": math.nan}
    cov = gt.inf[:, pre].T @ gt.inf[:, pre] / n**2
    if 1 / np.linalg.cond(cov) <= np.finfo(float).eps:
        return {"pretest_stat": math.nan, "pretest_df": int(pre.size), "pretest_p_value": math.nan}
    theta = gt.att[pre]
    stat = float(theta @ np.linalg.solve(cov, theta))
    return {
        "pretest_stat": stat,
        "pretest_df": int(pre.size),
        "pretest_p_value": float(stats.chi2.sf(stat, pre.size)),
    }


# --- fit: aggregations --------------------------------------------------------------------------


def weighted_aggregate(
    att: np.ndarray,
    inf: np.ndarray,
    cells: np.ndarray,
    share: np.ndarray,
    member: np.ndarray | None,
) -> tuple[float, np.ndarray]:
    """Σ_k w_k·att_k over ``cells`` with w_k = share_k / Σ share, and its influence function.

    ``share`` is each cell's cohort share P(G = g) and ``member`` (n_units × n_cells, 0/1) the
    units of each cell's cohort; with ``member`` the influence function includes the estimation
    of the shares (R did's ``wif``), without it the weights are taken as known.
    """
    p = share[cells]
    total = p.sum()
    w = p / total
    value = float(w @ att[cells])
    influence = inf[:, cells] @ w
    if member is not None:
        centred = member[:, cells] - p[None, :]
        influence = (
            influence
            + centred @ att[cells] / total
            - centred.sum(axis=1) * float(p @ att[cells]) / total**2
        )
    return value, influence


@dataclass(frozen=True)
class Aggregate:
    """One aggregation: labels (event times, cohorts or periods), estimates, influence
    functions (n_units × len(labels)), and the overall estimate with its influence function."""

    labels: np.ndarray
    att: np.ndarray
    inf: np.ndarray
    overall: float
    overall_inf: np.ndarray


def aggregate(gt: GroupTime, cohorts: np.ndarray, kind: str) -> Aggregate:
    """R did's ``aggte`` for ``kind`` in "simple", "group", "calendar", "dynamic"."""
    n = len(cohorts)
    groups = np.unique(gt.group)
    share_of = {int(g): float(np.mean(cohorts == g)) for g in groups}
    share = np.array([share_of[int(g)] for g in gt.group])
    member = (cohorts[:, None] == gt.group[None, :]).astype(float)
    post = gt.time >= gt.group
    if kind == "simple":
        value, influence = weighted_aggregate(gt.att, gt.inf, np.flatnonzero(post), share, member)
        return Aggregate(np.array([0]), np.array([value]), influence[:, None], value, influence)
    if kind == "group":
        labels = np.array([g for g in groups if np.any(post & (gt.group == g))])
        att = np.empty(len(labels))
        inf = np.empty((n, len(labels)))
        for j, g in enumerate(labels):
            att[j], inf[:, j] = weighted_aggregate(
                gt.att, gt.inf, np.flatnonzero(post & (gt.group == g)), share, None
            )
        group_share = np.array([share_of[int(g)] for g in labels])
        group_member = (cohorts[:, None] == labels[None, :]).astype(float)
        overall, overall_inf = weighted_aggregate(
            att, inf, np.arange(len(labels)), group_share, group_member
        )
        return Aggregate(labels, att, inf, overall, overall_inf)
    if kind == "calendar":
        labels = np.unique(gt.time[gt.time >= gt.group.min()])
        labels = np.array([t for t in labels if np.any(post & (gt.time == t))])
        sets = [np.flatnonzero(post & (gt.time == t)) for t in labels]
    elif kind == "dynamic":
        event = gt.time - gt.group
        labels = np.unique(event)
        sets = [np.flatnonzero(event == e) for e in labels]
    else:
        raise ValueError(f"unknown aggregation {kind!r}")
    att = np.empty(len(labels))
    inf = np.empty((n, len(labels)))
    for j, cells in enumerate(sets):
        att[j], inf[:, j] = weighted_aggregate(gt.att, gt.inf, cells, share, member)
    over = labels >= 0 if kind == "dynamic" else np.ones(len(labels), dtype=bool)
    if not over.any():
        return Aggregate(labels, att, inf, math.nan, np.full(n, math.nan))
    overall = float(att[over].mean())
    overall_inf = inf[:, over].mean(axis=1)
    return Aggregate(labels, att, inf, overall, overall_inf)


# --- fit: multiplier bootstrap -----------------------------------------------------------------


def mammen_weights(rng: np.random.Generator, draws: int, n: int) -> np.ndarray:
    """``draws`` × ``n`` Mammen weights: (1 − √5)/2 with probability (√5 + 1)/(2√5), else
    (1 + √5)/2."""
    return np.where(rng.random((draws, n)) < MAMMEN_P_LOW, MAMMEN_LOW, MAMMEN_HIGH)


def bootstrap_se(boot: np.ndarray, n: int) -> np.ndarray:
    """Robust bootstrap standard error of each column: interquartile range / 1.349, NaN when
    degenerate (R's ``mboot``; ``boot`` holds draws of the estimate's deviation, n units)."""
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / IQR_NORMAL
    return np.where(se > ZERO_SE / math.sqrt(n), se, np.nan)


def sup_t_pretest(att: np.ndarray, boot: np.ndarray, se: np.ndarray) -> float:
    """Bootstrap p-value of max_j |att_j| / se_j against its draws max_j |boot_j| / se_j.

    Used on the pre-treatment event-study effects: it stays valid however many there are
    (the Wald test needs fewer pre-treatment cells than units), and it rejects exactly when
    the uniform band over those event times excludes zero somewhere.
    """
    ok = np.isfinite(se) & (se > 0)
    if not ok.any():
        return math.nan
    stat = np.max(np.abs(att[ok]) / se[ok])
    sup = np.max(np.abs(boot[:, ok]) / se[ok], axis=1)
    return float(np.mean(sup >= stat))


def uniform_critical_value(boot: np.ndarray, se: np.ndarray, level: float) -> float:
    """Sup-t critical value: the ``level`` quantile over draws of max_j |boot_j| / se_j."""
    ok = np.isfinite(se) & (se > 0)
    if not ok.any():
        return math.nan
    sup = np.max(np.abs(boot[:, ok]) / se[ok], axis=1)
    return float(np.quantile(sup, level, method="inverted_cdf"))


# --- summarise ----------------------------------------------------------------------------------


def _intervals(att: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    return att - z * se, att + z * se


def _period_values(periods: pd.Index, positions: np.ndarray) -> list[Any]:
    return [periods[int(i)] for i in positions]


def fit_cs(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    denominator: str | None = None,
    cohort: str | None = "first_treat",
    treated: str | Iterable[str] | None = None,
    start: Any = None,
    control: str = "never",
    base_period: str = "varying",
    bootstrap: int = 999,
    seed: int = 0,
    level: float = 0.95,
    anticipation: int = 0,
    min_cohort: int = SMALL_COHORT,
) -> EffectResult:
    """Estimate the effects of a measure adopted at different times (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    data : pandas.DataFrame
        A long balanced panel: one row per unit and period.
    unit, time, outcome : str
        Column names. ``time`` holds integers (years) or dates (months).
    denominator : str, optional
        With it, ``outcome`` is a count and the analysed outcome is the rate in percentage
        points (100 × outcome / denominator); every unit weighs the same.
    cohort : str
        Column with each unit's first treated period (a year, or a month date; 0, empty, NaN
        or NaT for never treated). Ignored when ``treated`` and ``start`` are given.
    treated, start : optional
        Instead of ``cohort``: treated unit names, all adopting at ``start``.
    control : {"never", "notyet"}
        Comparison units: never treated, or also not yet treated.
    base_period : {"varying", "universal"}
        Pre-treatment comparisons between consecutive periods, or all against g − 1.
    bootstrap : int
        Multiplier-bootstrap draws (Mammen weights) for bootstrap standard errors and the
        uniform event-study band; 0 skips the bootstrap (bands are then NaN).
    seed : int
        Seed of ``numpy.random.default_rng`` for the bootstrap.
    level : float
        Confidence level of every interval and band.
    anticipation : int
        Periods before adoption in which the measure may already act.
    min_cohort : int
        Fewest treated units a cohort may have (default ``SMALL_COHORT`` = 5). The analytic
        and bootstrap standard errors come from the units' influence functions; a cohort of
        one unit contributes none of its own variance, so its intervals hold only the
        comparison units' noise (on one treated province, no effect, they covered the truth
        22 % of the time). Smaller cohorts are refused; lower it only for point estimates
        (the intervals are then not to be trusted, and the assumptions paragraph says so).

    Returns
    -------
    EffectResult
        ``method="cs"``. ``estimate`` is the "simple" aggregation: the average of the
        post-treatment ATT(g,t) weighted by cohort size, with its analytic standard error
        (influence function, including the estimated weights) and a normal interval and
        p-value. ``start`` is the earliest adoption; ``window`` runs from the first period to
        the last, split at it.

        ``by_period`` is the event study, one row per event time: ``period`` (int, periods
        since adoption), ``post`` (event time ≥ 0), ``effect`` with pointwise
        ``effect_low``/``effect_high``, ``band_low``/``band_high`` (uniform band), ``se``;
        ``observed``/``counterfactual`` and their bounds are NaN (there is no single treated
        series when cohorts adopt at different times).

        ``tables``: ``att_gt`` (group, time, event_time, att, se, ci_low, ci_high, post,
        se_bootstrap, n_treated, n_control; group/time in the panel's time type),
        ``event_study`` (event_time, att, se, ci_low, ci_high, band_low, band_high,
        se_bootstrap), ``group`` (group, att, se, ci_low, ci_high, se_bootstrap),
        ``calendar`` (time, att, se, ci_low, ci_high, se_bootstrap). ``se`` is analytic
        everywhere; the uniform band is att ± c·se_bootstrap with c the sup-t critical value
        (as R did).

        ``diagnostics``: ``dynamic_att`` (mean of the event-study effects for e ≥ 0) with
        ``dynamic_se``, ``dynamic_ci_low``/``_high``, ``dynamic_se_bootstrap``;
        ``group_att``/``group_se``, ``calendar_att``/``calendar_se``; ``simple_se_bootstrap``;
        ``pretest_stat``, ``pretest_df``, ``pretest_p_value`` (R's χ² Wald test; NaN when its
        covariance is singular), ``pretest_sup_t_p_value`` (bootstrap: the largest
        |effect|/se over the pre-treatment event times against its draws; NaN without
        bootstrap); ``uniform_critical_value``;
        ``n_units``, ``n_groups``, ``n_never_treated``, ``smallest_group_size``,
        ``n_periods``, ``control``, ``base_period``, ``anticipation``, ``bootstrap``,
        ``seed``, ``dropped_last_cohort``, ``time_step`` ("months", "years" or "periods").

    Raises
    ------
    WorkbenchError
        Missing columns (the cohort column too), an unbalanced or constant panel, a cohort
        outside the data or changing within a unit, units treated from the first period, no
        never-treated units with ``control="never"``, a cohort smaller than ``min_cohort``,
        bad options.
    """
    _validate_options(control, base_period, bootstrap, level, anticipation)
    pi = panel_input(data, unit=unit, time=time, outcome=outcome, denominator=denominator)
    if treated is not None or start is not None:
        cohort = None
    cohorts = unit_cohorts(data, pi, unit=unit, cohort=cohort, treated=treated, start=start)
    y, cohorts_used, n_periods = _prepare(pi, cohorts, control, int(anticipation))
    check_cohort_sizes(pi, cohorts_used, min_cohort)
    periods = pi.periods[:n_periods]
    n = len(pi.units)

    gt = group_time_effects(
        y, cohorts_used, control=control, base_period=base_period, anticipation=int(anticipation)
    )
    aggregates = {
        kind: aggregate(gt, cohorts_used, kind)
        for kind in ("simple", "group", "calendar", "dynamic")
    }
    z = float(stats.norm.ppf(0.5 + level / 2))

    boot_se, crit, sup_t_p = _bootstrap(gt, aggregates, bootstrap, seed, n, level)
    tables = _tables(gt, aggregates, periods, z, boot_se, crit)
    event_study = tables["event_study"]
    by_period = _by_period(event_study)
    dyn = aggregates["dynamic"]

    simple = aggregates["simple"]
    estimate = simple.overall
    se = float(analytic_se(simple.overall_inf[:, None])[0])
    p = float(2 * stats.norm.sf(abs(estimate) / se)) if se > 0 else float(estimate == 0)
    dyn_se = float(analytic_se(dyn.overall_inf[:, None])[0])
    sizes = [int(np.sum(cohorts_used == g)) for g in np.unique(gt.group)]
    step = time_step_words(pi.periods)
    diagnostics: dict[str, Any] = {
        "dynamic_att": dyn.overall,
        "dynamic_se": dyn_se,
        "dynamic_ci_low": dyn.overall - z * dyn_se,
        "dynamic_ci_high": dyn.overall + z * dyn_se,
        "dynamic_se_bootstrap": float(boot_se["dynamic_overall"][0]),
        "group_att": aggregates["group"].overall,
        "group_se": float(analytic_se(aggregates["group"].overall_inf[:, None])[0]),
        "calendar_att": aggregates["calendar"].overall,
        "calendar_se": float(analytic_se(aggregates["calendar"].overall_inf[:, None])[0]),
        "simple_se_bootstrap": float(boot_se["simple"][0]),
        **pretest(gt),
        "pretest_sup_t_p_value": sup_t_p,
        "uniform_critical_value": crit,
        "n_units": n,
        "n_groups": len(sizes),
        "n_never_treated": int(np.sum(cohorts_used == NEVER)),
        "smallest_group_size": min(sizes),
        "n_periods": n_periods,
        "control": control,
        "base_period": base_period,
        "anticipation": int(anticipation),
        "bootstrap": int(bootstrap),
        "seed": seed,
        "dropped_last_cohort": n_periods < len(pi.periods),
        "time_step": step["en"],
    }
    first = int(gt.group.min())
    treated_units = tuple(str(u) for u in pi.units[cohorts_used != NEVER])
    name = outcome_name(outcome, denominator)
    return EffectResult(
        method="cs",
        outcome=name,
        treated=treated_units,
        start=period_timestamp(periods[first]),
        window=Window(
            *(period_timestamp(periods[i]) for i in (0, first - 1, first, n_periods - 1))
        ),
        n_pre=first,
        n_post=n_periods - first,
        estimate=estimate,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        ci_level=level,
        p_value=p,
        se=se,
        by_period=by_period,
        diagnostics=diagnostics,
        assumptions=cs_assumptions(name, diagnostics, control, step),
        method_label=dict(METHOD_LABEL),
        unit=pi.unit_label,
        tables=tables,
    )


def _bootstrap(gt, aggregates: dict, bootstrap: int, seed, n: int, level: float):
    """Multiplier-bootstrap standard errors of every estimate, the event study's uniform
    critical value and the sup-t pre-test's p (NaN without a bootstrap).

    One set of draws serves every estimate, as the columns of one matrix.
    """
    blocks = {"att_gt": gt.inf, **{k: a.inf for k, a in aggregates.items()}}
    blocks["dynamic_overall"] = aggregates["dynamic"].overall_inf[:, None]
    blocks["group_overall"] = aggregates["group"].overall_inf[:, None]
    blocks["calendar_overall"] = aggregates["calendar"].overall_inf[:, None]
    boot_se: dict[str, np.ndarray] = {k: np.full(v.shape[1], np.nan) for k, v in blocks.items()}
    crit = sup_t_p = math.nan
    if bootstrap > 0:
        names = list(blocks)
        stacked = np.concatenate([np.nan_to_num(blocks[k]) for k in names], axis=1)
        draws = mammen_weights(np.random.default_rng(seed), int(bootstrap), n)
        boot = draws @ stacked / n
        edges = np.cumsum([0] + [blocks[k].shape[1] for k in names])
        for k, lo, hi in zip(names, edges[:-1], edges[1:], strict=True):
            boot_se[k] = bootstrap_se(boot[:, lo:hi], n)
        lo = edges[names.index("dynamic")]
        boot_dynamic = boot[:, lo : lo + blocks["dynamic"].shape[1]]
        crit = uniform_critical_value(boot_dynamic, boot_se["dynamic"], level)
        before = aggregates["dynamic"].labels < 0
        sup_t_p = sup_t_pretest(
            aggregates["dynamic"].att[before], boot_dynamic[:, before], boot_se["dynamic"][before]
        )

    return boot_se, crit, sup_t_p


def _tables(gt, aggregates: dict, periods, z: float, boot_se: dict, crit: float) -> dict:
    """ATT(g,t), the event study (with its uniform band) and the group and calendar
    aggregations, each with analytic and bootstrap standard errors."""
    se_gt = analytic_se(gt.inf)
    low, high = _intervals(gt.att, se_gt, z)
    att_gt = pd.DataFrame(
        {
            "group": _period_values(periods, gt.group),
            "time": _period_values(periods, gt.time),
            "event_time": gt.time - gt.group,
            "att": gt.att,
            "se": se_gt,
            "ci_low": low,
            "ci_high": high,
            "post": gt.time >= gt.group,
            "se_bootstrap": boot_se["att_gt"],
            "n_treated": gt.n_treated,
            "n_control": gt.n_control,
        }
    )
    dyn = aggregates["dynamic"]
    se_dyn = analytic_se(dyn.inf)
    low, high = _intervals(dyn.att, se_dyn, z)
    event_study = pd.DataFrame(
        {
            "event_time": dyn.labels.astype(int),
            "att": dyn.att,
            "se": se_dyn,
            "ci_low": low,
            "ci_high": high,
            "band_low": dyn.att - crit * boot_se["dynamic"],
            "band_high": dyn.att + crit * boot_se["dynamic"],
            "se_bootstrap": boot_se["dynamic"],
        }
    )
    tables = {"att_gt": att_gt, "event_study": event_study}
    for kind, column in (("group", "group"), ("calendar", "time")):
        agg = aggregates[kind]
        se = analytic_se(agg.inf)
        low, high = _intervals(agg.att, se, z)
        tables[kind] = pd.DataFrame(
            {
                column: _period_values(periods, agg.labels),
                "att": agg.att,
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "se_bootstrap": boot_se[kind],
            }
        )
    return tables


def _by_period(event_study: pd.DataFrame) -> pd.DataFrame:
    """The result's per-period table: the event study on event time (no observed series)."""
    nan = np.full(len(event_study), np.nan)
    return pd.DataFrame(
        {
            "period": event_study["event_time"].to_numpy(),
            "post": event_study["event_time"].to_numpy() >= 0,
            "observed": nan,
            "counterfactual": nan,
            "counterfactual_low": nan,
            "counterfactual_high": nan,
            "effect": event_study["att"].to_numpy(),
            "effect_low": event_study["ci_low"].to_numpy(),
            "effect_high": event_study["ci_high"].to_numpy(),
            "band_low": event_study["band_low"].to_numpy(),
            "band_high": event_study["band_high"].to_numpy(),
            "se": event_study["se"].to_numpy(),
        }
    )
