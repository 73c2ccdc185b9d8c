"""Cell parsers of the importers: months, periods, numbers both ways, percentages.

Every expected value is written by hand from the rule it tests. The parsers return
(value, problem) and never raise: the property test at the end feeds them arbitrary text.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.ingest import values
from analysis.ingest.values import Percent

JUNE_2023 = pd.Timestamp("2023-06-01")


@pytest.mark.parametrize(
    "cell",
    [
        "2023-06",
        "2023-6",
        "2023/06",
        "2023-06-01",
        "2023-06-15 00:00:00",
        "06/2023",
        "6/2023",
        "6-2023",
        "T6/2023",
        "T06/2023",
        "t6-2023",
        "Tháng 6/2023",
        "tháng 06/2023",
        "Tháng 06 năm 2023",
        "THANG 6 NAM 2023",
        "Thang 6/2023",
        "01/06/2023",  # day first, as Vietnamese dates are written
        "Jun 2023",
        "June 2023",
        202306,
        "202306",
        dt.datetime(2023, 6, 1),
        dt.date(2023, 6, 30),
        pd.Timestamp("2023-06-20"),
    ],
)
def test_months_in_every_spelling(cell):
    assert values.parse_month(cell) == (JUNE_2023, None)


def test_month_with_a_separate_year_column():
    assert values.parse_month("6", year="2023") == (JUNE_2023, None)
    assert values.parse_month(6, year=2023) == (JUNE_2023, None)
    assert values.parse_month("T6", year=2023.0) == (JUNE_2023, None)


def test_month_in_cp1258_decomposed_form_is_read():
    # Windows-1258 text decoded without NFC has the tone mark as a separate character.
    import unicodedata

    assert values.parse_month(unicodedata.normalize("NFD", "Tháng 6/2023"))[0] == JUNE_2023


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("Tháng 13/2023", "bad_month"),
        ("2023-00", "bad_month"),
        ("mùa hè 2023", "bad_month"),
        ("", "missing_value"),
        (None, "missing_value"),
        (True, "bad_month"),
        (2023.5, "bad_month"),
    ],
)
def test_bad_months_say_why(cell, kind):
    month, bad = values.parse_month(cell)
    assert month is None
    assert bad.kind == kind
    assert "2023-06" in bad.hint or bad.kind == "missing_value"


@pytest.mark.parametrize(
    ("cell", "label", "start"),
    [
        ("2024-05", "2024-05", "2024-05-01"),
        ("Tháng 5/2024", "2024-05", "2024-05-01"),
        ("Quý 1/2024", "2024-Q1", "2024-01-01"),
        ("Quý I năm 2024", "2024-Q1", "2024-01-01"),
        ("quý IV/2024", "2024-Q4", "2024-10-01"),
        ("Q3/2024", "2024-Q3", "2024-07-01"),
        ("2024-Q2", "2024-Q2", "2024-04-01"),
        ("6 tháng đầu năm 2024", "2024-H1", "2024-01-01"),
        ("6 tháng cuối năm 2024", "2024-H2", "2024-07-01"),
        ("H2/2024", "2024-H2", "2024-07-01"),
        ("2024-H1", "2024-H1", "2024-01-01"),
        ("Năm 2024", "2024", "2024-01-01"),
        ("2024", "2024", "2024-01-01"),
        (2024, "2024", "2024-01-01"),
    ],
)
def test_periods(cell, label, start):
    period, bad = values.parse_period(cell)
    assert bad is None
    assert (period.label, period.start) == (label, pd.Timestamp(start))


def test_bad_period():
    period, bad = values.parse_period("Quý 5/2024")
    assert period is None and bad.kind == "bad_period"


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "proof"),
    [
        ("1.234,5", "vi"),
        ("1,234.5", "en"),
        ("1.234.567", "vi"),
        ("1,234,567", "en"),
        ("12,5", "vi"),
        ("12.5", "en"),
        ("0,123", "vi"),  # a leading zero cannot start a thousands group
        ("79,4%", "vi"),
        ("1.234", None),  # one separator and three digits: either way
        ("1,234", None),
        ("1234", None),
        ("abc", None),
        (1234.5, None),
    ],
)
def test_evidence_of_a_cell(cell, proof):
    assert values.evidence(cell) == proof


def test_convention_is_the_majority_and_none_on_a_tie():
    assert values.convention(["1.234,5", "12,5", "3.5"]) == "vi"
    assert values.convention(["12,5", "3.5"]) is None
    assert values.convention(["1.234", "100"]) is None


@pytest.mark.parametrize(
    ("cell", "conv", "ambiguous", "expected"),
    [
        ("1.234,5", None, "thousands", 1234.5),
        ("1,234.5", None, "thousands", 1234.5),
        ("1.234.567", None, "thousands", 1234567.0),
        ("1 234", None, "thousands", 1234.0),
        ("1\u00a0234", None, "thousands", 1234.0),
        ("-5", None, "thousands", -5.0),
        ("12,5", None, "decimal", 12.5),
        # Ambiguous "1.234": the file's convention decides ...
        ("1.234", "vi", "decimal", 1234.0),
        ("1.234", "en", "thousands", 1.234),
        ("1,234", "vi", "thousands", 1.234),
        ("1,234", "en", "decimal", 1234.0),
        # ... and without one, what the column can hold: a count is whole, a rate is small.
        ("1.234", None, "thousands", 1234.0),
        ("1,234", None, "thousands", 1234.0),
        ("1.234", None, "decimal", 1.234),
        ("1,234", None, "decimal", 1.234),
        (17, None, "thousands", 17.0),
        (17.25, None, "decimal", 17.25),
    ],
)
def test_numbers_both_ways(cell, conv, ambiguous, expected):
    assert values.parse_number(cell, conv, ambiguous) == (expected, None)


@pytest.mark.parametrize(
    "cell", ["12a", "1.2.3,4,5", "1,23,456", "1..2", "--5", "khoảng 300", True]
)
def test_not_numbers(cell):
    number, bad = values.parse_number(cell)
    assert number is None and bad.kind == "not_a_number"


@pytest.mark.parametrize("cell", [None, "", " ", "-", "—", float("nan")])
def test_blank_cells_are_no_number_and_no_problem(cell):
    assert values.parse_number(cell) == (None, None)


def test_counts():
    assert values.parse_count("1.250", "vi") == (1250, None)
    assert values.parse_count(1250.0) == (1250, None)
    assert values.parse_count("-5")[1].kind == "negative_count"
    assert values.parse_count("900,5", "vi")[1].kind == "not_whole"
    assert values.parse_count("1.234", "en")[1].kind == "not_whole"  # 1.234 dossiers
    assert values.parse_count("45%")[1].kind == "not_a_number"
    assert values.parse_count(Percent(45.0))[1].kind == "not_a_number"


@pytest.mark.parametrize(
    ("cell", "conv", "expected"),
    [
        ("79,4%", None, 79.4),
        ("79.4 %", None, 79.4),
        ("79,4", "vi", 79.4),
        ("100", None, 100.0),
        (Percent(79.4), None, 79.4),  # an Excel cell formatted as %, 0.794 stored
        ("112,5%", None, 112.5),  # out of range is the caller's to report, with the column
    ],
)
def test_percent(cell, conv, expected):
    assert values.parse_percent(cell, conv) == (pytest.approx(expected), None)


def test_scores_refuse_percent_signs():
    assert values.parse_score("15,5") == (15.5, None)
    assert values.parse_score("15%")[1].kind == "not_a_number"


def test_decimals_shown():
    assert values.decimals("7,8") == 1
    assert values.decimals("18") == 0
    assert values.decimals(15.25) == 2
    assert values.decimals(18.0) == 0


def test_provinces_on_the_map_of_their_month():
    before, bad = values.resolve_province("Hà Giang", pd.Timestamp("2025-06-01"))
    assert bad is None and (before.boundary, before.name) == ("old63", "Hà Giang")
    after, bad = values.resolve_province("Hà Giang", pd.Timestamp("2025-07-01"))
    assert after is None and bad.kind == "province_not_on_map" and "Tuyên Quang" in bad.message
    same, bad = values.resolve_province("TP. HCM", pd.Timestamp("2025-08-01"))
    assert bad is None and (same.boundary, same.code) == ("new34", "79")
    assert values.resolve_province("Tỉnh Xyz", None)[1].kind == "unknown_province"


def test_month_window():
    today = pd.Timestamp("2025-10-15")
    first = pd.Timestamp("2015-01-01")
    assert values.month_window(pd.Timestamp("2025-10-01"), first, today) is None
    assert values.month_window(pd.Timestamp("2025-11-01"), first, today).kind == "month_in_future"
    assert values.month_window(pd.Timestamp("2014-12-01"), first, today).kind == (
        "month_out_of_range"
    )


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789.,-% T/thángnăm", max_size=14),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.none(),
        st.booleans(),
    ),
    st.sampled_from([None, "vi", "en"]),
)
def test_parsers_never_raise(cell, conv):
    for result in (
        values.parse_month(cell),
        values.parse_period(cell),
        values.parse_number(cell, conv),
        values.parse_count(cell, conv),
        values.parse_percent(cell, conv),
        values.parse_score(cell, conv),
    ):
        value, bad = result
        assert bad is None or isinstance(bad, values.Bad)
    values.evidence(cell)
    values.shown(cell)


def test_period_end():
    assert values.parse_period("Năm 2025")[0].end == pd.Timestamp("2025-12-01")
    assert values.parse_period("Quý 2/2025")[0].end == pd.Timestamp("2025-06-01")
    assert values.parse_period("2025-H2")[0].end == pd.Timestamp("2025-12-01")
    assert values.parse_period("2025-05")[0].end == pd.Timestamp("2025-05-01")
