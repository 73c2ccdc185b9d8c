"""Monthly indicator tables -> rows of the canonical count panel.

A monthly table has one row per province x level x month and some of the panel's counts
(``analysis.panel.COUNT_COLUMNS``), or rates in percent with their totals. Where only a rate and
its total are given, the count is derived as ``round(rate / 100 x total)`` and listed as
derived (file, row, province, level, month, column) for the manifest: the panel itself has no
place for the flag.

Every problem names the file, the row as Excel shows it, the column as written and the value.
Totals rows ("Tổng cộng", "Toàn tỉnh", "Cả nước", "Tổng") are skipped and reported as notes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd

from analysis import config, panel
from analysis.errors import WorkbenchError
from analysis.ingest import reading, values
from analysis.ingest.problems import Problem
from analysis.ingest.reading import FileRejectedError, Rejected, Table

KIND = "monthly"
REQUIRED = ("province", "level", "month")
# The earliest month a monthly table may hold: provincial one-stop-shop reports go back to
# about 2015; anything earlier is a typing mistake in the year.
FIRST_MONTH = pd.Timestamp("2015-01-01")
# A rate given beside its count may differ from count / total by rounding; more than this
# (in percentage points) is reported as a note.
RATE_TOLERANCE_PP = 0.5

_NUMERATOR_OF = {rate: num for rate, (num, _) in panel.RATES.items()}
_DENOMINATOR_OF = {rate: den for rate, (_, den) in panel.RATES.items()}


@dataclass
class MonthlyRows:
    """What one monthly table gave.

    Attributes
    ----------
    file : str
        The table (file, and sheet for a workbook) as messages name it.
    frame : pandas.DataFrame
        Accepted rows: boundary, province_code, province, level, month, the counts the table
        gives (int), ``_file`` and ``_row``.
    provided : list of str
        Count columns the table gives, directly or derived from a rate.
    labels : dict
        Count or rate column -> header as written (for messages).
    derived : list of dict
        One entry per derived count: row, province, level, month, column, rate.
    rejected : list of Rejected
    errors, notes : list of Problem
    read : int
        Data rows read (totals rows and notes excluded).
    cells : dict
        Row number -> cells as read, for the quarantine file if the row is rejected later.
    header_row : int
        The (last) header row's number.
    """

    file: str
    frame: pd.DataFrame
    provided: list[str]
    labels: dict[str, str]
    derived: list[dict] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    read: int = 0
    cells: dict[int, dict[str, str]] = field(default_factory=dict)
    header_row: int = 1

    @property
    def accepted(self) -> int:
        """Rows read and not rejected (an identical repeat counts, though written once)."""
        return self.read - len(self.rejected)


def _expected() -> list[str]:
    return [reading.spellings(KIND, c)[0] for c in ("province", "level", "month")] + [
        reading.spellings(KIND, "dossiers_received")[0]
    ]


def read(path, file: str, sheet: str | None = None, *, hidden_rows: bool = False) -> list[Table]:
    """Read a monthly file into tables (one per matching sheet, or only ``sheet``)."""
    return reading.read_tables(
        path, file, reading.vocabulary(KIND), _expected(), sheet, hidden_rows=hidden_rows
    )


# "THÁNG 1/2023", "Tháng 01 năm 2023", "T01-2023" in a title or a sheet name (folded text).
_TITLE_MONTH = re.compile(r"\b(?:thang|t)\s*\.?\s*0?(\d{1,2})\s*(?:/|-|\.|nam)\s*(\d{4})\b")
_SIGNED = re.compile(r"\bngay\s*\d{1,2}\s*thang\s*\d{1,2}\s*nam\s*\d{4}")
_ISO_MONTH = re.compile(r"\b(\d{4})\s*[-_.]\s*(\d{1,2})\b")
# "UBND TỈNH BẮC NINH", "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI", "SỞ NỘI VỤ TỈNH BẮC NINH".
_TITLE_PROVINCE = re.compile(r"\b(tỉnh|thành phố|tp\.?)\s+(.+)$", re.IGNORECASE)


def month_of_text(text: str | None) -> pd.Timestamp | None:
    """The month a sheet name or a title line names ("T01-2023", "THÁNG 1/2023"), or None.

    Examples
    --------
    >>> month_of_text("BÁO CÁO KẾT QUẢ GIẢI QUYẾT TTHC THÁNG 1/2023")
    Timestamp('2023-01-01 00:00:00')
    >>> month_of_text("T12-2022"), month_of_text("Tổng hợp")
    (Timestamp('2022-12-01 00:00:00'), None)
    >>> month_of_text("Bắc Ninh, ngày 5 tháng 2 năm 2023"), month_of_text("Từ T1/2023 đến T3/2023")
    (None, None)
    """
    if not text:
        return None
    # The date a report was signed ("Bắc Ninh, ngày 5 tháng 2 năm 2023") is not its month.
    folded = _SIGNED.sub(" ", values.fold(text))
    found = set()
    for pattern, ym in ((_TITLE_MONTH, (2, 1)), (_ISO_MONTH, (1, 2))):
        for hit in pattern.finditer(folded):
            year, month = int(hit.group(ym[0])), int(hit.group(ym[1]))
            if 1 <= month <= 12 and 2000 <= year <= 2100:
                found.add(pd.Timestamp(year, month, 1))
        if found:
            break
    # "từ tháng 1/2023 đến tháng 3/2023" is a span, not one month.
    return found.pop() if len(found) == 1 else None


def _province_of_title(title: list[str]) -> str | None:
    """The province a title line names ("UBND TỈNH BẮC NINH"), as written; None if none does."""
    for line in title:
        for part in re.split(r"\s{2,}|\n", line):  # two title cells joined on one row
            hit = _TITLE_PROVINCE.search(part.strip())
            if not hit:
                continue
            words = hit.group(2).split()
            for n in range(min(len(words), 4), 0, -1):  # "BẮC NINH" out of "BẮC NINH SỞ ..."
                name = f"{hit.group(1)} {' '.join(words[:n])}"
                if values.resolve_province(name, None)[0] is not None:
                    return name
    return None


def _file_problem(table: Table, kind: str, message: str, hint: str, column=None) -> Problem:
    return Problem(table.file, table.header_row, column, "", kind, message, hint)


def month_known(table: Table, period: str | None = None) -> bool:
    """Whether a table says its month: a month column, the sheet name, a title line or --period."""
    return (
        "month" in table.fields
        or period is not None
        or month_of_text(table.sheet) is not None
        or any(month_of_text(t) is not None for t in table.title)
    )


def fixed_keys(
    table: Table,
    province: str | None = None,
    period: str | None = None,
    level: str | None = None,
) -> tuple[dict[str, object], list[Problem]]:
    """Province, month and level a table gives once for every row (or the options give).

    A report sheet names its month in the sheet name or title and its province in the title;
    a province-wide table has no level column (its figures are the whole province, level
    ``"all"``). An option must agree with what the file says.

    Returns
    -------
    (dict, list of Problem)
        ``{"month": Timestamp, "province": name, "level": level}`` for the keys without a
        column, and notes saying where each came from.

    Raises
    ------
    FileRejectedError
        An option that contradicts the file, or a key neither the file nor an option gives.
    """
    fixed: dict[str, object] = {}
    notes: list[Problem] = []
    problems: list[Problem] = []
    # A report on one province lists its levels where a national table lists provinces.
    if "level" not in table.fields and "province" in table.fields:
        cells = [c for c in table.column("province") if not values.is_blank(c)]
        levels = sum(reading.parse_level(c) is not None for c in cells)
        if levels and levels >= sum(values.resolve_province(c, None)[0] is not None for c in cells):
            table.fields["level"] = table.fields.pop("province")
    if "month" not in table.fields:
        said = [(f"sheet name '{table.sheet}'", month_of_text(table.sheet))]
        said += [(f"title '{t}'", month_of_text(t)) for t in table.title]
        said = [(where, m) for where, m in said if m is not None]
        wanted = None
        if period is not None:
            wanted, bad = values.parse_month(period)
            if bad is not None:
                raise WorkbenchError(f"--period {period!r}: {bad.message}", hint=bad.hint)
        if wanted is not None and any(m == wanted for _, m in said):
            said = [(w, m) for w, m in said if m == wanted]  # --period settles a conflict
        differ = [(w, m) for w, m in said if m != said[0][1]]
        if differ:
            # A sheet copied from last month with its name or title left unchanged.
            problems.append(
                _file_problem(
                    table,
                    "month_conflict",
                    f"the {said[0][0]} says {said[0][1]:%m/%Y} but the {differ[0][0]} says "
                    f"{differ[0][1]:%m/%Y}",
                    "correct the sheet name or the title, or give --period",
                )
            )
        elif wanted is not None and said and said[0][1] != wanted:
            problems.append(
                _file_problem(
                    table,
                    "option_mismatch",
                    f"--period {wanted:%m/%Y} contradicts the {said[0][0]} ({said[0][1]:%m/%Y})",
                    "drop --period, or check that this is the right file",
                )
            )
        elif wanted is not None or said:
            fixed["month"] = wanted if wanted is not None else said[0][1]
            where = "--period" if wanted is not None else said[0][0]
            notes.append(
                _file_problem(
                    table, "key_from_file", f"month {fixed['month']:%m/%Y} taken from {where}", ""
                )
            )
    if "province" not in table.fields:
        said = _province_of_title(table.title)
        if province is not None and said is not None:
            given = values.resolve_province(province, fixed.get("month"))[0]
            found = values.resolve_province(said, fixed.get("month"))[0]
            if given is not None and found is not None and given.code != found.code:
                problems.append(
                    _file_problem(
                        table,
                        "option_mismatch",
                        f"--province {province} contradicts the title '{said}'",
                        "drop --province, or check that this is the right file",
                    )
                )
        if province is not None or said is not None:
            fixed["province"] = province if province is not None else said
            where = "--province" if province is not None else f"the title '{said}'"
            notes.append(
                _file_problem(
                    table, "key_from_file", f"province {fixed['province']} taken from {where}", ""
                )
            )
    if "level" not in table.fields:
        if level is not None:
            fixed["level"] = level
            notes.append(_file_problem(table, "key_from_file", f"level {level} from --level", ""))
        else:
            fixed["level"] = panel.ALL_LEVELS
            notes.append(
                _file_problem(
                    table,
                    "key_from_file",
                    "no level column: the figures are read as the whole province (level "
                    f"'{panel.ALL_LEVELS}')",
                    "give --level province|district|commune if the table is one level only",
                )
            )
    if problems:
        raise FileRejectedError(problems)
    return fixed, notes


def _check_columns(table: Table, fixed: dict[str, object] | None = None) -> None:
    problems = []
    for name in REQUIRED:
        if name not in table.fields and name not in (fixed or {}):
            vi, *others = reading.spellings(KIND, name)
            english = next((s for s in others if s.isascii()), name)
            problems.append(
                Problem(
                    table.file,
                    table.header_row,
                    vi,
                    "",
                    "missing_columns",
                    f"required column '{vi}' ({english}) is missing, and neither the sheet "
                    "name nor the title rows say it",
                    f"add a column headed '{vi}' (accepted headers: {', '.join([vi, *others])})"
                    f", or give --{'period' if name == 'month' else name}",
                )
            )
    given = [c for c in (*panel.COUNT_COLUMNS, *panel.RATES) if c in table.fields]
    if not given:
        problems.append(
            Problem(
                table.file,
                table.header_row,
                None,
                "",
                "missing_columns",
                "no count or rate column was recognised",
                "headers such as 'Hồ sơ tiếp nhận', 'Hồ sơ trực tuyến', 'Tỷ lệ đúng hạn (%)' "
                "(see data/templates/)",
            )
        )
    for rate, den in _DENOMINATOR_OF.items():
        num = _NUMERATOR_OF[rate]
        if rate in table.fields and num not in table.fields and den not in table.fields:
            vi = reading.spellings(KIND, den)[0]
            problems.append(
                Problem(
                    table.file,
                    table.header_row,
                    table.label(rate),
                    "",
                    "rate_without_total",
                    f"a rate gives counts only with its total, and the column '{vi}' ({den}) "
                    "is missing",
                    f"add the column '{vi}', or the count '{reading.spellings(KIND, num)[0]}'",
                )
            )
    for num, den in panel.SUBSET_CHECKS:
        if num in table.fields and den not in table.fields:
            derivable = any(_NUMERATOR_OF[r] == den and r in table.fields for r in panel.RATES)
            if not derivable:
                vi = reading.spellings(KIND, den)[0]
                problems.append(
                    Problem(
                        table.file,
                        table.header_row,
                        table.label(num),
                        "",
                        "missing_denominator",
                        f"this count is a part of '{vi}' ({den}), which the file does not give",
                        f"add the column '{vi}' so that the share can be computed",
                    )
                )
    if problems:
        raise FileRejectedError(problems)


def _share_columns(table: Table, conv: dict[str, str | None]) -> set[str]:
    """Rate columns written as shares (0.794) instead of percent (79.4)."""
    shares = set()
    for rate in panel.RATES:
        if rate not in table.fields:
            continue
        cells = table.column(rate)
        if any(isinstance(c, values.Percent) or (isinstance(c, str) and "%" in c) for c in cells):
            continue
        numbers = [values.parse_percent(c, conv[rate])[0] for c in cells]
        numbers = [x for x in numbers if x is not None]
        if (
            numbers
            and all(0 <= x <= 1 for x in numbers)
            and any(not x.is_integer() for x in numbers)
        ):
            shares.add(rate)
    return shares


def _problem(table: Table, number: int, column: str | None, value: object, bad: values.Bad):
    return Problem(table.file, number, column, values.shown(value), bad.kind, bad.message, bad.hint)


def parse(
    table: Table,
    today: pd.Timestamp,
    *,
    province: str | None = None,
    period: str | None = None,
    level: str | None = None,
) -> MonthlyRows:
    """Check every row of a monthly table and keep the valid ones.

    Parameters
    ----------
    table : Table
        From :func:`read`.
    today : pandas.Timestamp
        For "month in the future".
    province, period, level : str, optional
        For a table that does not give them (:func:`fixed_keys`); where the table has the
        column, every row must agree with the option.

    Returns
    -------
    MonthlyRows

    Raises
    ------
    FileRejectedError
        Required columns missing, or a rate without any way to its total.
    """
    fixed, fixed_notes = fixed_keys(table, province, period, level)
    _check_columns(table, fixed)
    expect = {
        k: v
        for k, v in (("province", province), ("month", period), ("level", level))
        if v is not None and k not in fixed
    }
    counts = [c for c in panel.COUNT_COLUMNS if c in table.fields]
    rates = [r for r in panel.RATES if r in table.fields]
    every_cell = [c for name in counts + rates for c in table.column(name)]
    file_conv = values.convention(every_cell)
    conv = {name: values.convention(table.column(name)) or file_conv for name in counts + rates}
    shares = _share_columns(table, conv)
    derived_cols = [_NUMERATOR_OF[r] for r in rates if _NUMERATOR_OF[r] not in table.fields]
    provided = [c for c in panel.COUNT_COLUMNS if c in counts or c in derived_cols]
    labels = {name: table.label(name) for name in counts + rates}
    for rate in rates:
        labels.setdefault(_NUMERATOR_OF[rate], table.label(rate))
    out = MonthlyRows(
        table.file,
        pd.DataFrame(),
        provided,
        labels,
        notes=list(table.notes) + fixed_notes,
        header_row=table.header_row,
    )
    for rate in sorted(shares):
        out.notes.append(
            Problem(
                table.file,
                table.header_row,
                table.label(rate),
                "",
                "rates_as_shares",
                "every value is between 0 and 1: read as shares (0.794 = 79.4 %)",
                "write rates in percent (79,4 or 79,4%) to avoid the guess",
            )
        )

    records: list[dict] = []
    block_start = 0  # first record a totals row below sums
    value_names = counts + rates + ["month"]
    label_name = "province" if "province" in table.fields else "level"
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        first = next((c for c in row if not values.is_blank(c)), None)
        label_cell = table.get(row, label_name)
        if reading.is_totals_label(label_cell) or (
            values.is_blank(label_cell) and reading.is_totals_label(first)
        ):
            out.notes.append(
                _totals_note(table, row, number, label_cell, first, records[block_start:], conv)
            )
            block_start = len(records)
            continue
        # A note, a signature line or a heading between blocks: no data to import.
        if (
            all(values.is_blank(table.get(row, n)) for n in value_names)
            and values.resolve_province(label_cell, None)[0] is None
        ):
            out.notes.append(
                Problem(
                    table.file,
                    number,
                    None,
                    values.shown(first),
                    "note_row",
                    "a row without month or figures: skipped",
                )
            )
            continue
        out.read += 1
        problems: list[Problem] = []
        record, derived = _parse_row(
            table, row, number, today, conv, shares, problems, out.notes, fixed, expect
        )
        if problems:
            reading.reject(out, table, number, row, problems)
            continue
        records.append(record)
        out.derived.extend(derived)
        out.cells[number] = reading.row_cells(table, row)
    frame = pd.DataFrame.from_records(
        records, columns=[*panel.KEY_COLUMNS, *provided, "_file", "_row"]
    )
    for c in provided:
        frame[c] = frame[c].astype("int64")
    frame["month"] = pd.to_datetime(frame["month"]).astype(panel.MONTH_DTYPE)
    out.frame = frame
    return out


def _totals_note(table, row, number, label_cell, first, block, conv) -> Problem:
    """A totals row, checked against the sum of the rows it totals, then skipped."""
    label = label_cell if not values.is_blank(label_cell) else first
    differ = []
    for name in panel.COUNT_COLUMNS:
        if name not in table.fields or not block:
            continue
        given, bad = values.parse_count(table.get(row, name), conv[name])
        if bad is not None or given is None:
            continue
        total = sum(int(r[name]) for r in block if r.get(name) is not None)
        if total != given:
            differ.append(f"{table.label(name)} {given} ≠ {total}")
    key = next((k for k in ("province", "level") if k in table.fields), None)
    column = table.headers[table.fields[key]] if key else None
    if differ:
        return Problem(
            table.file,
            number,
            column,
            values.shown(label),
            "totals_mismatch",
            f"the totals row differs from the sum of the {len(block)} row(s) above it that "
            f"were accepted ({'; '.join(differ)}): skipped, the rows are kept",
            "check for a missing or rejected row, or a totals row that includes another table",
        )
    checked = f", equal to the sum of the {len(block)} row(s) above it" if block else ""
    return Problem(
        table.file,
        number,
        column,
        values.shown(label),
        "totals_row",
        f"a totals row{checked}: skipped (the panel sums rows itself)",
    )


def _parse_row(table, row, number, today, conv, shares, problems, notes, fixed=None, expect=None):
    """One data row -> (record or None, derived entries); problems and notes appended.

    ``fixed`` gives the keys the table states once (title, sheet name, option); ``expect`` the
    options every row's own cell must agree with.
    """
    fixed, expect = fixed or {}, expect or {}

    def bad(name, value, b):
        column = table.label(name) if name in table.fields else name
        problems.append(_problem(table, number, column, value, b))

    month = _row_month(table, row, today, fixed, expect, bad)
    level = _row_level(table, row, month, fixed, expect, bad)
    province = _row_province(table, row, month, fixed, expect, bad)
    counts = _row_counts(table, row, conv, bad)
    given_rates = _row_rates(table, row, conv, shares, bad)
    derived = _derive_counts(table, row, number, counts, given_rates, notes)
    problems.extend(_subset_problems(table, number, counts))
    if problems or month is None or province is None or level is None:
        return None, []
    record = {
        "boundary": province.boundary,
        "province_code": province.code,
        "province": province.name,
        "level": level,
        "month": month,
        **counts,
        "_file": table.file,
        "_row": number,
    }
    for entry in derived:
        entry.update(
            row=number,
            province=province.name,
            level=level,
            month=f"{month:%Y-%m}",
            value=counts[entry["column"]],
        )
    return record, derived


def _row_month(table, row, today, fixed, expect, bad) -> pd.Timestamp | None:
    """The row's month (its cells, or the table's), checked against --period and the window."""
    month_cell = table.get(row, "month")
    if "month" in fixed:
        month, b = fixed["month"], None
    else:
        month, b = values.parse_month(month_cell, table.get(row, "year"))
    if b is None and "month" in expect:
        wanted = values.parse_month(expect["month"])[0]
        if wanted is not None and wanted != month:
            b = values.Bad(
                "option_mismatch",
                f"the row's month {month:%m/%Y} is not --period {wanted:%m/%Y}",
                "drop --period, or import this file without that row",
            )
            month = None
    if b is not None:
        bad("month", month_cell, b)
        return month
    b = values.month_window(month, FIRST_MONTH, today)
    if b is not None:
        bad("month", month_cell, b)
        return None
    return month


def _row_level(table, row, month, fixed, expect, bad) -> str | None:
    """The row's level, checked against --level and the abolition of districts."""
    level_cell = fixed["level"] if "level" in fixed else table.get(row, "level")
    level = level_cell if "level" in fixed else reading.parse_level(level_cell)
    if level is not None and "level" in expect and level != expect["level"]:
        bad(
            "level",
            level_cell,
            values.Bad("option_mismatch", f"the row's level is not --level {expect['level']}", ""),
        )
        return None
    if level is None:
        what = "the level is empty" if values.is_blank(level_cell) else "unknown level"
        kind = "missing_value" if values.is_blank(level_cell) else "unknown_level"
        bad("level", level_cell, values.Bad(kind, what, f"use {reading.level_spellings()}"))
    elif level == "district" and month is not None and month >= pd.Timestamp(config.MERGER_DATE):
        bad(
            "level",
            level_cell,
            values.Bad(
                "district_after_reform",
                f"district level was abolished on 01/07/2025; there are no district rows in "
                f"{month:%m/%Y}",
                'from 07/2025 use "Cấp tỉnh" or "Cấp xã"',
            ),
        )
    return level


def _row_province(table, row, month, fixed, expect, bad):
    """The row's province on the month's map, checked against --province and its code."""
    province_cell = fixed["province"] if "province" in fixed else table.get(row, "province")
    province, b = values.resolve_province(province_cell, month)
    if b is None and "province" in expect:
        wanted = values.resolve_province(expect["province"], month)[0]
        if wanted is not None and wanted.code != province.code:
            b = values.Bad(
                "option_mismatch",
                f"the row's province {province.name} is not --province {wanted.name}",
                "drop --province, or import the other provinces' rows separately",
            )
            province = None
    if b is not None:
        bad("province", province_cell, b)
    if province is not None and "province_code" in table.fields:
        code_cell = table.get(row, "province_code")
        if not values.is_blank(code_cell):
            code = values.shown(code_cell).zfill(2)
            if code != province.code:
                bad(
                    "province_code",
                    code_cell,
                    values.Bad(
                        "province_code_mismatch",
                        f"{province.name} has code {province.code} on the {province.boundary} "
                        f"map, not {code}",
                        "check the code and the name together (codes changed on 01/07/2025)",
                    ),
                )
    return province


def _row_counts(table, row, conv, bad) -> dict[str, int]:
    """The row's count cells; an empty one is a problem (absent columns are simply not read)."""
    counts: dict[str, int] = {}
    for name in panel.COUNT_COLUMNS:
        if name not in table.fields:
            continue
        cell = table.get(row, name)
        value, b = values.parse_count(cell, conv[name])
        if b is None and value is None:
            b = values.Bad("missing_value", "the count is empty", "write 0 if there were none")
        if b is not None:
            bad(name, cell, b)
        else:
            counts[name] = value
    return counts


def _row_rates(table, row, conv, shares, bad) -> dict[str, float]:
    """The row's rate cells in percent (shares written as 0-1 scaled), each within 0-100 %."""
    given_rates: dict[str, float] = {}
    for rate in panel.RATES:
        if rate not in table.fields:
            continue
        cell = table.get(row, rate)
        value, b = values.parse_percent(cell, conv[rate])
        num, _ = panel.RATES[rate]
        if b is None and value is None:
            if num in table.fields:
                continue  # the count is there; an empty rate beside it is harmless
            b = values.Bad("missing_value", "the rate is empty", "write the rate in percent")
        if b is None:
            if rate in shares:
                value *= 100
            if not 0 <= value <= 100:
                b = values.Bad(
                    "rate_out_of_range",
                    f"a rate must be between 0 and 100 %, not {value:g} %",
                    "write the rate in percent (79,4 or 79,4%)",
                )
        if b is not None:
            bad(rate, cell, b)
            continue
        given_rates[rate] = value
    return given_rates


def _derive_counts(table, row, number, counts, given_rates, notes) -> list[dict]:
    """Numerators derived from a rate and its denominator's count (``counts`` completed);
    a rate that disagrees with both counts is noted, the counts kept."""
    derived: list[dict] = []
    for rate, value in given_rates.items():
        num, den = panel.RATES[rate]
        if den not in counts:
            continue
        total = counts[den]
        if num in counts:
            if total > 0 and abs(100 * counts[num] / total - value) > RATE_TOLERANCE_PP:
                # The counts stand; a rate that disagrees is worth a look but not a rejection.
                notes.append(
                    Problem(
                        table.file,
                        number,
                        table.label(rate),
                        values.shown(table.get(row, rate)),
                        "rate_disagrees",
                        f"the rate differs from {table.label(num)} / {table.label(den)} "
                        f"= {100 * counts[num] / total:.1f} %; the counts were kept",
                    )
                )
            continue
        counts[num] = math.floor(value / 100 * total + 0.5)
        derived.append({"column": num, "rate": rate})
    return derived


def _subset_problems(table, number, counts) -> list[Problem]:
    """A part larger than its whole (online dossiers above dossiers received, ...)."""
    out = []
    for num, den in panel.SUBSET_CHECKS:
        if num in counts and den in counts and counts[num] > counts[den]:
            label = (
                table.label(num)
                if num in table.fields
                else table.label(next(r for r in panel.RATES if _NUMERATOR_OF[r] == num))
            )
            den_label = table.fields.get(den)
            den_label = table.headers[den_label] if den_label is not None else den
            out.append(
                Problem(
                    table.file,
                    number,
                    label,
                    str(counts[num]),
                    "numerator_gt_denominator",
                    f"more than '{den_label}' ({counts[den]}), of which it is a part",
                    "check both figures in the source report",
                )
            )
    return out


# --- across tables ------------------------------------------------------------------------------


def check_duplicates(parts: list[MonthlyRows]) -> None:
    """Reject rows that repeat a province, level and month with different figures.

    Identical repeats are kept once (a note says so); conflicting ones are all rejected, each
    naming the other row and the columns that differ. Works across the tables of one import,
    so two files giving the same month with different figures are caught too.
    """
    frames = [p.frame.assign(_part=i) for i, p in enumerate(parts) if len(p.frame)]
    if not frames:
        return
    every = pd.concat(frames, ignore_index=True)
    counts = [c for c in panel.COUNT_COLUMNS if c in every.columns]
    keys = panel.UNIQUE_KEY
    dup = every.duplicated(subset=keys, keep=False)
    if not dup.any():
        return
    rejected: dict[int, set[int]] = {}
    for _, group in every[dup].groupby(keys, sort=False):
        rows = [r for _, r in group.iterrows()]
        first = rows[0]
        clashes = []
        for other in rows[1:]:
            differs = [
                c
                for c in counts
                if not (pd.isna(first[c]) or pd.isna(other[c])) and first[c] != other[c]
            ]
            if differs:
                clashes.append((other, differs))
            else:
                parts[int(other["_part"])].notes.append(
                    Problem(
                        other["_file"],
                        int(other["_row"]),
                        None,
                        "",
                        "duplicate_row",
                        f"repeats {_where(other, first)} with the same figures: kept once",
                    )
                )
        if not clashes:
            continue
        for this, other, differs in [(first, clashes[0][0], clashes[0][1])] + [
            (o, first, d) for o, d in clashes
        ]:
            part = parts[int(this["_part"])]
            column = differs[0]
            what = ", ".join(
                f"{part.labels.get(c, c)} {int(this[c])} vs {int(other[c])}" for c in differs
            )
            problem = Problem(
                this["_file"],
                int(this["_row"]),
                part.labels.get(column, column),
                str(int(this[column])),
                "duplicate_conflict",
                f"same province, level and month as {_where(this, other)}, with different "
                f"figures ({what})",
                "keep one row per province, level and month; correct or delete the other",
            )
            part.errors.append(problem)
            row = int(this["_row"])
            part.rejected.append(
                Rejected(this["_file"], row, part.cells.get(row, {}), [reading.reason(problem)])
            )
            rejected.setdefault(int(this["_part"]), set()).add(row)
    for i, part in enumerate(parts):
        frame = part.frame
        if i in rejected:
            frame = frame[~frame["_row"].isin(rejected[i])]
        # Identical repeats stay counted as accepted; the panel gets them once.
        part.frame = frame.drop_duplicates(subset=keys, keep="first").reset_index(drop=True)
    # A key repeated across tables with the same figures is written once by merge().


def _where(this: pd.Series, other: pd.Series) -> str:
    if this["_file"] == other["_file"]:
        return f"row {int(other['_row'])}"
    return f"row {int(other['_row'])} of {other['_file']}"


def merge(
    old: pd.DataFrame | None, parts: list[MonthlyRows]
) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """The panel with the new rows in: same unit-month replaced, the rest kept.

    A file replaces only the counts it gives: a unit-month already in the panel keeps the
    columns the file does not have (a province may send dossiers and ratings separately). A
    new unit-month gets 0 in the columns no file gives, which the manifest lists.

    Parameters
    ----------
    old : pandas.DataFrame or None
        The panel already written (validated), or None.
    parts : list of MonthlyRows

    Returns
    -------
    (pandas.DataFrame, list of dict, list of str)
        The merged panel (validated), one entry per replaced unit-month with the old and new
        value of each changed column (and the file and row it came from), and the count
        columns left not reported (missing) for some unit-months.

    Raises
    ------
    WorkbenchError
        When the merged panel breaks a rule of the panel (e.g. a new total below an old part).
    """
    frames = [p.frame for p in parts if len(p.frame)]
    keys = panel.UNIQUE_KEY
    if not frames:
        if old is None:
            return panel.validate(_empty_panel()), [], []
        return old, [], []
    new = pd.concat(frames, ignore_index=True).drop_duplicates(subset=keys, keep="last")
    for c in panel.COUNT_COLUMNS:
        if c not in new.columns:
            new[c] = pd.NA
        new[c] = new[c].astype("Int64")
    new_idx = new.set_index(keys)
    replaced: list[dict] = []
    if old is not None and len(old):
        old_idx = old.set_index(keys)
        overlap = new_idx.index.intersection(old_idx.index)
        if len(overlap):
            before = old_idx.loc[overlap, panel.COUNT_COLUMNS]
            after = new_idx.loc[overlap, panel.COUNT_COLUMNS]
            changed = after.notna() & (after.astype("float64") != before.astype("float64"))
            for key in overlap[changed.any(axis=1).to_numpy()]:
                cols = [c for c in panel.COUNT_COLUMNS if bool(changed.at[key, c])]
                boundary, code, level, month = key
                replaced.append(
                    {
                        "province": new_idx.at[key, "province"],
                        "boundary": boundary,
                        "province_code": code,
                        "level": level,
                        "month": f"{month:%Y-%m}",
                        "file": new_idx.at[key, "_file"],
                        "row": int(new_idx.at[key, "_row"]),
                        "changes": {
                            c: [_plain_count(before.at[key, c]), _plain_count(after.at[key, c])]
                            for c in cols
                        },
                    }
                )
        combined = new_idx[["province", *panel.COUNT_COLUMNS]].combine_first(
            old_idx[["province", *panel.COUNT_COLUMNS]]
        )
    else:
        combined = new_idx[["province", *panel.COUNT_COLUMNS]]
    absent = [c for c in panel.COUNT_COLUMNS if combined[c].isna().any()]
    # Columns no file gave stay missing ("not reported"): a 0 would read as a 0 % rate.
    merged = combined.reset_index()[panel.KEY_COLUMNS + panel.COUNT_COLUMNS]
    merged = merged.sort_values(["boundary", "province_code", "level", "month"])
    return panel.validate(merged.reset_index(drop=True), source="merged panel"), replaced, absent


def _plain_count(value) -> int | None:
    """A count for the JSON manifest: None where it was not reported."""
    return None if pd.isna(value) else int(value)


def _empty_panel() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in panel.KEY_COLUMNS})
    frame["month"] = frame["month"].astype(panel.MONTH_DTYPE)
    for c in panel.COUNT_COLUMNS:
        frame[c] = pd.Series(dtype="int64")
    return frame


def absent_note(file: str, provided: list[str], header_row: int) -> list[Problem]:
    """Notes for count columns a file lacks whose rate would then read 0 % instead of no data."""
    notes = []
    for num, den in panel.RATES.values():
        if den in provided and num not in provided:
            notes.append(
                Problem(
                    file,
                    header_row,
                    None,
                    "",
                    "absent_column",
                    f"no column for {num}: it is stored as not reported, so the rate "
                    f"{num} / {den} shows no data for these months",
                    "add the column if the source has it; the manifest lists absent columns",
                )
            )
    return notes


def summary_note(part: MonthlyRows) -> Problem:
    """What a table gave: the columns used (as written), the rates it can and cannot feed."""
    used = ", ".join(f"{c} ← '{h}'" for c, h in part.labels.items())
    fed = [
        r for r, (num, den) in panel.RATES.items() if num in part.provided and den in part.provided
    ]
    unfed = [r for r in panel.RATES if r not in fed]
    absent = [c for c in panel.COUNT_COLUMNS if c not in part.provided]
    return Problem(
        part.file,
        part.header_row,
        None,
        "",
        "columns_summary",
        f"columns used: {used}; not in the file (stored as not reported, never 0): "
        f"{', '.join(absent) or 'none'}; rates it feeds: {', '.join(fed) or 'none'}; "
        f"rates it cannot feed: {', '.join(unfed) or 'none'}",
    )


def validation_problem(exc: WorkbenchError) -> Problem:
    """A failure of the merged panel as a problem of the import."""
    return Problem(
        "merged panel",
        None,
        None,
        "",
        "panel_conflict",
        f"the new rows do not fit the panel already written: {exc.message}",
        exc.hint or "check the figures of the replaced months",
    )
