"""Configuration mistakes are one line naming the file and the line, before any kernel starts.

The probe of issue 15: errors in config/targets.yaml and config/recommendations.yaml surfaced
only after a kernel had started (11–16 s), without a file or a line; config/measures.csv saved as
Windows-1258 gave a UnicodeDecodeError. Here each command runs against a copy of config/ (by
WORKBENCH_HOME) with one mistake, and must fail before a kernel starts (no reports folder), exit
2, with one line that names the file and the line the test finds by itself in the file it edited.
How fast it answers (under 9 s, where a kernel start alone takes ~11 s) is a wall-clock promise:
it is checked on a quiet machine by ``benchmarks/check_timings.py`` (``make bench-timings``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from analysis import config
from analysis.documents import quarterly
from analysis.errors import WorkbenchError

RUNLIST = """period: 2023Q3
lang: vi
formats: [html]
data: ""
runs:
  - notebook: {notebook}
    parameters:
{parameters}
"""
PARAMETERS = {
    "30_quarterly_report.ipynb": "      province: Thái Nguyên\n      quarter: 2023Q3",
    "20_measure_brief.ipynb": "      measure: thai-nguyen-fee-50",
    "31_index_scorecard.ipynb": "      unit: Thái Nguyên\n      period: 2023Q3",
}


@pytest.fixture
def home(tmp_path):
    """A copy of the configuration, the real notebooks, no data and no reports."""
    root = tmp_path / "home"
    shutil.copytree(config.CONFIG_DIR, root / "config")
    (root / "notebooks").symlink_to(config.NOTEBOOKS_DIR)
    return root


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def batch(home: Path, notebook: str) -> subprocess.CompletedProcess:
    runlist = home / "run.yaml"
    runlist.write_text(
        RUNLIST.format(notebook=notebook, parameters=PARAMETERS[notebook]), encoding="utf-8"
    )
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", "batch", str(runlist), "--out",
         str(home / "reports"), "--no-progress"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def one_line_before_a_kernel(result, home: Path) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert not (home / "reports").exists()  # no document, no log: nothing started
    return lines[0]


def test_a_target_that_is_not_a_share(home):
    path = home / "config" / "targets.yaml"
    line = line_of(path, "- indicator: fully_online_rate")
    edit(path, "    value: 0.30", "    value: 30")
    message = one_line_before_a_kernel(batch(home, "30_quarterly_report.ipynb"), home)
    assert f"{path}, line {line}: target 2: value 30 is not a share" in message


def test_a_recommendation_with_an_unknown_operator(home):
    path = home / "config" / "recommendations.yaml"
    line = line_of(path, "- id: indicator-late")
    edit(path, "  - id: indicator-late\n    subject: indicator\n    when: [[status, ==,",
         "  - id: indicator-late\n    subject: indicator\n    when: [[status, =~,")  # fmt: skip
    message = one_line_before_a_kernel(batch(home, "30_quarterly_report.ipynb"), home)
    assert f"{path}, line {line}: rule 2 (indicator-late): operator '=~'" in message


def test_measures_saved_as_windows_1258(home):
    path = home / "config" / "measures.csv"
    text = path.read_text(encoding="utf-8")
    # What Excel on a Vietnamese Windows writes: letters cp1258 has as one byte, tones apart.
    data = bytearray()
    for char in text:
        try:
            data += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            for mark in list(marks):
                composed = unicodedata.normalize("NFC", base + mark)
                if len(composed) == 1 and composed.encode("cp1258", errors="ignore"):
                    base, marks = composed, [m for m in marks if m != mark]
            data += (base + "".join(marks)).encode("cp1258")
    path.write_bytes(bytes(data))
    first = next(i for i, line in enumerate(text.splitlines(), start=1) if not line.isascii())
    message = one_line_before_a_kernel(batch(home, "20_measure_brief.ipynb"), home)
    assert f"{path}, line {first}: not UTF-8 text (it looks like Windows-1258" in message


def test_index_rules_adding_up_to_110(home):
    """Publicity 18 -> 28 and its component 1.1 6 -> 16: each group adds up, the total is 110."""
    path = home / "config" / "index766" / "rules-2026.1.yaml"
    edit(path, "    points: 18\n    portal_column: CKMB", "    points: 28\n    portal_column: CKMB")
    text = path.read_text(encoding="utf-8")
    at = text.index("points: 6", text.index('id: "1.1"'))
    path.write_text(text[:at] + "points: 16" + text[at + len("points: 6") :], encoding="utf-8")
    message = one_line_before_a_kernel(batch(home, "31_index_scorecard.ipynb"), home)
    assert f"{path}: groups: field 'points': group points add up to 110, not 100" in message


def test_yaml_syntax_errors_name_the_line(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("targets:\n  - indicator: online_rate\n    value: [0.5\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match=rf"{path}, line \d+: not valid YAML"):
        quarterly.load_targets(path)
    path.write_bytes('targets:\n  - basis_vi: "Quyết định"\n'.encode("utf-16"))
    with pytest.raises(WorkbenchError, match="line 1: not UTF-8 text"):
        quarterly.load_targets(path)


def test_communes_of_one_name_get_one_document_each(tmp_path):
    from analysis.batch import runlist

    path = tmp_path / "communes.yaml"
    path.write_text(
        "period: 2024Q2\nruns:\n"
        + "".join(
            "  - notebook: 31_index_scorecard.ipynb\n"
            f"    parameters: {{unit: Phường 1, province: {p}, by: commune, period: 2024Q2}}\n"
            for p in ("An Giang", "Hà Nội")
        ),
        encoding="utf-8",
    )
    runs = runlist.load(path, reports=tmp_path / "reports").runs
    assert [r.run_id for r in runs] == [
        "angiang-phuong1.scorecard_2024Q2_vi",
        "hanoi-phuong1.scorecard_2024Q2_vi",
    ]
    assert [r.out_dir for r in runs] == [
        tmp_path / "reports/2024Q2/angiang-phuong1",
        tmp_path / "reports/2024Q2/hanoi-phuong1",
    ]
