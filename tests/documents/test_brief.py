"""The measure brief end to end: papermill executes the notebook, nbconvert lays it out,
WeasyPrint prints it; and the ITS behind it recovers the effect injected in the synthetic data.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
from conftest import workbench, written
from pypdf import PdfReader

from analysis.documents import brief as mb
from analysis.synthetic import panel as synth

CODE_MARKERS = ("from analysis import", "mb.prepare", "display(", "post_months =")


@pytest.fixture(scope="module")
def rendered(document):
    """`workbench brief --province "thai nguyen" --measure thai-nguyen-fee-50` (the session's
    shared brief, tests/conftest.py: the notebook's defaults, the province typed loosely)."""
    return document("20_measure_brief.ipynb")


@pytest.mark.render
def test_cli_prints_what_it_wrote(rendered):
    # The formats asked (html, pdf, ipynb), the tables as a workbook, and the manifest.
    assert set(rendered) == {"html", "pdf", "ipynb", "xlsx", "manifest"}


@pytest.mark.render
def test_every_table_shown_is_in_the_workbook(rendered):
    from openpyxl import load_workbook

    html = Path(rendered["html"]).read_text(encoding="utf-8")
    book = load_workbook(rendered["xlsx"])
    tables = [name for name in book.sheetnames if name != "README"]
    assert len(tables) == html.count('<figure class="table">') > 0
    # The first table's header row is the HTML table's header, in Vietnamese.
    assert book[tables[0]]["A2"].value == "Chỉ tiêu"


@pytest.mark.render
def test_html_has_results_but_no_code(rendered):
    html = Path(rendered["html"]).read_text(encoding="utf-8")
    for marker in CODE_MARKERS:
        assert marker not in html
    assert "<script" not in html.lower()
    assert "Thái Nguyên: tác động của việc giảm 50" in html  # title, with diacritics
    assert "Dữ liệu mô phỏng" in html  # synthetic data are labelled
    assert re.search(r"\d+,\d\u00a0điểm\u00a0%", html)  # vi_VN number format
    assert "SHA-256" in html  # provenance footer


@pytest.mark.render
def test_pdf_is_a4_and_carries_the_vietnamese_title(rendered):
    reader = PdfReader(rendered["pdf"])
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    text = " ".join(
        " ".join(page.extract_text() for page in reader.pages).replace("\xa0", " ").split()
    )
    title = "Thái Nguyên: tác động của việc giảm 50 % lệ phí cho hồ sơ nộp trực tuyến (07/2022)"
    assert title in text
    assert "DỮ LIỆU MÔ PHỎNG" in text


@pytest.mark.render
def test_manifest_records_parameters_and_hashes(rendered):
    manifest = json.loads(Path(rendered["manifest"]).read_text(encoding="utf-8"))
    assert manifest["parameters"]["measure"] == "thai-nguyen-fee-50"
    assert manifest["synthetic"] is True
    assert all(len(h) == 64 for h in manifest["data"].values())
    assert set(manifest["outputs"]) == {"html", "pdf", "ipynb", "xlsx"}  # every file written


@pytest.mark.render
def test_english_brief(synthetic_dir, tmp_path):
    code, stdout, stderr = workbench(
        "brief", "--measure", "bac-ninh-directive-10", "--lang", "en", "--format", "html",
        "--data", synthetic_dir, "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    assert set(written(stdout)) == {"html", "xlsx", "manifest"}  # no PDF unless asked
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert "Bắc Ninh: the effect of Directive 10/CT-UBND" in html
    assert "SYNTHETIC DATA" in html
    assert re.search(r"\d+\.\d\u00a0pp", html)


@pytest.fixture(scope="module")
def prepared(synthetic_dir):
    """``mb.prepare`` of a measure's own province on the session's data, each (measure,
    outcome) computed once in this module (the briefs are not modified)."""
    return functools.cache(
        lambda measure, outcome: mb.prepare(
            None, measure, outcome=outcome, data_path=str(synthetic_dir)
        )
    )


@pytest.mark.parametrize(
    ("measure", "outcome"),
    [
        ("thai-nguyen-fee-50", "online_rate"),
        ("bac-ninh-directive-10", "online_rate"),
        ("bac-ninh-directive-10", "online_payment_rate"),
    ],
)
def test_its_recovers_the_injected_effect(prepared, synthetic_data, measure, outcome):
    brief = prepared(measure, outcome)
    r = brief.result
    # The truth is read from the generator's own effect table (synth_effects.yaml), averaged
    # over the same post months: independent of the estimator.
    truth = synth.true_average_effect(
        synthetic_data.truth,
        measure,
        outcome,
        list(r.by_period.loc[r.by_period["post"], "period"]),
    )
    assert truth == pytest.approx(brief.true_effect)
    assert truth > 3  # the effect is there to find
    assert r.ci_low <= truth <= r.ci_high


def test_a_failed_placebo_lowers_the_key_finding(prepared):
    """Issue 14: the strength of the key finding follows every check the design ran."""
    import dataclasses

    brief = prepared("bac-ninh-directive-10", "online_rate")
    r = brief.result
    assert r.significant  # +15 pp injected: the interval excludes 0
    assert mb.key_finding(brief).text.count("Bằng chứng rõ ràng") == 1
    # The same estimate, but the placebo-in-time found an "effect" (p = 0,012) before the start.
    failed = dataclasses.replace(r, diagnostics={**r.diagnostics, "placebo_p_value": 0.012})
    weak = mb.key_finding(dataclasses.replace(brief, result=failed)).text
    assert "Bằng chứng chưa vững" in weak and "p = 0,012" in weak
    assert "Bằng chứng rõ ràng" not in weak
