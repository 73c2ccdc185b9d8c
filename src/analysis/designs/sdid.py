"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

Life cycle: :func:`fit_sdid` validates the panel (``designs.data.panel_input``), estimates unit
weights ω and time weights λ, reads the effect as a weighted difference-in-differences,
estimates its standard error by placebo reassignment and summarises into an
:class:`~analysis.designs.result.EffectResult` (``method="sdid"``).

The numbers follow the R package synthdid (``synthdid_estimate``, ``sc.weight.fw``,
``placebo_se``), step for step:

- Noise level σ = sample standard deviation of the first differences over time of the control
  units' pre-period outcomes. Unit-weight ridge ζ_ω = (N_tr·T_post)^(1/4)·σ, time-weight ridge
  ζ_λ = 1e-6·σ; Frank–Wolfe stops when an iteration lowers the objective by no more than
  (1e-5·σ)², or after 10 000 iterations.
- Both weight problems are solved on synthdid's "collapsed form" of the panel (post periods
  averaged, treated units averaged), with an intercept (columns centred) and on the simplex:
  time weights λ make the control units' λ-weighted pre-period average predict their post-period
  average; unit weights ω make the ω-weighted controls track the treated average over the
  pre-period, up to a constant. Each is a Frank–Wolfe run of at most 100 iterations from the
  uniform weights, then sparsified (weights at or below a quarter of the largest set to 0,
  the rest renormalised) and run again to convergence — synthdid's default ``sparsify``.
- τ = (ȳ_tr,post − λ·ȳ_tr,pre) − (ω·ȳ_co,post − ω·Y_co,pre·λ).
- Standard error: synthdid's ``vcov(method = "placebo")``: ``placebo_reps`` times, N_tr control
  units drawn at random play the treated units among the controls only; the weights are
  re-estimated (from the original ω restricted and renormalised, and the original λ, as start
  points; ζ and the stopping rule kept) and SE = sqrt((r − 1)/r) × sd of the r placebo
  estimates. The interval is normal: τ ± z·SE. Per period, ``effect_low``/``effect_high`` use
  the same placebos' per-period effects (τ_t ± z·sd_t).
- Not in synthdid: with a rate from counts, the treated units' own binomial sampling variance of
  the contrast (1/T₁ after the start, −λ before), less that of a placebo group of comparison
  units, is added when positive (a small treated province: :mod:`analysis.designs.sampling`);
  ``se_without_sampling`` keeps synthdid's number.
- Diagnostics ``did_estimate`` and ``sc_estimate`` are synthdid's ``did_estimate`` (uniform
  weights: the plain 2×2 difference-in-differences of means) and ``sc_estimate`` (ω with
  ζ_ω = 1e-6·σ, no intercept, λ = 0).

Speed: Frank–Wolfe takes up to 10 000 short iterations, so the cost is numpy's per-call
overhead. All placebo replications run as one batch (a leading replication axis; the unit
weights of every replication are subsets of the same control columns, so they share one matrix
and a mask), and a single problem runs with Python scalars. On 63 units × 72 months the design
with 200 placebo replications takes about 2 s (benchmarks/bench_synth_sdid.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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
from analysis.designs.narrative import sdid_assumptions
from analysis.designs.result import EffectResult, Window
from analysis.designs.sampling import excess_sampling_variance, post_minus_pre_weights
from analysis.errors import WorkbenchError

METHOD_LABEL = {
    "vi": "Sai khác kép tổng hợp (synthetic DiD)",
    "en": "Synthetic difference-in-differences",
}
# synthdid's defaults.
ETA_LAMBDA = 1e-6
ETA_SC = 1e-6
MIN_DECREASE = 1e-5
MAX_ITER = 10_000
MAX_ITER_PRE_SPARSIFY = 100
# Recompute A·x from scratch every so many Frank–Wolfe steps (it is otherwise updated
# incrementally, which drifts by rounding).
REFRESH = 50


# --- Frank–Wolfe (synthdid's sc.weight.fw), batched -------------------------------------------


def frank_wolfe(
    a: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    zeta: float | np.ndarray,
    min_decrease: float | np.ndarray,
    max_iter: int,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """synthdid's ``sc.weight.fw`` loop for a batch of problems.

    Minimises ``ζ²‖x‖² + ‖A x − b‖²/n`` over the simplex (entries not ``allowed`` held at 0) by
    Frank–Wolfe with exact line search, stopping a problem once an iteration (after the second)
    lowers the objective by no more than ``min_decrease²``, or after ``max_iter`` iterations.

    Parameters
    ----------
    a : ndarray, shape (n, k) shared by every problem, or (B, n, k)
        Already centred when the problem has an intercept. A shared matrix with an ``allowed``
        mask expresses problems that use different subsets of the same columns (the placebo
        fits) at the cost of one matrix product per iteration.
    b : ndarray, shape (B, n)
    x : ndarray, shape (B, k)
        Start points on the simplex (0 where not allowed).
    zeta, min_decrease : float or ndarray of shape (B,)
    max_iter : int
    allowed : ndarray of bool, shape (B, k), optional
        Columns each problem may use; all when None.

    Returns
    -------
    x : ndarray, shape (B, k)
    iterations : ndarray of int, shape (B,)
    """
    shared = a.ndim == 2
    n_batch, n = b.shape
    if n_batch == 1:
        one, iterations = _frank_wolfe_one(
            a if shared else a[0],
            b[0],
            x[0],
            float(np.ravel(zeta)[0]),
            float(np.ravel(min_decrease)[0]),
            max_iter,
            None if allowed is None else allowed[0],
        )
        return one[None], np.array([iterations])
    a_t = np.ascontiguousarray(a.T) if shared else None
    zeta2 = np.broadcast_to(np.asarray(zeta, dtype=float) ** 2, (n_batch,)).copy()
    md2 = np.broadcast_to(np.asarray(min_decrease, dtype=float) ** 2, (n_batch,)).copy()
    eta = n * zeta2
    penalty = None if allowed is None else np.where(allowed, 0.0, np.inf)
    out = np.array(x, dtype=float, copy=True)
    iterations = np.full(n_batch, max_iter)
    ids, rows = np.arange(n_batch), np.arange(n_batch)
    x_w = out.copy()

    def times_a(v: np.ndarray, a_w: np.ndarray) -> np.ndarray:  # A x for each problem
        return v @ a_t if shared else np.matmul(a_w, v[:, :, None])[:, :, 0]

    ax = times_a(x_w, a)
    r = ax - b
    xx = np.einsum("bk,bk->b", x_w, x_w)
    eta_col = eta[:, None]
    prev = np.full(n_batch, np.inf)
    # The loop body is written for few numpy calls: with small problems their overhead, not
    # arithmetic, is the cost.
    for t in range(1, max_iter + 1):
        half_grad = r @ a if shared else np.matmul(r[:, None, :], a)[:, 0, :]
        half_grad += eta_col * x_w
        i = (half_grad if penalty is None else half_grad + penalty).argmin(axis=1)
        # d.x = e_i − x: half_grad·d.x and ‖d.x‖² without forming d.x. When d.x = 0
        # (synthdid returns x unchanged) the numerator is exactly 0, so the step is 0.
        d_err = a_t[i] if shared else a[rows, :, i]
        d_err -= ax
        den = np.einsum("bn,bn->b", d_err, d_err) + eta * (1.0 - 2.0 * x_w[rows, i] + xx)
        num = np.einsum("bk,bk->b", half_grad, x_w) - half_grad[rows, i]
        step = np.divide(num, den, out=np.zeros(ids.size), where=den > 0)
        np.clip(step, 0.0, 1.0, out=step)
        x_w *= (1.0 - step)[:, None]
        x_w[rows, i] += step
        if t % REFRESH == 0:
            ax = times_a(x_w, a)
        else:
            d_err *= step[:, None]
            ax += d_err
        r = ax - b
        xx = np.einsum("bk,bk->b", x_w, x_w)
        val = zeta2 * xx + np.einsum("bn,bn->b", r, r) / n
        done = prev - val <= md2 if t >= 2 else None
        prev = val
        if done is not None and done.any():
            out[ids[done]] = x_w[done]
            iterations[ids[done]] = t
            keep = ~done
            if not keep.any():
                return out, iterations
            ids, x_w, ax, r, prev, xx = (
                ids[keep],
                x_w[keep],
                ax[keep],
                r[keep],
                prev[keep],
                xx[keep],
            )
            b, zeta2, md2, eta = b[keep], zeta2[keep], md2[keep], eta[keep]
            eta_col = eta[:, None]
            penalty = None if penalty is None else penalty[keep]
            a = a if shared else a[keep]
            rows = np.arange(ids.size)
    out[ids] = x_w
    return out, iterations


def _frank_wolfe_one(
    a: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    zeta: float,
    min_decrease: float,
    max_iter: int,
    allowed: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    """:func:`frank_wolfe` for one problem: the same steps with the scalars as Python floats,
    which halves the numpy calls per iteration (their overhead is the cost here)."""
    n = b.size
    zeta2 = zeta**2
    eta, md2 = n * zeta2, min_decrease**2
    a_t = np.ascontiguousarray(a.T)
    penalty = None if allowed is None else np.where(allowed, 0.0, np.inf)
    x = np.array(x, dtype=float, copy=True)
    ax = a @ x
    r = ax - b
    xx = float(x @ x)
    prev = math.inf
    for t in range(1, max_iter + 1):
        half_grad = r @ a
        half_grad += eta * x
        i = int((half_grad if penalty is None else half_grad + penalty).argmin())
        d_err = a_t[i] - ax
        den = float(d_err @ d_err) + eta * (1.0 - 2.0 * float(x[i]) + xx)
        num = float(half_grad @ x) - float(half_grad[i])
        step = min(1.0, max(0.0, num / den)) if den > 0 else 0.0
        if step > 0:
            x *= 1.0 - step
            x[i] += step
            if t % REFRESH == 0:
                ax = a @ x
            else:
                d_err *= step
                ax += d_err
            r = ax - b
            xx = float(x @ x)
        val = zeta2 * xx + float(r @ r) / n
        if t >= 2 and prev - val <= md2:
            return x, t
        prev = val
    return x, max_iter


def sparsify(v: np.ndarray) -> np.ndarray:
    """synthdid's default: weights at or below a quarter of the largest set to 0, renormalise."""
    v = np.where(v <= v.max(axis=-1, keepdims=True) / 4, 0.0, v)
    return v / v.sum(axis=-1, keepdims=True)


def two_stage_weights(
    a: np.ndarray,
    b: np.ndarray,
    zeta: float | np.ndarray,
    min_decrease: float,
    start: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """synthdid's weight fit: at most 100 Frank–Wolfe iterations, sparsify, then run to
    convergence. Arguments as :func:`frank_wolfe`; ``start`` defaults to uniform weights over
    the allowed columns. Returns the weights and the iterations of the second stage."""
    n_batch, k = b.shape[0], a.shape[-1]
    mask = np.ones((n_batch, k), dtype=bool) if allowed is None else allowed
    if start is None:
        start = mask / mask.sum(axis=1, keepdims=True)
    x, _ = frank_wolfe(a, b, start, zeta, min_decrease, MAX_ITER_PRE_SPARSIFY, allowed)
    return frank_wolfe(a, b, sparsify(x), zeta, min_decrease, MAX_ITER, allowed)


def time_weight_problem(controls: np.ndarray, t0: int) -> tuple[np.ndarray, np.ndarray]:
    """λ's problem from the control paths (B, N0, T): the controls' pre-period outcomes predict
    their post-period mean; centred over units (the intercept). Returns A (B, N0, T0), b (B, N0)."""
    pre = controls[:, :, :t0]
    post = controls[:, :, t0:].mean(axis=2)
    return pre - pre.mean(axis=1, keepdims=True), post - post.mean(axis=1, keepdims=True)


def noise_level(y: np.ndarray, n0: int, t0: int) -> float:
    """Sample sd of the first differences over time of the controls' pre-period outcomes."""
    diffs = np.diff(y[:n0, :t0], axis=1)
    return float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0


def period_effects(
    treated_mean: np.ndarray, control_paths: np.ndarray, omega: np.ndarray, lam: np.ndarray
) -> np.ndarray:
    """Per-period effects (B, T): treated mean − ω-weighted controls − their λ-weighted
    pre-period difference. Their mean over the post periods is synthdid's
    τ = [−ω, 1/N1]ᵀ Y [−λ, 1/T1].

    Parameters
    ----------
    treated_mean : ndarray, shape (B, T)
    control_paths : ndarray, shape (N0, T)
    omega : ndarray, shape (B, N0)
    lam : ndarray, shape (B, T0)
    """
    diff = treated_mean - omega @ control_paths
    t0 = lam.shape[1]
    return diff - np.einsum("bt,bt->b", diff[:, :t0], lam)[:, None]


@dataclass(frozen=True)
class SdidFit:
    """One SDID fit on a matrix: τ, per-period effects, weights and synthdid's DiD and SC."""

    estimate: float
    effects: np.ndarray
    omega: np.ndarray
    lam: np.ndarray
    did: float
    sc: float
    noise_level: float
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    omega_iterations: int
    lambda_iterations: int


def sdid_matrix(y: np.ndarray, n0: int, t0: int) -> SdidFit:
    """synthdid's ``synthdid_estimate`` (and ``did_estimate``, ``sc_estimate``) on a matrix
    (N, T) whose first ``n0`` rows are the controls and first ``t0`` columns the pre-period."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    controls, treated_mean = y[:n0], y[n0:].mean(axis=0)
    sigma = noise_level(y, n0, t0)
    zeta_omega, zeta_lambda = (n1 * t1) ** 0.25 * sigma, ETA_LAMBDA * sigma
    min_decrease = MIN_DECREASE * sigma
    a, b = time_weight_problem(controls[None], t0)
    lam, lam_it = two_stage_weights(a[0], b, zeta_lambda, min_decrease)
    pre, target = controls[:, :t0].T, treated_mean[:t0]
    omega, om_it = two_stage_weights(
        pre - pre.mean(axis=0), (target - target.mean())[None], zeta_omega, min_decrease
    )
    # synthdid's sc_estimate: ridge 1e-6·σ, no intercept, λ = 0.
    sc_omega, _ = two_stage_weights(pre, target[None], ETA_SC * sigma, min_decrease)
    effects = period_effects(treated_mean[None], controls, omega, lam)[0]
    uniform = period_effects(
        treated_mean[None], controls, np.full((1, n0), 1 / n0), np.full((1, t0), 1 / t0)
    )[0]
    sc = period_effects(treated_mean[None], controls, sc_omega, np.zeros((1, t0)))[0]
    return SdidFit(
        estimate=float(effects[t0:].mean()),
        effects=effects,
        omega=omega[0],
        lam=lam[0],
        did=float(uniform[t0:].mean()),
        sc=float(sc[t0:].mean()),
        noise_level=sigma,
        zeta_omega=zeta_omega,
        zeta_lambda=zeta_lambda,
        min_decrease=min_decrease,
        omega_iterations=int(om_it[0]),
        lambda_iterations=int(lam_it[0]),
    )


def placebo_effects(
    controls: np.ndarray, n1: int, fit: SdidFit, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """synthdid's placebo replications: per-period effects (reps, T).

    Each replication permutes the controls (``sample(1:N0)``); the last ``n1`` play the treated
    units and the others the controls. Weights are re-estimated with the original ζ and
    stopping rule, from the original λ and the original ω restricted to the placebo controls
    and renormalised (``sum_normalize``: uniform if they sum to 0).
    """
    n0, t = controls.shape
    t0 = fit.lam.size
    order = np.array([rng.permutation(n0) for _ in range(reps)])
    keep, fake = order[:, : n0 - n1], order[:, n0 - n1 :]
    treated_mean = controls[fake].mean(axis=1)  # (reps, T)
    a, b = time_weight_problem(controls[keep], t0)
    lam, _ = two_stage_weights(
        a, b, fit.zeta_lambda, fit.min_decrease, start=np.repeat(fit.lam[None], reps, axis=0)
    )
    # ω's problem uses subsets of the same columns (control paths centred over time): one
    # shared matrix, a mask per replication.
    allowed = np.zeros((reps, n0), dtype=bool)
    np.put_along_axis(allowed, keep, True, axis=1)
    start = np.where(allowed, fit.omega[None], 0.0)
    total = start.sum(axis=1, keepdims=True)
    start = np.where(total > 0, start / np.where(total > 0, total, 1.0), allowed / (n0 - n1))
    pre = controls[:, :t0].T
    centred = pre - pre.mean(axis=0)
    target = treated_mean[:, :t0]
    omega, _ = two_stage_weights(
        centred,
        target - target.mean(axis=1, keepdims=True),
        fit.zeta_omega,
        fit.min_decrease,
        start=start,
        allowed=allowed,
    )
    return period_effects(treated_mean, controls, omega, lam)


# --- validate ---------------------------------------------------------------------------------


def _check_options(placebo_reps: Any, level: Any, min_pre: Any) -> None:
    if not isinstance(placebo_reps, (int, np.integer)) or placebo_reps < 0:
        raise WorkbenchError(
            f"placebo_reps must be a whole number ≥ 0, got {placebo_reps!r}", "e.g. 200"
        )
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise WorkbenchError(f"level must be between 0 and 1, got {level!r}", "e.g. 0.95")
    if not isinstance(min_pre, (int, np.integer)) or min_pre < 2:
        raise WorkbenchError(f"min_pre must be a whole number ≥ 2, got {min_pre!r}", "e.g. 12")


def _treated_rows(pi: PanelInput, treated: str | Sequence[str]) -> list[int]:
    names = [treated] if isinstance(treated, str) else list(treated)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise WorkbenchError(
            f"treated must be a unit name or a list of unit names, got {treated!r}",
            "e.g. treated='Thái Nguyên'",
        )
    seen = [n for i, n in enumerate(names) if n in names[:i]]
    if seen:
        raise WorkbenchError(f"treated unit {seen[0]!r} is listed twice", "list each unit once")
    return [pi.row(n) for n in names]


# --- fit --------------------------------------------------------------------------------------


def fit_sdid(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    denominator: str | None = None,
    treated: str | list[str],
    start: Any,
    placebo_reps: int = 200,
    seed: int = 0,
    level: float = 0.95,
    min_pre: int = 12,
) -> EffectResult:
    """Estimate the effect of a measure by synthetic difference-in-differences.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period (months as dates, or integer years).
    unit, time, outcome : str
        Column names.
    denominator : str, optional
        With a denominator, ``outcome`` is a count and the design runs on the rate
        100 × outcome / denominator (percentage points).
    treated : str or list of str
        The unit(s) that adopted the measure at ``start`` (all at the same time); every other
        unit is a control.
    start : date-like or int
        First treated period.
    placebo_reps : int
        Placebo replications for the standard error (0: no standard error).
    seed : int
        Seed of ``numpy.random.default_rng`` for the placebo draws.
    level : float
        Confidence level of the (normal) interval.
    min_pre : int
        Fewest pre-period periods accepted.

    Returns
    -------
    EffectResult
        ``method="sdid"``; ``by_period`` adds ``gap`` (every period); tables ``unit_weights``
        (unit, weight; descending) and ``time_weights`` (period as in the data, weight);
        diagnostics ``did_estimate``, ``sc_estimate``, ``noise_level``, ``zeta_omega``,
        ``zeta_lambda``, ``effective_controls``, ``placebo_reps`` and the solver's iterations.

    Raises
    ------
    WorkbenchError
        Unknown treated unit (closest names suggested), a start outside the data, fewer than
        ``min_pre`` pre-periods, no control units, a constant outcome, bad options, and every
        problem :func:`~analysis.designs.data.panel_input` finds.
    """
    _check_options(placebo_reps, level, min_pre)
    pi = panel_input(data, unit=unit, time=time, outcome=outcome, denominator=denominator)
    rows = _treated_rows(pi, treated)
    t0 = pi.column(start)
    check_pre_periods(pi, t0, min_pre)
    controls = check_controls(pi, rows)
    n0, n1 = len(controls), len(rows)
    y = pi.y[np.concatenate([controls, rows])]
    t1 = y.shape[1] - t0
    fit = sdid_matrix(y, n0, t0)
    tau, effects = fit.estimate, fit.effects

    se, sd_t, reps_used = math.nan, np.full(y.shape[1], np.nan), 0
    if placebo_reps > 1 and n0 > n1:
        placebo = placebo_effects(y[:n0], n1, fit, placebo_reps, np.random.default_rng(seed))
        # synthdid: sqrt((r − 1)/r) · sd, i.e. the sd with divisor r.
        se = float(np.std(placebo[:, t0:].mean(axis=1)))
        sd_t = np.std(placebo, axis=0)
        reps_used = placebo_reps
    se_without_sampling, sampling = se, None
    if pi.weights is not None and math.isfinite(se):
        # The placebos are comparison units: their spread holds a typical comparison unit's
        # sampling noise, not a small treated unit's own (designs/sampling.py).
        sampling = excess_sampling_variance(
            pi.y, pi.weights, rows, controls, post_minus_pre_weights(y.shape[1], t0, fit.lam)
        )
        se = math.sqrt(se**2 + sampling.excess)
        for t in range(t0, y.shape[1]):
            c = np.zeros(y.shape[1])
            c[t], c[:t0] = 1.0, -fit.lam
            extra = excess_sampling_variance(pi.y, pi.weights, rows, controls, c).excess
            sd_t[t] = math.sqrt(sd_t[t] ** 2 + extra)
    z = float(stats.norm.ppf((1 + level) / 2))
    if math.isfinite(se) and se > 0:
        ci = (tau - z * se, tau + z * se)
        p_value = float(2 * stats.norm.sf(abs(tau) / se))
    else:
        ci, p_value = (math.nan, math.nan), math.nan

    omega, lam = fit.omega, fit.lam
    diagnostics: dict[str, Any] = {
        "did_estimate": fit.did,
        "sc_estimate": fit.sc,
        "noise_level": fit.noise_level,
        "zeta_omega": fit.zeta_omega,
        "zeta_lambda": fit.zeta_lambda,
        "min_decrease": fit.min_decrease,
        "n_controls": n0,
        "n_treated": n1,
        "effective_controls": float(1 / np.sum(omega**2)),
        "n_controls_weighted": int(np.sum(omega > 0)),
        "n_time_weighted": int(np.sum(lam > 0)),
        "pre_rmse": float(np.sqrt(np.mean(effects[:t0] ** 2))),
        "omega_iterations": fit.omega_iterations,
        "lambda_iterations": fit.lambda_iterations,
        "se_method": "placebo (synthdid vcov method 'placebo')",
        "placebo_reps": reps_used,
        "se_without_sampling": se_without_sampling,
        "sampling_var_treated": math.nan if sampling is None else sampling.treated,
        "sampling_var_controls": math.nan if sampling is None else sampling.controls,
        "sampling_var_added": math.nan if sampling is None else sampling.excess,
    }
    if placebo_reps == 1:
        diagnostics["placebo_skipped_reason"] = "one placebo replication gives no spread"
    elif placebo_reps > 1 and n0 <= n1:
        diagnostics["placebo_skipped_reason"] = (
            "the placebo method needs more controls than treated units"
        )

    units_co = [str(u) for u in pi.units[controls]]
    unit_weights = (
        pd.DataFrame({"unit": units_co, "weight": omega})
        .sort_values(["weight", "unit"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    time_weights = pd.DataFrame({"period": list(pi.periods[:t0]), "weight": lam})
    periods = [period_timestamp(p) for p in pi.periods]
    treated_names = tuple(str(pi.units[r]) for r in rows)
    observed = y[n0:].mean(axis=0)
    post = np.arange(len(periods)) >= t0
    effect = np.where(post, effects, np.nan)
    low, high = (
        np.where(post, effects - z * sd_t, np.nan),
        np.where(post, effects + z * sd_t, np.nan),
    )
    by_period = pd.DataFrame(
        {
            "period": periods,
            "post": post,
            "observed": observed,
            "counterfactual": observed - effects,
            "counterfactual_low": observed - high,
            "counterfactual_high": observed - low,
            "effect": effect,
            "effect_low": low,
            "effect_high": high,
            "gap": effects,
        }
    )
    return EffectResult(
        method="sdid",
        outcome=outcome,
        treated=treated_names,
        start=periods[t0],
        window=Window(periods[0], periods[t0 - 1], periods[t0], periods[-1]),
        n_pre=t0,
        n_post=t1,
        estimate=tau,
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        ci_level=level,
        p_value=p_value,
        se=se,
        by_period=by_period,
        diagnostics=diagnostics,
        assumptions=sdid_assumptions(pi, treated_names, t0, tau, se, diagnostics),
        method_label=dict(METHOD_LABEL),
        unit=pi.unit_label,
        tables={"unit_weights": unit_weights, "time_weights": time_weights},
    )


# --- summarise --------------------------------------------------------------------------------
