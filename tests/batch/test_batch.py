"""Batch runs: run lists checked, failures isolated, kills survived, Dask = local pool, no leaks.

The documents are real quarterly reports on the session's synthetic data (``synthetic_full``);
expectations are worked out independently of the batch: the number of provinces on each map
(63 and 34, the law), the failing entry's reason (an outcome that is not a rate), SHA-256s
recomputed from the files, cell values read back from both workbooks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from openpyxl import load_workbook

from analysis import batch, config
from analysis.errors import WorkbenchError
from analysis.files import sha256

QUARTER = "2023Q3"
# Three quarterly reports (one province typed the way people type it) and one brief that must
# fail inside its kernel: "no_such_rate" is not a rate of the panel.
RUNLIST = """\
period: 2023Q3
formats: [html]
data: {data}
runs:
  - notebook: 30_quarterly_report.ipynb
    parameters: {{province: [Thái Nguyên, TP. HCM], quarter: 2023Q3}}
  - notebook: 30_quarterly_report.ipynb
    formats: [html, pdf]
    parameters: {{province: Bắc Ninh, quarter: 2023Q3}}
  - notebook: 20_measure_brief.ipynb
    parameters: {{measure: thai-nguyen-fee-50, outcome: no_such_rate}}
"""
GOOD = ("thai-nguyen", "ho-chi-minh", "bac-ninh")
FAILING = "thai-nguyen.thai-nguyen-fee-50_no_such_rate_vi"


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", "batch", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _statuses(reports: Path) -> dict[str, dict]:
    data = json.loads((reports / QUARTER / "batch.json").read_text(encoding="utf-8"))
    return {r["run_id"]: r for r in data["runs"]}


def _assert_intact(reports: Path) -> None:
    """No temporary file anywhere, and every output has the hash its manifest recorded."""
    leftovers = [p for p in reports.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    manifests = list(reports.rglob("*.manifest.json"))
    assert manifests
    for path in manifests:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for info in manifest["outputs"].values():
            assert sha256(path.parent / info["file"]) == info["sha256"], info["file"]


@pytest.fixture(scope="module")
def runlist(synthetic_full, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runlist")
    return _write(folder / "q.yaml", RUNLIST.format(data=synthetic_full))


@pytest.fixture(scope="module")
def local_run(runlist, tmp_path_factory):
    """The run list through `workbench batch` on a local pool of two warm workers."""
    reports = tmp_path_factory.mktemp("local")
    result = _cli(str(runlist), "--workers", "2", "--out", str(reports))
    return result, reports


# --- run lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - notebook: 30_quarterly_report.ipynb\n    parameters: {provnce: Huế, quarter: 2023Q3}",
         ["entry 2", "key 'parameters.provnce'", "has no parameter 'provnce'", "province"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    parameters: {province: Thai Ngyen, quarter: 2023Q3}",
         ["entry 2", "key 'parameters.province'", "unknown province", "Thái Nguyên"]),
        ("  - notebook: 30_quarterly_reprt.ipynb\n    parameters: {province: Huế}",
         ["entry 2", "key 'notebook'", "unknown notebook", "30_quarterly_report.ipynb"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    formats: [html, docx]\n    parameters: {province: Huế, quarter: 2023Q3}",
         ["entry 2", "key 'formats'", "'docx'"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    parameters: {province: Huế, quarter: 2023Q5}",
         ["entry 2", "key 'parameters.quarter'", "2023Q5"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    lang: fr\n    parameters: {province: Huế, quarter: 2023Q3}",
         ["entry 2", "key 'lang'", "'fr'"]),
        ("  - notebook: 20_measure_brief.ipynb\n    parameters: {measure: thai-nguyen-fee-50, post_months: soon}",
         ["entry 2", "key 'parameters.post_months'", "whole number"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    parameters: {province: Bắc Giang, quarter: 2025Q4}",
         ["entry 2", "key 'parameters.province'", "Bắc Ninh"]),  # merged on 1 July 2025
        ("  - notebook: 20_measure_brief.ipynb\n    parameters: {measure: thai-nguyen-fee-50, province: all}",
         ["entry 2", "key 'parameters.province'", "national measure"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    paramters: {province: Huế}",
         ["entry 2", "key 'paramters'", "did you mean 'parameters'"]),
        ("  - notebook: 30_quarterly_report.ipynb\n    parameters: {province: Thái Nguyên, quarter: 2023Q3}",
         ["entry 2", "entries 1 and 2 both write"]),
    ],
)  # fmt: skip
def test_run_list_mistakes_name_file_entry_and_key(tmp_path, entry, expected):
    path = _write(
        tmp_path / "bad.yaml",
        "period: 2023Q3\nruns:\n"
        "  - notebook: 30_quarterly_report.ipynb\n"
        "    parameters: {province: Thái Nguyên, quarter: 2023Q3}\n" + entry + "\n",
    )
    with pytest.raises(WorkbenchError) as err:
        batch.load(path, reports=tmp_path)
    text = str(err.value)
    assert str(path) in text
    for part in expected:
        assert part in text, text


def test_run_list_shape_mistakes(tmp_path):
    cases = {
        "periods: 2023Q3\nruns: []\n": "key 'periods'",
        "period: 2023Q3\n": "no runs",
        "period: 2023Q3\nruns: [\n": "not valid YAML at line",
        "period: 2023Q3\nformats: pdf,docx\nruns:\n  - notebook: 30_quarterly_report.ipynb\n": "'docx'",
    }
    for text, expected in cases.items():
        path = _write(tmp_path / "shape.yaml", text)
        with pytest.raises(WorkbenchError, match=expected.replace("(", r"\(")):
            batch.load(path, reports=tmp_path)


def test_cli_mistake_is_one_line_and_exit_2(tmp_path):
    path = _write(
        tmp_path / "bad.yaml",
        "period: 2023Q3\nruns:\n  - notebook: 30_quarterly_report.ipynb\n"
        "    parameters: {province: Atlantis, quarter: 2023Q3}\n",
    )
    result = _cli(str(path), "--out", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "entry 1" in result.stderr and "Atlantis" in result.stderr


def test_province_all_follows_the_map_of_the_period(tmp_path):
    text = (
        "period: {q}\nruns:\n  - notebook: 30_quarterly_report.ipynb\n"
        "    parameters: {{province: all, quarter: {q}}}\n"
    )
    # 63 provinces until 30 June 2025 (2025Q2 still ends before the merger), 34 from 2025Q3.
    for quarter, count in (("2023Q3", 63), ("2025Q2", 63), ("2025Q3", 34)):
        path = _write(tmp_path / f"{quarter}.yaml", text.format(q=quarter))
        runs = batch.load(path, reports=tmp_path).runs
        assert len(runs) == count
        assert len({r.out_dir for r in runs}) == count
        assert all(r.out_dir.parent == tmp_path / quarter for r in runs)
        assert all(r.stem == f"quarterly_{quarter}_vi" for r in runs)
    old = batch.load(tmp_path / "2023Q3.yaml", reports=tmp_path).runs
    new = batch.load(tmp_path / "2025Q3.yaml", reports=tmp_path).runs
    assert "Hà Giang" in {r.unit for r in old} and "Hà Giang" not in {r.unit for r in new}


def test_example_run_lists_are_valid():
    from analysis import config

    for name, quarterly in (("2023Q3.yaml", 63), ("2025Q4.yaml", 34 + 2)):
        runs = batch.load(config.ROOT / "runs" / name).runs
        assert sum(r.kind == "quarterly" for r in runs) == quarterly
        assert all(r.notebook.exists() for r in runs)


def test_only_selects_by_id_kind_or_province(runlist, tmp_path):
    rl = batch.load(runlist, reports=tmp_path)
    assert [r.unit for r in rl.select("hồ chí minh")] == ["Hồ Chí Minh"]
    assert len(rl.select("quarterly")) == 3
    assert {r.unit for r in rl.select("thai-nguyen,bac*")} == {"Thái Nguyên", "Bắc Ninh"}
    assert rl.select("*_no_such_rate_*")[0].run_id == FAILING


# --- a batch with a failure --------------------------------------------------------------------


@pytest.mark.batch
@pytest.mark.render
def test_one_failure_does_not_stop_the_others(local_run):
    result, reports = local_run
    assert result.returncode == 1, result.stderr[-3000:]
    summary = result.stdout
    failed = [line for line in summary.splitlines() if line.startswith("failed")]
    assert len(failed) == 1 and FAILING in failed[0] and "unknown outcome" in failed[0]
    status = _statuses(reports)
    assert status[FAILING]["status"] == "failed"
    assert "no_such_rate" in status[FAILING]["reason"]
    for slug in GOOD:
        run = status[f"{slug}.quarterly_{QUARTER}_vi"]
        assert run["status"] == "done"
        assert (reports / QUARTER / slug / f"quarterly_{QUARTER}_vi.html").exists()
    assert (reports / QUARTER / "bac-ninh" / f"quarterly_{QUARTER}_vi.pdf").exists()
    assert not (reports / QUARTER / "thai-nguyen" / f"quarterly_{QUARTER}_vi.pdf").exists()
    log = (reports / QUARTER / "logs" / f"{FAILING}.log").read_text(encoding="utf-8")
    assert "WorkbenchError" in log and "no_such_rate" in log  # the traceback is in the log
    _assert_intact(reports)


@pytest.mark.batch
@pytest.mark.render
def test_index_lists_every_run_with_its_status(local_run):
    _, reports = local_run
    page = (reports / QUARTER / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert 'lang="vi"' in page and "Lỗi" in page and "Hoàn thành" in page
    assert FAILING in page and "unknown outcome &#x27;no_such_rate&#x27;" in page
    for slug in GOOD:
        assert f'href="{slug}/quarterly_{QUARTER}_vi.html"' in page
    assert page.index(FAILING) < page.index("bac-ninh.quarterly")  # failures first


# --- resuming ----------------------------------------------------------------------------------


@pytest.mark.batch
@pytest.mark.render
def test_killed_batch_resumes_without_partial_files(synthetic_full, tmp_path):
    runlist = _write(
        tmp_path / "kill.yaml",
        f"period: {QUARTER}\nformats: [html]\ndata: {synthetic_full}\nruns:\n"
        "  - notebook: 30_quarterly_report.ipynb\n"
        f"    parameters: {{province: [Hà Nội, Huế, Cà Mau], "
        f"quarter: {QUARTER}}}\n",
    )
    reports = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "batch", str(runlist), "--workers", "1",
         "--out", str(reports), "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not list(reports.rglob("*.manifest.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    family = psutil.Process(proc.pid).children(recursive=True)
    assert family, "the runner should have a worker and a kernel"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # The worker dies with the runner (PR_SET_PDEATHSIG), the kernel with its worker.
    _, alive = psutil.wait_procs(family, timeout=15)
    assert alive == []
    finished = {p.parent.name for p in reports.rglob("*.manifest.json")}
    assert 1 <= len(finished) < 3

    again = _cli(str(runlist), "--workers", "1", "--out", str(reports))
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_intact(reports)
    lines = {line.split()[1]: line.split()[0] for line in again.stdout.splitlines()[:-1]}
    assert len(lines) == 3
    for run_id, status in lines.items():
        assert status == ("up-to-date" if run_id.split(".")[0] in finished else "done")

    forced = _cli(str(runlist), "--workers", "1", "--out", str(reports), "--force")
    assert forced.returncode == 0
    assert [line.split()[0] for line in forced.stdout.splitlines()[:-1]] == ["done"] * 3
    _assert_intact(reports)


@pytest.mark.batch
@pytest.mark.render
def test_changed_output_is_made_again(local_run, runlist, tmp_path):
    """An output edited after the batch no longer matches its manifest: the run is redone."""
    _, reports = local_run
    copy = tmp_path / "reports"
    subprocess.run(["cp", "-a", str(reports), str(copy)], check=True)
    html = copy / QUARTER / "ho-chi-minh" / f"quarterly_{QUARTER}_vi.html"
    html.write_text("tampered", encoding="utf-8")
    rl = batch.load(runlist, reports=copy)
    result = batch.run_batch(rl, only="quarterly", workers=1, reports=copy, progress=False)
    status = {r.run.run_id: r.status for r in result.rows if r.selected}
    assert status == {
        f"thai-nguyen.quarterly_{QUARTER}_vi": "skipped",
        f"ho-chi-minh.quarterly_{QUARTER}_vi": "done",
        f"bac-ninh.quarterly_{QUARTER}_vi": "skipped",
    }
    assert html.read_text(encoding="utf-8") != "tampered"


# --- Dask --------------------------------------------------------------------------------------


def _cells(path: Path) -> dict:
    book = load_workbook(path, read_only=True)
    return {s.title: [list(r) for r in s.iter_rows(values_only=True)] for s in book.worksheets}


@pytest.mark.batch
@pytest.mark.render
def test_dask_cluster_gives_the_same_documents(local_run, runlist, tmp_path):
    from distributed import LocalCluster

    _, local = local_run
    reports = tmp_path / "dask"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        rl = batch.load(runlist, reports=reports)
        result = batch.run_batch(
            rl, scheduler=cluster.scheduler_address, reports=reports, progress=False
        )
    assert {r.run.run_id: r.status for r in result.rows} == {
        k: v["status"] for k, v in _statuses(local).items()
    }
    for slug in GOOD:
        stem = QUARTER + "/" + slug + f"/quarterly_{QUARTER}_vi"
        a = json.loads((local / f"{stem}.manifest.json").read_text(encoding="utf-8"))
        b = json.loads((reports / f"{stem}.manifest.json").read_text(encoding="utf-8"))
        for key in ("document", "parameters", "data", "synthetic", "run_key"):
            assert a[key] == b[key], key
        # Same numbers, same layout: the HTML is byte-identical; the workbooks cell by cell
        # (an XLSX file also stores the time it was written).
        assert a["outputs"]["html"]["sha256"] == b["outputs"]["html"]["sha256"]
        assert _cells(local / f"{stem}.xlsx") == _cells(reports / f"{stem}.xlsx")
    _assert_intact(reports)


# --- warm kernels ------------------------------------------------------------------------------


def _notebook(path: Path, parameter: str, code: str) -> Path:
    """A one-cell notebook with one parameter, for the python3 kernel."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameter)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def one_kernel(tmp_path_factory):
    """One worker (one warm kernel) runs a notebook three times (``leak``: what stays in the
    kernel between runs), then another three times whose second run kills its kernel (``die``).
    The pool executes them in the run list's order."""
    folder = tmp_path_factory.mktemp("one_kernel")
    leak = _notebook(
        folder / "leak.ipynb",
        "step = 0",
        "import os, sys\n"
        "from analysis.documents.blocks import Meta, Paragraph\n"
        "leaked = [name for name in ('left_behind', 'step_before') if name in globals()]\n"
        "warm = 'analysis.documents.brief' in sys.modules\n"
        "left_behind = step\n"
        "import analysis.documents.brief\n"
        "display(Meta({'title': f'run {step}', 'lang': 'vi'}),\n"
        "        Paragraph(f'leaked={leaked} warm={warm} pid={os.getpid()}'))",
    )
    die = _notebook(
        folder / "die.ipynb",
        "die = False",
        "import os, signal\n"
        "from analysis.documents.blocks import Meta, Paragraph\n"
        "if die:\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "display(Meta({'title': 'alive', 'lang': 'vi'}), Paragraph(f'pid={os.getpid()}'))",
    )
    runlist = _write(
        folder / "one_kernel.yaml",
        f"period: {QUARTER}\nformats: [html]\nruns:\n"
        f"  - notebook: {leak}\n"
        "    output: '{period}/leak/step_{step}'\n"
        "    parameters: {step: [1, 2, 3]}\n"
        + "".join(
            f"  - notebook: {die}\n"
            f"    output: '{{period}}/die/run_{n}'\n"
            f"    parameters: {{die: {flag}}}\n"
            for n, flag in enumerate(["false", "true", "false"])
        ),
    )
    rl = batch.load(runlist, reports=folder)
    result = batch.run_batch(rl, workers=1, reports=folder, progress=False)
    return folder, result.rows


@pytest.mark.batch
@pytest.mark.render
def test_warm_kernel_keeps_modules_but_not_variables(one_kernel):
    folder, rows = one_kernel
    assert [r.status for r in rows[:3]] == ["done"] * 3
    pages = [(folder / QUARTER / "leak" / f"step_{n}.html").read_text() for n in (1, 2, 3)]
    assert all("leaked=[]" in page for page in pages)  # no variable of a run reaches the next
    assert "warm=False" in pages[0] and "warm=True" in pages[2]  # imported modules stay
    pids = {page.split("pid=")[1].split("<")[0] for page in pages}
    assert len(pids) == 1  # one kernel for the three runs


@pytest.mark.batch
@pytest.mark.render
def test_dead_kernel_fails_one_run_and_is_replaced(one_kernel):
    _, rows = one_kernel
    assert [r.status for r in rows[3:]] == ["done", "failed", "done"]
    assert "kernel" in rows[4].reason.lower()


@pytest.mark.batch
@pytest.mark.render
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_pool_worker_dies_with_its_parent(tmp_path):
    """What the kill test relies on, in isolation: PR_SET_PDEATHSIG in a child."""
    ready = tmp_path / "ready"
    # The child says when prctl has run: a fixed sleep raced the import under load.
    code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'from analysis.batch.worker import die_with_parent; die_with_parent(); "
        f'import pathlib, time; pathlib.Path("{ready}").touch(); time.sleep(60)\'])\n'
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the child never reached prctl"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    child.wait(timeout=10)  # raises TimeoutExpired if it outlived its parent


def test_workers_validate_notebooks_without_the_iri_grammar():
    """A worker's nbformat still validates notebooks, without loading jsonschema's IRI checker
    (rfc3987_syntax compiles a Lark grammar at import: 1.3 s in every process that starts)."""
    code = (
        "import sys\n"
        "from analysis.render.document import skip_iri_grammar\n"
        "skip_iri_grammar()\n"
        "import nbformat, nbclient, nbconvert\n"
        f"nb = nbformat.read({str(config.NOTEBOOKS_DIR / '30_quarterly_report.ipynb')!r}, 4)\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.v4.new_notebook(); bad.cells = [{'cell_type': 'code'}]\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "except nbformat.ValidationError:\n"
        "    print('refused')\n"
        "print(sorted(m for m in ('rfc3987_syntax', 'lark') if sys.modules.get(m)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["refused", "[]"]
