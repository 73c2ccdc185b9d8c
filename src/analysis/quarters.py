"""Quarters as analysts write them, and the map each one is shown on.

The quarterly report, the national overview and the batch run lists share these rules: a
quarter is read from ``2024Q2`` (also ``2024-Q2``, ``2024 q2``, ``Q2/2024``); quarters ending
before the merger of 1 July 2025 use the 63 old provinces, later ones the 34 new provinces.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis import config, i18n
from analysis.errors import WorkbenchError

_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]\s*([1-4])\s*$")
_QUARTER_VI = re.compile(r"^\s*[Qq]\s*([1-4])\s*[-/ ]\s*(\d{4})\s*$")


def parse_quarter(text: str) -> pd.Period:
    """Read a quarter: ``2024Q2`` (also ``2024-Q2``, ``2024 q2``, ``Q2/2024``).

    Raises
    ------
    WorkbenchError
        For anything else, with an example.
    """
    text = str(text)
    m = _QUARTER.match(text)
    if m:
        year, q = m.group(1), m.group(2)
    else:
        m = _QUARTER_VI.match(text)
        if not m:
            raise WorkbenchError(
                f"{text!r} is not a quarter", hint='write the year and quarter, e.g. "2024Q2"'
            )
        q, year = m.group(1), m.group(2)
    return pd.Period(f"{year}Q{q}", freq="Q")


def boundary_of(quarter: pd.Period) -> str:
    """The boundary a quarter is shown on: old63 before ``config.MERGER_DATE``, else new34.

    Raises
    ------
    WorkbenchError
        If the merger date fell inside the quarter (the quarter would mix the two maps).
    """
    merger = pd.Timestamp(config.MERGER_DATE)
    if quarter.end_time < merger:
        return "old63"
    if quarter.start_time >= merger:
        return "new34"
    raise WorkbenchError(
        f"{quarter} straddles the merger of {i18n.date(merger)}",
        hint="choose a quarter wholly before or after the merger",
    )


def check_covered(quarter: pd.Period, first: pd.Period, last: pd.Period) -> None:
    """Refuse a quarter not wholly inside the data's months ``first`` to ``last``."""
    if quarter.asfreq("M", "end") > last:
        raise WorkbenchError(
            f"{quarter} is not complete in the data: the last month is {last} "
            f"({last.strftime('%m/%Y')})",
            hint=f"choose a quarter up to {(last + 1).asfreq('Q') - 1}",
        )
    if quarter.asfreq("M", "start") < first:
        raise WorkbenchError(
            f"{quarter} is before the data: the first month is {first} ({first.strftime('%m/%Y')})",
            hint=f"choose a quarter from {(first - 1).asfreq('Q') + 1}",
        )


def quarter_text(quarter: pd.Period, lang: str, capital: bool = False) -> str:
    """``quý 2/2024`` (``Quý 2/2024`` with ``capital``) or ``2024 Q2``."""
    text = i18n.label("quarter", lang).format(q=quarter.quarter, year=quarter.year)
    return text[:1].upper() + text[1:] if capital else text
