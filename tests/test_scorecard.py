"""The index scorecard end to end: synthetic dossiers -> papermill -> HTML/PDF."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis import synth
from analysis.synth_dossiers import write_dossiers


@pytest.fixture(scope="module")
def dossiers(tmp_path_factory):
    out = tmp_path_factory.mktemp("dossiers")
    data = synth.generate(seed=766)
    synth.write(data, out)
    return write_dossiers(out, 60_000, seed=766, data=data)


def test_scorecard_renders_with_reasons_and_provenance(dossiers, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "scorecard", "--unit", "Thái Nguyên",
         "--period", "2024Q2", "--dossiers", str(dossiers), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = dict(line.split("\t") for line in result.stdout.splitlines())
    html = Path(paths["html"]).read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "sc.prepare" not in html
    assert "Thái Nguyên: điểm Bộ chỉ số phục vụ người dân, doanh nghiệp, 2024Q2" in html
    assert "Dữ liệu mô phỏng" in html  # synthetic dossiers are labelled
    # The shipped rules without a procedure catalogue or feedback: a partial total, said so.
    assert "chưa tính được" in html
    text = " ".join(p.extract_text() for p in PdfReader(paths["pdf"]).pages)
    assert "Thái Nguyên" in text and "Xếp hạng" in text


def test_unknown_unit_is_a_clear_error(dossiers, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "scorecard", "--unit", "Atlantis",
         "--period", "2024Q2", "--dossiers", str(dossiers), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Atlantis" in result.stderr
