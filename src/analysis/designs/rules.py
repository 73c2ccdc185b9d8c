"""The designs' thresholds and interval methods, one home each.

The numerics apply them and the narrative (:mod:`analysis.designs.narrative`) and the
triangulation state them, so that a threshold changed here changes what every one says.
"""

# Fewer treated units than this: cluster-robust intervals are known to be too narrow
# (Conley & Taber 2011; MacKinnon & Webb 2017), and the assumptions paragraph says so.
FEW_TREATED = 5
# Fewer clusters than this: the cluster-robust standard error is said to be rough.
FEW_CLUSTERS = 30
# Fewer control units than this makes the placebo standard error rough (synthdid's advice:
# the placebo method needs many more controls than treated units).
FEW_CONTROLS = 10
# The pre-period fit is called poor when the synthetic unit explains less than this share of
# the treated unit's pre-period variance.
POOR_FIT_R2 = 0.8
# Cohorts smaller than this make the group-time standard errors unreliable (a one-unit cohort
# contributes no within-cohort variance at all); the assumptions paragraph says so.
SMALL_COHORT = 5
# The χ² Wald pre-test is trusted with at least this many units per restriction. Its covariance
# is estimated from the units, and with many pre-treatment cells it rejects far too often: in
# tests/test_cs.py's design (40 units, 30 cells) it rejected every one of 200 no-pre-trend
# panels, with 120 units 60 %. Beyond that, the sup-t test over the pre-treatment event times
# is used (rejection 13 % at 40 units, 8 % at 120).
WALD_UNITS_PER_TEST = 20

# Synthetic control's two interval methods (``diagnostics["ci_method"]``).
CI_CONSTANT = "constant-effect test inversion (Firpo & Possebom 2018)"
CI_AVERAGE = "average effect from the scaled placebo gaps"


def wald_reliable(restrictions: int, n_units: int) -> bool:
    """Whether the χ² Wald pre-test can be trusted (``WALD_UNITS_PER_TEST`` units each)."""
    return restrictions * WALD_UNITS_PER_TEST <= n_units
