"""Checks that turn silent changes into clear refusals, shared by every importer.

Each guard answers one question about a raw file that the readers would otherwise answer
by guessing: a JSON object naming one key twice (``json.loads`` keeps the last value), a
text file that switches encoding half-way (read whole as Windows-1258, its UTF-8 half turns
to mojibake), NUL bytes past the first block a reader sniffs, JSON nested deep enough to
overflow the parser.
"""

from __future__ import annotations

import json
import re

from analysis.ingest.problems import FileRejectedError, Problem

# Deeper JSON than this is refused before parsing: the portal's responses nest 4–5 levels.
MAX_JSON_DEPTH = 64
# A valid UTF-8 sequence of two or more bytes.
_UTF8_SEQ = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _reject(file: str, kind: str, message: str, hint: str, row=None, column=None, value=""):
    return FileRejectedError([Problem(file, row, column, value, kind, message, hint)])


def _line_of(raw: bytes | str, offset: int) -> int:
    newline = b"\n" if isinstance(raw, bytes) else "\n"
    return raw[:offset].count(newline) + 1


def check_no_nul(text: str, file: str) -> None:
    """Refuse text holding a NUL character anywhere (not only in the first block sniffed)."""
    at = text.find("\x00")
    if at >= 0:
        raise _reject(
            file,
            "binary_file",
            f"the file holds a NUL byte (line {_line_of(text, at)}): it is binary or damaged",
            "export the table again as CSV (UTF-8) or XLSX",
            row=_line_of(text, at),
        )


def check_single_encoding(raw: bytes, file: str) -> None:
    """Refuse bytes about to be read as Windows-1258 that also hold UTF-8 sequences.

    Vietnamese Windows-1258 text has almost no byte pairs that look like UTF-8 (its letters
    and tone marks are all 0xC0 or above, UTF-8's continuation bytes 0x80–0xBF), so three or
    more valid UTF-8 sequences mean the file was saved in two encodings.
    """
    found = list(_UTF8_SEQ.finditer(raw))
    if len(found) >= 3:
        line = _line_of(raw, found[0].start())
        raise _reject(
            file,
            "mixed_encoding",
            f"the file mixes two encodings: Windows-1258 and, from line {line}, UTF-8; read "
            "either way, part of its Vietnamese text would be stored garbled",
            "open it in Excel and save it once more as CSV UTF-8",
            row=line,
        )


def scan_brackets(text: str, stop_above: int | None = None) -> tuple[int, int, bool]:
    """Brackets outside JSON strings, a cheap scan before parsing.

    Returns the deepest nesting (the scan stops once it passes ``stop_above``), the depth
    left open at the end and whether the text ends inside a string: the last two say a
    download was cut short.
    """
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if stop_above is not None and deepest > stop_above:
                break
        elif ch in "]}":
            depth -= 1
    return deepest, depth, in_string


def json_loads(text: str, file: str):
    """``json.loads`` that refuses duplicate keys and absurd nesting, naming the place.

    Raises
    ------
    FileRejectedError
        A key given twice in one object (kind ``duplicate_key``), nesting deeper than
        ``MAX_JSON_DEPTH`` (``bad_json``). ``json.JSONDecodeError`` passes through for the
        caller's own message (line and column).
    """
    if scan_brackets(text, MAX_JSON_DEPTH)[0] > MAX_JSON_DEPTH:
        raise _reject(
            file,
            "bad_json",
            f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep: it is not a portal export",
            "export the data from the portal again",
        )

    def pairs(items):
        seen: dict = {}
        for key, value in items:
            if key in seen:
                raise _reject(
                    file,
                    "duplicate_key",
                    f"the JSON gives key {key!r} twice in one object ({seen[key]!r} and "
                    f"{value!r}): which one is meant cannot be told",
                    "remove one of the two, or export the file again",
                    column=key,
                    value=str(value)[:60],
                )
            seen[key] = value
        return seen

    return json.loads(text, object_pairs_hook=pairs)
