"""The Decision 766 index from dossier records: DuckDB over Parquet, rules from a YAML file.

How a score is computed, and why this way
-----------------------------------------
A dossier's timeliness depends on the period it is judged in: one received in May and still open
on 31 May is judged on that day against its due date, and again in June with June's last day. So
a dossier cannot be reduced to one row of flags; but it can be reduced to a *cell*:

1. **One pass over the dossiers** (DuckDB, ``SUM(CASE ...)``, grouped by unit and a cell key).
   The key packs the months that matter - received ``r``, finished ``f`` (capped after the
   range), the month after the due date ``d`` - and two bits: finished by the due date ``a``,
   at most one supplement request ``b``. Every other condition a rules file uses (synchronised,
   online, paid online, ...) becomes one ``SUM(CASE WHEN ... THEN 1 ELSE 0 END)`` column. A
   national year of 100 million dossiers shrinks to about a million cells.
2. **Periods on the cells.** For each period (a month, quarter, half-year or year; several in
   one run with ``every``) and cell, whether the dossier is in scope (received in the period, or
   handled: received by its last day and not finished before its first), finished, or on time
   is a function of the key alone: finished ``f <= last``; on time ``b and (a if finished else
   d > last)``. A condition mixing those with row conditions is split over the (at most four)
   true/false cases of its period conditions, each case a stage-1 column.
3. **Procedures and feedback** (small tables) are joined to the units and periods in DuckDB.
4. **Points** per component from its rule (:mod:`analysis.index766.rules`), then group points
   and the total, in pandas on the small per-unit table.

Components whose input is missing (no procedure catalogue, no feedback table, a column the
records lack) are "not_computed" and the total is partial: ``max_total`` is what the computed
components could reach, never a zero in their place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import config
from analysis.errors import WorkbenchError
from analysis.files import atomic_path
from analysis.index766.rules import (
    CONDITIONS,
    MEASURES,
    Component,
    Condition,
    Rules,
    atoms,
    load_rules,
)

BY = ("province", "district", "commune", "agency")
EVERY = ("month", "quarter", "half", "year")
MEMORY_LIMIT = "1GB"  # DuckDB spills to disk beyond this
THREADS = 2

# Statuses of a component for one unit and period.
OK = "ok"
NO_DATA = "no_data"  # zero denominator: no points, left out of the total and its maximum
NO_DATA_FULL = "no_data_full_points"  # zero denominator where the rule gives full points
NO_DATA_ZERO = "no_data_zero_points"  # zero denominator where the rule gives 0 (2.1, 5.4)
NOT_APPLICABLE = "not_applicable"  # the component does not apply at the unit's level
NOT_COMPUTED = "not_computed"  # its input table or column is missing
TRACKING = "tracking"  # reported, worth no points
COUNTED = (OK, NO_DATA_FULL, NOT_APPLICABLE, NO_DATA_ZERO)
STATUSES = (OK, NO_DATA, NO_DATA_FULL, NOT_APPLICABLE, NOT_COMPUTED, TRACKING, NO_DATA_ZERO)

UNIT_COLUMNS = ("unit", "province", "level", "period")

# --- periods ---------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|Q([1-4])|H([12]))?$")
_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


@dataclass(frozen=True)
class Period:
    """A month, quarter, half-year or year, or a range of them (``2019..2023``).

    Attributes
    ----------
    label : str
        ``2023-06``, ``2023Q2``, ``2023H1``, ``2023`` or ``2019-01..2023-12``.
    kind : {"month", "quarter", "half", "year", "range"}
    m0, m1 : int
        First and last month as ``year * 12 + month - 1``.
    """

    label: str
    kind: str
    m0: int
    m1: int

    @property
    def start(self) -> dt.date:
        return dt.date(self.m0 // 12, self.m0 % 12 + 1, 1)

    @property
    def end(self) -> dt.date:
        nxt = self.m1 + 1
        return dt.date(nxt // 12, nxt % 12 + 1, 1) - dt.timedelta(days=1)

    def previous(self) -> Period:
        """The period of the same kind just before (2023-06 -> 2023-05, 2023Q1 -> 2022Q4).

        Before a range, the range of as many months ending the month before it.
        """
        if self.kind == "range":
            months = self.m1 - self.m0 + 1
            return _range(_make("month", self.m0 - months), _make("month", self.m0 - 1))
        return _make(self.kind, self.m0 - _MONTHS[self.kind])

    def split(self, every: str | None) -> list[Period]:
        """The periods of kind ``every`` that make up this one (itself when None)."""
        if every is None:
            return [self]
        if every not in EVERY:
            raise WorkbenchError(f"unknown 'every' {every!r}", hint=f"use {', '.join(EVERY)}")
        step = _MONTHS[every]
        # A range need not start on a quarter (half, year): its parts must still be whole ones.
        if step > self.m1 - self.m0 + 1 or self.m0 % step or (self.m1 + 1) % step:
            raise WorkbenchError(
                f"cannot split {self.label} into {every}s",
                hint=f"give a period made of whole {every}s" if step > 1 else None,
            )
        return [_make(every, m) for m in range(self.m0, self.m1 + 1, step)]


def _make(kind: str, m0: int) -> Period:
    year, month = divmod(m0, 12)
    month += 1
    label = {
        "month": f"{year}-{month:02d}",
        "quarter": f"{year}Q{(month - 1) // 3 + 1}",
        "half": f"{year}H{(month - 1) // 6 + 1}",
        "year": f"{year}",
    }[kind]
    return Period(label, kind, m0, m0 + _MONTHS[kind] - 1)


def _range(first: Period, last: Period) -> Period:
    """The months from the start of ``first`` to the end of ``last``, labelled month..month."""
    label = f"{_make('month', first.m0).label}..{_make('month', last.m1).label}"
    return Period(label, "range", first.m0, last.m1)


def parse_period(text: str | Period) -> Period:
    """Read ``2023-06`` | ``2023Q2`` | ``2023H1`` | ``2023``, or a range ``FIRST..LAST`` of them.

    A range runs from the first month of ``FIRST`` to the last of ``LAST``: ``2019..2023`` is
    five years (labelled ``2019-01..2023-12``), ``2023-04..2024-03`` twelve months. A range of one
    period is that period.

    Raises
    ------
    WorkbenchError
        For anything else, or a range that ends before it starts.
    """
    if isinstance(text, Period):
        return text
    if ".." in str(text):
        first, _, last = str(text).partition("..")
        a, b = parse_period(first), parse_period(last)
        if b.m1 < a.m0:
            raise WorkbenchError(
                f"period {text!r} ends before it starts", hint="write the earlier period first"
            )
        if (a.m0, a.m1) == (b.m0, b.m1):
            return a
        return _range(a, b)
    m = _PERIOD.match(str(text).strip())
    if not m or (m.group(2) and not 1 <= int(m.group(2)) <= 12):
        raise WorkbenchError(
            f"period {text!r} is not a month, quarter, half-year or year",
            hint="write 2023-06, 2023Q2, 2023H1 or 2023",
        )
    year = int(m.group(1))
    if m.group(2):
        return _make("month", year * 12 + int(m.group(2)) - 1)
    if m.group(3):
        return _make("quarter", year * 12 + 3 * (int(m.group(3)) - 1))
    if m.group(4):
        return _make("half", year * 12 + 6 * (int(m.group(4)) - 1))
    return _make("year", year * 12)


# --- the result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreResult:
    """Index scores per unit and period, with every component behind them.

    Attributes
    ----------
    rules_version : str
        Version of the rules file used (and ``rules_path``, the file).
    period : str
        The period asked for (its parts are in the tables' ``period`` column with ``every``).
    by : str
        ``province``, ``district``, ``commune`` or ``agency``.
    units : pandas.DataFrame
        One row per unit and period: ``unit``, ``province``, ``level``, ``period``,
        ``dossiers_received``, ``total``, ``max_total`` (what the computed components could
        reach; 100 when all are), ``complete``, ``band`` (rating word, complete totals only),
        then each group's points and ``<group>_max``.
    components : pandas.DataFrame
        Long: ``unit``, ``province``, ``level``, ``period``, ``component``, ``group``,
        ``numerator``, ``denominator``, ``rate``, ``points``, ``max_points``, ``status``
        (:data:`STATUSES`), ``uncertain``, ``reason``.
    notes : tuple of str
        What the reader should know (dossiers left out for want of a unit, ...).
    rules : Rules
        The rules themselves, for :func:`analysis.index766.explain.what_if`.
    """

    rules_version: str
    period: str
    by: str
    units: pd.DataFrame
    components: pd.DataFrame
    notes: tuple[str, ...] = ()
    rules: Rules | None = field(default=None, repr=False, compare=False)
    rules_path: str = ""

    def to_json(self) -> list[dict]:
        """A list of units, each ``{unit, period, total, max_total, groups, components, ...}``.

        Missing numbers (not computed, no data) are ``null``; ``uncertain`` marks components
        whose rule the reference does not settle.
        """
        groups = [g.id for g in self.rules.groups] if self.rules else []
        by_unit = {
            key: frame for key, frame in self.components.groupby(list(UNIT_COLUMNS), sort=False)
        }
        out = []
        for row in self.units.itertuples(index=False):
            key = tuple(getattr(row, c) for c in UNIT_COLUMNS)
            comps = by_unit.get(key, self.components.iloc[0:0])
            out.append(
                {
                    "unit": row.unit,
                    "province": row.province,
                    "level": row.level,
                    "period": row.period,
                    "total": _num(row.total),
                    "max_total": _num(row.max_total),
                    "complete": bool(row.complete),
                    "band": row.band if isinstance(row.band, str) else None,
                    "band_uncertain": bool(self.rules.bands_uncertain) if self.rules else True,
                    "dossiers_received": int(row.dossiers_received),
                    "groups": {g: _num(getattr(row, g)) for g in groups},
                    "components": [
                        {
                            "id": c.component,
                            "numerator": _num(c.numerator),
                            "denominator": _num(c.denominator),
                            "rate": _num(c.rate),
                            "points": _num(c.points),
                            "max_points": _num(c.max_points),
                            "status": c.status,
                            "uncertain": bool(c.uncertain),
                        }
                        for c in comps.itertuples(index=False)
                    ],
                    "rules_version": self.rules_version,
                }
            )
        return out

    def table(self) -> pd.DataFrame:
        """The components table with each unit's total beside it (what CSV/Parquet hold)."""
        keep = [*UNIT_COLUMNS, "total", "max_total", "complete"]
        out = self.components.merge(self.units[keep], on=list(UNIT_COLUMNS), how="left")
        out.insert(0, "rules_version", self.rules_version)
        return out

    def to_file(self, path: Path | str) -> Path:
        """Write the result to ``.csv``, ``.parquet`` or ``.xlsx``, atomically.

        CSV and Parquet hold :meth:`table` (one row per unit, period and component, with the
        unit's total); an Excel workbook holds the sheets ``units`` and ``components``. Every
        file records the rules version.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".xlsx"):
            raise WorkbenchError(
                f"cannot write {path.name}", hint="write a .csv, .parquet or .xlsx file"
            )
        with atomic_path(path) as tmp:
            if suffix == ".csv":
                self.table().to_csv(tmp, index=False, encoding="utf-8")
            elif suffix == ".parquet":
                table = pa.Table.from_pandas(self.table(), preserve_index=False)
                meta = dict(table.schema.metadata or {})
                meta[b"index766_rules"] = f"{self.rules_version} {self.rules_path}".encode()
                meta[b"index766_period"] = f"{self.period} by {self.by}".encode()
                import pyarrow.parquet as pq

                pq.write_table(table.replace_schema_metadata(meta), tmp)
            else:
                units = self.units.copy()
                units.insert(0, "rules_version", self.rules_version)
                with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                    units.to_excel(xl, sheet_name="units", index=False)
                    self.table().to_excel(xl, sheet_name="components", index=False)
                    from analysis import escape

                    for sheet in xl.sheets.values():  # names from data never run as formulas
                        escape.xlsx_sheet(sheet)
        return path


def _num(x):
    if x is None:
        return None
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else round(x, 6)


# --- inputs ------------------------------------------------------------------------------------------

DOSSIER_DATES = ("received_date", "due_date", "finished_date")
DOSSIER_REQUIRED = ("province", "received_date", "due_date", "finished_date")

# The two optional tables: column -> kind. Required columns are listed apart.
PROCEDURE_COLUMNS = {
    "procedure_code": "text",
    "procedure_name": "text",
    "level": "level",
    "province": "text",
    "unit": "text",
    "agency": "text",
    "announce_due_date": "date",
    "announced_date": "date",
    "published_date": "date",
    "content_complete": "bool",
    "online_service": "service",
    "fee_bearing": "bool",
    "payment_integrated": "bool",
    "issues_result": "bool",
    "population_db": "bool",
}
PROCEDURE_REQUIRED = ("procedure_code", "level")
FEEDBACK_COLUMNS = {
    "feedback_id": "text",
    "province": "text",
    "unit": "text",
    "agency": "text",
    "level": "level",
    "received_date": "date",
    "due_date": "date",
    "handled_date": "date",
    "category": "text",
    "disliked": "bool",
    "repeat": "bool",
}
FEEDBACK_REQUIRED = ("received_date", "due_date")

_TRUE = {"1", "true", "t", "yes", "y", "x", "co", "da"}
_FALSE = {"", "0", "false", "f", "no", "n", "khong", "chua"}
_SERVICE = {
    "none": "none", "no": "none", "khong": "none", "": "none", "0": "none",
    "partial": "partial", "motphan": "partial", "1": "partial", "partly": "partial",
    "full": "full", "toantrinh": "full", "2": "full", "fully": "full",
}  # fmt: skip


def _fold(text: object) -> str:
    from analysis.ingest.personal import fold

    return fold(text)


def _level_word(value: str) -> str | None:
    from analysis.ingest.dossiers import LEVEL_WORDS

    key = _fold(value)
    for level, words in LEVEL_WORDS.items():
        if key in words:
            return level
    return None


def _read_table(obj, kind: str) -> tuple[pd.DataFrame, set[str], str]:
    """A procedure catalogue or feedback table, typed; (frame, columns present, name)."""
    spec, required = (
        (PROCEDURE_COLUMNS, PROCEDURE_REQUIRED)
        if kind == "procedures"
        else (FEEDBACK_COLUMNS, FEEDBACK_REQUIRED)
    )
    if isinstance(obj, pd.DataFrame):
        raw, name = obj.copy(), f"<{kind} table>"
    else:
        path = Path(obj)
        name = str(path)
        if not path.is_file():
            raise WorkbenchError(f"{kind} file {path} not found")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        elif suffix == ".parquet":
            raw = pd.read_parquet(path)
        elif suffix == ".xlsx":
            raw = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            raise WorkbenchError(f"cannot read {path.name}", hint="give a .csv, .parquet or .xlsx")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise WorkbenchError(
            f"{name}: column {missing[0]!r} is missing",
            hint=f"a {kind} table needs {', '.join(required)}; see config/index766/README.md",
        )
    present = {c for c in spec if c in raw.columns}
    out = pd.DataFrame(index=raw.index)
    for col, typ in spec.items():
        values = raw[col] if col in raw.columns else pd.Series([None] * len(raw), index=raw.index)
        out[col] = _typed(values, typ, name, col)
    return out.reset_index(drop=True), present, name


def _typed(values: pd.Series, typ: str, name: str, col: str) -> pd.Series:
    def bad(i, v, what):
        row = int(i) + 2  # spreadsheet row: header = 1
        return WorkbenchError(
            f"{name}: row {row}, column {col}: {v!r} is not {what}",
            hint="fix the value or leave the cell empty",
        )

    if typ == "date":
        if pd.api.types.is_datetime64_any_dtype(values):
            return values.dt.date.where(values.notna(), None)
        out = []
        for i, v in values.items():
            if v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() == "":
                out.append(None)
                continue
            if isinstance(v, (dt.date, pd.Timestamp)):
                out.append(pd.Timestamp(v).date())
                continue
            text = str(v).strip()
            for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S"):
                try:
                    out.append(dt.datetime.strptime(text, fmt).date())
                    break
                except ValueError:
                    continue
            else:
                raise bad(i, v, "a date (dd/mm/yyyy or yyyy-mm-dd)")
        return pd.Series(out, index=values.index, dtype=object)
    if typ == "bool":
        out = []
        for i, v in values.items():
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                out.append(None)
            elif isinstance(v, (bool, np.bool_)):
                out.append(bool(v))
            else:
                key = _fold(v)
                if key in _TRUE:
                    out.append(True)
                elif key in _FALSE:
                    out.append(None if key == "" else False)
                else:
                    raise bad(i, v, "yes/no (1/0, true/false, có/không)")
        return pd.Series(out, index=values.index, dtype=object)
    if typ == "level":
        out = []
        for i, v in values.items():
            if v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() == "":
                out.append(None)
                continue
            level = _level_word(v)
            if level is None:
                raise bad(i, v, "a level (province, district, commune / tỉnh, huyện, xã)")
            out.append(level)
        return pd.Series(out, index=values.index, dtype=object)
    if typ == "service":
        out = []
        for i, v in values.items():
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                out.append(None)
                continue
            key = _fold(v)
            if key not in _SERVICE:
                raise bad(i, v, "an online-service level (none, partial, full)")
            out.append(_SERVICE[key])
        return pd.Series(out, index=values.index, dtype=object)
    out = [
        None
        if v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() == ""
        else str(v).strip()
        for v in values
    ]
    return pd.Series(out, index=values.index, dtype=object)


def _arrow(frame: pd.DataFrame, dates: tuple[str, ...] = ()) -> pa.Table:
    """A frame as Arrow, its date columns as date32 (DuckDB date arithmetic needs DATE)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in dates:
        if name in table.column_names:
            i = table.column_names.index(name)
            col = table.column(i)
            if pa.types.is_timestamp(col.type) or pa.types.is_null(col.type):
                col = (
                    col.cast(pa.date32())
                    if not pa.types.is_null(col.type)
                    else pa.nulls(len(col), pa.date32())
                )
                table = table.set_column(i, name, col)
    return table


def _lit(value) -> str:
    """A SQL literal for a text or date (values come from data and rules, never from SQL)."""
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


class Inputs:
    """A DuckDB connection with the dossiers (and the optional tables) registered.

    Parameters
    ----------
    dossiers : path-like or pandas.DataFrame
        A Parquet file, or a folder of them (searched recursively, Hive partitions read), in the
        importer's schema; or a frame for tests.
    procedures, feedback : path-like or pandas.DataFrame, optional
    memory_limit, threads : DuckDB settings (it spills to a temporary folder past the limit).

    Attributes
    ----------
    progress : bool
        Show a bar with the time left on stderr during the pass over the dossiers.
    make_cells : callable, optional
        ``make_cells(inputs, sql)`` creates the temporary table ``cells`` from the stage-1 query
        over ``dossiers_src``; default that query on this connection. The Dask path
        (:mod:`analysis.batch.scoring`) runs it on workers, a group of files each.
    """

    def __init__(
        self,
        dossiers,
        procedures=None,
        feedback=None,
        *,
        memory_limit: str = MEMORY_LIMIT,
        threads: int = THREADS,
    ) -> None:
        self.rules: Rules | None = None
        self.progress = False
        self.make_cells = None
        self._tmp = tempfile.TemporaryDirectory(prefix="index766-")
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(f"SET memory_limit = {_lit(memory_limit)}")
        self.con.execute(f"SET temp_directory = {_lit(self._tmp.name)}")
        # Row order is never needed: without it DuckDB streams aggregates with less memory.
        self.con.execute("SET preserve_insertion_order = false")
        # A bar on stdout would corrupt `workbench score --json`; in Jupyter without
        # ipywidgets DuckDB refuses the setting (and shows no bar anyway).
        with contextlib.suppress(duckdb.Error):
            self.con.execute("SET enable_progress_bar = false")
        if isinstance(dossiers, pd.DataFrame):
            self.dossiers_name = "<dossier table>"
            self.con.register("dossiers_src", _arrow(dossiers, DOSSIER_DATES))
        else:
            path = Path(dossiers)
            self.dossiers_name = str(path)
            if path.is_dir():
                if not any(path.rglob("*.parquet")):
                    raise WorkbenchError(
                        f"no Parquet files in {path}",
                        hint="import dossier records first (workbench ingest) or point at their "
                        "folder",
                    )
                pattern = str(path / "**" / "*.parquet")
            elif path.is_file():
                pattern = str(path)
            else:
                raise WorkbenchError(f"dossier records {path} not found")
            self.con.execute(
                "CREATE VIEW dossiers_src AS SELECT * FROM read_parquet("
                f"{_lit(pattern)}, hive_partitioning = true, union_by_name = true)"
            )
        self.dossier_columns = {r[0] for r in self.con.execute("DESCRIBE dossiers_src").fetchall()}
        several = not isinstance(dossiers, pd.DataFrame) and Path(dossiers).is_dir()
        if (
            several
            and len(list(itertools.islice(Path(dossiers).rglob("*.parquet"), 2))) > 1
            and not checked_by_writer(Path(dossiers))
        ):
            _check_across_files(self.con, pattern, self.dossier_columns)
        # Columns the raw export did not have are written as nulls; scoring them would read
        # every dossier as "not synced", "not paid online"... so they count as absent.
        self.absent = {} if isinstance(dossiers, pd.DataFrame) else absent_columns(Path(dossiers))
        missing = [c for c in DOSSIER_REQUIRED if c not in self.dossier_columns]
        if missing:
            raise WorkbenchError(
                f"{self.dossiers_name}: the dossier records have no column {missing[0]!r}",
                hint="import the export with `workbench ingest` so its columns are the schema's",
            )
        self.tables: dict[str, set[str]] = {"dossiers": self.dossier_columns - set(self.absent)}
        self.frames: dict[str, pd.DataFrame] = {}
        for kind, obj in (("procedures", procedures), ("feedback", feedback)):
            if obj is None:
                continue
            frame, present, _ = _read_table(obj, kind)
            self.frames[kind] = frame
            self.tables[kind] = present

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def missing(self, component: Component) -> str:
        """Why ``component`` cannot be computed from these inputs ('' when it can)."""
        table = component.table
        if table == "communes":
            return "needs a list of communes with the service, which no input carries yet"
        if table not in self.tables:
            return f"no {table} table given"
        used = atoms(component.numerator.where) | atoms(
            component.denominator.where if component.denominator else None
        )
        for m in component.numerator.minus:
            used |= atoms(m)
        names = [CONDITIONS[a] for a in sorted(used)]
        if component.numerator.sum:
            names.append(MEASURES[component.numerator.sum])
        for atom in names:
            if atom.needs and atom.needs not in self.tables:
                return f"condition {atom.name} needs the {atom.needs} table"
            lacking = [c for c in atom.columns if c not in self.tables[table]]
            if lacking and table == "dossiers" and lacking[0] in self.absent:
                files = ", ".join(self.absent[lacking[0]][:3])
                return f"the dossier export ({files}) had no column {lacking[0]}"
            if lacking:
                return f"the {table} table has no column {lacking[0]}"
        return ""


def absent_columns(path: Path) -> dict[str, list[str]]:
    """Columns the importer recorded as absent from the raw export, with the files lacking them.

    The dossier importer writes ``absent_columns`` (a JSON list) into each Parquet file's
    metadata. A column absent from any one file counts as absent for the whole run: its nulls
    would otherwise score that file's dossiers as failing, and a score mixing provinces that
    report a column with ones that do not is no score of either.

    Parameters
    ----------
    path : Path
        A Parquet file or a folder of them.

    Returns
    -------
    dict of str to list of str
        Column -> names of the source files that lacked it (empty for older files).
    """
    import json

    import pyarrow.parquet as pq

    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    out: dict[str, list[str]] = {}
    for file in files:
        try:
            meta = pq.read_schema(file).metadata or {}
        except (OSError, pa.ArrowInvalid):
            continue  # DuckDB reports an unreadable file with its own message
        raw = meta.get(b"absent_columns")
        if not raw:
            continue
        source = meta.get(b"source", file.name.encode()).decode("utf-8", "replace")
        for column in json.loads(raw.decode("utf-8")):
            out.setdefault(column, []).append(source)
    return out


# --- conditions -> SQL ---------------------------------------------------------------------------


def condition_sql(cond: Condition | None) -> str:
    """Row-level SQL of a condition (``TRUE`` for None)."""
    if cond is None:
        return "TRUE"
    op = cond[0]
    if op == "atom":
        return CONDITIONS[cond[1]].sql
    if op == "not":
        return f"(NOT {condition_sql(cond[1])})"
    joiner = " AND " if op == "all" else " OR "
    return "(" + joiner.join(condition_sql(c) for c in cond[1]) + ")"


def scope_sql(scope: str) -> str:
    """Row-level SQL of a dossier scope, with ``_start`` / ``_end``."""
    if scope == "received":
        return "(received_date BETWEEN _start AND _end)"
    return "(received_date <= _end AND (finished_date IS NULL OR finished_date >= _start))"


# Period conditions reduce to two facts about a cell and a period: finished by its last day
# (FIN) and on time on that day (ONT); the others are their negations.
_PERIOD_BASE = {
    "finished": ("FIN", False),
    "in_progress": ("FIN", True),
    "on_time": ("ONT", False),
    "overdue": ("ONT", True),
}
_BASE_SQL = {
    "FIN": "(c.f <= p.pm1)",
    "ONT": "(c.b = 1 AND CASE WHEN c.f <= p.pm1 THEN c.a = 1 ELSE c.d > p.pm1 END)",
}
_SCOPE_CELL = {
    "received": "(c.r BETWEEN p.pm0 AND p.pm1)",
    "handled": "(c.r <= p.pm1 AND c.f >= p.pm0)",
}


def _residual(cond: Condition, assign: dict[str, bool]):
    """``cond`` with its period conditions set by ``assign``: True, False or a row condition."""
    op = cond[0]
    if op == "atom":
        if CONDITIONS[cond[1]].period:
            base, negated = _PERIOD_BASE[cond[1]]
            return assign[base] != negated
        return cond
    if op == "not":
        inner = _residual(cond[1], assign)
        return (not inner) if isinstance(inner, bool) else ("not", inner)
    parts = [_residual(c, assign) for c in cond[1]]
    absorbing = op == "any"  # True absorbs an `any`, False an `all`
    if any(p is absorbing for p in parts):
        return absorbing
    rest = [p for p in parts if not isinstance(p, bool)]
    if not rest:
        return not absorbing
    return rest[0] if len(rest) == 1 else (op, tuple(rest))


class _Cells:
    """The stage-1 columns a rule set needs, and the stage-2 expressions that sum them."""

    def __init__(self) -> None:
        self.counts: dict[str, str] = {}  # row SQL -> column
        self.sums: dict[tuple[str, str], str] = {}  # (measure, row SQL) -> column

    def _column(self, residual, measure: str | None) -> str:
        if measure is None:
            if residual is True:
                return "c.n"
            sql = condition_sql(residual)
            return "c." + self.counts.setdefault(sql, f"k{len(self.counts)}")
        sql = "TRUE" if residual is True else condition_sql(residual)
        return "c." + self.sums.setdefault((measure, sql), f"s{len(self.sums)}")

    def expression(self, cond: Condition | None, scope: str, measure: str | None = None) -> str:
        """Stage-2 SQL summing, per unit and period, the dossiers in ``scope`` meeting ``cond``."""
        period_atoms = {a for a in atoms(cond) if CONDITIONS[a].period}
        bases = sorted({_PERIOD_BASE[a][0] for a in period_atoms} | ({"FIN"} if measure else set()))
        whens = []
        for values in itertools.product((True, False), repeat=len(bases)):
            assign = dict(zip(bases, values, strict=True))
            if measure and not assign["FIN"]:
                continue  # a handling time exists only for finished dossiers
            residual = True if cond is None else _residual(cond, assign)
            if residual is False:
                continue
            test = " AND ".join(
                [_SCOPE_CELL[scope]]
                + [_BASE_SQL[b] if v else f"NOT {_BASE_SQL[b]}" for b, v in assign.items()]
            )
            whens.append(f"WHEN {test} THEN CAST({self._column(residual, measure)} AS DOUBLE)")
        if not whens:
            return "0"
        # Summed as DOUBLE, exact for integers below 2**53: a BIGINT sum is a 128-bit one in
        # DuckDB, slower to add and to convert, and every count ends as a float here anyway.
        return f"SUM(CASE {' '.join(whens)} ELSE 0.0 END)"

    def select(self) -> list[str]:
        # count(*) FILTER keeps an 8-byte BIGINT state per group and column where
        # SUM(CASE ... 1 ELSE 0) keeps a 16-byte HUGEINT: half the memory for the cells.
        cols = [f"count(*) FILTER (WHERE {sql}) AS {name}" for sql, name in self.counts.items()]
        for (measure, sql), name in self.sums.items():
            value = MEASURES[measure].sql
            cols.append(
                f"SUM(CASE WHEN {sql} AND finished_date IS NOT NULL THEN {value} ELSE 0 END) "
                f"AS {name}"
            )
        return cols


# --- the engine ------------------------------------------------------------------------------------


def _check_across_files(con: duckdb.DuckDBPyConnection, pattern: str, columns: set[str]) -> None:
    """Refuse a folder in which one dossier id is in two files: it would be counted twice.

    Imports refuse such overlaps; a folder filled by hand (or by an older version) may not.
    Ids are grouped by a 64-bit hash first, each group keeping the lowest and highest number of
    the files it is in (DuckDB's ``file_index``: 24 bytes a group, where a set of file names per
    group took ten times as long at 2e7 rows); only when some hash is in two files are the ids
    checked exactly. Run only when the folder holds several files.
    """
    if "dossier_id" not in columns:
        return
    src = f"read_parquet({_lit(pattern)}, union_by_name = true)"
    suspects = con.execute(
        f"SELECT count(*) FROM (SELECT hash(dossier_id) AS h FROM {src} GROUP BY h "
        "HAVING min(file_index) <> max(file_index))"
    ).fetchone()[0]
    if not suspects:
        return
    src = f"read_parquet({_lit(pattern)}, filename = true, union_by_name = true)"
    found = con.execute(
        f"WITH twice AS (SELECT hash(dossier_id) AS h FROM {src} GROUP BY h "
        "HAVING count(DISTINCT filename) > 1) "
        f"SELECT dossier_id, min(filename), max(filename), count(*) OVER () FROM {src} "
        "WHERE hash(dossier_id) IN (SELECT h FROM twice) GROUP BY dossier_id "
        "HAVING count(DISTINCT filename) > 1 ORDER BY dossier_id LIMIT 1"
    ).fetchone()
    if found is None:
        return  # two different ids with one hash
    _, first, second, n = found
    raise WorkbenchError(
        f"{n} dossier id(s) are in more than one file, e.g. in {Path(first).name} and "
        f"{Path(second).name}: scoring would count them twice",
        hint=f"delete the copy ({second}) and import each export once with workbench ingest, "
        "which refuses dossiers already imported from another file",
    )


def checked_by_writer(folder: Path) -> bool:
    """Whether every Parquet file in ``folder`` is, byte for byte, one its writer checked.

    The dossier importer refuses ids already imported into its folder and lists each file it
    writes, with its SHA-256, in the folder's ``manifest.json`` (as ``dossiers/<file>``); the
    synthetic writer numbers its ids uniquely and lists its files in ``dossiers_manifest.json``
    (relative to the dossier folder). When every file is listed with its current hash, no id can
    be in two of them and the check across files (a pass over every id, the slowest part of a
    national score) is not needed; any other file, or a changed one, and it runs. Hashing reads
    the files once, in two threads (about 0.2 s for 20 million rows here).

    Parameters
    ----------
    folder : Path
        The dossier folder (``.../dossiers``).

    Returns
    -------
    bool
    """
    import json
    from concurrent.futures import ThreadPoolExecutor

    from analysis.files import sha256

    listed: dict[Path, str] = {}
    for name, base, generator in (
        (config.MANIFEST_FILE, folder.parent, "analysis.ingest"),
        ("dossiers_manifest.json", folder, "analysis.synth_dossiers"),
    ):
        manifest = folder.parent / name
        if not manifest.is_file() or folder.name != "dossiers":
            continue  # both writers write into dossiers/ beside their manifest
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable manifest certifies nothing: the check runs
        if not isinstance(data, dict) or data.get("generator") != generator:
            continue
        files = data.get("files")
        if isinstance(files, dict):
            for key, digest in files.items():
                listed[(base / str(key)).resolve()] = str(digest)
    files = sorted(p.resolve() for p in folder.rglob("*.parquet"))
    if not files or any(f not in listed for f in files):
        return False
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        digests = list(pool.map(sha256, files))
    return all(listed[f] == d for f, d in zip(files, digests, strict=True))


def _unit_keys(by: str) -> tuple[list[str], str]:
    """Stage-1 key columns for ``by`` and the row filter that selects its dossiers."""
    if by == "province":
        return ["province AS u_province"], "TRUE"
    if by in ("district", "commune"):
        return ["province AS u_province", "unit AS u_unit"], f"level = {_lit(by)}"
    return ["province AS u_province", "agency AS u_unit", "level AS u_level"], "TRUE"


def _check_by(by: str, periods: list[Period], whole: Period, columns: set[str]) -> None:
    if by not in BY:
        raise WorkbenchError(f"unknown unit {by!r}", hint=f"use --by {' | '.join(BY)}")
    need = {"district": ("unit", "level"), "commune": ("unit", "level"), "agency": ("agency",)}
    for col in need.get(by, ()):
        if col not in columns:
            raise WorkbenchError(f"scoring by {by} needs the dossier column {col!r}")
    merger = dt.date.fromisoformat(config.MERGER_DATE)
    if by == "district" and whole.start >= merger:
        raise WorkbenchError(
            f"there are no districts in {whole.label}",
            hint=f"districts were abolished on {merger:%d/%m/%Y}: score by province or commune",
        )
    if by != "agency":
        for p in periods:
            if p.start < merger <= p.end:
                raise WorkbenchError(
                    f"{p.label} spans the reform of {merger:%d/%m/%Y}, when provinces and "
                    "communes changed",
                    hint="score the halves on each side (…H1 and …H2), or use every='month'",
                )


def _local_cells(inp: Inputs, stage1: str) -> None:
    """Stage 1 on the connection, with a bar on stderr when ``inp.progress`` (the longest pass)."""
    sql = f"CREATE OR REPLACE TEMP TABLE cells AS {stage1}"
    if not inp.progress:
        inp.con.execute(sql)
        return
    import threading

    from tqdm import tqdm

    # DuckDB's own bar prints to stdout (see Inputs); its progress is polled instead, while
    # the query runs (DuckDB releases the GIL), into a bar with the time left.
    inp.con.execute("SET enable_progress_bar = true")
    inp.con.execute("SET enable_progress_bar_print = false")
    done = threading.Event()
    bar = tqdm(total=100, desc="dossiers", unit="%", bar_format=_BAR, file=sys.stderr)

    def poll() -> None:
        while not done.wait(0.5):
            percent = inp.con.query_progress()
            if percent > bar.n:
                bar.update(percent - bar.n)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        inp.con.execute(sql)
        bar.update(100 - bar.n)
    finally:
        done.set()
        watcher.join()
        bar.close()
        inp.con.execute("SET enable_progress_bar = false")


# Percent done, elapsed and time left (tqdm's estimate from the rate so far).
_BAR = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"


def _dossier_stage(
    inp: Inputs,
    rules: Rules,
    comps: list[Component],
    periods: list[Period],
    by: str,
    unit_filter: str,
) -> tuple[pd.DataFrame, int]:
    """Stage 1 and 2 for the dossier components: one row per unit and period, counts wide.

    ``inp.make_cells(inp, sql)`` creates the temporary table ``cells`` from the stage-1 query
    ``sql`` over ``dossiers_src`` (default :func:`_local_cells`: on the connection itself).
    """
    m0 = min(p.m0 for p in periods)
    m1 = max(p.m1 for p in periods)
    start, end = _make("month", m0).start, _make("month", m1).end
    width = m1 - m0 + 3
    cells = _Cells()
    exprs: list[str] = []
    for c in comps:
        exprs.append(
            f'{cells.expression(c.numerator.where, c.scope, c.numerator.sum)} AS "n|{c.id}"'
        )
        for j, m in enumerate(c.numerator.minus):
            exprs.append(f'{cells.expression(m, c.scope)} AS "m{j}|{c.id}"')
        if c.denominator is not None:
            exprs.append(f'{cells.expression(c.denominator.where, c.scope)} AS "d|{c.id}"')
    exprs.append(f"{cells.expression(None, 'received')} AS dossiers_received")

    keys, level_filter = _unit_keys(by)
    key_names = [k.split(" AS ")[1] for k in keys]
    cols = inp.dossier_columns
    handled = any(c.scope == "handled" for c in comps)
    window = (
        f"received_date <= {_lit(end)}"
        f" AND (finished_date IS NULL OR finished_date >= {_lit(start)})"
    )
    if not handled:
        window += f" AND received_date >= {_lit(start)}"
    supplements = (
        "coalesce(supplement_requests, 0) <= 1" if "supplement_requests" in cols else "TRUE"
    )
    month = "(year({0}) * 12 + month({0}) - 1)"
    key = (
        f"(((greatest({month.format('received_date')}, {m0 - 1}) - {m0 - 1}) * {width}"
        f" + (CASE WHEN finished_date IS NULL THEN {m1 + 1} "
        f"ELSE least({month.format('finished_date')}, {m1 + 1}) END) - {m0 - 1}) * {width}"
        f" + least(greatest(coalesce({month.format('(due_date + 1)')}, {m0}), {m0}), {m1 + 1})"
        f" - {m0 - 1}) * 4"
        " + CASE WHEN coalesce(finished_date <= due_date, false) THEN 2 ELSE 0 END"
        f" + CASE WHEN {supplements} THEN 1 ELSE 0 END"
    )
    casts = ", ".join(f"CAST({d} AS DATE) AS {d}" for d in DOSSIER_DATES)
    stage1 = (
        f"SELECT {', '.join(key_names)}, {key} AS k, count(*) AS n"
        + "".join(f", {s}" for s in cells.select())
        + f" FROM (SELECT {', '.join(keys)}, * REPLACE ({casts}) FROM dossiers_src"
        f" WHERE {window} AND {level_filter} AND {unit_filter})"
        f" GROUP BY {', '.join(key_names)}, k"
    )
    (inp.make_cells or _local_cells)(inp, stage1)
    dropped = 0
    if by != "province":
        null_keys = " OR ".join(f"{k} IS NULL" for k in key_names)
        dropped = inp.con.execute(
            f"SELECT coalesce(sum(n), 0) FROM cells WHERE {null_keys}"
        ).fetchone()[0]
        inp.con.execute(f"DELETE FROM cells WHERE {null_keys}")
    else:
        dropped = inp.con.execute(
            "SELECT coalesce(sum(n), 0) FROM cells WHERE u_province IS NULL"
        ).fetchone()[0]
        inp.con.execute("DELETE FROM cells WHERE u_province IS NULL")

    decoded = (
        f"SELECT *, k // {4 * width * width} + {m0 - 1} AS r,"
        f" (k // {4 * width}) % {width} + {m0 - 1} AS f,"
        f" (k // 4) % {width} + {m0 - 1} AS d, (k // 2) % 2 AS a, k % 2 AS b FROM cells"
    )
    group = ", ".join(f"c.{k}" for k in key_names)
    stage2 = (
        f"SELECT {group}, p.ord, {', '.join(exprs)} FROM {_cell_periods(decoded, periods)}"
        f" GROUP BY {group}, p.ord"
    )
    wide = inp.con.execute(stage2).df()
    # Labels after the query: grouping by a number is cheaper than by a text.
    labels = np.array([p.label for p in periods], dtype=object)
    wide.insert(len(key_names), "period", labels[wide["ord"].to_numpy()])
    if by == "province":
        wide["u_unit"] = wide["u_province"]
    if "u_level" not in wide.columns:
        wide["u_level"] = by if by != "agency" else None
    return wide, int(dropped)


def _cell_periods(decoded: str, periods: list[Period]) -> str:
    """The FROM clause pairing each cell ``c`` with the periods ``p`` it counts in.

    A cell counts in a period that ends on or after its receipt and starts on or before its
    finish or receipt (whichever is later): ``r <= pm1 AND (f >= pm0 OR r >= pm0)``. When the
    periods follow each other in equal steps (``every``) they are a range of ordinals per
    cell, unnested; that replaces an inequality join, the slowest part of this stage over a
    span of years. Otherwise (the explanation's period and an earlier one) the join itself.
    """
    m0, step, n = periods[0].m0, periods[0].m1 - periods[0].m0 + 1, len(periods)
    values = ", ".join(f"({i}, {p.m0}, {p.m1})" for i, p in enumerate(periods))
    table = f"(VALUES {values}) p(ord, pm0, pm1)"
    regular = all(p.m0 == m0 + i * step and p.m1 == p.m0 + step - 1 for i, p in enumerate(periods))
    if not regular:
        on = "c.r <= p.pm1 AND (c.f >= p.pm0 OR c.r >= p.pm0)"
        return f"({decoded}) c JOIN {table} ON {on}"
    # Period i starts at m0 + i * step: pm1 >= r for i >= floor((r - m0) / step), pm0 <= x for
    # i <= floor((x - m0) / step); r >= m0 - 1 keeps the dividends below non-negative.
    lo = f"greatest((r - {m0} + {step}) // {step} - 1, 0)"
    hi = f"least((greatest(f, r) - {m0} + {step}) // {step} - 1, {n - 1})"
    return (
        f"(SELECT *, unnest(range({lo}, {hi} + 1)) AS i FROM ({decoded})) c"
        f" JOIN {table} ON c.i = p.ord"
    )


def _units_table(wide: pd.DataFrame, periods: list[Period]) -> pa.Table:
    bounds = {p.label: (p.start, p.end) for p in periods}
    frame = wide[["u_province", "u_unit", "u_level", "period"]].copy()
    frame["_start"] = [bounds[p][0] for p in frame["period"]]
    frame["_end"] = [bounds[p][1] for p in frame["period"]]
    return _arrow(frame, ("_start", "_end"))


def _procedure_source(inp, comps, periods, by, wide, unit_filter) -> str:
    """Register the catalogue (and per-procedure dossier counts); the FROM clause joining units."""
    frame = inp.frames["procedures"].copy()
    # Component 1.2's deadline in working days (Mon-Fri) after the announcement.
    days = inp.rules.publish_working_days
    announced = pd.to_datetime(frame["announced_date"]).to_numpy(dtype="datetime64[D]")
    deadline = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnat(announced)
    deadline[ok] = np.busday_offset(announced[ok], days, roll="forward")
    frame["_publish_deadline"] = pd.Series(deadline).dt.date.where(ok, None)
    dates = ("announce_due_date", "announced_date", "published_date", "_publish_deadline")
    inp.con.register("procs", _arrow(frame, dates))
    inp.con.register("units", _units_table(wide, periods))

    need_counts = any(
        CONDITIONS[a].needs == "dossiers"
        for c in comps
        for a in atoms(c.numerator.where) | atoms(c.denominator.where if c.denominator else None)
    )
    join_counts = ""
    if need_counts and "procedure_code" in inp.dossier_columns:
        keys, level_filter = _unit_keys(by)
        key_names = [k.split(" AS ")[1] for k in keys]
        m0 = min(p.m0 for p in periods)
        m1 = max(p.m1 for p in periods)
        start, end = _make("month", m0).start, _make("month", m1).end
        values = ", ".join(f"({_lit(p.label)}, {p.m0}, {p.m1})" for p in periods)
        online, paid = CONDITIONS["online"].sql, CONDITIONS["paid_online"].sql
        casts = ", ".join(f"CAST({d} AS DATE) AS {d}" for d in DOSSIER_DATES)
        inp.con.execute(
            "CREATE OR REPLACE TEMP TABLE proc_dossiers AS "
            f"SELECT {', '.join('x.' + k for k in key_names)}, p.label, x.pd_code,"
            " SUM(x.n_online) AS _online_dossiers, SUM(x.n_paid) AS _paid_online_dossiers FROM ("
            f" SELECT {', '.join(key_names)}, procedure_code AS pd_code,"
            " year(received_date) * 12 + month(received_date) - 1 AS r,"
            f" SUM(CASE WHEN {online} THEN 1 ELSE 0 END) AS n_online,"
            f" SUM(CASE WHEN {paid} THEN 1 ELSE 0 END) AS n_paid"
            f" FROM (SELECT {', '.join(keys)}, * REPLACE ({casts}) FROM dossiers_src"
            f" WHERE received_date BETWEEN {_lit(start)} AND {_lit(end)} AND {level_filter}"
            f" AND {unit_filter}) GROUP BY ALL) x"
            f" JOIN (VALUES {values}) p(label, pm0, pm1) ON x.r BETWEEN p.pm0 AND p.pm1"
            f" GROUP BY ALL"
        )
        if by == "province":
            on = "pc.u_province = u.u_province"
        elif by == "agency":
            on = "pc.u_province = u.u_province AND pc.u_unit = u.u_unit AND pc.u_level = u.u_level"
        else:
            on = "pc.u_province = u.u_province AND pc.u_unit = u.u_unit"
        join_counts = (
            f" LEFT JOIN proc_dossiers pc ON {on} AND pc.label = u.period"
            " AND pc.pd_code = procs.procedure_code"
        )
    elif need_counts:
        inp.con.execute(
            "CREATE OR REPLACE TEMP TABLE proc_dossiers AS SELECT NULL::BIGINT AS "
            "_online_dossiers, NULL::BIGINT AS _paid_online_dossiers"
        )
        join_counts = " LEFT JOIN proc_dossiers pc ON FALSE"

    match = "(procs.province IS NULL OR procs.province = u.u_province)"
    if by in ("district", "commune"):
        match += " AND procs.level = u.u_level AND (procs.unit IS NULL OR procs.unit = u.u_unit)"
    elif by == "agency":
        match += " AND procs.agency = u.u_unit"
    return f"units u JOIN procs ON {match}{join_counts}"


def _feedback_source(inp, comps, periods, by, wide, unit_filter) -> str:
    """Register the feedback table; the FROM clause joining it to the units and periods."""
    dates = ("received_date", "due_date", "handled_date")
    inp.con.register("fb", _arrow(inp.frames["feedback"], dates))
    inp.con.register("units", _units_table(wide, periods))
    match = "(fb.province IS NULL OR fb.province = u.u_province)"
    if by in ("district", "commune"):
        match += " AND fb.level = u.u_level AND fb.unit = u.u_unit"
    elif by == "agency":
        match += " AND fb.agency = u.u_unit"
    match += " AND fb.received_date BETWEEN u._start AND u._end"
    return f"units u JOIN fb ON {match}"


SOURCES = {"procedures": _procedure_source, "feedback": _feedback_source}


def _small_stage(inp, comps, source: str) -> pd.DataFrame:
    exprs = []
    for c in comps:
        num = condition_sql(c.numerator.where)
        exprs.append(f'SUM(CASE WHEN {num} THEN 1 ELSE 0 END) AS "n|{c.id}"')
        for j, m in enumerate(c.numerator.minus):
            exprs.append(f'SUM(CASE WHEN {condition_sql(m)} THEN 1 ELSE 0 END) AS "m{j}|{c.id}"')
        if c.denominator is not None:
            den = condition_sql(c.denominator.where)
            exprs.append(f'SUM(CASE WHEN {den} THEN 1 ELSE 0 END) AS "d|{c.id}"')
    sql = (
        f"SELECT u.u_province, u.u_unit, u.u_level, u.period, {', '.join(exprs)}"
        f" FROM {source} GROUP BY u.u_province, u.u_unit, u.u_level, u.period"
    )
    return inp.con.execute(sql).df()


def _run(
    inp: Inputs,
    rules: Rules,
    periods: list[Period],
    by: str,
    unit_filter: str = "TRUE",
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Units and components tables for ``periods`` (see :class:`ScoreResult`)."""
    inp.rules = rules
    whole = Period("", "", min(p.m0 for p in periods), max(p.m1 for p in periods))
    _check_by(by, periods, whole, inp.dossier_columns)
    why = {c.id: inp.missing(c) for c in rules.components}
    computable = [c for c in rules.components if not why[c.id]]
    notes = []

    by_table = {
        t: [c for c in computable if c.table == t] for t in ("dossiers", "procedures", "feedback")
    }
    wide, dropped = _dossier_stage(inp, rules, by_table["dossiers"], periods, by, unit_filter)
    if dropped:
        column = {"district": "unit", "commune": "unit", "agency": "agency"}.get(by, "province")
        notes.append(f"{dropped} dossiers without a {column} were left out")
    keys = ["u_province", "u_unit", "u_level", "period"]
    for table in ("procedures", "feedback"):
        if by_table[table] and len(wide):
            source = SOURCES[table](inp, by_table[table], periods, by, wide, unit_filter)
            extra = _small_stage(inp, by_table[table], source)
            wide = wide.merge(extra, on=keys, how="left")
            cols = [c for c in extra.columns if "|" in c]
            wide[cols] = wide[cols].fillna(0)
    if by == "province":
        wide["u_level"] = "province"
    wide = wide.sort_values(["ord", "u_province", "u_unit"], kind="stable").reset_index(drop=True)

    units = pd.DataFrame(
        {
            "unit": wide["u_unit"].astype(object),
            "province": wide["u_province"].astype(object),
            "level": wide["u_level"].astype(object),
            "period": wide["period"].astype(object),
            "dossiers_received": wide["dossiers_received"].astype("int64"),
        }
    )
    levels = units["level"].to_numpy(dtype=object)
    applies = {lv: levels == lv for lv in ("province", "district", "commune")}
    arrays = [_component_arrays(units, wide, c, why[c.id], applies) for c in rules.components]
    units = _totals(units, arrays, rules)
    return units, _long(units, arrays, rules), notes


@dataclass
class _Arrays:
    """One component's values for every unit-period (vectors of the units table's length)."""

    component: Component
    numerator: np.ndarray
    denominator: np.ndarray
    rate: np.ndarray
    points: np.ndarray
    max_points: np.ndarray
    status: np.ndarray  # codes into STATUSES
    reason: np.ndarray  # codes into REASONS + [missing]
    missing: str

    @property
    def counted(self) -> np.ndarray:
        return np.isin(self.status, [STATUSES.index(s) for s in COUNTED])


REASONS = (
    "",
    "nothing to count: full points by rule",
    "nothing to count (zero denominator)",
    "does not apply at this level: full points by rule",
    "nothing to count: 0 points by rule",
)


def _component_arrays(units, wide, c: Component, missing: str, at_level: dict) -> _Arrays:
    """Numerator, denominator, rate, points and status of one component, vectorised.

    ``at_level`` maps each level to a mask of the units at it.
    """
    n = len(units)
    num = np.full(n, np.nan)
    den = np.full(n, np.nan)
    if not missing:
        num = wide[f"n|{c.id}"].to_numpy(dtype=float, copy=True)
        for j in range(len(c.numerator.minus)):
            num = num - wide[f"m{j}|{c.id}"].to_numpy(dtype=float)
        num = np.maximum(num, 0.0)
        if c.denominator is not None:
            den = wide[f"d|{c.id}"].to_numpy(dtype=float, copy=True)
    has_den = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(has_den, num / np.where(has_den, den, 1.0), np.nan)
    if c.denominator is not None and not c.numerator.sum:
        rate = np.clip(rate, 0.0, 1.0)
    applies = np.zeros(n, dtype=bool)
    for level in c.levels:
        applies |= at_level[level]
    points = np.full(n, np.nan)
    max_points = np.full(n, float(c.points))
    status = np.full(n, STATUSES.index(OK), dtype=np.int8)
    reason = np.zeros(n, dtype=np.int8)
    missing_code = len(REASONS)
    if c.tracking:
        status[:] = STATUSES.index(TRACKING if not missing else NOT_COMPUTED)
        reason[:] = missing_code if missing else 0
        points[:] = 0.0
        max_points[:] = 0.0
    elif missing:
        status[:] = STATUSES.index(NOT_COMPUTED)
        reason[:] = missing_code
    else:
        r = np.clip(rate, 0.0, 1.0)
        if c.mapping.kind == "full_at":
            t = c.mapping.threshold
            points = np.where(r >= t, float(c.points), c.points * r / t)
        else:
            points = c.points * r
        zero = ~has_den
        if c.zero_denominator == "full_points":
            status[zero] = STATUSES.index(NO_DATA_FULL)
            points[zero] = c.points
            reason[zero] = 1
        elif c.zero_denominator == "zero_points":
            status[zero] = STATUSES.index(NO_DATA_ZERO)
            points[zero] = 0.0
            reason[zero] = 4
        else:
            status[zero] = STATUSES.index(NO_DATA)
            points[zero] = np.nan
            reason[zero] = 2
    if not c.tracking:
        # The reference: an indicator that does not apply at a level gives full points there.
        status[~applies] = STATUSES.index(NOT_APPLICABLE)
        points[~applies] = c.points
        num[~applies] = np.nan
        den[~applies] = np.nan
        rate = np.where(applies, rate, np.nan)
        reason[~applies] = 3
    return _Arrays(c, num, den, rate, points, max_points, status, reason, missing)


def _totals(units: pd.DataFrame, arrays: list[_Arrays], rules: Rules) -> pd.DataFrame:
    """Group points, total and maximum from the components that count (see COUNTED)."""
    out = units.copy()
    n = len(out)
    total = np.zeros(n)
    max_total = np.zeros(n)
    open_ = np.zeros(n, dtype=bool)
    groups = {}
    for g in rules.groups:
        pts, mx, scored = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
        for a in arrays:
            if a.component.group != g.id:
                continue
            counted = a.counted
            pts += np.where(counted, a.points, 0.0)
            mx += np.where(counted, a.max_points, 0.0)
            scored |= counted & (a.max_points > 0)
            open_ |= ~counted & (a.max_points > 0)
        total += pts
        max_total += mx
        groups[g.id] = np.where(scored, pts, np.nan)
        groups[f"{g.id}_max"] = np.where(scored, mx, np.nan)
    out["total"] = total
    out["max_total"] = max_total
    out["complete"] = ~open_
    out["band"] = pd.Series(
        [rules.band(t) if done else None for t, done in zip(total, ~open_, strict=True)],
        index=out.index,
        dtype=object,
    )
    for name, values in groups.items():
        out[name] = values
    return out


def _long(units: pd.DataFrame, arrays: list[_Arrays], rules: Rules) -> pd.DataFrame:
    """The long components table, unit by unit in the rules file's order.

    Built from the arrays in one go, the text columns categorical: a national year by commune
    and month is millions of rows, and per-row Python would dominate the run.
    """
    n, k = len(units), len(arrays)

    def stack(name: str) -> np.ndarray:
        # Unit-major: row u * k + j is component j of unit u.
        if not arrays:
            return np.array([])
        return np.column_stack([getattr(a, name) for a in arrays]).ravel()

    # The five numbers as one 2-D block: pandas takes it as is, where five separate columns
    # would be copied into one block (a third of this function's time at 3 million rows).
    numbers = ("numerator", "denominator", "rate", "points", "max_points")
    block = np.empty((len(numbers), n * k))
    for i, name in enumerate(numbers):
        block[i] = stack(name)

    def repeat(col: str) -> pd.Categorical:
        cat = pd.Categorical(units[col].astype(object))
        return pd.Categorical.from_codes(np.repeat(cat.codes, k), categories=cat.categories)

    ids = [a.component.id for a in arrays]
    group_ids = [g.id for g in rules.groups]
    group_codes = np.array([group_ids.index(a.component.group) for a in arrays])
    reasons = list(REASONS)
    codes = []
    for a in arrays:
        # Per component, the "missing" reason gets its own category.
        code = a.reason.astype(np.int16)
        if a.missing:
            if a.missing not in reasons:
                reasons.append(a.missing)
            code = np.where(code == len(REASONS), reasons.index(a.missing), code)
        codes.append(code)
    reason_codes = np.empty(n * k, dtype=np.int16)
    for j, code in enumerate(codes):
        reason_codes[j::k] = code
    out = pd.DataFrame(block.T, columns=list(numbers), copy=False)
    front = {
        "unit": repeat("unit"),
        "province": repeat("province"),
        "level": repeat("level"),
        "period": repeat("period"),
        "component": pd.Categorical.from_codes(np.tile(np.arange(k), n), categories=ids),
        "group": pd.Categorical.from_codes(np.tile(group_codes, n), categories=group_ids),
    }
    for i, (name, values) in enumerate(front.items()):
        out.insert(i, name, values)
    out["status"] = pd.Categorical.from_codes(stack("status").astype(np.int16), STATUSES)
    out["uncertain"] = np.tile(np.array([a.component.uncertain for a in arrays], dtype=bool), n)
    out["reason"] = pd.Categorical.from_codes(reason_codes, categories=reasons)
    return out


def score(
    dossiers,
    *,
    procedures=None,
    feedback=None,
    period: str,
    by: str = "province",
    rules: Rules | Path | str | None = None,
    every: str | None = None,
    memory_limit: str = MEMORY_LIMIT,
    threads: int = THREADS,
    progress: bool = False,
    make_cells=None,
) -> ScoreResult:
    """Score every unit on the Decision 766 index for a period.

    Parameters
    ----------
    dossiers : path-like or pandas.DataFrame
        Dossier records in the importer's schema (``analysis.ingest.dossiers.OUTPUT_SCHEMA``):
        a Parquet file or a folder of them, or a frame.
    procedures, feedback : path-like or pandas.DataFrame, optional
        The procedure catalogue and the feedback (PAKN) table (schemas in
        ``config/index766/README.md``). Without them their components are "not_computed".
    period : str
        ``2023-06``, ``2023Q2``, ``2023H1`` or ``2023``, or a range of them such as
        ``2019..2023`` (:func:`parse_period`).
    by : {"province", "district", "commune", "agency"}
        The unit. District and commune use the ``unit`` column of dossiers at that level;
        agency the ``agency`` column (with its level).
    rules : Rules or path-like, optional
        Default ``config/index766/rules-2026.1.yaml``.
    every : {"month", "quarter", "half", "year"}, optional
        Score each such part of ``period`` (one pass over the data for all of them).
    memory_limit, threads : DuckDB's memory cap (it spills past it) and worker threads.
    progress : bool, default False
        A bar with the time left on stderr while the dossiers are read.
    make_cells : callable, optional
        Runs the pass over the dossiers elsewhere (see :class:`Inputs`); the Dask path
        :func:`analysis.batch.scoring.score_on_dask` gives one.

    Returns
    -------
    ScoreResult

    Raises
    ------
    WorkbenchError
        A bad period, unit, rules file or input table.
    """
    rules = load_rules(rules)
    whole = parse_period(period)
    periods = whole.split(every)
    with Inputs(dossiers, procedures, feedback, memory_limit=memory_limit, threads=threads) as inp:
        inp.progress, inp.make_cells = progress, make_cells
        units, components, notes = _run(inp, rules, periods, by)
    return ScoreResult(
        rules_version=rules.version,
        period=whole.label,
        by=by,
        units=units,
        components=components,
        notes=tuple(notes),
        rules=rules,
        rules_path=rules.path,
    )


def unit_filter_sql(by: str, unit: str, province: str | None) -> str:
    """Row filter selecting one unit's dossiers (used by the explanation)."""
    column = {"province": "province", "district": "unit", "commune": "unit", "agency": "agency"}[by]
    sql = f"{column} = {_lit(unit)}"
    if province is not None and by != "province":
        sql += f" AND province = {_lit(province)}"
    return sql


__all__ = [
    "BY",
    "COUNTED",
    "Inputs",
    "Period",
    "STATUSES",
    "ScoreResult",
    "condition_sql",
    "parse_period",
    "score",
    "scope_sql",
]


# Public names of the helpers index766.explain shares (the same functions, not copies).
sql_literal, unit_keys, run_components = _lit, _unit_keys, _run
