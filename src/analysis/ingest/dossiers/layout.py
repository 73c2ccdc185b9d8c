"""Reading a dossier file's layout: encoding, delimiter, title lines, header matched to the schema."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from analysis.ingest import personal
from analysis.ingest.dossiers.result import fail, make_problem
from analysis.ingest.dossiers.schema import FIELD, FIELDS, PROCEDURE_FIELDS, field_of
from analysis.ingest.problems import IngestError, ProblemReport


@dataclass(frozen=True)
class Layout:
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
        raise fail(report, make_problem(name, kind, "not a text (CSV) file", hint))
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


def read_layout(path: Path, name: str, report: ProblemReport, given=()) -> Layout:
    with open(path, "rb") as fh:
        sample = fh.read(1 << 16)
    if not sample.strip():
        raise fail(
            report,
            make_problem(name, "empty_file", "the file is empty", "give the dossier export itself"),
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
                make_problem(
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
            make_problem(
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
    return Layout(
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


def header_text(layout: Layout, name: str) -> str:
    """The column of a field as written in the file."""
    cols = layout.fields.get(name)
    if not cols:
        return FIELD[name].name
    return " / ".join(layout.headers[c] for c in cols)
