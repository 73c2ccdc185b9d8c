"""The Decision 766 engine on a national year of dossiers, against a hand-written query and pandas.

Synthetic dossiers for 2023 (:func:`analysis.synthetic.dossiers.write_dossiers`, 1 million rows per
Parquet file) are written to a temporary folder, then, each in its own subprocess so that peak
memory is the process's own (VmHWM from /proc/self/status), on 2 threads:

- ``engine``: :func:`analysis.index766.score` - every component per commune per month
  (``period="2023", every="month", by="commune"``), DuckDB capped at 1.5 GB;
- ``floor``: one hand-written DuckDB query computing a similar set of conditional counts per
  commune and month (received in the month; timeliness judged at the month's end) - the
  fastest anything of this kind can be on this machine;
- ``engine_small`` and ``pandas``: the engine and the same counts in vectorised pandas on the
  first ``--pandas-rows`` rows (20 files), for the time and memory ratios against pandas.

The result (seconds, rows per second, peak RSS, ratios) is printed as JSON and written to
benchmarks/results/index766.json. The data are deleted afterwards unless ``--keep``.

    .venv/bin/python benchmarks/bench_index766.py                    # 100 million rows
    .venv/bin/python benchmarks/bench_index766.py --rows 2000000 --pandas-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = "1.5GB"
THREADS = 2
FILE_ROWS = 1_000_000

PEAK = """
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
"""

# Each task: a script run in a fresh interpreter; {data} and {files} are filled in.
ENGINE = """
import json, time
from analysis.index766 import score
t = time.perf_counter()
r = score({data!r}, period="2023", every="month", by="commune",
          memory_limit={memory!r}, threads={threads})
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "peak_rss_mib": peak_mib(), "units": len(r.units),
                  "component_rows": len(r.components),
                  "total_mean": float(r.units["total"].mean())}}))
"""

FLOOR = """
import json, time, duckdb, tempfile
con = duckdb.connect()
con.execute("SET threads = {threads}")
con.execute("SET memory_limit = '{memory}'")
con.execute(f"SET temp_directory = '{{tempfile.mkdtemp()}}'")
con.execute("SET preserve_insertion_order = false")
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
rows = con.execute('''
SELECT province, unit, received_month, count(*) AS n,
  SUM(CASE WHEN synced THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'online' AND (NOT coalesce(issues_result, false)
      OR coalesce(e_result, false)) THEN 1 ELSE 0 END),
  SUM(CASE WHEN fee_vnd > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN fee_vnd > 0 AND paid_online THEN 1 ELSE 0 END),
  SUM(CASE WHEN issues_result THEN 1 ELSE 0 END),
  SUM(CASE WHEN issues_result AND e_result THEN 1 ELSE 0 END),
  SUM(CASE WHEN components_digitised AND result_digitised THEN 1 ELSE 0 END),
  SUM(CASE WHEN data_reused THEN 1 ELSE 0 END),
  SUM(CASE WHEN rating = 'not_satisfied' THEN 1 ELSE 0 END),
  SUM(CASE WHEN coalesce(supplement_requests, 0) <= 1 AND CASE
        WHEN finished_date <= last_day(received_month) THEN finished_date <= due_date
        ELSE due_date >= last_day(received_month) END THEN 1 ELSE 0 END),
  SUM(CASE WHEN finished_date <= last_day(received_month)
      THEN date_diff('day', received_date, finished_date) ELSE 0 END)
FROM read_parquet({files!r})
WHERE level = 'commune'
GROUP BY ALL
''').fetchall()
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "peak_rss_mib": peak_mib(), "groups": len(rows)}}))
"""

PANDAS = """
import json, time
import numpy as np, pandas as pd, pyarrow.parquet as pq, pyarrow as pa
t = time.perf_counter()
cols = ["province", "unit", "level", "received_date", "received_month", "due_date",
        "finished_date", "supplement_requests", "channel", "fee_vnd", "paid_online",
        "issues_result", "e_result", "components_digitised", "result_digitised", "data_reused",
        "synced", "rating"]
df = pd.concat([pq.read_table(f, columns=cols).to_pandas() for f in {files!r}],
               ignore_index=True)
df = df[df["level"] == "commune"]
end = (df["received_month"].astype("datetime64[s]") + pd.offsets.MonthEnd(0))
fin = df["finished_date"].astype("datetime64[s]")
due = df["due_date"].astype("datetime64[s]")
rec = df["received_date"].astype("datetime64[s]")
b = lambda s: s.fillna(False).astype(bool)
issues, eres = b(df["issues_result"]), b(df["e_result"])
fee = df["fee_vnd"].fillna(0) > 0
done = fin.notna() & (fin <= end)
flags = pd.DataFrame({{
    "province": df["province"], "unit": df["unit"], "month": df["received_month"],
    "n": 1,
    "synced": b(df["synced"]),
    "online": (df["channel"] == "online") & (~issues | eres),
    "fee": fee,
    "paid": fee & b(df["paid_online"]),
    "issues": issues,
    "e_result": issues & eres,
    "digitised": b(df["components_digitised"]) & b(df["result_digitised"]),
    "reused": b(df["data_reused"]),
    "disliked": df["rating"] == "not_satisfied",
    "on_time": (df["supplement_requests"].fillna(0) <= 1)
               & np.where(done, fin <= due, due >= end),
    "days": np.where(done, (fin - rec).dt.days, 0),
}})
out = flags.groupby(["province", "unit", "month"], observed=True, sort=False).sum()
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "peak_rss_mib": peak_mib(), "groups": len(out)}}))
"""


def _measure(script: str, **fill) -> dict:
    code = PEAK + script.format(memory=MEMORY_LIMIT, threads=THREADS, **fill)
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last)


def generate(folder: Path, rows: int) -> Path:
    """Synthetic 2023 dossiers (the other helper's generator; see analysis.synthetic.dossiers)."""
    from analysis.synthetic.dossiers import write_dossiers

    return write_dossiers(folder, rows, months=("2023-01", "2023-12"), row_group=FILE_ROWS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--pandas-rows", type=int, default=20_000_000)
    parser.add_argument("--tmp", default=None, help="folder for the data (default: /tmp)")
    parser.add_argument("--data", default=None, help="reuse a dossier folder already written")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench766-", dir=args.tmp))
    try:
        t = time.perf_counter()
        data = Path(args.data) if args.data else generate(work, args.rows)
        generate_seconds = time.perf_counter() - t
        files = sorted(str(p) for p in data.rglob("*.parquet"))
        rows = _parquet_rows(files)
        small_files = files[: max(1, -(-args.pandas_rows // FILE_ROWS))]
        small_rows = _parquet_rows(small_files)
        small = work / "small"
        small.mkdir()
        for f in small_files:
            os.symlink(f, small / Path(f).name)

        engine = _measure(ENGINE, data=str(data))
        floor = _measure(FLOOR, files=files)
        engine_small = _measure(ENGINE, data=str(small))
        pandas = _measure(PANDAS, files=small_files)
        size = sum(Path(f).stat().st_size for f in files)
        result = {
            "rows": rows,
            "parquet_mib": round(size / 2**20, 1),
            "generate_seconds": round(generate_seconds, 1),
            "task": "every component per commune per month, 2023 (period=2023, every=month)",
            "engine_seconds": round(engine["seconds"], 2),
            "engine_rows_per_second": round(rows / engine["seconds"]),
            "engine_peak_rss_mib": engine["peak_rss_mib"],
            "engine_units": engine["units"],
            "engine_component_rows": engine["component_rows"],
            "floor_seconds": round(floor["seconds"], 2),
            "floor_rows_per_second": round(rows / floor["seconds"]),
            "floor_peak_rss_mib": floor["peak_rss_mib"],
            "ratio_seconds_engine_to_floor": round(engine["seconds"] / floor["seconds"], 2),
            "ratio_peak_rss_engine_to_floor": round(
                engine["peak_rss_mib"] / floor["peak_rss_mib"], 2
            ),
            "pandas_rows": small_rows,
            "pandas_seconds": round(pandas["seconds"], 2),
            "pandas_peak_rss_mib": pandas["peak_rss_mib"],
            "engine_on_pandas_rows_seconds": round(engine_small["seconds"], 2),
            "engine_on_pandas_rows_peak_rss_mib": engine_small["peak_rss_mib"],
            "ratio_seconds_engine_to_pandas": round(engine_small["seconds"] / pandas["seconds"], 3),
            "ratio_peak_rss_engine_to_pandas": round(
                engine_small["peak_rss_mib"] / pandas["peak_rss_mib"], 3
            ),
            "duckdb_memory_limit": MEMORY_LIMIT,
            "threads": THREADS,
            "peak_rss_under_2_gib": engine["peak_rss_mib"] < 2048,
            "under_20_seconds": engine["seconds"] < 20,
            "cpus": os.cpu_count(),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "index766.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _parquet_rows(files: list[str]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


if __name__ == "__main__":
    main()
