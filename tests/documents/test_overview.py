"""The national overview end to end: papermill -> nbconvert -> WeasyPrint, on the synthetic data.

Expected numbers are worked out here from the panel's counts with pandas (national rate =
sum of numerators / sum of denominators over every province and level of the quarter) and
from the generator's ground truth, never read back from the module. Tolerance: a rate or
change printed with one decimal is within 0.05 (rounding) of the exact value.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from analysis import config, i18n, registry
from analysis import panel as panel_mod
from analysis.documents import overview as ov
from analysis.errors import WorkbenchError
from analysis.render.document import render
from analysis.synthetic import panel as synth

NOTEBOOK = config.NOTEBOOKS_DIR / "40_national_overview.ipynb"
GRID = config.PACKAGE_DATA / "tile_grid.csv"
NBSP = "\u00a0"


class _Tables(HTMLParser):
    """Captions, headers and cells of every ``<figure class="table">`` of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "figure" and ("class", "table") in attrs:
            self.tables.append({"caption": "", "header": [], "rows": []})
        elif not self.tables:
            return
        elif tag == "figcaption":
            self._in_caption = True
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            self.tables[-1]["rows"][-1].append(text)
            if tag == "th":
                self.tables[-1]["header"] = self.tables[-1]["rows"][-1]
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption and self.tables:
            self.tables[-1]["caption"] += data


def tables(html: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html)
    for t in parser.tables:
        t["rows"] = [r for r in t["rows"] if r and r is not t["header"]]
    return parser.tables


def finding(html: str) -> str:
    return re.search(r'<p class="finding">(.*?)</p>', html, re.S).group(1)


def national(data_dir: Path, first: str, last: str, boundary: str) -> tuple[int, int]:
    """Online dossiers and dossiers received summed over the quarter, by hand."""
    df = pd.read_parquet(data_dir / "panel.parquet")
    rows = df[(df["boundary"] == boundary) & df["month"].between(first, last)]
    return int(rows["dossiers_online"].sum()), int(rows["dossiers_received"].sum())


def parse_number(text: str, lang: str) -> float:
    text = text.replace("\u2212", "-")
    text = text.replace(".", "").replace(",", ".") if lang == "vi" else text.replace(",", "")
    return float(text)


@pytest.fixture(scope="module")
def vi(document):
    """2024Q2 in Vietnamese: the session's shared overview (tests/conftest.py)."""
    return document(NOTEBOOK.name)


@pytest.fixture(scope="module")
def en(synthetic_full, tmp_path_factory):
    out = tmp_path_factory.mktemp("overview_en")
    params = {"quarter": "2025Q4", "lang": "en", "data_path": str(synthetic_full)}
    return render(NOTEBOOK, params, out, "overview_2025Q4_en", ("html",)).outputs


def read(outputs) -> str:
    return Path(outputs["html"]).read_text(encoding="utf-8")


@pytest.mark.render
@pytest.mark.parametrize(
    ("doc", "caption", "boundary"),
    [("vi", "Xếp hạng các tỉnh", "old63"), ("en", "Provinces ranked by", "new34")],
    ids=["vi-2024Q2", "en-2025Q4"],
)
def test_ranking_has_every_province_once(doc, caption, boundary, request):
    html = read(request.getfixturevalue(doc))
    parts = [t for t in tables(html) if caption in t["caption"]]
    names = [row[1] for t in parts for row in t["rows"]]
    expected = sorted(p.name for p in registry.provinces(boundary))
    assert sorted(names) == expected and len(names) == {"old63": 63, "new34": 34}[boundary]
    # Ranks run from 1 and the index column is there (dossiers sit beside the panel).
    assert parts[0]["rows"][0][0] == "1"
    assert "766" in parts[0]["header"][-1]


@pytest.mark.render
@pytest.mark.parametrize("doc", ["vi", "en"])
def test_html_has_no_code_and_no_script(doc, request):
    html = read(request.getfixturevalue(doc))
    for marker in ("from analysis import", "ov.prepare", "display(", "measure_kind ="):
        assert marker not in html
    assert "<script" not in html.lower()
    assert "SHA-256" in html  # provenance footer


@pytest.mark.render
def test_vi_finding_is_the_national_rate_from_summed_counts(vi, synthetic_full):
    text = finding(read(vi))
    num, den = national(synthetic_full, "2024-04-01", "2024-06-01", "old63")
    p_num, p_den = national(synthetic_full, "2024-01-01", "2024-03-01", "old63")
    # Counts in the vi_VN format (1.234.567), written by hand here.
    assert f"{num:,}".replace(",", ".") in text and f"{den:,}".replace(",", ".") in text
    rate = re.search(rf"cả nước là (\d+,\d){NBSP}%", text).group(1)
    assert abs(parse_number(rate, "vi") - 100 * num / den) <= 0.05
    word, size = re.search(rf"(tăng|giảm) (\d+,\d){NBSP}điểm{NBSP}%", text).groups()
    change = parse_number(size, "vi") * (1 if word == "tăng" else -1)
    assert abs(change - 100 * (num / den - p_num / p_den)) <= 0.051


@pytest.mark.render
def test_en_finding_is_the_national_rate_from_summed_counts(en, synthetic_full):
    text = finding(read(en))
    num, den = national(synthetic_full, "2025-10-01", "2025-12-01", "new34")
    assert f"{num:,}" in text and f"{den:,}" in text
    rate = re.search(r"was (\d+\.\d)%", text).group(1)
    assert abs(float(rate) - 100 * num / den) <= 0.05


@pytest.mark.render
def test_number_formats_follow_the_language(vi, en):
    html_vi, html_en = read(vi), read(en)
    assert re.search(rf"\d+,\d{NBSP}%", html_vi) and not re.search(r"\d+\.\d%", html_vi)
    assert re.search(r"\d+\.\d%", html_en) and not re.search(rf"\d+,\d{NBSP}%", html_en)
    assert "Tỷ lệ hồ sơ nộp trực tuyến" in html_vi
    assert "Share of dossiers submitted online" in html_en
    # 2025Q4 is on the new boundary; its previous quarter is too (no summing note needed).
    assert "34 provinces (from 01/07/2025)" in html_en


@pytest.mark.render
def test_pdf_carries_the_title(vi):
    reader = PdfReader(vi["pdf"])
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).replace(NBSP, " ").split())
    assert "Tổng quan toàn quốc — Quý 2/2024" in text
    assert "DỮ LIỆU MÔ PHỎNG" in text  # synthetic data are labelled


@pytest.mark.render
def test_thai_nguyen_fee_cut_interval_covers_the_injected_truth(vi, synthetic_full):
    html = read(vi)
    effects = next(t for t in tables(html) if "Tác động ước lượng theo tỉnh" in t["caption"])
    row = next(r for r in effects["rows"] if r[0] == "Thái Nguyên")
    assert row[2] == "01/07/2022"
    low, high = (parse_number(x, "vi") for x in re.findall(r"[-−]?\d+,\d", row[4]))
    n_post = int(row[5])
    months = pd.date_range("2022-07-01", periods=n_post, freq="MS")
    truth = synth.true_average_effect(
        pd.read_csv(synthetic_full / "ground_truth.csv", dtype={"province_code": str}),
        "thai-nguyen-fee-50",
        "online_rate",
        months,
    )
    assert truth > 3  # the effect is there to find
    assert low <= truth <= high
    # The forest plot (map + forest: two figures) draws the same estimates; its labels are
    # glyph paths in the SVG, so its rows are checked on what it is drawn from.
    assert html.count('<figure class="chart">') == 2
    drawn = ov.prepare("2024Q2", data_path=str(synthetic_full)).effects.set_index("measure_id")
    assert drawn.loc["thai-nguyen-fee-50", "ci_low"] == pytest.approx(low, abs=0.05)
    assert drawn.loc["thai-nguyen-fee-50", "ci_high"] == pytest.approx(high, abs=0.05)


def test_tile_grid_places_every_province_once():
    grid = pd.read_csv(GRID, dtype={"province_code": str})
    assert list(grid.columns) == ["boundary", "province_code", "row", "col"]
    for boundary in ("old63", "new34"):
        mine = grid[grid["boundary"] == boundary]
        assert sorted(mine["province_code"]) == [p.code for p in registry.provinces(boundary)]
        assert not mine.duplicated(["row", "col"]).any()
        at = mine.set_index("province_code")
        # North at the top, Cà Mau (96) at the bottom, Cao Bằng (04) in the first row.
        assert at.loc["96", "row"] == mine["row"].max() and at.loc["04", "row"] == 0
        # The coast to the east: Hải Phòng (31) east of Hà Nội (01).
        assert at.loc["31", "col"] > at.loc["01", "col"]
    old = grid[grid["boundary"] == "old63"].set_index("province_code")
    assert old.loc["02", "row"] == 0  # Hà Giang


@pytest.fixture(scope="module")
def small(synthetic_full, tmp_path_factory):
    """The synthetic panel with Lai Châu (old63 12) cut to 2 dossiers per level and month in
    2024Q2: 3 levels x 3 months x 2 = 18 dossiers, below the threshold of 20."""
    df = pd.read_parquet(synthetic_full / "panel.parquet")
    mask = (
        (df["boundary"] == "old63")
        & (df["province_code"] == "12")
        & df["month"].between("2024-04-01", "2024-06-01")
    )
    # Clipping every count at 2 keeps each part no larger than its whole.
    df.loc[mask, panel_mod.COUNT_COLUMNS] = df.loc[mask, panel_mod.COUNT_COLUMNS].clip(upper=2)
    assert df.loc[mask, "dossiers_received"].sum() == 18
    out = tmp_path_factory.mktemp("small")
    panel_mod.save(df, out / "panel.parquet")
    return out


@pytest.mark.render
def test_a_province_below_the_threshold_shows_a_dash(small):
    o = ov.prepare("2024Q2", data_path=str(small))
    rows = pd.concat([t.frame for t in ov.ranking(o)], ignore_index=True)
    lai_chau = rows[rows[i18n.label("province", "vi")] == "Lai Châu"].iloc[0]
    assert lai_chau.iloc[0] == "—" and lai_chau.iloc[2] == "—"  # no rank, no rate
    assert lai_chau.iloc[3] == "—"  # no change either
    assert (rows.iloc[:, 2] == "—").sum() == 1  # only that one
    # No dossier records beside this panel: no index column, and the map greys the tile.
    assert rows.shape[1] == 4
    assert "1 tỉnh, thành phố có dưới 20 hồ sơ" in ov.key_finding(o).text
    assert o.table.set_index("province")["rate"].isna()["Lai Châu"]


@pytest.mark.render
def test_no_measure_of_the_kind_is_a_paragraph(small):
    # The only digital-signature measure starts in July 2024, after the quarter.
    o = ov.prepare("2024Q2", data_path=str(small), measure_kind="digital_signature", lang="en")
    (block,) = ov.effects(o)
    assert "Free digital signatures" in block.text and "No measure" in block.text


def test_bad_input_is_a_workbench_error(synthetic_full):
    with pytest.raises(WorkbenchError, match="fee_cut") as err:
        ov.prepare("2024Q2", data_path=str(synthetic_full), measure_kind="fee-cut")
    assert "directive" in str(err.value)
    with pytest.raises(WorkbenchError) as err:
        ov.prepare("2024-Quý 2", data_path=str(synthetic_full))
    assert "2024Q2" in err.value.hint
    last = pd.read_parquet(synthetic_full / "panel.parquet")["month"].max()
    with pytest.raises(WorkbenchError, match=last.strftime("%m/%Y")):
        ov.prepare("2030Q1", data_path=str(synthetic_full))


@pytest.mark.render
def test_bad_quarter_through_the_notebook(synthetic_full, tmp_path):
    with pytest.raises(WorkbenchError, match="2024Q2"):
        render(NOTEBOOK, {"quarter": "Q5 2024", "data_path": str(synthetic_full)}, tmp_path, "x")
