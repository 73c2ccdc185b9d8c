"""The Decision 766 rules file: its language, loading and validation.

The index's formulas are not settled (``shared/reference/index766.md`` marks several rows
uncertain, and the portal changes details through a technical description, not a decision), so
they live in a versioned YAML file that an analyst can copy and correct, never in code. This
module defines what such a file may say and checks every file before the engine runs it.

A component counts rows of one input table: ``dossiers`` (the dossier records), ``procedures``
(the procedure catalogue), ``feedback`` (citizens' feedback, PAKN) or ``communes`` (a list of
communes with the services they offer, which no command reads yet). What is counted is a
*condition* built from the named conditions of :data:`CONDITIONS` with ``all``, ``any`` and
``not``::

    numerator: {table: dossiers, where: {all: [has_fee, paid_online]}}

The names, not SQL, are the file's vocabulary, so a rules file cannot break the engine or reach
columns it should not read; the SQL each name stands for is defined here, once, and the engine
compiles conditions from it. ``config/index766/README.md`` documents the schema.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from analysis import config
from analysis.errors import WorkbenchError
from analysis.files import read_text

RULES_DIR = config.CONFIG_DIR / "index766"
DEFAULT_VERSION = "2026.1"
DEFAULT_RULES = RULES_DIR / f"rules-{DEFAULT_VERSION}.yaml"

TABLES = ("dossiers", "procedures", "feedback", "communes")
LEVELS = ("province", "district", "commune")
SCOPES = ("received", "handled")
ZERO_DENOMINATOR = ("no_data", "full_points", "zero_points")
TOTAL_POINTS = 100  # the index's maximum, the sum of the group points
# What a component gives when its source names it but gives no counts at all (the portal's
# 4.x: no numerator, no denominator, full points). Read by the count scoring
# (analysis.index766.counts); the dossier engine always says "not computed".
MISSING_COUNTS = ("not_computed", "full_points")
NOT_APPLICABLE = ("full_points",)
HINT = "see config/index766/README.md for the schema of a rules file"

# --- the vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    """A named condition a rules file may use.

    Attributes
    ----------
    name : str
    table : str
        The input table whose rows it tests.
    sql : str
        Its meaning for one row, in DuckDB SQL over the table's columns. ``_start`` and ``_end``
        are the first and last day of the period being scored.
    columns : tuple of str
        Input columns it reads: without them the components using it are "not computed".
    period : bool
        Its truth depends on the period's last day (a dossier's timeliness); the engine then
        evaluates it on per-month cells instead of rows (see :mod:`analysis.index766.engine`).
    needs : str
        Another input table it needs (a procedure "with at least one online dossier").
    doc : str
        What it means, for the README and for messages.
    """

    name: str
    table: str
    sql: str
    columns: tuple[str, ...] = ()
    period: bool = False
    needs: str = ""
    doc: str = ""


def _atom(name, table, sql, columns="", period=False, needs="", doc="") -> Atom:
    return Atom(name, table, sql, tuple(columns.split()), period, needs, doc)


# Why the dossier conditions read as they do (shared/reference/index766.md, "Rules that matter"):
# - on_time: a dossier asked for supplements more than once is overdue whatever its dates; one
#   not finished by the period's last day is judged on that day against its due date, so "in
#   progress and not yet due" is on time.
# - online: submitted online and, where the procedure issues a result, an electronic result.
#   A record that does not say whether the procedure issues a result (null) is not held to it.
# - Unknown flags (null) are "no": a dossier is not counted as synchronised or paid online
#   unless the record says so.
_FINISHED = "(finished_date IS NOT NULL AND finished_date <= _end)"
_SUPPLEMENTS_OK = "coalesce(supplement_requests, 0) <= 1"
_ON_TIME = (
    f"({_SUPPLEMENTS_OK} AND CASE WHEN {_FINISHED} THEN finished_date <= due_date "
    "ELSE due_date >= _end END)"
)
_FEEDBACK_DONE = "(handled_date IS NOT NULL AND handled_date <= _end)"
_FEEDBACK_ON_TIME = (
    f"(CASE WHEN {_FEEDBACK_DONE} THEN handled_date <= due_date ELSE due_date >= _end END)"
)

CONDITIONS: dict[str, Atom] = {
    a.name: a
    for a in (
        # dossiers, one row each -------------------------------------------------------------
        _atom("synced", "dossiers", "coalesce(synced, false)", "synced",
              doc="synchronised to the national portal"),
        _atom("submitted_online", "dossiers", "(channel = 'online')", "channel",
              doc="submitted online (channel 2), whatever the result"),
        _atom("online", "dossiers",
              "(channel = 'online' AND (NOT coalesce(issues_result, false) "
              "OR coalesce(e_result, false)))", "channel issues_result e_result",
              doc="submitted online and, where the procedure issues a result, an electronic "
                  "result was issued"),
        _atom("fully_online", "dossiers", "coalesce(fully_online, false)", "fully_online",
              doc="handled fully online (toàn trình)"),
        _atom("has_fee", "dossiers", "(coalesce(fee_vnd, 0) > 0)", "fee_vnd",
              doc="a non-zero fee"),
        _atom("paid_online", "dossiers", "coalesce(paid_online, false)", "paid_online",
              doc="fee paid online"),
        _atom("issues_result", "dossiers", "coalesce(issues_result, false)", "issues_result",
              doc="the procedure issues a result"),
        _atom("e_result", "dossiers", "coalesce(e_result, false)", "e_result",
              doc="the result was issued electronically"),
        _atom("components_digitised", "dossiers", "coalesce(components_digitised, false)",
              "components_digitised", doc="the dossier's components were digitised"),
        _atom("result_digitised", "dossiers", "coalesce(result_digitised, false)",
              "result_digitised", doc="the result was digitised"),
        _atom("digitised", "dossiers",
              "(coalesce(components_digitised, false) AND coalesce(result_digitised, false))",
              "components_digitised result_digitised",
              doc="components and result both digitised"),
        _atom("data_reused", "dossiers", "coalesce(data_reused, false)", "data_reused",
              doc="at least one component reused digitised data"),
        _atom("rated", "dossiers", "(rating IS NOT NULL)", "rating", doc="the applicant rated it"),
        _atom("rated_satisfied", "dossiers", "(rating = 'satisfied')", "rating",
              doc="rated satisfied"),
        _atom("rated_not_satisfied", "dossiers", "(rating = 'not_satisfied')", "rating",
              doc="rated not satisfied (a dislike)"),
        _atom("supplemented_more_than_once", "dossiers", f"(NOT {_SUPPLEMENTS_OK})",
              "supplement_requests", doc="asked for supplements more than once"),
        # Not in the importer's schema yet: components using them stay "not computed" until an
        # export carries the column (it is read when present).
        _atom("uses_data_store", "dossiers", "coalesce(data_store, false)", "data_store",
              doc="used or pushed to the citizen's personal data store (column data_store)"),
        _atom("uses_population_data", "dossiers", "coalesce(population_data, false)",
              "population_data",
              doc="used population data / VNeID (column population_data)"),
        # dossiers, judged at the period's last day ---------------------------------------------
        _atom("finished", "dossiers", _FINISHED, "finished_date", period=True,
              doc="finished on or before the period's last day"),
        _atom("in_progress", "dossiers", f"(NOT {_FINISHED})", "finished_date", period=True,
              doc="not finished on the period's last day"),
        _atom("on_time", "dossiers", _ON_TIME, "finished_date due_date supplement_requests",
              period=True,
              doc="finished on or before its due date, or in progress and not yet due on the "
                  "period's last day; never with more than one supplement request"),
        _atom("overdue", "dossiers", f"(NOT {_ON_TIME})",
              "finished_date due_date supplement_requests", period=True,
              doc="not on_time"),
        # procedures (catalogue rows of the unit's competence) ----------------------------------
        _atom("in_catalogue", "procedures", "TRUE", doc="every procedure of the unit"),
        _atom("due_for_announcement", "procedures",
              "(announce_due_date BETWEEN _start AND _end)", "announce_due_date",
              doc="had to be announced within the period"),
        _atom("announced_on_time", "procedures",
              "(announced_date IS NOT NULL AND announced_date <= announce_due_date)",
              "announced_date announce_due_date", doc="announced on or before its due date"),
        _atom("announced_in_period", "procedures", "(announced_date BETWEEN _start AND _end)",
              "announced_date", doc="announced within the period (so it must be published)"),
        _atom("published_on_time", "procedures",
              "(published_date IS NOT NULL AND published_date <= _publish_deadline)",
              "published_date announced_date",
              doc="published on the national database within settings.publish_working_days "
                  "working days of its announcement"),
        _atom("published_in_period", "procedures", "(published_date BETWEEN _start AND _end)",
              "published_date", doc="published within the period"),
        _atom("content_complete", "procedures", "coalesce(content_complete, false)",
              "content_complete", doc="published with every required part"),
        _atom("online_service", "procedures", "(online_service IN ('partial', 'full'))",
              "online_service", doc="offered as an online public service (partial or full)"),
        _atom("fully_online_service", "procedures", "(online_service = 'full')",
              "online_service", doc="offered as a full-process online service"),
        _atom("fee_bearing", "procedures", "coalesce(fee_bearing, false)", "fee_bearing",
              doc="charges a fee"),
        _atom("payment_integrated", "procedures", "coalesce(payment_integrated, false)",
              "payment_integrated", doc="integrated with online payment"),
        _atom("procedure_issues_result", "procedures", "coalesce(issues_result, false)",
              "issues_result", doc="issues a result"),
        _atom("population_db_connected", "procedures", "coalesce(population_db, false)",
              "population_db", doc="connected to the national population database"),
        _atom("has_online_dossier", "procedures", "(coalesce(_online_dossiers, 0) > 0)",
              needs="dossiers",
              doc="received at least one online dossier (condition `online`) in the period"),
        _atom("has_online_payment", "procedures", "(coalesce(_paid_online_dossiers, 0) > 0)",
              needs="dossiers",
              doc="at least one dossier received in the period was paid online"),
        # feedback (PAKN), rows received in the period -------------------------------------------
        _atom("handled_on_time", "feedback", _FEEDBACK_ON_TIME, "handled_date due_date",
              doc="handled by its due date, or pending and not yet due on the period's last day"),
        _atom("feedback_overdue", "feedback", f"(NOT {_FEEDBACK_ON_TIME})",
              "handled_date due_date", doc="not handled_on_time"),
        _atom("feedback_handled", "feedback", _FEEDBACK_DONE, "handled_date",
              doc="handled by the period's last day"),
        _atom("disliked", "feedback", "coalesce(disliked, false)", "disliked",
              doc="the citizen disliked the answer"),
        _atom("repeat", "feedback", "coalesce(repeat, false)", "repeat",
              doc="a repeat of an earlier complaint"),
        # communes (no input reads this table yet) ---------------------------------------------
        _atom("offers_e_certified_copy", "communes", "coalesce(e_certified_copy, false)",
              "e_certified_copy", doc="the commune offers electronic certified copies"),
    )
}  # fmt: skip

MEASURES: dict[str, Atom] = {
    # Only finished dossiers have a handling time: the engine ANDs `finished` to it.
    "handling_days": _atom(
        "handling_days",
        "dossiers",
        "date_diff('day', received_date, finished_date)",
        "received_date finished_date",
        doc="days from receipt to finish (finished dossiers only)",
    ),
}

# --- the rules ---------------------------------------------------------------------------------

# A condition: ("atom", name) | ("all", (c, ...)) | ("any", (c, ...)) | ("not", c).
Condition = tuple


@dataclass(frozen=True)
class Count:
    """A numerator or denominator: rows of ``table`` meeting ``where`` in the unit and period.

    Attributes
    ----------
    table : str
    where : Condition or None
        None: every row in scope.
    minus : tuple of Condition
        Counts subtracted from the ``where`` count (component 5.4: 100 % minus the overdue
        share minus the share with complaints); the result is floored at zero.
    sum : str or None
        A measure of :data:`MEASURES` summed instead of counting rows (tracking component 2.2).
    """

    table: str
    where: Condition | None = None
    minus: tuple[Condition, ...] = ()
    sum: str | None = None


@dataclass(frozen=True)
class Mapping:
    """How a rate becomes points: ``linear`` (points x rate) or ``full_at`` a threshold."""

    kind: str = "linear"
    threshold: float = 1.0

    def points(self, rate: float, max_points: float) -> float:
        """Points for ``rate`` (clamped to [0, 1]) out of ``max_points``."""
        if rate is None or (isinstance(rate, float) and math.isnan(rate)):
            return math.nan
        rate = min(max(rate, 0.0), 1.0)
        if self.kind == "full_at":
            return max_points if rate >= self.threshold else max_points * rate / self.threshold
        return max_points * rate

    def describe(self) -> str:
        return "linear" if self.kind == "linear" else f"full at {self.threshold:g}"


@dataclass(frozen=True)
class Component:
    """One component (chỉ tiêu) of the index; fields as in the rules file (README)."""

    id: str
    group: str
    name_vi: str
    name_en: str
    points: float
    numerator: Count
    denominator: Count | None
    mapping: Mapping
    zero_denominator: str
    levels: tuple[str, ...]
    scope: str
    uncertain: bool
    note: str = ""
    missing_counts: str = "not_computed"

    @property
    def table(self) -> str:
        return self.numerator.table

    @property
    def tracking(self) -> bool:
        """Reported for information, worth no points (2.2, 5.1)."""
        return self.points == 0

    def name(self, lang: str = "vi") -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class Group:
    """A group of components (nhóm chỉ số) with its points and the portal's column for it."""

    id: str
    name_vi: str
    name_en: str
    points: float
    portal_column: str = ""
    note: str = ""

    def name(self, lang: str = "vi") -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class Band:
    """A rating word for totals from ``min`` up (Xuất sắc, Tốt, ...)."""

    min: float
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class Rules:
    """A loaded, validated rules file.

    Attributes
    ----------
    version : str
        The file's version (``2026.1``); every output records it.
    path : str
        The file it was read from.
    groups, components : tuple
        In file order.
    publish_working_days : int
        Component 1.2's deadline after announcement.
    bands : tuple of Band
        Rating words, highest first; ``bands_uncertain`` / ``bands_note`` say how sure.
    """

    version: str
    path: str
    name: str
    groups: tuple[Group, ...]
    components: tuple[Component, ...]
    publish_working_days: int = 5
    not_applicable: str = "full_points"
    bands: tuple[Band, ...] = ()
    bands_uncertain: bool = True
    bands_note: str = ""
    source: str = ""

    def component(self, component_id: str) -> Component:
        """The component with this id; a WorkbenchError naming the known ids otherwise."""
        for c in self.components:
            if c.id == str(component_id):
                return c
        known = ", ".join(c.id for c in self.components)
        raise WorkbenchError(
            f"no component {component_id!r} in rules {self.version}", hint=f"known: {known}"
        )

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise WorkbenchError(f"no group {group_id!r} in rules {self.version}")

    @property
    def total_points(self) -> float:
        return float(sum(g.points for g in self.groups))

    def band(self, total: float, lang: str = "vi") -> str | None:
        """The rating word for a total (None for a missing total)."""
        if total is None or (isinstance(total, float) and math.isnan(total)):
            return None
        for b in self.bands:
            if total >= b.min:
                return b.label_vi if lang == "vi" else b.label_en
        return None


# --- loading and validation ----------------------------------------------------------------------

_TOP = {"version", "name", "source", "settings", "groups", "components", "rating_bands", "note"}
_SETTINGS = {"publish_working_days", "not_applicable"}
_GROUP = {"id", "name_vi", "name_en", "points", "portal_column", "note"}
_COMPONENT = {
    "id",
    "group",
    "name_vi",
    "name_en",
    "points",
    "numerator",
    "denominator",
    "mapping",
    "zero_denominator",
    "missing_counts",
    "levels",
    "scope",
    "uncertain",
    "note",
}
_REQUIRED = ("id", "group", "name_vi", "name_en", "points", "numerator")
_COUNT = {"table", "where", "minus", "sum"}
_BANDS = {"uncertain", "note", "bands"}
_BAND = {"min", "label_vi", "label_en"}


class _Context:
    """Where a value sits in the file, for messages: file, component id, field."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, message: str, hint: str = HINT) -> WorkbenchError:
        return WorkbenchError(f"{self.path}: {where}: {message}", hint=hint)


def _number(ctx: _Context, where: str, value, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ctx.fail(where, f"{value!r} is not a number")
    if value < low:
        raise ctx.fail(where, f"{value!r} is below {low:g}")
    return float(value)


def _text(ctx: _Context, where: str, value, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ctx.fail(where, f"{value!r} is not a non-empty text")
    return value.strip()


def _unknown(ctx: _Context, where: str, mapping: dict, allowed: set) -> None:
    extra = sorted(set(mapping) - allowed)
    if extra:
        raise ctx.fail(
            where,
            f"unknown field {extra[0]!r}",
            hint=f"allowed fields: {', '.join(sorted(allowed))}; {HINT}",
        )


def parse_condition(value, table: str, ctx: _Context, where: str) -> Condition:
    """Read a condition (a name, or ``{all: [...]}`` / ``{any: [...]}`` / ``{not: ...}``)."""
    if isinstance(value, str):
        atom = CONDITIONS.get(value)
        if atom is None:
            close = [n for n, a in CONDITIONS.items() if a.table == table]
            raise ctx.fail(
                where,
                f"unknown condition {value!r}",
                hint=f"conditions on {table}: {', '.join(close)}; {HINT}",
            )
        if atom.table != table:
            raise ctx.fail(where, f"condition {value!r} tests {atom.table}, not {table}")
        return ("atom", value)
    if isinstance(value, dict) and len(value) == 1:
        ((op, arg),) = value.items()
        if op in ("all", "any"):
            if not isinstance(arg, list) or not arg:
                raise ctx.fail(where, f"{op}: needs a non-empty list of conditions")
            return (op, tuple(parse_condition(a, table, ctx, f"{where}.{op}") for a in arg))
        if op == "not":
            return ("not", parse_condition(arg, table, ctx, f"{where}.not"))
    raise ctx.fail(
        where,
        f"{value!r} is not a condition",
        hint="write a condition name, or {all: [...]}, {any: [...]}, {not: ...}",
    )


def atoms(cond: Condition | None) -> set[str]:
    """Names of the conditions a condition uses."""
    if cond is None:
        return set()
    if cond[0] == "atom":
        return {cond[1]}
    if cond[0] == "not":
        return atoms(cond[1])
    return set().union(*(atoms(c) for c in cond[1]))


def _count(ctx: _Context, where: str, value, scope_table: str | None = None) -> Count:
    if not isinstance(value, dict):
        raise ctx.fail(where, f"{value!r} is not a mapping with table and where")
    _unknown(ctx, where, value, _COUNT)
    table = value.get("table")
    if table not in TABLES:
        raise ctx.fail(
            f"{where}.table",
            f"unknown table {table!r}",
            hint=f"tables: {', '.join(TABLES)}",
        )
    if scope_table is not None and table != scope_table:
        raise ctx.fail(
            f"{where}.table", f"numerator reads {scope_table}, denominator {table}: use one table"
        )
    cond = value.get("where")
    cond = None if cond is None else parse_condition(cond, table, ctx, f"{where}.where")
    minus = value.get("minus") or []
    if not isinstance(minus, list):
        raise ctx.fail(f"{where}.minus", "needs a list of conditions")
    minus_c = tuple(parse_condition(m, table, ctx, f"{where}.minus") for m in minus)
    measure = value.get("sum")
    if measure is not None:
        if measure not in MEASURES or MEASURES[measure].table != table:
            raise ctx.fail(
                f"{where}.sum",
                f"unknown measure {measure!r}",
                hint=f"measures: {', '.join(MEASURES)}",
            )
        if minus_c:
            raise ctx.fail(f"{where}", "sum and minus cannot be combined")
    return Count(table, cond, minus_c, measure)


def _mapping(ctx: _Context, where: str, value) -> Mapping:
    if value is None or value == "linear":
        return Mapping()
    if isinstance(value, dict) and set(value) == {"full_at"}:
        t = value["full_at"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 1:
            raise ctx.fail(
                f"{where}.full_at",
                f"bad threshold {t!r}",
                hint="a threshold is a share above 0 and at most 1 (0.8 = 80 %)",
            )
        return Mapping("full_at", float(t))
    raise ctx.fail(
        where, f"unknown mapping {value!r}", hint="use `linear` or `{full_at: 0.8}`; " + HINT
    )


def _component(ctx: _Context, raw, index: int, groups: dict[str, Group]) -> Component:
    if not isinstance(raw, dict):
        raise ctx.fail(f"components[{index}]", "is not a mapping")
    cid = str(raw.get("id", f"#{index + 1}"))
    where = f"component {cid}"
    _unknown(ctx, where, raw, _COMPONENT)
    for key in _REQUIRED:
        if key not in raw:
            raise ctx.fail(where, f"field {key!r} is missing")
    if raw["group"] not in groups:
        raise ctx.fail(
            f"{where}: field 'group'",
            f"unknown group {raw['group']!r}",
            hint=f"groups: {', '.join(groups)}",
        )
    points = _number(ctx, f"{where}: field 'points'", raw["points"])
    numerator = _count(ctx, f"{where}: field 'numerator'", raw["numerator"])
    denominator = raw.get("denominator")
    if denominator is None:
        if points > 0:
            raise ctx.fail(
                f"{where}",
                "field 'denominator' is missing (only 0-point tracking components may omit it)",
            )
    else:
        denominator = _count(
            ctx, f"{where}: field 'denominator'", denominator, scope_table=numerator.table
        )
        if denominator.minus or denominator.sum:
            raise ctx.fail(f"{where}: field 'denominator'", "minus/sum belong in the numerator")
    if numerator.sum and points > 0:
        raise ctx.fail(f"{where}: field 'numerator'", "a sum (average) can only be tracked")
    mapping = _mapping(ctx, f"{where}: field 'mapping'", raw.get("mapping"))
    zero = raw.get("zero_denominator", "no_data")
    if zero not in ZERO_DENOMINATOR:
        raise ctx.fail(
            f"{where}: field 'zero_denominator'",
            f"unknown value {zero!r}",
            hint=f"use {' or '.join(ZERO_DENOMINATOR)}",
        )
    missing_counts = raw.get("missing_counts", "not_computed")
    if missing_counts not in MISSING_COUNTS:
        raise ctx.fail(
            f"{where}: field 'missing_counts'",
            f"unknown value {missing_counts!r}",
            hint=f"use {' or '.join(MISSING_COUNTS)}",
        )
    levels = raw.get("levels", list(LEVELS))
    if not isinstance(levels, list) or not levels or any(lv not in LEVELS for lv in levels):
        raise ctx.fail(
            f"{where}: field 'levels'",
            f"{levels!r} is not a list of levels",
            hint=f"levels: {', '.join(LEVELS)}",
        )
    scope = raw.get("scope", "received")
    if scope not in SCOPES:
        raise ctx.fail(
            f"{where}: field 'scope'", f"unknown scope {scope!r}", hint=f"use {' or '.join(SCOPES)}"
        )
    if scope != "received" and numerator.table != "dossiers":
        raise ctx.fail(f"{where}: field 'scope'", "a scope applies to dossier components only")
    uncertain = raw.get("uncertain", False)
    if not isinstance(uncertain, bool):
        raise ctx.fail(f"{where}: field 'uncertain'", f"{uncertain!r} is not true or false")
    return Component(
        id=cid,
        group=raw["group"],
        name_vi=_text(ctx, f"{where}: field 'name_vi'", raw["name_vi"]),
        name_en=_text(ctx, f"{where}: field 'name_en'", raw["name_en"]),
        points=points,
        numerator=numerator,
        denominator=denominator,
        mapping=mapping,
        zero_denominator=zero,
        levels=tuple(levels),
        scope=scope,
        uncertain=uncertain,
        note=_text(ctx, f"{where}: field 'note'", raw.get("note"), required=False),
        missing_counts=missing_counts,
    )


TOTAL_POINTS = 100  # the index's maximum, the sum of the group points


def parse_rules(doc, path: str = "<rules>") -> Rules:
    """Validate a parsed rules document and build :class:`Rules`.

    Raises
    ------
    WorkbenchError
        Naming the file, the component id and the field: an unknown field, table, condition or
        mapping; a bad threshold; component points that do not add up to their group's points;
        group points that do not add up to 100.
    """
    ctx = _Context(path)
    if not isinstance(doc, dict):
        raise ctx.fail("top level", "is not a mapping (version, groups, components, ...)")
    _unknown(ctx, "top level", doc, _TOP)
    for key in ("version", "groups", "components"):
        if key not in doc:
            raise ctx.fail("top level", f"field {key!r} is missing")
    version = str(doc["version"]).strip()
    settings = doc.get("settings") or {}
    if not isinstance(settings, dict):
        raise ctx.fail("settings", "is not a mapping")
    _unknown(ctx, "settings", settings, _SETTINGS)
    days = settings.get("publish_working_days", 5)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ctx.fail("settings: field 'publish_working_days'", f"{days!r} is not a whole >= 0")
    not_applicable = settings.get("not_applicable", "full_points")
    if not_applicable not in NOT_APPLICABLE:
        raise ctx.fail("settings: field 'not_applicable'", f"unknown value {not_applicable!r}")

    if not isinstance(doc["groups"], list) or not doc["groups"]:
        raise ctx.fail("groups", "needs a list of groups")
    groups: dict[str, Group] = {}
    for i, g in enumerate(doc["groups"]):
        if not isinstance(g, dict) or "id" not in g:
            raise ctx.fail(f"groups[{i}]", "needs an id")
        where = f"group {g['id']}"
        _unknown(ctx, where, g, _GROUP)
        if g["id"] in groups:
            raise ctx.fail(where, "appears twice")
        groups[g["id"]] = Group(
            id=str(g["id"]),
            name_vi=_text(ctx, f"{where}: field 'name_vi'", g.get("name_vi")),
            name_en=_text(ctx, f"{where}: field 'name_en'", g.get("name_en")),
            points=_number(ctx, f"{where}: field 'points'", g.get("points")),
            portal_column=_text(ctx, f"{where}: field 'portal_column'", g.get("portal_column"),
                                required=False),
            note=_text(ctx, f"{where}: field 'note'", g.get("note"), required=False),
        )  # fmt: skip

    # Decision 766 scores out of 100; groups adding up to anything else would score every unit
    # on another scale without a word (a 110-point total reads as a better province).
    total = sum(g.points for g in groups.values())
    if not math.isclose(total, TOTAL_POINTS, abs_tol=1e-9):
        listed = " + ".join(f"{g.id} ({g.points:g})" for g in groups.values())
        raise ctx.fail(
            "groups: field 'points'",
            f"group points add up to {total:g}, not {TOTAL_POINTS}: {listed}",
            hint=f"Decision 766 scores out of {TOTAL_POINTS}: move points between groups "
            "(and their components) so that they add up to it",
        )

    if not isinstance(doc["components"], list) or not doc["components"]:
        raise ctx.fail("components", "needs a list of components")
    components = [_component(ctx, raw, i, groups) for i, raw in enumerate(doc["components"])]
    seen: set[str] = set()
    for c in components:
        if c.id in seen:
            raise ctx.fail(f"component {c.id}", "id appears twice")
        seen.add(c.id)
    for g in groups.values():
        members = [c for c in components if c.group == g.id]
        total = sum(c.points for c in members)
        if not math.isclose(total, g.points, abs_tol=1e-9):
            listed = " + ".join(f"{c.id} ({c.points:g})" for c in members) or "none"
            raise ctx.fail(
                f"group {g.id}: field 'points'",
                f"component points add up to {total:g}, not the group's {g.points:g}: {listed}",
                hint="change a component's points or the group's (tracking components have 0)",
            )

    bands_doc = doc.get("rating_bands") or {}
    if not isinstance(bands_doc, dict):
        raise ctx.fail("rating_bands", "is not a mapping (uncertain, note, bands)")
    _unknown(ctx, "rating_bands", bands_doc, _BANDS)
    bands: list[Band] = []
    for i, b in enumerate(bands_doc.get("bands") or []):
        where = f"rating_bands.bands[{i}]"
        if not isinstance(b, dict):
            raise ctx.fail(where, "is not a mapping")
        _unknown(ctx, where, b, _BAND)
        low = _number(ctx, f"{where}: field 'min'", b.get("min"))
        if low > 100:
            raise ctx.fail(f"{where}: field 'min'", f"bad threshold {low:g} (above 100)")
        if bands and low >= bands[-1].min:
            raise ctx.fail(f"{where}: field 'min'", "bands must be listed from the highest down")
        bands.append(
            Band(
                low,
                _text(ctx, f"{where}: field 'label_vi'", b.get("label_vi")),
                _text(ctx, f"{where}: field 'label_en'", b.get("label_en")),
            )
        )
    uncertain = bands_doc.get("uncertain", True)
    if not isinstance(uncertain, bool):
        raise ctx.fail("rating_bands: field 'uncertain'", f"{uncertain!r} is not true or false")
    return Rules(
        version=version,
        path=path,
        name=str(doc.get("name", "")),
        groups=tuple(groups.values()),
        components=tuple(components),
        publish_working_days=days,
        not_applicable=not_applicable,
        bands=tuple(bands),
        bands_uncertain=uncertain,
        bands_note=str(bands_doc.get("note", "")),
        source=str(doc.get("source", "")),
    )


def load_rules(path: Path | str | Rules | None = None) -> Rules:
    """Read and validate a rules file (default: the shipped ``rules-2026.1.yaml``).

    Parameters
    ----------
    path : path-like or Rules, optional
        A rules file (``--rules FILE``); a :class:`Rules` is returned as is.

    Raises
    ------
    WorkbenchError
        The file is missing, is not YAML, or breaks the schema (the message names the file,
        the component id and the field).
    """
    if isinstance(path, Rules):
        return path
    path = Path(path) if path is not None else DEFAULT_RULES
    if not path.is_file():
        raise WorkbenchError(
            f"rules file {path} not found",
            hint=f"copy {DEFAULT_RULES} and pass the copy with --rules FILE",
        )
    stat = path.stat()
    return _parsed(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parsed(path: str, mtime_ns: int, size: int) -> Rules:
    """Parse a rules file once per version of it: a batch scores hundreds of times with it (the
    file's time and size are part of the key, so an edited file is read again)."""
    try:
        # libyaml's loader when built (a tenth of the time: a score reads the rules once).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        doc = yaml.load(read_text(path), Loader=loader)  # not UTF-8: one error naming the line
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise WorkbenchError(f"{path}:{line} is not valid YAML ({exc.__class__.__name__})",
                             hint=HINT) from None  # fmt: skip
    return parse_rules(doc, path)
