"""Intervals and p-values from placebo estimates by their order statistics (designs/placebo.py),
worked out by hand.

Tolerances
----------
EXACT = 1e-12
    Order statistics of small integers: only floating-point error remains.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.designs.placebo import min_placebos, order_interval, rank_p_value

EXACT = 1e-12


def test_order_interval_by_hand():
    # placebo errors 1, 2, …, 39 (shuffled: the order must not matter), estimate 10. At 95 %:
    # k = floor(0.025 × 40) = 1, the interval is [10 − 39, 10 − 1].
    errors = np.random.default_rng(0).permutation(np.arange(1.0, 40.0))
    assert order_interval(10.0, errors, 0.95) == (
        pytest.approx(-29.0, abs=EXACT),
        pytest.approx(9.0, abs=EXACT),
    )
    # at 90 %: k = floor(0.05 × 40) = 2, the second largest and second smallest
    assert order_interval(10.0, errors, 0.90) == (
        pytest.approx(-28.0, abs=EXACT),
        pytest.approx(8.0, abs=EXACT),
    )
    # 38 placebos cannot bound a 95 % interval (k = floor(0.025 × 39) = 0)
    low, high = order_interval(10.0, errors[errors <= 38], 0.95)
    assert math.isnan(low) and math.isnan(high)
    assert min_placebos(0.95) == 39 and min_placebos(0.90) == 19


def test_rank_p_value_by_hand():
    errors = np.arange(1.0, 40.0)
    # above every placebo: 1 + 0 in the upper tail, p = 2 · 1 / 40
    assert rank_p_value(40.0, errors) == pytest.approx(0.05, abs=EXACT)
    # one placebo at or above 39: p = 2 · 2 / 40
    assert rank_p_value(39.0, errors) == pytest.approx(0.10, abs=EXACT)
    # below every placebo: the lower tail, p = 2 / 40
    assert rank_p_value(-3.0, errors) == pytest.approx(0.05, abs=EXACT)
    # in the middle: 1 + 20 on each side, 2 · 21 / 40 > 1 is capped at 1
    assert rank_p_value(20.0, errors) == 1.0


def test_p_value_below_alpha_exactly_when_the_interval_excludes_zero():
    rng = np.random.default_rng(1)
    for n in (39, 49, 200):
        errors = rng.standard_t(3, n)
        for estimate in rng.normal(0, 4, 200):
            low, high = order_interval(estimate, errors, 0.95)
            excludes = low > 0 or high < 0
            assert excludes == (rank_p_value(estimate, errors) <= 0.05)
