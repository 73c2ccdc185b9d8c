"""The Tết-days regressor against the `holidays` package and the dates in calibration.md.

Expected day counts are worked out by hand from the holiday lists of `holidays` 0.109 (VN):
2022: 31 Jan (eve), 1–4 Feb; 2023: 20–26 Jan; 2024: 8–14 Feb; 2025: 27 Jan – 1 Feb.
"""

from __future__ import annotations

import datetime as dt

import holidays
import pandas as pd
import pytest

from analysis.calendar import tet_days
from analysis.errors import WorkbenchError

# Lunar New Year's Day, from /work/shared/reference/calibration.md (section Seasonality).
CALIBRATION_TET = ["2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29", "2026-02-17"]


def _months(first: str, last: str) -> pd.DatetimeIndex:
    return pd.date_range(first, last, freq="MS")


def test_tet_2023_falls_in_january() -> None:
    days = tet_days(_months("2022-12-01", "2023-03-01"))
    # 20 Jan (29 Tết) to 26 Jan (fifth day): 7 days, all in January.
    assert days.tolist() == [0, 7, 0, 0]


def test_tet_2024_falls_in_february() -> None:
    days = tet_days(_months("2024-01-01", "2024-03-01"))
    # 8 Feb (29 Tết) to 14 Feb: 7 days in February; New Year's Day (Tết Dương lịch) not counted.
    assert days.tolist() == [0, 7, 0]


def test_tet_2022_is_split_between_january_and_february() -> None:
    days = tet_days(_months("2022-01-01", "2022-02-01"))
    # Eve on 31 Jan, then 1–4 Feb.
    assert days.tolist() == [1, 4]


def test_tet_2025_is_split_between_january_and_february() -> None:
    days = tet_days(_months("2025-01-01", "2025-02-01"))
    # 27–31 Jan, then 1 Feb.
    assert days.tolist() == [5, 1]


@pytest.mark.parametrize("day", CALIBRATION_TET)
def test_calibration_dates_are_lunar_new_year_in_the_package(day: str) -> None:
    ts = pd.Timestamp(day)
    calendar = holidays.country_holidays("VN", years=ts.year, language="en_US")
    assert calendar.get(ts.date()) == "Lunar New Year"
    assert tet_days(pd.DatetimeIndex([ts.replace(day=1)])).iloc[0] >= 1


@pytest.mark.parametrize("year", range(2015, 2031))
def test_days_per_year_match_the_package(year: int) -> None:
    calendar = holidays.country_holidays("VN", years=year, language="en_US")
    listed = [day for day, name in calendar.items() if "Lunar New Year" in name]
    days = tet_days(_months(f"{year}-01-01", f"{year}-12-01"))
    assert days.sum() == len(listed)
    by_month = pd.Series([d.month for d in listed]).value_counts()
    assert days[days > 0].to_dict() == {
        pd.Timestamp(year, month, 1): count for month, count in by_month.items()
    }


def test_any_day_stands_for_its_month_and_index_is_kept() -> None:
    months = pd.DatetimeIndex(["2023-01-15", "2024-02-29"])
    days = tet_days(months)
    assert days.name == "tet_days"
    assert days.index.equals(months)
    assert days.tolist() == [7, 7]


def test_other_months_have_no_tet_days() -> None:
    days = tet_days(_months("2023-03-01", "2023-12-01"))
    assert (days == 0).all()


def test_missing_month_is_a_workbench_error() -> None:
    with pytest.raises(WorkbenchError, match="missing"):
        tet_days(pd.DatetimeIndex([dt.datetime(2023, 1, 1), pd.NaT]))


def test_years_outside_the_calendar_are_a_workbench_error() -> None:
    with pytest.raises(WorkbenchError, match="outside the holiday calendar"):
        tet_days(pd.DatetimeIndex(["1890-01-01"]))
