"""One batch worker: a warm Jupyter kernel that executes one parameterized notebook after another.

Starting a kernel and importing pandas, matplotlib and the workbench costs seconds; a
quarterly report computes in about as long. A worker therefore starts ONE kernel (a
``jupyter_client.KernelManager``) and keeps it: each run's notebook is parameterized the
papermill way (``papermill.parameterize.parameterize_notebook``, so the executed notebook
carries the same ``injected-parameters`` cell) and executed in it by ``nbclient``, after a
first cell, removed again from the result, that clears the user namespace (``%reset -f``:
imported modules stay, variables do not) and closes figures. The worker process converts the
result to HTML and PDF itself (nbconvert and WeasyPrint imported once). A kernel that dies or
hangs is replaced for the next run.

The same :func:`execute_run` serves the local process pool and Dask workers: it takes a
:class:`Task` (plain data: the notebook's JSON, parameters, formats) and returns an
:class:`Outcome` with the files' contents, so the machine running the batch writes every
file itself and a Dask worker needs only the package and the data path, not the reports folder.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

CELL_TIMEOUT = 1800  # seconds one cell may take before the kernel is declared hung
RESET_TAG = "batch-chdir"
# %reset -f without its gc.collect(), and every figure closed. gc.collect is put back through
# the gc module itself: reset() empties the namespace that would have held the saved one.
RESET_CODE = """\
import gc as _gc
_gc._workbench_collect, _gc.collect = _gc.collect, lambda *args, **kwargs: 0
try:
    get_ipython().reset(new_session=False)
finally:
    import gc as _gc
    _gc.collect = _gc._workbench_collect
import matplotlib.pyplot as _plt
_plt.close("all")
del _gc, _plt
"""
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# What every report imports: paid once when the kernel starts, not in the first run.
WARM_IMPORTS = (
    "import numpy, pandas, matplotlib.pyplot, analysis.documents.blocks, analysis.documents.figures"
)


@dataclass(frozen=True)
class Task:
    """What a worker needs to make one document (plain data: it travels to Dask workers).

    Attributes
    ----------
    run_id : str
    notebook_json : str
        The notebook itself, so that workers need no copy of ``notebooks/``.
    notebook_name : str
        How the manifest names it.
    parameters : dict
    formats : tuple of str
    run_key : str
        Recorded in the manifest; a later batch skips the run while it is unchanged.
    commit : str
        The git commit to record; empty when the runner records its own.
    cwd : str
        Working folder of the kernel (the notebook's folder when it exists on the worker).
    """

    run_id: str
    notebook_json: str
    notebook_name: str
    parameters: dict
    formats: tuple[str, ...]
    run_key: str
    commit: str
    cwd: str = ""


@dataclass
class Outcome:
    """What came of one task.

    Attributes
    ----------
    run_id : str
    ok : bool
    reason : str
        Why it failed, in one line (empty when it succeeded).
    payloads : dict
        Format -> file content.
    manifest : dict
        The manifest without ``outputs`` (see :func:`analysis.render.document.write`).
    seconds : dict
        Stage -> wall time (``execute``, ``html``, ``pdf``, ``total``).
    log : str
        The run's log: parameters, what the notebook printed, the error with its traceback.
    worker : str
        ``host:pid`` of the worker, and the kernel's pid.
    """

    run_id: str
    ok: bool
    reason: str = ""
    payloads: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    log: str = ""
    worker: str = ""
    title: str = ""


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (prctl PR_SET_PDEATHSIG).

    The runner starts the pool's workers; if the runner is killed (SIGKILL cannot be caught)
    its workers must not go on writing. A no-op where prctl does not exist.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def init_pool_worker() -> None:
    """Initializer of the local process pool's workers: die with the runner, warm up early."""
    from analysis.render.document import skip_iri_grammar

    die_with_parent()
    skip_iri_grammar()
    _LOCAL.die_with_parent = True
    kernel = _kernel_of_thread()
    kernel.launch()  # the kernel boots while this process imports
    # Imported here, not per run: nbconvert's templates and WeasyPrint's Pango bindings.
    import nbconvert  # noqa: F401
    import weasyprint  # noqa: F401

    import analysis.render.document  # noqa: F401

    kernel.start()


def _python_first_on_path() -> None:
    """The kernel must be this interpreter's (the project's .venv), whatever PATH says."""
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if not path.startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path


class WarmKernel:
    """One Jupyter kernel kept running for many notebooks.

    Parameters
    ----------
    die_with_parent : bool
        Make the kernel ask Linux to kill it when this process dies (the local pool; ipykernel
        also exits by itself when its parent goes, within a second).
    """

    def __init__(self, die_with_parent: bool = False) -> None:
        self.die_with_parent = die_with_parent
        self.km = None
        self.kc = None
        self.starts = 0
        self.runs = 0

    @property
    def pid(self) -> int | None:
        """The kernel's process id (None when it is not running)."""
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def alive(self) -> bool:
        """Whether the kernel is running."""
        from jupyter_core.utils import run_sync

        return self.km is not None and run_sync(self.km.is_alive)()

    def launch(self) -> None:
        """Start the kernel process without waiting for it (see :meth:`start`)."""
        # The asynchronous manager and client, as nbclient expects: with blocking ones a dead
        # kernel leaves nbclient waiting for output forever instead of raising DeadKernelError.
        from jupyter_client import AsyncKernelManager
        from jupyter_core.utils import run_sync

        _python_first_on_path()
        self.stop()
        km = AsyncKernelManager(kernel_name="python3")
        # The kernel's start-up chatter (e.g. ipykernel's TCP notice) is not the user's.
        run_sync(km.start_kernel)(
            cwd=tempfile.gettempdir(), extra_arguments=["--IPKernelApp.log_level=ERROR"]
        )
        kc = km.client()
        kc.start_channels()
        self.km, self.kc = km, kc
        self.starts += 1

    def start(self) -> None:
        """Start the kernel (unless :meth:`launch` did) and pay the imports every document needs."""
        from jupyter_core.utils import run_sync

        if not self.alive():
            self.launch()
        run_sync(self.kc.wait_for_ready)(timeout=120)
        prelude = [WARM_IMPORTS]
        if self.die_with_parent:
            prelude.insert(
                0, "from analysis.batch.worker import die_with_parent\ndie_with_parent()"
            )
        self._run_code("\n".join(prelude))
        self.clean()

    def stop(self) -> None:
        """Shut the kernel down (now: nothing of it is worth waiting for)."""
        from jupyter_core.utils import run_sync

        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            run_sync(self.km.shutdown_kernel)(now=True)
        self.km = self.kc = None

    def _run_code(self, code: str) -> None:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        self._client(nb, timeout=300).execute()

    def _client(self, nb, timeout: int):
        from nbclient import NotebookClient

        client = NotebookClient(
            nb, km=self.km, timeout=timeout, kernel_name="python3", allow_errors=False
        )
        # NotebookClient takes a manager but not a client: without this it opens new channels
        # (and waits for the kernel to answer on them, 0.2 s) for every notebook, never closed.
        client.kc = self.kc
        return client

    def execute(self, nb, cwd: str, timeout: int = CELL_TIMEOUT):
        """Execute ``nb`` (a parameterized notebook) in a clean namespace; return it executed.

        A first cell (removed again afterwards) moves the kernel to ``cwd``. When the notebook
        has run, or failed (the error propagates with the partly executed notebook in ``nb``),
        the namespace is emptied for the next run (see :meth:`clean`).
        """
        import nbformat

        if not self.alive():
            self.start()
        chdir = nbformat.v4.new_code_cell(f"import os as _o\n_o.chdir({cwd!r})\ndel _o")
        chdir.metadata["tags"] = [RESET_TAG]
        nb.cells.insert(0, chdir)
        try:
            self._client(nb, timeout=timeout).execute()
        finally:
            nb.cells = [c for c in nb.cells if RESET_TAG not in c.metadata.get("tags", [])]
            self.runs += 1
            if self.alive():
                self.clean()
        return nb

    def clean(self) -> None:
        """Empty the user namespace (``%reset -f``): imported modules stay, variables go.

        Sent without waiting: the kernel clears itself while this process lays out the PDF,
        and the kernel handles requests in order, so the next notebook starts clean. The
        full garbage collection ``%reset`` ends with (0.1–0.4 s on a heap holding pandas and
        matplotlib) is left to the collector's own schedule.
        """
        self.kc.execute(RESET_CODE, silent=True, store_history=False)


_LOCAL = threading.local()
_ALL: list[WarmKernel] = []


def _kernel_of_thread() -> WarmKernel:
    kernel = getattr(_LOCAL, "kernel", None)
    if kernel is None:
        kernel = WarmKernel(die_with_parent=getattr(_LOCAL, "die_with_parent", False))
        _LOCAL.kernel = kernel
        _ALL.append(kernel)
    return kernel


def warm_kernel() -> WarmKernel:
    """This thread's kernel (one per worker thread: a kernel runs one notebook at a time)."""
    kernel = _kernel_of_thread()
    if not kernel.alive():
        kernel.start()
    return kernel


@atexit.register
def _shutdown() -> None:
    for kernel in _ALL:
        # Leaving anyway: a kernel that does not answer exits with its parent (ipykernel).
        with contextlib.suppress(Exception):
            kernel.stop()


def _papermill_node(text: str):
    """The notebook as papermill loads it (``papermill.iorw.load_notebook_node``, from text)."""
    import nbformat
    import papermill

    nb = nbformat.v4.upgrade(nbformat.reads(text, as_version=4))
    nb.metadata.setdefault(
        "papermill",
        {
            "default_parameters": {},
            "parameters": {},
            "environment_variables": {},
            "version": papermill.__version__,
        },
    )
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    return nb


def _cell_log(nb) -> list[str]:
    lines = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                lines.append(f"[cell {number} {out.get('name')}] {out.get('text', '').rstrip()}")
            elif out.get("output_type") == "error":
                tb = _ANSI.sub("", "\n".join(out.get("traceback", [])))
                lines.append(f"[cell {number} error]\n{tb}")
    return lines


def _reason(err: BaseException, nb) -> str:
    """One line for the summary: a WorkbenchError's message as is, else the cell and the error."""
    ename = getattr(err, "ename", None)
    evalue = getattr(err, "evalue", None)
    if ename:
        if ename == "WorkbenchError":
            return str(evalue)
        cell = next(
            (
                n
                for n, c in enumerate(nb.cells, start=1)
                if any(o.get("output_type") == "error" for o in c.get("outputs", []))
            ),
            None,
        )
        where = f"cell {cell}: " if cell else ""
        return f"{where}{ename}: {evalue}".strip()
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[-1] if text else ''}".rstrip(": ")


def execute_run(task: Task) -> Outcome:
    """Make one document in this worker's warm kernel; never raises.

    Parameters
    ----------
    task : Task

    Returns
    -------
    Outcome
        ``ok`` False with a one-line ``reason`` when the notebook or the layout failed; the
        ``log`` holds the details.
    """
    from analysis.render import document as render

    render.skip_iri_grammar()  # a Dask worker's first task: before nbclient imports nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.parameterize import parameterize_notebook

    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    log = [
        f"run {task.run_id}",
        f"notebook {task.notebook_name}",
        f"parameters {json.dumps(task.parameters, ensure_ascii=False)}",
        f"run key {task.run_key}",
        f"worker {worker}",
    ]
    outcome = Outcome(run_id=task.run_id, ok=False, worker=worker)
    nb = None
    try:
        kernel = warm_kernel()
        log.append(f"kernel pid {kernel.pid} (start {kernel.starts}, run {kernel.runs + 1})")
        nb = parameterize_notebook(
            _papermill_node(task.notebook_json),
            task.parameters,
            kernel_name="python3",
            language="python",
        )
        cwd = task.cwd if task.cwd and Path(task.cwd).is_dir() else tempfile.gettempdir()
        try:
            kernel.execute(nb, cwd)
        except (DeadKernelError, CellTimeoutError):
            kernel.stop()  # the next run starts a fresh one
            raise
        seconds = {"execute": time.perf_counter() - t0}
        built = render.build(
            nb, task.notebook_name, task.parameters, task.formats, seconds, commit=task.commit
        )
        outcome.seconds = dict(built.manifest["seconds"])
        outcome.seconds["total"] = time.perf_counter() - t0
        outcome.manifest = built.manifest | {"seconds": outcome.seconds}
        outcome.payloads = built.payloads
        outcome.title = built.meta.get("title", "")
        outcome.ok = True
    except Exception as err:  # noqa: BLE001 - one run's failure is reported, never raised
        outcome.reason = _reason(err, nb) or type(err).__name__
        if not getattr(err, "ename", None):
            log.append(traceback.format_exc())
    if nb is not None:
        log.extend(_cell_log(nb))
    outcome.seconds.setdefault("total", time.perf_counter() - t0)
    status = "ok" if outcome.ok else f"FAILED: {outcome.reason}"
    log.append(f"{status} in {outcome.seconds['total']:.1f} s")
    outcome.log = "\n".join(log) + "\n"
    return outcome
