"""The engine's counts against an independent hand-written DuckDB query, and the files check.

``benchmarks/bench_scale.py`` times the engine against :data:`HAND_SQL`, a query written from
the rules file's text (received / handled scopes, timeliness judged on the month's last day),
not from the engine's cell decomposition. Here both run on a small generated year and every
numerator and denominator of every dossier component, per commune and month, must be equal:
the numbers the benchmark compares at 10^7 rows and more are then the same numbers.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from analysis.errors import WorkbenchError
from analysis.index766 import score
from analysis.index766.engine import checked_by_writer
from analysis.synthetic import dossiers as sd

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks/bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(synthetic_data):
    """The session's synthetic panel (seed 766)."""
    return synthetic_data


def test_engine_equals_the_hand_query(tmp_path, data):
    bench = _bench()
    folder = bench.generate(tmp_path, 40_000, 2023, progress=False, data=data)
    assert sorted(p.name for p in folder.iterdir())[:2] == ["month=2023-01", "month=2023-02"]
    r = score(folder, period="2023", every="month", by="commune")
    hand = duckdb.sql(bench.hand_sql(folder, 2023)).df()
    # Dossiers carried over into a later month are what makes "handled" differ from
    # "received": the set must have some, or 2.1 and 5.4 would test nothing more than 1.4.
    assert (hand["handled"] > hand["received"]).sum() > 100
    agree = bench.compare(r.components, hand)
    assert agree == {"compared": 9 * len(hand), "only_one_side": 0, "values_differ": 0}
    # Every commune-month with a dossier handled in it, and no other, is scored.
    assert len(r.units) == len(hand)
    assert int(hand["received"].sum()) == int(r.units["dossiers_received"].sum())


def test_engine_equals_the_hand_query_over_two_years(tmp_path, data):
    """A range of years (24 months in one pass; cells key on months across the year end)."""
    bench = _bench()
    folder = bench.generate(tmp_path, 60_000, "2023..2024", progress=False, data=data, jobs=2)
    assert len(list(folder.iterdir())) == 24
    r = score(folder, period="2023..2024", every="month", by="commune")
    hand = duckdb.sql(bench.hand_sql(folder, "2023..2024")).df()
    assert set(hand["period"]) == {f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)}
    # Dossiers received in one year and still handled in the next: the year end is crossed.
    jan = hand[hand["period"] == "2024-01"]
    assert (jan["handled"] > jan["received"]).sum() > 50
    agree = bench.compare(r.components, hand)
    assert agree == {"compared": 9 * len(hand), "only_one_side": 0, "values_differ": 0}


def _synthetic(tmp_path, data) -> Path:
    return sd.write_dossiers(
        tmp_path, 3_000, data=data, months=("2023-05", "2023-06"), row_group=1_000
    )


def test_files_listed_by_their_writer_are_not_checked_again(tmp_path, data):
    folder = _synthetic(tmp_path, data)
    assert len(list(folder.glob("*.parquet"))) == 3
    assert checked_by_writer(folder)
    # A copy of a file under another name is not listed: the check runs and refuses it.
    shutil.copy(folder / "synthetic-00000.parquet", folder / "copy.parquet")
    assert not checked_by_writer(folder)
    with pytest.raises(WorkbenchError, match="1000 dossier id.s. are in more than one file"):
        score(folder, period="2023-06", by="province")


def test_a_listed_file_that_changed_is_checked(tmp_path, data):
    folder = _synthetic(tmp_path, data)
    target = folder / "synthetic-00001.parquet"
    table = pq.read_table(target)
    pq.write_table(table.slice(0, 999), target)  # one row fewer: another hash
    assert not checked_by_writer(folder)
    score(folder, period="2023-06", by="province")  # no id twice: scored after the check


def test_a_manifest_of_another_writer_certifies_nothing(tmp_path, data):
    folder = _synthetic(tmp_path, data)
    manifest = tmp_path / sd.MANIFEST_FILE
    text = json.loads(manifest.read_text(encoding="utf-8"))
    text["generator"] = "someone else"
    manifest.write_text(json.dumps(text), encoding="utf-8")
    assert not checked_by_writer(folder)
