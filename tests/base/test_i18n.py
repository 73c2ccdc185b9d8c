"""Number, date and label formatting in Vietnamese and English (expected strings by hand)."""

from __future__ import annotations

import pytest

from analysis import i18n
from analysis.errors import WorkbenchError

NBSP = "\u00a0"


def test_vietnamese_numbers_use_decimal_comma_and_thousand_dots():
    assert i18n.number(1234567.5, "vi") == "1.234.567,5"
    assert i18n.percent(0.794, "vi") == f"79,4{NBSP}%"
    assert i18n.points(8.14, "vi") == f"+8,1{NBSP}điểm{NBSP}%"


def test_english_numbers():
    assert i18n.number(1234567.5, "en") == "1,234,567.5"
    assert i18n.percent(0.794, "en") == "79.4%"
    assert i18n.points(-2.55, "en", digits=2) == f"−2.55{NBSP}pp"


def test_dates_are_day_month_year():
    assert i18n.date("2023-06-01") == "01/06/2023"
    assert i18n.month("2022-07-01", "vi") == "07/2022"


def test_missing_values_show_a_dash_not_zero():
    assert i18n.percent(float("nan")) == "—"
    assert i18n.number(None) == "—"


def test_p_values():
    assert i18n.p_value(0.0004, "vi") == "< 0,001"
    assert i18n.p_value(0.0312, "en") == "0.031"


def test_labels_have_both_languages_and_diacritics():
    assert i18n.label("online_rate", "vi") == "Tỷ lệ hồ sơ nộp trực tuyến"
    assert i18n.label("online_rate", "en") == "Share of dossiers submitted online"
    assert i18n.label("yes", "en") == "Yes"  # YAML must not read the key as a boolean


def test_bad_language_is_a_user_error():
    with pytest.raises(WorkbenchError, match="--lang vi"):
        i18n.check_lang("fr")


def test_small_numbers_show_a_dash_never_0_or_100_percent():
    # 3 of 3 dossiers is "100 %" on paper, but three cases say nothing: below 20, a dash.
    assert i18n.share_of(3, 3, "vi") == "—"
    assert i18n.share_of(0, 19, "en") == "—"
    assert i18n.share_of(10, 20, "vi") == f"50,0{NBSP}%"
    assert i18n.share_of(1, 4, "en", minimum=2) == "25.0%"
    assert i18n.share_of(None, 100) == "—"


def test_changes_and_intervals():
    assert i18n.change(2.84, "vi") == "+2,8"
    assert i18n.change(-0.7, "en") == "−0.7"
    assert i18n.change(0.0, "vi") == "0,0"
    assert i18n.interval(-0.49, 13.72, "vi") == "\u22120,5 đến 13,7"
    assert i18n.number(-0.04, "vi") == "0,0"  # rounds to zero: no sign
    assert i18n.interval(4.56, 22.75, "en") == "4.6 to 22.8"


def test_translation_table_names_each_key_once():
    """YAML keeps the last of two equal keys without a word: a label defined twice would
    silently shadow the first."""
    from pathlib import Path

    import analysis

    text = (Path(analysis.__file__).parent / "data" / "labels.yaml").read_text(encoding="utf-8")
    keys = [line.split(":", 1)[0] for line in text.splitlines() if line[:1].isalpha()]
    assert sorted({k for k in keys if keys.count(k) > 1}) == []
