"""The quarterly evaluation report: one province, one quarter, for the provincial leadership.

``notebooks/30_quarterly_report.ipynb`` calls :func:`prepare` once and then one function per
part; each returns a block of :mod:`analysis.documents.blocks`. What the report holds:

- the Decision 766 score and its groups against last quarter and the national ranking
  (:mod:`analysis.index766`, from the dossier records beside the panel);
- every indicator against the Government's targets (``config/targets.yaml``) with the months
  to reach it at the current trend;
- the measures in force and their estimated effects (the brief's ITS, :func:`brief.fit_measure`);
- the weakest components with the agencies behind their failing dossiers;
- recommendations derived from those numbers by the rules of ``config/recommendations.yaml``.

Quarters follow the map in force: those ending before 1 July 2025 use the 63 old provinces,
later ones the 34 new provinces, whose earlier quarters are the exact sums of their old ones.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from analysis import config, i18n, measures, panel, registry
from analysis.documents import base
from analysis.documents.base import (
    MIN_RANKED,
    OFFICIAL_TOTAL,
    groups_frame,
    measure_name,
    official_points,
)
from analysis.documents.blocks import Bullets, Chart, Meta, Paragraph, Section, Table
from analysis.errors import WorkbenchError
from analysis.files import sha256
from analysis.quarters import boundary_of, check_covered, parse_quarter, quarter_text
from analysis.registry import Province
from analysis.sources import Source, dossier_files, dossiers_beside, open_panel

TARGETS_FILE = config.ROOT / "config" / "targets.yaml"
RECOMMENDATIONS_FILE = config.ROOT / "config" / "recommendations.yaml"
TREND_MONTHS = 12  # months of the trend that prices the months to target
CHART_MONTHS = 24  # months of history in the indicator chart
MONTHS_SHOWN = 120  # beyond ten years a linear extrapolation says only "far off"
WEAKEST_SHOWN = 3  # components listed with their agencies
AGENCIES_NAMED = 3  # agencies named per component
SUBJECT_FIELDS = {
    "indicator": {"status", "gap_pp", "slope_pp", "months_to_target", "current_pct"},
    "component": {"lost", "points", "max_points", "rate_pct", "dossiers_failed"},
    "measure": {"verdict", "effect_pp", "months_in_force"},
    "index": {"rank", "n_units", "change", "bottom_quarter"},
}
_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
}


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One Government target: ``indicator`` (a rate) should reach ``value`` by ``deadline``."""

    indicator: str
    value: float
    deadline: pd.Period | None
    basis: dict[str, str]


@dataclass(frozen=True)
class Rule:
    """One recommendation rule of ``config/recommendations.yaml``."""

    id: str
    subject: str
    when: tuple[tuple[str, str, object], ...]
    priority: int
    text: dict[str, str]

    def holds(self, facts: dict) -> bool:
        """True when every condition holds (a missing or NaN fact fails its condition)."""
        for name, op, value in self.when:
            fact = facts.get(name)
            if fact is None or (isinstance(fact, float) and math.isnan(fact)):
                return False
            if not _OPS[op](fact, value):
                return False
        return True


def _config_error(
    path: Path, where: str, problem: str, hint: str, line: int | None = None
) -> WorkbenchError:
    at = f"{path}, line {line}" if line else str(path)
    return WorkbenchError(f"{at}: {where}: {problem}", hint=hint)


def _read_yaml(path: Path) -> tuple[dict, str]:
    """The parsed file and its text (for :func:`_entry_lines`)."""
    from analysis.files import read_text

    try:
        text = read_text(path)
        doc = yaml.safe_load(text)
    except FileNotFoundError:
        raise WorkbenchError(f"configuration file not found: {path}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise WorkbenchError(
            f"{path}{line}: not valid YAML ({getattr(err, 'problem', None) or err})",
            hint="check the indentation and the quotes around texts with ':' or '#'",
        ) from None
    if not isinstance(doc, dict):
        raise WorkbenchError(f"{path}: expected a mapping at the top")
    return doc, text


def _entry_lines(text: str, key: str) -> list[int]:
    """The line of each entry of the top-level list ``key``, so that errors can name it."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if getattr(k, "value", None) == key and isinstance(v, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in v.value]
    return []


@lru_cache(maxsize=4)
def load_targets(path: Path = TARGETS_FILE) -> dict[str, Target]:
    """Read and check ``config/targets.yaml``: indicator -> :class:`Target`.

    Raises
    ------
    WorkbenchError
        Naming the entry and key of any mistake (unknown indicator, value outside (0, 1], bad
        deadline, missing basis text, an indicator twice).
    """
    doc, text = _read_yaml(path)
    lines = _entry_lines(text, "targets")
    out: dict[str, Target] = {}
    for i, raw in enumerate(doc.get("targets") or [], start=1):
        where = f"target {i}"
        line = lines[i - 1] if i <= len(lines) else None
        if not isinstance(raw, dict):
            raise _config_error(
                path, where, "is not a mapping", "see the schema at the top", line=line
            )
        ind = raw.get("indicator")
        if ind not in panel.RATES:
            raise _config_error(
                path,
                where,
                f"indicator {ind!r} is unknown",
                f"use one of {', '.join(panel.RATES)}",
                line=line,
            )
        if ind in out:
            raise _config_error(
                path, where, f"{ind} has a target already", "keep one per rate", line=line
            )
        value = raw.get("value")
        if not isinstance(value, int | float) or not 0 < value <= 1:
            raise _config_error(
                path,
                where,
                f"value {value!r} is not a share",
                "write e.g. 0.5 for 50 %",
                line=line,
            )
        deadline = raw.get("deadline")
        try:
            deadline = pd.Period(str(deadline), "M") if deadline else None
        except ValueError:
            raise _config_error(
                path,
                where,
                f"deadline {deadline!r} is not a month",
                "write YYYY-MM",
                line=line,
            ) from None
        basis = {lang: str(raw.get(f"basis_{lang}") or "") for lang in i18n.LANGUAGES}
        if not all(basis.values()):
            raise _config_error(
                path, where, "basis_vi and basis_en are required", "cite it", line=line
            )
        out[ind] = Target(ind, float(value), deadline, basis)
    return out


@lru_cache(maxsize=4)
def load_recommendations(path: Path = RECOMMENDATIONS_FILE) -> tuple[int, tuple[Rule, ...]]:
    """Read and check ``config/recommendations.yaml``: (max shown, rules by priority).

    Raises
    ------
    WorkbenchError
        Naming the rule and key of any mistake (unknown subject, field or operator, missing
        text, a placeholder the subject does not provide, duplicate id).
    """
    doc, text = _read_yaml(path)
    lines = _entry_lines(text, "rules")
    shown = doc.get("max_shown", 6)
    if not isinstance(shown, int) or shown < 1:
        raise _config_error(path, "max_shown", f"{shown!r} is not a positive whole number", "")
    rules, seen = [], set()
    for i, raw in enumerate(doc.get("rules") or [], start=1):
        rid = raw.get("id") if isinstance(raw, dict) else None
        where = f"rule {i} ({rid})" if rid else f"rule {i}"
        line = lines[i - 1] if i <= len(lines) else None
        if not rid or rid in seen:
            raise _config_error(
                path, where, "needs a unique id", "e.g. id: indicator-late", line=line
            )
        seen.add(rid)
        subject = raw.get("subject")
        if subject not in SUBJECT_FIELDS:
            raise _config_error(
                path,
                where,
                f"subject {subject!r} is unknown",
                f"use {', '.join(SUBJECT_FIELDS)}",
                line=line,
            )
        when = []
        for cond in raw.get("when") or []:
            if not (isinstance(cond, list) and len(cond) == 3):
                raise _config_error(
                    path, where, f"condition {cond!r}", "write [field, op, value]", line=line
                )
            name, op, value = cond
            if name not in SUBJECT_FIELDS[subject]:
                raise _config_error(
                    path,
                    where,
                    f"field {name!r} is not a {subject} field",
                    f"{subject} fields: {', '.join(sorted(SUBJECT_FIELDS[subject]))}",
                    line=line,
                )
            if op not in _OPS:
                raise _config_error(
                    path, where, f"operator {op!r}", f"use {' '.join(_OPS)}", line=line
                )
            when.append((name, op, value))
        priority = raw.get("priority")
        if not isinstance(priority, int) or not 1 <= priority <= 9:
            raise _config_error(
                path, where, f"priority {priority!r}", "a whole number 1 to 9", line=line
            )
        text = {lang: raw.get(lang) for lang in i18n.LANGUAGES}
        for lang, words in text.items():
            if not isinstance(words, str) or not words.strip():
                raise _config_error(
                    path, where, f"the {lang} text is missing", f"add `{lang}:`", line=line
                )
            unknown = set(re.findall(r"{(\w+)}", words)) - set(PLACEHOLDERS[subject])
            if unknown:
                raise _config_error(
                    path,
                    where,
                    f"placeholder {{{sorted(unknown)[0]}}} in the {lang} text",
                    f"{subject} placeholders: {', '.join(PLACEHOLDERS[subject])}",
                    line=line,
                )
        rules.append(Rule(rid, subject, tuple(when), priority, text))
    return shown, tuple(sorted(rules, key=lambda r: r.priority))


PLACEHOLDERS = {
    "indicator": ("indicator", "current", "target", "gap", "slope", "months", "deadline"),
    "component": ("component", "lost", "agencies", "rate"),
    "measure": ("measure", "effect", "interval", "months"),
    "index": ("rank", "n_units", "total", "change"),
}


# --- the report's numbers -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class QuarterlyReport:
    """Everything a quarterly report shows, computed once.

    Attributes
    ----------
    province : Province
        On the map in force in the quarter.
    quarter : pandas.Period
        The quarter reported on.
    lang : {"vi", "en"}
    source : Source
        The panel and its provenance.
    indicators : DataFrame
        One row per rate: counts and rate this quarter and last, national rank, target, trend
        (pp per month with its 95 % interval), months to target and status.
    monthly : DataFrame
        The province's monthly counts and rates over the last ``CHART_MONTHS`` months.
    index : dict or None
        The Decision 766 score: ``peers`` (ScoreResult of every province), ``previous``
        (ScoreResult), ``explanation``; None without dossier records.
    effects : DataFrame
        Measures in force in the quarter with the ITS estimate on the online share.
    weakest : DataFrame
        Components that lost the most points, with the agencies behind the failing dossiers.
    recommendations : tuple of (Rule, str)
        The rules that fired, with their text in ``lang``.
    dossier_files : dict
        ``dossiers/<file>`` -> SHA-256 of the dossier records read.
    synthetic : bool
        True when the panel or the dossier records are synthetic.
    """

    province: Province
    quarter: pd.Period
    lang: str
    source: Source
    indicators: pd.DataFrame
    monthly: pd.DataFrame
    index: dict | None
    effects: pd.DataFrame
    weakest: pd.DataFrame
    recommendations: tuple
    dossier_files: dict
    synthetic: bool


def resolve_province(name: str, quarter: pd.Period) -> Province:
    """The province on the map in force in ``quarter`` (an old name after 2025 is an error)."""
    return registry.resolve(name, boundary=boundary_of(quarter))


def prepare(
    province: str,
    quarter: str,
    lang: str = "vi",
    data_path: str | None = None,
) -> QuarterlyReport:
    """Compute everything the quarterly report of one province shows.

    Parameters
    ----------
    province : str
        Any common spelling; it must be a province of the map in force in the quarter.
    quarter : str
        ``2023Q3``.
    lang : {"vi", "en"}
    data_path : str, optional
        Panel file or folder (with ``dossiers/`` beside it for the index); default the
        embedded synthetic data.

    Returns
    -------
    QuarterlyReport
    """
    i18n.check_lang(lang)
    q = parse_quarter(quarter)
    place = resolve_province(province, q)
    source = open_panel(data_path)
    frame = _on_map(source, place.boundary)
    check_covered(q, frame["period"].min(), frame["period"].max())
    indicators, monthly = _indicators(frame, place, q)
    folder = dossiers_beside(source)
    index = _index(folder, place, q) if folder is not None else None
    if index is None and folder is None:
        # No dossier records: the portal's published figures, when imported beside the panel.
        index = _portal_index(source.path.parent, place, q)
    effects = _effects(source, place, q, lang)
    weakest = _weakest(index) if index else pd.DataFrame()
    files, synthetic = dossier_files(folder) if folder is not None else ({}, False)
    report = QuarterlyReport(
        place,
        q,
        lang,
        source,
        indicators,
        monthly,
        index,
        effects,
        weakest,
        (),
        files,
        source.synthetic or synthetic,
    )
    return _with_recommendations(report)


_ON_MAP: dict[tuple, pd.DataFrame] = {}


def _on_map(source: Source, boundary: str) -> pd.DataFrame:
    """The panel's monthly counts on ``boundary``'s map, all levels summed.

    The same for every province of a quarter: a warm batch worker sums it once per panel
    version (path, time, size and SHA-256 are the key: a rewritten file is summed again)
    instead of once per report.
    """
    stat = source.path.stat()
    key = (str(source.path), stat.st_mtime_ns, stat.st_size, source.files.get(source.path.name))
    key += (boundary,)
    if key not in _ON_MAP:
        frame = source.frame
        if boundary == "new34":
            # Old provinces summed into their new one: earlier quarters compare like with like.
            frame = panel.aggregate(frame, freq="M", levels="sum", boundary="new34")
        else:
            frame = panel.aggregate(frame[frame["boundary"] == "old63"], freq="M", levels="sum")
        if len(_ON_MAP) >= 4:  # a batch reads one panel, on one map or both
            _ON_MAP.clear()
        _ON_MAP[key] = frame
    return _ON_MAP[key].copy()


def _monthly_rates(frame: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    rows = frame[frame["province_code"].isin(codes)]
    return panel.add_rates(rows)


def _indicators(frame: pd.DataFrame, place: Province, q: pd.Period):
    quarters = frame.assign(quarter=frame["period"].dt.asfreq("Q"))
    counts = panel.COUNT_COLUMNS
    by_q = quarters.groupby(["province_code", "quarter"])[counts].sum(min_count=1).reset_index()
    by_q = panel.add_rates(by_q)
    now = by_q[by_q["quarter"] == q]
    before = by_q[by_q["quarter"] == q - 1]
    mine_now = now[now["province_code"] == place.code]
    mine_before = before[before["province_code"] == place.code]
    monthly = _monthly_rates(frame, {place.code})
    monthly = monthly[
        (monthly["period"] <= q.asfreq("M", "end"))
        & (monthly["period"] > q.asfreq("M", "end") - CHART_MONTHS)
    ]
    targets = load_targets()
    rows = []
    for rate, (num, den) in panel.RATES.items():
        n, d = _counts(mine_now, num, den)
        pn, pd_ = _counts(mine_before, num, den)
        current = n / d if d else math.nan
        previous = pn / pd_ if pd_ else math.nan
        ranked = now[i18n.enough(now[den])].sort_values(rate, ascending=False)
        ranked = ranked[ranked[rate].notna()]
        rank = (
            int((ranked[rate] > current).sum()) + 1
            if i18n.enough(d) and not math.isnan(current)
            else None
        )
        target = targets.get(rate)
        slope, low, high = trend(monthly, rate, den, q)
        months, status = to_target(current, d, target, slope, low, high, q)
        rows.append(
            {
                "indicator": rate,
                "numerator": n,
                "denominator": d,
                "rate": current,
                "previous_numerator": pn,
                "previous_denominator": pd_,
                "previous": previous,
                "rank": rank,
                "ranked": len(ranked),
                "target": target.value if target else math.nan,
                "deadline": target.deadline if target else None,
                "slope_pp": slope,
                "slope_low": low,
                "slope_high": high,
                "months_to_target": months,
                "status": status,
            }
        )
    return pd.DataFrame(rows), monthly


def _counts(rows: pd.DataFrame, num: str, den: str) -> tuple[int, int]:
    if rows.empty or pd.isna(rows[den].iloc[0]) or pd.isna(rows[num].iloc[0]):
        return 0, 0
    return int(rows[num].iloc[0]), int(rows[den].iloc[0])


def trend(monthly: pd.DataFrame, rate: str, den: str, q: pd.Period):
    """Slope of the monthly rate over the last ``TREND_MONTHS`` months, pp per month, 95 % CI.

    Ordinary least squares on the months with at least ``MIN_DENOMINATOR`` dossiers; the
    interval is the t interval (months are treated as independent: the report says so).

    Parameters
    ----------
    monthly : DataFrame
        ``period`` (monthly Period), the rate column and its denominator column.
    rate, den : str
        The rate (a share, 0–1) and its denominator's column.
    q : pandas.Period
        The quarter whose last month ends the window.

    Returns
    -------
    (slope, low, high) : floats
        Percentage points per month; NaN with fewer than 6 usable months.
    """
    last = q.asfreq("M", "end")
    rows = monthly[
        (monthly["period"] > last - TREND_MONTHS)
        & (monthly["period"] <= last)
        & i18n.enough(monthly[den])
    ].dropna(subset=[rate])
    if len(rows) < 6:
        return math.nan, math.nan, math.nan
    x = np.array([(p - last).n for p in rows["period"]], dtype=float)
    y = 100 * rows[rate].to_numpy(dtype=float)
    x_c = x - x.mean()
    slope = float((x_c * (y - y.mean())).sum() / (x_c**2).sum())
    resid = y - y.mean() - slope * x_c
    dof = len(x) - 2
    se = math.sqrt(float((resid**2).sum()) / dof / float((x_c**2).sum()))
    from scipy.stats import t

    half = float(t.ppf(0.975, dof)) * se
    return slope, slope - half, slope + half


def to_target(current, denominator, target, slope, low, high, q):
    """Months to the target at the current slope, and the status the recommendations use.

    Parameters
    ----------
    current : float
        The rate this quarter (share); ``denominator`` its dossiers.
    target : Target or None
    slope, low, high : float
        From :func:`trend` (pp per month).
    q : pandas.Period
        The quarter (months left to the deadline count from its last month).

    Returns
    -------
    (months, status)
        ``months`` = gap in pp / slope (0 when met, inf when not improving, NaN without data);
        ``status`` one of met, on_track, late, improving (no deadline), unclear (the slope's
        interval holds 0), not_improving, no_target, no_data.
    """
    if target is None:
        return math.nan, "no_target"
    if not i18n.enough(denominator) or math.isnan(current):
        return math.nan, "no_data"
    gap = 100 * (target.value - current)
    if gap <= 0:
        return 0.0, "met"
    if math.isnan(slope):
        return math.nan, "no_data"
    if high <= 0 or slope <= 0:
        return math.inf, "not_improving"
    if low <= 0:
        return gap / slope, "unclear"
    months = gap / slope
    if target.deadline is None:
        return months, "improving"
    left = (target.deadline - q.asfreq("M", "end")).n
    return months, "late" if months > left else "on_track"


def _index(folder: Path, place: Province, q: pd.Period) -> dict | None:
    """The quarter's score for every province, last quarter's, and this province explained."""
    from analysis.index766 import explain

    names = {p.name for p in registry.provinces(place.boundary)}
    signature = tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.parquet"))
    )

    def units(period: pd.Period):
        # Dossiers received before the merger and finished after it still carry their old
        # province: the ranking is of the provinces on the quarter's map.
        found = _peer_scores(str(folder), signature, str(period))
        return found, found.units[found.units["unit"].isin(names)].reset_index(drop=True)

    peers, now = units(q)
    if place.name not in set(now["unit"]):
        return None
    # Across the merger a province's score last quarter was another territory's (scores do
    # not add up like counts): compare only when the province kept its territory.
    comparable = not (q == pd.Period("2025Q3", "Q") and len(registry.predecessors(place)) > 1)
    previous = units(q - 1)[1] if comparable else None
    explanation = explain(folder, place.name, str(q), by="province", compare=comparable)
    return {
        "units": now,
        "previous_units": previous,
        "explanation": explanation,
        "comparable": comparable,
        "rules": f"{peers.rules_version} ({peers.rules_path})",
    }


def _portal_index(folder: Path, place: Province, q: pd.Period) -> dict | None:
    """The quarter's index from the portal's imported figures (``workbench ingest`` of its API
    responses for the quarter, written beside the panel), or None when there are none."""
    from analysis.index766 import counts
    from analysis.ingest.portal import UNITS_FILE

    if not (folder / UNITS_FILE).is_file():
        return None
    units, comps = counts.load(folder)
    label, before = f"{q.year}-Q{q.quarter}", f"{(q - 1).year}-Q{(q - 1).quarter}"
    mine = units[
        (units["period"] == label) & (units["level"] == "province") & (units["unit"] == place.name)
    ]
    if mine.empty:
        return None
    scored = counts.score_counts(units, comps)
    comparable = not (q == pd.Period("2025Q3", "Q") and len(registry.predecessors(place)) > 1)
    explanation = counts.explain_counts(
        scored, mine["unit_id"].iloc[0], label, before if comparable else None
    )

    def provinces(period: str) -> pd.DataFrame:
        top = units[(units["period"] == period) & (units["level"] == "province")]
        wide = top.pivot_table(index="unit", columns="group", values="points", aggfunc="first")
        official = {g.id: g.points for g in scored.rules.groups}
        return pd.DataFrame(
            {
                "unit": wide.index,
                "total": wide.sum(axis=1, min_count=1).to_numpy(),
                "max_total": [
                    sum(official[g] for g in wide.columns if pd.notna(row[g]))
                    for _, row in wide.iterrows()
                ],
            }
        )

    previous = provinces(before) if comparable else None
    return {
        "units": provinces(label),
        "previous_units": previous if previous is not None and len(previous) else None,
        "explanation": explanation,
        "comparable": comparable,
        "rules": f"{scored.rules_version} ({scored.rules.path}); {folder / UNITS_FILE}",
        "source": "portal",
    }


@lru_cache(maxsize=16)
def _peer_scores(folder: str, signature: tuple, period: str):
    """Every province's score for a period, once per version of the dossier files: the 34
    reports of a batch run in one warm worker share it (``signature`` = names, times, sizes)."""
    from analysis.index766 import score

    return score(Path(folder), period=period, by="province")


def _effects(source: Source, place: Province, q: pd.Period, lang: str) -> pd.DataFrame:
    """The ITS estimate of every measure in force in the quarter, on the online share."""
    rows = []
    first, last = q.start_time, q.end_time.normalize()
    for m in measures.load().values():
        if m.start > last or (m.end is not None and m.end < first):
            continue
        own = m.province_on(m.start)
        if not m.is_national and registry.successor(registry.resolve(own, on=m.start)) != (
            registry.successor(place)
        ):
            continue
        if not m.is_national and place.boundary == "old63" and own != place.name:
            continue
        months_in = (q.asfreq("M", "end") - m.start.to_period("M")).n + 1
        row = {
            "measure": m,
            "name": measure_name(m, lang),
            "start": m.start,
            "months_in_force": months_in,
            "effect_pp": math.nan,
            "low": math.nan,
            "high": math.nan,
            "post_months": 0,
            "verdict": "too_early",
        }
        row.update(overlap=(), window_start=pd.NaT, window_end=pd.NaT)
        if m.is_national and months_in >= config.MIN_POST_MONTHS:
            # A national measure starts everywhere at once: one province's series cannot tell
            # its effect from anything else that changed that month, and no province is left
            # untreated to compare with. It is named, never estimated as the province's own.
            row["verdict"] = "national"
        elif months_in >= config.MIN_POST_MONTHS:
            # Imported here: the estimators pull in statsmodels and SciPy (2 s), which a
            # command line checking the targets before a batch starts does not need.
            from analysis.evaluation.fit import fit_measure, overlapping

            target_place = registry.resolve(own, on=m.start)
            try:
                result, _ = fit_measure(
                    source.frame,
                    m,
                    target_place,
                    "online_rate",
                    until=q.asfreq("M", "end").end_time,
                )
            except WorkbenchError:
                row["verdict"] = "not_estimable"
            else:
                others = overlapping(m, target_place, result.window)
                row.update(
                    effect_pp=result.estimate,
                    low=result.ci_low,
                    high=result.ci_high,
                    post_months=result.n_post,
                    window_start=result.window.post_start,
                    window_end=result.window.post_end,
                    overlap=others,
                    # Several measures in the window: one combined change, credited to none.
                    verdict="overlap"
                    if others
                    else "raised"
                    if result.ci_low > 0
                    else "lowered"
                    if result.ci_high < 0
                    else "no_effect",
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _weakest(index: dict) -> pd.DataFrame:
    """Components by points lost, with the agencies holding most of the failing dossiers."""
    e = index["explanation"]
    lost = e.lost[(e.lost["lost"] > 0.05) & e.lost["lost"].notna()].head(WEAKEST_SHOWN)
    rows = []
    for r in lost.itertuples(index=False):
        agencies: list[tuple[str, int]] = []
        failed = 0
        try:
            culprits = e.culprits(r.component)
        except WorkbenchError:
            culprits = pd.DataFrame()
        if "agency" in culprits:
            counts = culprits["agency"].fillna("—").value_counts()
            agencies = [(str(a), int(n)) for a, n in counts.head(AGENCIES_NAMED).items()]
            failed = int(counts.sum())
        rows.append(
            {
                "component": r.component,
                "name_vi": r.name_vi,
                "name_en": r.name_en,
                "numerator": r.numerator,
                "denominator": r.denominator,
                "points": r.points,
                "max_points": r.max_points,
                "lost": r.lost,
                "agencies": agencies,
                "dossiers_failed": failed,
            }
        )
    return pd.DataFrame(rows)


# --- recommendations ----------------------------------------------------------------------


def _facts(report: QuarterlyReport):
    """(subject, key, facts, placeholders) for every item the rules may speak about."""
    lang = report.lang
    for r in report.indicators.itertuples(index=False):
        gap = 100 * (r.target - r.rate) if not math.isnan(r.target) else math.nan
        yield (
            "indicator",
            r.indicator,
            {
                "status": r.status,
                "gap_pp": gap,
                "slope_pp": r.slope_pp,
                "months_to_target": r.months_to_target,
                "current_pct": 100 * r.rate if r.denominator else math.nan,
            },
            {
                "indicator": i18n.label(r.indicator, lang),
                "current": i18n.share_of(r.numerator, r.denominator, lang),
                "target": i18n.percent(r.target, lang, 0),
                "gap": i18n.points(gap, lang, signed=False),
                "slope": i18n.points(r.slope_pp, lang, digits=2),
                "months": i18n.number(math.ceil(r.months_to_target), lang, 0)
                if math.isfinite(r.months_to_target)
                else "—",
                "deadline": i18n.month(r.deadline.to_timestamp(), lang)
                if pd.notna(r.deadline)
                else "—",
            },
        )
    if report.index:
        e = report.index["explanation"]
        name = "name_vi" if lang == "vi" else "name_en"
        for r in report.weakest.itertuples(index=False):
            yield (
                "component",
                r.component,
                {
                    "lost": r.lost,
                    "points": r.points,
                    "max_points": r.max_points,
                    "rate_pct": 100 * r.numerator / r.denominator if r.denominator else math.nan,
                    "dossiers_failed": r.dossiers_failed,
                },
                {
                    "component": f"{r.component} ({getattr(r, name)})",
                    "lost": f"{i18n.number(r.lost, lang)} "
                    + i18n.label("quarterly_points_word", lang),
                    "agencies": _agencies_text(r.agencies, lang),
                    "rate": i18n.share_of(r.numerator, r.denominator, lang),
                },
            )
        rank, n_units = _rank(report)
        change = (
            e.total - e.previous_total
            if e.previous_total is not None and e.previous_max == e.max_total
            else math.nan
        )
        yield (
            "index",
            "total",
            {
                # A rank among fewer than MIN_RANKED units is no fact a rule may use.
                "rank": rank if n_units >= MIN_RANKED else math.nan,
                "n_units": n_units,
                "change": change,
                "bottom_quarter": n_units >= MIN_RANKED and rank > 0.75 * n_units,
            },
            {
                "rank": str(rank),
                "n_units": str(n_units),
                "total": official_points(e.total, e.max_total, OFFICIAL_TOTAL, lang),
                "change": _index_points(change, lang),
            },
        )
    for r in report.effects.itertuples(index=False):
        yield (
            "measure",
            r.measure.measure_id,
            {
                "verdict": r.verdict,
                "effect_pp": r.effect_pp,
                "months_in_force": r.months_in_force,
            },
            {
                "measure": r.name,
                "effect": i18n.points(r.effect_pp, lang),
                "interval": f"{i18n.label('ci95', lang)} {i18n.interval(r.low, r.high, lang)}",
                "months": str(r.months_in_force),
            },
        )


def _agencies_text(agencies: list[tuple[str, int]], lang: str) -> str:
    if not agencies:
        return "—"
    word = i18n.label("quarterly_dossiers", lang)
    return ", ".join(f"{a} ({i18n.number(n, lang, 0)} {word})" for a, n in agencies)


def _with_recommendations(report: QuarterlyReport) -> QuarterlyReport:
    shown, rules = load_recommendations()
    fired, spoken = [], set()
    for subject, key, facts, words in _facts(report):
        for rule in rules:
            if rule.subject == subject and rule.holds(facts) and (subject, key) not in spoken:
                text = _capital(rule.text[report.lang].format(**words))
                fired.append((rule.priority, len(fired), rule, text))
                spoken.add((subject, key))
    fired.sort(key=lambda f: (f[0], f[1]))
    chosen = tuple((rule, text) for _, _, rule, text in fired[:shown])
    return QuarterlyReport(**{**report.__dict__, "recommendations": chosen})


def _rank(report: QuarterlyReport) -> tuple[int, int]:
    units = report.index["units"]
    units = units[units["total"].notna()]  # only units with data are ranked
    mine = float(units.loc[units["unit"] == report.province.name, "total"].iloc[0])
    return int((units["total"] > mine).sum()) + 1, len(units)


# --- blocks -------------------------------------------------------------------------------


def section(key: str, report: QuarterlyReport) -> Section:
    """A numbered section heading from the translation table."""
    return base.section(f"quarterly_section_{key}", report.lang)


def meta(report: QuarterlyReport) -> Meta:
    """Title block and provenance for the template."""
    lang, q = report.lang, report.quarter
    title = i18n.label("quarterly_title", lang).format(
        province=report.province.name, quarter=quarter_text(q, lang, True)
    )
    files = dict(report.source.files) | report.dossier_files
    synthetic = report.synthetic
    provenance = [(i18n.label("data_source", lang), str(report.source.path.parent))]
    provenance += [(name, f"SHA-256 {digest}") for name, digest in files.items()]
    if report.index:
        provenance.append(("rules", report.index["rules"]))
    provenance += [
        ("config", f"targets.yaml SHA-256 {sha256(TARGETS_FILE)}"),
        ("config", f"recommendations.yaml SHA-256 {sha256(RECOMMENDATIONS_FILE)}"),
    ]
    boundary = i18n.label(f"quarterly_boundary_{report.province.boundary}", lang)
    return base.meta(
        lang,
        kind=i18n.label("quarterly_kind", lang),
        title=title,
        subtitle=i18n.label("quarterly_subtitle", lang),
        facts=[
            (i18n.label("province", lang), report.province.name),
            (
                i18n.label("period", lang),
                f"{quarter_text(q, lang, True)} ({i18n.date(q.start_time, lang)} – "
                f"{i18n.date(q.end_time, lang)})",
            ),
            (i18n.label("quarterly_map", lang), boundary),
        ],
        synthetic=synthetic,
        provenance=provenance,
        data_files=files,
    )


def key_finding(report: QuarterlyReport) -> Paragraph:
    """The one paragraph a leader reads: score and rank, online share against target, advice."""
    lang = report.lang
    parts = []
    if report.index:
        e = report.index["explanation"]
        rank, n = _rank(report)
        if not e.max_total or math.isnan(e.max_total):
            # Nothing computable from the records: say so instead of "stands at not computed".
            parts.append(i18n.label("quarterly_finding_index_none", lang))
        else:
            parts.append(
                i18n.label("quarterly_finding_index", lang).format(
                    total=official_points(e.total, e.max_total, OFFICIAL_TOTAL, lang),
                    rank=i18n.label("quarterly_finding_rank", lang).format(rank=rank, n=n)
                    if n >= MIN_RANKED
                    else "",
                    change=_index_change(report),
                )
            )
    online = report.indicators.set_index("indicator").loc["online_rate"]
    parts.append(
        i18n.label("quarterly_finding_online", lang).format(
            value=i18n.share_of(online["numerator"], online["denominator"], lang),
            change=i18n.points(
                100 * (online["rate"] - online["previous"])
                if online["previous_denominator"]
                else None,
                lang,
            ),
            target=i18n.percent(online["target"], lang, 0),
            status=i18n.label(f"quarterly_status_{online['status']}", lang),
        )
    )
    effects = report.effects
    if len(effects):
        # The province's own measures are what its leaders decided: they come first.
        own = effects.assign(own=[not m.is_national for m in effects["measure"]])
        raised = own[own["verdict"] == "raised"].sort_values(["own", "effect_pp"], ascending=False)
        if len(raised):
            best = raised.iloc[0]
            parts.append(
                i18n.label("quarterly_finding_measure", lang).format(
                    measure=_capital(best["name"]),
                    effect=i18n.points(best["effect_pp"], lang),
                    interval=i18n.interval(best["low"], best["high"], lang),
                )
            )
    if report.recommendations:
        parts.append(
            i18n.label("quarterly_finding_first", lang).format(text=report.recommendations[0][1])
        )
    title = i18n.label("quarterly_finding_lead", lang).format(
        quarter=quarter_text(report.quarter, lang, True), province=report.province.name
    )
    return Paragraph(" ".join(parts), kind="finding", lead=title)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _index_change(report: QuarterlyReport) -> str:
    e, lang = report.index["explanation"], report.lang
    if not report.index["comparable"]:
        return i18n.label("quarterly_not_comparable", lang)
    if e.previous_total is None or e.previous_max != e.max_total:
        return i18n.label("quarterly_no_previous", lang)
    return i18n.label("quarterly_change_on_previous", lang).format(
        change=_index_points(e.total - e.previous_total, lang)
    )


def _index_points(x: float, lang: str) -> str:
    """Index points, signed (``+1,3 điểm``): not percentage points."""
    return f"{i18n.change(x, lang)} {i18n.label('quarterly_points_word', lang)}"


def index_tables(report: QuarterlyReport) -> tuple:
    """Groups this quarter and last, and the national ranking around the province."""
    lang = report.lang
    if not report.index:
        return (Paragraph(i18n.label("quarterly_no_index", lang), kind="warning"),)
    e = report.index["explanation"]
    groups = groups_frame(e.change, lang)
    note = i18n.label("quarterly_partial_note", lang) if e.max_total < 100 else ""
    if not report.index["comparable"]:
        note = (note + " " + i18n.label("quarterly_merger_note", lang)).strip()
    units = report.index["units"]
    units = units[units["total"].notna()].sort_values("total", ascending=False)
    if len(units) < MIN_RANKED:
        return (
            Table(groups, i18n.label("quarterly_caption_groups", lang), note=note),
            Paragraph(i18n.label("ranking_too_few", lang).format(n=len(units), min=MIN_RANKED)),
        )
    units = units.assign(rank=units["total"].rank(ascending=False, method="min").astype(int))
    pu = report.index["previous_units"]
    prev_rank = {}
    if pu is not None:
        prev_rank = dict(
            zip(
                pu["unit"], pu["total"].rank(ascending=False, method="min").astype(int), strict=True
            )
        )
    position = int(np.flatnonzero(units["unit"].to_numpy() == report.province.name)[0])
    shown = units.iloc[list(range(min(3, len(units))))]
    around = units.iloc[max(0, position - 2) : position + 3]
    shown = pd.concat([shown, around]).drop_duplicates("unit").sort_values("rank")
    ranking = pd.DataFrame(
        {
            i18n.label("rank", lang): shown["rank"],
            i18n.label("province", lang): [
                f"{u} ◀" if u == report.province.name else u for u in shown["unit"]
            ],
            i18n.label("points", lang): [
                official_points(t, m, OFFICIAL_TOTAL, lang)
                for t, m in zip(shown["total"], shown["max_total"], strict=True)
            ],
            i18n.label("quarterly_previous_rank", lang): [
                str(prev_rank.get(u, "—")) for u in shown["unit"]
            ],
        }
    )
    return (
        Table(groups, i18n.label("quarterly_caption_groups", lang), note=note),
        Table(
            ranking,
            i18n.label("quarterly_caption_ranking", lang).format(n=len(units)),
            note=i18n.label("ranking_note", lang).format(n=len(units)),
        ),
    )


def _months_text(r, lang: str) -> str:
    status = i18n.label(f"quarterly_status_{r.status}", lang)
    if r.status in ("on_track", "late", "unclear", "improving") and math.isfinite(
        r.months_to_target
    ):
        if r.months_to_target > MONTHS_SHOWN:
            return i18n.label("quarterly_months_over", lang).format(
                months=MONTHS_SHOWN, status=status
            )
        months = i18n.number(math.ceil(r.months_to_target), lang, 0)
        return i18n.label("quarterly_months", lang).format(months=months, status=status)
    return status


def indicators_table(report: QuarterlyReport) -> Table:
    """Every indicator this quarter: value, change, rank, target, trend, months to target."""
    lang = report.lang
    ind = report.indicators
    frame = pd.DataFrame(
        {
            i18n.label("quarterly_indicator", lang): [
                i18n.label(r, lang) for r in ind["indicator"]
            ],
            quarter_text(report.quarter, lang, True): [
                i18n.share_of(n, d, lang)
                for n, d in zip(ind["numerator"], ind["denominator"], strict=True)
            ],
            i18n.label("change", lang): [
                i18n.points(100 * (r.rate - r.previous), lang)
                if i18n.enough(min(r.denominator, r.previous_denominator))
                else i18n.MISSING
                for r in ind.itertuples(index=False)
            ],
            i18n.label("rank", lang): [
                # A column with unranked rows (no data) holds NaN, which is truthy.
                f"{int(r.rank)}/{r.ranked}" if pd.notna(r.rank) and r.rank else i18n.MISSING
                for r in ind.itertuples(index=False)
            ],
            i18n.label("quarterly_target", lang): [
                i18n.percent(t, lang, 0) if not math.isnan(t) else i18n.MISSING
                for t in ind["target"]
            ],
            i18n.label("quarterly_trend", lang): [
                i18n.points(s, lang, digits=2) if not math.isnan(s) else i18n.MISSING
                for s in ind["slope_pp"]
            ],
            i18n.label("quarterly_to_target", lang): [
                _months_text(r, lang) for r in ind.itertuples(index=False)
            ],
        }
    )
    note = i18n.label("quarterly_indicators_note", lang).format(
        months=TREND_MONTHS, n=config.MIN_DENOMINATOR
    )
    return Table(frame, i18n.label("quarterly_caption_indicators", lang), note=note)


def targets_basis(report: QuarterlyReport) -> Bullets:
    """Where each target comes from (the reader must be able to check it)."""
    lang = report.lang
    return Bullets(
        tuple(
            f"{i18n.label(t.indicator, lang)}: {i18n.percent(t.value, lang, 0)}"
            + (f" ({i18n.month(t.deadline.to_timestamp(), lang)})" if t.deadline else "")
            + f" — {t.basis[lang]}"
            for t in load_targets().values()
        )
    )


def indicators_chart(report: QuarterlyReport) -> Chart:
    """Monthly rates of the indicators that have a target, with the target line."""
    lang = report.lang
    targets = load_targets()
    rates = [r for r in panel.RATES if r in targets]
    cols = 3
    rows = math.ceil(len(rates) / cols)
    # One scale for all (0-100 %): the axes share it, and only the outer ones are labelled.
    fig, axes = plt.subplots(
        rows, cols, figsize=(7.4, 2.1 * rows), dpi=100, sharex=True, sharey=True
    )
    # Fixed margins and ticks instead of tight_layout, date locators and a tick formatter:
    # those measured every label three times over and were most of a report's own time
    # (0.68 of its 1.2 s). The labels are short and of one size, so the margins are known.
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.11 / rows, top=1 - 0.12 / rows,
                        wspace=0.12, hspace=0.3)  # fmt: skip
    m = report.monthly
    # Months as their ordinals: a month missing from the data keeps its place on the axis.
    months = pd.period_range(m["period"].min(), m["period"].max(), freq="M")
    x = np.array([p.ordinal for p in m["period"]], dtype="float64")
    ticks = [p for p in months if p.month in (1, 7)]
    tick_labels = [f"{p.month:02d}/{p.year}" for p in ticks]
    levels = (0, 20, 40, 60, 80, 100)
    level_labels = [i18n.percent(v / 100, lang, 0) for v in levels]
    first, last = (report.quarter.asfreq("M", how).ordinal for how in ("start", "end"))
    for ax, rate in zip(np.ravel(axes), rates, strict=False):
        num, den = panel.RATES[rate]
        # Counts the source did not report are missing (NA): no point, never a 0 %.
        enough = i18n.enough(m[den]).to_numpy(dtype=bool)
        values = pd.to_numeric(m[rate], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        y = np.where(enough, 100 * values, np.nan)
        ax.plot(x, y, color="#1f4e79", linewidth=1.4)
        if np.isnan(y).all():
            ax.text(
                0.5,
                0.5,
                i18n.label("status_no_data", lang),
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=7,
                color="#595959",
            )
        ax.axhline(100 * targets[rate].value, color="#c55a11", linestyle="--", linewidth=1)
        ax.set_title(i18n.label(rate, lang), fontsize=7.5, loc="left")
        ax.tick_params(labelsize=6.5)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.5)
        # The report's quarter, shaded (a month's point is at its ordinal, its span ± 0.5).
        ax.axvspan(first - 0.5, last + 0.5, color="#1f4e79", alpha=0.07)
    for ax in np.ravel(axes)[len(rates) :]:
        ax.set_visible(False)
    axes_list = np.ravel(axes)
    axes_list[0].set_ylim(0, 105)
    axes_list[0].set_yticks(levels, level_labels)
    axes_list[0].set_xlim(months[0].ordinal - 0.5, months[-1].ordinal + 0.5)
    # Shared: every panel has the same months and levels.
    axes_list[0].set_xticks([p.ordinal for p in ticks], tick_labels)
    return Chart.from_figure(fig, i18n.label("quarterly_caption_chart", lang), tight=False)


def effects_table(report: QuarterlyReport) -> tuple:
    """Measures in force and their estimated effect on the online share."""
    from analysis.evaluation.fit import POST_MONTHS  # statsmodels: see _effects

    lang = report.lang
    if report.effects.empty:
        return (Paragraph(i18n.label("quarterly_no_measures", lang)),)
    e = report.effects
    frame = pd.DataFrame(
        {
            i18n.label("quarterly_measure", lang): [_capital(n) for n in e["name"]],
            i18n.label("quarterly_start", lang): [i18n.date(d, lang) for d in e["start"]],
            i18n.label("quarterly_effect", lang): [
                i18n.points(x, lang) if not math.isnan(x) else i18n.MISSING for x in e["effect_pp"]
            ],
            i18n.label("ci95", lang): [
                i18n.interval(lo, hi, lang) if not math.isnan(lo) else i18n.MISSING
                for lo, hi in zip(e["low"], e["high"], strict=True)
            ],
            i18n.label("quarterly_window", lang): [
                i18n.label("quarterly_window_text", lang).format(
                    n=n, first=i18n.month(a, lang), last=i18n.month(b, lang)
                )
                if n
                else i18n.MISSING
                for n, a, b in zip(
                    e["post_months"], e["window_start"], e["window_end"], strict=True
                )
            ],
            i18n.label("quarterly_verdict", lang): [
                _verdict_text(v, others, lang)
                for v, others in zip(e["verdict"], e["overlap"], strict=True)
            ],
        }
    )
    note = i18n.label("quarterly_effects_note", lang).format(
        pre=config.MIN_PRE_MONTHS, post=config.MIN_POST_MONTHS, months=POST_MONTHS
    )
    return (Table(frame, i18n.label("quarterly_caption_effects", lang), note=note),)


def _verdict_text(verdict: str, others, lang: str) -> str:
    text = i18n.label(f"quarterly_verdict_{verdict}", lang)
    if verdict == "overlap":
        names = "; ".join(f"{measure_name(m, lang)} ({i18n.date(m.start, lang)})" for m in others)
        text = text.format(names=names)
    return text


def weakest_table(report: QuarterlyReport) -> tuple:
    """The components that lost most points and the agencies behind their failing dossiers."""
    lang = report.lang
    if not report.index:
        return (Paragraph(i18n.label("quarterly_no_index", lang), kind="warning"),)
    w = report.weakest
    if w.empty:
        return (Paragraph(i18n.label("quarterly_nothing_lost", lang)),)
    name = "name_vi" if lang == "vi" else "name_en"
    # The portal's published figures, not dossier records, when the index came from them.
    portal = report.index.get("source") == "portal"
    suffix = "_portal" if portal else ""
    frame = pd.DataFrame(
        {
            i18n.label("component", lang): [
                f"{c} {n}" for c, n in zip(w["component"], w[name], strict=True)
            ],
            i18n.label(f"quarterly_component_rate{suffix}", lang): [
                i18n.share_of(n, d, lang)
                for n, d in zip(w["numerator"], w["denominator"], strict=True)
            ],
            i18n.label("quarterly_lost", lang): [
                f"{i18n.number(lo, lang)} / {i18n.number(m, lang, 0)}"
                for lo, m in zip(w["lost"], w["max_points"], strict=True)
            ],
            i18n.label("quarterly_agencies", lang): [
                _agencies_text(a, lang) for a in w["agencies"]
            ],
        }
    )
    # Two indicators, named apart: a component's rate follows the index's rule on the dossier
    # records (its own numerator and denominator), not the monthly report's counts of section 2.
    note = " ".join(
        (
            i18n.label(f"quarterly_component_rate_note{suffix}", lang),
            base.small_numbers_note(lang),
        )
    )
    return (Table(frame, i18n.label("quarterly_caption_weakest", lang), note=note),)


def recommendations(report: QuarterlyReport) -> Bullets | Paragraph:
    """The recommendations the rules derived from this quarter's numbers."""
    if not report.recommendations:
        return Paragraph(i18n.label("quarterly_no_recommendations", report.lang))
    return Bullets(tuple(text for _, text in report.recommendations))


def recommendations_note(report: QuarterlyReport) -> Paragraph:
    """Where the recommendations come from."""
    return Paragraph(i18n.label("quarterly_recommendations_note", report.lang), kind="note")


def limits(report: QuarterlyReport) -> Bullets:
    """Assumptions and what the numbers cannot say."""
    lang = report.lang
    items = [
        i18n.label("quarterly_limit_trend", lang).format(months=TREND_MONTHS),
        i18n.label("quarterly_limit_its", lang),
        i18n.label("quarterly_limit_small", lang).format(n=config.MIN_DENOMINATOR),
    ]
    if report.province.boundary == "new34":
        olds = ", ".join(p.name for p in registry.predecessors(report.province))
        items.append(i18n.label("quarterly_limit_merger", lang).format(olds=olds))
    if report.index and report.index["explanation"].max_total < 100:
        items.append(i18n.label("quarterly_partial_note", lang))
    return Bullets(tuple(items))
