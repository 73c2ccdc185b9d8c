"""The exploration of one province: papermill -> HTML/PDF, and its numbers worked out again.

Expected values come from the panel's Parquet file and the crosswalk CSV with plain pandas
(sum the counts, divide, take the median), or from hand-made counts whose rates are done on
paper; never from the program's own output. Rates are compared at the one decimal the document
prints: a tolerance of 0.05 percentage points (half the last printed digit) plus float slack.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from analysis import config, panel
from analysis.documents import explore as ex
from analysis.errors import WorkbenchError
from analysis.render.document import render

NOTEBOOK = config.NOTEBOOKS_DIR / "10_explore_province.ipynb"
CROSSWALK = config.PACKAGE_DATA / "provinces_2025.csv"
PROVINCES = config.PACKAGE_DATA / "provinces.csv"
CODE_MARKERS = ("from analysis import", "display(", "ex.prepare", "data_path =")
HALF_DIGIT = 0.05 + 1e-9  # percentage points: the rounding of a number printed with one decimal


@pytest.fixture(scope="module")
def rendered_vi(document):
    """Thái Nguyên in Vietnamese, by quarter: the session's shared exploration (tests/conftest.py)."""
    return document(NOTEBOOK.name)


@pytest.fixture(scope="module")
def rendered_en(synthetic_dir, tmp_path_factory):
    """English, by month, for a province asked by its old name (Bắc Giang is now in Bắc Ninh)."""
    out = tmp_path_factory.mktemp("explore_en")
    done = render(
        NOTEBOOK,
        {"province": "Bac Giang", "lang": "en", "freq": "M", "data_path": str(synthetic_dir)},
        out,
        "bac-giang.en",
        ("html",),
    )
    return done.outputs


def _main(path: Path) -> str:
    """The document's body (no CSS), with entities decoded."""
    html = path.read_text(encoding="utf-8")
    return unescape(html.split("<main>", 1)[1])


def _finding(path: Path) -> str:
    return re.search(r'<p class="finding">(.*?)</p>', _main(path), re.S).group(1)


def _number(text: str, lang: str) -> float:
    return float(text.replace(".", "").replace(",", ".") if lang == "vi" else text.replace(",", ""))


def _latest_rates(parquet: Path, freq: str) -> tuple[pd.Series, pd.Timestamp]:
    """online_rate of every province in the last period: counts summed per province, divided."""
    df = pd.read_parquet(parquet)
    last = df["month"].max()
    period = df["month"].dt.to_period(freq)
    cur = df[period == last.to_period(freq)]
    assert set(cur["boundary"]) == {"new34"}  # the last period is after the merger
    sums = cur.groupby("province_code")[["dossiers_online", "dossiers_received"]].sum()
    return sums["dossiers_online"] / sums["dossiers_received"], last


def _region_codes(code: str) -> list[str]:
    table = pd.read_csv(PROVINCES, dtype=str)
    new = table[table["boundary"] == "new34"]
    region = new.loc[new["code"] == code, "region"].iloc[0]
    return list(new.loc[new["region"] == region, "code"])


# --- the rendered documents -------------------------------------------------------------------


@pytest.mark.render
def test_html_shows_results_not_code(rendered_vi, rendered_en):
    for outputs in (rendered_vi, rendered_en):
        html = outputs["html"].read_text(encoding="utf-8")
        for marker in CODE_MARKERS:
            assert marker not in html
        assert "<script" not in html.lower()
        assert "SHA-256" in html  # the data file hashes in the provenance footer
    vi = rendered_vi["html"].read_text(encoding="utf-8")
    assert "Khám phá số liệu — Thái Nguyên" in vi
    assert "Dữ liệu mô phỏng" in vi
    assert "01/01/2021–30/09/2026" in vi  # the period covered, dd/mm/yyyy
    en = rendered_en["html"].read_text(encoding="utf-8")
    assert "Data exploration — Bắc Giang" in en and "SYNTHETIC DATA" in en


@pytest.mark.render
def test_pdf_carries_title_and_watermark(rendered_vi):
    text = " ".join(page.extract_text() for page in PdfReader(rendered_vi["pdf"]).pages)
    text = " ".join(text.replace("\xa0", " ").split())
    assert "Khám phá số liệu — Thái Nguyên" in text
    assert "DỮ LIỆU MÔ PHỎNG" in text


@pytest.mark.render
def test_latest_medians_are_medians_of_province_rates(rendered_vi, synthetic_dir):
    rates, _ = _latest_rates(synthetic_dir / "panel.parquet", "Q")
    finding = _finding(rendered_vi["html"])
    national = re.search(r"trung vị toàn quốc (\d+,\d)\u00a0%", finding).group(1)
    assert abs(_number(national, "vi") - 100 * rates.median()) <= HALF_DIGIT
    regional = re.search(r"trung vị vùng [^\d]+ (\d+,\d)\u00a0%", finding).group(1)
    expected = rates[rates.index.isin(_region_codes("19"))].median()
    assert abs(_number(regional, "vi") - 100 * expected) <= HALF_DIGIT
    own = re.search(r"của Thái Nguyên là (\d+,\d)\u00a0%", finding).group(1)
    assert abs(_number(own, "vi") - 100 * rates["19"]) <= HALF_DIGIT
    assert "34 tỉnh, thành phố" in finding


@pytest.mark.render
def test_latest_median_by_month_in_english(rendered_en, synthetic_dir):
    rates, last = _latest_rates(synthetic_dir / "panel.parquet", "M")
    finding = _finding(rendered_en["html"])
    assert finding.startswith("Bắc Giang merged into Bắc Ninh on 01/07/2025")
    assert f"In {last:%b %Y}, Bắc Ninh" in finding
    national = re.search(r"national median of (\d+\.\d)%", finding).group(1)
    assert abs(float(national) - 100 * rates.median()) <= HALF_DIGIT


@pytest.mark.render
def test_numbers_follow_the_language(rendered_vi, rendered_en):
    vi, en = _main(rendered_vi["html"]), _main(rendered_en["html"])
    assert re.search(r"\d,\d\u00a0%", vi) and not re.search(r"\d\.\d%", vi)
    assert re.search(r"\d\.\d%", en) and not re.search(r"\d,\d\u00a0%", en)
    assert "điểm\u00a0%" in vi and "\u00a0pp" in en


@pytest.mark.render
def test_merger_table_shows_the_sum_of_the_old_provinces(rendered_vi, synthetic_dir):
    df = pd.read_parquet(synthetic_dir / "panel.parquet")
    walk = pd.read_csv(CROSSWALK, dtype=str)
    olds = walk.loc[walk["new_code"] == "19", "old_code"].tolist()
    assert sorted(olds) == ["06", "19"]
    q2 = df[
        (df["boundary"] == "old63")
        & df["province_code"].isin(olds)
        & (df["month"].dt.to_period("Q") == pd.Period("2025Q2"))
    ]
    received = int(q2["dossiers_received"].sum())
    book = load_workbook(rendered_vi["xlsx"])
    sheet = next(
        book[name]
        for name in book.sheetnames
        if "Quý cuối trước sáp nhập" in str(book[name]["A1"].value)
    )
    header = [c.value for c in sheet[2]]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0]}
    total = header.index("Tổng = Thái Nguyên mới")
    assert rows["Hồ sơ tiếp nhận"][total] == f"{received:,}".replace(",", ".")
    online = int(q2["dossiers_online"].sum())
    shown = rows["Tỷ lệ hồ sơ nộp trực tuyến"][total].replace("\xa0%", "")
    assert abs(_number(shown, "vi") - 100 * online / received) <= HALF_DIGIT
    assert "Thái Nguyên mới = Thái Nguyên + Bắc Kạn" in _main(rendered_vi["html"])


# --- the numbers behind the document ----------------------------------------------------------


def test_pre_merger_series_is_the_sum_of_the_old_provinces(synthetic_dir):
    x = ex.prepare("Thái Nguyên", data_path=str(synthetic_dir))
    assert x.mode == "new" and [p.name for p in x.predecessors] == ["Thái Nguyên", "Bắc Kạn"]
    df = pd.read_parquet(synthetic_dir / "panel.parquet")
    walk = pd.read_csv(CROSSWALK, dtype=str)
    olds = walk.loc[walk["new_code"] == "19", "old_code"]
    old = df[(df["boundary"] == "old63") & df["province_code"].isin(olds)]
    old = old[old["month"] >= "2021-01-01"]
    expected = old.groupby(old["month"].dt.to_period("Q"))[panel.COUNT_COLUMNS].sum()
    got = x.line[x.line["period"].dt.end_time < pd.Timestamp("2025-07-01")]
    assert got["summed"].all() and len(got) == len(expected) == 18
    got = got.set_index("period")[panel.COUNT_COLUMNS].astype("int64")
    pd.testing.assert_frame_equal(got, expected, check_names=False)
    # After the merger the series is the new province's own rows.
    new = df[(df["boundary"] == "new34") & (df["province_code"] == "19")]
    after = x.line[~x.line["summed"]].set_index("period")["dossiers_received"]
    assert after.sum() == new["dossiers_received"].sum()


def test_old_name_shows_the_old_province_then_its_successor(synthetic_dir):
    x = ex.prepare("Bac Kan", data_path=str(synthetic_dir), lang="en")
    assert x.mode == "old_merged" and x.successor.name == "Thái Nguyên"
    before = x.line[x.line["period"] < pd.Period("2025Q3")]
    after = x.line[x.line["period"] >= pd.Period("2025Q3")]
    assert set(zip(before["boundary"], before["province_code"], strict=True)) == {("old63", "06")}
    assert set(zip(after["boundary"], after["province_code"], strict=True)) == {("new34", "19")}
    df = pd.read_parquet(synthetic_dir / "panel.parquet")
    own = df[(df["boundary"] == "old63") & (df["province_code"] == "06")]
    own = own[own["month"].dt.to_period("Q") == pd.Period("2025Q2")]
    q2 = before.set_index("period").loc[pd.Period("2025Q2")]
    assert q2["dossiers_online"] == own["dossiers_online"].sum()
    assert ex.meta(x).data["title"] == "Data exploration — Bắc Kạn"
    text = " ".join(b.text for b in ex.merger(x) if hasattr(b, "text"))
    assert "merged into Thái Nguyên" in text and "up to 06/2025" in text


def test_unmerged_province_says_so_in_one_line(synthetic_dir):
    x = ex.prepare("Cao Bằng", data_path=str(synthetic_dir), lang="en")
    blocks = ex.merger(x)
    assert len(blocks) == 1 and "kept its territory" in blocks[0].text


# --- small numbers and unreported counts, on hand-made counts ----------------------------------

# Counts per row: a level with enough dossiers, and a district with three a month.
FULL = dict(
    dossiers_received=50,
    dossiers_online=30,
    dossiers_fully_online=10,
    dossiers_handled=50,
    dossiers_on_time=45,
    dossiers_synced=40,
    dossiers_fee_bearing=20,
    dossiers_paid_online=10,
    dossiers_result_issuing=40,
    dossiers_e_result=20,
    dossiers_digitised=35,
    ratings=25,
    ratings_satisfied=20,
)
FEW = {k: min(v, 3) if k.endswith(("received", "handled")) else min(v, 1) for k, v in FULL.items()}


def _small_panel(drop: tuple[str, str] | None = None) -> pd.DataFrame:
    """Old Thái Nguyên (19) and Bắc Kạn (06) 2024-01..2025-06, new Thái Nguyên 2025-07..09.

    Old Thái Nguyên's commune level did not report its ratings in 05/2025 (missing, not 0);
    ``drop`` removes one old province's rows of one month.
    """
    rows = []
    for code, name in (("19", "Thái Nguyên"), ("06", "Bắc Kạn")):
        for month in pd.date_range("2024-01-01", "2025-06-01", freq="MS"):
            for level in panel.LEVELS:
                counts = FEW if level == "district" else FULL
                rows.append(("old63", code, name, level, month, *counts.values()))
    for month in pd.date_range("2025-07-01", "2025-09-01", freq="MS"):
        for level in ("province", "commune"):
            rows.append(("new34", "19", "Thái Nguyên", level, month, *FULL.values()))
    df = pd.DataFrame(rows, columns=panel.KEY_COLUMNS + list(FULL))
    for column in ("ratings", "ratings_satisfied"):
        df[column] = df[column].astype("Int64")
    gap = (df["province_code"] == "19") & (df["level"] == "commune")
    gap &= (df["boundary"] == "old63") & (df["month"] == "2025-05-01")
    df.loc[gap, ["ratings", "ratings_satisfied"]] = pd.NA
    if drop is not None:
        df = df[~((df["province_code"] == drop[0]) & (df["month"] == drop[1]))]
    return df


def test_small_level_is_a_dash_and_unreported_is_never_zero(tmp_path):
    panel.save(_small_panel(), tmp_path / "panel.parquet")
    x = ex.prepare("Thái Nguyên", start="2024-01", end="2025-06", data_path=str(tmp_path))
    assert x.mode == "old"
    table = ex.levels_table(x)
    frame = table.frame.set_axis(["rate", "level", "num", "den", "value"], axis=1)
    district = frame[frame["level"] == "Cấp huyện"]
    # 3 dossiers a month: 9 in the quarter, under 20: no rate, however it comes out.
    assert len(district) == len(panel.RATES) and (district["value"] == "—").all()
    assert district.iloc[0]["den"] == "9"
    province = frame[frame["level"] == "Cấp tỉnh"].set_index("rate")["value"]
    assert province["Tỷ lệ hồ sơ nộp trực tuyến"] == "60,0\u00a0%"  # 90 / 150
    assert province["Tỷ lệ đánh giá hài lòng"] == "80,0\u00a0%"  # 60 / 75
    commune = frame[frame["level"] == "Cấp xã"].set_index("rate")
    # May's ratings were not reported: the quarter's ratings are unknown, not 0.
    assert tuple(commune.loc["Tỷ lệ đánh giá hài lòng", ["num", "den", "value"]]) == ("—",) * 3
    assert not frame["value"].str.startswith("0,0").any()
    assert "dưới 20 hồ sơ" in table.note
    coverage = ex.coverage_table(x).frame.set_axis(list("pltmaun"), axis=1)
    row = coverage[coverage["l"] == "Cấp xã"].iloc[0]
    assert row["m"] == "18/18" and row["u"] == "1"
    assert row["n"] == "Lượt đánh giá (1); Lượt đánh giá hài lòng (1)"


def test_a_sum_missing_an_old_province_is_not_shown(tmp_path):
    panel.save(_small_panel(drop=("06", "2024-04-01")), tmp_path / "panel.parquet")
    x = ex.prepare("Thái Nguyên", start="2024-01", data_path=str(tmp_path))
    assert x.mode == "new" and x.end == pd.Timestamp("2025-09-01")
    line = x.line.set_index("period")
    # Q1 2024 by hand: 2 old provinces x 3 months x (50 + 3 + 50) received, (30 + 1 + 30) online.
    assert line.loc[pd.Period("2024Q1"), "dossiers_received"] == 618
    assert line.loc[pd.Period("2024Q1"), "dossiers_online"] == 366
    # Bắc Kạn has no rows for 04/2024: Thái Nguyên's sum for Q2 2024 would be a smaller province.
    assert pd.isna(line.loc[pd.Period("2024Q2"), "dossiers_received"])
    assert pd.isna(line.loc[pd.Period("2024Q2"), "online_rate"])
    coverage = ex.coverage_table(x).frame.set_axis(list("pltmaun"), axis=1)
    bac_kan = coverage[coverage["p"] == "Bắc Kạn (tỉnh cũ)"]
    assert (bac_kan["a"] == "1 (04/2024)").all() and (bac_kan["m"] == "17/18").all()
    # A quarter cut by the start month is complete with the months asked for: 2 x 2 x 103.
    x = ex.prepare("Thái Nguyên", start="2024-02", data_path=str(tmp_path))
    assert x.line.set_index("period").loc[pd.Period("2024Q1"), "dossiers_received"] == 412


# --- mistakes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"province": "Atlantis"}, "closest names"),
        ({"province": "Thái Nguyên", "start": "2025-01", "end": "2024-01"}, "after the end"),
        ({"province": "Thái Nguyên", "start": "2019-01"}, "outside the data"),
        ({"province": "Thái Nguyên", "end": "2027-01"}, "outside the data"),
        ({"province": "Thái Nguyên", "start": "01/2021"}, "YYYY-MM"),
        ({"province": "Thái Nguyên", "freq": "Y"}, "unknown frequency"),
        ({"province": "Thái Nguyên", "lang": "fr"}, "unknown language"),
    ],
)
def test_bad_input_is_a_workbench_error(synthetic_dir, arguments, words):
    with pytest.raises(WorkbenchError) as err:
        ex.prepare(**arguments, data_path=str(synthetic_dir))
    assert words in str(err.value) and err.value.hint


@pytest.mark.render
def test_bad_input_in_the_notebook_is_a_workbench_error(synthetic_dir, tmp_path):
    with pytest.raises(WorkbenchError, match="Atlantis"):
        render(NOTEBOOK, {"province": "Atlantis", "data_path": str(synthetic_dir)}, tmp_path, "x")
