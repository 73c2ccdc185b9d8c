"""Synthetic control (Abadie, Diamond & Hainmueller 2010) for one treated unit.

Life cycle: :func:`fit_synth` validates the panel (``designs.data.panel_input``), finds donor
weights ``w ≥ 0, Σw = 1`` whose weighted average of the donors reproduces the treated unit's
outcome path before the start, reads the effect as the gap (treated − synthetic) after the
start, runs the placebo-in-space test (every donor in turn as the treated unit) and summarises
into an :class:`~analysis.designs.result.EffectResult` (``method="synth"``).

Weights
-------
The predictors are the pre-period outcomes themselves (every lag, equally weighted: the
``V`` matrix of Abadie et al. is the identity). :func:`simplex_weights` takes any predictor
matrix, so covariates (scaled) can be stacked below the outcome lags later without touching the
solver. The problem ``min ‖X₀ᵀw − x₁‖²`` over the simplex is a convex QP, solved exactly by a
primal active-set method on the Gram matrix (Nocedal & Wright 2006, §16.5; the simplex version
of Lawson–Hanson's NNLS): the equality-constrained subproblem on the current support is a small
linear (KKT) system, and the method stops when every excluded donor's Lagrange multiplier is
non-negative — the optimality conditions, checked to ``KKT_TOL``. A start is a feasible point:
the best single donor, or a random Dirichlet point moved by a few hundred projected-gradient
(FISTA) steps. The objective is convex, so every start reaches the same minimum; the weights are
unique only when the donors' paths are affinely independent on the support, and the spread of
the weights across starts (``weights_spread``) says whether they are. A ridge of ``RIDGE`` ×
the mean Gram diagonal keeps the linear systems non-singular; its effect on the weights is far
below the 1e-4 the tests ask of an exactly recoverable combination.

Inference
---------
A synthetic control has no standard error and no textbook confidence interval, and none is
made up here (``se`` is NaN). Instead:

- p-value: the placebo-in-space test of Abadie et al. (2010): the ratio of post- to pre-period
  root mean squared prediction error (RMSPE) of the treated unit is ranked among those of every
  donor refitted as if treated (donors = the other donors; the real treated unit is never a
  donor of a placebo). ``p = rank / (n_placebos + 1)`` (ties count against the treated unit);
  the smallest attainable p is ``1 / (n_placebos + 1)``.
- Interval: the set of constant effects ``τ₀`` that this test does not reject at ``1 − level``
  (test inversion, Firpo & Possebom 2018, J. Causal Inference 6(2)): subtracting ``τ₀`` from the
  treated unit's post-period outcomes leaves the weights and every placebo unchanged and moves
  only the treated post-period RMSPE, so the set is an explicit interval around the mean gap. It
  is infinite when there are too few donors to ever reject (fewer than ``1/(1 − level) − 1``),
  and empty when even the best constant effect is rejected, i.e. the effect is far from
  constant (an effect ramping up over the post-period).
- The interval of the average post-period effect (:func:`average_effect_interval`) needs no
  constant effect: the placebos' mean post-period gaps, each scaled by the ratio of the treated
  unit's pre-period RMSPE to the placebo's, stand for the treated unit's error, and their order
  statistics bound it (:mod:`analysis.designs.placebo`). With a rate from counts each placebo is
  first put at the treated unit's binomial noise (its pre-period MSPE raised by the difference
  of mean sampling variances, when the treated unit is the noisier): a 300-dossier province's
  RMSPE is mostly month-to-month noise that its mean gap averages away, and the plain ratio made
  its interval twice too wide (coverage 1.00 → 0.93, width 16.6 → 8.4 pp on 200 simulated
  panels). A 95 % interval needs at least 39 placebos. By default (``interval="auto"``) it is the
  interval printed whenever there are that many placebos, since the estimate is the average gap
  (on 300 simulated effects ramping up over 6 months it covered 0.96 where the inversion covered
  0.84, 19 of its intervals empty, or 0.89 with this as the fallback; on constant effects both
  0.95–0.96: benchmarks/sim_designs.py); with fewer placebos the inversion is printed.
  ``interval="constant"`` prints the inversion and falls back to the average effect only when
  the inversion is empty. An empty set is never printed: with too few placebos for either the
  interval is NaN and ``ci_none_reason`` says why. ``ci_method`` names the interval given;
  ``ci_constant_effect_low``/``_high`` and ``ci_average_effect_low``/``_high`` keep both
  (NaN where one could not be given).
- Per period: ``effect_low``/``effect_high`` invert the same idea month by month: with
  ``q_lo``, ``q_hi`` the ``(1 − level)/2`` and ``(1 + level)/2`` quantiles of the placebo gaps in
  that period, the interval is ``[gap − q_hi, gap − q_lo]``. ``placebo_low``/``placebo_high`` in
  ``by_period`` are those quantiles for every period (the band the plots draw).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.designs.data import (
    PanelInput,
    check_controls,
    check_pre_periods,
    panel_input,
    period_timestamp,
)
from analysis.designs.narrative import synth_assumptions
from analysis.designs.placebo import min_placebos, order_interval
from analysis.designs.result import EffectResult, Window
from analysis.designs.rules import CI_AVERAGE, CI_CONSTANT
from analysis.designs.sampling import binomial_variance
from analysis.errors import WorkbenchError

METHOD_LABEL = {"vi": "Đối chứng tổng hợp", "en": "Synthetic control"}
# Ridge on the Gram matrix, relative to its mean diagonal (the predictors are scaled to unit
# variance first, so this is scale-free).
RIDGE = 1e-12
# Optimality: every excluded donor's multiplier ≥ −KKT_TOL, on the scaled problem.
KKT_TOL = 1e-10
# A step of the active-set method this small (in weight) counts as none.
STEP_TOL = 1e-10
ACTIVE_SET_MAX_ITER = 2000
FISTA_ITER = 300
INTERVALS = ("auto", "constant")
# Placebos whose pre-period fit is this many times worse than the treated unit's are reported
# separately (Abadie et al. 2010 use 20, 5 and 2): their post/pre ratio says little.
POOR_PLACEBO_FIT = 5.0


# --- solver ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimplexFit:
    """Weights on the simplex that best reproduce a target from donors.

    Attributes
    ----------
    weights : ndarray, shape (n_donors,)
        The best start's weights (non-negative, summing to 1).
    objective : float
        Mean squared error of the fit on the predictors (in the predictors' units).
    weights_spread : float
        Largest absolute difference of any weight between any start and the best one.
    objective_spread : float
        Largest difference of the objective between any start and the best one.
    converged : bool
        Whether every start ended at a point meeting the optimality conditions.
    """

    weights: np.ndarray
    objective: float
    weights_spread: float
    objective_spread: float
    converged: bool


def project_simplex(v: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Euclidean projection of each column of ``v`` onto the simplex (entries not ``allowed``
    fixed at 0), by the sort-and-threshold rule (Held, Wolfe & Crowder 1974)."""
    v = np.asarray(v, dtype=float)
    if allowed is not None:
        # Far below any allowed entry: sorted last and never above the threshold.
        v = np.where(allowed, v, np.abs(v).max() * -10 - 1e6)
    n, m = v.shape
    u = -np.sort(-v, axis=0)
    css = np.cumsum(u, axis=0) - 1.0
    k = np.arange(1, n + 1)[:, None]
    last = n - 1 - np.argmax((u - css / k > 0)[::-1], axis=0)
    theta = css[last, np.arange(m)] / (last + 1)
    return np.maximum(v - theta, 0.0)


def _fista(gram: np.ndarray, lin: np.ndarray, allowed: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Projected gradient with momentum and adaptive restart, every column at once: a good
    (not exact) point from which the active-set method finishes."""
    step = 1.0 / max(np.linalg.eigvalsh(gram)[-1], 1e-300)
    x, y = w.copy(), w.copy()
    t = np.ones(w.shape[1])
    for _ in range(FISTA_ITER):
        x_new = project_simplex(y - step * (gram @ y - lin), allowed)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        # O'Donoghue & Candès (2015): drop the momentum when it points uphill.
        restart = np.einsum("ij,ij->j", y - x_new, x_new - x) > 0
        beta = np.where(restart, 0.0, (t - 1) / t_new)
        t = np.where(restart, 1.0, t_new)
        y = x_new + beta * (x_new - x)
        x = x_new
    return x


def _active_set(
    gram: np.ndarray, lin: np.ndarray, w: np.ndarray, allowed: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Exact minimiser of ``wᵀGw − 2 linᵀw`` on the simplex (``w_i = 0`` where not allowed),
    from the feasible point ``w``: primal active-set method."""
    free = (w > 0) & allowed
    w = np.where(free, w, 0.0)
    for _ in range(ACTIVE_SET_MAX_ITER):
        idx = np.flatnonzero(free)
        k = idx.size
        half_grad = gram @ w - lin
        kkt = np.ones((k + 1, k + 1))
        kkt[:k, :k] = gram[np.ix_(idx, idx)]
        kkt[k, k] = 0.0
        rhs = np.append(-half_grad[idx], 0.0)
        try:
            solution = np.linalg.solve(kkt, rhs)
        except np.linalg.LinAlgError:
            solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
        p, nu = solution[:k], solution[k]
        if np.abs(p).max() <= STEP_TOL:
            # Optimal on this face; an excluded donor with a negative multiplier enters.
            multiplier = np.where(allowed & ~free, half_grad + nu, np.inf)
            j = int(np.argmin(multiplier))
            if multiplier[j] >= -KKT_TOL:
                return w, True
            free[j] = True
            continue
        alpha, block = 1.0, -1
        shrinking = p < 0
        if shrinking.any():
            ratios = -w[idx][shrinking] / p[shrinking]
            j = int(np.argmin(ratios))
            if ratios[j] < 1.0:
                alpha, block = float(ratios[j]), int(idx[shrinking][j])
        w[idx] = np.maximum(w[idx] + alpha * p, 0.0)
        if block >= 0:
            w[block] = 0.0
            free[block] = False
        w /= w.sum()
    return w, False


def _gram(donors: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Scaled Gram matrix of the donors, their products with the targets, and the scale."""
    scale = float(np.std(np.vstack([donors, targets])))
    scale = scale if scale > 0 else 1.0
    d, t = donors / scale, targets / scale
    n_pred = donors.shape[1]
    gram = d @ d.T / n_pred
    gram += RIDGE * max(float(np.mean(np.diag(gram))), 1e-300) * np.eye(len(gram))
    return gram, d @ t.T / n_pred, scale


def _best_vertex(gram: np.ndarray, lin: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """For each column, the single allowed donor closest to the target."""
    cost = np.where(allowed, np.diag(gram)[:, None] - 2 * lin, np.inf)
    w = np.zeros_like(lin)
    w[np.argmin(cost, axis=0), np.arange(lin.shape[1])] = 1.0
    return w


def simplex_weights(
    donors: np.ndarray, target: np.ndarray, *, n_starts: int = 5, seed: int = 0
) -> SimplexFit:
    """Weights ``w ≥ 0, Σw = 1`` minimising the mean of ``(donorsᵀw − target)²``.

    Parameters
    ----------
    donors : ndarray, shape (n_donors, n_predictors)
        One row per donor: its predictors (here the pre-period outcomes).
    target : ndarray, shape (n_predictors,)
        The treated unit's predictors.
    n_starts : int
        Starts of the solver: the best single donor, then ``n_starts − 1`` random Dirichlet
        points (moved by projected-gradient steps); the lowest objective wins.
    seed : int
        Seed of the Dirichlet draws.

    Returns
    -------
    SimplexFit
    """
    donors = np.atleast_2d(np.asarray(donors, dtype=float))
    target = np.asarray(target, dtype=float)
    gram, lin, _ = _gram(donors, target[None, :])
    n = len(donors)
    allowed = np.ones((n, n_starts), dtype=bool)
    lin_s = np.repeat(lin, n_starts, axis=1)
    starts = _best_vertex(gram, lin_s[:, :1], allowed[:, :1])
    if n_starts > 1:
        rng = np.random.default_rng(seed)
        random = rng.dirichlet(np.ones(n), size=n_starts - 1).T
        starts = np.hstack([starts, _fista(gram, lin_s[:, 1:], allowed[:, 1:], random)])
    results = [
        _active_set(gram, lin_s[:, j], starts[:, j].copy(), allowed[:, j]) for j in range(n_starts)
    ]
    weights = np.column_stack([w for w, _ in results])
    residual = donors.T @ weights - target[:, None]
    objectives = np.mean(residual**2, axis=0)
    best = int(np.argmin(objectives))
    return SimplexFit(
        weights=weights[:, best],
        objective=float(objectives[best]),
        weights_spread=float(np.abs(weights - weights[:, [best]]).max()),
        objective_spread=float(objectives.max() - objectives[best]),
        converged=all(ok for _, ok in results),
    )


def placebo_weights(controls: np.ndarray) -> tuple[np.ndarray, bool]:
    """Weights of every donor refitted as if treated, from the other donors.

    Parameters
    ----------
    controls : ndarray, shape (n_donors, n_predictors)

    Returns
    -------
    weights : ndarray, shape (n_donors, n_donors)
        Column ``j`` holds donor ``j``'s synthetic weights (``weights[j, j] = 0``).
    converged : bool
        Whether every fit met the optimality conditions.
    """
    controls = np.asarray(controls, dtype=float)
    n = len(controls)
    gram, lin, _ = _gram(controls, controls)
    allowed = ~np.eye(n, dtype=bool)
    # One exact solve per placebo from the best single donor: the objective is convex, so other
    # starts reach the same fit. (Where a placebo's weights are not unique its post-period gap
    # could depend on the start; the spread across starts is checked for the treated unit.)
    starts = _best_vertex(gram, lin, allowed)
    weights = np.empty((n, n))
    converged = True
    for j in range(n):
        weights[:, j], ok = _active_set(gram, lin[:, j], starts[:, j].copy(), allowed[:, j])
        converged &= ok
    return weights, converged


# --- validate ---------------------------------------------------------------------------------


def _check_options(n_starts: Any, level: Any, min_pre: Any, interval: Any = "auto") -> None:
    if interval not in INTERVALS:
        raise WorkbenchError(
            f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}", "e.g. 'auto'"
        )
    if not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise WorkbenchError(f"n_starts must be a whole number ≥ 1, got {n_starts!r}", "e.g. 5")
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise WorkbenchError(f"level must be between 0 and 1, got {level!r}", "e.g. 0.95")
    if not isinstance(min_pre, (int, np.integer)) or min_pre < 2:
        raise WorkbenchError(f"min_pre must be a whole number ≥ 2, got {min_pre!r}", "e.g. 12")


def _check_treated_name(treated: Any) -> str:
    if not isinstance(treated, str) or not treated:
        raise WorkbenchError(
            f"treated must be one unit's name, got {treated!r}",
            "the synthetic control takes one treated unit; use SDID for several",
        )
    return treated


# --- inference --------------------------------------------------------------------------------


def _rmspe(gaps: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Pre- and post-period root mean squared prediction error of each row of ``gaps``."""
    gaps = np.atleast_2d(gaps)
    return np.sqrt(np.mean(gaps[:, :s] ** 2, axis=1)), np.sqrt(np.mean(gaps[:, s:] ** 2, axis=1))


def _ratio(post: np.ndarray, pre: np.ndarray, floor: float) -> np.ndarray:
    # An exact pre-period fit (interior of the donors' hull) gives an infinite ratio; the floor
    # keeps it finite and ranks such units first, as they should be.
    return post / np.maximum(pre, floor)


def rank_p_value(treated_ratio: float, placebo_ratios: np.ndarray) -> tuple[float, int]:
    """Permutation p-value: rank of the treated ratio among all (ties against the treated)."""
    rank = 1 + int(np.sum(np.asarray(placebo_ratios) >= treated_ratio))
    return rank / (len(placebo_ratios) + 1), rank


def constant_effect_interval(
    post_gap: np.ndarray, pre_rmspe: float, placebo_ratios: np.ndarray, level: float, floor: float
) -> tuple[float, float]:
    """Constant effects ``τ₀`` not rejected by the RMSPE-ratio placebo test at ``1 − level``.

    The treated unit's post RMSPE under ``τ₀`` is ``sqrt(var(gap) + (mean(gap) − τ₀)²)``; the
    test accepts ``τ₀`` while at least ``m = floor((1 − level)(n + 1))`` placebo ratios are at
    or above the treated ratio, i.e. while that RMSPE is at most ``R₍ₘ₎ · pre_rmspe`` (``R₍ₘ₎``
    the m-th largest placebo ratio). Returns (−inf, inf) when ``m = 0`` and (NaN, NaN) when no
    ``τ₀`` is accepted.
    """
    n = len(placebo_ratios)
    m = math.floor((1 - level) * (n + 1) + 1e-9)
    if m == 0:
        return -math.inf, math.inf
    bound = np.sort(np.asarray(placebo_ratios))[::-1][m - 1] * max(pre_rmspe, floor)
    centre = float(np.mean(post_gap))
    room = bound**2 - float(np.var(post_gap))
    if room < 0:
        return math.nan, math.nan
    return centre - math.sqrt(room), centre + math.sqrt(room)


def average_effect_interval(
    estimate: float,
    pre_rmspe: float,
    placebo_mean_gaps: np.ndarray,
    placebo_pre_rmspe: np.ndarray,
    level: float,
    floor: float,
    treated_noise: float = 0.0,
    placebo_noise: np.ndarray | None = None,
) -> tuple[float, float]:
    """Interval of the average post-period effect from the scaled placebo distribution.

    Needs no constant effect. Each placebo's mean post-period gap is put on the treated
    unit's scale, ``g_j · pre_rmspe / pre_rmspe_j`` (a placebo that fits its own past worse
    drifts further after the start, and the treated unit's pre-period fit says how noisy it
    is); if the treated unit's error ``estimate − τ`` is exchangeable with these, with
    ``k = floor((1 − level)/2 · (n + 1))`` and ``s₍₁₎ ≤ … ≤ s₍ₙ₎`` the sorted scaled gaps, the
    interval is ``[estimate − s₍ₙ₊₁₋ₖ₎, estimate − s₍ₖ₎]``, each tail holding at most
    ``(1 − level)/2`` (:func:`analysis.designs.placebo.order_interval`). Returns (NaN, NaN)
    when ``k = 0``: fewer than 39 placebos for 95 %.

    A rate from few dossiers has a pre-period RMSPE made mostly of its own month-to-month
    binomial noise, which averages out of a 24-month mean gap: dividing it by the RMSPE of
    placebos with less noise stretched the interval of a 300-dossier province to twice the
    width it needs (coverage 1.00 in benchmarks/sim_designs.py). ``treated_noise`` and
    ``placebo_noise`` (the mean binomial sampling variance over the pre-period, pp²) put each
    placebo at the treated unit's noise before the ratio is taken,
    ``pre_rmspe_j → sqrt(pre_rmspe_j² + max(0, treated_noise − placebo_noise_j))``; the floor
    at 0 leaves the ratio as it was for a treated unit with less noise than the placebo.
    """
    pre = np.asarray(placebo_pre_rmspe, float)
    if placebo_noise is not None:
        pre = np.sqrt(pre**2 + np.maximum(0.0, treated_noise - np.asarray(placebo_noise, float)))
    scale = max(pre_rmspe, floor) / np.maximum(pre, floor)
    return order_interval(estimate, np.asarray(placebo_mean_gaps, float) * scale, level)


# --- fit --------------------------------------------------------------------------------------


def fit_synth(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    denominator: str | None = None,
    treated: str,
    start: Any,
    n_starts: int = 5,
    placebo: bool = True,
    level: float = 0.95,
    min_pre: int = 12,
    seed: int = 0,
    interval: str = "auto",
) -> EffectResult:
    """Estimate the effect of a measure on one unit by the synthetic control method.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period (months as dates, or integer years).
    unit, time, outcome : str
        Column names.
    denominator : str, optional
        With a denominator, ``outcome`` is a count and the design runs on the rate
        100 × outcome / denominator (percentage points).
    treated : str
        The treated unit; every other unit is a donor.
    start : date-like or int
        First treated period.
    n_starts : int
        Solver starts for the treated unit's weights (see :func:`simplex_weights`).
    placebo : bool
        Run the placebo-in-space test (needed for the p-value and the interval).
    level : float
        Level of the placebo-based interval.
    min_pre : int
        Fewest pre-period periods accepted.
    seed : int
        Seed of the random solver starts.
    interval : {"auto", "constant"}
        The interval of the estimate. "auto" (default): of the average effect from the scaled
        placebo gaps (:func:`average_effect_interval`) when there are enough placebos (39 at
        95 %), else the constant-effect inversion. "constant": the inversion, and the average
        effect's interval only when the inversion is empty. Neither ever prints an empty
        interval; with too few placebos for either it is NaN with ``ci_none_reason``.

    Returns
    -------
    EffectResult
        ``method="synth"``; ``estimate`` = mean post-period gap; ``se`` NaN (see the module
        docstring for the p-value and the interval); ``by_period`` adds ``gap`` (every period),
        ``placebo_low``/``placebo_high``; tables ``weights`` (unit, weight; descending) and
        ``placebos`` (unit, treated, pre_rmspe, post_rmspe, ratio, mean_gap, rank).

    Raises
    ------
    WorkbenchError
        Unknown treated unit (the closest names are suggested), a start outside the data,
        fewer than ``min_pre`` pre-periods, no donors, a constant outcome, bad options, and
        every problem :func:`~analysis.designs.data.panel_input` finds.
    """
    _check_options(n_starts, level, min_pre, interval)
    treated = _check_treated_name(treated)
    pi = panel_input(data, unit=unit, time=time, outcome=outcome, denominator=denominator)
    row = pi.row(treated)
    s = pi.column(start)
    check_pre_periods(pi, s, min_pre)
    controls = check_controls(pi, [row])
    y = pi.y
    fit = simplex_weights(y[controls, :s], y[row, :s], n_starts=n_starts, seed=seed)
    synthetic = fit.weights @ y[controls]
    gap = y[row] - synthetic
    pre_rmspe, post_rmspe = (float(v[0]) for v in _rmspe(gap, s))
    # Below this a pre-period RMSPE is an exact fit (relative to the outcome's spread).
    floor = 1e-9 * max(float(np.std(y)), 1e-300)
    ratio = float(_ratio(np.array([post_rmspe]), np.array([pre_rmspe]), floor)[0])

    diagnostics: dict[str, Any] = {
        "pre_rmspe": pre_rmspe,
        "post_rmspe": post_rmspe,
        "rmspe_ratio": ratio,
        "pre_r_squared": _pre_r2(y[row, :s], gap[:s]),
        "pre_outside_donor_range": float(
            np.mean((y[row, :s] > y[controls, :s].max(0)) | (y[row, :s] < y[controls, :s].min(0)))
        ),
        "n_donors": int(len(controls)),
        "n_donors_weighted": int(np.sum(fit.weights > 1e-6)),
        "effective_donors": float(1 / np.sum(fit.weights**2)),
        "objective": fit.objective,
        "weights_spread": fit.weights_spread,
        "objective_spread": fit.objective_spread,
        "n_starts": int(n_starts),
        "solver": "active-set QP on the simplex",
        "solver_converged": fit.converged,
        "predictors": "outcome in every pre-period",
        "se_note": "no standard error for synthetic control; see ci_method",
    }
    placebo_table, placebo_gaps = None, None
    p_value, ci = math.nan, (math.nan, math.nan)
    if placebo and len(controls) >= 2:
        weights, converged = placebo_weights(y[controls, :s])
        placebo_gaps = y[controls] - weights.T @ y[controls]
        pl_pre, pl_post = _rmspe(placebo_gaps, s)
        pl_ratio = _ratio(pl_post, pl_pre, floor)
        p_value, rank = rank_p_value(ratio, pl_ratio)
        constant = constant_effect_interval(gap[s:], pre_rmspe, pl_ratio, level, floor)
        well_fitted = pl_pre <= POOR_PLACEBO_FIT * max(pre_rmspe, floor)
        p_fit, _ = rank_p_value(ratio, pl_ratio[well_fitted])
        mean_gaps = placebo_gaps[:, s:].mean(axis=1)
        noise = (
            None
            if pi.weights is None
            else binomial_variance(y[:, :s], pi.weights[:, :s]).mean(axis=1)
        )
        average = average_effect_interval(
            float(gap[s:].mean()),
            pre_rmspe,
            mean_gaps,
            pl_pre,
            level,
            floor,
            treated_noise=0.0 if noise is None else float(noise[row]),
            placebo_noise=None if noise is None else noise[controls],
        )
        ci, ci_method, ci_reason = constant, CI_CONSTANT, ""
        # The estimate is the average gap, so its interval is best the average effect's, which
        # assumes no constant effect (on a ramping effect the inversion covered 0.84 where
        # this covered 0.96: benchmarks/sim_designs.py); it needs 39 placebos at 95 %. With
        # fewer, the inversion; an empty inversion (no constant effect fits) is never printed.
        if not math.isnan(average[0]) and (interval == "auto" or math.isnan(constant[0])):
            ci, ci_method = average, CI_AVERAGE
        elif math.isnan(constant[0]):
            ci, ci_method = average, "none"
            ci_reason = (
                f"no constant effect fits and {len(controls)} placebos are fewer than the "
                f"{min_placebos(level)} an interval of the average effect "
                f"needs at {round(100 * level)}%"
            )
        diagnostics.update(
            {
                "placebo_rank": rank,
                "n_placebos": int(len(controls)),
                "min_p_value": 1 / (len(controls) + 1),
                "placebo_p_value_good_fit": p_fit,
                "n_placebos_good_fit": int(well_fitted.sum()),
                "placebo_fit_threshold": POOR_PLACEBO_FIT,
                "placebo_sd": float(np.std(mean_gaps, ddof=1)),
                "placebo_solver_converged": converged,
                "ci_method": ci_method,
                "ci_none_reason": ci_reason,
                "ci_constant_effect_low": float(constant[0]),
                "ci_constant_effect_high": float(constant[1]),
                "ci_constant_effect_empty": bool(math.isnan(constant[0])),
                "ci_average_effect_low": float(average[0]),
                "ci_average_effect_high": float(average[1]),
                "ci_infinite": bool(math.isinf(ci[0])),
            }
        )
        placebo_table = (
            pd.DataFrame(
                {
                    "unit": [pi.units[row], *pi.units[controls]],
                    "treated": [True] + [False] * len(controls),
                    "pre_rmspe": [pre_rmspe, *pl_pre],
                    "post_rmspe": [post_rmspe, *pl_post],
                    "ratio": [ratio, *pl_ratio],
                    "mean_gap": [float(gap[s:].mean()), *mean_gaps],
                }
            )
            .sort_values(["ratio", "treated"], ascending=False, kind="stable")
            .reset_index(drop=True)
        )
        placebo_table["rank"] = np.arange(1, len(placebo_table) + 1)
    else:
        diagnostics.update(
            {
                "placebo_skipped": True,
                "placebo_skipped_reason": "turned off" if not placebo else "only one donor",
                "ci_method": "none (no placebos)",
            }
        )

    weights_table = (
        pd.DataFrame({"unit": list(pi.units[controls]), "weight": fit.weights})
        .sort_values(["weight", "unit"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    tables = {"weights": weights_table}
    if placebo_table is not None:
        tables["placebos"] = placebo_table
    by_period = _by_period(pi, y[row], synthetic, gap, s, placebo_gaps, level)
    periods = [period_timestamp(p) for p in pi.periods]
    return EffectResult(
        method="synth",
        outcome=outcome,
        treated=(str(pi.units[row]),),
        start=periods[s],
        window=Window(periods[0], periods[s - 1], periods[s], periods[-1]),
        n_pre=s,
        n_post=len(periods) - s,
        estimate=float(gap[s:].mean()),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        ci_level=level,
        p_value=float(p_value),
        se=math.nan,
        by_period=by_period,
        diagnostics=diagnostics,
        assumptions=synth_assumptions(pi, str(pi.units[row]), s, diagnostics, level),
        method_label=dict(METHOD_LABEL),
        unit=pi.unit_label,
        tables=tables,
    )


def _pre_r2(observed: np.ndarray, gap: np.ndarray) -> float:
    total = float(np.sum((observed - observed.mean()) ** 2))
    return 1 - float(np.sum(gap**2)) / total if total > 0 else math.nan


def _by_period(
    pi: PanelInput,
    observed: np.ndarray,
    synthetic: np.ndarray,
    gap: np.ndarray,
    s: int,
    placebo_gaps: np.ndarray | None,
    level: float,
) -> pd.DataFrame:
    n = len(observed)
    post = np.arange(n) >= s
    if placebo_gaps is not None:
        q_lo, q_hi = np.quantile(placebo_gaps, [(1 - level) / 2, (1 + level) / 2], axis=0)
    else:
        q_lo = q_hi = np.full(n, np.nan)
    effect = np.where(post, gap, np.nan)
    effect_low = np.where(post, gap - q_hi, np.nan)
    effect_high = np.where(post, gap - q_lo, np.nan)
    return pd.DataFrame(
        {
            "period": [period_timestamp(p) for p in pi.periods],
            "post": post,
            "observed": observed,
            "counterfactual": synthetic,
            "counterfactual_low": np.where(post, observed - effect_high, np.nan),
            "counterfactual_high": np.where(post, observed - effect_low, np.nan),
            "effect": effect,
            "effect_low": effect_low,
            "effect_high": effect_high,
            "gap": gap,
            "placebo_low": q_lo,
            "placebo_high": q_hi,
        }
    )


# --- summarise --------------------------------------------------------------------------------


# --- plot -------------------------------------------------------------------------------------
