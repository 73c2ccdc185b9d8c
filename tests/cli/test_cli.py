"""User mistakes end with one clear line on stderr, exit code 2, and no traceback.

Most commands run in this process (``workbench`` of tests/conftest.py: the console entry point
without a fresh interpreter); one or two per command run as the installed command does, in a
subprocess, for the exit code and the stderr a shell sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import workbench


def run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


USER_ERRORS = [
    (["brief", "--measure", "thai-nguyen-fee-50", "--province", "Thái Nguyênn"], "Thái Nguyên"),
    (["brief", "--measure", "thai-nguyen-fee-5"], "thai-nguyen-fee-50"),
    (["brief", "--measure", "thai-nguyen-fee-50", "--lang", "fr"], "--lang"),
    (["brief", "--measure", "thai-nguyen-fee-50", "--province", "Bắc Ninh"], "Thái Nguyên"),
    (["brief", "--measure", "national-zero-fee"], "--province"),
    (["brief", "--measure", "thai-nguyen-fee-50", "--outcome", "happiness"], "online_rate"),
    (["report", "--province", "Thái Nguyên", "--quarter", "2023-Q5"], "2024Q2"),
    (["report", "--province", "Bắc Kạn", "--quarter", "2025Q4"], "Thái Nguyên"),
    (["report", "--province", "Atlantis", "--quarter", "2023Q3"], "workbench provinces"),
    (["report", "--province", "Thái Nguyên", "--quarter", "2026Q4"], "2026-09"),
    (["overview", "--quarter", "2023Q3", "--outcome", "happiness"], "online_rate"),
    (["overview", "--quarter", "Q3"], "2024Q2"),
    (["explore", "--province", "Atlantis"], "workbench provinces"),
    (["explore", "--province", "Thái Nguyên", "--freq", "W"], "--freq"),
]  # fmt: skip
# The first mistake of each command also through a fresh interpreter, as a shell runs it.
COMMANDS = ("brief", "report", "overview", "explore")
FIRST_OF_EACH = [next(case for case in USER_ERRORS if case[0][0] == c) for c in COMMANDS]


def _one_line_exit_2(code: int, stderr: str, expected: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("workbench: error:")
    assert expected in lines[0]


@pytest.mark.parametrize(("args", "expected"), USER_ERRORS)
def test_user_errors_are_one_line_exit_2(args, expected, synthetic_dir):
    code, _, stderr = workbench(*args, "--data", synthetic_dir)
    _one_line_exit_2(code, stderr, expected)


@pytest.mark.parametrize(("args", "expected"), FIRST_OF_EACH, ids=COMMANDS)
def test_user_errors_from_the_installed_command(args, expected, synthetic_dir):
    result = run(*args, "--data", str(synthetic_dir))
    _one_line_exit_2(result.returncode, result.stderr, expected)


def test_missing_data_file(tmp_path):
    code, _, stderr = workbench(
        "brief", "--measure", "thai-nguyen-fee-50", "--data", tmp_path / "nope.parquet"
    )
    assert code == 2
    assert "Traceback" not in stderr
    assert "workbench synth" in stderr


def test_lists():
    code, stdout, _ = workbench("measures")
    assert code == 0 and "bac-ninh-directive-10" in stdout
    code, stdout, _ = workbench("provinces", "--boundary", "old63")
    assert code == 0 and len(stdout.splitlines()) == 63


def test_effect_json_on_a_generic_panel(tmp_path):
    # Two units, 14 periods; unit "a" gains exactly 5 from period 13 on and "b" is flat, so
    # the TWFE DiD is 5 by hand: (a_post − a_pre) − (b_post − b_pre) = 5 − 0.
    rows = []
    for t in range(2000, 2014):
        rows.append({"unit": "a", "time": t, "y": 10 + (5 if t >= 2012 else 0) + 0.1 * (t % 2)})
        rows.append({"unit": "b", "time": t, "y": 20 + 0.1 * (t % 2)})
        rows.append({"unit": "c", "time": t, "y": 30 + 0.1 * ((t + 1) % 2)})
    path = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code, stdout, stderr = workbench(
        "effect", path, "--outcome", "y", "--method", "did", "--treated", "a", "--start", "2012",
        "--json",
    )  # fmt: skip
    assert code == 0, stderr
    out = json.loads(stdout)
    out = out[0] if isinstance(out, list) else out
    assert out["method"] == "did"
    assert out["estimate"] == pytest.approx(5.0, abs=0.11)
    assert {"ci", "p_value", "by_period"} <= set(out)


def test_effect_bad_input_is_one_line(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_text("unit,time,y\na,2000,1\na,2001,2\nb,2000,3\nb,2001,4\n", encoding="utf-8")
    result = run(
        "effect",
        str(path),
        "--outcome",
        "y",
        "--method",
        "did",
        "--treated",
        "zz",
        "--start",
        "2001",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "zz" in result.stderr


def test_ingest_strict_failure_exits_1_and_names_row_and_column(tmp_path):
    corpus = Path(__file__).parents[1] / "ingest_corpus"
    result = run("ingest", str(corpus / "m05_negative_count.csv"), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "row " in result.stderr and "column" in result.stderr
    assert not (tmp_path / "out" / "panel.parquet").exists()  # nothing half-written


def test_ingest_template_round_trip_prints_counts(tmp_path):
    template = (
        Path(__file__).parents[2] / "data" / "templates" / "mau_bang_thang_monthly_template.csv"
    )
    code, _, stderr = workbench("ingest", template, "--out", tmp_path / "out")
    assert code == 0, stderr
    assert "read 1 = accepted 1 + rejected 0" in stderr
    assert (tmp_path / "out" / "panel.parquet").exists()


def test_score_json_shape(tmp_path, synthetic_data):
    from analysis.synthetic.dossiers import write_dossiers

    folder = write_dossiers(
        tmp_path, 20_000, seed=766, data=synthetic_data, provinces=["Thái Nguyên"]
    )
    result = run("score", str(folder), "--period", "2024Q2", "--json")
    assert result.returncode == 0, result.stderr
    units = json.loads(result.stdout)
    assert [u["unit"] for u in units] == ["Thái Nguyên"]
    unit = units[0]
    assert {"unit", "period", "total", "max_total", "groups", "components"} <= set(unit)
    # Without a procedure catalogue and feedback the total is partial, and says so.
    assert unit["max_total"] < 100
    statuses = {c["status"] for c in unit["components"]}
    assert "not_computed" in statuses
    assert sum(unit["groups"].values()) == pytest.approx(unit["total"], abs=0.05)
