"""Synthetic dossier records (analysis.synthetic.dossiers).

What is checked, and against what:

- the schema is the importer's ``OUTPUT_SCHEMA`` (compared with the importer's object, not a
  copy), and a sample written as CSV goes through the importer in strict mode without a single
  problem, so the engine reads synthetic and imported dossiers alike;
- consistency with the panel: summed to province x month, each rate of ``panel.RATES`` is the
  panel's within 2 pp on every cell with >= 2,000 dossiers in the rate's denominator. With
  ~140,000 dossiers per province-month the sampling sd is at most 0.3 pp, so 2 pp is ~7 sd:
  a failure means a bias, not noise;
- the special rules of index766.md are exercised: dossiers overdue only by the supplement rule
  (>= 2 requests, finished before the due date), dossiers in progress at the end, in progress
  and overdue; online = channel online, and the fields that depend on each other agree;
- determinism (same seed and n: identical bytes; the file size does not change the rows), exact
  n, atomic writing (no temporary left, imported folders never replaced);
- nothing personal: no personal column, applicant keys in the importer's a-p format;
- bounded memory: 5 M rows in a child process, peak RSS growth under 500 MB.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import panel
from analysis.errors import WorkbenchError
from analysis.ingest import personal
from analysis.ingest.dossiers import OUTPUT_SCHEMA, ingest_dossiers
from analysis.ingest.problems import ProblemReport
from analysis.panel import RATES
from analysis.synthetic import dossiers as sd
from analysis.synthetic import panel as synth

MERGER = dt.date(2025, 7, 1)


@pytest.fixture(scope="module")
def data(synthetic_data) -> synth.SynthData:
    return synthetic_data


@pytest.fixture(scope="module")
def sample(data) -> pd.DataFrame:
    """300,000 dossiers of three provinces across the merger (2025-04 to 2025-09)."""
    tables = sd.generate_dossiers(
        300_000,
        data=data,
        months=("2025-04", "2025-09"),
        provinces=["Bắc Ninh", "Đà Nẵng", "Hà Nam"],
    )
    return pa.concat_tables(tables).to_pandas()


def _read(folder) -> pa.Table:
    return pq.read_table(sorted(folder.glob("*.parquet")), schema=OUTPUT_SCHEMA)


# --- schema and import ---------------------------------------------------------------------------


def test_schema_is_the_importers(tmp_path, data):
    folder = sd.write_dossiers(
        tmp_path, 5_000, data=data, months=("2024-01", "2024-03"), provinces=["Hà Nam"]
    )
    files = sorted(folder.glob("*.parquet"))
    assert files
    for f in files:
        schema = pq.read_schema(f)
        assert schema.equals(OUTPUT_SCHEMA)
        assert schema.metadata[b"synthetic"] == b"true"
    table = _read(folder)
    assert table.schema.equals(OUTPUT_SCHEMA)
    assert table.num_rows == 5_000
    for chunk in sd.generate_dossiers(10, data=data, months=("2024-01", "2024-01")):
        assert chunk.schema.equals(OUTPUT_SCHEMA)


def test_a_sample_passes_the_importer_strictly(tmp_path, sample):
    """Every check of the importer holds: ids, dates, levels, channels, flags agree."""
    rows = sample.sample(3_000, random_state=1).drop(columns=["applicant_key", "source_row"])
    rows = rows.drop(columns=["boundary", "province_code", "received_month"])
    csv_path = tmp_path / "sample.csv"
    rows.to_csv(csv_path, index=False, quoting=csv.QUOTE_MINIMAL)
    result = ingest_dossiers(
        csv_path,
        tmp_path / "out",
        False,
        ProblemReport(),
        today=dt.date(2026, 12, 31),
        salt_file=tmp_path / ".salt",
        keep_text=True,  # the procedure names too, to compare every column
    )
    assert result.accepted == 3_000 and result.rejected == 0
    back = pq.read_table(result.outputs["dossiers"]).to_pandas().set_index("dossier_id")
    mine = sample.set_index("dossier_id").loc[back.index]
    same = [
        c for c in OUTPUT_SCHEMA.names if c not in ("dossier_id", "applicant_key", "source_row")
    ]
    pd.testing.assert_frame_equal(back[same], mine[same], check_dtype=False)


# --- consistency with the panel --------------------------------------------------------------------


def _dossier_rates(df: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    finished = df["finished_date"].notna()
    due = pd.to_datetime(df["due_date"])
    done = pd.to_datetime(df["finished_date"])
    counts = pd.DataFrame(
        {
            "boundary": df["boundary"],
            "province_code": df["province_code"],
            "month": pd.to_datetime(df["received_month"]),
            "dossiers_received": 1,
            "dossiers_online": df["channel"] == "online",
            "dossiers_fully_online": df["fully_online"],
            # Final status: > 1 supplement request is overdue; open dossiers judged at the end.
            "dossiers_on_time": (df["supplement_requests"] <= 1)
            & ((finished & (done <= due)) | (~finished & (due >= end))),
            "dossiers_handled": 1,
            "dossiers_synced": df["synced"],
            "dossiers_fee_bearing": df["fee_vnd"] > 0,
            "dossiers_paid_online": df["paid_online"],
            "dossiers_result_issuing": df["issues_result"],
            "dossiers_e_result": df["e_result"],
            "dossiers_digitised": df["components_digitised"] & df["result_digitised"],
            "ratings": df["rating"].notna(),
            "ratings_satisfied": df["rating"] == "satisfied",
        }
    )
    return counts.groupby(["boundary", "province_code", "month"]).sum()


def test_rates_match_the_panel_on_big_cells(data):
    """~2.4 M dossiers, 3 old provinces x 6 months: every rate within 2 pp of the panel's."""
    months, names = ("2024-01", "2024-06"), ["Hà Nam", "Bắc Ninh", "Đà Nẵng"]
    tables = sd.generate_dossiers(2_400_000, data=data, months=months, provinces=names)
    df = pa.concat_tables(tables).to_pandas()
    assert len(df) == 2_400_000
    mine = _dossier_rates(df, pd.Timestamp("2024-06-30"))

    p = data.panel
    keep = (p["month"] >= "2024-01-01") & (p["month"] <= "2024-06-01") & (p["boundary"] == "old63")
    keep &= p["province"].isin(names)
    theirs = p[keep].groupby(["boundary", "province_code", "month"]).sum(numeric_only=True)
    assert len(theirs) == 18 and set(mine.index) == set(theirs.index)
    # Allocation is proportional to the panel's dossiers.
    share_mine = mine["dossiers_received"] / mine["dossiers_received"].sum()
    share_theirs = theirs["dossiers_received"] / theirs["dossiers_received"].sum()
    assert np.allclose(share_mine, share_theirs.loc[share_mine.index], atol=1e-6)

    checked = 0
    for rate, (num, den) in RATES.items():
        big = mine[den] >= 2_000
        assert big.all(), f"{rate}: cells too small for the test"
        got = 100 * mine[num] / mine[den]
        want = 100 * theirs[num] / theirs[den]
        gap = (got - want.loc[got.index]).abs()
        assert gap.max() < 2.0, f"{rate}: {gap.max():.2f} pp off\n{gap}"
        checked += int(big.sum())
    assert checked == 18 * len(RATES)


def test_levels_and_boundaries_follow_the_panel(data, sample):
    cells = sample.groupby(["boundary", "province_code", "level", "received_month"]).size()
    keys = data.panel.set_index(["boundary", "province_code", "level", "month"]).index
    for boundary, code, level, month in cells.index:
        assert (boundary, code, level, pd.Timestamp(month)) in keys
    before = pd.to_datetime(sample["received_date"]) < pd.Timestamp(MERGER)
    assert (sample.loc[before, "boundary"] == "old63").all()
    assert (sample.loc[~before, "boundary"] == "new34").all()
    assert set(sample.loc[~before, "level"]) == {"province", "commune"}
    assert (sample.loc[sample["level"] == "district", "received_date"] < MERGER).all()
    # "Hà Nam" is old63 only (it joined Ninh Bình): its rows all come before the merger.
    assert (sample.loc[sample["province"] == "Hà Nam", "boundary"] == "old63").all()
    official = {"Bắc Ninh", "Đà Nẵng", "Hà Nam"}
    assert set(sample["province"]) == official


# --- fields and special rules ------------------------------------------------------------------------


def test_dates_are_consistent(sample):
    received = pd.to_datetime(sample["received_date"])
    due = pd.to_datetime(sample["due_date"])
    finished = pd.to_datetime(sample["finished_date"])
    assert (due > received).all()
    assert (finished.dropna() >= received[finished.notna()]).all()
    assert (
        received.dt.to_period("M").dt.to_timestamp() == pd.to_datetime(sample["received_month"])
    ).all()
    end = pd.Timestamp("2025-09-30")
    assert (finished.dropna() <= end).all()
    assert (received <= end).all()
    counter = sample["channel"] != "online"
    assert not (received[counter].dt.day_of_week >= 5).any()  # counters are closed on weekends


def test_special_rules_are_exercised(sample):
    due = pd.to_datetime(sample["due_date"])
    finished = pd.to_datetime(sample["finished_date"])
    end = pd.Timestamp("2025-09-30")
    many = sample["supplement_requests"] >= 2
    assert many.mean() > 0.005
    # Overdue only by the rule: finished on time by the calendar.
    assert (many & (finished <= due)).sum() > 100
    open_ = finished.isna()
    assert open_.sum() > 1_000  # in progress at the end
    assert (open_ & (due < end)).sum() > 10  # in progress and already overdue
    assert (open_ & (due >= end)).sum() > 100  # in progress, not yet due: on time at the end
    assert sample.loc[open_, "rating"].isna().all()
    assert set(sample["supplement_requests"].unique()) <= {0, 1, 2, 3, 4}


def test_dependent_fields_agree(sample):
    online = sample["channel"] == "online"
    assert set(sample["channel"]) == {"direct", "online", "postal"}
    assert not (sample["fully_online"] & ~online).any()
    assert not (sample["paid_online"] & (sample["fee_vnd"] == 0)).any()
    assert not (sample["e_result"] & ~sample["issues_result"]).any()
    fees = sample.loc[sample["fee_vnd"] > 0, "fee_vnd"]
    assert fees.between(10_000, 500_000).all()
    assert 0.3 < (sample["fee_vnd"] == 0).mean() < 0.7
    # Online payment and electronic results are more frequent among online dossiers.
    fee = sample["fee_vnd"] > 0
    assert (
        sample.loc[fee & online, "paid_online"].mean()
        > sample.loc[fee & ~online, "paid_online"].mean()
    )
    res = sample["issues_result"]
    assert (
        sample.loc[res & online, "e_result"].mean() > sample.loc[res & ~online, "e_result"].mean()
    )
    assert set(sample["rating"].dropna()) == {"satisfied", "neutral", "not_satisfied"}
    # A procedure code always has the same fee, result flag and name.
    per_code = sample.groupby("procedure_code")[["fee_vnd", "issues_result", "procedure_name"]]
    assert (per_code.nunique() == 1).all().all()
    assert sample["procedure_code"].str.fullmatch(r"[12]\.0\d{5}").all()


def test_units_and_agencies(sample):
    level = sample["level"]
    assert sample.loc[level == "province", "unit"].isna().all()
    assert sample.loc[level == "district", "unit"].str.fullmatch(r"Huyện \d+").all()
    assert sample.loc[level == "commune", "unit"].str.fullmatch(r"(Xã|Phường) \d+").all()
    assert set(sample.loc[level == "district", "agency"]) == {"UBND huyện"}
    commune = sample[level == "commune"]
    kind = commune["unit"].str.split().str[0]
    assert (commune["agency"] == np.where(kind == "Phường", "UBND phường", "UBND xã")).all()
    provincial = set(sample.loc[level == "province", "agency"])
    assert {"Sở Tư pháp", "Công an tỉnh"} <= provincial
    new = sample["boundary"] == "new34"
    assert "Sở Kế hoạch và Đầu tư" not in set(sample.loc[new, "agency"])
    assert "Sở Tài chính" not in set(sample.loc[~new, "agency"])


@pytest.mark.parametrize("code", ["01", "24", "79"])
def test_new_provinces_have_39_to_169_communes(code):
    names, weights = sd._units(766, "new34", code, "commune")
    assert 39 <= len(names) <= 169 and len(set(names)) == len(names)
    assert (weights > 0).all()


# --- personal data ------------------------------------------------------------------------------


def test_no_personal_data(sample):
    assert [personal.personal_kind(c) for c in sample.columns] == [None] * len(sample.columns)
    keys = sample["applicant_key"].dropna()
    assert keys.str.fullmatch(r"[a-p]{32}").all()
    assert 0 < sample["applicant_key"].isna().mean() < 0.03
    assert keys.duplicated().any()  # some applicants file several dossiers
    for column in ("unit", "agency", "procedure_code", "procedure_name"):
        for value in sample[column].dropna().unique():
            assert personal.redact_text(value) == value


# --- ids, determinism, writing ----------------------------------------------------------------------


def test_exact_n_ids_and_files(tmp_path, data):
    n = 12_345
    folder = sd.write_dossiers(
        tmp_path, n, seed=5, data=data, months=("2023-01", "2023-02"), row_group=5_000
    )
    files = sorted(folder.glob("*.parquet"))
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [5_000, 5_000, 2_345]
    table = _read(folder).to_pandas()
    assert len(table) == n
    assert table["source_row"].tolist() == list(range(1, n + 1))
    assert table["dossier_id"].is_unique
    assert (
        table["dossier_id"].iloc[0] == "SYN-5-1" and table["dossier_id"].iloc[-1] == "SYN-5-12345"
    )
    manifest = json.loads((tmp_path / sd.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and manifest["seed"] == 5 and manifest["rows"] == n
    assert sorted(manifest["files"]) == [f.name for f in files]
    for f in files:
        assert re.fullmatch(r"[0-9a-f]{64}", manifest["files"][f.name])
    # Nothing temporary left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dossiers", sd.MANIFEST_FILE]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_deterministic(tmp_path, data):
    kwargs = dict(data=data, months=("2022-01", "2022-03"), provinces=["Hà Nội", "Sơn La"])
    n = 300_000  # more than one chunk
    a = sd.write_dossiers(tmp_path / "a", n, row_group=100_000, **kwargs)
    b = sd.write_dossiers(tmp_path / "b", n, row_group=100_000, **kwargs)
    c = sd.write_dossiers(tmp_path / "c", n, **kwargs)  # other file size, same rows
    d = sd.write_dossiers(tmp_path / "d", n, seed=767, row_group=100_000, **kwargs)

    def manifest(folder):
        return json.loads((folder.parent / sd.MANIFEST_FILE).read_text(encoding="utf-8"))

    assert manifest(a)["files"] == manifest(b)["files"]
    assert _read(a).equals(_read(c))
    assert manifest(a)["files"] != manifest(d)["files"]


def test_rewrite_replaces_a_synthetic_set_but_never_imports(tmp_path, data):
    kwargs = dict(data=data, months=("2024-01", "2024-01"), provinces=["Hà Nam"])
    sd.write_dossiers(tmp_path, 3_000, row_group=1_000, **kwargs)
    folder = sd.write_dossiers(tmp_path, 1_500, **kwargs)
    assert [f.name for f in sorted(folder.glob("*"))] == ["synthetic-00000.parquet"]
    assert _read(folder).num_rows == 1_500
    # A crash between the folder and its manifest: the files still say they are synthetic.
    (tmp_path / sd.MANIFEST_FILE).unlink()
    assert _read(sd.write_dossiers(tmp_path, 800, **kwargs)).num_rows == 800

    imported = tmp_path / "real"
    (imported / "dossiers").mkdir(parents=True)
    (imported / "dossiers" / "export_2024.parquet").write_bytes(b"not mine")
    with pytest.raises(WorkbenchError, match="not synthetic"):
        sd.write_dossiers(imported, 1_000, **kwargs)
    assert (imported / "dossiers" / "export_2024.parquet").read_bytes() == b"not mine"


def test_zero_dossiers_give_an_empty_readable_file(tmp_path, data):
    folder = sd.write_dossiers(tmp_path, 0, data=data, months=("2024-01", "2024-01"))
    table = _read(folder)
    assert table.num_rows == 0 and table.schema.equals(OUTPUT_SCHEMA)


def test_bad_arguments_are_explained(tmp_path, data):
    with pytest.raises(WorkbenchError, match="unknown province"):
        sd.generate_dossiers(10, data=data, provinces=["Atlantis"])
    with pytest.raises(WorkbenchError, match="before the first"):
        sd.generate_dossiers(10, data=data, months=("2024-06", "2024-01"))
    with pytest.raises(WorkbenchError, match="no panel cells"):
        sd.generate_dossiers(10, data=data, months=("2030-01", "2030-02"))
    with pytest.raises(WorkbenchError, match="whole number"):
        sd.generate_dossiers(-1, data=data)
    with pytest.raises(WorkbenchError, match="row_group"):
        sd.write_dossiers(tmp_path, 10, data=data, row_group=0)
    assert not (tmp_path / "dossiers").exists()


def test_whole_span_covers_both_maps(tmp_path):
    # What `workbench synth --dossiers N` writes: the whole span, old and new provinces.
    folder = sd.write_dossiers(tmp_path, 2_000)
    assert folder == tmp_path / "dossiers"
    manifest = json.loads((tmp_path / sd.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["rows"] == 2_000 and manifest["seed"] == 766
    table = _read(folder)
    assert set(table.column("boundary").to_pylist()) == {"old63", "new34"}


def test_the_panel_module_reads_the_aggregate(data, sample):
    """Dossiers summed to a panel validate as a panel (counts are subsets of their totals)."""
    counts = _dossier_rates(sample, pd.Timestamp("2025-09-30")).reset_index()
    names = sample.drop_duplicates(["boundary", "province_code"]).set_index(
        ["boundary", "province_code"]
    )["province"]
    counts["province"] = [
        names[(b, c)] for b, c in zip(counts["boundary"], counts["province_code"], strict=True)
    ]
    counts["level"] = "province"
    panel.validate(
        counts[panel.KEY_COLUMNS + panel.COUNT_COLUMNS].astype(
            {c: "int64" for c in panel.COUNT_COLUMNS}
        )
    )


# --- memory ---------------------------------------------------------------------------------------


def test_five_million_rows_in_bounded_memory(tmp_path):
    """Peak RSS grows by < 500 MB while 5 M rows are generated and written (child process)."""
    script = textwrap.dedent(
        f"""
        import json, resource, time
        from pathlib import Path
        from analysis.synthetic import panel as synth
        from analysis.synthetic import dossiers as sd
        data = synth.generate(seed=766)
        sd.write_dossiers(Path({str(tmp_path / "warm")!r}), 1_000, data=data)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        sd.write_dossiers(Path({str(tmp_path / "big")!r}), 5_000_000, data=data)
        seconds = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"growth_mb": (after - before) / 1024, "peak_mb": after / 1024,
                          "seconds": seconds}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["growth_mb"] < 500, result
    manifest = json.loads((tmp_path / "big" / sd.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["rows"] == 5_000_000 and len(manifest["files"]) == 5
