"""Portal index results -> a table of group scores per unit and period.

The national portal publishes, per unit (province, and since July 2025 commune) and period,
six group scores and the total: fields ID, TEN, CKMB, TDGQ, TTTT, CLGQ, MDHL, MDSH, TONG_SCORE,
as JSON (a list of objects, or ``{"data": [...]}``) or CSV. Analysts also type the same table
by hand from a province's monthly notice, with Vietnamese headers ("Công khai, minh bạch", ...).

Which portal column holds which group is a setting (``config/portal_columns.yaml``): sources
disagree on TTTT and CLGQ. Each group score must lie within 0 and the group's maximum, and the
total must equal the sum of the groups up to the rounding of the numbers as shown.

The output, ``scores.parquet``, has the columns of :data:`OUTPUT_COLUMNS`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from analysis import config
from analysis.errors import WorkbenchError
from analysis.ingest import reading, values
from analysis.ingest.problems import Problem
from analysis.ingest.reading import FileRejectedError, Rejected, Table

KIND = "scores"
PORTAL_COLUMNS_FILE = config.CONFIG_DIR / "portal_columns.yaml"
GROUPS = (
    "publicity",
    "timeliness",
    "online_service",
    "online_payment",
    "satisfaction",
    "digitisation",
)
TOTAL = "total"
# The index went live in August 2022; a period before 2022 is a typing mistake in the year.
FIRST_PERIOD = pd.Timestamp("2022-01-01")
KEY = ["boundary", "province_code", "level", "unit", "period"]
OUTPUT_COLUMNS = [
    "unit",
    "unit_id",
    "boundary",
    "province_code",
    "level",
    "period",
    *GROUPS,
    TOTAL,
]
# The portal's column codes: a header among these that the settings do not map is an error,
# never a silently ignored group.
PORTAL_CODES = ("CKMB", "TDGQ", "TTTT", "CLGQ", "MDHL", "MDSH", "TONG_SCORE")


@dataclass(frozen=True)
class PortalColumns:
    """The settings of ``config/portal_columns.yaml``.

    Attributes
    ----------
    columns : dict
        Portal code -> group name (or "total").
    max_points : dict
        Group -> maximum points.
    path : Path
        The file read.
    """

    columns: dict[str, str]
    max_points: dict[str, float]
    path: Path


def _settings_error(path: Path, what: str, hint: str) -> WorkbenchError:
    return WorkbenchError(f"{path}: {what}", hint=hint)


@lru_cache(maxsize=8)
def _load_settings(path: Path, stamp: float) -> PortalColumns:
    del stamp  # part of the cache key only: an edited file is read again
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _settings_error(
            path, f"cannot read the settings ({exc.strerror})", "restore config/portal_columns.yaml"
        ) from None
    except yaml.YAMLError as exc:
        raise _settings_error(path, f"not valid YAML ({exc})", "fix the indentation") from None
    allowed = (*GROUPS, TOTAL)
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise _settings_error(
            path, "no 'columns' mapping", "write 'columns:' with one line per portal column"
        )
    columns: dict[str, str] = {}
    for code, group in data["columns"].items():
        if group not in allowed:
            raise _settings_error(
                path,
                f"columns: {code}: unknown group {group!r}",
                f"map {code} to one of {', '.join(allowed)}",
            )
        columns[str(code).strip().upper()] = group
    named = list(columns.values())
    for group in allowed:
        if named.count(group) > 1:
            codes = [c for c, g in columns.items() if g == group]
            raise _settings_error(
                path,
                f"columns: {' and '.join(codes)} are all mapped to {group}",
                "each group is held by one portal column; TTTT and CLGQ are online payment "
                "and online service, one each",
            )
    maxima = data.get("max_points")
    if not isinstance(maxima, dict) or any(g not in maxima for g in GROUPS):
        raise _settings_error(
            path, "max_points must give every group", f"groups: {', '.join(GROUPS)}"
        )
    max_points: dict[str, float] = {}
    for group in GROUPS:
        value = maxima[group]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _settings_error(
                path, f"max_points: {group}: {value!r} is not a positive number", ""
            )
        max_points[group] = float(value)
    if abs(sum(max_points.values()) - 100) > 1e-9:
        raise _settings_error(
            path,
            f"max_points add to {sum(max_points.values()):g}, not 100",
            "the six groups of Decision 766 share 100 points",
        )
    return PortalColumns(columns, max_points, path)


def load_settings(path: str | Path | None = None) -> PortalColumns:
    """Read and check ``config/portal_columns.yaml`` (or another settings file).

    Raises
    ------
    WorkbenchError
        Naming the file, the key and the value: an unknown group (e.g. ``TTTT: payment``), a
        group mapped twice, a missing or non-positive maximum, maxima not adding to 100.
    """
    target = Path(path) if path is not None else PORTAL_COLUMNS_FILE
    if not target.is_file():
        raise WorkbenchError(
            f"no portal column settings at {target}",
            hint="restore config/portal_columns.yaml (it says which column is which group)",
        )
    return _load_settings(target, target.stat().st_mtime)


def vocabulary(settings: PortalColumns) -> dict[str, str]:
    """Header key -> canonical name, the portal codes mapped as the settings say."""
    return reading.vocabulary(KIND, extra={code: g for code, g in settings.columns.items()})


@dataclass
class ScoreRows:
    """What one scores table gave (see :class:`analysis.ingest.monthly.MonthlyRows`)."""

    file: str
    frame: pd.DataFrame
    labels: dict[str, str]
    rejected: list[Rejected] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    read: int = 0
    cells: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.read - len(self.rejected)


def _expected() -> list[str]:
    return ["TEN", "CKMB", "TDGQ", "TTTT", "CLGQ", "MDHL", "MDSH", "TONG_SCORE", "Đơn vị", "Kỳ"]


def read(path: Path, file: str, settings: PortalColumns) -> tuple[list[Table], dict]:
    """Read a scores file: JSON, CSV or XLSX. Returns the tables and the JSON's other fields."""
    lookup = vocabulary(settings)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileRejectedError(
            [Problem(file, None, None, "", "unreadable_file", f"cannot read ({exc.strerror})")]
        ) from None
    what = reading.check_bytes(raw, file, path.suffix.lower())
    if what == "json" or (
        what == "text" and raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{")
    ):
        records, meta = reading.read_json(raw, file)
        return [reading.json_table(records, file, lookup)], meta
    if what == "xlsx":
        return reading.read_workbook(raw, file, lookup, _expected()), {}
    return reading.read_text_table(raw, file, lookup, _expected()), {}


_META_PERIOD = ("period", "ky", "kydanhgia", "thang", "month", "time", "thoigian")


def meta_period(meta: dict) -> object:
    keyed = {reading.header_key(k): v for k, v in meta.items()}
    for key in _META_PERIOD:
        if key in keyed and not values.is_blank(keyed[key]):
            if key in ("thang", "month") and ("nam" in keyed or "year" in keyed):
                year = keyed.get("nam", keyed.get("year"))
                return f"{keyed[key]}/{year}"
            return keyed[key]
    return None


_NAME_PERIODS = (
    re.compile(r"(?<!\d)(20\d\d)[-_.](0?[1-9]|1[0-2])(?!\d)"),
    re.compile(r"(?i)(?<![a-z])(?:t|thang)[-_.]?(0?[1-9]|1[0-2])[-_.](20\d\d)(?!\d)"),
    re.compile(r"(?i)(?<![a-z])q([1-4])[-_.](20\d\d)(?!\d)"),
    re.compile(r"(?i)(?<!\d)(20\d\d)[-_.]q([1-4])(?![a-z0-9])"),
)


def period_from_name(name: str) -> str | None:
    """A period written in a file name: "chi-so-2024-05.json", "T5-2024.csv", "2024-Q1.csv"."""
    stem = Path(name).stem
    for i, pattern in enumerate(_NAME_PERIODS):
        hit = pattern.search(stem)
        if hit:
            a, b = hit.groups()
            return [f"{a}-{int(b):02d}", f"{b}-{int(a):02d}", f"{b}-Q{a}", f"{a}-Q{b}"][i]
    return None


def _problem(table, number, column, value, bad: values.Bad) -> Problem:
    return Problem(table.file, number, column, values.shown(value), bad.kind, bad.message, bad.hint)


def _check_columns(table: Table, settings: PortalColumns, period: object) -> None:
    problems: list[Problem] = []
    for i, header in enumerate(table.headers):
        if header.strip().upper() in PORTAL_CODES and i not in table.fields.values():
            problems.append(
                Problem(
                    table.file,
                    table.header_row or None,
                    header,
                    "",
                    "unknown_mapping",
                    f"the portal column {header} is not mapped to a group in {settings.path.name}",
                    f"add '{header.strip().upper()}: <group>' under 'columns:' in "
                    f"{settings.path} (online_payment or online_service for TTTT/CLGQ)",
                )
            )
    if problems:
        raise FileRejectedError(problems)
    for name in ("unit", *GROUPS, TOTAL):
        if name not in table.fields:
            codes = [c for c, g in settings.columns.items() if g == name]
            spelled = reading.spellings(KIND, name)
            shown_name = codes[0] if codes else spelled[0]
            problems.append(
                Problem(
                    table.file,
                    table.header_row or None,
                    shown_name,
                    "",
                    "missing_columns",
                    f"required column '{shown_name}' ({name}) is missing",
                    f"accepted headers: {', '.join(codes + spelled)}",
                )
            )
    if "period" not in table.fields and values.is_blank(period):
        problems.append(
            Problem(
                table.file,
                table.header_row or None,
                reading.spellings(KIND, "period")[0],
                "",
                "missing_period",
                "the file does not say which period the scores are for",
                "add a column 'Kỳ' (e.g. 2024-05, Quý 1/2024, Năm 2024), or put the period in "
                "the file name (chi-so-2024-05.json)",
            )
        )
    if problems:
        raise FileRejectedError(problems)


def _tolerance(cells: list[object]) -> float:
    """Half a unit in the last shown place of each number, summed: how far rounding can go."""
    shown = [values.decimals(c) for c in cells]
    widest = max(shown, default=0)
    # "18" beside "7.8" is 18.0 printed without its zero: give it the row's precision.
    places = [min(d if d else widest, 4) for d in shown]
    return sum(0.5 * 10.0**-d for d in places) + 1e-9


def parse(
    table: Table,
    settings: PortalColumns,
    today: pd.Timestamp,
    period: object = None,
) -> ScoreRows:
    """Check every row of a scores table and keep the valid ones.

    Parameters
    ----------
    table : Table
    settings : PortalColumns
    today : pandas.Timestamp
        For "period in the future".
    period : object, optional
        The period for rows without a period column (from the JSON or the file name).

    Returns
    -------
    ScoreRows

    Raises
    ------
    FileRejectedError
        Required columns missing, a portal column the settings do not map, no period.
    """
    _check_columns(table, settings, period)
    names = [n for n in (*GROUPS, TOTAL) if n in table.fields]
    file_conv = values.convention(c for n in names for c in table.column(n))
    conv = {n: values.convention(table.column(n)) or file_conv for n in names}
    labels = {n: table.label(n) for n in table.fields}
    out = ScoreRows(table.file, pd.DataFrame(), labels, notes=list(table.notes))
    records = []
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        unit_cell = table.get(row, "unit")
        if reading.is_totals_label(unit_cell):
            out.notes.append(
                Problem(
                    table.file,
                    number,
                    table.label("unit"),
                    values.shown(unit_cell),
                    "totals_row",
                    "a totals or average row: skipped",
                )
            )
            continue
        out.read += 1
        problems: list[Problem] = []
        record = _parse_row(table, row, number, settings, today, period, conv, problems)
        if problems:
            reading.reject(out, table, number, row, problems)
            continue
        records.append(record)
        out.cells[number] = reading.row_cells(table, row)
    frame = pd.DataFrame.from_records(records, columns=[*OUTPUT_COLUMNS, "_file", "_row"])
    for c in (*GROUPS, TOTAL):
        frame[c] = frame[c].astype("float64")
    out.frame = frame
    return out


def _parse_row(table, row, number, settings, today, period_default, conv, problems):
    def bad(name, value, b):
        column = table.label(name) if name in table.fields else name
        problems.append(_problem(table, number, column, value, b))

    period_cell = table.get(row, "period") if "period" in table.fields else None
    if values.is_blank(period_cell):
        period_cell = period_default
    period, b = values.parse_period(period_cell)
    if b is not None:
        bad("period", period_cell, b)
    else:
        b = values.month_window(period.start, FIRST_PERIOD, today, what="period")
        if b is not None:
            bad("period", period_cell, b)
            period = None

    level_cell = table.get(row, "level")
    if "level" in table.fields and not values.is_blank(level_cell):
        level = reading.parse_level(level_cell)
        if level is None:
            bad(
                "level",
                level_cell,
                values.Bad("unknown_level", "unknown level", f"use {reading.level_spellings()}"),
            )
    else:
        level = "province"
    # The map of the period's last month: the 2025 annual results are on the 34 new provinces.
    when = period.end if period is not None else None
    if level == "district" and when is not None and when >= pd.Timestamp(config.MERGER_DATE):
        bad(
            "level",
            level_cell,
            values.Bad(
                "district_after_reform",
                "district level was abolished on 01/07/2025",
                'from 07/2025 use "Cấp tỉnh" or "Cấp xã"',
            ),
        )

    unit_cell = table.get(row, "unit")
    province = None
    unit = values.shown(unit_cell)
    if values.is_blank(unit_cell):
        bad("unit", unit_cell, values.Bad("missing_value", "the unit is empty", "write its name"))
    elif level == "province":
        province, b = values.resolve_province(unit_cell, when)
        if b is not None:
            bad("unit", unit_cell, b)
        else:
            unit = province.name
    if level in ("district", "commune"):
        province_cell = table.get(row, "province")
        if "province" not in table.fields or values.is_blank(province_cell):
            bad(
                "province",
                province_cell,
                values.Bad(
                    "missing_value",
                    "a district or commune needs the province it belongs to",
                    "add a column 'Thuộc tỉnh' with the province's name",
                ),
            )
        else:
            province, b = values.resolve_province(province_cell, when)
            if b is not None:
                bad("province", province_cell, b)

    scores: dict[str, float] = {}
    for name in (*GROUPS, TOTAL):
        cell = table.get(row, name)
        value, b = values.parse_score(cell, conv[name])
        if b is None and value is None:
            b = values.Bad("missing_value", "the score is empty", "write 0 if the unit scored 0")
        if b is None and value < 0:
            b = values.Bad("negative_score", "a score cannot be negative", "check the source")
        top = 100.0 if name == TOTAL else settings.max_points[name]
        if b is None and value > top + 1e-9:
            hint = "check the source"
            label = table.label(name)
            if label.strip().upper() in ("TTTT", "CLGQ"):
                hint = (
                    f"if {label} holds the other of online payment (max 10) and online service "
                    f"(max 12), swap TTTT and CLGQ in {settings.path}"
                )
            b = values.Bad(
                "score_above_max",
                f"{value:g} points is above the maximum of {name} ({top:g})",
                hint,
            )
        if b is not None:
            bad(name, cell, b)
        else:
            scores[name] = value
    if all(n in scores for n in (*GROUPS, TOTAL)):
        total = sum(scores[g] for g in GROUPS)
        cells = [table.get(row, n) for n in (*GROUPS, TOTAL)]
        if not math.isclose(total, scores[TOTAL], abs_tol=_tolerance(cells)):
            bad(
                TOTAL,
                table.get(row, TOTAL),
                values.Bad(
                    "total_mismatch",
                    f"the total is not the sum of the groups ({total:.2f})",
                    "check the total and each group score against the source",
                ),
            )
    if problems:
        return None
    unit_id = table.get(row, "unit_id")
    return {
        "unit": unit,
        "unit_id": None if values.is_blank(unit_id) else values.shown(unit_id),
        "boundary": province.boundary,
        "province_code": province.code,
        "level": level,
        "period": period.label,
        **scores,
        "_file": table.file,
        "_row": number,
    }


def check_duplicates(parts: list[ScoreRows]) -> None:
    """Reject rows giving the same unit and period twice with different scores."""
    frames = [p.frame.assign(_part=i) for i, p in enumerate(parts) if len(p.frame)]
    if not frames:
        return
    every = pd.concat(frames, ignore_index=True)
    dup = every.duplicated(subset=KEY, keep=False)
    rejected: dict[int, set[int]] = {}
    for _, group in every[dup].groupby(KEY, sort=False):
        rows = [r for _, r in group.iterrows()]
        first = rows[0]
        for other in rows[1:]:
            differs = [c for c in (*GROUPS, TOTAL) if first[c] != other[c]]
            if not differs:
                parts[int(other["_part"])].notes.append(
                    Problem(
                        other["_file"],
                        int(other["_row"]),
                        None,
                        "",
                        "duplicate_row",
                        f"repeats row {int(first['_row'])} with the same scores: kept once",
                    )
                )
                continue
            for this, that in ((other, first), (first, other)):
                part = parts[int(this["_part"])]
                row = int(this["_row"])
                if row in rejected.get(int(this["_part"]), set()):
                    continue
                column = part.labels.get(differs[0], differs[0])
                problem = Problem(
                    this["_file"],
                    row,
                    column,
                    f"{this[differs[0]]:g}",
                    "duplicate_conflict",
                    f"same unit and period as row {int(that['_row'])}"
                    + ("" if this["_file"] == that["_file"] else f" of {that['_file']}")
                    + f", with different scores ({', '.join(differs)})",
                    "keep one row per unit and period",
                )
                part.errors.append(problem)
                part.rejected.append(
                    Rejected(this["_file"], row, part.cells.get(row, {}), [reading.reason(problem)])
                )
                rejected.setdefault(int(this["_part"]), set()).add(row)
    for i, part in enumerate(parts):
        frame = part.frame
        if i in rejected:
            frame = frame[~frame["_row"].isin(rejected[i])]
        part.frame = frame.drop_duplicates(subset=KEY, keep="first").reset_index(drop=True)


def merge(old: pd.DataFrame | None, parts: list[ScoreRows]) -> tuple[pd.DataFrame, list[dict]]:
    """Existing scores with the new rows in: the same unit and period replaced, others kept.

    Returns
    -------
    (pandas.DataFrame, list of dict)
        The scores (columns :data:`OUTPUT_COLUMNS`) and one entry per replaced row with the old
        and new value of each changed score.
    """
    frames = [p.frame for p in parts if len(p.frame)]
    new = (
        pd.concat(frames, ignore_index=True).drop_duplicates(subset=KEY, keep="last")
        if frames
        else pd.DataFrame(columns=[*OUTPUT_COLUMNS, "_file", "_row"])
    )
    replaced: list[dict] = []
    if old is None or not len(old):
        merged = new[OUTPUT_COLUMNS]
    else:
        old_idx = old.set_index(KEY)
        new_idx = new.set_index(KEY)
        for key in new_idx.index.intersection(old_idx.index):
            changes = {
                c: [float(old_idx.at[key, c]), float(new_idx.at[key, c])]
                for c in (*GROUPS, TOTAL)
                if float(old_idx.at[key, c]) != float(new_idx.at[key, c])
            }
            if changes:
                replaced.append(
                    {
                        "unit": key[3],
                        "level": key[2],
                        "period": key[4],
                        "file": new_idx.at[key, "_file"],
                        "row": int(new_idx.at[key, "_row"]),
                        "changes": changes,
                    }
                )
        kept = old_idx.loc[old_idx.index.difference(new_idx.index)].reset_index()
        merged = pd.concat([kept[OUTPUT_COLUMNS], new[OUTPUT_COLUMNS]], ignore_index=True)
    return tidy(merged), replaced


def tidy(merged: pd.DataFrame) -> pd.DataFrame:
    """The scores table in its stored order and types (the flat layout's and the portal's)."""
    merged = merged.sort_values(["period", "boundary", "province_code", "level", "unit"])
    merged = merged.reset_index(drop=True)
    for c in (*GROUPS, TOTAL):
        merged[c] = merged[c].astype("float64")
    for c in ("unit", "boundary", "province_code", "level", "period"):
        merged[c] = merged[c].astype(str)
    merged["unit_id"] = merged["unit_id"].astype("object").where(merged["unit_id"].notna(), None)
    return merged


def load_table(path: Path, columns: list[str], what: str = "scores") -> pd.DataFrame | None:
    """A table written by an earlier import (``what``: scores, portal), or None.

    Raises
    ------
    WorkbenchError
        When the file is not such a table.
    """
    if not path.is_file():
        return None
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise WorkbenchError(
            f"cannot read {path} as Parquet: {exc}", hint="move the file away and import again"
        ) from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchError(
            f"{path}: not a {what} table (missing {', '.join(missing)})",
            hint="move the file away and import again",
        )
    return frame[columns]


def load_existing(path: Path) -> pd.DataFrame | None:
    """Scores written by an earlier import, or None when there are none."""
    return load_table(path, OUTPUT_COLUMNS)
