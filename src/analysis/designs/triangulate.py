"""Triangulation: what several designs say together about one measure.

One design is never enough for a policy audience: the interrupted time series leans on the
province's own earlier trend, difference-in-differences, Callaway–Sant'Anna, synthetic control
and SDID on comparison provinces. :func:`triangulate` lines their results up, classifies the
pattern into a verdict and writes a short paragraph (Vietnamese and English) that a brief
prints as is: where the designs agree, where they disagree and why it matters, and which to
trust more given each design's own diagnostics.

Verdicts
--------
Each result is put in a class: significant increase (its interval above 0), significant
decrease (below 0) or not significant (the interval contains 0).

- ``single``: one result.
- ``disagree_sign``: at least one significant increase and one significant decrease.
- ``agree_effect``: every result significant, all in the same direction.
- ``agree_no_effect``: no result significant.
- ``disagree_significance``: some significant (all in one direction), some not.

The ``agrees`` column marks the results in the consensus class: the most common class, ties
broken in favour of the class of the result with the fewest diagnostic warnings, then the
narrowest interval. ``overlaps`` says whether a result's interval meets every other one (the
sizes are consistent); under ``agree_effect`` the text names the results whose interval meets
none of the others'.

Diagnostics read (each design's ``diagnostics``; missing keys are skipped)
--------------------------------------------------------------------------
- ITS: ``placebo_p_value`` < 0.05 — the placebo in time finds an effect where there is none.
- Any design: a pre-trend test p-value < 0.05 under one of ``PRETEST_KEYS``
  (Callaway–Sant'Anna reports ``pretest_p_value``).
- Comparison designs (did, cs, synth, sdid): ``pre_r_squared`` < ``POOR_FIT_R2`` (the synthetic
  control's own threshold), ``pre_outside_donor_range`` > ``OUTSIDE_RANGE``, and for a result
  that claims an effect, a pre-period fit error (``PRE_FIT_KEYS``: ``pre_rmspe`` of synth,
  ``pre_rmse`` of SDID, ``pre_gap_rmse`` of DiD) at least as large as the estimate: the gap
  before the measure is then as big as the effect it is compared with. The ITS's ``pre_rmse``
  is residual noise, not misfit, and is not used.
- DiD: ``twfe_negative_weights`` > 0 (staggered adoption), ``n_treated`` < ``FEW_TREATED``.

The synthetic control's placebo-in-space p-value is its inference (``p_value``), not a check;
but when its smallest attainable value (``min_p_value``, 1 / (donors + 1)) is above α, a
non-significant result is said to be uninformative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import i18n
from analysis.designs.result import EffectResult, format_number, format_p_value, outcome_label
from analysis.designs.rules import FEW_TREATED, POOR_FIT_R2
from analysis.errors import WorkbenchError
from analysis.panel import RATES

VERDICTS = (
    "agree_effect",
    "agree_no_effect",
    "disagree_sign",
    "disagree_significance",
    "single",
)
# Designs whose counterfactual is built from the province's own past; all others compare.
OWN_TREND = ("its",)
COMPARISON = ("did", "cs", "synth", "sdid")
ALPHA = 0.05
PRETEST_KEYS = (
    "pretest_p_value",
    "pre_trend_p_value",
    "pretrend_p_value",
    "pre_test_p_value",
    "event_study_pretest_p_value",
)
PRE_FIT_KEYS = ("pre_rmspe", "pre_rmse", "pre_gap_rmse")
OUTSIDE_RANGE = 0.25  # share of pre-periods outside every donor's range (synth_control)

UP, DOWN, NONE = "up", "down", "none"


@dataclass(frozen=True, eq=False)
class Triangulation:
    """Several designs' results side by side, with a verdict and a paragraph for readers.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per result, in the order given: ``method`` (code), ``label`` (the design's name
        in ``lang``), ``estimate``, ``ci_low``, ``ci_high``, ``ci_level``, ``p_value``,
        ``significant``, ``agrees`` (in the consensus class, see the module docstring),
        ``overlaps`` (the interval meets every other result's),
        ``issues`` (diagnostic warnings in ``lang``, joined by "; ", empty when none).
    verdict : str
        One of ``VERDICTS``.
    text : dict
        ``{"vi": str, "en": str}``: the paragraph, ready to print.
    unit : str
        "pp" or "" (all results share it).
    headline : dict
        ``{"vi": str, "en": str}``: the verdict in a few words.
    """

    table: pd.DataFrame
    verdict: str
    text: dict[str, str]
    unit: str = "pp"
    headline: dict[str, str] = field(default_factory=dict)


# --- checks -----------------------------------------------------------------------------------


def _number(diagnostics: Any, key: str) -> float:
    value = diagnostics.get(key) if hasattr(diagnostics, "get") else None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def _first(diagnostics: Any, keys: Sequence[str]) -> float:
    for key in keys:
        value = _number(diagnostics, key)
        if math.isfinite(value):
            return value
    return math.nan


def _issues(result: EffectResult) -> tuple[list[tuple[str, dict[str, Any]]], set[str]]:
    """Warnings from a result's diagnostics as (label key, values), and the checks run."""
    d = result.diagnostics
    issues: list[tuple[str, dict[str, Any]]] = []
    checks: set[str] = set()
    if result.method == "its":
        p = _number(d, "placebo_p_value")
        if math.isfinite(p):
            checks.add("tri_check_placebo")
            if p < ALPHA:
                issues.append(("tri_issue_placebo", {"p": p}))
    p = _first(d, PRETEST_KEYS)
    if math.isfinite(p):
        checks.add("tri_check_pretrend")
        if p < ALPHA:
            issues.append(("tri_issue_pretrend", {"p": p}))
    if result.method in COMPARISON:
        r2 = _number(d, "pre_r_squared")
        if math.isfinite(r2):
            checks.add("tri_check_fit")
            if r2 < POOR_FIT_R2:
                issues.append(("tri_issue_fit_r2", {"r2": r2}))
        outside = _number(d, "pre_outside_donor_range")
        if math.isfinite(outside):
            checks.add("tri_check_fit")
            if outside > OUTSIDE_RANGE:
                issues.append(("tri_issue_outside", {"pct": outside}))
        rmspe = _first(d, PRE_FIT_KEYS)
        if math.isfinite(rmspe):
            checks.add("tri_check_fit")
            if result.significant and rmspe >= abs(result.estimate):
                issues.append(("tri_issue_fit_rmspe", {"rmspe": rmspe}))
    if result.method == "did":
        negative = _number(d, "twfe_negative_weights")
        if math.isfinite(negative):
            checks.add("tri_check_twfe")
            if negative > 0:
                issues.append(("tri_issue_twfe", {"n": int(negative)}))
        treated = _number(d, "n_treated")
        placebo = d.get("inference") == "placebo" if isinstance(d, Mapping) else False
        if math.isfinite(treated) and treated < FEW_TREATED and not placebo:
            issues.append(("tri_issue_few_treated", {"n": int(treated)}))
    return issues, checks


def _issue_text(key: str, values: dict[str, Any], unit: str, lang: str) -> str:
    shown: dict[str, str] = {}
    for name, value in values.items():
        if name == "p":
            shown[name] = format_p_value(value, lang)
        elif name == "pct":
            shown[name] = i18n.percent(value, lang, 0)
        elif name == "r2":
            shown[name] = format_number(value, lang, 2)
        elif name == "rmspe":
            shown[name] = _amount(value, unit, lang)
        else:
            shown[name] = str(value)
    return i18n.label(key, lang).format(**shown)


# --- prose ------------------------------------------------------------------------------------


def _amount(x: float, unit: str, lang: str) -> str:
    return format_number(x, lang, 1) + (i18n.label("tri_unit_pp", lang) if unit == "pp" else "")


def _join(items: Sequence[str], lang: str) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {i18n.label('tri_and', lang)} {items[-1]}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _range(results: Sequence[EffectResult], unit: str, lang: str) -> str:
    values = [r.estimate for r in results]
    low, high = min(values), max(values)
    if len(values) == 1 or round(low, 1) == round(high, 1):
        return _amount(values[0], unit, lang)
    return i18n.label("range", lang).format(
        low=format_number(low, lang, 1), high=_amount(high, unit, lang)
    )


def _outcome(results: Sequence[EffectResult], lang: str) -> str:
    """The outcome's name for a sentence: a rate's label where any result names one."""
    for r in results:
        name = r.outcome
        if r.unit == "pp" and name not in RATES:
            # Panel designs name the numerator column; find the rate it is the numerator of.
            name = next((rate for rate, (num, _) in RATES.items() if num == name), name)
        if name in RATES:
            label = outcome_label(name, lang)
            return f"the {label}" if lang == "en" else label
    return i18n.label("tri_outcome_generic", lang)


def _names(results: Sequence[EffectResult], lang: str) -> list[str]:
    """Design names for prose; the full labels when one design appears twice."""
    codes = [r.method for r in results]
    duplicated = len(set(codes)) < len(codes)
    out = []
    for r in results:
        key = f"tri_method_{r.method}"
        short = i18n.label(key, lang)
        if duplicated or short == key:
            label = r.method_label.get(lang) or r.method
            short = label[:1].lower() + label[1:] if lang == "vi" else label
        out.append(short)
    return out


def _has_interval(result: EffectResult) -> bool:
    return not (math.isnan(result.ci_low) or math.isnan(result.ci_high))


def _class(result: EffectResult) -> str:
    """Significant increase, decrease, or neither: from the interval, else from the p-value
    (a synthetic control's test-inversion interval may be empty while its p-value exists)."""
    if _has_interval(result):
        significant = result.ci_low > 0 or result.ci_high < 0
    else:
        significant = result.p_value < 1 - result.ci_level
    if not significant:
        return NONE
    return UP if result.estimate > 0 else DOWN


def _overlap(a: EffectResult, b: EffectResult) -> bool:
    if not (_has_interval(a) and _has_interval(b)):
        return True  # cannot tell: do not claim a disagreement on size
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def _verdict(classes: Sequence[str]) -> str:
    if len(classes) == 1:
        return "single"
    if UP in classes and DOWN in classes:
        return "disagree_sign"
    if NONE not in classes:
        return "agree_effect"
    if set(classes) == {NONE}:
        return "agree_no_effect"
    return "disagree_significance"


def _consensus(results: Sequence[EffectResult], classes: Sequence[str], n_issues: list[int]):
    counts = {c: classes.count(c) for c in set(classes)}
    top = max(counts.values())
    tied = {c for c, n in counts.items() if n == top}
    if len(tied) == 1:
        return next(iter(tied))
    # Ties: the class of the result with the fewest warnings, then the narrowest interval.
    order = sorted(
        (i for i, c in enumerate(classes) if c in tied),
        key=lambda i: (n_issues[i], results[i].ci_high - results[i].ci_low),
    )
    return classes[order[0]]


def _findings(
    verdict: str,
    results: Sequence[EffectResult],
    classes: Sequence[str],
    names: list[str],
    unit: str,
    lang: str,
) -> list[str]:
    label = i18n.label
    outcome = _outcome(results, lang)
    if verdict == "single":
        return [label("tri_single", lang).format(name=names[0]), results[0].summary(lang)]
    if verdict in ("agree_effect", "agree_no_effect"):
        key = "tri_" + verdict
        values = [r.estimate for r in results]
        text = label(key, lang).format(
            n=len(results),
            names=_join(names, lang),
            direction=label("tri_up" if classes[0] == UP else "tri_down", lang),
            outcome=outcome,
            low=format_number(min(values), lang, 1),
            high=format_number(max(values), lang, 1),
            unit=label("tri_unit_pp", lang) if unit == "pp" else "",
        )
        out = [text]
        if verdict == "agree_effect":
            apart = [
                names[i]
                for i, r in enumerate(results)
                if not any(_overlap(r, o) for j, o in enumerate(results) if j != i)
            ]
            out.append(
                label("tri_overlap_no", lang).format(names=_join(apart, lang))
                if apart
                else label("tri_overlap_yes", lang)
            )
        return out
    pick = {c: [i for i, k in enumerate(classes) if k == c] for c in (UP, DOWN, NONE)}
    ns = [results[i] for i in pick[NONE]]
    ns_names = _join([names[i] for i in pick[NONE]], lang)
    if verdict == "disagree_sign":
        out = [
            label("tri_disagree_sign", lang).format(
                up_names=_join([names[i] for i in pick[UP]], lang),
                down_names=_join([names[i] for i in pick[DOWN]], lang),
                up_range=_range([results[i] for i in pick[UP]], unit, lang),
                down_range=_range([results[i] for i in pick[DOWN]], unit, lang),
                outcome=outcome,
            )
        ]
        if ns:
            out.append(
                label("tri_not_significant", lang).format(
                    names=ns_names, range=_range(ns, unit, lang)
                )
            )
        return out
    significant = pick[UP] or pick[DOWN]
    return [
        label("tri_disagree_significance", lang).format(
            sig_names=_join([names[i] for i in significant], lang),
            ns_names=ns_names,
            direction=label("tri_up" if pick[UP] else "tri_down", lang),
            outcome=outcome,
            sig_range=_range([results[i] for i in significant], unit, lang),
            ns_range=_range(ns, unit, lang),
        )
    ]


def _powerless(
    results: Sequence[EffectResult], classes: Sequence[str], names: list[str], lang: str
) -> list[str]:
    """Non-significant results whose test could not have been significant: a placebo test
    over few units has a smallest p-value (``min_p_value``, 1 / (donors + 1)) above α."""
    out = []
    for r, c, name in zip(results, classes, names, strict=True):
        smallest = _number(r.diagnostics, "min_p_value")
        if c == NONE and math.isfinite(smallest) and smallest > 1 - r.ci_level:
            text = i18n.label("tri_min_p", lang).format(
                name=name, p=format_number(smallest, lang, 3)
            )
            out.append(text)
    return out


def _why(verdict: str, results: Sequence[EffectResult], names: list[str], lang: str) -> list[str]:
    if verdict == "single":
        return []
    label = i18n.label
    own = [n for r, n in zip(results, names, strict=True) if r.method in OWN_TREND]
    comparison = [n for r, n in zip(results, names, strict=True) if r.method in COMPARISON]
    out = []
    both = bool(own) and bool(comparison)
    if both:
        out.append(
            label("tri_why_both", lang).format(
                own=_join(own, lang), comparison=_join(comparison, lang)
            )
        )
    if verdict.startswith("agree"):
        if len({r.method for r in results}) > 1:
            out.append(label("tri_why_agree", lang))
    elif both:
        out.append(label("tri_why_disagree_both", lang))
    elif len(comparison) == len(results):
        out.append(label("tri_why_disagree_comparison", lang))
    else:
        out.append(label("tri_why_disagree_other", lang))
    return out


def _trust(names: list[str], issues: list[list[str]], checks: set[str], lang: str) -> list[str]:
    label = i18n.label
    if not checks and not any(issues):
        return [label("tri_trust_no_checks", lang)]
    flagged = [
        f"{name}: {', '.join(found)}" for name, found in zip(names, issues, strict=True) if found
    ]
    clean = [name for name, found in zip(names, issues, strict=True) if not found]
    if not flagged:
        order = ["tri_check_placebo", "tri_check_pretrend", "tri_check_fit", "tri_check_twfe"]
        shown = [label(c, lang) for c in order if c in checks]
        return [label("tri_trust_none_flagged", lang).format(checks=", ".join(shown))]
    if len(names) == 1 or not clean:
        return [label("tri_trust_all_flagged", lang).format(flagged="; ".join(flagged))]
    return [
        label("tri_trust_some", lang).format(clean=_join(clean, lang), flagged="; ".join(flagged))
    ]


# --- public -----------------------------------------------------------------------------------


def triangulate(results: Sequence[EffectResult], lang: str = "vi") -> Triangulation:
    """Compare the estimates of several designs and say what they show together.

    Parameters
    ----------
    results : sequence of EffectResult
        From ``fit_its``, ``fit_did``, ``fit_cs``, ``fit_synth``, ``fit_sdid`` (any subset, any
        order; the same design may appear twice, e.g. the OLS and binomial ITS).
    lang : {"vi", "en"}
        Language of the table's ``label`` and ``issues`` columns; ``text`` has both.

    Returns
    -------
    Triangulation
        ``table``, ``verdict`` (see the module docstring), ``text`` {"vi", "en"}, ``unit``,
        ``headline``.

    Raises
    ------
    WorkbenchError
        No results, something that is not an EffectResult, an estimate or interval that is not
        a number, or results in different units (percentage points and raw units mixed).

    Examples
    --------
    >>> tri = triangulate([its_result, synth_result])  # doctest: +SKIP
    >>> tri.verdict, print(tri.text["vi"])  # doctest: +SKIP
    """
    i18n.check_lang(lang)
    results = list(results)
    if not results:
        raise WorkbenchError(
            "nothing to triangulate: no results", hint="give the results of one or more designs"
        )
    for i, r in enumerate(results):
        if not isinstance(r, EffectResult):
            raise WorkbenchError(
                f"result {i + 1} is a {type(r).__name__}, not an EffectResult",
                hint="give what fit_its, fit_did, fit_cs, fit_synth or fit_sdid return",
            )
        if not math.isfinite(r.estimate):
            raise WorkbenchError(
                f"the {r.method} result has no estimate ({r.estimate})",
                hint="check the design's input; nothing to compare",
            )
        if not _has_interval(r) and math.isnan(r.p_value):
            raise WorkbenchError(
                f"the {r.method} result has neither an interval nor a p-value",
                hint="rerun the design with its inference (e.g. placebos) turned on",
            )
    units = {r.unit for r in results}
    if len(units) > 1:
        shown = ", ".join(f"{r.method}: {r.unit or 'raw units'}" for r in results)
        raise WorkbenchError(
            f"the results are in different units ({shown})",
            hint="run every design on the same outcome: all with --denominator (percentage "
            "points) or all without",
        )
    unit = units.pop()

    classes = [_class(r) for r in results]
    found = [_issues(r) for r in results]
    checks: set[str] = set().union(*(c for _, c in found))
    n_issues = [len(i) for i, _ in found]
    verdict = _verdict(classes)
    consensus = _consensus(results, classes, n_issues)
    agrees = [c == consensus for c in classes]
    overlaps = [
        all(_overlap(r, o) for j, o in enumerate(results) if j != i) for i, r in enumerate(results)
    ]

    text, headline = {}, {}
    for language in i18n.LANGUAGES:
        names = _names(results, language)
        issues = [
            [_issue_text(key, values, unit, language) for key, values in found_i]
            for found_i, _ in found
        ]
        parts = _findings(verdict, results, classes, names, unit, language)
        parts += _powerless(results, classes, names, language)
        parts += _why(verdict, results, names, language)
        parts += _trust(names, issues, checks, language)
        text[language] = " ".join(_capital(p) for p in parts)
        headline[language] = i18n.label(f"tri_verdict_{verdict}", language)

    table = pd.DataFrame(
        {
            "method": [r.method for r in results],
            "label": [r.method_label.get(lang) or r.method for r in results],
            "estimate": [float(r.estimate) for r in results],
            "ci_low": [float(r.ci_low) for r in results],
            "ci_high": [float(r.ci_high) for r in results],
            "ci_level": [float(r.ci_level) for r in results],
            "p_value": [float(r.p_value) for r in results],
            "significant": [c != NONE for c in classes],
            "agrees": np.array(agrees, dtype=bool),
            "overlaps": np.array(overlaps, dtype=bool),
            "issues": [
                "; ".join(_issue_text(key, values, unit, lang) for key, values in found_i)
                for found_i, _ in found
            ],
        }
    )
    return Triangulation(table=table, verdict=verdict, text=text, unit=unit, headline=headline)
