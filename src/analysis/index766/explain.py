"""Why a unit scored what it scored: points lost, change by group, the dossiers behind it, what-if.

A commune's notice reads "72,6/100, giảm 16,3 điểm; thấp nhất: Công khai, minh bạch 0/18; lý do:
…". :func:`explain` produces that sentence from data, with the tables behind it: points lost per
component, the change against the previous period broken down by group, and - through
:meth:`Explanation.culprits` - the dossiers (or procedures, or feedback items) that cost the
points, as a table an analyst can hand to the agency concerned. :func:`what_if` prices a target:
how many points a component would add if its rate reached a given level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from analysis import i18n
from analysis.errors import WorkbenchError
from analysis.index766.engine import (
    COUNTED,
    DOSSIER_DATES,
    MEMORY_LIMIT,
    OK,
    SOURCES,
    THREADS,
    Inputs,
    Period,
    ScoreResult,
    condition_sql,
    parse_period,
    run_components,
    scope_sql,
    sql_literal,
    unit_filter_sql,
    unit_keys,
)
from analysis.index766.rules import (
    TOTAL_POINTS,
    Component,
    Condition,
    Rules,
    atoms,
    load_rules,
)

REASONS_SHOWN = 3  # components named in the sentence; the table has them all

# Columns of a culprits table, per input table (those the input has).
DOSSIER_CULPRIT_COLUMNS = (
    "dossier_id",
    "procedure_code",
    "procedure_name",
    "agency",
    "unit",
    "level",
    "channel",
    "received_date",
    "due_date",
    "finished_date",
    "supplement_requests",
    "fee_vnd",
    "paid_online",
    "issues_result",
    "e_result",
    "synced",
    "rating",
    "source_row",
)
PROCEDURE_CULPRIT_COLUMNS = (
    "procedure_code",
    "procedure_name",
    "level",
    "unit",
    "agency",
    "announce_due_date",
    "announced_date",
    "published_date",
    "content_complete",
    "online_service",
    "fee_bearing",
    "payment_integrated",
    "population_db",
)
FEEDBACK_CULPRIT_COLUMNS = (
    "feedback_id",
    "unit",
    "agency",
    "category",
    "received_date",
    "due_date",
    "handled_date",
    "disliked",
    "repeat",
)


def describe(cond: Condition | None) -> str:
    """A condition in the rules file's words: ``has_fee and paid_online``."""
    if cond is None:
        return "every row"
    op = cond[0]
    if op == "atom":
        return cond[1]
    if op == "not":
        return f"not {describe(cond[1])}"
    inner = f" {'and' if op == 'all' else 'or'} ".join(describe(c) for c in cond[1])
    return f"({inner})"


def _terms(cond: Condition | None) -> list[Condition]:
    """The parts of a numerator a row can fail: the members of a top-level ``all``."""
    if cond is None:
        return []
    return list(cond[1]) if cond[0] == "all" else [cond]


# --- formatting ----------------------------------------------------------------------------------


def period_text(period: str | Period, lang: str = "vi") -> str:
    """A period as a reader writes it: ``06/2023``, ``quý 2/2023``, ``6 tháng đầu năm 2023``,
    ``từ 01/2020 đến 12/2024`` (a range, by its first and last month)."""
    p = parse_period(period)
    year = p.m0 // 12
    if p.kind == "range":
        first, last = (pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1) for m in (p.m0, p.m1))
        return i18n.label("idx_period_range", lang).format(
            first=i18n.month(first, lang), last=i18n.month(last, lang)
        )
    if p.kind == "month":
        return i18n.month(p.start, lang)
    if p.kind == "quarter":
        return i18n.label("idx_period_quarter", lang).format(q=(p.m0 % 12) // 3 + 1, year=year)
    if p.kind == "half":
        key = "idx_period_half1" if p.m0 % 12 == 0 else "idx_period_half2"
        return i18n.label(key, lang).format(year=year)
    return i18n.label("idx_period_year", lang).format(year=year)


def unscored_note(computed_max: float, official_max: float, lang: str) -> str:
    """`` (12 điểm chưa tính được)`` when part of the official maximum had no input, else "".

    The one rule for partial scores: a group or total is shown out of its official maximum,
    never out of what could be computed, with the points that had no input named.
    """
    missing = official_max - computed_max
    if not missing > 0.05:
        return ""
    digits = 0 if abs(missing - round(missing)) < 0.05 else 1
    return " " + i18n.label("points_missing", lang).format(n=i18n.number(missing, lang, digits))


def _pts(x: float, lang: str) -> str:
    """Points as a notice prints them: ``0``, ``18``, ``72,6``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return i18n.MISSING
    x = round(float(x), 1)
    return i18n.number(x, lang, 0 if x.is_integer() else 1)


def _count(x: float, lang: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return i18n.MISSING
    x = float(x)
    return i18n.number(x, lang, 0 if x.is_integer() else 1)


# --- the explanation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """What one unit scored in one period, and why.

    Attributes
    ----------
    unit, province, level, by : str
        The unit and how units were formed.
    period, previous : str
        The period explained and the one compared with (None when not compared).
    total, max_total, previous_total, previous_max : float
        ``max_total`` below 100 means a partial total (components not computed / no data); a
        change between totals out of different maxima is flagged, not broken down.
    lost : pandas.DataFrame
        One row per component: ``component``, ``group``, ``name_vi``, ``name_en``,
        ``numerator``, ``denominator``, ``rate``, ``points``, ``max_points``, ``lost``
        (max - points; NaN when not computed), ``status``, ``uncertain``; most lost first.
    change : pandas.DataFrame
        One row per group then ``total``: ``group``, ``name_vi``, ``name_en``, ``points``,
        ``max_points``, ``previous``, ``change``.
    lowest_group : str or None
        The group with the smallest share of its points.
    text : dict
        ``{"vi": ..., "en": ...}``: the notice's sentence.
    result : ScoreResult
        Scores for both periods (this unit only).
    """

    unit: str
    province: str
    level: str
    by: str
    period: str
    previous: str | None
    total: float
    max_total: float
    previous_total: float | None
    previous_max: float | None
    lost: pd.DataFrame
    change: pd.DataFrame
    lowest_group: str | None
    text: dict[str, str]
    result: ScoreResult
    _context: dict = field(default_factory=dict, repr=False, compare=False)

    def culprits(self, component_id: str) -> pd.DataFrame:
        """The rows behind the points a component lost, for the agency concerned.

        For a dossier component: the dossiers in its denominator that miss its numerator
        (e.g. 2.1: the overdue ones, with ``overdue_because`` = ``finished_late``,
        ``in_progress_past_due`` or ``supplemented_more_than_once`` and ``days_late``), or, for
        a "minus" numerator (5.4), the dossiers counted against it. Procedure and feedback
        components list catalogue rows or feedback items the same way. ``failed`` names the
        conditions of the rules file the row does not meet.

        Parameters
        ----------
        component_id : str
            As in the rules file (``"2.1"``).

        Returns
        -------
        pandas.DataFrame
            Sorted by agency, procedure and date; empty when nothing was lost.
        """
        ctx = self._context
        rules: Rules = ctx["rules"]
        c = rules.component(component_id)
        if c.tracking:
            raise WorkbenchError(f"component {c.id} is tracking only: it loses no points")
        period = parse_period(self.period)
        with Inputs(
            ctx["dossiers"],
            ctx["procedures"],
            ctx["feedback"],
            memory_limit=ctx["memory_limit"],
            threads=ctx["threads"],
        ) as inp:
            inp.rules = rules
            missing = inp.missing(c)
            if missing:
                raise WorkbenchError(f"component {c.id} was not computed: {missing}")
            if c.table == "dossiers":
                return _dossier_culprits(inp, c, period, self.by, ctx["filter"])
            # Procedures and feedback: the same join the score used, rows instead of counts.
            units = pd.DataFrame(
                {
                    "u_province": [self.province],
                    "u_unit": [self.unit],
                    "u_level": [self.level],
                    "period": [period.label],
                }
            )
            source = SOURCES[c.table](inp, [c], [period], self.by, units, ctx["filter"])
            procedures = c.table == "procedures"
            columns = PROCEDURE_CULPRIT_COLUMNS if procedures else FEEDBACK_CULPRIT_COLUMNS
            alias = "procs" if procedures else "fb"
            return _rows(inp, c, source, [f"{alias}.{col}" for col in columns], columns)


def _failed_sql(c: Component) -> tuple[str, list[tuple[str, str]]]:
    """WHERE for the rows that cost points, and (name, SQL) of each condition to report."""
    if c.numerator.minus:
        hits = [(describe(m), condition_sql(m)) for m in c.numerator.minus]
        return "(" + " OR ".join(sql for _, sql in hits) + ")", hits
    terms = [(describe(t), f"(NOT {condition_sql(t)})") for t in _terms(c.numerator.where)]
    return f"(NOT {condition_sql(c.numerator.where)})", terms


def _rows(inp: Inputs, c: Component, source: str, select: list[str], names) -> pd.DataFrame:
    where, terms = _failed_sql(c)
    den = condition_sql(c.denominator.where if c.denominator else None)
    flags = [f'({sql}) AS "_f{i}"' for i, (_, sql) in enumerate(terms)]
    cols = ", ".join(f'{s} AS "{n}"' for s, n in zip(select, names, strict=True))
    sql = f"SELECT {cols}{''.join(', ' + f for f in flags)} FROM {source} WHERE {den} AND {where}"
    frame = inp.con.execute(sql).df()
    return _finish(frame, terms, sort=[n for n in ("agency", "procedure_code") if n in names])


def _finish(frame: pd.DataFrame, terms, sort) -> pd.DataFrame:
    flag_cols = [f"_f{i}" for i in range(len(terms))]
    # As one boolean matrix (NULL: not failed), not row by row through pandas' indexers.
    hits = frame[flag_cols].astype("boolean").fillna(False).to_numpy(dtype=bool).tolist()
    names = [name for name, _ in terms]
    failed = [", ".join(n for n, hit in zip(names, row, strict=True) if hit) for row in hits]
    frame = frame.drop(columns=flag_cols)
    frame["failed"] = failed
    if sort and len(frame):
        frame = frame.sort_values(sort, kind="stable", na_position="last")
    return frame.reset_index(drop=True)


def _dossier_culprits(inp: Inputs, c: Component, period: Period, by: str, unit_filter: str):
    cols = [col for col in DOSSIER_CULPRIT_COLUMNS if col in inp.dossier_columns]
    where, terms = _failed_sql(c)
    den = condition_sql(c.denominator.where if c.denominator else None)
    flags = [f'({sql}) AS "_f{i}"' for i, (_, sql) in enumerate(terms)]
    used = atoms(c.numerator.where).union(*(atoms(m) for m in c.numerator.minus))
    timely = bool(used & {"on_time", "overdue"})
    extra = []
    if timely:
        # Why a dossier is overdue on the period's last day, and by how many days.
        extra = [
            "CASE WHEN coalesce(supplement_requests, 0) > 1 THEN 'supplemented_more_than_once'"
            " WHEN finished_date IS NOT NULL AND finished_date <= _end"
            " AND finished_date > due_date THEN 'finished_late'"
            " WHEN (finished_date IS NULL OR finished_date > _end) AND due_date < _end"
            " THEN 'in_progress_past_due' END AS overdue_because",
            "CASE WHEN finished_date IS NOT NULL AND finished_date <= _end"
            " THEN date_diff('day', due_date, finished_date)"
            " ELSE date_diff('day', due_date, _end) END AS days_late",
        ]
    _, level_filter = unit_keys(by)
    casts = ", ".join(f"CAST({d} AS DATE) AS {d}" for d in DOSSIER_DATES)
    inner = (
        f"SELECT * REPLACE ({casts}), {sql_literal(period.start)} AS _start, {sql_literal(period.end)} AS _end"
        f" FROM dossiers_src WHERE {level_filter} AND {unit_filter}"
    )
    sql = (
        f"SELECT {', '.join(cols + extra + flags)} FROM ({inner})"
        f" WHERE {scope_sql(c.scope)} AND {den} AND {where}"
    )
    frame = inp.con.execute(sql).df()
    if timely and "overdue_because" in frame:
        # An on-time dossier in a "minus" list (5.4: rated not satisfied) has no lateness.
        late = frame["overdue_because"].notna()
        frame["days_late"] = frame["days_late"].where(late)
    sort = [n for n in ("agency", "procedure_code", "received_date") if n in frame.columns]
    return _finish(frame, terms, sort)


def _pick_unit(result: ScoreResult, unit: str, province: str | None) -> pd.DataFrame:
    rows = result.units[result.units["unit"] == unit]
    if province is not None:
        rows = rows[rows["province"] == province]
    if rows.empty:
        raise WorkbenchError(
            f"no {result.by} {unit!r}"
            + (f" in {province}" if province else "")
            + f" with dossiers in {result.period}",
            hint="check the name as the dossier records write it",
        )
    places = rows[["province", "level"]].drop_duplicates()
    if len(places) > 1:
        names = ", ".join(sorted(places["province"].astype(str)))
        raise WorkbenchError(
            f"{unit!r} is the name of {len(places)} units ({names})",
            hint="say which with province=...",
        )
    return rows


def explain(
    dossiers,
    unit: str,
    period: str,
    *,
    by: str = "province",
    previous: str | None = None,
    compare: bool = True,
    procedures=None,
    feedback=None,
    rules: Rules | str | None = None,
    province: str | None = None,
    memory_limit: str = MEMORY_LIMIT,
    threads: int = THREADS,
    scored: ScoreResult | None = None,
) -> Explanation:
    """Explain one unit's score: points lost, change on the previous period, the lowest group.

    Parameters
    ----------
    dossiers, procedures, feedback, rules, by
        As for :func:`analysis.index766.engine.score`.
    unit : str
        The unit's name as the records write it (a province, a commune, an agency).
    period : str
        ``2023-06``, ``2023Q2``, ``2023H1`` or ``2023``.
    previous : str, optional
        The period to compare with; default the one just before (2023-06 -> 2023-05,
        2023Q1 -> 2022Q4).
    compare : bool, default True
        False: no comparison (the sentence then has no "down x points").
    province : str, optional
        Needed when several provinces have a unit of that name.
    scored : ScoreResult, optional
        Every unit's scores for the period and the one it is compared with, by ``by``, from
        the same records and rules (a batch of commune scorecards scores each period once):
        the unit's rows are taken from it instead of scoring its dossiers again. The numbers
        are the same: a unit's counts do not depend on the other units' rows.

    Returns
    -------
    Explanation
    """
    rules = load_rules(rules)
    current, prev = _periods(period, previous, compare)
    periods = [current] if prev is None else [prev, current]
    unit_filter = unit_filter_sql(by, unit, province)
    if scored is not None:
        units, components = (_rows_of(t, unit, province, periods)
                             for t in (scored.units, scored.components))  # fmt: skip
        notes = list(scored.notes)
    else:
        with Inputs(
            dossiers, procedures, feedback, memory_limit=memory_limit, threads=threads
        ) as inp:
            units, components, notes = run_components(inp, rules, periods, by, unit_filter)
    result = ScoreResult(
        rules_version=rules.version,
        period=current.label,
        by=by,
        units=units,
        components=components,
        notes=tuple(notes),
        rules=rules,
        rules_path=rules.path,
    )
    rows = _pick_unit(result, unit, province)
    now = rows[rows["period"] == current.label]
    if now.empty:
        raise WorkbenchError(f"{unit!r} has no dossiers in {current.label}")
    now = now.iloc[0]
    before = rows[rows["period"] == prev.label] if prev is not None else rows.iloc[0:0]
    before = before.iloc[0] if len(before) else None
    change = _change_table(now, before, rules)
    expl_args = dict(
        unit=str(now["unit"]),
        province=str(now["province"]),
        level=str(now["level"]),
        by=by,
        period=current.label,
        previous=prev.label if prev is not None else None,
        total=float(now["total"]),
        max_total=float(now["max_total"]),
        previous_total=None if before is None else float(before["total"]),
        previous_max=None if before is None else float(before["max_total"]),
        lost=_lost_table(components, now, current.label, rules),
        change=change,
        lowest_group=_lowest_group(change),
        result=result,
    )
    text = {lang: _sentence(expl_args, rules, lang) for lang in ("vi", "en")}
    context = {
        "dossiers": dossiers,
        "procedures": procedures,
        "feedback": feedback,
        "rules": rules,
        "filter": unit_filter_sql(by, str(now["unit"]), str(now["province"])),
        "memory_limit": memory_limit,
        "threads": threads,
    }
    return Explanation(**expl_args, text=text, _context=context)


def _rows_of(table: pd.DataFrame, unit: str, province: str | None, periods) -> pd.DataFrame:
    """The rows of ``unit`` (in ``province``, when given) in ``periods``, as a run of its own."""
    keep = (table["unit"] == unit) & table["period"].isin([p.label for p in periods])
    if province is not None:
        keep &= table["province"] == province
    return table[keep].reset_index(drop=True)


def _periods(period: str, previous: str | None, compare: bool):
    """The period explained and the one it is compared with (None: no comparison)."""
    current = parse_period(period)
    if not compare:
        return current, None
    prev = current.previous() if previous is None else parse_period(previous)
    if prev.label == current.label:
        raise WorkbenchError("the previous period is the period itself")
    return current, prev


def _lost_table(components: pd.DataFrame, now: pd.Series, label: str, rules: Rules) -> pd.DataFrame:
    """The unit's components in the period, the most points lost first (not computed last)."""
    comps = components[
        (components["unit"] == now["unit"])
        & (components["province"] == now["province"])
        & (components["period"] == label)
    ].copy()
    meta = {c.id: c for c in rules.components}
    comps["name_vi"] = comps["component"].map(lambda i: meta[i].name_vi)
    comps["name_en"] = comps["component"].map(lambda i: meta[i].name_en)
    comps["lost"] = (comps["max_points"] - comps["points"]).where(comps["status"].isin(COUNTED))
    lost = comps.sort_values("lost", ascending=False, kind="stable", na_position="last")
    columns = [
        "component",
        "group",
        "name_vi",
        "name_en",
        "numerator",
        "denominator",
        "rate",
        "points",
        "max_points",
        "lost",
        "status",
        "uncertain",
    ]
    return lost[columns].reset_index(drop=True)


def _change_table(now: pd.Series, before: pd.Series | None, rules: Rules) -> pd.DataFrame:
    """Points per group and in total, now and in the previous period, and the change."""
    change_rows = []
    for g in rules.groups:
        pts = now[g.id]
        old = before[g.id] if before is not None else float("nan")
        change_rows.append(
            {
                "group": g.id,
                "name_vi": g.name_vi,
                "name_en": g.name_en,
                "points": pts,
                "max_points": now[f"{g.id}_max"],
                "previous": old,
                "change": pts - old,
            }
        )
    old_total = before["total"] if before is not None else float("nan")
    change_rows.append(
        {
            "group": "total",
            "name_vi": "Tổng điểm",
            "name_en": "Total",
            "points": now["total"],
            "max_points": now["max_total"],
            "previous": old_total,
            "change": now["total"] - old_total,
        }
    )
    return pd.DataFrame(change_rows)


def _lowest_group(change: pd.DataFrame) -> str | None:
    """The group with the lowest share of its points (ties: the most points lost)."""
    groups = change[change["group"] != "total"].copy()
    groups = groups[(groups["max_points"] > 0) & groups["points"].notna()]
    if not len(groups):
        return None
    groups["share"] = groups["points"] / groups["max_points"]
    groups["lost"] = groups["max_points"] - groups["points"]
    return groups.sort_values(["share", "lost"], ascending=[True, False]).iloc[0]["group"]


def _sentence(e: dict, rules: Rules, lang: str) -> str:
    """The notice's sentence: score, change by group, lowest group, reasons."""
    # On the official scale (x/100, a group out of its 18/20/…), with the points that had no
    # input named: a partial total out of what could be computed ("38,9/56") reads as a score
    # out of 56 and disagrees with every table of the document.
    official = {g.id: float(g.points) for g in rules.groups}

    where = {"unit": e["unit"], "period": period_text(e["period"], lang)}
    if not e["max_total"] > 0:  # nothing had its input: no score, never "0/100"
        parts = [i18n.label("idx_score_none", lang).format(**where)]
    else:
        parts = [
            i18n.label("idx_score", lang).format(
                **where, total=_pts(e["total"], lang), max=_pts(TOTAL_POINTS, lang)
            )
            + unscored_note(e["max_total"], TOTAL_POINTS, lang)
        ]
    change: pd.DataFrame = e["change"]
    if e["previous"] is not None:
        prev_text = period_text(e["previous"], lang)
        if e["previous_total"] is None:
            parts.append(i18n.label("idx_no_previous", lang).format(previous=prev_text))
        else:
            delta = round(e["total"] - e["previous_total"], 1)
            key = "idx_down" if delta < 0 else ("idx_up" if delta > 0 else "idx_same")
            words = i18n.label(key, lang).format(points=_pts(abs(delta), lang), previous=prev_text)
            moved = change[(change["group"] != "total") & (change["change"].abs() >= 0.05)]
            moved = moved.reindex(moved["change"].abs().sort_values(ascending=False).index)
            if e["previous_max"] != e["max_total"]:
                # Partial totals out of different maxima do not compare: say so.
                words += " " + i18n.label("idx_not_comparable", lang).format(
                    before=_pts(e["previous_max"], lang), now=_pts(e["max_total"], lang)
                )
            elif len(moved) and delta != 0:
                items = [
                    f"{getattr(r, f'name_{lang}')} {'+' if r.change > 0 else '−'}"
                    f"{_pts(abs(r.change), lang)}"
                    for r in moved.itertuples()
                ]
                words += " (" + "; ".join(items) + ")"
            parts.append(words)
    head = ", ".join(parts)
    clauses = [head]
    if e["lowest_group"] is not None:
        g = change[change["group"] == e["lowest_group"]].iloc[0]
        clauses.append(
            i18n.label("idx_lowest", lang).format(
                group=g[f"name_{lang}"],
                points=_pts(g["points"], lang),
                max=_pts(official.get(g["group"], g["max_points"]), lang),
            )
            + unscored_note(g["max_points"], official.get(g["group"], g["max_points"]), lang)
        )
    lost: pd.DataFrame = e["lost"]
    losing = lost[(lost["status"] == OK) & (lost["lost"] > 0.005)].head(REASONS_SHOWN)
    if len(losing):
        items = []
        for r in losing.itertuples():
            items.append(
                i18n.label("idx_reason", lang).format(
                    id=r.component + ("*" if r.uncertain else ""),
                    name=r.name_vi if lang == "vi" else r.name_en,
                    num=_count(r.numerator, lang),
                    den=_count(r.denominator, lang),
                    rate=i18n.percent(r.rate, lang),
                    lost=_pts(r.lost, lang),
                )
            )
        clauses.append(i18n.label("idx_reasons", lang).format(items="; ".join(items)))
    elif e["max_total"] > 0:  # "no points lost" only of what could be scored
        clauses.append(i18n.label("idx_no_loss", lang))
    open_ = lost[lost["lost"].isna() & (lost["max_points"] > 0)]
    if len(open_):
        clauses.append(
            i18n.label("idx_not_computed", lang).format(
                ids=", ".join(open_["component"]), max=_pts(e["max_total"], lang)
            )
        )
    text = "; ".join(clauses) + "."
    if len(losing) and losing["uncertain"].any():
        text += " (" + i18n.label("idx_uncertain", lang) + ")"
    return text


def what_if(
    result: ScoreResult,
    unit: str,
    component_id: str,
    target_rate: float,
    *,
    period: str | None = None,
    province: str | None = None,
) -> float:
    """Points a component would add if its rate reached ``target_rate``.

    Uses the component's mapping (linear, or full points at a threshold), so raising online
    payment (3.6, 6 points, linear) from 45 % to 80 % adds 6 x (0.80 - 0.45) = 2.1 points,
    and raising online submission (3.3, full at 50 %) past 50 % adds nothing more.

    Parameters
    ----------
    result : ScoreResult
    unit : str
    component_id : str
    target_rate : float
        A share in [0, 1] (0.8 = 80 %).
    period : str, optional
        Needed when ``result`` holds several periods (default: the last).
    province : str, optional
        Needed when several provinces have a unit of that name.

    Returns
    -------
    float
        Points added (negative if the target is below the current rate).
    """
    if isinstance(target_rate, bool) or not 0 <= float(target_rate) <= 1:
        raise WorkbenchError(
            f"target rate {target_rate!r} is not a share between 0 and 1", hint="write 0.8 for 80 %"
        )
    rules = result.rules or load_rules()
    comp = rules.component(component_id)
    if comp.tracking:
        raise WorkbenchError(f"component {comp.id} is tracking only: it is worth no points")
    rows = _pick_unit(result, unit, province)
    label = period if period is not None else rows["period"].iloc[-1]
    key = rows[rows["period"] == label]
    if key.empty:
        raise WorkbenchError(f"{unit!r} has no score for {label}")
    key = key.iloc[0]
    comps = result.components
    row = comps[
        (comps["unit"] == key["unit"])
        & (comps["province"] == key["province"])
        & (comps["period"] == label)
        & (comps["component"] == comp.id)
    ].iloc[0]
    if row["status"] != OK:
        raise WorkbenchError(
            f"component {comp.id} has status {row['status']} for {unit} in {label}: "
            "there is no rate to raise",
            hint=row["reason"] or "",
        )
    # Rounded so that 6 x 0.8 - 6 x 0.45 reads 2.1, not 2.1000000000000005.
    return round(float(comp.mapping.points(float(target_rate), comp.points) - row["points"]), 9)


__all__ = ["Explanation", "describe", "explain", "period_text", "what_if"]
