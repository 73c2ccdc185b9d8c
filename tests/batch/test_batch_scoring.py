"""The index engine's Dask path (analysis.batch.scoring) against the engine itself.

Cells from disjoint groups of files add up to the cells of all of them, so the Dask path must
give the engine's numbers exactly - every column of the units and components tables - here on a
local cluster of two worker processes over two years of month-partitioned dossiers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from conftest import workbench

from analysis.batch.scoring import file_groups, score_on_dask
from analysis.errors import WorkbenchError
from analysis.index766 import score
from analysis.synthetic import panel as synth

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.batch


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks/bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_dask_path_gives_the_engines_numbers(tmp_path):
    folder = _bench().generate(tmp_path, 30_000, "2023..2024", progress=False,
                               data=synth.generate(seed=766))  # fmt: skip
    assert len(file_groups(folder)) == 24  # one task per month folder
    here = score(folder, period="2023..2024", every="month", by="commune")
    there = score_on_dask(folder, period="2023..2024", every="month", by="commune", workers=2)
    assert there.period == here.period == "2023-01..2024-12"
    keys = ["unit", "province", "period"]
    pd.testing.assert_frame_equal(_sorted(there.units, keys), _sorted(here.units, keys))
    pd.testing.assert_frame_equal(
        _sorted(there.components, [*keys, "component"]),
        _sorted(here.components, [*keys, "component"]),
    )
    assert here.units["dossiers_received"].sum() > 10_000  # commune dossiers, all counted


def test_dask_path_needs_files(tmp_path):
    with pytest.raises(WorkbenchError, match="reads dossier files"):
        score_on_dask(pd.DataFrame(), period="2023", by="province")


def test_score_command_on_a_local_cluster_writes_the_same_table(tmp_path):
    """`workbench score --scheduler local`: the engine's table, byte for byte, split by quarter."""
    folder = _bench().generate(tmp_path, 20_000, "2023", progress=False,
                               data=synth.generate(seed=766))  # fmt: skip
    tables = {}
    for name, extra in (("here", ()), ("there", ("--scheduler", "local", "--workers", "2"))):
        out = tmp_path / f"{name}.csv"
        code, stdout, stderr = workbench(
            "score", folder, "--period", "2023", "--every", "quarter", "--by", "commune",
            "--no-progress", "--out", out, *extra,
        )  # fmt: skip
        assert code == 0, stderr
        assert stdout.strip() == f"scores\t{out}"
        tables[name] = out.read_bytes()
    assert tables["here"] == tables["there"]
    frame = pd.read_csv(tmp_path / "here.csv")
    assert sorted(frame["period"].unique()) == ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]


def test_score_command_names_an_unreachable_scheduler(tmp_path):
    folder = _bench().generate(tmp_path, 2_000, "2023-01", progress=False,
                               data=synth.generate(seed=766))  # fmt: skip
    code, _, stderr = workbench("score", folder, "--period", "2023-01", "--no-progress",
                                "--scheduler", "tcp://127.0.0.1:9")  # fmt: skip
    assert code == 2
    assert stderr.startswith("workbench: error: cannot reach the Dask scheduler tcp://127.0.0.1:9")
