"""The result every evaluation design returns (ITS, DiD, Callaway–Sant'Anna, synthetic control,
SDID): one small frozen dataclass with the estimate, its interval, the data window, a per-period
table, diagnostics and a plain-language paragraph of assumptions in Vietnamese and English.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis import i18n
from analysis.panel import RATES

LANGS = i18n.LANGUAGES


def outcome_label(outcome: str, lang: str = "vi") -> str:
    """The outcome's name for people, for use inside a sentence (lower-case first letter)."""
    text = i18n.label(outcome, lang)
    return text[:1].lower() + text[1:]


def format_number(x: float, lang: str = "vi", digits: int = 1) -> str:
    """Format a number for prose in ``lang`` (``12.345,7`` / ``12,345.7``); no ``-0,0``."""
    if x is not None and math.isfinite(float(x)) and round(float(x), digits) == 0:
        x = 0.0
    return i18n.number(x, lang, digits)


def format_p_value(p: float, lang: str = "vi") -> str:
    """``p = 0,012`` / ``p < 0,001`` in ``lang``."""
    text = i18n.p_value(p, lang)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


class Window(NamedTuple):
    """The months a design used: first and last pre-period month, first and last post month."""

    pre_start: pd.Timestamp
    pre_end: pd.Timestamp
    post_start: pd.Timestamp
    post_end: pd.Timestamp


@dataclass(frozen=True, eq=False)
class EffectResult:
    """The estimated effect of a measure, as every design returns it.

    Parameters
    ----------
    method : str
        Design code: "its", "did", "cs", "synth", "sdid".
    outcome : str
        Outcome name (a key of ``panel.RATES`` such as "online_rate", or a column name).
    treated : tuple of str
        Names of the treated units (provinces); empty when not given.
    start : pandas.Timestamp
        First month of the measure (first day of the month).
    window : Window
        ``(pre_start, pre_end, post_start, post_end)``, the months the design used.
    n_pre, n_post : int
        Number of pre-period and post-period months (time points) used.
    estimate : float
        The average effect over the post window. For rates in percentage points
        (100 × share difference), otherwise in the outcome's units (see ``unit``).
    ci_low, ci_high : float
        Confidence interval of ``estimate`` at ``ci_level``.
    ci_level : float
        Confidence level, e.g. 0.95.
    p_value : float
        Two-sided p-value of "no effect".
    se : float
        Standard error of ``estimate``.
    by_period : pandas.DataFrame
        One row per month of the window: ``period`` (Timestamp), ``post`` (bool), ``observed``,
        ``counterfactual`` with ``counterfactual_low``/``counterfactual_high``, ``effect`` with
        ``effect_low``/``effect_high`` (NaN before the start). Same units as ``estimate``.
        Designs may add columns (the ITS adds ``fitted``).
    diagnostics : Mapping[str, Any]
        Design-specific checks, name → value (numbers, strings or lists): e.g. for the ITS
        ``level_change``, ``slope_change`` (per month) with ``_se``/``_ci_low``/``_ci_high``/
        ``_p_value``, ``hac_lags``, ``durbin_watson``, ``r_squared``, ``pre_rmse``,
        ``placebo_estimate``, ``placebo_p_value``.
    assumptions : dict
        ``{"vi": str, "en": str}``: the design's assumptions in plain language, and whether
        the diagnostics support them.
    method_label : dict
        ``{"vi": str, "en": str}``: the design's name for people.
    unit : str
        "pp" (percentage points) for rates, "" for an outcome in its own units.
    tables : Mapping[str, pandas.DataFrame]
        Design-specific tables by name, e.g. ``att_gt`` and ``event_study`` (Callaway–Sant'Anna),
        ``weights`` (synthetic control: unit, weight), ``unit_weights``/``time_weights`` (SDID),
        ``placebos`` (placebo-in-space runs). Written to JSON as lists of records.
    """

    method: str
    outcome: str
    treated: tuple[str, ...]
    start: pd.Timestamp
    window: Window
    n_pre: int
    n_post: int
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    se: float
    by_period: pd.DataFrame
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    assumptions: dict[str, str] = field(default_factory=dict)
    method_label: dict[str, str] = field(default_factory=dict)
    unit: str = "pp"
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """Whether the confidence interval excludes zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)

    def summary(self, lang: str = "vi") -> str:
        """One sentence stating the effect, its interval and p-value, in ``lang`` ("vi"/"en").

        Examples
        --------
        vi: "Biện pháp làm tăng tỷ lệ hồ sơ trực tuyến 8,1 điểm phần trăm (KTC 95 %: 5,2 – 11,0;
        p = 0,001)."; en: "The measure increased the online submission rate by 8.1 percentage
        points (95% CI 5.2 to 11.0; p = 0.001)."
        """
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        size = format_number(abs(self.estimate), lang, 1)
        low, high = format_number(self.ci_low, lang, 1), format_number(self.ci_high, lang, 1)
        level = round(self.ci_level * 100)
        p = format_p_value(self.p_value, lang)
        label = outcome_label(self.outcome, lang)
        up = self.estimate >= 0
        if lang == "vi":
            unit = " điểm phần trăm" if self.unit == "pp" else ""
            verb = "làm tăng" if up else "làm giảm"
            text = f"Biện pháp {verb} {label} {size}{unit} (KTC {level} %: {low} – {high}; {p})"
            if not self.significant:
                text += ", nhưng khác biệt không có ý nghĩa thống kê"
        else:
            unit = " percentage points" if self.unit == "pp" else ""
            verb = "increased" if up else "decreased"
            article = "the " if self.outcome in RATES else ""
            text = (
                f"The measure {verb} {article}{label} by {size}{unit} "
                f"({level}% CI {low} to {high}; {p})"
            )
            if not self.significant:
                text += ", not statistically significant"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view: dates as ISO strings, NaN as None, numpy as Python."""
        post = (
            self.by_period[self.by_period["post"]] if "post" in self.by_period else self.by_period
        )
        by_period = [
            {
                "period": _iso(row["period"]),
                "estimate": _plain(row["effect"]),
                "ci_low": _plain(row["effect_low"]),
                "ci_high": _plain(row["effect_high"]),
                "observed": _plain(row.get("observed")),
                "counterfactual": _plain(row.get("counterfactual")),
            }
            for row in post.to_dict("records")
        ]
        return {
            "method": self.method,
            "method_label": dict(self.method_label),
            "outcome": self.outcome,
            "unit": self.unit,
            "treated": list(self.treated),
            "start": _iso(self.start),
            "window": {name: _iso(value) for name, value in self.window._asdict().items()},
            "n_pre": int(self.n_pre),
            "n_post": int(self.n_post),
            "estimate": _plain(self.estimate),
            "se": _plain(self.se),
            "ci": [_plain(self.ci_low), _plain(self.ci_high)],
            "ci_level": _plain(self.ci_level),
            "p_value": _plain(self.p_value),
            "by_period": by_period,
            "diagnostics": {name: _plain(value) for name, value in self.diagnostics.items()},
            "assumptions": dict(self.assumptions),
            "summary": {lang: self.summary(lang) for lang in LANGS},
            "tables": {
                name: [_plain(row) for row in table.to_dict("records")]
                for name, table in self.tables.items()
            },
        }


def _iso(value: Any) -> str | int | None:
    """A period for JSON: dates as ISO strings; integer periods (years, event times) as is."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return pd.Timestamp(value).date().isoformat()


def _plain(value: Any) -> Any:
    """Turn numpy/pandas scalars and containers into JSON-ready Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return _iso(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
