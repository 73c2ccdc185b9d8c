"""Dossier records (hồ sơ TTHC): one row per dossier, from a province's dossier-handling system.

How a file travels, and why:

1. The header is read and matched to the schema (``FIELDS``; any spelling, with or without
   diacritics). Personal columns and columns outside the schema are never read: pyarrow parses
   only the schema's columns, the ID number (hashed) and the applicant's name (in memory only,
   to redact it where the row repeats it).
2. pyarrow streams the CSV in blocks on one thread, every cell as text; on one thread it numbers
   the rows it cannot split into the header's fields, so every row keeps its spreadsheet number
   (header = 1). Each block is typed with NumPy and small Python tables memoised by cell text
   (an export repeats few distinct values in millions of rows), the ID number becomes
   ``applicant_key`` (:mod:`analysis.ingest.personal`), and a 62-bit mask records which checks
   (``CHECKS``) each row fails. Typed blocks go to a temporary Parquet file: no personal value
   is ever written, not even there.
3. DuckDB, with its memory capped and spilling to the temporary folder, compares rows with each
   other (duplicate dossier ids), counts problems by kind and picks the first rows of each. A
   second pass over the CSV fetches, redacted, the text of the rows to show (examples in
   messages, rejected rows). The typed file, without the rejected rows, is the output.

So 10 million rows import with bounded memory: a few dozen 1 MiB blocks of text read ahead, one
row group of typed rows, and DuckDB's cap.

Storage: one Parquet file per raw file, ``<out>/dossiers/<stem>.parquet`` (rows in file order,
row groups of ``ROW_GROUP_ROWS``, the raw file's SHA-256 in its key-value metadata);
re-importing a file of the same name replaces it, so a corrected export replaces the old one.
Dossier ids are checked against the other files of the folder, which ``score`` reads together:
an export saved again (other bytes, the same dossiers) is not written a second time, and rows
already imported from another file are rejected (``duplicate_across_files``).
Quarantined rows go to ``<out>/dossiers/rejected_<stem>.csv``. The schema and the spellings
accepted are documented in ``data/raw/README.md``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis import config, registry
from analysis.errors import WorkbenchError
from analysis.files import atomic_path, sha256
from analysis.ingest import personal
from analysis.ingest.problems import SHOWN, IngestError, Problem, ProblemReport
from analysis.ingest.reading import level_words
from analysis.ingest.values import fold as _values_fold
from analysis.text import fold as text_fold

# --- schema ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One column of the dossier schema.

    Attributes
    ----------
    name : str
        Canonical English name.
    label : str
        Vietnamese name, for messages.
    aliases : tuple of str
        Header spellings accepted besides ``name`` (matched after :func:`personal.fold`, so case,
        diacritics, spaces and punctuation do not matter).
    required : bool
        The column must be in the file.
    """

    name: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False


def _field(name: str, label: str, aliases: str, required: bool = False) -> Field:
    return Field(name, label, tuple(a.strip() for a in aliases.split(";")), required)


# The schema, with the header spellings of real exports (data/raw/README.md lists them; a test
# keeps the two in step). Spellings are matched folded: "NGAY_TIEP_NHAN" is "Ngày tiếp nhận".
FIELDS: tuple[Field, ...] = (
    _field("dossier_id", "mã hồ sơ",
           "id; dossier; dossier code; mã hồ sơ; số hồ sơ; mã số hồ sơ; mã hs; số biên nhận; "
           "mã biên nhận", required=True),
    _field("province", "tỉnh/thành phố",
           "province name; tỉnh; tỉnh/thành phố; tỉnh, thành phố; tỉnh/tp; tỉnh thành",
           required=True),
    _field("unit", "đơn vị (huyện/xã)",
           "unit name; district; commune; ward; district or commune; đơn vị; tên đơn vị; "
           "đơn vị hành chính; huyện; quận/huyện; xã; phường/xã; xã/phường; xã/phường/thị trấn; "
           "phường/xã/thị trấn; huyện/xã"),
    _field("agency", "cơ quan",
           "handling agency; cơ quan; cơ quan giải quyết; cơ quan tiếp nhận; cơ quan thực hiện; "
           "cơ quan xử lý; đơn vị giải quyết; đơn vị tiếp nhận"),
    _field("level", "cấp",
           "administrative level; cấp; cấp thực hiện; cấp giải quyết; cấp hành chính",
           required=True),
    _field("procedure_code", "mã thủ tục",
           "procedure id; mã thủ tục; mã tthc; mã thủ tục hành chính; mã dvc"),
    _field("procedure_name", "tên thủ tục",
           "procedure; thủ tục; tên thủ tục; thủ tục hành chính; tên thủ tục hành chính; tthc; "
           "tên tthc; dịch vụ công; tên dịch vụ công"),
    _field("received_date", "ngày tiếp nhận",
           "received; date received; ngày tiếp nhận; ngày nhận; ngày nộp; ngày nhận hồ sơ; "
           "ngày tiếp nhận hồ sơ; ngày nộp hồ sơ; thời gian tiếp nhận", required=True),
    _field("channel", "kênh nộp",
           "submission channel; kênh; kênh nộp; kênh tiếp nhận; hình thức; hình thức nộp; "
           "hình thức tiếp nhận; hình thức nộp hồ sơ; phương thức nộp; phương thức tiếp nhận",
           required=True),
    _field("fully_online", "toàn trình",
           "fully online flag; toàn trình; trực tuyến toàn trình; dịch vụ công toàn trình; "
           "dvc toàn trình; hồ sơ toàn trình"),
    _field("due_date", "hạn xử lý",
           "due; deadline; hạn xử lý; hạn giải quyết; hạn trả; hạn trả kết quả; ngày hẹn trả; "
           "ngày hẹn trả kết quả; ngày hết hạn", required=True),
    _field("finished_date", "ngày hoàn thành",
           "finished; date finished; completed; completion date; ngày hoàn thành; "
           "ngày trả kết quả; ngày có kết quả; ngày kết thúc; ngày giải quyết xong; "
           "ngày xử lý xong"),
    _field("supplement_requests", "số lần yêu cầu bổ sung",
           "supplements; number of supplement requests; số lần yêu cầu bổ sung; số lần bổ sung; "
           "yêu cầu bổ sung; số lần yêu cầu bổ sung hồ sơ"),
    _field("fee_vnd", "phí, lệ phí (VNĐ)",
           "fee; fees; phí; lệ phí; phí, lệ phí; phí lệ phí; số tiền phí; số tiền"),
    _field("paid_online", "thanh toán trực tuyến",
           "online payment; thanh toán trực tuyến; đã thanh toán trực tuyến; thanh toán online"),
    _field("e_result", "trả kết quả điện tử",
           "electronic result; result electronic; result issued electronically; "
           "kết quả điện tử; trả kết quả điện tử; có kết quả điện tử; cấp kết quả điện tử; "
           "kết quả bản điện tử"),
    _field("issues_result", "thủ tục có kết quả",
           "procedure issues result; procedure issues a result; has result; thủ tục có kết quả; "
           "có kết quả; tthc có kết quả; thủ tục có cấp kết quả"),
    _field("components_digitised", "số hóa thành phần",
           "components digitized; digitised components; số hóa thành phần; "
           "số hóa thành phần hồ sơ; thành phần đã số hóa; đã số hóa thành phần"),
    _field("result_digitised", "số hóa kết quả",
           "result digitized; digitised result; số hóa kết quả; kết quả đã số hóa; "
           "đã số hóa kết quả"),
    _field("data_reused", "tái sử dụng dữ liệu",
           "reused data; tái sử dụng; tái sử dụng dữ liệu; tái sử dụng dữ liệu số hóa; "
           "sử dụng lại dữ liệu"),
    _field("synced", "đồng bộ DVCQG",
           "synchronised; synchronized; synced to portal; synchronised to national portal; "
           "đồng bộ; đã đồng bộ; đồng bộ dvcqg; đồng bộ cổng dvcqg; "
           "đồng bộ cổng dịch vụ công quốc gia"),
    _field("rating", "đánh giá",
           "satisfaction; đánh giá; mức độ hài lòng; kết quả đánh giá; đánh giá hài lòng; "
           "hài lòng"),
)  # fmt: skip
FIELD = {f.name: f for f in FIELDS}
BOOLEAN_FIELDS = (
    "fully_online",
    "paid_online",
    "e_result",
    "issues_result",
    "components_digitised",
    "result_digitised",
    "data_reused",
    "synced",
)
DATE_FIELDS = ("received_date", "due_date", "finished_date")
FREE_TEXT_FIELDS = ("unit", "agency", "procedure_code", "procedure_name")
# Text a clerk may have typed anything into, and that no index component needs (the procedure
# is identified by its code): dropped unless the analyst keeps it on purpose (``keep_text``).
# Units and agencies are the index's units and stay, redacted.
DROPPED_TEXT_FIELDS = ("procedure_name",)
# A fee or a count this large is a phone or an ID number typed into the wrong column.
MAX_PLAUSIBLE_NUMBER = 100_000_000
# A row needs at least one of the two to say which procedure it is.
PROCEDURE_FIELDS = ("procedure_code", "procedure_name")

LEVELS = ("province", "district", "commune")
CHANNELS = ("direct", "online", "postal")  # channel codes 1, 2, 3 of the portal
RATINGS = ("satisfied", "neutral", "not_satisfied")

# Category words, folded (personal.fold). Channel codes 1/2/3 are the portal's. The level words
# are data/ingest_headers.yaml's `levels`, the one list the monthly tables read too.
LEVEL_WORDS = level_words()
CHANNEL_WORDS = {
    "direct": ("1", "direct", "counter", "inperson", "offline", "tructiep", "noptructiep"),
    "online": ("2", "online", "tructuyen", "noptructuyen", "dvctt", "quamang"),
    "postal": ("3", "postal", "post", "buuchinh", "buuchinhcongich", "quabuuchinh", "bcci"),
}
RATING_WORDS = {
    "satisfied": ("satisfied", "verysatisfied", "hailong", "rathailong"),
    "neutral": ("neutral", "acceptable", "binhthuong", "chapnhanduoc"),
    "not_satisfied": (
        "notsatisfied",
        "dissatisfied",
        "unsatisfied",
        "khonghailong",
        "chuahailong",
        "rathonghailong",
    ),
}
TRUE_WORDS = ("1", "true", "t", "yes", "y", "x", "co", "dung", "da")
FALSE_WORDS = ("", "0", "false", "f", "no", "n", "khong", "k", "chua", "sai")
# "Đã đồng bộ", "Có KQ điện tử" are yes; "Chưa số hóa", "Không" are no. "đang" (in progress) and
# "công" start like "đã"/"có" and are excluded by the [^n].
TRUE_PATTERN = "(co|da)([^n].*)?"
FALSE_PATTERN = "(khong|chua).*"

# Dates: day first, as Vietnamese write them, or ISO; a time of day is read and dropped.
DATE_FORMATS = (
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%H:%M:%S %d/%m/%Y",
    "%H:%M %d/%m/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
# Earlier or later years are typing mistakes (the portal started in 2018, the index in 2022).
YEAR_RANGE = (2000, 2100)
DATE_HINT = "write dates as dd/mm/yyyy (05/06/2024) or yyyy-mm-dd (2024-06-05)"

DUCKDB_MEMORY = "512MB"  # DuckDB spills to disk beyond this: peak RSS stays well under 2 GB
BLOCK_BYTES = 1 << 20  # pyarrow reads 1 MiB of CSV at a time (and reads ahead ~32 of them)
CHUNK_ROWS = 65_536  # rows typed at a time
ROW_GROUP_ROWS = 250_000  # rows held before a row group is written (memory ~ 100 MB)
EXAMPLES_PER_CHECK = 100  # problems kept in full per check; all are counted
# More distinct unknown province names than this, and the column is not a province column
# (each unknown name costs the registry a search for close names).
MAX_UNKNOWN_PROVINCES = 1_000
PARQUET_SCHEMA_VERSION = "dossiers/1"


def _alias_index() -> dict[str, str]:
    """Folded header spelling -> field name. Fails on a spelling given to two fields (a bug)."""
    index: dict[str, str] = {}
    for f in FIELDS:
        for alias in (f.name, f.name.replace("_", " "), *f.aliases):
            key = personal.fold(alias)
            if index.setdefault(key, f.name) != f.name:
                raise ValueError(f"header {alias!r} given to {index[key]} and {f.name}")
            if key in personal.PERSONAL_KEYS:
                raise ValueError(f"header {alias!r} is both {f.name} and personal data")
    return index


_ALIASES = _alias_index()


def field_of(header: str) -> str | None:
    """The schema field a header names, or None.

    A trailing currency unit ("(VNĐ)", "vnd", "đồng") is ignored, so "Phí, lệ phí (VNĐ)" is
    ``fee_vnd``.

    Examples
    --------
    >>> field_of("Ngày tiếp nhận"), field_of("NGAY_TIEP_NHAN"), field_of("Phí, lệ phí (VNĐ)")
    ('received_date', 'received_date', 'fee_vnd')
    """
    key = personal.fold(header)
    if key in _ALIASES:
        return _ALIASES[key]
    for unit in ("vnd", "dong"):
        if key.endswith(unit) and key[: -len(unit)] in _ALIASES:
            return _ALIASES[key[: -len(unit)]]
    return None


# --- result ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierImport:
    """What one dossier import read and wrote.

    Attributes
    ----------
    read : int
        Dossier rows read (blank rows excepted).
    accepted : int
        Rows written to Parquet.
    rejected : int
        Rows with at least one problem (``read = accepted + rejected``).
    outputs : dict of str to Path
        ``"dossiers"``: the Parquet file; ``"rejected"``: the rejected rows (only when some were).
    source : str
        The raw file as the user named it.
    sha256 : str
        SHA-256 of the raw file.
    problems : dict of str to int
        Exact number of problems by kind (a row can have several).
    personal_columns : tuple of str
        Kinds of personal data found in the header and dropped (``applicant_name``, ...).
    ignored_columns : int
        Columns outside the schema, dropped unread (their headers are not repeated anywhere:
        in a file without a header row they would be personal data).
    blank_rows : int
        Rows with every schema field empty (Excel's trailing ",,,," lines), skipped.
    personal_headers : tuple of (str, str)
        (header as written, kind) of each personal column: ID numbers hashed into
        ``applicant_key``, the others dropped unread.
    text_dropped : tuple of str
        Free-text columns (headers as written) not kept: ``keep_text`` was not given.
    hashed_ids : int
        Dossier ids that were, or held, an ID or phone number or an e-mail address, stored as
        their keyed hash (:func:`analysis.ingest.personal.dossier_key`).
    duplicate_of : str
        The Parquet file already holding exactly these dossiers (the export saved again), when
        nothing was written for that reason; else empty.
    used_columns : dict of str to str
        Schema field -> the header(s) it was read from.
    ignored_names : tuple of str
        The headers of the ignored columns (empty when the header row named no schema field).
    absent_columns : tuple of str
        Schema fields the file has no column for (null in every row, never 0).
    given : dict of str to str
        Fields given by option instead of a column (``province``, ``level``), and ``level``
        -> "agency" when the agency's name gave it.
    """

    read: int
    accepted: int
    rejected: int
    outputs: dict[str, Path]
    source: str = ""
    sha256: str = ""
    problems: dict[str, int] = field(default_factory=dict)
    personal_columns: tuple[str, ...] = ()
    ignored_columns: int = 0
    blank_rows: int = 0
    personal_headers: tuple[tuple[str, str], ...] = ()
    text_dropped: tuple[str, ...] = ()
    hashed_ids: int = 0
    duplicate_of: str = ""

    def personal_summary(self) -> str:
        """One line naming what happened to personal data, for the import's summary.

        Examples
        --------
        >>> DossierImport(1, 1, 0, {}, personal_headers=(("Số CCCD", "id_number"),
        ...     ("SĐT", "phone")), hashed_ids=2).personal_summary()
        "personal data: hashed 'Số CCCD' (applicant_key); dropped 'SĐT' (phone); 2 dossier ids holding personal numbers hashed"
        """
        hashed = [f"{h!r} (applicant_key)" for h, k in self.personal_headers if k == "id_number"]
        dropped = [f"{h!r} ({k})" for h, k in self.personal_headers if k != "id_number"]
        parts = []
        if hashed:
            parts.append("hashed " + ", ".join(hashed))
        if dropped:
            parts.append("dropped " + ", ".join(dropped))
        if self.hashed_ids:
            parts.append(f"{self.hashed_ids} dossier ids holding personal numbers hashed")
        if self.text_dropped:
            shown = ", ".join(repr(h) for h in self.text_dropped)
            parts.append(f"free text dropped: {shown} (--keep-text keeps it, redacted)")
        if self.ignored_columns:
            parts.append(f"{self.ignored_columns} column(s) outside the schema dropped unread")
        return "personal data: " + ("; ".join(parts) if parts else "none found")

    used_columns: dict[str, str] = field(default_factory=dict)
    ignored_names: tuple[str, ...] = ()
    absent_columns: tuple[str, ...] = ()
    given: dict[str, str] = field(default_factory=dict)

    def manifest_entry(self) -> dict:
        """A JSON-ready record of this import for the manifest."""
        return {
            "kind": "dossiers",
            "file": self.source,
            "sha256": self.sha256,
            "rows_read": self.read,
            "rows_accepted": self.accepted,
            "rows_rejected": self.rejected,
            "blank_rows": self.blank_rows,
            "problems": dict(self.problems),
            "personal_columns_dropped": list(self.personal_columns),
            "ignored_columns": self.ignored_columns,
            "personal_columns": [{"column": h, "kind": k} for h, k in self.personal_headers],
            "free_text_dropped": list(self.text_dropped),
            "dossier_ids_hashed": self.hashed_ids,
            "duplicate_of": self.duplicate_of or None,
            "ignored_column_names": list(self.ignored_names),
            "used_columns": dict(self.used_columns),
            "absent_columns": list(self.absent_columns),
            "given": dict(self.given),
            "outputs": {k: str(v) for k, v in self.outputs.items()},
        }


@dataclass
class CountedReport(ProblemReport):
    """A report that lists a capped number of problems but counts all of them.

    Attributes
    ----------
    omitted : collections.Counter
        Problems not listed, by kind.
    """

    omitted: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.problems) + sum(self.omitted.values())

    def counts(self) -> Counter:
        return super().counts() + self.omitted

    def render(self, limit: int = SHOWN) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self) > limit:
            lines.append(f"… and {len(self) - limit} more problems")
        lines.append(
            "problems by kind: " + ", ".join(f"{k} {n}" for k, n in self.counts().most_common())
        )
        return "\n".join(lines)


# --- reading the file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How the file is written and which of its columns the schema uses."""

    encoding: str
    delimiter: str
    skip: int  # lines before the data: title lines, the header, and Excel's "sep=;" line
    headers: list[str]
    fields: dict[str, list[int]]  # field -> column positions (several only for `unit`)
    id_columns: list[int]  # personal ID number columns, hashed into applicant_key
    personal_kinds: tuple[str, ...]
    ignored: int
    personal_headers: tuple[tuple[str, str], ...] = ()
    ignored_names: tuple[str, ...] = ()  # headers outside the schema (the header row is real)
    header_row: int = 1  # the header's row as a spreadsheet numbers it (title lines above)
    sep: int = 0  # 1 when Excel's "sep=;" line opens the file (a spreadsheet does not show it)

    @property
    def absent(self) -> tuple[str, ...]:
        """Schema fields the file has no column for: stored as null and recorded as absent."""
        return tuple(f.name for f in FIELDS if f.name not in self.fields)

    name_columns: tuple[int, ...] = ()  # applicant names: read in memory to redact repeats


def _problem(name: str, kind: str, message: str, hint: str, row=None, column=None, value=""):
    return Problem(
        file=name,
        row=row,
        column=column,
        value=personal.redact_text(value),
        kind=kind,
        message=message,
        hint=hint,
    )


def _fail(report: ProblemReport, problem: Problem) -> IngestError:
    report.add(problem)
    return IngestError(report, file_level=True)


def _sniff_encoding(sample: bytes, name: str, report: ProblemReport) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf8"  # pyarrow drops the BOM; "utf8" exactly, or it transcodes in Python
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    kind, hint = None, ""
    if sample.startswith(b"PK\x03\x04") or sample.startswith(b"\xd0\xcf\x11\xe0"):
        kind, hint = "not_text", "this is an Excel workbook: save the sheet as CSV UTF-8 first"
    elif b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample[:4096]) > 8:
        kind, hint = "not_text", "give the CSV export of the dossier system, not a binary file"
    if kind:
        raise _fail(report, _problem(name, kind, "not a text (CSV) file", hint))
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf8"
    except UnicodeDecodeError:
        # Vietnamese Windows' legacy code page; anything else would show as wrong letters, and
        # those are caught as unknown provinces, levels or channels.
        return "cp1258"


def _sniff_delimiter(line: str) -> str:
    counts = dict.fromkeys([",", ";", "\t", "|"], 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else ","


# Title lines an export may carry above its header ("DANH SÁCH HỒ SƠ ...", the date range).
_TITLE_LINES = 10


def _header_line(text: str, delimiter: str | None) -> tuple[int, list[str]]:
    """(title lines above the header, the header's cells) of the decoded start of a file.

    The header is the first line naming at least three schema fields; a file with none keeps
    its first line (and fails on its missing columns), so that a header-less file's first data
    row is never taken for anything else.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines[: _TITLE_LINES + 1]):
        delim = delimiter or _sniff_delimiter(line.strip("\r"))
        try:
            cells = next(csv.reader(io.StringIO(line.strip("\r"), newline=""), delimiter=delim), [])
        except csv.Error:
            cells = []
        if sum(field_of(c.strip()) is not None for c in cells) >= 3:
            return i, [c.strip() for c in cells]
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or ","), [])
    except csv.Error:  # e.g. a quote left open across the whole first 64 KiB
        first = []
    return 0, [h.strip() for h in first]


def _layout(path: Path, name: str, report: ProblemReport, given=()) -> _Layout:
    with open(path, "rb") as fh:
        sample = fh.read(1 << 16)
    if not sample.strip():
        raise _fail(
            report,
            _problem(name, "empty_file", "the file is empty", "give the dossier export itself"),
        )
    encoding = _sniff_encoding(sample, name, report)
    text = sample.decode("utf-16" if encoding == "utf-16" else encoding, errors="replace")
    text = text.lstrip("\ufeff")
    sep = 0
    first_line = text.split("\n", 1)[0].strip("\r")
    if first_line.lower().startswith("sep=") and len(first_line) == 5:  # Excel's dialect line
        delimiter, sep = first_line[4], 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
    else:
        delimiter = None
    titles, headers = _header_line(text, delimiter)
    if delimiter is None:
        delimiter = _sniff_delimiter(text.split("\n")[titles].strip("\r") if titles else first_line)
        titles, headers = _header_line(text, delimiter)

    fields: dict[str, list[int]] = {}
    id_columns: list[int] = []
    name_columns: list[int] = []
    kinds: list[str] = []
    personal_headers: list[tuple[str, str]] = []
    ignored = 0
    ignored_names: list[str] = []
    for i, header in enumerate(headers):
        name_of = field_of(header)
        kind = None if name_of else personal.personal_kind(header)
        if name_of:
            fields.setdefault(name_of, []).append(i)
        elif kind:
            kinds.append(kind)
            personal_headers.append((header, kind))
            if kind == "id_number":
                id_columns.append(i)
            elif kind == "applicant_name":
                name_columns.append(i)
        else:
            ignored += 1
            ignored_names.append(header or f"column {i + 1}")

    problems = []
    for f, cols in fields.items():
        if len(cols) > 1 and f != "unit":  # several unit columns (huyện, xã) are joined
            shown = ", ".join(repr(headers[c]) for c in cols)
            problems.append(
                _problem(
                    name,
                    "duplicate_column",
                    f"the columns {shown} all mean {f} ({FIELD[f].label})",
                    "keep one of them, or rename the others",
                    row=titles + 1,
                    column=headers[cols[1]],
                )
            )
    # The province may come from --province, the level from --level or the agency's name.
    given = set(given or ())
    if "agency" in fields:
        given.add("level")
    missing = [f for f in FIELDS if f.required and f.name not in fields and f.name not in given]
    if not any(p in fields for p in PROCEDURE_FIELDS):
        missing.append(FIELD["procedure_code"])
    if missing:
        listed = ", ".join(f"{f.name} ({f.label})" for f in missing)
        hint = "name them in the header row; accepted spellings are listed in data/raw/README.md"
        if not fields:
            # A file whose first row is data: its "headers" may be personal values, so none
            # of them is repeated here.
            hint = (
                "no column of the header row is a dossier field: is the header row missing? " + hint
            )
        problems.append(
            _problem(
                name,
                "missing_columns",
                f"missing required column(s): {listed}"
                + (
                    " (the procedure needs mã thủ tục or tên thủ tục)"
                    if FIELD["procedure_code"] in missing
                    else ""
                ),
                hint,
                row=titles + 1,
            )
        )
    if problems:
        report.extend(problems)
        raise IngestError(report, file_level=True)
    return _Layout(
        encoding=encoding,
        delimiter=delimiter,
        skip=sep + titles + 1,
        header_row=titles + 1,
        sep=sep,
        headers=headers,
        fields=fields,
        id_columns=id_columns,
        personal_kinds=tuple(dict.fromkeys(kinds)),
        ignored=ignored,
        personal_headers=tuple(personal_headers),
        # Listed by name only when the header row is a real one (it names schema fields): in a
        # file whose first row is data these "headers" would be personal values.
        ignored_names=tuple(ignored_names) if fields else (),
        name_columns=tuple(name_columns),
    )


def _header(layout: _Layout, name: str) -> str:
    """The column of a field as written in the file."""
    cols = layout.fields.get(name)
    if not cols:
        return FIELD[name].name
    return " / ".join(layout.headers[c] for c in cols)


# --- cell values -------------------------------------------------------------------------------

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
_TIME_OF_DAY = r"T?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
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


class _Memo(dict):
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


class _Values:
    """Cell parsers for one import, each returning (value, bad) and memoised by cell text."""

    def __init__(self) -> None:
        self.date = _Memo(lambda s: (d := parse_date(s), s != "" and d is None))
        self.level = _Memo(self._category(_LEVEL))
        self.channel = _Memo(self._category(_CHANNEL))
        self.rating = _Memo(self._category(_RATING))
        self.boolean = _Memo(lambda s: (b := parse_bool(s), b is None))
        self.count = _Memo(lambda s: (v := parse_whole(s, grouped=False), v is None))
        self.fee = _Memo(lambda s: (v := parse_whole(s, grouped=True), v is None))
        # Free text kept in the output: NFC (a cp1258 export writes tone marks apart), redacted.
        self.text = _Memo(lambda s: (personal.redact_text(s) or None, False))
        self.shown = _Memo(personal.redact_text)
        self.province = _Memo(self._province)
        self.agency_level = _Memo(lambda s: (level_of_agency(s), False))
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
                raise _NotProvincesError from None
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


class _NotProvincesError(Exception):
    """The province column holds too many unknown names to be one."""


def _map(values: pa.Array, memo: _Memo, type_: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Parse each distinct cell once: (parsed values, bad flags) for every row."""
    encoded = pc.dictionary_encode(values)
    results = [memo[text] for text in encoded.dictionary.to_pylist()]
    indices = encoded.indices
    parsed = pa.array([r[0] for r in results], type=type_).take(indices)
    bad = np.array([r[1] for r in results], dtype=bool)[indices.to_numpy()]
    return parsed, bad


# --- checks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    """One validation, one bit of a row's problem mask.

    ``message`` and ``hint`` may name {received}, {n}, {first}, {province_message} and
    {province_hint}; ``reason`` is the message without them, for the rejected-rows file.
    """

    key: str
    kind: str
    field: str
    message: str
    hint: str
    reason: str = ""

    @property
    def short(self) -> str:
        return self.reason or self.message


_YES_NO_HINT = "write 1/0, có/không, true/false, or x for yes and leave it empty for no"
_LEVEL_HINT = "write tỉnh, huyện or xã (province, district, commune)"


def _make_checks() -> tuple[_Check, ...]:
    lo, hi = YEAR_RANGE
    checks = [
        _Check(
            "missing:dossier_id",
            "missing_value",
            "dossier_id",
            "empty",
            "every dossier needs its code (mã hồ sơ)",
        ),
        _Check(
            "missing:province",
            "missing_value",
            "province",
            "empty",
            "write the province of the handling agency",
        ),
        _Check(
            "unknown_province",
            "unknown_province",
            "province",
            "{province_message}",
            "{province_hint}",
            reason="unknown province",
        ),
        _Check(
            "option_mismatch:province",
            "option_mismatch",
            "province",
            "not the province given by --province",
            "drop --province, or import the other provinces' dossiers without it",
        ),
        _Check("missing:level", "missing_value", "level", "empty", _LEVEL_HINT),
        _Check("unknown_level", "unknown_level", "level", "not a level", _LEVEL_HINT),
        _Check(
            "district_after_reform",
            "unknown_level",
            "level",
            "district level after 1 July 2025, when districts were abolished",
            "dossiers from that day belong to the province or a commune",
        ),
        _Check(
            "missing:procedure",
            "missing_value",
            "procedure",
            "empty",
            "every dossier needs its procedure (mã thủ tục or tên thủ tục)",
        ),
    ]
    for f in DATE_FIELDS:
        if f != "finished_date":
            checks.append(_Check(f"missing:{f}", "missing_value", f, "empty", DATE_HINT))
        checks.append(
            _Check(f"bad_date:{f}", "bad_date", f, "not a date", f"{DATE_HINT}; years {lo}–{hi}")
        )
    for f in ("received_date", "finished_date"):
        checks.append(
            _Check(
                f"future:{f}",
                "future_date",
                f,
                "in the future (today is {today})",
                "check the year and the day/month order (dd/mm/yyyy)",
                reason="in the future",
            )
        )
    checks += [
        _Check(
            "due_before_received",
            "due_before_received",
            "due_date",
            "before the received date {received}",
            "the due date is the received date plus the procedure's time limit",
            reason="before the received date",
        ),
        _Check(
            "finished_before_received",
            "finished_before_received",
            "finished_date",
            "before the received date {received}",
            "check the day/month order; leave it empty if the dossier is not finished",
            reason="before the received date",
        ),
        _Check(
            "missing:channel",
            "missing_value",
            "channel",
            "empty",
            "write the channel: trực tiếp, trực tuyến or bưu chính (or 1, 2, 3)",
        ),
        _Check(
            "unknown_channel",
            "unknown_channel",
            "channel",
            "not a channel",
            "write trực tiếp, trực tuyến or bưu chính, or the codes 1, 2, 3",
        ),
        _Check(
            "bad_number:supplement_requests",
            "bad_number",
            "supplement_requests",
            "not a whole number",
            "write a whole number of requests: 0, 1, 2…",
        ),
        _Check(
            "negative:supplement_requests",
            "negative_number",
            "supplement_requests",
            "negative",
            "the number of supplement requests is 0 or more",
        ),
        _Check(
            "bad_number:fee_vnd",
            "bad_number",
            "fee_vnd",
            "not a whole number of đồng",
            "write the fee as 50000 or 50.000 (dots group thousands)",
        ),
        _Check(
            "negative:fee_vnd",
            "negative_fee",
            "fee_vnd",
            "negative",
            "the fee is 0 or more đồng; a refund is not a fee",
        ),
    ]
    checks += [
        _Check(
            f"implausible:{f}",
            "personal_number",
            f,
            f"{MAX_PLAUSIBLE_NUMBER:,} or more: a phone or ID number in the wrong column?",
            "check the column; personal numbers are never stored",
        )
        for f in ("supplement_requests", "fee_vnd")
    ]
    checks += [
        _Check(f"bad_boolean:{f}", "bad_boolean", f, "not yes or no", _YES_NO_HINT)
        for f in BOOLEAN_FIELDS
    ]
    checks += [
        _Check(
            "unknown_rating",
            "unknown_rating",
            "rating",
            "not a rating",
            "write hài lòng, bình thường or không hài lòng, or leave it empty",
        ),
        _Check(
            "inconsistent:fully_online",
            "inconsistent_flags",
            "fully_online",
            "fully online, but the channel is not online",
            "a fully online dossier is submitted online (channel 2)",
        ),
        _Check(
            "inconsistent:paid_online",
            "inconsistent_flags",
            "paid_online",
            "paid online, but the fee is 0",
            "check the fee, or the payment flag",
        ),
        _Check(
            "inconsistent:e_result",
            "inconsistent_flags",
            "e_result",
            "an electronic result for a procedure marked as issuing no result",
            "check the column 'procedure issues a result'",
        ),
        # Set in DuckDB once all rows are in: they compare rows with each other.
        _Check(
            "duplicate_id",
            "duplicate_id",
            "dossier_id",
            "the same dossier id is on {n} rows with different values (first at row {first})",
            "keep one row per dossier: the export may mix two versions of it",
            reason="the same dossier id on several rows with different values",
        ),
        _Check(
            "repeated_row",
            "repeated_row",
            "dossier_id",
            "repeats row {first} exactly",
            "delete the repeated row",
            reason="repeats an earlier row exactly",
        ),
        # Set in DuckDB against the dossiers already imported into the same folder from other
        # files: `score` reads them all, so a dossier in two files would count twice.
        _Check(
            "in_other_file",
            "duplicate_across_files",
            "dossier_id",
            "already imported from {other} (row {other_row} there)",
            "import each dossier once: the exports overlap, or one is the other saved again; "
            "delete the older dossiers/<file>.parquet to replace it",
            reason="already imported from another file",
        ),
    ]
    if len(checks) > 62:  # one bit each of a BIGINT
        raise ValueError("too many checks for the mask")
    return tuple(checks)


CHECKS = _make_checks()
BIT = {c.key: 1 << i for i, c in enumerate(CHECKS)}

# --- reading -----------------------------------------------------------------------------------

# The output: one row per accepted dossier. Column order is the file's.
OUTPUT_SCHEMA = pa.schema(
    [
        ("dossier_id", pa.string()),
        ("boundary", pa.string()),  # old63 / new34: the map of the received date
        ("province_code", pa.string()),
        ("province", pa.string()),  # the registry's official name
        ("unit", pa.string()),
        ("agency", pa.string()),
        ("level", pa.string()),
        ("procedure_code", pa.string()),
        ("procedure_name", pa.string()),
        ("received_date", pa.date32()),
        ("received_month", pa.date32()),  # first day of the month
        ("channel", pa.string()),
        ("fully_online", pa.bool_()),
        ("due_date", pa.date32()),
        ("finished_date", pa.date32()),  # null: in progress
        ("supplement_requests", pa.int64()),
        ("fee_vnd", pa.int64()),
        *((f, pa.bool_()) for f in BOOLEAN_FIELDS if f != "fully_online"),
        ("rating", pa.string()),
        ("applicant_key", pa.string()),
        ("source_row", pa.int64()),  # the row in the raw file, header = 1
    ]
)
OUTPUT_COLUMNS = tuple(OUTPUT_SCHEMA.names)
# Columns with few distinct values: dictionary-encoded in Parquet (ids and keys are unique).
DICTIONARY_COLUMNS = [
    "boundary",
    "province_code",
    "province",
    "unit",
    "agency",
    "level",
    "procedure_code",
    "procedure_name",
    "channel",
    "rating",
]
FLAGS_SCHEMA = pa.schema([("row", pa.int64()), ("mask", pa.int64())])


def _row_numbers(count: int, start: int, skipped: np.ndarray, first: int = 2) -> np.ndarray:
    """Spreadsheet row numbers of ``count`` rows read from the ``start``-th one (0-based).

    Rows pyarrow skipped (``skipped``: their spreadsheet numbers, sorted) have numbers too; the
    k-th row read is row ``k + first + j``, j the number of skipped rows before it (``first``:
    the first data row, 2 under a header on row 1).
    """
    k = np.arange(start, start + count, dtype=np.int64)
    if skipped.size == 0:
        return k + first
    # Rows read before the j-th skipped one: skipped[j] - first - j, non-decreasing in j.
    before = skipped - first - np.arange(skipped.size)
    return k + first + np.searchsorted(before, k, side="right")


def _chunks(reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    """pyarrow's small blocks, gathered into chunks of about ``CHUNK_ROWS`` rows.

    pyarrow reads ahead a few dozen blocks, so blocks are kept small (``BLOCK_BYTES``) to bound
    memory; typing works per chunk, so that its fixed cost per call is paid rarely.
    """
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
            pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def _batches(
    path: Path,
    name: str,
    layout: _Layout,
    report: ProblemReport,
    bad_shape: list[tuple[int, int]],
    shown: np.ndarray | None = None,
) -> Iterator[tuple[dict[str, pa.Array], pa.Array | None, np.ndarray]]:
    """Stream the file: per block, the trimmed text of each field, the ID numbers, row numbers.

    Rows with the wrong number of fields are appended to ``bad_shape`` as (row, fields); their
    text, which holds personal data, is not kept. The applicant's name, where the row repeats
    it, is redacted in free text. ``shown`` (sorted row numbers) keeps only those rows, text for
    messages, and redacts the name in every field of them.
    """
    names = [f"c{i}" for i in range(len(layout.headers))]
    wanted = sorted(
        {c for cols in layout.fields.values() for c in cols}
        | set(layout.id_columns)
        | set(layout.name_columns)
    )
    offset = layout.sep  # pyarrow counts Excel's "sep=" line; a spreadsheet does not

    def on_invalid(row) -> str:
        if row.number is not None:  # always known with one thread
            bad_shape.append((row.number - offset, row.actual_columns))
        return "skip"

    done = 0
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=layout.skip,
                block_size=BLOCK_BYTES,
                encoding=layout.encoding,
                # One thread: pyarrow then numbers the rows it skips, and it is no slower here.
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                # A blank line is a row of a spreadsheet: kept, so numbering stays right, and
                # dropped later as a blank row.
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[names[i] for i in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in _chunks(reader):
            skipped = np.array(sorted(r for r, _ in bad_shape), dtype=np.int64)
            rows = _row_numbers(batch.num_rows, done, skipped, layout.header_row + 1)
            done += batch.num_rows
            if shown is not None:  # only the rows to show, before any work on them
                at = np.searchsorted(shown, rows).clip(max=max(len(shown) - 1, 0))
                keep = (shown[at] == rows) if len(shown) else np.zeros(len(rows), dtype=bool)
                if not keep.any():
                    continue
                batch, rows = batch.filter(pa.array(keep)), rows[keep]
            fields: dict[str, pa.Array] = {}
            for f, cols in layout.fields.items():
                parts = [pc.utf8_trim_whitespace(batch.column(names[c])) for c in cols]
                if len(parts) > 1:  # several unit columns (huyện, xã): joined
                    parts = [pc.if_else(pc.equal(p, ""), None, p) for p in parts]
                    joined = pc.binary_join_element_wise(*parts, " / ", null_handling="skip")
                    parts = [pc.fill_null(joined, "")]
                fields[f] = parts[0]
            ids = None
            for c in layout.id_columns:
                text = pc.replace_substring_regex(batch.column(names[c]), "[^0-9A-Za-z]", "")
                text = pc.if_else(pc.equal(text, ""), None, pc.ascii_upper(text))
                ids = text if ids is None else pc.coalesce(ids, text)
            if layout.name_columns:
                applicant = None
                for c in layout.name_columns:
                    text = pc.utf8_trim_whitespace(batch.column(names[c]))
                    text = pc.if_else(pc.equal(text, ""), None, text)
                    applicant = text if applicant is None else pc.coalesce(applicant, text)
                fields = _without_names(fields, applicant, everywhere=shown is not None)
            yield fields, ids, rows
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        # pyarrow's message may quote the row: only a row number is taken from it.
        found = re.search(r"Row #(\d+)", str(exc))
        row = int(found.group(1)) - offset if found else None
        text = isinstance(exc, UnicodeDecodeError) or "UTF8" in str(exc)
        raise _fail(
            report,
            _problem(
                name,
                "bad_encoding" if text else "malformed_csv",
                "the file is not valid text in one encoding"
                if text
                else "the file cannot be read as CSV",
                "save the export as CSV UTF-8" if text else "check that the file is complete",
                row=row,
            ),
        ) from None


# A text seen on more rows of a block than this is a catalogue value (an agency, a procedure),
# not one a clerk typed for one applicant: it is not searched for the row's name.
RARE_TEXT = 5
MIN_NAME_LENGTH = 5  # shorter "names" ("An", "x") would redact ordinary words


def _without_names(
    fields: dict[str, pa.Array], names: pa.Array, everywhere: bool
) -> dict[str, pa.Array]:
    """Each row's applicant name, wherever the row repeats it, replaced by ``<redacted>``.

    The name column itself is never kept, but a clerk may type the name into a kept column
    ("Khai sinh cho Trần Thị Bích") or shift it into another one. In free text the name is
    redacted inside the cell; with ``everywhere`` (values shown in messages) also a whole cell
    equal to it in any other field but the id. Checked fields are typed as written: a province
    "Hà Nam" stays a province even for an applicant of that name, and a name shifted there is
    rejected as an unknown province, shown redacted. The names stay in memory. A bare name in
    free text cannot be recognised otherwise (streets and wards are named after people); the
    applicant's own name, beside it on the row, can.
    """
    has = pc.fill_null(pc.greater_equal(pc.utf8_length(names), MIN_NAME_LENGTH), False)
    if not pc.any(has).as_py():
        return fields
    lowered = pc.utf8_lower(pc.utf8_normalize(names, "NFC")) if everywhere else None
    out = {}
    for f, values in fields.items():
        if f in FREE_TEXT_FIELDS:
            # A cell holding the name is rare by nature: the search of rare cells finds it.
            values = _names_inside(values, names, has)
        elif everywhere and f != "dossier_id":
            same = pc.equal(pc.utf8_lower(pc.utf8_normalize(values, "NFC")), lowered)
            same = pc.fill_null(pc.and_(has, same), False)
            if pc.any(same).as_py():
                values = pc.if_else(same, pa.scalar(personal.REDACTED), values)
        out[f] = values
    return out


def _names_inside(values: pa.Array, names: pa.Array, has: pa.Array) -> pa.Array:
    """``values`` with each rare cell's own row name redacted (see :func:`_without_names`)."""
    encoded = pc.dictionary_encode(values)
    index = encoded.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(index, minlength=len(encoded.dictionary))
    rows = np.flatnonzero((counts[index] <= RARE_TEXT) & has.to_numpy(zero_copy_only=False))
    if not len(rows):
        return values
    at = pa.array(rows)
    changed, mask = [], np.zeros(len(values), dtype=bool)
    for i, text, name in zip(
        rows, pc.take(values, at).to_pylist(), pc.take(names, at).to_pylist(), strict=True
    ):
        text, name = unicodedata.normalize("NFC", text), unicodedata.normalize("NFC", name)
        if name.casefold() in text.casefold():
            pattern = re.compile(re.escape(name), re.IGNORECASE)
            changed.append(pattern.sub(personal.REDACTED, text))
            mask[i] = True
    if not changed:
        return values
    return pc.replace_with_mask(values, pa.array(mask), pa.array(changed, pa.string()))


def _blank(fields: dict[str, pa.Array], ids: pa.Array | None, n: int) -> np.ndarray:
    blank = np.ones(n, dtype=bool)
    for values in fields.values():
        blank &= pc.equal(values, "").to_numpy(zero_copy_only=False)
    if ids is not None:
        blank &= pc.is_null(ids).to_numpy(zero_copy_only=False)
    return blank


@dataclass
class _Context:
    """What typing a block needs besides the block."""

    values: _Values
    today: np.datetime64
    merger: np.datetime64
    ipad: bytes  # HMAC's inner padded key
    opad: bytes  # HMAC's outer padded key
    salt: bytes = b""
    keep_text: bool = False
    hashed_ids: int = 0  # dossier ids replaced by their keyed hash so far
    province: str | None = None  # --province: for a file without the column, or blank cells
    columns: frozenset[str] = frozenset()  # the fields the file has columns for
    level: str | None = None  # --level: for a file without a level column


def _keys(ids: pa.Array | None, n: int, ctx: _Context) -> pa.Array:
    """applicant_key of each row: HMAC-SHA256 of its normalised ID number (None without one).

    The same value as :func:`personal.applicant_key`. HMAC is computed from the precomputed
    padded keys (two SHA-256 calls a row, the least Python can do), and the digests are turned
    into letters a-p with NumPy at once: for 10 million rows this is the import's largest cost.
    """
    if ids is None:
        return pa.nulls(n, pa.string())
    sha, ipad, opad = hashlib.sha256, ctx.ipad, ctx.opad
    values = ids.cast(pa.binary()).to_pylist()
    blank = bytes(32)
    digests = b"".join(
        blank if v is None else sha(opad + sha(ipad + v).digest()).digest() for v in values
    )
    half = personal.KEY_HEX_DIGITS // 2
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)[:, :half]
    # Each byte as two hex digits, 0-f written a-p: high nibble first, as hexdigest() does.
    letters = np.empty((n, 2 * half), dtype=np.uint8)
    letters[:, 0::2] = (raw >> 4) + ord("a")
    letters[:, 1::2] = (raw & 0x0F) + ord("a")
    keys = pa.array(letters.view(f"S{2 * half}").ravel(), pa.binary(2 * half))
    keys = keys.cast(pa.string())
    return pc.if_else(pc.is_null(ids), pa.scalar(None, pa.string()), keys)


def _dossier_ids(ids: pa.Array, ctx: _Context) -> pa.Array:
    """The dossier ids as stored: one that is, or holds, personal data becomes its keyed hash."""
    personal_ = pc.fill_null(pc.match_substring_regex(ids, personal.PERSONAL_ID_PATTERN), False)
    count = pc.sum(personal_).as_py() or 0
    if not count:
        return ids
    ctx.hashed_ids += count
    hashed = [personal.dossier_key(v, ctx.salt) for v in pc.filter(ids, personal_).to_pylist()]
    # Scatter the hashes back: positions of the personal ids, in order.
    at = np.flatnonzero(personal_.to_numpy(zero_copy_only=False))
    values = ids.to_pylist()
    for i, key in zip(at, hashed, strict=True):
        values[i] = key
    return pa.array(values, pa.string())


def _type_block(
    fields: dict[str, pa.Array], ids: pa.Array | None, rows: np.ndarray, ctx: _Context
) -> tuple[pa.Table, pa.Table]:
    """One block (blank rows removed) typed as the output, and the rows failing a check.

    Returns
    -------
    typed : pyarrow.Table
        Every row, in ``OUTPUT_SCHEMA``; values that cannot be read are null.
    flagged : pyarrow.Table
        ``row`` and ``mask`` (bit ``BIT[key]`` set for each failed check) of the failing rows.
    """
    n = len(rows)
    v = ctx.values
    none = np.zeros(n, dtype=bool)
    flags: dict[str, np.ndarray] = {}
    out: dict[str, pa.Array] = {}

    def empty(f: str) -> np.ndarray:
        if f not in fields:
            return np.ones(n, dtype=bool)
        return pc.equal(fields[f], "").to_numpy(zero_copy_only=False)

    def parsed(f: str, memo: _Memo, type_: pa.DataType) -> pa.Array:
        if f not in fields:
            flags[f] = none
            return pa.nulls(n, type_)
        values, bad = _map(fields[f], memo, type_)
        flags[f] = bad
        return values

    def np_bool(values: pa.Array) -> np.ndarray:
        return pc.fill_null(values, False).to_numpy(zero_copy_only=False)

    out["dossier_id"] = _dossier_ids(fields["dossier_id"], ctx)
    flags["missing:dossier_id"] = empty("dossier_id")

    days = {}
    for f in DATE_FIELDS:
        if f in fields:
            # A time of day makes nearly every cell distinct; without it a column holds a few
            # hundred dates, each parsed once.
            stripped = pc.replace_substring_regex(fields[f], _TIME_OF_DAY, " ")
            out[f], _ = _map(pc.utf8_trim_whitespace(stripped), v.date, pa.date32())
            unread = pc.is_null(out[f]).to_numpy(zero_copy_only=False)
            flags[f"bad_date:{f}"] = unread & ~empty(f)  # "12:30" alone is not a date either
        else:
            out[f] = pa.nulls(n, pa.date32())
            flags[f"bad_date:{f}"] = none
        days[f] = out[f].to_numpy(zero_copy_only=False).astype("datetime64[D]")
    received = days["received_date"]
    for f in ("received_date", "due_date"):
        flags[f"missing:{f}"] = empty(f)
    flags["future:received_date"] = received > ctx.today
    flags["future:finished_date"] = days["finished_date"] > ctx.today
    flags["due_before_received"] = days["due_date"] < received
    flags["finished_before_received"] = days["finished_date"] < received

    if ctx.province is not None:
        given = pa.scalar(ctx.province, pa.string())
        if "province" in fields:
            fields = {
                **fields,
                "province": pc.if_else(pc.equal(fields["province"], ""), given, fields["province"]),
            }
        else:
            fields = {**fields, "province": pa.repeat(given, n)}
    # Province, resolved per distinct (name, map of the received date).
    side = np.where(np.isnat(received), 0, np.where(received < ctx.merger, 1, 2))
    encoded = pc.dictionary_encode(fields["province"])
    names = encoded.dictionary.to_pylist()
    combos, inverse = np.unique(
        encoded.indices.to_numpy().astype(np.int64) * 3 + side, return_inverse=True
    )
    sides = (None, "old63", "new34")
    found = [v.province[(names[c // 3], sides[c % 3])] for c in combos]
    ok = [p if isinstance(p, registry.Province) else None for p in found]
    for column, attr in (("boundary", "boundary"), ("province_code", "code"), ("province", "name")):
        out[column] = pa.array([getattr(p, attr) if p else None for p in ok], pa.string()).take(
            pa.array(inverse)
        )
    missing_province = empty("province")
    flags["missing:province"] = missing_province
    flags["unknown_province"] = np.array([p is None for p in ok], dtype=bool)[inverse] & (
        ~missing_province
    )
    other = np.zeros(len(combos), dtype=bool)
    if ctx.province is not None and "province" in ctx.columns:
        for i, (c, p) in enumerate(zip(combos, ok, strict=True)):
            wanted = v.province[(ctx.province, sides[c % 3])]
            other[i] = p is not None and isinstance(wanted, registry.Province) and p != wanted
    flags["option_mismatch:province"] = other[inverse]

    if "level" in fields:
        out["level"] = parsed("level", v.level, pa.string())
        flags["unknown_level"] = flags.pop("level")
        flags["missing:level"] = empty("level")
    elif ctx.level is not None:
        out["level"] = pa.repeat(pa.scalar(ctx.level, pa.string()), n)
        flags["unknown_level"] = flags["missing:level"] = none
    else:  # no level column: the agency's name says it ("UBND xã Phú Lâm", "Sở Tư pháp")
        out["level"], _ = _map(fields["agency"], v.agency_level, pa.string())
        flags["unknown_level"] = none
        flags["missing:level"] = pc.is_null(out["level"]).to_numpy(zero_copy_only=False)
    is_district = pc.equal(out["level"], "district")
    flags["district_after_reform"] = np_bool(is_district) & (received >= ctx.merger)

    for f in FREE_TEXT_FIELDS:
        out[f] = parsed(f, v.text, pa.string())
        flags.pop(f)
        if f in DROPPED_TEXT_FIELDS and not ctx.keep_text:
            out[f] = pa.nulls(n, pa.string())
    flags["missing:procedure"] = empty("procedure_code") & empty("procedure_name")

    out["channel"] = parsed("channel", v.channel, pa.string())
    flags["unknown_channel"] = flags.pop("channel")
    flags["missing:channel"] = empty("channel")

    for f in BOOLEAN_FIELDS:
        out[f] = parsed(f, v.boolean, pa.bool_())
        flags[f"bad_boolean:{f}"] = flags.pop(f)

    for f, memo, kind in (
        ("supplement_requests", v.count, "negative:supplement_requests"),
        ("fee_vnd", v.fee, "negative:fee_vnd"),
    ):
        out[f] = parsed(f, memo, pa.int64())
        flags[f"bad_number:{f}"] = flags.pop(f)
        values = pc.fill_null(out[f], 0).to_numpy(zero_copy_only=False)
        flags[kind] = values < 0
        # Stored as a number it would still be the phone or ID number: the row is turned away.
        flags[f"implausible:{f}"] = values >= MAX_PLAUSIBLE_NUMBER

    out["rating"] = parsed("rating", v.rating, pa.string())
    flags["unknown_rating"] = flags.pop("rating")

    # Only against a known channel: an unknown one is reported as such, not twice.
    not_online = np_bool(pc.not_equal(out["channel"], "online"))
    flags["inconsistent:fully_online"] = np_bool(out["fully_online"]) & not_online
    fee_zero = np_bool(pc.equal(out["fee_vnd"], 0))
    flags["inconsistent:paid_online"] = np_bool(out["paid_online"]) & fee_zero
    no_result = np_bool(pc.invert(out["issues_result"]))
    flags["inconsistent:e_result"] = np_bool(out["e_result"]) & no_result

    mask = np.zeros(n, dtype=np.int64)
    for key, bad in flags.items():
        mask |= bad.astype(np.int64) * BIT[key]
    month = received.astype("datetime64[M]").astype("datetime64[D]")
    out["received_month"] = pa.array(month, pa.date32(), from_pandas=True)  # NaT -> null
    out["source_row"] = pa.array(rows)
    out["applicant_key"] = _keys(ids, n, ctx)
    failed = mask != 0
    table = pa.table({name: out[name] for name in OUTPUT_COLUMNS}, schema=OUTPUT_SCHEMA)
    flagged = pa.table({"row": rows[failed], "mask": mask[failed]}, schema=FLAGS_SCHEMA)
    return table, flagged


# --- DuckDB: rows against each other, counts, outputs ---------------------------------------------


def _connect(
    work: Path, typed: Path, flags: Path, others: list[Path] = ()
) -> duckdb.DuckDBPyConnection:
    """DuckDB over the typed rows; table `bad` holds the failing rows.

    Its columns: row, m (the mask), dup_n and dup_first (an id repeated in this file),
    x_file and x_row (the first file and row among ``others`` holding the same dossier id).
    """
    con = duckdb.connect(
        str(work / "dossiers.duckdb"),
        config={
            "memory_limit": DUCKDB_MEMORY,
            "temp_directory": str(work / "spill"),
            "preserve_insertion_order": True,
        },
    )
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE VIEW typed AS SELECT * FROM read_parquet('{typed}')")
    con.execute(f"CREATE VIEW flags AS SELECT * FROM read_parquet('{flags}')")
    compared = ", ".join(c for c in OUTPUT_COLUMNS if c not in ("source_row", "dossier_id"))
    # Two rows of one dossier id: identical (a repeat, the first is kept) or conflicting (both
    # rejected: which one is right cannot be known). min/max of a row hash tells them apart
    # without keeping the rows.
    # First the ids' 64-bit hashes seen twice (8 bytes a group, not the id: 10 million groups
    # fit in DuckDB's memory), then the exact ids among those few rows.
    con.execute(
        "CREATE TABLE twice AS SELECT hash(dossier_id) AS h FROM typed WHERE dossier_id <> '' "
        "GROUP BY h HAVING count(*) > 1"
    )
    con.execute(
        "CREATE TABLE dup AS SELECT dossier_id, count(*) AS n, min(source_row) AS first_row, "
        f"min(fp) <> max(fp) AS conflicting FROM (SELECT dossier_id, source_row, hash({compared})"
        " AS fp FROM typed WHERE dossier_id <> '' AND hash(dossier_id) IN (SELECT h FROM twice)) "
        "GROUP BY dossier_id HAVING count(*) > 1"
    )
    con.execute(
        f"CREATE TABLE dupflag AS SELECT t.source_row AS row, CASE WHEN d.conflicting "
        f"THEN {BIT['duplicate_id']} WHEN t.source_row <> d.first_row THEN {BIT['repeated_row']} "
        "ELSE 0 END AS bits, d.n AS dup_n, d.first_row AS dup_first "
        "FROM typed t JOIN dup d USING (dossier_id)"
    )
    con.execute("CREATE TABLE xflag (row BIGINT, bits BIGINT, x_file VARCHAR, x_row BIGINT)")
    if others:
        files = "[" + ", ".join(_sql_text(str(p)) for p in others) + "]"
        con.execute(
            f"CREATE VIEW elsewhere AS SELECT dossier_id, source_row, filename, hash({compared}) "
            f"AS fp FROM read_parquet({files}, filename = true, union_by_name = true)"
        )
        con.execute(
            f"INSERT INTO xflag SELECT t.source_row, {BIT['in_other_file']}, min(e.filename), "
            "min(e.source_row) FROM typed t JOIN elsewhere e USING (dossier_id) "
            "WHERE t.dossier_id <> '' GROUP BY t.source_row"
        )
    con.execute(
        "CREATE TABLE bad AS SELECT * FROM (SELECT row, coalesce(f.mask, 0) | coalesce(d.bits, 0)"
        " | coalesce(x.bits, 0) AS m, d.dup_n, d.dup_first, x.x_file, x.x_row FROM flags f "
        "FULL JOIN dupflag d USING (row) FULL JOIN xflag x USING (row)) WHERE m <> 0"
    )
    return con


def _other_imports(out: Path, target: Path) -> list[Path]:
    """The dossier files already in ``out`` but ``target``, each checked to be one.

    ``score`` reads every Parquet file of the folder: a file of another kind there is refused
    here, with its name, rather than as a database error later.
    """
    others = sorted(p for p in out.glob("*.parquet") if p.name != target.name)
    for other in others:
        try:
            names = set(pq.read_schema(other).names)
        except (pa.ArrowException, OSError):
            names = set()
        if not {"dossier_id", "source_row", *OUTPUT_COLUMNS} <= names:
            raise WorkbenchError(
                f"{other} is not dossier records written by workbench ingest",
                hint=f"move it out of {out}: every Parquet file there is read as dossiers",
            )
    return others


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _same_as_other(con: duckdb.DuckDBPyConnection, read: int) -> str | None:
    """The file already imported with exactly these dossiers (an export saved again), or None.

    Every row's id is in one other file with the same values (the row numbers aside), and no
    row has any other problem: re-saving with other line endings or another encoding changes the
    bytes, not the dossiers.
    """
    if read == 0 or not con.execute("SELECT count(*) FROM xflag").fetchone()[0]:
        return None
    other_bits = ~BIT["in_other_file"]
    (mixed,) = con.execute(f"SELECT count(*) FROM bad WHERE m & {other_bits} <> 0").fetchone()
    if mixed:
        return None
    compared = ", ".join(c for c in OUTPUT_COLUMNS if c not in ("source_row", "dossier_id"))
    found = con.execute(
        "SELECT e.filename, count(*) FROM (SELECT dossier_id, hash("
        f"{compared}) AS fp FROM typed) t JOIN elsewhere e ON e.dossier_id = t.dossier_id AND "
        "e.fp = t.fp GROUP BY e.filename ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    if found is None or found[1] != read:
        return None
    (size,) = con.execute(f"SELECT count(*) FROM read_parquet({_sql_text(found[0])})").fetchone()
    return found[0] if size == read else None


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
    """Problems by check, and rows rejected (without the badly shaped ones)."""
    per_check = ", ".join(f"count(*) FILTER (WHERE m & {BIT[c.key]} <> 0)" for c in CHECKS)
    *counts, rejected = con.execute(f"SELECT {per_check}, count(*) FROM bad").fetchall()[0]
    return {c.key: n for c, n in zip(CHECKS, counts, strict=True) if n}, rejected


def _raw_rows(
    path: Path, name: str, layout: _Layout, report: ProblemReport, wanted: np.ndarray
) -> Iterator[tuple[np.ndarray, dict[str, list[str]]]]:
    """Second pass: the redacted text of the rows numbered in ``wanted`` (sorted), per block."""
    values = _Values()
    for fields, _ids, rows in _batches(path, name, layout, report, [], shown=wanted):
        yield rows, {f: [values.shown[s] for s in arr.to_pylist()] for f, arr in fields.items()}


def _examples(
    con: duckdb.DuckDBPyConnection, counts: dict[str, int]
) -> dict[int, list[tuple[_Check, dict]]]:
    """The first ``EXAMPLES_PER_CHECK`` rows of each failing check, with their details."""
    found: dict[int, list[tuple[_Check, dict]]] = {}
    for check in CHECKS:
        if check.key not in counts:
            continue
        for row, received, n, first, other, other_row in con.execute(
            "SELECT b.row, strftime(t.received_date, '%d/%m/%Y'), b.dup_n, b.dup_first, "
            "b.x_file, b.x_row FROM "
            f"(SELECT * FROM bad WHERE m & {BIT[check.key]} <> 0 ORDER BY row "
            f"LIMIT {EXAMPLES_PER_CHECK}) b JOIN typed t ON t.source_row = b.row ORDER BY b.row"
        ).fetchall():
            info = {"received": received, "n": n, "first": first, "other_row": other_row}
            info["other"] = Path(other).name if other else ""
            found.setdefault(int(row), []).append((check, info))
    return found


def _field_value(layout: _Layout, field_name: str, text: dict[str, str]) -> str:
    if field_name == "procedure":
        return text.get("procedure_code") or text.get("procedure_name", "")
    return text.get(field_name, "")


def _column(layout: _Layout, field_name: str) -> str:
    if field_name == "procedure":
        present = [f for f in PROCEDURE_FIELDS if f in layout.fields]
        return " / ".join(_header(layout, f) for f in present)
    return _header(layout, field_name)


def _problems(
    layout: _Layout,
    name: str,
    examples: dict[int, list[tuple[_Check, dict]]],
    raw: dict[int, dict[str, str]],
    today: dt.date,
) -> list[Problem]:
    values = _Values()
    problems = []
    for row in sorted(examples):
        text = raw.get(row, {})
        for check, info in examples[row]:
            info = dict(info, today=f"{today:%d/%m/%Y}")
            if check.key == "unknown_province":
                # The registry's message quotes the name: redacted like every value shown.
                error = values.province[(text.get("province", ""), _side(info["received"]))]
                info["province_message"] = personal.redact_text(getattr(error, "message", ""))
                info["province_hint"] = getattr(error, "hint", "")
            problems.append(
                _problem(
                    name,
                    check.kind,
                    check.message.format(**info),
                    check.hint.format(**info),
                    row=row,
                    column=_column(layout, check.field),
                    value=_field_value(layout, check.field, text),
                )
            )
    return problems


def _side(received: str | None) -> str | None:
    if received is None:
        return None
    day = dt.datetime.strptime(received, "%d/%m/%Y").date()
    return "old63" if day < dt.date.fromisoformat(config.MERGER_DATE) else "new34"


def _writer(path: Path, metadata: dict[str, str]) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path,
        OUTPUT_SCHEMA.with_metadata(metadata),
        compression="zstd",
        use_dictionary=DICTIONARY_COLUMNS,
    )


def _write_parquet(
    con: duckdb.DuckDBPyConnection,
    typed: Path,
    target: Path,
    metadata: dict[str, str],
    nulls: list[str] | None = None,
) -> None:
    """The accepted rows to ``target``, atomically.

    Without a rejected row (and no column to empty) the typed file is the output and is moved
    into place; otherwise the typed file is copied a row group at a time without the rejected
    rows, the columns in ``nulls`` set to null.
    """
    rejected = con.execute("SELECT row FROM bad ORDER BY row").fetchnumpy()["row"]
    rejected = np.asarray(rejected, dtype=np.int64)
    with atomic_path(target) as tmp:
        if not len(rejected) and not nulls:
            shutil.move(typed, tmp)
            return
        source = pq.ParquetFile(typed)
        with _writer(tmp, metadata) as writer:
            for i in range(source.num_row_groups):
                group = source.read_row_group(i)
                rows = group.column("source_row").to_numpy()
                keep = ~np.isin(rows, rejected, assume_unique=True)
                group = group.filter(pa.array(keep))
                for f in nulls or ():
                    at = group.schema.get_field_index(f)
                    group = group.set_column(at, f, pa.nulls(group.num_rows, pa.bool_()))
                writer.write_table(group)
            if not source.num_row_groups:
                writer.write_table(OUTPUT_SCHEMA.empty_table())


def _reasons(layout: _Layout):
    """Mask -> (problem kinds, reason text) for the rejected-rows file, memoised per mask."""

    def explain(mask: int) -> tuple[str, str]:
        failed = [c for c in CHECKS if mask & BIT[c.key]]
        kinds = ",".join(dict.fromkeys(c.kind for c in failed))
        reason = "; ".join(f"{_column(layout, c.field)}: {c.short}" for c in failed)
        return kinds, reason

    return _Memo(explain)


def _write_rejected(
    target: Path,
    layout: _Layout,
    rows: np.ndarray,
    masks: np.ndarray,
    raw: Iterator[tuple[np.ndarray, dict[str, list[str]]]],
    bad_shape: list[tuple[int, int]],
    capture: dict[int, dict[str, str]],
) -> None:
    """``rejected_<stem>.csv``: row, problems, reason, then the schema's columns as written.

    ``raw`` streams the rows' text; rows in ``capture`` (the examples) are also kept there.
    """
    shown = [f.name for f in FIELDS if f.name in layout.fields]
    headers = ["row", "problems", "reason", *(_header(layout, f) for f in shown)]
    schema = pa.schema([(h, pa.string()) if h != "row" else (h, pa.int64()) for h in headers])
    explain = _reasons(layout)
    shapes = sorted(bad_shape)
    width = len(layout.headers)

    def shape_rows(upto: float) -> list[dict]:
        out = []
        while shapes and shapes[0][0] <= upto:
            row, fields = shapes.pop(0)
            reason = f"the row has {fields} field(s), the header has {width}"
            out.append({"row": row, "problems": "bad_row_shape", "reason": reason})
        return out

    with atomic_path(target) as tmp, open(tmp, "wb") as sink:
        sink.write(codecs.BOM_UTF8)  # so that Excel opens the Vietnamese text as UTF-8
        with pacsv.CSVWriter(sink, schema) as writer:
            for block_rows, text in raw:
                for i, row in enumerate(block_rows):
                    if int(row) in capture:
                        capture[int(row)] = {f: text[f][i] for f in text}
                at = np.searchsorted(rows, block_rows)
                kinds, reasons = zip(*(explain[int(m)] for m in masks[at]), strict=True)
                block = {
                    "row": block_rows,
                    "problems": list(kinds),
                    "reason": list(reasons),
                    **{_header(layout, f): text[f] for f in shown},
                }
                extra = shape_rows(block_rows[-1])
                table = pa.table(block, schema=schema)
                if extra:
                    table = pa.concat_tables(
                        [table, pa.Table.from_pylist(extra, schema=schema)]
                    ).sort_by("row")
                writer.write_table(table)
            rest = shape_rows(float("inf"))
            if rest:
                writer.write_table(pa.Table.from_pylist(rest, schema=schema))


def _first_pass(
    src: Path,
    name: str,
    layout: _Layout,
    report: ProblemReport,
    ctx: _Context,
    typed: Path,
    flags: Path,
    metadata: dict[str, str],
    bad_shape: list[tuple[int, int]],
    counted: dict[str, int],
) -> None:
    """Read, type and check every row: all rows to ``typed``, failing ones' masks to ``flags``.

    ``counted`` receives the rows read (``read``) and the blank rows skipped (``blank``).
    """
    with _writer(typed, metadata) as writer, pq.ParquetWriter(flags, FLAGS_SCHEMA) as flagged:
        pending: list[pa.Table] = []
        size = 0
        for fields, ids, rows in _batches(src, name, layout, report, bad_shape):
            empty = _blank(fields, ids, len(rows))
            if empty.any():
                counted["blank"] += int(empty.sum())
                keep = pa.array(~empty)
                fields = {f: pc.filter(a, keep) for f, a in fields.items()}
                ids = pc.filter(ids, keep) if ids is not None else None
                rows = rows[~empty]
            if len(rows):
                for f in BOOLEAN_FIELDS:
                    if f in fields:
                        filled = pc.sum(pc.not_equal(fields[f], "")).as_py() or 0
                        counted[f"filled:{f}"] = counted.get(f"filled:{f}", 0) + filled
                table, failing = _type_block(fields, ids, rows, ctx)
                pending.append(table)
                size += len(rows)
                counted["read"] += len(rows)
                if failing.num_rows:
                    flagged.write_table(failing)
            if size >= ROW_GROUP_ROWS:  # few large row groups: much faster to write
                writer.write_table(pa.concat_tables(pending))
                pending, size = [], 0
        writer.write_table(pa.concat_tables(pending) if pending else OUTPUT_SCHEMA.empty_table())
        flagged.write_table(FLAGS_SCHEMA.empty_table())  # a file DuckDB can read, even empty


# --- entry point -------------------------------------------------------------------------------


def ingest_dossiers(
    path: Path | str,
    out_dir: Path | str,
    quarantine: bool,
    report: ProblemReport,
    *,
    today: dt.date | None = None,
    salt_file: Path | str | None = None,
    keep_text: bool = False,
    province: str | None = None,
    level: str | None = None,
) -> DossierImport:
    """Import a dossier export (CSV) into ``<out_dir>/dossiers/<stem>.parquet``.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8 with or without BOM, UTF-16, or Windows-1258; comma, semicolon, tab
        or pipe separated), one row per dossier, headers as listed in ``data/raw/README.md``.
    out_dir : path-like
        The processed data folder (``data/processed/<name>``); the function writes into its
        ``dossiers/`` subfolder.
    quarantine : bool
        False (strict): any problem, and nothing is written. True: the valid rows are written
        and the rejected ones go to ``dossiers/rejected_<stem>.csv`` with their row and reason.
    report : ProblemReport
        Problems found are added to it (at most ``EXAMPLES_PER_CHECK`` per check; the exact
        counts are in the result and in the raised error).
    today : datetime.date, optional
        For the "in the future" check; default the machine's date.
    salt_file : path-like, optional
        The secret of ``applicant_key``; default :func:`analysis.ingest.personal.load_salt`
        (``$WORKBENCH_SECRET``, else ``~/.config/workbench/secret``), never in the data tree.
    keep_text : bool, default False
        Keep the free-text procedure names (redacted); by default they are dropped.
    province : str, optional
        The province of every dossier, for an export without a province column (and for its
        blank cells).
    level : {"province", "district", "commune"}, optional
        The level of every dossier, for an export without a level column; without either, the
        agency's name gives it ("UBND xã Phú Lâm" → commune, "Sở Tư pháp" → province).

    Returns
    -------
    DossierImport

    Raises
    ------
    IngestError
        A problem with the whole file (empty, binary, missing columns...), or, in strict mode,
        any problem. Its report counts every problem by kind and lists the first ones. No value
        of a personal column is ever in it, and the values it shows are redacted.
    WorkbenchError
        The file does not exist.
    """
    src = Path(path)
    name = str(path)
    if not src.is_file():
        raise WorkbenchError(
            f"no file at {name}", hint="give the path of the dossier export (a CSV file)"
        )
    today = today or dt.date.today()
    out = Path(out_dir) / "dossiers"
    target = out / f"{src.stem}.parquet"
    rejected_target = out / f"rejected_{src.stem}.csv"

    if province is not None:
        # Kept as typed: each dossier's received date picks the map it is resolved on.
        try:
            registry.resolve(province, boundary="old63")
        except WorkbenchError:
            registry.resolve(province, boundary="new34")  # unknown on both: this error
    if level is not None and level not in LEVELS:
        raise WorkbenchError(f"unknown level {level!r}", hint=f"use one of {', '.join(LEVELS)}")
    given = [f for f, v in (("province", province), ("level", level)) if v is not None]
    layout = _layout(src, name, report, given)
    if "level" not in layout.fields and level is None:
        given.append("level")  # from the agency's name: filled, not absent
    digest = sha256(src)
    salt = personal.load_salt(salt_file)
    ipad, opad = personal.hmac_pads(salt)
    ctx = _Context(
        values=_Values(),
        today=np.datetime64(today, "D"),
        merger=np.datetime64(config.MERGER_DATE, "D"),
        ipad=ipad,
        opad=opad,
        salt=salt,
        keep_text=keep_text,
        province=province,
        level=level,
        columns=frozenset(layout.fields),
    )
    bad_shape: list[tuple[int, int]] = []
    counted = {"blank": 0, "read": 0}
    metadata = {
        "source": src.name,
        "source_sha256": digest,
        "schema": PARQUET_SCHEMA_VERSION,
        # Fields the export has no column for: null in every row, and "not computed" in the
        # index (analysis.index766.engine.absent_columns), never a 0.
        "absent_columns": json.dumps([f for f in layout.absent if f not in given]),
    }
    with tempfile.TemporaryDirectory(prefix="workbench-dossiers-") as work:
        typed, flags = Path(work) / "typed.parquet", Path(work) / "flags.parquet"
        # Typed values only: no personal value reaches these files, nor anything else on disk.
        try:
            _first_pass(src, name, layout, report, ctx, typed, flags, metadata, bad_shape, counted)
        except _NotProvincesError:
            raise _fail(
                report,
                _problem(
                    name,
                    "unknown_province",
                    f"more than {MAX_UNKNOWN_PROVINCES} different unknown province names",
                    "check that the province column is the one the header says",
                    column=_header(layout, "province"),
                ),
            ) from None
        blank, read = counted["blank"], counted["read"]
        read += len(bad_shape)
        if read == 0:
            raise _fail(
                report,
                _problem(
                    name,
                    "empty_file",
                    "no dossier rows below the header",
                    "give the export with its rows",
                ),
            )
        # Dossiers imported from other files into this folder (a file of the same name is
        # replaced by this import, so it is not compared).
        others = _other_imports(out, target)
        con = _connect(Path(work), typed, flags, others)
        try:
            same = _same_as_other(con, read - len(bad_shape)) if not bad_shape else None
            if same is not None:
                # The same export saved again: nothing to write, and it must not count twice.
                report.add(
                    _problem(
                        name,
                        "same_dossiers",
                        f"the same {read} dossiers as {Path(same).name}, already imported (the "
                        "export saved again, with other line endings or another encoding?): "
                        "not imported a second time",
                        "",
                    )
                )
                return DossierImport(
                    read=read,
                    accepted=read,
                    rejected=0,
                    outputs={},
                    source=name,
                    sha256=digest,
                    personal_columns=layout.personal_kinds,
                    ignored_columns=layout.ignored,
                    blank_rows=blank,
                    personal_headers=layout.personal_headers,
                    hashed_ids=ctx.hashed_ids,
                    duplicate_of=Path(same).name,
                )
            counts, rejected = _counts(con)
            rejected += len(bad_shape)
            totals = Counter()
            for key, n in counts.items():
                totals[next(c.kind for c in CHECKS if c.key == key)] += n
            if bad_shape:
                totals["bad_row_shape"] = len(bad_shape)
            examples = _examples(con, counts)
            # Every row rejected: raised below with the problems, before anything is written.
            keep_none = quarantine and rejected == read
            capture: dict[int, dict[str, str]] = dict.fromkeys(examples, {})
            if quarantine and rejected and not keep_none:
                rej = con.execute("SELECT row, m FROM bad ORDER BY row").fetchnumpy()
                rows, masks = rej["row"].astype(np.int64), rej["m"].astype(np.int64)
                raw = _raw_rows(src, name, layout, report, rows)
                _write_rejected(rejected_target, layout, rows, masks, raw, bad_shape, capture)
            elif examples:
                wanted = np.array(sorted(examples), dtype=np.int64)
                for block_rows, text in _raw_rows(src, name, layout, report, wanted):
                    for i, row in enumerate(block_rows):
                        capture[int(row)] = {f: text[f][i] for f in text}
            problems = _problems(layout, name, examples, capture, today)
            problems += _shape_problems(name, layout, bad_shape)
            problems.sort(key=lambda p: p.row or 0)
            report.extend(problems)
            if totals and (keep_none or not quarantine):
                omitted = totals - Counter(p.kind for p in problems)
                raise IngestError(
                    CountedReport(problems=list(report.problems), omitted=omitted),
                    kept_none=keep_none,
                )
            # A yes/no column with every cell empty is a column the system did not fill, not
            # "no" for every dossier: stored as null and absent like a missing column.
            unfilled = [
                f
                for f in BOOLEAN_FIELDS
                if f in layout.fields and counted.get(f"filled:{f}", 0) == 0 and read
            ]
            if unfilled:
                absent = json.loads(metadata["absent_columns"]) + unfilled
                metadata = {**metadata, "absent_columns": json.dumps(absent)}
                report.add(
                    _problem(
                        name,
                        "empty_column",
                        "every cell of "
                        + ", ".join(repr(_header(layout, f)) for f in unfilled)
                        + " is empty: read as not reported (null), not as 'no' for every dossier",
                        "fill the column, or drop it; its index components are not computed",
                        row=layout.header_row,
                    )
                )
            _write_parquet(con, typed, target, metadata, nulls=unfilled)
        finally:
            con.close()
    outputs = {"dossiers": target}
    if rejected:
        outputs["rejected"] = rejected_target
    else:
        # A stale list of rejected rows from an earlier import of this file would mislead.
        rejected_target.unlink(missing_ok=True)
    return DossierImport(
        read=read,
        accepted=read - rejected,
        rejected=rejected,
        outputs=outputs,
        source=name,
        sha256=digest,
        problems=dict(totals),
        personal_columns=layout.personal_kinds,
        ignored_columns=layout.ignored,
        blank_rows=blank,
        personal_headers=layout.personal_headers,
        text_dropped=()
        if keep_text
        else tuple(_header(layout, f) for f in DROPPED_TEXT_FIELDS if f in layout.fields),
        hashed_ids=ctx.hashed_ids,
        used_columns={f: _header(layout, f) for f in layout.fields},
        ignored_names=layout.ignored_names,
        absent_columns=tuple(f for f in layout.absent if f not in given) + tuple(unfilled),
        given={
            **{f: v for f, v in (("province", province), ("level", level)) if v is not None},
            **({"level": "agency"} if "level" not in layout.fields and level is None else {}),
        },
    )


def _shape_problems(name: str, layout: _Layout, bad_shape: list[tuple[int, int]]) -> list[Problem]:
    return [
        _problem(
            name,
            "bad_row_shape",
            f"the row has {fields} field(s), the header has {len(layout.headers)}",
            "a field with an unescaped quote or delimiter, or a cut-off file: quote such "
            "fields with double quotes",
            row=row,
        )
        for row, fields in sorted(bad_shape)[:EXAMPLES_PER_CHECK]
    ]
