"""Reading the tables analysts have: CSV (any of the usual encodings and delimiters), XLSX, JSON.

The reader turns a file into :class:`Table` objects: the header as written, the data rows with
their row numbers as Excel shows them (header = 1, first data row = 2; a two-row header puts
the first data row at 3; title rows above the header keep their numbers), and which column is
which canonical field. Header spellings are data (``analysis/data/ingest_headers.yaml``).

Whatever makes a whole file unreadable (empty, binary posing as CSV, truncated, a wrong encoding,
no recognisable header, no matching sheet) raises :class:`FileRejectedError` with the problems;
nothing here raises anything else for a bad file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from analysis import config
from analysis.ingest import guards
from analysis.ingest.problems import FileRejectedError, Problem
from analysis.ingest.values import Percent, fold, is_blank, shown

HEADERS_FILE = config.PACKAGE_DATA / "ingest_headers.yaml"
IGNORE = "ignore"  # canonical name of recognised columns that carry no data (STT, Ghi chú)

# How far down a sheet the header may sit (title rows above it are common in reports).
_HEADER_SEARCH_ROWS = 15
_DELIMITERS = (",", ";", "\t", "|")
# Magic numbers of files that are not tables but get renamed .csv by accident.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"PAR1", "a Parquet file"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary Excel (.xls), Word (.doc)
_UTF8_SEQ = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


@dataclass
class Table:
    """One table read from a file (a CSV, one sheet of a workbook, or a JSON list).

    Attributes
    ----------
    file : str
        How messages name it: the file name, with the sheet for a workbook.
    headers : list of str
        Column headers as written ("Tiếp nhận / Trực tuyến" for a two-row header).
    fields : dict
        Canonical name -> column index, for the recognised columns.
    rows : list of list
        Data cells (str for CSV; str, int, float, datetime or :class:`Percent` for XLSX/JSON).
    row_numbers : list of int
        Each data row's number as Excel shows it (or the record number for JSON).
    header_row : int
        Number of the (last) header row; 0 for JSON.
    detail : str
        How it was read ("CSV, UTF-8 with BOM, delimiter ';'", "sheet 'T6'").
    notes : list of Problem
        Things worth saying that are not errors (unrecognised columns ignored).
    title : list of str
        The text of the rows above the header ("UBND TỈNH BẮC NINH", "BÁO CÁO ... THÁNG 1/2023"),
        where a report sheet gives its province and month.
    sheet : str or None
        The worksheet's name ("T01-2023"), None for CSV and JSON.
    """

    file: str
    headers: list[str]
    fields: dict[str, int]
    rows: list[list[object]]
    row_numbers: list[int]
    header_row: int
    detail: str
    notes: list[Problem] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    sheet: str | None = None

    def label(self, name: str) -> str:
        """The header, as written, of a canonical field."""
        return self.headers[self.fields[name]]

    def get(self, row: list[object], name: str) -> object:
        """A row's cell of a canonical field (None when the file has no such column)."""
        i = self.fields.get(name)
        if i is None or i >= len(row):
            return None
        return row[i]

    def column(self, name: str) -> list[object]:
        """Every data cell of a canonical field."""
        return [self.get(r, name) for r in self.rows]


# --- vocabulary -----------------------------------------------------------------------------


def header_key(text: object) -> str:
    """The matching key of a header: folded, "tỉ lệ" = "tỷ lệ", letters and digits only."""
    folded = re.sub(r"\bti le\b", "ty le", fold(text))
    return re.sub(r"[^a-z0-9]+", "", folded)


@lru_cache(maxsize=1)
def _spec() -> dict:
    with HEADERS_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def vocabulary(kind: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Header key -> canonical name for one kind of file.

    Parameters
    ----------
    kind : {"monthly", "scores"}
    extra : dict, optional
        More spellings, spelling -> canonical (the portal's column codes for scores).

    Raises
    ------
    ValueError
        When one spelling names two fields (a mistake in the headers file).
    """
    lookup: dict[str, str] = {}
    entries = [(c, s) for c, spellings in _spec()[kind].items() for s in spellings]
    entries += [(canonical, spelling) for spelling, canonical in (extra or {}).items()]
    for canonical, spelling in entries:
        key = header_key(spelling)
        if lookup.get(key, canonical) != canonical:
            raise ValueError(f"header {spelling!r} names both {lookup[key]} and {canonical}")
        lookup[key] = canonical
    return lookup


def spellings(kind: str, name: str) -> list[str]:
    """The accepted spellings of a canonical field, the template's header first."""
    return list(_spec()[kind].get(name, []))


@lru_cache(maxsize=1)
def _group_keys() -> frozenset[str]:
    return frozenset(header_key(g) for g in _spec()["groups"])


@lru_cache(maxsize=1)
def _totals_keys() -> tuple[str, ...]:
    return tuple(fold(t) for t in _spec()["totals"])


def is_totals_label(value: object) -> bool:
    """True for a totals row's label ("Tổng cộng", "Toàn tỉnh", "Cả nước", "Tổng", ...)."""
    if not isinstance(value, str) or is_blank(value):
        return False
    text = re.sub(r"[^a-z0-9 ]+", " ", fold(value)).split()
    joined = " ".join(text)
    for marker in _totals_keys():
        # "Tổng"/"Cộng" alone must match whole; longer markers may lead ("Toàn tỉnh Lào Cai").
        if joined == marker or (" " in marker and joined.startswith(marker + " ")):
            return True
    return False


# --- bytes -> text --------------------------------------------------------------------------


def _problem(file: str, kind: str, message: str, hint: str = "", row=None, column=None, value=""):
    return Problem(file, row, column, value, kind, message, hint)


def _reject(file: str, kind: str, message: str, hint: str = "", **where) -> FileRejectedError:
    return FileRejectedError([_problem(file, kind, message, hint, **where)])


def check_bytes(raw: bytes, file: str, suffix: str) -> str:
    """What a file is, from its first bytes: "xlsx", "json" or "text".

    Raises
    ------
    FileRejectedError
        Empty, an image/archive/PDF posing as a table, an old .xls, or a truncated workbook.
    """
    body = raw.lstrip(codecs.BOM_UTF8).strip(b" \t\r\n\x00")
    body = body.replace(codecs.BOM_UTF16_LE, b"").replace(codecs.BOM_UTF16_BE, b"")
    if not body:
        raise _reject(
            file, "empty_file", "the file is empty", "export the table again; nothing to import"
        )
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        return "xlsx"
    if raw.startswith(_OLE2) and "EncryptedPackage".encode("utf-16-le") in raw[: 1 << 20]:
        raise _reject(
            file,
            "password_protected",
            "the workbook is protected by a password (encrypted), so it cannot be read",
            "open it in Excel with the password, remove it (File > Info > Protect Workbook > "
            "Encrypt with Password, empty), save, and import the new file",
        )
    if raw.startswith(_OLE2):
        raise _reject(
            file,
            "old_excel",
            "an old binary Excel file (.xls) or another Office document, not a table the "
            "workbench reads",
            "open it in Excel and save it as .xlsx or as CSV UTF-8",
        )
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise _reject(
                file,
                "binary_file",
                f"the file is {what}, not a table",
                "check you picked the right file; export the table as CSV or XLSX",
            )
    if suffix in (".xlsx", ".xlsm"):
        raise _reject(
            file,
            "truncated_file",
            "the file is named like a workbook but is not one (truncated or damaged)",
            "copy or export the workbook again",
        )
    if suffix == ".json":
        return "json"
    return "text"


def _utf16_without_bom(raw: bytes) -> str | None:
    head = raw[:2000]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    # ASCII-heavy UTF-16 has a NUL in every other byte.
    if odd > 0.3 * len(head) / 2 and even == 0:
        return "utf-16-le"
    if even > 0.3 * len(head) / 2 and odd == 0:
        return "utf-16-be"
    return None


def decode(raw: bytes, file: str) -> tuple[str, str, bool]:
    """Bytes of a text table -> (text in NFC, encoding described, had undecodable bytes).

    UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text", with BOM or without) and
    Windows-1258 are recognised. Windows-1258 writes most Vietnamese tone marks as combining
    characters after the letter, so the text is normalised to NFC (one code point per letter).
    Undecodable bytes become U+FFFD; the caller names the first row and column holding one.

    Raises
    ------
    FileRejectedError
        Binary content (NUL bytes or control characters) in what should be text.
    """
    bad = False
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "UTF-8 with BOM"
        try:
            text = raw[3:].decode("utf-8")
        except UnicodeDecodeError:
            text, bad = raw[3:].decode("utf-8", errors="replace"), True
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "UTF-16"
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            text, bad = raw.decode("utf-16", errors="replace"), True
    elif codec := _utf16_without_bom(raw):
        encoding = "UTF-16 without BOM"
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            text, bad = raw.decode(codec, errors="replace"), True
    else:
        try:
            text, encoding = raw.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            replaced = raw.decode("utf-8", errors="replace")
            invalid = replaced.count("\ufffd")
            valid = len(_UTF8_SEQ.findall(raw))
            if valid >= invalid:
                # Mostly valid UTF-8 with some broken bytes: a damaged or mixed file. Reading it
                # as Windows-1258 would turn every Vietnamese letter into two wrong ones.
                text, encoding, bad = replaced, "UTF-8 (with invalid bytes)", True
            else:
                guards.check_single_encoding(raw, file)
                try:
                    text, encoding = raw.decode("cp1258"), "Windows-1258"
                except UnicodeDecodeError:
                    text = raw.decode("cp1258", errors="replace")
                    encoding, bad = "Windows-1258 (with undefined bytes)", True
    control = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\t\r\n\f")
    if "\x00" in text[:20000] or control > max(2, len(text[:20000]) // 100):
        raise _reject(
            file,
            "binary_file",
            "the file holds binary data, not text: it is not a CSV table",
            "export the table again as CSV (UTF-8) or XLSX",
        )
    guards.check_no_nul(text, file)
    return unicodedata.normalize("NFC", text), encoding, bad


# --- text -> grid ---------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first rows into the same number (> 1) of fields."""
    sample = text[:65536]
    best, best_score = ",", (0.0, 0)
    for delim in _DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delim) if any(r)][:40]
        except csv.Error:
            continue
        if len(rows) > 1 and not sample.endswith(("\n", "\r")):
            rows = rows[:-1]  # the sample may cut the last row short
        if not rows:
            continue
        counts = Counter(len(r) for r in rows)
        mode, n = counts.most_common(1)[0]
        if mode < 2:
            continue
        score = (n / len(rows), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def parse_csv(text: str, file: str) -> tuple[list[list[str]], str]:
    """Text -> rows of cells, and the delimiter used.

    Raises
    ------
    FileRejectedError
        A quoted field that never closes (the file was cut short) or broken quoting.
    """
    delim = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append([cell.strip() for cell in row])
    except csv.Error as exc:
        row = len(rows) + 1
        if "end of data" in str(exc) or "EOF" in str(exc):
            # Read leniently to see in which column the runaway quote opened.
            loose = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
            column = None
            if len(loose) >= row and rows:
                i = len(loose[row - 1]) - 1
                column = rows[0][i] if i < len(rows[0]) and rows[0][i] else _column_letter(i)
            raise _reject(
                file,
                "truncated_file",
                f"the file ends inside a quoted field that starts on row {row}: it was cut short",
                "export or copy the file again in full (or close the quote)",
                row=row,
                column=column,
            ) from None
        raise _reject(
            file,
            "bad_csv",
            f"broken quoting on row {row} ({exc})",
            'a field that holds the delimiter must be in double quotes, with "" for a quote',
            row=row,
        ) from None
    return rows, delim


# --- grid -> table --------------------------------------------------------------------------


def _blank_row(row: list[object]) -> bool:
    return all(is_blank(c) and not isinstance(c, Percent) for c in row)


def _text(cell: object) -> str:
    return "" if cell is None else shown(cell)


def _one_row_labels(row: list[object]) -> list[str]:
    return [_text(c) for c in row]


# A group header meaning "of which": its columns are parts of the column to its left
# ("Tổng số hồ sơ tiếp nhận" | "Trong đó" over "Trực tuyến", "Trực tiếp").
_OF_WHICH = frozenset({"trongdo", "trongso", "trongsodo", "baogom", "chiatheo"})
# Words that say "total" before a group's name: "Tổng số hồ sơ tiếp nhận / Trực tuyến" is
# matched as "Hồ sơ tiếp nhận / Trực tuyến".
_TOTAL_PREFIX = re.compile(r"^\s*(tổng số|tổng|số)\s+", re.IGNORECASE)
# Units or points in brackets after a header: "(%)", "(18đ)", "(hồ sơ)", "[1]".
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_MAX_HEADER_ROWS = 3


def _stacked_labels(stack: list[list[object]]) -> list[str]:
    """Labels of a header written over several rows, merged group cells spread to the right.

    A merged cell keeps its text in its first column only; the blank cells to its right that
    have sub-headers beneath belong to it. An "of which" group ("Trong đó") takes the name of
    the column to its left, whose parts its columns are.
    """
    width = max(len(r) for r in stack)
    rows = [[_text(c) for c in r] + [""] * (width - len(r)) for r in stack]
    parts: list[list[str]] = [[] for _ in range(width)]
    for k, row in enumerate(rows):
        group, start = "", 0
        for i in range(width):
            below = any(rows[j][i] for j in range(k + 1, len(rows)))
            if row[i]:
                group, start = row[i], i
            elif not (group and below):
                group = ""
            text = group
            if text and header_key(_BRACKETS.sub(" ", text)) in _OF_WHICH:
                left = next((j for j in range(start - 1, -1, -1) if parts[j]), None)
                text = parts[left][-1] if left is not None else ""
            if text and text not in parts[i]:
                parts[i].append(text)
    return [" / ".join(p) for p in parts]


def _two_row_labels(top: list[object], sub: list[object]) -> list[str]:
    width = max(len(top), len(sub))
    top = list(top) + [None] * (width - len(top))
    sub = list(sub) + [None] * (width - len(sub))
    labels, group = [], ""
    for a, b in zip(top, sub, strict=True):
        a, b = _text(a), _text(b)
        if a:
            group = a
        if a and b:
            labels.append(f"{a} / {b}")
        elif b:
            # A merged group header leaves the cells under its span blank in the top row.
            labels.append(f"{group} / {b}" if group else b)
        else:
            labels.append(a)
    return labels


def _candidates(label: str) -> list[str]:
    """Spellings to try for a header, most specific first: as written, without brackets,
    each group with the sub-header (also without "Tổng số"), then the sub-header alone."""
    bare = _BRACKETS.sub(" ", label).strip()
    out = [label, bare]
    pieces = [p.strip() for p in bare.split(" / ") if p.strip()]
    if len(pieces) > 1:
        sub = pieces[-1]
        for group in reversed(pieces[:-1]):
            out += [f"{group} / {sub}", f"{_TOTAL_PREFIX.sub('', group)} / {sub}"]
        out.append(sub)
    return out


def _lookup(label: str, lookup: dict[str, str]) -> str | None:
    for text in _candidates(label):
        name = lookup.get(header_key(text))
        if name is not None:
            return name
    return None


def _match(labels: list[str], lookup: dict[str, str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for i, label in enumerate(labels):
        if not label:
            continue
        name = _lookup(label, lookup)
        if name is None and header_key(_BRACKETS.sub(" ", label.split(" / ")[-1])) == "tyle":
            # A bare "Tỷ lệ (%)" is the rate of the nearest count to its left that has one:
            # after "Trong đó / Trực tuyến", "Trực tiếp" it is "Tỷ lệ trực tuyến".
            # Under a group ("Trực tuyến / Tỷ lệ (%)") the group says which rate it is.
            groups = [g.strip() for g in _BRACKETS.sub(" ", label).split(" / ")[:-1]]
            lefts = [_BRACKETS.sub(" ", labels[j].split(" / ")[-1]).strip() for j in range(i)]
            for last in [*reversed(groups), *reversed(lefts)]:
                name = lookup.get(header_key(f"Tỷ lệ {last}")) if last else None
                if name is not None:
                    break
        if name is not None:
            found[i] = name
    return found


def _score(found: dict[int, str]) -> int:
    return len({n for n in found.values() if n != IGNORE})


def locate_header(
    grid: list[list[object]], lookup: dict[str, str]
) -> tuple[int, int, list[str], dict[int, str]] | None:
    """Find the header: (first header row index, rows it spans, labels, index -> canonical).

    Returns None when no row within the first rows names at least two known columns.
    """
    best: tuple[int, int, int, list[str], dict[int, str]] | None = None
    for r in range(min(len(grid), _HEADER_SEARCH_ROWS)):
        if _blank_row(grid[r]):
            continue
        candidates = [(1, _one_row_labels(grid[r]))]
        if r + 1 < len(grid):
            candidates.append((2, _two_row_labels(grid[r], grid[r + 1])))
        for span in range(2, _MAX_HEADER_ROWS + 1):
            if r + span <= len(grid):
                candidates.append((span, _stacked_labels(grid[r : r + span])))
        for span, labels in candidates:
            found = _match(labels, lookup)
            score = _score(found)
            # A two-row reading must recognise more than the top row alone to be chosen.
            if score >= 2 and (best is None or score > best[0]):
                best = (score, r, span, labels, found)
    if best is None:
        return None
    _, r, span, labels, found = best
    return r, span, labels, found


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def build_table(
    grid: list[list[object]],
    numbers: list[int],
    lookup: dict[str, str],
    file: str,
    detail: str,
    sheet: str | None = None,
) -> Table | None:
    """Rows of cells -> a :class:`Table`, or None when no header is recognised.

    Parameters
    ----------
    grid : list of list
        Every row of the sheet or CSV, blank ones included.
    numbers : list of int
        Each grid row's number as Excel shows it.
    lookup : dict
        From :func:`vocabulary`.
    file, detail : str
        For messages and the manifest.
    sheet : str, optional
        The worksheet's name (a report sheet per month is named for its month).

    Raises
    ------
    FileRejectedError
        A group header without its sub-header row, or two columns naming the same field.
    """
    located = locate_header(grid, lookup)
    if located is None:
        return None
    r, span, labels, found = located
    header_row = numbers[r + span - 1]
    body = grid[r + span :]
    body_numbers = numbers[r + span :]
    width = max([len(labels), *(len(row) for row in body)]) if body else len(labels)
    labels = labels + [""] * (width - len(labels))
    keep = [i for i, row in enumerate(body) if not _blank_row(row)]
    problems: list[Problem] = []
    notes: list[Problem] = []
    if keep and _numbering_row(body[keep[0]]):
        # "(1) (2) (3) (4)=(2)+(3)" under the header numbers the columns: not data.
        notes.append(
            _problem(
                file,
                "numbering_row",
                "a row numbering the columns: skipped",
                row=body_numbers[keep[0]],
            )
        )
        keep = keep[1:]
    rows = [list(body[i]) + [None] * (width - len(body[i])) for i in keep]
    row_numbers = [body_numbers[i] for i in keep]
    title = [" ".join(_text(c) for c in row if not is_blank(c)) for row in grid[:r]]
    groups = _group_keys()
    for i, label in enumerate(labels):
        if label or not any(not is_blank(row[i]) for row in rows):
            continue
        left = next((j for j in range(i - 1, -1, -1) if labels[j]), None)
        if span == 1 and left is not None and header_key(labels[left]) in groups:
            problems.append(
                _problem(
                    file,
                    "missing_subheader",
                    f"'{labels[left]}' is a group header over several columns, but row "
                    f"{header_row + 1} holds data, not the sub-headers beneath it",
                    "add the row of sub-headers (e.g. 'Tổng số', 'Trực tuyến') under the group "
                    "header, or write one header per column",
                    row=header_row + 1,
                    column=labels[left],
                )
            )
        else:
            notes.append(
                _problem(
                    file,
                    "unnamed_column",
                    f"column {_column_letter(i)} has data but no header; it was ignored",
                    "give the column a header from the template if it should be imported",
                    row=header_row,
                    column=_column_letter(i),
                )
            )
    seen: dict[str, int] = {}
    for i, name in sorted(found.items()):
        if name == IGNORE:
            continue
        if name in seen:
            problems.append(
                _problem(
                    file,
                    "duplicate_column",
                    f"columns '{labels[seen[name]]}' and '{labels[i]}' both hold {name}",
                    "keep one of them",
                    row=header_row,
                    column=labels[i],
                )
            )
        seen[name] = i
    if problems:
        raise FileRejectedError(problems)
    for i, label in enumerate(labels):
        if label and i not in found:
            notes.append(
                _problem(
                    file,
                    "unknown_column",
                    "column not recognised; it was ignored",
                    "rename it to a header of the template if it should be imported",
                    row=header_row,
                    column=label,
                )
            )
    return Table(
        file=file,
        headers=labels,
        fields=seen,
        rows=rows,
        row_numbers=row_numbers,
        header_row=header_row,
        detail=detail,
        notes=notes,
        title=[t for t in title if t],
        sheet=sheet,
    )


_NUMBERING = re.compile(r"^\(?([a-z]|\d{1,2})\)?(\s*[=*/+-].*)?$", re.IGNORECASE)


def _numbering_row(row: list[object]) -> bool:
    """True for a row of column numbers ("1 2 3", "(1) (2) (3)=(1)+(2)", "A B 1 2")."""
    cells = [_text(c) for c in row if not is_blank(c)]
    if len(cells) < 3 or not all(_NUMBERING.match(c) for c in cells):
        return False
    digits = [int(m.group(1)) for c in cells if (m := _NUMBERING.match(c)).group(1).isdigit()]
    return len(digits) >= 2 and digits == sorted(set(digits))


def _bad_cells(table: Table, encoding: str) -> list[Problem]:
    out = []
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        for i, cell in enumerate(row):
            if isinstance(cell, str) and "\ufffd" in cell:
                out.append(
                    _problem(
                        table.file,
                        "bad_encoding",
                        f"bytes that are not {encoding.split(' ')[0]} text",
                        "save the file as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8); "
                        "a file pieced together from several sources may mix encodings",
                        row=number,
                        column=table.headers[i] or _column_letter(i),
                        value=cell,
                    )
                )
    return out


def _no_header(file: str, expected: list[str], encoding: str | None) -> FileRejectedError:
    hint = f"the header row should name columns such as {', '.join(expected)}"
    if encoding and encoding.startswith("Windows-1258"):
        hint += (
            "; the file was read as Windows-1258 — if its text looks garbled (an old TCVN3 or "
            "VNI font encoding), save it as CSV UTF-8"
        )
    return _reject(
        file, "missing_columns", "no header row with known column names was found", hint, row=1
    )


def _truncated_last_row(table: Table, text: str) -> Problem | None:
    if not table.rows or text.endswith(("\n", "\r")):
        return None
    last = table.rows[-1]
    n = max((i + 1 for i, c in enumerate(last) if not is_blank(c)), default=0)
    named = max((i + 1 for i, h in enumerate(table.headers) if h), default=0)
    if n >= named:
        return None
    return _problem(
        table.file,
        "truncated_file",
        f"the file ends in the middle of row {table.row_numbers[-1]} ({n} of {named} columns): "
        "it looks cut short",
        "export or copy the file again in full",
        row=table.row_numbers[-1],
        column=table.headers[n] or _column_letter(n),
    )


def read_text_table(
    raw: bytes, file: str, lookup: dict[str, str], expected: list[str]
) -> list[Table]:
    """A CSV (or tab-separated "Unicode text") file -> one table."""
    text, encoding, bad = decode(raw, file)
    grid, delim = parse_csv(text, file)
    if not any(not _blank_row(r) for r in grid):
        raise _reject(file, "empty_file", "the file has no rows", "export the table again")
    shown_delim = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[delim]
    table = build_table(
        grid, list(range(1, len(grid) + 1)), lookup, file, f"CSV, {encoding}, {shown_delim}"
    )
    if table is None:
        if bad:  # the header itself may hold the broken bytes
            raise _reject(
                file,
                "bad_encoding",
                f"the file is not readable text ({encoding})",
                "save it as CSV UTF-8 and import again",
            )
        raise _no_header(file, expected, encoding)
    if bad:
        problems = _bad_cells(table, encoding)
        if not problems:
            problems = [_problem(file, "bad_encoding", f"bytes that are not {encoding} text")]
        raise FileRejectedError(problems)
    truncated = _truncated_last_row(table, text)
    if truncated is not None:
        raise FileRejectedError([truncated])
    return [table]


def _cell(cell) -> object:
    value = cell.value
    if value is None:
        return None
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        fmt = getattr(cell, "number_format", "") or ""
        if "%" in fmt:
            # Excel stores 79.4 % as 0.794; round away the binary noise of the x100.
            return Percent(round(float(value) * 100, 9))
    return value


# A monthly table is a few thousand rows; a sheet unpacking to more is a mistake (a whole
# column filled down, a dossier export saved as a workbook) or a ZIP bomb, refused before it is
# parsed: 1,5 M rows took 50 s and 540 MB to read.
MAX_SHEET_XML_BYTES = 64 * 1024 * 1024
MAX_SHEET_ROWS = 100_000
_FORMULA_NO_VALUE = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3}\d+)"[^>]*>\s*<f\b[^>]*?(?:/>|>([^<]*)</f>)\s*'
    rb"(?:<v\s*/>|<v>\s*</v>)?\s*</c>"
)
_ROW_TAG = re.compile(rb"<row\b[^>]*>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')


def _sheet_part(raw_zip: zipfile.ZipFile, file: str, title: str, part: str) -> bytes:
    """The XML of one worksheet, after checking what it unpacks to."""
    info = raw_zip.getinfo(part)
    if info.file_size > MAX_SHEET_XML_BYTES:
        raise _reject(
            file,
            "too_large",
            f"sheet '{title}' unpacks to {info.file_size / 2**20:,.0f} MB of cells, more than "
            f"the {MAX_SHEET_XML_BYTES // 2**20} MB a monthly or score table needs",
            "delete the rows and columns below and right of the table (Ctrl+Shift+End shows "
            "where Excel thinks it ends), or give dossier records as CSV",
        )
    return raw_zip.read(part)


def _scan_sheet(xml: bytes) -> tuple[list[tuple[str, str]], set[int]]:
    """Formula cells without a saved value (cell, formula) and the hidden rows of a sheet."""
    formulas = [
        (m.group(1).decode(), (m.group(2) or b"").decode("utf-8", "replace"))
        for m in _FORMULA_NO_VALUE.finditer(xml)
    ]
    hidden = set()
    for tag in _ROW_TAG.finditer(xml):
        if _HIDDEN.search(tag.group(0)):
            number = _ROW_NUMBER.search(tag.group(0))
            if number:
                hidden.add(int(number.group(1)))
    return formulas, hidden


def read_workbook(
    raw: bytes,
    file: str,
    lookup: dict[str, str],
    expected: list[str],
    sheet_name: str | None = None,
    *,
    hidden_rows: bool = False,
) -> list[Table]:
    """Every visible sheet of a workbook whose header matches -> one table per sheet.

    The sheet is read to its true extent (the size a workbook stores can be stale), hidden
    sheets and rows are skipped and reported, and a formula without a saved value is refused
    with its cell named (its figure is unknown, not 0).

    Parameters
    ----------
    raw : bytes
    file : str
    lookup : dict
    expected : list of str
    sheet_name : str, optional
        Read only this sheet (matched ignoring case and surrounding spaces), hidden or not.
    hidden_rows : bool, default False
        Read hidden rows as well; by default they are skipped and the table says which.

    Raises
    ------
    FileRejectedError
        Not a workbook (a ZIP of something else), damaged, too large, a formula without its
        value, no such sheet, or no sheet with a known header.
    """
    import openpyxl  # imported here: only workbooks need it

    try:
        package = zipfile.ZipFile(io.BytesIO(raw))
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise _reject(
            file,
            "truncated_file",
            "the workbook is damaged or cut short (not a complete ZIP/XLSX file)",
            "copy or export the workbook again",
        ) from None
    except KeyError:
        raise _reject(
            file,
            "binary_file",
            "the file is a ZIP archive, not a workbook or a CSV table",
            "unzip it and import the table inside",
        ) from None
    except Exception as exc:  # openpyxl raises many types for a damaged package
        raise _reject(
            file,
            "truncated_file",
            f"the workbook cannot be opened ({type(exc).__name__})",
            "open it in Excel, save it again as .xlsx, and import the new file",
        ) from None
    tables: list[Table] = []
    names = [ws.title for ws in book.worksheets]
    sheets = book.worksheets
    skipped_hidden: list[str] = []
    if sheet_name is not None:
        sheets = [
            ws for ws in sheets if ws.title.strip().casefold() == sheet_name.strip().casefold()
        ]
        if not sheets:
            book.close()
            raise _reject(
                file,
                "no_matching_sheet",
                f"no sheet named '{sheet_name}' (sheets: {', '.join(repr(n) for n in names)})",
                "give --sheet one of the names listed",
            )
    try:
        for sheet in sheets:
            if sheet.sheet_state != "visible" and sheet_name is None:
                skipped_hidden.append(sheet.title)
                continue
            part = getattr(sheet, "_worksheet_path", None)
            formulas, hidden = ([], set())
            if part:
                formulas, hidden = _scan_sheet(_sheet_part(package, file, sheet.title, part))
            if hidden_rows:
                hidden = set()
            sheet.reset_dimensions()  # the stored size may be stale: read every row there is
            grid: list[list[object]] = []
            numbers: list[int] = []
            hidden_seen: list[int] = []
            for row in sheet.iter_rows():
                number = next((c.row for c in row if getattr(c, "row", None)), None)
                number = number if number else (numbers[-1] + 1 if numbers else 1)
                if len(numbers) >= MAX_SHEET_ROWS:
                    raise _reject(
                        file,
                        "too_large",
                        f"sheet '{sheet.title}' has more than {MAX_SHEET_ROWS:,} rows; a monthly "
                        "or score table has a few thousand",
                        "delete the rows below the table, or give dossier records as CSV",
                    )
                if number in hidden:
                    hidden_seen.append(number)
                    continue
                grid.append([_cell(c) for c in row])
                numbers.append(number)
            label = f"{file} [sheet '{sheet.title}']" if len(book.worksheets) > 1 else file
            table = build_table(
                grid, numbers, lookup, label, f"XLSX, sheet '{sheet.title}'", sheet=sheet.title
            )
            if table is None:
                continue
            if formulas:
                cell, formula = formulas[0]
                more = f" (and {len(formulas) - 1} more)" if len(formulas) > 1 else ""
                raise _reject(
                    label,
                    "formula_without_value",
                    f"cell {cell} holds a formula (={formula}) with no saved value{more}: its "
                    "figure is unknown",
                    "open the workbook in Excel or LibreOffice, let it calculate, save it, and "
                    "import again (a program that writes formulas without computing them made it)",
                    row=int(re.sub(r"[A-Z]", "", cell)),
                    column=cell,
                )
            if hidden_seen:
                shown_rows = ", ".join(str(n) for n in hidden_seen[:10])
                table.notes.append(
                    _problem(
                        label,
                        "hidden_rows",
                        f"{len(hidden_seen)} hidden row(s) skipped (rows {shown_rows}"
                        + (", …" if len(hidden_seen) > 10 else "")
                        + ")",
                        "give --hidden-rows to import them, or unhide them in Excel",
                    )
                )
            tables.append(table)
    except FileRejectedError:
        raise
    except Exception as exc:  # a damaged sheet part inside a valid ZIP
        raise _reject(
            file,
            "truncated_file",
            f"a sheet of the workbook cannot be read ({type(exc).__name__})",
            "open it in Excel, save it again as .xlsx, and import the new file",
        ) from None
    finally:
        book.close()
    if not tables:
        listed = ", ".join(f"'{n}'" for n in names) or "none"
        raise _reject(
            file,
            "no_matching_sheet",
            f"no sheet has a header with known column names (sheets: {listed})",
            f"put the table on a sheet whose header row names columns such as "
            f"{', '.join(expected)}",
        )
    # A sheet with the header but no data rows is kept only when it is the only match, so
    # that the importer can say "no data rows" instead of "no matching sheet".
    tables = [t for t in tables if t.rows] or tables[:1]
    if skipped_hidden:
        tables[0].notes.append(
            _problem(
                file,
                "hidden_sheet",
                "hidden sheet(s) not imported: " + ", ".join(f"'{n}'" for n in skipped_hidden),
                "give --sheet NAME to import a hidden sheet",
            )
        )
    return tables


def read_json(raw: bytes, file: str) -> tuple[list[object], dict]:
    """A portal export in JSON -> (records, top-level fields other than the records).

    Accepts a list of objects or an object holding the list under ``data`` (or ``items``,
    ``result``, ``rows``).

    Raises
    ------
    FileRejectedError
        Not JSON (with the line and column of the first error), or no list of records.
    """
    text, _, bad = decode(raw, file)
    if bad:
        raise _reject(file, "bad_encoding", "the file is not UTF-8 text", "save it as UTF-8")
    try:
        data = guards.json_loads(text, file)
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(text.rstrip())
        raise _reject(
            file,
            "truncated_file" if at_end else "bad_json",
            ("the JSON ends too early: the file was cut short" if at_end else "not valid JSON")
            + f" (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "download the export again" if at_end else "fix the JSON or export it again",
        ) from None
    meta: dict = {}
    if isinstance(data, dict):
        key = next((k for k in ("data", "items", "result", "rows") if k in data), None)
        if key is None or not isinstance(data[key], list):
            raise _reject(
                file,
                "bad_json",
                'the JSON holds no list of records (expected a list, or {"data": [...]})',
                "export the portal's table as JSON again",
            )
        meta = {k: v for k, v in data.items() if k != key}
        data = data[key]
    if not isinstance(data, list):
        raise _reject(file, "bad_json", "the JSON is not a list of records", "")
    if not data:
        raise _reject(file, "empty_file", "the JSON list of records is empty", "")
    return data, meta


def json_table(records: list[object], file: str, lookup: dict[str, str]) -> Table:
    """JSON records -> a table; row numbers are record numbers (first record = 1).

    Raises
    ------
    FileRejectedError
        A record that is not an object, or no known field at all.
    """
    headers: list[str] = []
    for rec in records:
        if isinstance(rec, dict):
            for k in rec:
                if str(k) not in headers:
                    headers.append(str(k))
    bad = [i + 1 for i, rec in enumerate(records) if not isinstance(rec, dict)]
    if bad:
        raise _reject(
            file,
            "bad_json",
            f"record {bad[0]} is not an object with named fields",
            'each record must look like {"TEN": ..., "CKMB": ...}',
            row=bad[0],
        )

    def value(v):
        if isinstance(v, dict | list):
            return json.dumps(v, ensure_ascii=False)
        return unicodedata.normalize("NFC", v).strip() if isinstance(v, str) else v

    rows = [[value(rec.get(h)) for h in headers] for rec in records]
    grid: list[list[object]] = [list(headers), *rows]
    table = build_table(grid, list(range(0, len(records) + 1)), lookup, file, "JSON")
    if table is None:
        raise _reject(file, "missing_columns", "no known field in the JSON records", "", row=None)
    return table


def read_tables(
    path: Path,
    file: str,
    lookup: dict[str, str],
    expected: list[str],
    sheet: str | None = None,
    *,
    hidden_rows: bool = False,
) -> list[Table]:
    """Read a CSV or XLSX file (JSON: :func:`read_json`) into tables.

    Parameters
    ----------
    path : Path
    file : str
        The name messages use.
    lookup : dict
        From :func:`vocabulary`.
    expected : list of str
        Headers to suggest when none is recognised.
    sheet : str, optional
        For a workbook: read only the sheet of this name.
    hidden_rows : bool, default False
        For a workbook: read hidden rows too (by default skipped and reported).

    Raises
    ------
    FileRejectedError
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _reject(file, "unreadable_file", f"cannot read the file ({exc.strerror})") from None
    what = check_bytes(raw, file, path.suffix.lower())
    if what == "xlsx":
        return read_workbook(raw, file, lookup, expected, sheet, hidden_rows=hidden_rows)
    if sheet is not None:
        raise _reject(
            file, "not_a_workbook", f"--sheet {sheet!r} given, but this is not a workbook"
        )
    if what == "json":
        records, _ = read_json(raw, file)
        return [json_table(records, file, lookup)]
    return read_text_table(raw, file, lookup, expected)


# --- which kind of file ---------------------------------------------------------------------

# Fields that every kind shares tell nothing about the kind.
_SHARED = {"province", "province_code", "unit", "unit_id", "level", "month", "period", "year"}


def _peek_grid(path: Path) -> list[list[object]]:
    """The first rows of a file (of every sheet of a workbook), cheaply and without raising."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(65536)
        if raw.startswith(b"PK"):
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            grid = []
            for sheet in book.worksheets:
                sheet.reset_dimensions()
                for i, row in enumerate(sheet.iter_rows(values_only=True)):
                    if i >= _HEADER_SEARCH_ROWS + _MAX_HEADER_ROWS:
                        break
                    grid.append(list(row))
            book.close()
            return grid
        text, _, _ = decode(raw, path.name)
        lines = text.splitlines()[: _HEADER_SEARCH_ROWS + 1]
        delim = sniff_delimiter("\n".join(lines))
        return [list(r) for r in csv.reader(lines, delimiter=delim)]
    except Exception:  # sniffing is a guess; the real reader reports what is wrong
        return []


def sniff_kind(path: Path, extra_scores: dict[str, str] | None = None) -> str | None:
    """Guess "monthly", "scores" or "dossiers" from a file's header; None when unsure."""
    if path.suffix.lower() == ".json":
        return "scores"
    grid = _peek_grid(path)
    labels = [header_key(_text(c)) for row in grid for c in row if not is_blank(c)]
    scores: dict[str, int] = {}
    cells = [_text(c) for row in grid for c in row if not is_blank(c)]
    for kind, extra in (("monthly", None), ("scores", extra_scores)):
        lookup = vocabulary(kind, extra)
        named = {_lookup(c, lookup) for c in cells} - _SHARED - {IGNORE, None}
        # A header over several rows under a title ("Trong đó / Trực tuyến") is only
        # recognised as the reader reads it.
        located = locate_header(grid, lookup)
        if located is not None:
            named |= set(located[3].values()) - _SHARED - {IGNORE}
        scores[kind] = len(named)
    markers = {header_key(m) for m in _spec()["dossiers"]["markers"]}
    scores["dossiers"] = len(set(labels) & markers)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (top, n), (_, second) = ranked[0], ranked[1]
    if n < 2 or n == second:
        return None
    return top


# --- shared row helpers ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _level_keys() -> dict[str, str]:
    return {
        header_key(spelling): level
        for level, spellings_ in _spec()["levels"].items()
        for spelling in spellings_
    }


def level_words() -> dict[str, tuple[str, ...]]:
    """Level -> its spellings in ``data/ingest_headers.yaml``, folded to letters and digits.

    Returns
    -------
    dict
        ``{"province": ("captinh", "tinh", ...), "district": ..., "commune": ...}``, the one
        list of level spellings (monthly tables and dossier records read it alike).
    """
    return {
        level: tuple(dict.fromkeys(header_key(s) for s in spellings_))
        for level, spellings_ in _spec()["levels"].items()
    }


def parse_level(value: object) -> str | None:
    """ "Cấp tỉnh", "tỉnh", "province" -> "province" (likewise district, commune); else None."""
    if is_blank(value) or not isinstance(value, str):
        return None
    keys = _level_keys()
    found = keys.get(header_key(value))
    if found is None:
        # As reports write them: "Cấp tỉnh (Sở, ban, ngành)", "UBND cấp xã", "1. Cấp huyện".
        bare = _BRACKETS.sub(" ", value)
        bare = re.sub(r"^\s*([ivx]+|\d+|[a-d])\s*[.)/-]\s*", "", bare, flags=re.IGNORECASE)
        key = re.sub(r"^(ubnd|uybannhandan)", "", header_key(bare))
        found = keys.get(key)
    return found


def level_spellings() -> str:
    """The level words a file may use, for hints."""
    return ", ".join(f'"{s[0]}"' for s in _spec()["levels"].values())


@dataclass
class Rejected:
    """A data row turned away, kept for the quarantine file.

    Attributes
    ----------
    file : str
        The table it came from (file, and sheet for a workbook).
    row : int
        Row number as Excel shows it.
    cells : dict
        Header as written -> the cell as read.
    reasons : list of str
        Why, one line per problem.
    """

    file: str
    row: int
    cells: dict[str, str]
    reasons: list[str] = field(default_factory=list)


def reason(problem: Problem) -> str:
    """One line of the quarantine file's reason column: column, message, value, kind."""
    column = f"{problem.column}: " if problem.column else ""
    value = f" ({problem.value!r})" if problem.value else ""
    return f"{column}{problem.message}{value} [{problem.kind}]"


def reject(out, table: Table, number: int, row: list[object], problems: list[Problem]) -> None:
    """Turn a data row away: its problems join ``out.errors``, the row ``out.rejected``.

    ``out`` is an importer's per-table result (monthly or scores rows): both keep the same
    two lists so the quarantine file and the strict report are built the same way.
    """
    out.errors.extend(problems)
    out.rejected.append(
        Rejected(table.file, number, row_cells(table, row), [reason(p) for p in problems])
    )


def row_cells(table: Table, row: list[object]) -> dict[str, str]:
    """A row as header -> cell text, for the quarantine file."""
    return {
        h or _column_letter(i): shown(c)
        for i, (h, c) in enumerate(zip(table.headers, row, strict=False))
    }
