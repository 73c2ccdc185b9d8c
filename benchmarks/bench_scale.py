"""The Decision 766 engine at national scale, against a hand-written query of the same counts.

For each size (``--rows``, default 10 and 20 million) synthetic dossiers for every month of
``--period`` (default one year, 2023; ``2020..2024`` is five years - the synthetic panel runs
2020-01 to 2026-09) (:func:`analysis.synthetic.dossiers.generate_dossiers`, streamed in chunks,
never all in memory, by ``--jobs`` processes) are written as Parquet partitioned by month
(``month=YYYY-MM/part-JNNN.parquet``, at most ``FILE_ROWS`` rows a file), then timed, each task
in its own subprocess so that peak memory is the process's own (VmHWM), on 2 threads with
DuckDB capped at ``--memory``:

- ``engine``: :func:`analysis.index766.score` - every component per commune and month
  (``period=PERIOD, every="month", by="commune"``), with its progress bar;
- ``hand``: one hand-written DuckDB query (:data:`HAND_SQL`) computing the same numerators and
  denominators of every dossier component per commune and month: each dossier joined to the
  months it is handled in, conditional counts per (province, commune, month);
- ``--dask``: the engine through :func:`analysis.batch.scoring.score_on_dask` on a local
  cluster of 2 worker processes; its units and components must equal the engine's.

Both write their counts after the clock stops and the benchmark checks they are identical
(``counts_identical``; any difference is fatal). Seconds, CPU seconds (user + system, all
threads: on a machine shared with other work the share of the cores differs between runs, the
work does not), rows per second, peak RSS and the ratios engine / hand are printed and written
to ``benchmarks/results/scale.json`` (``scale-<period>.json`` for another period); the load average before and after each task says how busy
the machine was. Generation shows a bar with the time left. The data are deleted afterwards
unless ``--keep``; ``--data`` reuses a folder.

    nice -n 10 .venv/bin/python benchmarks/bench_scale.py                 # 1e7 and 2e7 rows
    nice -n 10 .venv/bin/python benchmarks/bench_scale.py --rows 5e8 --period 2020..2024 --dask
    nice -n 10 .venv/bin/python benchmarks/bench_scale.py --rows 2e7 --profile

Generation made 5e8 rows in 553 s on two processes here (900,000 rows a second, 12.6 GiB of
Parquet; earlier measurements under other load gave 120,000 a process); ``--copies N`` generates rows / N and copies the files with new ids (see
:func:`replicate` for what that changes). Each size is timed ``--repeat`` times (default 3),
engine and hand query in turn; the median run is reported beside every run's seconds.
``--profile`` also times the engine's stages (opening, the duplicate-id check, the dossier
pass, the per-period pass, points and the long table) in the engine's subprocess.
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
THREADS = 2
FILE_ROWS = 2_000_000  # rows per Parquet file at most
BYTES_PER_ROW = 30  # zstd Parquet of the synthetic schema: ~27 measured, with a margin

# The dossier components of rules-2026.1 and the hand query's columns for them:
# component -> (numerator column, denominator column).
COMPONENTS = {
    "1.4": ("synced", "received"),
    "2.1": ("on_time", "handled"),
    "2.2": ("handling_days", "finished"),
    "3.3": ("online", "received"),
    "3.6": ("fee_paid_online", "fee"),
    "4.1": ("e_result", "issues_result"),
    "4.2": ("digitised", "received"),
    "4.3": ("data_reused", "received"),
    "5.4": ("satisfied_54", "handled"),
}

# Written from the rules file's text (config/index766/rules-2026.1.yaml and the conditions of
# analysis/index766/rules.py), not from the engine's SQL: a dossier is in a month's "received"
# scope when received in it, in its "handled" scope when received by the month's last day and
# not finished before its first; timeliness and "finished" are judged on the month's last day.
HAND_SQL = """
WITH months AS (
    SELECT strftime(s, '%Y-%m') AS period, s, CAST(s + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS e
    FROM (SELECT unnest(generate_series(DATE '{first}', DATE '{last}', INTERVAL 1 MONTH))::DATE AS s)
),
flags AS (
    SELECT d.province, d.unit, m.period,
        d.received_date BETWEEN m.s AND m.e AS rec,
        d.finished_date IS NOT NULL AND d.finished_date <= m.e AS fin,
        coalesce(d.supplement_requests, 0) <= 1 AND CASE
            WHEN d.finished_date IS NOT NULL AND d.finished_date <= m.e
            THEN d.finished_date <= d.due_date ELSE d.due_date >= m.e END AS ontime,
        d.received_date, d.finished_date, d.synced, d.channel, d.issues_result, d.e_result,
        d.fee_vnd, d.paid_online, d.components_digitised, d.result_digitised, d.data_reused,
        d.rating
    FROM read_parquet('{pattern}', hive_partitioning = true) d
    JOIN months m ON d.received_date <= m.e
        AND (d.finished_date IS NULL OR d.finished_date >= m.s)
    WHERE d.level = 'commune' AND d.unit IS NOT NULL AND d.province IS NOT NULL
)
SELECT province, unit, period,
    count(*) FILTER (rec) AS received,
    count(*) FILTER (rec AND coalesce(synced, false)) AS synced,
    count(*) AS handled,
    count(*) FILTER (ontime) AS on_time,
    count(*) FILTER (fin) AS finished,
    coalesce(sum(date_diff('day', received_date, finished_date)) FILTER (fin), 0) AS handling_days,
    count(*) FILTER (rec AND channel = 'online'
        AND (NOT coalesce(issues_result, false) OR coalesce(e_result, false))) AS online,
    count(*) FILTER (rec AND coalesce(fee_vnd, 0) > 0) AS fee,
    count(*) FILTER (rec AND coalesce(fee_vnd, 0) > 0 AND coalesce(paid_online, false))
        AS fee_paid_online,
    count(*) FILTER (rec AND coalesce(issues_result, false)) AS issues_result,
    count(*) FILTER (rec AND coalesce(issues_result, false) AND coalesce(e_result, false))
        AS e_result,
    count(*) FILTER (rec AND coalesce(components_digitised, false)
        AND coalesce(result_digitised, false)) AS digitised,
    count(*) FILTER (rec AND coalesce(data_reused, false)) AS data_reused,
    -- 5.4: handled minus overdue minus rated not satisfied (a dossier both counts twice), >= 0
    greatest(count(*) FILTER (ontime)
        - count(*) FILTER (rating = 'not_satisfied'), 0) AS satisfied_54
FROM flags
GROUP BY ALL
"""

PEAK = """
import resource
def cpu_seconds():
    # user + system time of this process, all its threads: on a shared machine the share of
    # the cores each task got differs, its work does not.
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
"""

ENGINE = """
import json, time
from analysis.index766 import score
t, cpu = time.perf_counter(), cpu_seconds()
r = score({data!r}, period={period!r}, every="month", by="commune",
          memory_limit={memory!r}, threads={threads}, progress=True)
seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
peak = peak_mib()
r.components.to_parquet({out!r} + ".all")
r.units.to_parquet({out!r} + ".units")
c = r.components
c = c[c["status"].astype(str) != "not_computed"]
c[["province", "unit", "period", "component", "numerator", "denominator"]].astype(
    {{"province": str, "unit": str, "period": str, "component": str}}).to_parquet({out!r})
print(json.dumps({{"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak,
                  "unit_months": len(r.units),
                  "component_rows": len(r.components)}}))
"""

PROFILE = """
import json, time
from analysis.index766 import engine, rules as R
marks = {{}}
def timed(name, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            marks[name] = marks.get(name, 0) + time.perf_counter() - t
    return wrapper
engine._check_across_files = timed("duplicate_id_check", engine._check_across_files)
engine.checked_by_writer = timed("files_hashed_against_manifest", engine.checked_by_writer)
engine.absent_columns = timed("absent_columns", engine.absent_columns)
engine._dossier_stage = timed("dossier_stages_1_2", engine._dossier_stage)
engine._totals = timed("totals", engine._totals)
engine._long = timed("long_table", engine._long)
engine._component_arrays = timed("component_arrays", engine._component_arrays)
t = time.perf_counter()
r = engine.score({data!r}, period={period!r}, every="month", by="commune",
                 memory_limit={memory!r}, threads={threads})
marks["score_total"] = time.perf_counter() - t
# The check a folder without a writer's manifest pays, timed on its own.
import duckdb, pathlib
con = duckdb.connect()
con.execute("SET threads = {threads}; SET memory_limit = '{memory}'")
t = time.perf_counter()
engine._check_across_files(con, str(pathlib.Path({data!r}) / "**" / "*.parquet"), {{"dossier_id"}})
marks["duplicate_id_check_without_manifest"] = time.perf_counter() - t
print(json.dumps({{k: round(v, 3) for k, v in marks.items()}} | {{"peak_rss_mib": peak_mib()}}))
"""

# The same score through the Dask path (analysis.batch.scoring) on a local cluster of two
# worker processes, one DuckDB thread each; peak memory is the client's and each worker's.
DASK = """
import json, time
from distributed import Client, LocalCluster
from analysis.batch.scoring import score_on_dask
with LocalCluster(n_workers={threads}, threads_per_worker=1, dashboard_address=None) as cluster, \\
        Client(cluster) as client:
    t = time.perf_counter()
    r = score_on_dask({data!r}, period={period!r}, every="month", by="commune", scheduler=client,
                      memory_limit={memory!r}, threads=1, progress=True)
    seconds = time.perf_counter() - t
    workers = sorted(client.run(peak_mib).values())
peak = peak_mib()
r.components.to_parquet({out!r})
r.units.to_parquet({out!r} + ".units")
print(json.dumps({{"seconds": seconds, "peak_rss_mib": peak, "worker_peak_rss_mib": workers}}))
"""

HAND = """
import json, time, duckdb, tempfile
t, cpu = time.perf_counter(), cpu_seconds()
con = duckdb.connect()
con.execute("SET threads = {threads}")
con.execute("SET memory_limit = '{memory}'")
con.execute(f"SET temp_directory = '{{tempfile.mkdtemp()}}'")
con.execute("SET preserve_insertion_order = false")
con.execute("SET enable_progress_bar = false")
frame = con.sql({sql!r}).to_arrow_table()
seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
peak = peak_mib()
import pyarrow.parquet as pq
pq.write_table(frame, {out!r})
print(json.dumps({{"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak,
                  "groups": frame.num_rows}}))
"""


def months_of(period) -> tuple[str, str]:
    """First and last month (``YYYY-MM``) of a period or range: ``2023``, ``2019..2023``."""
    from analysis.index766 import parse_period

    p = parse_period(str(period))
    return f"{p.start:%Y-%m}", f"{p.end:%Y-%m}"


def hand_sql(data: Path, period) -> str:
    """The hand-written query over a month-partitioned dossier folder, for every month of
    ``period`` (a year, or a range of years such as ``2019..2023``)."""
    first, last = months_of(period)
    return HAND_SQL.format(
        pattern=str(data / "**" / "*.parquet"), first=f"{first}-01", last=f"{last}-01"
    )


def hand_long(hand):
    """The hand query's wide counts as the engine's long (component, numerator, denominator)."""
    import pandas as pd

    parts = []
    for comp, (num, den) in COMPONENTS.items():
        part = hand[["province", "unit", "period"]].copy()
        part["component"] = comp
        part["numerator"] = hand[num].astype(float)
        part["denominator"] = hand[den].astype(float)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def compare(engine, hand) -> dict:
    """Engine counts against the hand query's, per (province, commune, month, component).

    Returns the number of keys compared and of mismatches (in keys or in values); for 2.2 the
    engine's numerator is the days summed (its rate is the mean), as in the hand query.
    """
    keys = ["province", "unit", "period", "component"]
    eng = engine[engine["component"].isin(list(COMPONENTS))].copy()
    eng = eng.astype({k: str for k in keys})
    ref = hand_long(hand)
    merged = eng.merge(ref, on=keys, how="outer", suffixes=("_engine", "_hand"), indicator=True)
    one_sided = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]
    differ = 0
    for col in ("numerator", "denominator"):
        a, b = both[f"{col}_engine"], both[f"{col}_hand"]
        differ += int((~((a == b) | (a.isna() & b.isna()))).sum())
    return {"compared": len(both), "only_one_side": one_sided, "values_differ": differ}


def generate(
    folder: Path, rows: int, period, progress: bool = True, data=None, jobs: int = 1,
    copies: int = 1,
) -> Path:  # fmt: skip
    """Synthetic dossiers for every month of ``period``, written month by month under
    ``folder/dossiers``, by ``jobs`` processes (each a contiguous share of the generator's
    chunks: the same rows as one process writes).

    Rows come from the generator in month order, so a month's writer is closed as soon as the
    next month starts: one chunk (262,144 rows) and one open file in memory at a time.
    """
    import multiprocessing

    from tqdm import tqdm

    from analysis.synthetic.dossiers import CHUNK_ROWS

    out = folder / "dossiers"
    out.mkdir(parents=True)
    months = months_of(period)
    rows //= copies  # the rest are copies (see replicate)
    chunks = -(-rows // CHUNK_ROWS)
    shares = [range(j * chunks // jobs, (j + 1) * chunks // jobs) for j in range(jobs)]
    bar = tqdm(total=rows, unit="row", unit_scale=True, desc="generate", disable=not progress)
    if jobs == 1:
        _write_share(out, rows, months, data, shares[0], 0, bar.update)
    else:
        if data is None:
            from analysis.synthetic import panel

            data = panel.generate(seed=766)  # once, before the processes fork
        ctx = multiprocessing.get_context("fork")
        done = ctx.Value("q", 0)

        def count(n, done=done):
            with done.get_lock():
                done.value += n

        procs = [
            ctx.Process(target=_write_share, args=(out, rows, months, data, share, j, count))
            for j, share in enumerate(shares)
        ]
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            bar.update(done.value - bar.n)
        bar.update(done.value - bar.n)
        if any(p.exitcode for p in procs):
            raise SystemExit("a generating process failed")
    bar.close()
    if copies > 1:
        replicate(out, copies, jobs)
    write_manifest(out)
    return out


def _write_share(out: Path, rows: int, months, data, chunks: range, job: int, count) -> None:
    """One process's share: its chunks, as ``month=YYYY-MM/part-<job><nnn>.parquet``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from analysis.ingest.dossiers import DICTIONARY_COLUMNS, OUTPUT_SCHEMA
    from analysis.synthetic.dossiers import CHUNK_ROWS, generate_dossiers

    schema = OUTPUT_SCHEMA.with_metadata({"source": "synthetic", "synthetic": "true"})
    writer, month, filled, parts = None, None, 0, 0

    def close():
        if writer is not None:
            writer.close()

    try:
        for table in generate_dossiers(rows, data=data, months=months, chunks=chunks):
            labels = pc.strftime(table["received_month"], "%Y-%m")
            for label in pc.unique(labels).to_pylist():
                part = table.filter(pc.equal(labels, label))
                if label != month or filled >= FILE_ROWS:
                    close()
                    parts = 0 if label != month else parts + 1
                    month, filled = label, 0
                    (out / f"month={label}").mkdir(exist_ok=True)
                    writer = pq.ParquetWriter(
                        out / f"month={label}" / f"part-{job}{parts:03d}.parquet",
                        schema,
                        compression="zstd",
                        use_dictionary=DICTIONARY_COLUMNS,
                    )
                writer.write_table(part, row_group_size=CHUNK_ROWS)
                filled += part.num_rows
            count(table.num_rows)
    finally:
        close()


def replicate(out: Path, copies: int, jobs: int = 1) -> None:
    """Add ``copies - 1`` copies of every file beside it, the ids made unique (``-c<k>``).

    For sizes the generator cannot reach in the time at hand: every count is then ``copies`` times the generated one, but the distinct cells of
    the engine's first stage are those of the generated rows, fewer than ``copies`` times as
    many rows drawn afresh would have. Reported with the result (``copies``).
    """
    import multiprocessing

    files = sorted(out.rglob("*.parquet"))
    tasks = [(f, k) for f in files for k in range(1, copies)]
    # Forked processes (not a pool): this module may be loaded from its path, not imported.
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_copies, args=(tasks[j::jobs],)) for j in range(jobs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise SystemExit("a copying process failed")


def _copies(tasks) -> None:
    for path, k in tasks:
        _copy(path, k)


def _copy(path: Path, k: int) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from analysis.ingest.dossiers import DICTIONARY_COLUMNS
    from analysis.synthetic.dossiers import CHUNK_ROWS

    table = pq.read_table(path)
    i = table.column_names.index("dossier_id")
    table = table.set_column(i, "dossier_id", pc.binary_join_element_wise(
        table["dossier_id"], f"c{k}", "-"))  # fmt: skip
    pq.write_table(table, path.with_name(f"{path.stem}-c{k}.parquet"), compression="zstd",
                   use_dictionary=DICTIONARY_COLUMNS, row_group_size=CHUNK_ROWS)  # fmt: skip


def write_manifest(out: Path) -> None:
    """List the files with their SHA-256 as the synthetic writer does (ids SYN-<seed>-<k>).

    The engine then knows no id is in two files and skips its check across files
    (:func:`analysis.index766.engine.checked_by_writer`); ``--profile`` times that check apart.
    """
    from analysis.files import atomic_write, sha256

    files = {p.relative_to(out).as_posix(): sha256(p) for p in sorted(out.rglob("*.parquet"))}
    manifest = {"synthetic": True, "generator": "analysis.synth_dossiers", "files": files,
                "written_by": "benchmarks/bench_scale.py"}  # fmt: skip
    atomic_write(out.parent / "dossiers_manifest.json", json.dumps(manifest, indent=2) + "\n")


def _measure(script: str, **fill) -> dict:
    code = PEAK + script.format(threads=THREADS, **fill)
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    load = os.getloadavg()[0]
    # stderr passes through: the engine's bar (with the time left) shows while it runs.
    done = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"{script.strip().splitlines()[0]} ... failed (its error above)")
    # The result is the last JSON object printed (a library may print before it, unended).
    found = [line[line.index('{"') :] for line in done.stdout.splitlines() if '{"' in line]
    if not found:
        raise SystemExit(f"no result printed; its output ends:\n{done.stdout[-2000:]}")
    last = found[-1]
    return json.loads(last) | {"load_before_after": [round(load, 2), round(os.getloadavg()[0], 2)]}


def _median_run(runs: list[dict]) -> dict:
    """The run of median time (its own memory and load with it)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def run_size(rows: int, args, work: Path) -> dict:
    """Generate (or reuse) one size, time engine and hand query, check their counts agree."""
    import pandas as pd

    free = shutil.disk_usage(work).free
    if not args.data and rows * BYTES_PER_ROW > 0.8 * free:
        raise SystemExit(
            f"{rows:,} rows need about {rows * BYTES_PER_ROW / 2**30:.0f} GiB in {work}, "
            f"{free / 2**30:.0f} GiB free: give --tmp on a larger disk"
        )
    folder = work / f"rows-{rows}"
    t = time.perf_counter()
    data = (
        Path(args.data)
        if args.data
        else generate(folder, rows, args.period, jobs=args.jobs, copies=args.copies)
    )
    generate_seconds = time.perf_counter() - t
    files = sorted(data.rglob("*.parquet"))
    import pyarrow.parquet as pq

    n = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    size = sum(f.stat().st_size for f in files)
    engine_out, hand_out = work / "engine.parquet", work / "hand.parquet"
    fill = {"data": str(data), "period": args.period, "memory": args.memory}
    # Engine and hand query in turn, --repeat times: the machine is shared, and a busier
    # minute then weighs on both. Medians are reported, every run is kept.
    engines, hands = [], []
    for i in range(args.repeat):
        print(f"{n:,} rows, run {i + 1}/{args.repeat}: engine …", file=sys.stderr)
        engines.append(_measure(ENGINE, out=str(engine_out), **fill))
        print(f"  engine {engines[-1]['seconds']:.1f} s; hand query …", file=sys.stderr)
        sql = hand_sql(data, args.period)
        hands.append(_measure(HAND, sql=sql, out=str(hand_out), memory=args.memory))
        print(f"  hand {hands[-1]['seconds']:.1f} s", file=sys.stderr)
    engine, hand = _median_run(engines), _median_run(hands)
    agree = compare(pd.read_parquet(engine_out), pd.read_parquet(hand_out))
    if agree["only_one_side"] or agree["values_differ"]:
        raise SystemExit(f"engine and hand query disagree at {n:,} rows: {agree}")
    result = {
        "rows": n,
        "measured_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": len(files),
        "copies": args.copies,
        "parquet_mib": round(size / 2**20, 1),
        "generate_seconds": None if args.data else round(generate_seconds, 1),
        "engine_seconds": round(engine["seconds"], 2),
        "engine_rows_per_second": round(n / engine["seconds"]),
        "engine_peak_rss_mib": engine["peak_rss_mib"],
        "engine_unit_months": engine["unit_months"],
        "engine_component_rows": engine["component_rows"],
        "engine_load_before_after": engine["load_before_after"],
        "hand_seconds": round(hand["seconds"], 2),
        "hand_rows_per_second": round(n / hand["seconds"]),
        "hand_peak_rss_mib": hand["peak_rss_mib"],
        "hand_groups": hand["groups"],
        "hand_load_before_after": hand["load_before_after"],
        "ratio_seconds_engine_to_hand": round(engine["seconds"] / hand["seconds"], 2),
        "engine_runs_cpu_seconds": [round(r["cpu_seconds"], 2) for r in engines],
        "hand_runs_cpu_seconds": [round(r["cpu_seconds"], 2) for r in hands],
        "ratio_cpu_engine_to_hand_median": round(
            sorted(e["cpu_seconds"] for e in engines)[(len(engines) - 1) // 2]
            / sorted(h["cpu_seconds"] for h in hands)[(len(hands) - 1) // 2],
            2,
        ),
        "ratio_peak_rss_engine_to_hand": round(engine["peak_rss_mib"] / hand["peak_rss_mib"], 2),
        "engine_runs_seconds": [round(r["seconds"], 2) for r in engines],
        "hand_runs_seconds": [round(r["seconds"], 2) for r in hands],
        "counts_identical": agree,
        "within_1_5x": engine["seconds"] <= 1.5 * hand["seconds"],
        "under_4_gib": engine["peak_rss_mib"] < 4096,
    }
    if args.dask:
        result |= run_dask(fill, work, engine_out)
    if args.profile:
        result["engine_profile_seconds"] = _measure(PROFILE, **fill)
    print(json.dumps(result, indent=2), file=sys.stderr)
    if not args.data and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def run_dask(fill: dict, work: Path, engine_out: Path) -> dict:
    """The Dask path once; its units and components must equal the engine's, every column."""
    import pandas as pd

    out = work / "dask.parquet"
    print("  Dask, 2 workers …", file=sys.stderr)
    run = _measure(DASK, out=str(out), **fill)
    print(f"  Dask {run['seconds']:.1f} s", file=sys.stderr)
    same = {}
    for name, keys in (("components", ["unit", "province", "period", "component"]),
                       ("units", ["unit", "province", "period"])):  # fmt: skip
        mine = f"{engine_out}.all" if name == "components" else f"{engine_out}.units"
        theirs = str(out) if name == "components" else f"{out}.units"
        a, b = pd.read_parquet(mine), pd.read_parquet(theirs)
        a, b = (f.sort_values(keys).reset_index(drop=True) for f in (a, b))
        same[name] = a.equals(b)
    if not all(same.values()):
        raise SystemExit(f"the Dask path and the engine disagree: {same}")
    return {
        "dask_seconds": round(run["seconds"], 2),
        "dask_peak_rss_mib_client": run["peak_rss_mib"],
        "dask_peak_rss_mib_workers": run["worker_peak_rss_mib"],
        "dask_load_before_after": run["load_before_after"],
        "dask_identical_to_engine": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e7,2e7", help="sizes, comma-separated (1e7,2e7)")
    parser.add_argument("--period", default="2023", help="a year or years: 2023, 2019..2023")
    parser.add_argument("--jobs", type=int, default=2, help="processes generating the data")
    parser.add_argument("--dask", action="store_true", help="also the Dask path, 2 workers")
    parser.add_argument("--copies", type=int, default=1,
                        help="generate rows/COPIES, then copy (see replicate)")  # fmt: skip
    parser.add_argument("--memory", default="1.5GB", help="DuckDB's cap for both (it spills)")
    parser.add_argument("--tmp", default=None, help="folder for the data (default: /tmp)")
    parser.add_argument("--data", default=None, help="reuse a month-partitioned folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--profile", action="store_true", help="time the engine's stages too")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, in turn (median)")
    args = parser.parse_args()
    # A folder given with --data is one size, whatever --rows says.
    sizes = [0] if args.data else [int(float(x)) for x in args.rows.split(",")]

    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.tmp))
    results = {
        "task": f"every dossier component per commune and month, {args.period} "
        f"(period={args.period}, every=month, by=commune)",
        "duckdb_memory_limit": args.memory,
        "threads": THREADS,
        "cpus": os.cpu_count(),
        "sizes": [],
    }
    try:
        for rows in sizes:
            results["sizes"].append(run_size(rows, args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"data kept in {work}", file=sys.stderr)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    # Sizes measured in earlier runs are kept (a 5e8 run does not erase the 1e7 one), each
    # with the load it was measured under; a size measured again replaces its entry.
    # One file per period asked: a five-year run does not replace the one-year results.
    path = out / ("scale.json" if args.period == "2023" else f"scale-{args.period}.json")
    if path.exists():
        earlier = json.loads(path.read_text())
        if earlier.get("task") == results["task"]:
            done = {r["rows"] for r in results["sizes"]}
            kept = [r for r in earlier.get("sizes", []) if r["rows"] not in done]
            results["sizes"] = sorted(kept + results["sizes"], key=lambda r: r["rows"])
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
