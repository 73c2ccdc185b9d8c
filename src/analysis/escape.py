"""One escaping rule per output kind, applied where that kind is written.

Text from data (agency, procedure and unit names, titles) reaches five kinds of output. Each
has its own way of turning text into code, so each has exactly one function here, and the
writer of that kind calls it on every cell or string it takes from data:

- ``html_text`` / ``html_attr``: element content and quoted attribute values;
- ``css_string``: a quoted CSS string (the running footer's ``content: "…"``). Only letters,
  digits, spaces and a few punctuation marks pass; everything else becomes ``\\HHHHHH`` so
  ``</style>``, quotes, backslashes and line breaks can never end the string or the block;
- ``xlsx_cell``: a workbook cell. Text that a spreadsheet would run as a formula (starting
  with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is stored as text with Excel's
  quote prefix, so it shows as typed and never runs;
- ``csv_cell``: a CSV cell opened in a spreadsheet (OWASP CSV injection): such text gets a
  leading apostrophe.
"""

from __future__ import annotations

import html
import re
from typing import Any

# A spreadsheet reads a cell starting with one of these as a formula (or DDE command).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_CSS_SAFE = re.compile(r"[\w .,:;()/%–—·]", re.UNICODE)
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def html_text(value: Any) -> str:
    """Text for HTML element content: ``& < >`` (and quotes) escaped."""
    return html.escape(str(value), quote=True)


def html_attr(value: Any) -> str:
    """Text for a double- or single-quoted HTML attribute value."""
    return html.escape(str(value), quote=True)


def css_string(value: Any) -> str:
    """The inside of a double-quoted CSS string: every character outside a small safe set
    (letters of any script, digits, space and ``.,:;()/%–—·``) as a CSS escape ``\\HHHHHH``."""
    return "".join(ch if _CSS_SAFE.fullmatch(ch) else f"\\{ord(ch):06X}" for ch in str(value))


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula. A plain signed number
    ("-0,3", "+5") is data, not a formula, and stays as it is."""
    return text.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(text.strip())


def xlsx_cell(cell) -> None:
    """Make an openpyxl cell that holds formula-like text hold it as plain text.

    openpyxl stores a string starting with ``=`` as a formula (``data_type "f"``); this
    turns it back into a string cell with Excel's quote prefix, which displays the text as
    typed. Numbers, dates and ordinary text are left as they are.
    """
    value = cell.value
    if isinstance(value, str) and is_formula_like(value):
        cell.value = value  # re-set: openpyxl infers "f" from a leading "="
        cell.data_type = "s"
        cell.quotePrefix = True


def xlsx_sheet(sheet) -> None:
    """Apply :func:`xlsx_cell` to every cell of a worksheet (after it is filled)."""
    for row in sheet.iter_rows():
        for cell in row:
            xlsx_cell(cell)


def csv_cell(value: Any) -> Any:
    """A value for a CSV file that a spreadsheet will open: formula-like text gets a leading
    apostrophe (shown, never run); everything else is returned unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value
