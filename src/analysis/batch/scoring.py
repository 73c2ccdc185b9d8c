"""The index engine on a Dask cluster: the pass over the dossiers split by files, the rest as usual.

The engine's stage 1 (:mod:`analysis.index766.engine`) reduces the dossiers to cells with one
``GROUP BY`` of counts and sums, and counts and sums over disjoint sets of files add up to those
over all of them. So each task runs the engine's own stage-1 query on one group of files (a
month folder of a partitioned set) on a worker and returns its cells; the client adds up the
cells of every task per key and the engine goes on as it always does (periods on the cells,
procedures and feedback, points). The numbers are :func:`analysis.index766.score`'s: the same
integers, added in another order.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from analysis.errors import WorkbenchError
from analysis.index766 import engine
from analysis.index766.engine import ScoreResult

KEYS = ("u_province", "u_unit", "u_level", "k")  # stage 1's group keys (those present)


def file_groups(folder: Path) -> list[list[str]]:
    """The tasks: the Parquet files of each folder (a month partition), or each file alone."""
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else [folder]
    by_folder: dict[Path, list[str]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(str(f))
    if len(by_folder) == 1:
        return [[f] for f in next(iter(by_folder.values()))]
    return list(by_folder.values())


def stage1_cells(
    files: list[str], sql: str, columns: dict[str, str], memory_limit: str, threads: int
) -> pa.Table:
    """Run on a worker: the stage-1 query ``sql`` over ``files``, its cells as Arrow.

    ``columns`` (name -> DuckDB type) is the whole folder's schema: a column the files of this
    group lack reads as NULL, as it does when the folder is read as one.
    """
    with tempfile.TemporaryDirectory(prefix="workbench-stage1-") as spill:
        return _stage1(files, sql, columns, memory_limit, threads, spill)


def _stage1(files, sql, columns, memory_limit, threads, spill: str) -> pa.Table:
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET memory_limit = {engine.sql_literal(memory_limit)}")
        # DuckDB spills here; the folder goes with the task (one mkdtemp a task piled up).
        con.execute(f"SET temp_directory = {engine.sql_literal(spill)}")
        con.execute("SET preserve_insertion_order = false")
        listed = ", ".join(engine.sql_literal(f) for f in files)
        src = f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true)"
        con.execute(f"CREATE VIEW raw AS SELECT * FROM {src}")
        have = {r[0] for r in con.execute("DESCRIBE raw").fetchall()}
        select = ", ".join(
            f'"{c}"' if c in have else f'NULL::{t} AS "{c}"' for c, t in columns.items()
        )
        con.execute(f"CREATE VIEW dossiers_src AS SELECT {select} FROM raw")
        return con.execute(sql).to_arrow_table()
    finally:
        con.close()


@contextmanager
def _client(scheduler, workers: int) -> Iterator:
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - a pinned dependency
        raise WorkbenchError(
            "scoring on Dask needs dask.distributed", hint="pip install 'dask[distributed]'"
        ) from err
    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler  # a Client already connected
        return
    if scheduler is None:
        # One thread a worker: DuckDB in each task uses the threads given to score_on_dask.
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as err:
        raise WorkbenchError(
            f"cannot reach the Dask scheduler {scheduler}: {err}",
            hint="start it with `dask scheduler` and give its address, e.g. tcp://10.0.0.5:8786",
        ) from err
    with client:
        yield client


def score_on_dask(
    dossiers,
    *,
    period: str,
    by: str = "province",
    every: str | None = None,
    rules=None,
    procedures=None,
    feedback=None,
    scheduler=None,
    workers: int = 2,
    memory_limit: str = engine.MEMORY_LIMIT,
    threads: int = 1,
    progress: bool = False,
) -> ScoreResult:
    """:func:`analysis.index766.score` with the pass over the dossiers on a Dask cluster.

    Parameters
    ----------
    dossiers : path-like
        A Parquet file or folder (as for ``score``) that every worker can read at this path.
    period, by, every, rules, procedures, feedback
        As for :func:`analysis.index766.score`.
    scheduler : str or distributed.Client, optional
        ``tcp://HOST:PORT`` of a running scheduler, or a connected client; default a local
        cluster of ``workers`` processes, started and stopped here.
    workers : int, default 2
        Processes of the local cluster.
    memory_limit, threads : str, int
        DuckDB's cap and threads in each task (and on the client for the rest of the run).
    progress : bool, default False
        A bar of the tasks done, with the time left, on stderr.

    Returns
    -------
    ScoreResult
        Equal, number for number, to ``score``'s.

    Raises
    ------
    WorkbenchError
        Dossiers given as a frame (workers read files), an unreachable scheduler, or any error
        ``score`` raises.
    """
    if not isinstance(dossiers, (str, Path)):
        raise WorkbenchError(
            "scoring on Dask reads dossier files", hint="give the folder of Parquet files"
        )
    folder = Path(dossiers).resolve()
    groups = file_groups(folder) if folder.exists() else []

    def make_cells(inp: engine.Inputs, sql: str) -> None:
        from distributed import as_completed
        from tqdm import tqdm

        columns = {r[0]: r[1] for r in inp.con.execute("DESCRIBE dossiers_src").fetchall()}
        with _client(scheduler, workers) as client:
            futures = client.map(
                stage1_cells,
                groups,
                sql=sql,
                columns=columns,
                memory_limit=memory_limit,
                threads=threads,
                pure=False,
            )
            tables = []
            bar = tqdm(total=len(futures), desc="dossier files", unit="task", file=sys.stderr,
                       disable=not progress)  # fmt: skip
            with bar:
                for future in as_completed(futures):
                    tables.append(future.result())
                    bar.update()
        parts = pa.concat_tables(tables, promote_options="permissive")
        inp.con.register("cell_parts", parts)
        types = dict(inp.con.execute("SELECT column_name, column_type FROM "
                                     "(DESCRIBE cell_parts)").fetchall())  # fmt: skip
        keys = [c for c in parts.column_names if c in KEYS]
        sums = ", ".join(
            f'CAST(sum("{c}") AS {types[c]}) AS "{c}"' for c in parts.column_names if c not in KEYS
        )
        inp.con.execute(
            f"CREATE OR REPLACE TEMP TABLE cells AS SELECT {', '.join(keys)}, {sums}"
            f" FROM cell_parts GROUP BY {', '.join(keys)}"
        )
        inp.con.unregister("cell_parts")

    return engine.score(
        dossiers,
        procedures=procedures,
        feedback=feedback,
        period=period,
        by=by,
        rules=rules,
        every=every,
        memory_limit=memory_limit,
        threads=threads,
        make_cells=make_cells,
    )
