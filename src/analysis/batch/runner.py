"""Run a run list: skip what is up to date, execute the rest on warm workers, write, index.

The machine that runs the batch does all the writing: workers (a local process pool, or the
workers of a Dask cluster) return each document's contents, and this module writes them
atomically with their manifest (see :func:`analysis.render.document.write`), the run's log,
``reports/<period>/index.html`` and ``reports/<period>/batch.json``. The index is rewritten
as runs finish (every ``INDEX_EVERY`` seconds at most, less often when writing it would take
more than ``INDEX_SHARE`` of the time, and at once for a failure), so a batch
killed half-way still has an index of nearly all it finished; the manifests say exactly what.

A run is **up to date** when the manifest beside its outputs records the same run key and
every output still has the SHA-256 the manifest recorded. The run key hashes what makes the
document: the notebook, the parameters and formats, every input data file, the ``config/``
folder and the workbench's own code and version. Skipped runs cost a few hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from analysis import __version__, config
from analysis.batch.runlist import Run, RunList
from analysis.batch.worker import Outcome, Task, execute_run, init_pool_worker
from analysis.errors import WorkbenchError
from analysis.files import atomic_write

DONE, SKIPPED, FAILED, PENDING = "done", "skipped", "failed", "pending"
POOL_ATTEMPTS = 2  # a run whose worker process died twice is reported failed
INDEX_EVERY = 2.0  # seconds between two rewrites of the index while a batch runs, at least,
INDEX_SHARE = 0.05  # and at most this share of the runner's time spent rewriting it


@dataclass
class Row:
    """One run's state, as the summary and the index show it.

    Attributes
    ----------
    run : Run
    status : {"done", "skipped", "failed", "pending"}
    reason : str
        Why it failed.
    seconds : float or None
    title : str
        The document's title (from its manifest).
    outputs : dict
        Format -> path of the files written (or kept).
    synthetic : bool
    selected : bool
        Whether ``--only`` chose it (the others are listed in the index, not run).
    """

    run: Run
    status: str = PENDING
    reason: str = ""
    seconds: float | None = None
    title: str = ""
    outputs: dict = field(default_factory=dict)
    synthetic: bool = False
    selected: bool = True


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    rows : list of Row
        Every run of the run list (those not selected by ``only`` stay ``pending`` unless up
        to date).
    index : Path
        ``reports/<period>/index.html``.
    seconds : float
    """

    rows: list[Row]
    index: Path
    seconds: float

    def count(self, status: str) -> int:
        """How many selected runs have ``status``."""
        return sum(r.status == status and r.selected for r in self.rows)

    @property
    def failed(self) -> list[Row]:
        """The failed runs."""
        return [r for r in self.rows if r.status == FAILED]

    @property
    def ok(self) -> bool:
        """True when no selected run failed or was left undone."""
        return not self.failed and not any(r.status == PENDING and r.selected for r in self.rows)


# --- what a run depends on ---------------------------------------------------------------------

_HASHES: dict[tuple[str, int, int], str] = {}


def _file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def tree_hashes(path: Path) -> dict[str, str]:
    """SHA-256 of a file, or of every file under a folder (hidden and temporary files aside)."""
    path = Path(path)
    if path.is_file():
        return {path.name: _file_hash(path)}
    if not path.is_dir():
        return {}
    out = {}
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path)
        if item.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
            out[str(rel)] = _file_hash(item)
    return out


def _digest(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_fingerprint() -> str:
    """The workbench's version and a hash of its code, labels and templates."""
    return _digest({"version": __version__, "files": tree_hashes(config.PACKAGE_DIR)})


def run_key(run: Run, code: str | None = None) -> str:
    """The hash that says whether a run's last output is still current.

    Parameters
    ----------
    run : Run
    code : str, optional
        :func:`code_fingerprint`, computed once per batch by the caller.
    """
    inputs = {p: tree_hashes(Path(p)) for p in run.inputs}
    return _digest(
        {
            "notebook": _file_hash(run.notebook),
            "parameters": run.parameters,
            "formats": sorted(run.formats),
            "inputs": inputs,
            "config": tree_hashes(config.CONFIG_DIR),
            "code": code or code_fingerprint(),
        }
    )


def manifest_path(run: Run) -> Path:
    """Where the run's manifest is (beside its outputs)."""
    return run.out_dir / f"{run.stem}.manifest.json"


def up_to_date(run: Run, key: str) -> dict | None:
    """The manifest of the run's last output if it has ``key`` and intact outputs, else None."""
    path = manifest_path(run)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("run_key") != key:
        return None
    outputs = manifest.get("outputs", {})
    if not set(run.formats) <= set(outputs):
        return None
    for info in outputs.values():
        file = run.out_dir / info.get("file", "")
        if not file.is_file() or _file_hash(file) != info.get("sha256"):
            return None
    return manifest


def remove_partial_files(runs: Iterable[Run], period_dir: Path) -> list[Path]:
    """Delete the temporary files a killed batch left (``.<name>.<random>.tmp``)."""
    removed = []
    for folder, pattern in {(r.out_dir, f".{r.stem}.*.tmp") for r in runs} | {
        (period_dir, ".*.tmp"),
        (period_dir / "logs", ".*.tmp"),
    }:
        if folder.is_dir():
            for tmp in folder.glob(pattern):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


# --- executing ---------------------------------------------------------------------------------


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _local(tasks: list[Task], workers: int) -> Iterable[Outcome]:
    """Run tasks on a pool of ``workers`` processes, each with its warm kernel."""
    import multiprocessing

    # spawn, not fork: the runner has threads (progress bar, zmq) that fork would copy badly.
    context = multiprocessing.get_context("spawn")
    attempts: dict[str, int] = {}
    todo = list(tasks)
    while todo:
        broken: list[Task] = []
        with ProcessPoolExecutor(
            max_workers=min(workers, len(todo)), mp_context=context, initializer=init_pool_worker
        ) as pool:
            futures = {pool.submit(execute_run, task): task for task in todo}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken.append(task)
                except Exception as err:  # noqa: BLE001 - reported as that run's failure
                    yield Outcome(task.run_id, ok=False, reason=f"{type(err).__name__}: {err}")
        todo = []
        for task in broken:
            attempts[task.run_id] = attempts.get(task.run_id, 0) + 1
            if attempts[task.run_id] >= POOL_ATTEMPTS:
                yield Outcome(task.run_id, ok=False, reason="the worker process died")
            else:
                todo.append(task)


def _dask(tasks: list[Task], scheduler: str) -> Iterable[Outcome]:
    """Run tasks on a Dask cluster; each Dask worker thread keeps its own warm kernel."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as err:
        raise WorkbenchError(
            "--scheduler needs dask.distributed", hint="pip install 'dask[distributed]'"
        ) from err
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError, ValueError) as err:
        raise WorkbenchError(
            f"cannot reach the Dask scheduler {scheduler}: {err}",
            hint="start it with `dask scheduler` and give its address, e.g. tcp://10.0.0.5:8786",
        ) from err
    try:
        futures = {
            client.submit(execute_run, task, key=f"workbench-{task.run_id}-{os.getpid()}",
                          pure=False): task
            for task in tasks
        }  # fmt: skip
        for future in dask_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except Exception as err:  # noqa: BLE001 - a lost worker fails that run only
                yield Outcome(task.run_id, ok=False, reason=f"{type(err).__name__}: {err}")
    finally:
        client.close()


# --- the batch ---------------------------------------------------------------------------------


def run_batch(
    runlist: RunList,
    only: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    reports: Path | None = None,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> BatchResult:
    """Execute a run list.

    Parameters
    ----------
    runlist : RunList
        From :func:`analysis.batch.runlist.load`.
    only : str, optional
        Run only the runs matching this pattern (:func:`analysis.batch.runlist.matches`).
    workers : int, optional
        Local worker processes (default: one per core). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``): run there instead.
    force : bool
        Run even the runs that are up to date.
    reports : Path, optional
        Reports root (default ``config.REPORTS_DIR``); the index goes to ``<reports>/<period>/``.
    progress : bool
        Show a progress bar on stderr.
    say : callable, optional
        Where to print notes (default: stderr).

    Returns
    -------
    BatchResult
    """
    from analysis.batch.index import write_index
    from analysis.render.document import git_commit, notebook_name

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    reports = Path(reports) if reports else config.REPORTS_DIR
    period_dir = reports / runlist.period
    logs = period_dir / "logs"
    selected = runlist.select(only)
    if not selected:
        raise WorkbenchError(
            f"no run of {runlist.path} matches {only!r}",
            hint="--only takes patterns such as 'thai-nguyen', '*quarterly*', 'scorecard*'",
        )
    chosen = {r.run_id for r in selected}
    removed = remove_partial_files(runlist.runs, period_dir)
    if removed:
        say(f"removed {len(removed)} partial file(s) left by an interrupted batch")

    # git takes half a second: asked in the background, written into each manifest by _record.
    commit = ThreadPoolExecutor(max_workers=1).submit(git_commit)
    code = code_fingerprint()
    rows = {r.run_id: Row(r) for r in runlist.runs}
    keys = {}
    tasks = []
    for run in runlist.runs:
        keys[run.run_id] = key = run_key(run, code)
        manifest = up_to_date(run, key)
        if manifest is not None and not (force and run.run_id in chosen):
            row = rows[run.run_id]
            row.status, row.title = SKIPPED, manifest.get("document") or ""
            row.seconds = manifest.get("seconds", {}).get("total")
            row.synthetic = bool(manifest.get("synthetic"))
            row.outputs = {
                fmt: run.out_dir / info["file"] for fmt, info in manifest["outputs"].items()
            } | {"manifest": manifest_path(run), "log": logs / f"{run.run_id}.log"}
        elif run.run_id in chosen:
            tasks.append(
                Task(
                    run_id=run.run_id,
                    notebook_json=run.notebook.read_text(encoding="utf-8"),
                    notebook_name=notebook_name(run.notebook),
                    parameters=run.parameters,
                    formats=run.formats,
                    run_key=key,
                    commit="",
                    cwd=str(run.notebook.parent),
                )
            )
    for row in rows.values():
        row.selected = row.run.run_id in chosen
    skipped = sum(r.status == SKIPPED and r.selected for r in rows.values())
    where = f"Dask scheduler {scheduler}" if scheduler else None
    if not scheduler:
        workers = max(1, min(workers or default_workers(), len(tasks) or 1))
        where = f"{workers} local worker(s)"
    say(
        f"{runlist.path.name}: {len(selected)} run(s) selected, {skipped} up to date, "
        + (f"{len(tasks)} to run on {where}" if tasks else "nothing to run")
    )

    def save_index() -> Path:
        return write_index(
            list(rows.values()), period_dir, runlist, time.perf_counter() - t0, reports
        )

    index = save_index()
    if tasks:
        from tqdm import tqdm

        outcomes = _dask(tasks, scheduler) if scheduler else _local(tasks, workers)
        done = failed = 0
        written, cost = time.perf_counter(), 0.0
        bar = tqdm(
            total=len(tasks), file=sys.stderr, unit="run", disable=not progress,
            desc=f"batch {runlist.period}", dynamic_ncols=True,
        )  # fmt: skip
        with bar:
            for outcome in outcomes:
                row = rows[outcome.run_id]
                _record(row, outcome, keys[outcome.run_id], logs, commit.result())
                done += row.status == DONE
                failed += row.status == FAILED
                bar.set_postfix_str(
                    f"ok {done} · failed {failed} · left {len(tasks) - done - failed}",
                    refresh=False,
                )
                bar.update(1)
                if row.status == FAILED:
                    bar.write(f"failed: {row.run.run_id}: {row.reason}", file=sys.stderr)
                # Rewritten as runs finish, at most every INDEX_EVERY seconds and at most
                # INDEX_SHARE of the time: the page of 3,000 communes' scorecards takes 0.3 s
                # to write (every 2 s that was an eighth of a core; once per run, a quarter
                # of an hour of the runner's time).
                wait = max(INDEX_EVERY, cost / INDEX_SHARE)
                if time.perf_counter() - written >= wait or row.status == FAILED:
                    start = time.perf_counter()
                    index = save_index()
                    written = time.perf_counter()
                    cost = written - start
        index = save_index()
    return BatchResult(rows=list(rows.values()), index=index, seconds=time.perf_counter() - t0)


def _record(row: Row, outcome: Outcome, key: str, logs: Path, commit: str) -> None:
    """Write one finished run: its files and manifest (if it succeeded) and its log."""
    from analysis.render.document import Built, write

    run = row.run
    row.seconds = outcome.seconds.get("total")
    log = outcome.log
    if outcome.ok:
        try:
            built = Built(outcome.payloads, outcome.manifest | {"git_commit": commit}, {})
            row.outputs = write(built, run.out_dir, run.stem, extra={"run_key": key})
            row.status, row.title = DONE, outcome.title
            row.synthetic = bool(outcome.manifest.get("synthetic"))
        except OSError as err:
            row.status, row.reason = FAILED, f"cannot write the outputs: {err}"
            log += f"FAILED writing: {err}\n"
    else:
        row.status, row.reason = FAILED, outcome.reason or "failed"
    atomic_write(logs / f"{run.run_id}.log", log)
    row.outputs["log"] = logs / f"{run.run_id}.log"


def summary(result: BatchResult) -> str:
    """The table printed at the end: status, run, seconds, and the output or the reason."""
    lines = []
    width = max((len(r.run.run_id) for r in result.rows), default=10)
    for r in result.rows:
        if not r.selected and r.status != FAILED:
            continue
        secs = f"{r.seconds:7.1f}" if r.seconds is not None else "      —"
        detail = r.reason if r.status == FAILED else str(r.outputs.get("html") or
                                                           r.outputs.get("pdf") or "")  # fmt: skip
        status = "up-to-date" if r.status == SKIPPED else r.status
        lines.append(f"{status:<10} {r.run.run_id:<{width}} {secs}  {detail}")
    counts = {s: sum(r.status == s and r.selected for r in result.rows) for s in
              (DONE, SKIPPED, FAILED, PENDING)}  # fmt: skip
    lines.append(
        f"{counts[DONE]} done, {counts[SKIPPED]} up to date, {counts[FAILED]} failed"
        + (f", {counts[PENDING]} not run" if counts[PENDING] else "")
        + f" in {result.seconds:.1f} s — {result.index}"
    )
    return "\n".join(lines)
