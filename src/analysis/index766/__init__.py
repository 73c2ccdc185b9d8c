"""The Decision 766 index engine: scores from dossier records, explained.

- :mod:`.rules`: the versioned rules file (``config/index766/rules-2026.1.yaml``), its
  vocabulary of conditions, loading and validation.
- :mod:`.engine`: :func:`score` - DuckDB over Parquet, every component per unit and period.
- :mod:`.explain`: :func:`explain` (points lost, change by group, the dossiers behind them) and
  :func:`what_if` (points a target rate would add).
"""

from analysis.index766.engine import Period, ScoreResult, parse_period, score
from analysis.index766.explain import Explanation, explain, period_text, what_if
from analysis.index766.rules import DEFAULT_RULES, Rules, load_rules

__all__ = [
    "DEFAULT_RULES",
    "Explanation",
    "Period",
    "Rules",
    "ScoreResult",
    "explain",
    "load_rules",
    "parse_period",
    "period_text",
    "score",
    "what_if",
]
