"""An interval and a p-value from placebo estimates, by their order statistics.

When the treated unit's error ``estimate − τ`` is exchangeable with the placebo estimates
``e₁ … eₙ`` (the same estimate with the measure moved to comparison units, each of which had
none), the interval needs neither a normal shape nor a standard error (Conley & Taber 2011, Rev.
Econ. Stat. 93(1)): with ``k = floor((1 − level)/2 · (n + 1))`` and ``e₍₁₎ ≤ … ≤ e₍ₙ₎``,

    [estimate − e₍ₙ₊₁₋ₖ₎, estimate − e₍ₖ₎]

leaves out at most ``(1 − level)/2`` on each side, whatever the shape of the placebo
distribution (a few comparison units far off the others' trend give it heavy tails, where a
t interval on the placebos' standard deviation rejected a true zero 8 % of the time:
benchmarks/sim_designs.py). A 95 % interval needs 39 placebos (k ≥ 1). The p-value of "no
effect" is the equal-tailed rank test the interval inverts:
``min(1, 2 · min(1 + #{e ≥ estimate}, 1 + #{e ≤ estimate}) / (n + 1))``; it is below
``1 − level`` exactly when the interval excludes 0.
"""

from __future__ import annotations

import math

import numpy as np


def min_placebos(level: float) -> int:
    """Fewest placebos for which :func:`order_interval` is bounded (39 at 95 %)."""
    return math.ceil(2 / (1 - level) - 1 - 1e-9)


def order_interval(estimate: float, errors: np.ndarray, level: float) -> tuple[float, float]:
    """The interval of ``estimate`` from the placebo ``errors`` (see the module docstring).

    Parameters
    ----------
    estimate : float
        The treated unit's estimate.
    errors : ndarray, shape (n,)
        Placebo estimates on the treated unit's scale: draws of the estimate's error.
    level : float
        Confidence level.

    Returns
    -------
    tuple of float
        (low, high); (NaN, NaN) with fewer than :func:`min_placebos` errors.
    """
    n = len(errors)
    k = math.floor((1 - level) / 2 * (n + 1) + 1e-9)
    if k == 0:
        return math.nan, math.nan
    s = np.sort(np.asarray(errors, dtype=float))
    return estimate - float(s[n - k]), estimate - float(s[k - 1])


def rank_p_value(estimate: float, errors: np.ndarray) -> float:
    """Equal-tailed permutation p-value of no effect (see the module docstring)."""
    e = np.asarray(errors, dtype=float)
    tail = 1 + min(int(np.sum(e >= estimate)), int(np.sum(e <= estimate)))
    return min(1.0, 2 * tail / (len(e) + 1))
