"""User mistakes end with one clear line on stderr, exit code 2, and no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["brief", "--measure", "thai-nguyen-fee-50", "--province", "Thái Nguyênn"], "Thái Nguyên"),
        (["brief", "--measure", "thai-nguyen-fee-5"], "thai-nguyen-fee-50"),
        (["brief", "--measure", "thai-nguyen-fee-50", "--lang", "fr"], "--lang"),
        (["brief", "--measure", "thai-nguyen-fee-50", "--province", "Bắc Ninh"], "Thái Nguyên"),
        (["brief", "--measure", "national-zero-fee"], "--province"),
        (["brief", "--measure", "thai-nguyen-fee-50", "--outcome", "happiness"], "online_rate"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, expected, synthetic_dir):
    result = run(*args, "--data", str(synthetic_dir))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("workbench: error:")
    assert expected in lines[0]


def test_missing_data_file(tmp_path):
    result = run(
        "brief", "--measure", "thai-nguyen-fee-50", "--data", str(tmp_path / "nope.parquet")
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "workbench synth" in result.stderr


def test_lists():
    result = run("measures")
    assert result.returncode == 0 and "bac-ninh-directive-10" in result.stdout
    result = run("provinces", "--boundary", "old63")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 63
