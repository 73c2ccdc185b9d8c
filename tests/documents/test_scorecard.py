"""The index scorecard end to end: synthetic dossiers -> papermill -> HTML/PDF."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader


@pytest.fixture(scope="module")
def dossiers(synthetic_full):
    """The session's 60,000 synthetic dossiers (seed 766), written once for every test file."""
    return synthetic_full / "dossiers"


@pytest.mark.render
def test_scorecard_renders_with_reasons_and_provenance(document):
    # `workbench scorecard --unit "Thái Nguyên" --period 2024Q2 --dossiers <the session's>`:
    # the session's shared scorecard (tests/conftest.py).
    paths = document("31_index_scorecard.ipynb")
    html = Path(paths["html"]).read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "sc.prepare" not in html
    assert "Thái Nguyên: điểm Bộ chỉ số phục vụ người dân, doanh nghiệp, Quý 2/2024" in html
    assert "2024Q2" not in html.split("<footer")[0]  # no quarter code in the body
    assert "Dữ liệu mô phỏng" in html  # synthetic dossiers are labelled
    # The shipped rules without a procedure catalogue or feedback: a partial total, said so.
    assert "chưa tính được" in html
    text = " ".join(p.extract_text() for p in PdfReader(paths["pdf"]).pages)
    assert "Thái Nguyên" in text and "Xếp hạng" in text


@pytest.mark.render
def test_unknown_unit_is_a_clear_error(dossiers, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "scorecard", "--unit", "Atlantis",
         "--period", "2024Q2", "--dossiers", str(dossiers), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Atlantis" in result.stderr


def test_points_are_on_the_official_scale_with_what_was_not_computed():
    from analysis.documents.base import official_maxima, official_points

    # Official maxima of Decision 766 (shared/reference/index766.md): 18/20/12/10/18/22.
    assert official_maxima() == {
        "publicity": 18.0,
        "timeliness": 20.0,
        "online_service": 12.0,
        "online_payment": 10.0,
        "satisfaction": 18.0,
        "digitisation": 22.0,
        "total": 100.0,
    }
    assert official_points(3.7, 6.0, 12.0, "vi") == "3,7/12 (6 điểm chưa tính được)"
    assert official_points(40.3, 56.0, 100.0, "vi") == "40,3/100 (44 điểm chưa tính được)"
    assert official_points(18.5, 20.0, 20.0, "en") == "18.5/20"
    assert official_points(float("nan"), 0.0, 10.0, "vi") == "chưa tính"


def test_a_commune_is_told_apart_from_its_namesakes_by_province(dossiers):
    """Commune names repeat across provinces ("Phường 1"): the card is the named province's."""
    from analysis.documents import scorecard as sc
    from analysis.index766 import score

    units = score(dossiers, period="2024Q2", by="commune").units
    shared = units.groupby("unit").filter(lambda g: g["total"].nunique() > 1)
    name = shared["unit"].iloc[0]
    (a, total_a), (b, total_b) = list(
        shared[shared["unit"] == name][["province", "total"]].itertuples(index=False)
    )[:2]
    assert total_a != total_b
    for province, total in ((a, total_a), (b, total_b)):
        card = sc.prepare(name, "2024Q2", by="commune", province=province, dossiers_path=dossiers)
        assert card.province == province and card.explanation.total == total
        ranking = sc.ranking(card).frame
        marked = [u for u in ranking.iloc[:, 1] if u.endswith("◀")]
        assert marked == [f"{name} ({province}) ◀"]  # one row: this province's commune


@pytest.mark.parametrize(
    ("lang", "first", "last"), [("vi", "07/2023", "05/2024"), ("en", "Jul 2023", "May 2024")]
)
def test_trend_chart_labels_every_other_month_as_the_language_writes_it(
    dossiers, lang, first, last
):
    """12 months to 06/2024 (07/2023-06/2024), at most 7 labelled: every second month."""
    import re

    from analysis.documents import scorecard as sc

    card = sc.prepare("Thái Nguyên", "2024Q2", lang=lang, dossiers_path=dossiers)
    svg = sc.trend_chart(card).svg.decode("utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    pattern = r"\d\d/\d{4}" if lang == "vi" else r"[A-Z][a-z]{2} \d{4}"
    months = [t for t in texts if re.fullmatch(pattern, t)]
    assert len(months) == 6 and (months[0], months[-1]) == (first, last)
    assert not any(re.fullmatch(r"\d{4}-\d\d", t) for t in texts)  # no ISO months
