"""Cell values of a dossier export: dates, whole numbers, yes/no, level/channel/rating words."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analysis import registry
from analysis.errors import WorkbenchError
from analysis.ingest import personal
from analysis.ingest.dossiers.schema import (
    CHANNEL_WORDS,
    FALSE_PATTERN,
    FALSE_WORDS,
    LEVEL_WORDS,
    MAX_UNKNOWN_PROVINCES,
    RATING_WORDS,
    TRUE_PATTERN,
    TRUE_WORDS,
    YEAR_RANGE,
)
from analysis.ingest.values import fold as _values_fold
from analysis.text import fold as text_fold

_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
_ZONE = r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?"
# A time of day may stand before or after the date ("08:15 05/06/2024"); it is read and dropped.
_DMY = re.compile(
    rf"(?:{_TIME}\s+)?(\d{{1,2}})[/.\-](\d{{1,2}})[/.\-](\d{{4}})(?:\s+{_TIME}{_ZONE})?", re.ASCII
)
_YMD = re.compile(
    rf"(?:{_TIME}\s+)?(\d{{4}})[/.\-](\d{{1,2}})[/.\-](\d{{1,2}})(?:(?:\s+|T){_TIME}{_ZONE})?",
    re.ASCII,
)
# The time of day in a date cell, as RE2 (pyarrow) reads it: dropped before dates are parsed.
TIME_OF_DAY = r"T?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_CURRENCY = re.compile(r"vnd|dong|d|\s", re.ASCII)
_INT = re.compile(r"-?\d+", re.ASCII)
_INT_ZEROS = re.compile(r"-?\d+[.,]0+", re.ASCII)
_GROUPED_DOT = re.compile(r"-?\d{1,3}(?:\.\d{3})+(?:,0+)?", re.ASCII)
_GROUPED_COMMA = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.0+)?", re.ASCII)
_TRUE = re.compile(TRUE_PATTERN)
_FALSE = re.compile(FALSE_PATTERN)


def parse_date(text: str) -> dt.date | None:
    """A date as written in an export, or None.

    Day first (05/06/2024 is 5 June; also with - or .) or ISO (2024-06-05), with or without a
    time of day. Years outside ``YEAR_RANGE`` are typing mistakes and give None.

    Examples
    --------
    >>> parse_date("05/06/2024"), parse_date("2024-06-05 08:15:00"), parse_date("31/02/2024")
    (datetime.date(2024, 6, 5), datetime.date(2024, 6, 5), None)
    """
    for pattern, order in ((_DMY, (3, 2, 1)), (_YMD, (1, 2, 3))):
        found = pattern.fullmatch(text)
        if found:
            year, month, day = (int(found.group(i)) for i in order)
            if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
                return None
            try:
                return dt.date(year, month, day)
            except ValueError:
                return None
    return None


def _plain(text: str) -> str:
    """Lowercase ASCII with punctuation kept (for numbers: "50.000 đ" -> "50.000 d")."""
    return text_fold(text)


def parse_whole(text: str, grouped: bool) -> int | None:
    """A whole number ("2", "2.0"; with ``grouped`` also "50.000" and "50,000"), or None.

    An empty cell is 0. Vietnamese đồng have no decimals, so a dot or a comma followed by three
    digits groups thousands, and any fraction but zeros is not a whole number.

    Examples
    --------
    >>> parse_whole("50.000 đ", True), parse_whole("50000.0", True), parse_whole("1.5", True)
    (50000, 50000, None)
    """
    s = _CURRENCY.sub("", _plain(text))
    if s == "":
        return 0
    # Grouping first: "50.000" is fifty thousand đồng, not 50 with zero decimals.
    if _INT.fullmatch(s):
        value = int(s)
    elif grouped and _GROUPED_DOT.fullmatch(s):
        value = int(s.split(",")[0].replace(".", ""))
    elif grouped and _GROUPED_COMMA.fullmatch(s):
        value = int(s.split(".")[0].replace(",", ""))
    elif _INT_ZEROS.fullmatch(s):
        value = int(_INT.match(s).group())
    else:
        return None
    return value if abs(value) < 2**63 else None


def parse_bool(text: str) -> bool | None:
    """Yes/no: 1/0, true/false, có/không, x/empty, "Đã đồng bộ"/"Chưa đồng bộ"; else None."""
    key = personal.fold(text)
    if key == "" and text.strip() not in ("", "-", "–", "—"):  # "?" is not "no"; a dash is
        return None
    if key in TRUE_WORDS or _TRUE.fullmatch(key):
        return True
    if key in FALSE_WORDS or _FALSE.fullmatch(key):
        return False
    return None


def _words(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {word: name for name, words in table.items() for word in words}


_LEVEL = _words(LEVEL_WORDS)
_CHANNEL = _words(CHANNEL_WORDS)
_RATING = _words(RATING_WORDS)


class Memo(dict):
    """Results by cell text: an export repeats few distinct values in millions of rows."""

    LIMIT = 100_000  # a mangled column of all-distinct values must not grow it without end

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def __missing__(self, key):
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[key] = self.fn(key)
        return value


class Values:
    """Cell parsers for one import, each returning (value, bad) and memoised by cell text."""

    def __init__(self) -> None:
        self.date = Memo(lambda s: (d := parse_date(s), s != "" and d is None))
        self.level = Memo(self._category(_LEVEL))
        self.channel = Memo(self._category(_CHANNEL))
        self.rating = Memo(self._category(_RATING))
        self.boolean = Memo(lambda s: (b := parse_bool(s), b is None))
        self.count = Memo(lambda s: (v := parse_whole(s, grouped=False), v is None))
        self.fee = Memo(lambda s: (v := parse_whole(s, grouped=True), v is None))
        # Free text kept in the output: NFC (a cp1258 export writes tone marks apart), redacted.
        self.text = Memo(lambda s: (personal.redact_text(s) or None, False))
        self.shown = Memo(personal.redact_text)
        self.province = Memo(self._province)
        self.agency_level = Memo(lambda s: (level_of_agency(s), False))
        self.unknown_provinces = 0

    @staticmethod
    def _category(words: dict[str, str]):
        def parse(text: str) -> tuple[str | None, bool]:
            value = words.get(personal.fold(text))
            return value, text != "" and value is None

        return parse

    def _province(self, key: tuple[str, str | None]) -> registry.Province | WorkbenchError:
        name, boundary = key
        try:
            return registry.resolve(name, boundary=boundary)
        except WorkbenchError as exc:
            self.unknown_provinces += 1
            if self.unknown_provinces > MAX_UNKNOWN_PROVINCES:
                raise NotProvincesError from None
            return exc


# The level an agency's name says, on the folded name (values.fold: lowercase ASCII, spaces
# kept). "UBND thành phố X" is left out: a provincial city is a district, a centrally-run one a
# province, and the name alone does not tell which.
_AGENCY_LEVELS = (
    ("commune", re.compile(r"^(ubnd|uy ban nhan dan) (cap )?(xa|phuong|thi tran)\b")),
    ("commune", re.compile(r"^(xa|phuong|thi tran) ")),
    ("district", re.compile(r"^(ubnd|uy ban nhan dan) (cap )?(huyen|quan|thi xa)\b")),
    ("district", re.compile(r"^(huyen|quan|thi xa) |^phong |^chi nhanh van phong dang ky")),
    (
        "province",
        re.compile(
            r"^(so|ban quan ly|ban dan toc|thanh tra tinh|van phong (ubnd|uy ban nhan dan) tinh"
            r"|(ubnd|uy ban nhan dan) (cap )?tinh|cong an tinh|bao hiem xa hoi tinh"
            r"|cuc|chi cuc|trung tam phuc vu hanh chinh cong tinh)\b"
        ),
    ),
)


def level_of_agency(name: str) -> str | None:
    """The administrative level an agency's name says, or None when it does not say.

    Examples
    --------
    >>> level_of_agency("UBND xã Phú Lâm"), level_of_agency("Sở Tư pháp")
    ('commune', 'province')
    >>> level_of_agency("UBND huyện Tiên Du"), level_of_agency("UBND thành phố Bắc Ninh")
    ('district', None)
    """
    folded = _values_fold(name)
    for level, pattern in _AGENCY_LEVELS:
        if pattern.search(folded):
            return level
    return None


class NotProvincesError(Exception):
    """The province column holds too many unknown names to be one."""


def map_words(values: pa.Array, memo: Memo, type_: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Parse each distinct cell once: (parsed values, bad flags) for every row."""
    encoded = pc.dictionary_encode(values)
    results = [memo[text] for text in encoded.dictionary.to_pylist()]
    indices = encoded.indices
    parsed = pa.array([r[0] for r in results], type=type_).take(indices)
    bad = np.array([r[1] for r in results], dtype=bool)[indices.to_numpy()]
    return parsed, bad
