"""The Decision 766 index from counts: the portal's numerators and denominators through the rules.

Most analysts have no dossier records, only what the national portal publishes per unit: each
component's numerator and denominator, and the portal's own points. :func:`score_counts` turns
those counts into points with the same rules file as the dossier engine (mapping, zero
denominator, levels, and ``missing_counts`` for a component the portal scores without giving
counts), rounds each component to 2 decimals as the portal shows it, and sets the rules' points
beside the portal's: a component or group where they differ by more than :data:`TOLERANCE` is
flagged. :func:`what_if` answers "online payment from 45 % to 80 %" on the same counts.

The counts come from ``workbench ingest`` of the portal's API responses
(:mod:`analysis.ingest.portal`: ``portal_units.parquet`` and ``portal_components.parquet``
beside ``scores.parquet``); :func:`load` reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import WorkbenchError
from analysis.index766.engine import (
    NO_DATA,
    NO_DATA_FULL,
    NO_DATA_ZERO,
    NOT_APPLICABLE,
    NOT_COMPUTED,
    OK,
    TRACKING,
)
from analysis.index766.rules import Component, Rules, load_rules

NO_COUNTS_FULL = "no_counts_full_points"  # no counts given, full points by rule (4.x)
COUNTED = (OK, NO_DATA_FULL, NO_DATA_ZERO, NOT_APPLICABLE, NO_COUNTS_FULL)
# The portal shows points with 2 decimals: agreement is within one unit of the last place.
TOLERANCE = 0.01
DECIMALS = 2
# A provincial agency is scored on the province's rules (the portal lists it at level PROVINCE).
RULE_LEVEL = {"province": "province", "agency": "province", "commune": "commune"}


def round_points(x: float) -> float:
    """Points rounded half up to 2 decimals, as the portal shows them (0,825 -> 0,83)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return math.nan
    # The small nudge makes 0.825 (stored as 0.82499999...) round up as written.
    return math.floor(x * 10**DECIMALS + 0.5 + 1e-7) / 10**DECIMALS


def component_points(c: Component, numerator, denominator, level: str) -> tuple[float, str]:
    """Points and status of one component from its counts.

    Parameters
    ----------
    c : Component
    numerator, denominator : int or None
        None (or NA) when the source did not give it.
    level : {"province", "agency", "commune"}

    Returns
    -------
    (float, str)
        Points rounded to 2 decimals (NaN when not counted) and the status.
    """
    if c.tracking:
        return 0.0, TRACKING
    if RULE_LEVEL.get(level, level) not in c.levels:
        return float(c.points), NOT_APPLICABLE
    num = None if numerator is None or pd.isna(numerator) else float(numerator)
    den = None if denominator is None or pd.isna(denominator) else float(denominator)
    if num is None and den is None:
        if c.missing_counts == "full_points":
            return float(c.points), NO_COUNTS_FULL
        return math.nan, NOT_COMPUTED
    if num is None or den is None:
        return math.nan, NOT_COMPUTED
    if den == 0:
        if c.zero_denominator == "full_points":
            return float(c.points), NO_DATA_FULL
        if c.zero_denominator == "zero_points":
            return 0.0, NO_DATA_ZERO
        return math.nan, NO_DATA
    return round_points(c.mapping.points(num / den, float(c.points))), OK


@dataclass(frozen=True, eq=False)
class CountScores:
    """The rules applied to the portal's counts, beside the portal's own points.

    Attributes
    ----------
    rules_version : str
    components : pandas.DataFrame
        One row per unit, period and component the source gave: ``unit_id``, ``unit``,
        ``province``, ``level``, ``period``, ``component``, ``group``, ``numerator``,
        ``denominator``, ``rate``, ``points`` (the rules'), ``max_points``, ``status``,
        ``portal_points``, ``difference`` (rules − portal), ``disagrees`` (> 0,01),
        ``uncertain``.
    groups : pandas.DataFrame
        One row per unit, period and group the source gave: ``points`` (the rules', NaN when a
        component could not be computed), ``max_points`` (the group's), ``portal_points``,
        ``difference``, ``disagrees``.
    rules : Rules
    """

    rules_version: str
    components: pd.DataFrame
    groups: pd.DataFrame
    rules: Rules = field(repr=False)

    def agreement(self) -> dict[str, int]:
        """How many components and groups were compared with the portal and agreed.

        A component is compared where the portal shows its points (or shows none for a zero
        denominator: then the rules must give none either); a group where the rules computed
        every component of it.
        """
        comps = self.components[self.components["compared"]]
        groups = self.groups[self.groups["compared"]]
        return {
            "components_compared": int(len(comps)),
            "components_matched": int((~comps["disagrees"]).sum()),
            "groups_compared": int(len(groups)),
            "groups_matched": int((~groups["disagrees"]).sum()),
        }


def score_counts(
    units: pd.DataFrame, components: pd.DataFrame, rules: Rules | Path | str | None = None
) -> CountScores:
    """Apply the rules to the portal's counts, unit by unit.

    Parameters
    ----------
    units : pandas.DataFrame
        ``portal_units.parquet``: ``unit_id``, ``unit``, ``province``, ``level``, ``period``,
        ``endpoint``, ``group``, ``points``, ``max_points`` (the portal's group points).
    components : pandas.DataFrame
        ``portal_components.parquet``: ``unit_id``, ``period``, ``endpoint``, ``code``,
        ``component``, ``numerator``, ``denominator``, ``ratio``, ``points``, ``max_points``.
    rules : Rules or path-like, optional
        Default ``config/index766/rules-2026.1.yaml``.

    Returns
    -------
    CountScores
    """
    rules = load_rules(rules)
    ids = {c.id for c in rules.components}
    who = units.drop_duplicates(["unit_id", "period"])[
        ["unit_id", "unit", "province", "level", "period"]
    ]
    comps = components[components["component"].isin(ids)].merge(
        who, on=["unit_id", "period"], how="left"
    )
    rows = []
    for r in comps.itertuples(index=False):
        c = rules.component(r.component)
        points, status = component_points(c, r.numerator, r.denominator, r.level)
        num = None if pd.isna(r.numerator) else int(r.numerator)
        den = None if pd.isna(r.denominator) else int(r.denominator)
        rate = num / den if num is not None and den else math.nan
        portal = r.points
        # The metric shape shows every component's points (null: no points); the tree shape
        # shows the group's only (its component rows carry no max_points).
        compared = not c.tracking and pd.notna(r.max_points) and status != NOT_COMPUTED
        if pd.isna(portal):
            diff = math.nan
            disagrees = compared and not math.isnan(points)
        else:
            diff = points - portal if not math.isnan(points) else math.nan
            disagrees = bool(math.isnan(diff) or abs(diff) > TOLERANCE + 1e-9)
        rows.append(
            {
                "unit_id": r.unit_id,
                "unit": r.unit,
                "province": r.province,
                "level": r.level,
                "period": r.period,
                "component": c.id,
                "group": c.group,
                "numerator": num,
                "denominator": den,
                "rate": rate,
                "points": points,
                "max_points": float(c.points),
                "status": status,
                "portal_points": portal,
                "difference": diff,
                "disagrees": bool(compared and disagrees),
                "compared": bool(compared),
                "uncertain": c.uncertain,
                "mapping": c.mapping.describe(),
            }
        )
    frame = pd.DataFrame(rows)
    order = {c.id: i for i, c in enumerate(rules.components)}
    if len(frame):
        frame = frame.sort_values(
            ["period", "unit_id", "component"],
            key=lambda s: s.map(order) if s.name == "component" else s,
        ).reset_index(drop=True)
    return CountScores(rules.version, frame, _groups(units, frame, rules), rules)


def _groups(units: pd.DataFrame, comps: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    scored = {
        g.id: [c.id for c in rules.components if c.group == g.id and not c.tracking]
        for g in rules.groups
    }
    by_unit = {k: f for k, f in comps.groupby(["unit_id", "period", "group"])} if len(comps) else {}
    rows = []
    for u in units.itertuples(index=False):
        mine = by_unit.get((u.unit_id, u.period, u.group))
        given = set() if mine is None else set(mine["component"])
        complete = (
            mine is not None
            and all(cid in given for cid in scored[u.group])
            and not (mine["status"] == NOT_COMPUTED).any()
        )
        points = (
            round_points(float(mine.loc[mine["status"].isin(COUNTED), "points"].sum()))
            if complete
            else math.nan
        )
        portal = u.points
        diff = points - portal if complete and pd.notna(portal) else math.nan
        compared = bool(complete and pd.notna(portal))
        rows.append(
            {
                "unit_id": u.unit_id,
                "unit": u.unit,
                "province": u.province,
                "level": u.level,
                "period": u.period,
                "group": u.group,
                "points": points,
                "max_points": float(rules.group(u.group).points),
                "portal_points": portal,
                "portal_max": u.max_points,
                "difference": diff,
                "compared": compared,
                "disagrees": bool(compared and abs(diff) > TOLERANCE + 1e-9),
            }
        )
    return pd.DataFrame(rows)


def what_if(scores: CountScores, unit_id: str, period: str, component: str, rate: float) -> float:
    """Points the unit would gain (or lose) if ``component`` reached ``rate`` (0–1).

    Raises
    ------
    WorkbenchError
        The unit has no such component in the counts, or the rate is outside 0–1.
    """
    if not 0 <= rate <= 1:
        raise WorkbenchError(f"rate {rate!r} is outside 0–1", hint="write 0.8 for 80 %")
    comps = scores.components
    hit = comps[
        (comps["unit_id"] == unit_id)
        & (comps["period"] == period)
        & (comps["component"] == component)
    ]
    if hit.empty:
        raise WorkbenchError(
            f"no counts for component {component} of that unit in {period}",
            hint="components with counts: " + ", ".join(sorted(set(comps["component"]))),
        )
    row = hit.iloc[0]
    c = scores.rules.component(component)
    now = row["points"] if row["status"] in COUNTED else 0.0
    return round_points(c.mapping.points(rate, float(c.points))) - now


@dataclass(frozen=True, eq=False)
class CountExplanation:
    """One unit's period from the portal's figures, in the shape of
    :class:`analysis.index766.explain.Explanation` (what the quarterly report reads).

    The points are the portal's (the official figures); a component the portal scores only
    within its group (the tree endpoints) carries the rules' points on its counts. There are
    no dossiers behind the counts: :meth:`culprits` says so.

    Attributes
    ----------
    unit, province, level, period : str
    previous : str or None
        The period compared with, when imported.
    total, max_total, previous_total, previous_max : float
        ``max_total`` is the official points of the groups the portal gave (100 with all six).
    lost, change : pandas.DataFrame
        As in ``Explanation``.
    lowest_group : str or None
    text : dict
    """

    unit: str
    province: str
    level: str
    period: str
    previous: str | None
    total: float
    max_total: float
    previous_total: float | None
    previous_max: float | None
    lost: pd.DataFrame
    change: pd.DataFrame
    lowest_group: str | None
    text: dict

    def culprits(self, component_id: str) -> pd.DataFrame:
        """Always refused: the portal publishes counts, not the dossiers behind them."""
        raise WorkbenchError(
            f"component {component_id}: the portal's figures hold no dossiers",
            hint="import the unit's dossier records (workbench ingest --kind dossiers)",
        )


def _group_points(scores: CountScores, unit_id: str, period: str) -> dict[str, float]:
    g = scores.groups[(scores.groups["unit_id"] == unit_id) & (scores.groups["period"] == period)]
    return {r.group: float(r.portal_points) for r in g.itertuples() if pd.notna(r.portal_points)}


def explain_counts(
    scores: CountScores, unit_id: str, period: str, previous: str | None = None
) -> CountExplanation:
    """Points lost and the change by group of one unit, from the portal's figures.

    Parameters
    ----------
    scores : CountScores
        :func:`score_counts` of the imported data.
    unit_id : str
        The portal's ``departmentId``.
    period : str
        As imported (``2026-08``, ``2026-Q3``).
    previous : str, optional
        The period to compare with; ignored when it was not imported.
    """
    rules = scores.rules
    comps = scores.components[
        (scores.components["unit_id"] == unit_id) & (scores.components["period"] == period)
    ]
    if comps.empty:
        raise WorkbenchError(f"no portal figures for that unit in {period}")
    first = comps.iloc[0]
    now = _group_points(scores, unit_id, period)
    before = _group_points(scores, unit_id, previous) if previous else {}
    official = {g.id: float(g.points) for g in rules.groups}
    rows = []
    for r in comps.itertuples(index=False):
        c = rules.component(r.component)
        points = r.portal_points if pd.notna(r.portal_points) else r.points
        rows.append(
            {
                "component": c.id,
                "group": c.group,
                "name_vi": c.name_vi,
                "name_en": c.name_en,
                "numerator": r.numerator,
                "denominator": r.denominator,
                "rate": r.rate,
                "points": points,
                "max_points": float(c.points),
                "lost": float(c.points) - points if pd.notna(points) and c.points else math.nan,
                "status": r.status,
                "uncertain": c.uncertain,
            }
        )
    lost = pd.DataFrame(rows).sort_values("lost", ascending=False, na_position="last")
    change = []
    for g in rules.groups:
        pts = now.get(g.id, math.nan)
        prev = before.get(g.id, math.nan) if before else math.nan
        change.append(
            {
                "group": g.id,
                "name_vi": g.name_vi,
                "name_en": g.name_en,
                "points": pts,
                "max_points": official[g.id] if g.id in now else math.nan,
                "previous": prev,
                "change": pts - prev,
            }
        )
    total = sum(now.values()) if now else math.nan
    max_total = sum(official[g] for g in now)
    previous_total = sum(before.values()) if before else None
    previous_max = sum(official[g] for g in before) if before else None
    change.append(
        {
            "group": "total",
            "name_vi": "Tổng điểm",
            "name_en": "Total",
            "points": total,
            "max_points": max_total,
            "previous": math.nan if previous_total is None else previous_total,
            "change": math.nan if previous_total is None else total - previous_total,
        }
    )
    shares = {g: now[g] / official[g] for g in now}
    lowest = min(shares, key=shares.get) if shares else None
    text = {
        lang: _count_sentence(first["unit"], total, max_total, lowest, rules, lang)
        for lang in ("vi", "en")
    }
    return CountExplanation(
        unit=first["unit"],
        province=first["province"],
        level=first["level"],
        period=period,
        previous=previous if before else None,
        total=total,
        max_total=max_total,
        previous_total=previous_total,
        previous_max=previous_max,
        lost=lost.reset_index(drop=True),
        change=pd.DataFrame(change),
        lowest_group=lowest,
        text=text,
    )


def _count_sentence(unit, total, max_total, lowest, rules: Rules, lang: str) -> str:
    from analysis import i18n

    name = rules.group(lowest).name(lang) if lowest else i18n.MISSING
    return i18n.label("portal_explained", lang).format(
        unit=unit,
        total=i18n.number(total, lang, 2),
        max_total=i18n.number(max_total, lang, 0),
        lowest=name,
    )


def load(folder: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The portal units and components an import wrote into ``folder``.

    Raises
    ------
    WorkbenchError
        No portal data there (with the command that imports it).
    """
    from analysis.ingest import portal
    from analysis.ingest.scores import load_table

    folder = Path(folder)
    units = load_table(folder / portal.UNITS_FILE, portal.UNIT_COLUMNS, "portal")
    comps = load_table(folder / portal.COMPONENTS_FILE, portal.COMPONENT_COLUMNS, "portal")
    if units is None or comps is None:
        raise WorkbenchError(
            f"no imported portal data in {folder}",
            hint=f"import the portal's responses first: workbench ingest FILE... --out {folder}",
        )
    return units, comps


def find_unit(units: pd.DataFrame, name: str, period: str) -> pd.Series:
    """The unit a reader names ("Phú Thọ", "UBND xã Hy Cương", "Xã Hy Cương", "Hy Cương").

    Raises
    ------
    WorkbenchError
        No unit or several units of that name in the period.
    """
    from analysis.ingest.values import fold

    key = fold(name)
    here = units[units["period"] == period].drop_duplicates("unit_id")
    if here.empty:
        periods = ", ".join(sorted(set(units["period"])))
        raise WorkbenchError(f"no portal data for {period}", hint=f"periods imported: {periods}")

    def names(r) -> set[str]:
        local = fold(r.unit)
        bare = local.split(" ", 1)[1] if r.level == "commune" and " " in local else local
        return {fold(r.portal_name), local, bare}

    exact = [r for r in here.itertuples(index=False) if key in names(r)]
    # A province's own name first: "Phú Thọ" is the province, not the ward Phường Phú Thọ.
    top = [r for r in exact if r.level == "province"]
    hits = top or exact
    if len(hits) != 1:
        shown = ", ".join(sorted(set(here["unit"]))[:10])
        raise WorkbenchError(
            f"{'no' if not hits else 'several'} portal unit named {name!r} in {period}",
            hint=f"units: {shown} …" if not hits else "write the portal's full name",
        )
    return pd.Series(hits[0]._asdict())


__all__ = [
    "COUNTED",
    "CountExplanation",
    "CountScores",
    "explain_counts",
    "NO_COUNTS_FULL",
    "TOLERANCE",
    "component_points",
    "find_unit",
    "load",
    "round_points",
    "score_counts",
    "what_if",
]
