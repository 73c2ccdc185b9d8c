"""The treated units' own sampling noise, for designs whose errors come from comparison units.

A rate built from counts, p̂_t = 100 · x_t / n_t (percentage points), carries binomial sampling
noise of variance

    v_t = p̂_t · (100 − p̂_t) / n_t        (pp²)

on top of whatever the unit's true rate does. The DiD and SDID estimates are linear in the
treated units' rates: with ``c_t`` the weight of period t (DiD: 1/T₁ after the start and −1/T₀
before, the post-minus-pre mean; SDID: 1/T₁ after and −λ_t before), the treated average enters
as Σ_t c_t · (1/N₁) Σ_i p̂_it, whose sampling variance (months and units independent given the
true rates) is

    V_tr = (1/N₁²) Σ_i Σ_t c_t² · v_it.

The placebo standard error (and, with a handful of treated units, the clustered one) is the
spread of the same estimate with the measure moved to comparison units, so it already holds the
sampling noise of a typical comparison unit, on average V_co = (1/N₁) · mean_j Σ_t c_t² · v_jt
for a placebo group of N₁ comparison units. When the treated units are smaller than the
comparison units (300 dossiers a month against tens of thousands) V_tr is larger than V_co and
the placebo spread is too narrow for them; the difference is added:

    SE² = SE²_placebo + max(0, V_tr − V_co).

The floor at 0 keeps a large treated unit's interval as it was: its sampling noise is smaller
than the comparison units' and the placebo spread already covers it. v_t is the plug-in
binomial variance; extra-binomial dispersion (dossiers arriving in batches) is not modelled here,
since the unit's month-to-month noise the placebos carry includes it for units of their size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SamplingVariance:
    """The treated units' own sampling variance against the comparison units'.

    Attributes
    ----------
    treated : float
        V_tr (pp²): the binomial sampling variance of the treated average's weighted
        post-minus-pre contrast.
    controls : float
        V_co (pp²): the same for a placebo group of as many comparison units (the mean).
    excess : float
        max(0, V_tr − V_co), the variance added to the placebo (or clustered) variance.
    """

    treated: float
    controls: float
    excess: float


def binomial_variance(rate_pp: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """Binomial sampling variance p̂(100 − p̂)/n of a rate in percentage points (pp²).

    Parameters
    ----------
    rate_pp : ndarray
        Rates in percentage points (0–100).
    denominators : ndarray
        Their denominators (same shape, all > 0).

    Returns
    -------
    ndarray
        Same shape as the inputs.
    """
    rate = np.asarray(rate_pp, dtype=float)
    return rate * (100.0 - rate) / np.asarray(denominators, dtype=float)


def post_minus_pre_weights(
    n_periods: int, start: int, pre_weights: np.ndarray | None = None
) -> np.ndarray:
    """Period weights c_t of a post-minus-pre contrast: 1/T₁ from ``start`` on, minus
    ``pre_weights`` (default 1/T₀ each) before it.

    Parameters
    ----------
    n_periods : int
        T, all periods.
    start : int
        T₀, the first post period's column.
    pre_weights : ndarray, shape (T₀,), optional
        Weights of the pre-periods (SDID's λ, summing to 1).

    Returns
    -------
    ndarray, shape (T,)
    """
    c = np.zeros(n_periods)
    c[start:] = 1.0 / (n_periods - start)
    c[:start] = -(np.full(start, 1.0 / start) if pre_weights is None else pre_weights)
    return c


def excess_sampling_variance(
    rate_pp: np.ndarray,
    denominators: np.ndarray,
    treated_rows: Sequence[int],
    control_rows: Sequence[int],
    period_weights: np.ndarray,
) -> SamplingVariance:
    """V_tr, V_co and their excess for a contrast ``period_weights`` (see the module docstring).

    Parameters
    ----------
    rate_pp, denominators : ndarray, shape (n_units, T)
        Every unit's rate (pp) and denominator.
    treated_rows, control_rows : sequence of int
        Rows of the treated and of the comparison units.
    period_weights : ndarray, shape (T,)
        c_t, e.g. from :func:`post_minus_pre_weights`.

    Returns
    -------
    SamplingVariance
    """
    per_unit = binomial_variance(rate_pp, denominators) @ (np.asarray(period_weights) ** 2)
    treated, controls = np.asarray(treated_rows, int), np.asarray(control_rows, int)
    n1 = len(treated)
    v_tr = float(per_unit[treated].sum()) / n1**2
    v_co = float(per_unit[controls].mean()) / n1
    return SamplingVariance(treated=v_tr, controls=v_co, excess=max(0.0, v_tr - v_co))
