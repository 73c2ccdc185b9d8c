"""Calendar regressors for monthly series: the Lunar New Year (Tết) holiday.

Dossier volumes and channels shift in the Tết weeks, and Tết moves between late January and
mid February, so month dummies cannot absorb it; the number of Tết holiday days falling in each
month can. Dates come from the ``holidays`` package (country VN), offline and deterministic.
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import pandas as pd

from analysis.errors import WorkbenchError

# The package's names are translated; the English ones are stable across versions and all Tết
# days carry "Lunar New Year" ("29 of Lunar New Year", "Lunar New Year's Eve", "Second Day of
# Lunar New Year", ...). The Vietnamese names cannot be used as they are: "Tết" also names the
# solar New Year's Day ("Tết Dương lịch").
_LANGUAGE = "en_US"
_TET_MARKER = "Lunar New Year"
_FIRST_YEAR, _LAST_YEAR = 1901, 2100  # the years the package covers for VN


@lru_cache(maxsize=256)
def _tet_dates(year: int) -> tuple[pd.Timestamp, ...]:
    calendar = holidays.country_holidays("VN", years=year, language=_LANGUAGE)
    return tuple(sorted(pd.Timestamp(day) for day, name in calendar.items() if _TET_MARKER in name))


def tet_days(months: pd.DatetimeIndex) -> pd.Series:
    """Number of Lunar New Year (Tết) public-holiday days falling in each month.

    Parameters
    ----------
    months : pandas.DatetimeIndex
        Months of the series. Any day within a month stands for that month.

    Returns
    -------
    pandas.Series
        Integer counts named ``tet_days``, indexed by ``months`` as given. For example Tết 2023
        (22 January) gives 7 days to January 2023, Tết 2022 (1 February) gives 1 day to January
        (the eve, 31 January) and 4 days to February 2022.

    Raises
    ------
    WorkbenchError
        If a month is missing (NaT) or outside the years the holiday calendar covers.

    Notes
    -----
    The days are the official holidays of the ``holidays`` package (including the day-before
    and eve when the package lists them); weekends inside the holiday are counted, bridging
    days swapped with a later Saturday are not.
    """
    index = pd.DatetimeIndex(months)
    if index.hasnans:
        raise WorkbenchError(
            "tet_days: a month is missing (NaT)", "give a month for every row of the series"
        )
    periods = index.to_period("M")
    if len(index) and (index.year.min() < _FIRST_YEAR or index.year.max() > _LAST_YEAR):
        raise WorkbenchError(
            f"tet_days: months from {index.min():%Y-%m} to {index.max():%Y-%m} fall outside the "
            f"holiday calendar ({_FIRST_YEAR}–{_LAST_YEAR})",
            "check the month column",
        )
    counts: dict[pd.Period, int] = {}
    # A Tết holiday never spans two calendar years, so the years of the months suffice.
    for year in sorted(set(index.year)):
        for day in _tet_dates(int(year)):
            period = day.to_period("M")
            counts[period] = counts.get(period, 0) + 1
    values = [counts.get(period, 0) for period in periods]
    return pd.Series(values, index=months, name="tet_days", dtype="int64")
