"""Cell values as analysts type them: months, periods, numbers and percentages.

Every parser returns ``(value, problem)`` and never raises: ``problem`` is None when the cell
was read, else a :class:`Bad` (kind, message, hint) that the caller turns into a
:class:`~analysis.ingest.problems.Problem` with the file, row and column it knows.

Numbers are written the Vietnamese way (``1.234,5``: dots group thousands, the comma is the
decimal mark) or the English way (``1,234.5``). Most cells say which by themselves; the rest
("1.234", "1,234": one separator followed by exactly three digits) are *ambiguous* and are read by
the convention of their column, else of their file (:func:`convention`), else by what the column
can hold (a count is whole, so "1.234" dossiers are 1234; a rate or a score is small, so 1.234).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from analysis import config, registry
from analysis.errors import WorkbenchError
from analysis.text import fold as text_fold

VI = "vi"  # 1.234,5
EN = "en"  # 1,234.5

# Cells that mean "nothing here" in Vietnamese reports.
_BLANKS = {"", "-", "—", "–", "nan", "none", "null", "n/a", "na", "#n/a", "x"}


@dataclass(frozen=True)
class Bad:
    """Why a cell could not be read.

    Attributes
    ----------
    kind : str
        Stable short code (``bad_month``, ``not_a_number``, ...).
    message : str
        What is wrong, in words.
    hint : str
        How to write it instead.
    """

    kind: str
    message: str
    hint: str = ""


class Percent(float):
    """A number already in percent units: an Excel cell formatted as %, whose 0.794 shows 79.4 %."""


@dataclass(frozen=True)
class Period:
    """A reporting period of the portal's index: a month, quarter, half-year or year.

    Attributes
    ----------
    label : str
        ``"2024-05"``, ``"2024-Q1"``, ``"2024-H1"`` or ``"2024"``.
    start : pandas.Timestamp
        First day of the period (for range checks and the boundary of the day).
    freq : str
        ``"M"``, ``"Q"``, ``"H"`` or ``"Y"``.
    """

    label: str
    start: pd.Timestamp
    freq: str

    @property
    def end(self) -> pd.Timestamp:
        """First day of the period's last month."""
        months = {"M": 0, "Q": 2, "H": 5, "Y": 11}[self.freq]
        return self.start + pd.DateOffset(months=months)


def fold(text: object) -> str:
    """Lowercase ASCII of a cell: NFC, diacritics dropped, đ -> d, runs of space collapsed."""
    return " ".join(text_fold(text).split())


def is_blank(value: object) -> bool:
    """True for an empty cell: None, NaN, "", or a dash standing for nothing."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip().casefold() in _BLANKS
    return value is pd.NaT


def shown(value: object) -> str:
    """The cell as the user would recognise it in a message."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, Percent):
        return f"{float(value):g}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y") if value.time() == dt.time() else str(value)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


# --- months and periods -------------------------------------------------------------------------

_MONTH_NAMES = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_SEP = r"\s*(?:[-/.,]|\bnam\b)\s*"  # "6/2023", "6-2023", "6 năm 2023", "6, 2023"
_MONTH_HINT = 'write the month as 2023-06, 06/2023, T6/2023 or "Tháng 6/2023"'

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[ t]\d{1,2}:\d{2}(?::\d{2})?)?$")
_VN_MONTH = re.compile(rf"^(?:thang|t)\s*\.?\s*(\d{{1,2}}){_SEP}(\d{{4}})$")
_MY = re.compile(rf"^(\d{{1,2}}){_SEP}(\d{{4}})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_YYYYMM = re.compile(r"^(\d{4})(\d{2})$")
_NAMED = re.compile(r"^([a-z]+)\.?[\s,-]+(\d{4})$")
_MONTH_ONLY = re.compile(r"^(?:thang|t)?\s*\.?\s*(\d{1,2})$")


def _month(year: int, month: int, raw: object) -> tuple[pd.Timestamp | None, Bad | None]:
    if not 1 <= month <= 12:
        return None, Bad("bad_month", f"there is no month {month}", _MONTH_HINT)
    if not 1900 <= year <= 2200:
        return None, Bad("bad_month", f"the year {year} cannot be right", _MONTH_HINT)
    return pd.Timestamp(year=year, month=month, day=1), None


def parse_month(value: object, year: object = None) -> tuple[pd.Timestamp | None, Bad | None]:
    """Read a month.

    Parameters
    ----------
    value : object
        A cell: ``"2023-06"``, ``"2023-06-01"``, ``"06/2023"``, ``"6/2023"``, ``"T6/2023"``,
        ``"Tháng 6/2023"``, ``"Tháng 06 năm 2023"``, ``"01/06/2023"`` (day first, as Vietnamese
        dates are written), ``"Jun 2023"``, ``202306``, or a date cell.
    year : object, optional
        The cell of a separate year column; then ``value`` may be the month alone (``6``,
        ``"T6"``, ``"Tháng 6"``).

    Returns
    -------
    (pandas.Timestamp or None, Bad or None)
        The first day of the month, or the reason it could not be read.
    """
    if is_blank(value):
        return None, Bad("missing_value", "the month is empty", _MONTH_HINT)
    if isinstance(value, dt.date | pd.Timestamp):
        return pd.Timestamp(value.year, value.month, 1), None
    if isinstance(value, bool):
        return None, Bad("bad_month", "not a month", _MONTH_HINT)
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            return None, Bad("bad_month", "not a month", _MONTH_HINT)
        value = str(int(value))
    text = fold(value)
    if not is_blank(year):
        y, bad = parse_number(year)
        if bad is None and y is not None and float(y).is_integer():
            hit = _MONTH_ONLY.match(text)
            if hit:
                return _month(int(y), int(hit.group(1)), value)
    hit = _ISO.match(text)
    if hit:
        return _month(int(hit.group(1)), int(hit.group(2)), value)
    for pattern in (_VN_MONTH, _MY):
        hit = pattern.match(text)
        if hit:
            return _month(int(hit.group(2)), int(hit.group(1)), value)
    hit = _DMY.match(text)
    if hit:
        return _month(int(hit.group(3)), int(hit.group(2)), value)
    hit = _YYYYMM.match(text)
    if hit:
        return _month(int(hit.group(1)), int(hit.group(2)), value)
    hit = _NAMED.match(text)
    if hit and hit.group(1) in _MONTH_NAMES:
        return _month(int(hit.group(2)), _MONTH_NAMES[hit.group(1)], value)
    return None, Bad("bad_month", "not a month", _MONTH_HINT)


_PERIOD_HINT = (
    'write the period as a month (2024-05, "Tháng 5/2024"), a quarter ("Quý 1/2024", 2024-Q1), '
    'a half-year ("6 tháng đầu năm 2024", 2024-H1) or a year ("Năm 2024")'
)
_QUARTER = re.compile(rf"^(?:quy|q)\s*([1-4]|iv|i{{1,3}}){_SEP}?(\d{{4}})$")
_QUARTER_ISO = re.compile(r"^(\d{4})\s*[-/ ]?\s*q([1-4])$")
_HALF = re.compile(r"^6 thang (dau|cuoi) nam (\d{4})$")
_HALF_CODE = re.compile(r"^(?:h([12])\s*[-/ ]?\s*(\d{4})|(\d{4})\s*[-/ ]?\s*h([12]))$")
_YEAR = re.compile(r"^(?:nam\s*)?(\d{4})$")


def parse_period(value: object) -> tuple[Period | None, Bad | None]:
    """Read a reporting period of the index: a month, quarter, half-year or year.

    Parameters
    ----------
    value : object
        Anything :func:`parse_month` reads, or ``"Quý 1/2024"``, ``"Quý I năm 2024"``,
        ``"Q1/2024"``, ``"2024-Q1"``, ``"6 tháng đầu năm 2024"``, ``"H2/2024"``, ``"2024-H1"``,
        ``"Năm 2024"``, ``"2024"``.

    Returns
    -------
    (Period or None, Bad or None)
    """
    if is_blank(value):
        return None, Bad("missing_value", "the period is empty", _PERIOD_HINT)
    text = fold(shown(value)) if not isinstance(value, dt.date | pd.Timestamp) else ""
    for pattern, freq in ((_QUARTER, "Q"), (_QUARTER_ISO, "Q")):
        hit = pattern.match(text)
        if hit:
            a, b = hit.groups()
            year, q = (int(b), a) if pattern is _QUARTER else (int(a), b)
            quarter = _ROMAN.get(q) or int(q)
            start = pd.Timestamp(year, 3 * quarter - 2, 1)
            return Period(f"{year}-Q{quarter}", start, freq), None
    hit = _HALF.match(text)
    if hit:
        half, year = (1 if hit.group(1) == "dau" else 2), int(hit.group(2))
        return Period(f"{year}-H{half}", pd.Timestamp(year, 6 * half - 5, 1), "H"), None
    hit = _HALF_CODE.match(text)
    if hit:
        half = int(hit.group(1) or hit.group(4))
        year = int(hit.group(2) or hit.group(3))
        return Period(f"{year}-H{half}", pd.Timestamp(year, 6 * half - 5, 1), "H"), None
    hit = _YEAR.match(text)
    if hit and 1900 <= int(hit.group(1)) <= 2200:
        year = int(hit.group(1))
        return Period(str(year), pd.Timestamp(year, 1, 1), "Y"), None
    month, bad = parse_month(value)
    if bad is None:
        return Period(f"{month:%Y-%m}", month, "M"), None
    return None, Bad("bad_period", "not a period of the index", _PERIOD_HINT)


# --- numbers ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[\d.,]*\d[\d.,]*$")
_GROUPED = re.compile(r"^\d{1,3}(?:X\d{3})+$")  # X stands for the thousands separator
_NUMBER_HINT = (
    "write a number: 1234 or 1.234 (Vietnamese) or 1,234 (English); decimals 79,4 or 79.4"
)


def _clean(text: str) -> str:
    # Spaces (also no-break and thin spaces) group thousands in some exports: "1 234".
    return re.sub(r"[\s\u00a0\u202f\u2009']", "", text)


def evidence(value: object) -> str | None:
    """Which convention a cell proves: ``"vi"``, ``"en"``, or None (no separator, ambiguous)."""
    if not isinstance(value, str):
        return None
    text = _clean(value.strip().rstrip("%").strip())
    text = text[1:] if text[:1] in ("-", "+") else text
    if not _NUMBER.match(text):
        return None
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        return VI if text.rfind(",") > text.rfind(".") else EN
    if dots > 1:
        return VI
    if commas > 1:
        return EN
    if dots == 1 or commas == 1:
        whole, frac = re.split(r"[.,]", text)
        if len(frac) == 3 and 1 <= len(whole) <= 3 and whole != "0":
            return None  # "1.234": thousands or decimals, the cell alone cannot tell
        return EN if dots else VI
    return None


def convention(values: Iterable[object]) -> str | None:
    """The convention most cells prove, or None when none proves one.

    Parameters
    ----------
    values : iterable
        Cells of one column (for the column's convention) or of a whole file.
    """
    votes = Counter(e for e in map(evidence, values) if e is not None)
    if not votes:
        return None
    (top, n), *rest = votes.most_common()
    if rest and rest[0][1] == n:
        return None
    return top


def parse_number(
    value: object, conv: str | None = None, ambiguous: str = "thousands"
) -> tuple[float | None, Bad | None]:
    """Read a number written either way.

    Parameters
    ----------
    value : object
        A cell: a number, or text such as ``"1.234,5"``, ``"1,234.5"``, ``"1 234"``, ``"-5"``.
    conv : {"vi", "en", None}
        The convention of the column or file, for ambiguous cells ("1.234").
    ambiguous : {"thousands", "decimal"}
        How to read an ambiguous cell when ``conv`` is None: a count cannot be 1.234, a rate
        or a score cannot be 1234.

    Returns
    -------
    (float or None, Bad or None)
        None and no problem for a blank cell.
    """
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        return None, Bad("not_a_number", "a yes/no value, not a number", _NUMBER_HINT)
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return None, Bad("not_a_number", "not a finite number", _NUMBER_HINT)
        return number, None
    if not isinstance(value, str):
        return None, Bad("not_a_number", "not a number", _NUMBER_HINT)
    raw = value.strip()
    text = _clean(raw)
    negative = text.startswith("-")
    if text[:1] in ("-", "+"):
        text = text[1:]
    if not _NUMBER.match(text):
        return None, Bad("not_a_number", "not a number", _NUMBER_HINT)
    proof = evidence(raw)
    use = proof or conv
    if use is None:
        use = VI if ambiguous == "thousands" else EN  # VI reads "1.234" as 1234, EN as 1.234
        if "," in text and "." not in text:
            use = EN if ambiguous == "thousands" else VI
    thousands, decimal = (".", ",") if use == VI else (",", ".")
    whole, _, frac = text.partition(decimal)
    if decimal in frac:
        return None, Bad("not_a_number", "two decimal marks", _NUMBER_HINT)
    if thousands in frac:
        return None, Bad("not_a_number", "thousands separator after the decimal mark", _NUMBER_HINT)
    if thousands in whole:
        if not _GROUPED.match(whole.replace(thousands, "X")):
            return None, Bad(
                "not_a_number",
                f"{thousands!r} does not group thousands here",
                _NUMBER_HINT,
            )
        whole = whole.replace(thousands, "")
    try:
        number = float(f"{whole or '0'}.{frac or '0'}")
    except ValueError:
        return None, Bad("not_a_number", "not a number", _NUMBER_HINT)
    return (-number if negative else number), None


# Counts are stored as 64-bit integers (pandas Int64); 2**53 keeps them exact as floats too.
MAX_COUNT = 2**53


def parse_count(value: object, conv: str | None = None) -> tuple[int | None, Bad | None]:
    """Read a count: a whole number of dossiers or ratings, 0 or more.

    Returns
    -------
    (int or None, Bad or None)
        None and no problem for a blank cell (the caller decides whether blank is allowed).
    """
    if isinstance(value, Percent):
        return None, Bad("not_a_number", "a percentage where a count is expected", _NUMBER_HINT)
    if isinstance(value, str) and "%" in value:
        return None, Bad("not_a_number", "a percentage where a count is expected", _NUMBER_HINT)
    number, bad = parse_number(value, conv, ambiguous="thousands")
    if bad is not None or number is None:
        return None, bad
    if number < 0:
        return None, Bad("negative_count", "a count cannot be negative", "write 0 or more")
    if not float(number).is_integer():
        hint = "counts are whole numbers"
        if conv == EN and isinstance(value, str) and "." in value:
            hint += "; this file writes decimals with a dot, so 1.234 reads as 1.234 — write 1234"
        return None, Bad("not_whole", "a count must be a whole number", hint)
    if number > MAX_COUNT:  # stored as 64-bit integers; no real count comes near
        return None, Bad(
            "count_too_large",
            f"a count of {shown(value)} is far beyond any number of dossiers",
            "check the cell: a count this large is a typing or export error",
        )
    return int(number), None


def parse_percent(value: object, conv: str | None = None) -> tuple[float | None, Bad | None]:
    """Read a percentage: ``"79,4%"``, ``"79.4 %"``, ``"79,4"``, or a %-formatted Excel cell.

    Returns
    -------
    (float or None, Bad or None)
        The value in percent units (79.4), not checked against 0–100 (the caller names the
        column when it is out of range).
    """
    if isinstance(value, Percent):
        return float(value), None
    if isinstance(value, str):
        value = value.strip()
        if value.endswith("%"):
            value = value[:-1].strip()
    number, bad = parse_number(value, conv, ambiguous="decimal")
    return number, bad


def parse_score(value: object, conv: str | None = None) -> tuple[float | None, Bad | None]:
    """Read a score (points of the index, at most 100)."""
    if isinstance(value, str) and "%" in value:
        return None, Bad("not_a_number", "a percentage where points are expected", _NUMBER_HINT)
    return parse_number(value, conv, ambiguous="decimal")


def decimals(value: object) -> int:
    """Decimal places shown in a cell (for the tolerance of a sum of rounded numbers)."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:
            return 6
        frac = text.partition(".")[2].rstrip("0")
        return min(len(frac), 6)
    if isinstance(value, str):
        hit = re.search(r"[.,](\d{1,2})\s*%?\s*$", value.strip())
        return len(hit.group(1)) if hit else 0
    return 0


# --- provinces and dates ------------------------------------------------------------------------


def boundary_on(month: pd.Timestamp) -> str:
    """The map in force in a month: "old63" before 1 July 2025, "new34" from then."""
    return "old63" if month < pd.Timestamp(config.MERGER_DATE) else "new34"


@lru_cache(maxsize=4096)
def _resolve(name: str, boundary: str | None) -> tuple[registry.Province | None, Bad | None]:
    try:
        return registry.resolve(name, boundary=boundary), None
    except WorkbenchError as exc:
        if boundary is not None:
            try:
                registry.resolve(name)
            except WorkbenchError:
                pass
            else:  # a real province, but of the other map (merged away, or not yet formed)
                return None, Bad("province_not_on_map", exc.message, exc.hint)
        return None, Bad("unknown_province", exc.message, exc.hint)


def resolve_province(
    value: object, month: pd.Timestamp | None
) -> tuple[registry.Province | None, Bad | None]:
    """The province a cell names, on the map in force in ``month``.

    An old name after the merger (e.g. "Hà Giang" in 2025-08) is an error naming the province
    it joined; with no month (unreadable), the name is only checked to exist.
    """
    if is_blank(value):
        return None, Bad("missing_value", "the province is empty", "write the province's name")
    name = shown(value)
    return _resolve(name, None if month is None else boundary_on(month))


def month_window(
    month: pd.Timestamp, first: pd.Timestamp, today: pd.Timestamp, what: str = "month"
) -> Bad | None:
    """A month after today's month, or before the first month the data can hold, is an error."""
    current = pd.Timestamp(today.year, today.month, 1)
    if month > current:
        return Bad(
            f"{what}_in_future",
            f"the {what} {month:%m/%Y} is in the future (today is {today:%d/%m/%Y})",
            "check the year",
        )
    if month < first:
        return Bad(
            f"{what}_out_of_range",
            f"the {what} {month:%m/%Y} is before {first:%m/%Y}, where these data start",
            "check the year",
        )
    return None
