"""Time `workbench batch` against the command lines run one by one, side by side in one run.

For every province of a quarter (34 on the new map, 63 on the old one) the quarterly report
is made twice:

- **baseline**: what an analyst does without the batch, one report after the other, each as
  three command lines (three cold processes, a new kernel each time):
  ``papermill 30_quarterly_report.ipynb out.ipynb -p province P -p quarter Q``,
  ``jupyter nbconvert --to html --no-input out.ipynb``, ``weasyprint out.html out.pdf``;
- **batch**: ``workbench batch RUNLIST --workers N --force`` on a run list with
  ``province: all`` (warm kernels, HTML + PDF + XLSX + manifest for each report).

Reported: total wall time, time per report, peak memory of the whole process tree (sampled
every 0.1 s; the runner, its workers and their kernels together) and the ratio of the
per-report times. The batch runs before and after the baseline (its time is the mean of the
two); the baseline's time per report is the median; the load average before and after each
part says how busy the machine was with other work. The 63-province baseline is measured on ``--sample`` reports spread over
the list and extrapolated per report (said so in the output); ``--sample 0`` measures all.

    .venv/bin/python benchmarks/bench_batch.py [--workers 2] [--maps 34,63] [--sample 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "30_quarterly_report.ipynb"
OVERVIEW = ROOT / "notebooks" / "40_national_overview.ipynb"
QUARTERS = {34: "2025Q4", 63: "2023Q3"}  # one quarter on each map
ENV = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


class PeakMemory:
    """Peak resident memory of a process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0
        self._pids: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def watch(self, pid: int) -> None:
        self._pids.append(pid)

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in list(self._pids):
                try:
                    proc = psutil.Process(pid)
                    procs = [proc, *proc.children(recursive=True)]
                except psutil.Error:
                    continue
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(cmd: list[str], memory: PeakMemory, cwd: Path = ROOT) -> float:
    """Run a command (stdout/stderr discarded, failure is fatal); return its wall time."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    memory.watch(proc.pid)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} … failed:\n{err[-2000:]}")
    return time.perf_counter() - t0


def chain(notebook: Path, parameters: dict, out: Path, memory: PeakMemory) -> float:
    """papermill, nbconvert and weasyprint: three cold processes for one document."""
    out.mkdir()
    params = [x for k, v in parameters.items() for x in ("-p", k, v)]
    t = run(
        [str(BIN / "papermill"), str(notebook), str(out / "report.ipynb"), *params,
         "-k", "python3", "--no-progress-bar", "--cwd", str(notebook.parent)],
        memory,
    )  # fmt: skip
    t += run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
         str(out / "report.ipynb"), "--output-dir", str(out)],
        memory,
    )  # fmt: skip
    t += run([str(BIN / "weasyprint"), str(out / "report.html"), str(out / "report.pdf")], memory)
    return t


def baseline_overview(quarter: str, tmp: Path) -> float:
    """The overview's command-line chain, once."""
    with PeakMemory() as memory:
        return chain(
            OVERVIEW, {"quarter": quarter, "lang": "vi"}, tmp / "baseline-overview", memory
        )


def baseline(provinces: list[str], quarter: str, tmp: Path) -> dict:
    """The three command lines, one report after the other."""
    load = os.getloadavg()[0]
    times = []
    with PeakMemory() as memory:
        for n, province in enumerate(provinces):
            out = tmp / f"baseline-{n}"
            out.mkdir()
            t = run(
                [str(BIN / "papermill"), str(NOTEBOOK), str(out / "report.ipynb"),
                 "-p", "province", province, "-p", "quarter", quarter, "-p", "lang", "vi",
                 "-k", "python3", "--no-progress-bar", "--cwd", str(NOTEBOOK.parent)],
                memory,
            )  # fmt: skip
            t += run(
                [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                 str(out / "report.ipynb"), "--output-dir", str(out)],
                memory,
            )  # fmt: skip
            t += run(
                [str(BIN / "weasyprint"), str(out / "report.html"), str(out / "report.pdf")],
                memory,
            )
            times.append(t)
            print(f"  baseline {n + 1}/{len(provinces)} {province}: {t:.1f} s", file=sys.stderr)
    return {
        "seconds": times,
        "peak_rss_mb": round(memory.peak / 2**20),
        "load_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def batch(quarter: str, workers: int, tmp: Path, overview: bool = False) -> dict:
    """`workbench batch` on every province of the quarter (and the overview), from cold."""
    runlist = tmp / f"bench_{quarter}.yaml"
    text = (
        f"period: {quarter}\nformats: [html, pdf]\nruns:\n"
        f"  - notebook: 30_quarterly_report.ipynb\n"
        f"    parameters: {{province: all, quarter: {quarter}}}\n"
    )
    if overview:
        text += (
            f"  - notebook: 40_national_overview.ipynb\n    parameters: {{quarter: {quarter}}}\n"
        )
    runlist.write_text(text, encoding="utf-8")
    reports = tmp / "reports"
    load = os.getloadavg()[0]
    with PeakMemory() as memory:
        total = run(
            [str(BIN / "workbench"), "batch", str(runlist), "--workers", str(workers),
             "--out", str(reports), "--force", "--no-progress"],
            memory,
        )  # fmt: skip
    done = json.loads((reports / quarter / "batch.json").read_text(encoding="utf-8"))
    runs = done["runs"]
    if any(r["status"] != "done" for r in runs):
        raise SystemExit(f"batch {quarter}: not every run succeeded")
    pdfs = sum((reports / r["outputs"]["pdf"]).exists() for r in runs)
    stages: dict[str, list[float]] = {}
    for r in runs:
        manifest = json.loads((reports / r["outputs"]["manifest"]).read_text(encoding="utf-8"))
        for stage, seconds in manifest["seconds"].items():
            stages.setdefault(stage, []).append(seconds)
    return {
        "seconds": round(total, 2),
        "reports": len(runs),
        "pdfs": pdfs,
        "peak_rss_mb": round(memory.peak / 2**20),
        "median_run_seconds": _median([r.get("seconds") for r in runs]),
        # Per report, in the worker: execute (kernel), html (nbconvert), pdf (WeasyPrint).
        "stage_seconds_sum": {k: round(sum(v), 2) for k, v in stages.items()},
        "stage_seconds_median": {k: _median(v) for k, v in stages.items()},
        "load_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


# Cells put around a report in the profile (removed before the layout): the time spent in the
# report's computation (quarterly.prepare) and in turning charts into SVG (Chart.from_figure).
TIMERS_ON = """
import time as _t
import analysis.documents.quarterly as _q
import analysis.documents.blocks as _b
if not hasattr(_b, "_bench"):
    _b._bench = {}
    def _wrap(owner, name, key, method=False):
        fn = getattr(owner, name).__func__ if method else getattr(owner, name)
        def timed(*a, **k):
            t = _t.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                _b._bench[key] = _b._bench.get(key, 0.0) + _t.perf_counter() - t
        setattr(owner, name, classmethod(timed) if method else timed)
    _wrap(_q, "prepare", "prepare")
    _wrap(_b.Chart, "from_figure", "charts_svg", method=True)
_b._bench.clear()
"""
TIMERS_OFF = "import json as _j, analysis.documents.blocks as _b\nprint(_j.dumps(_b._bench))"


def profile_stages(provinces: list[str], quarter: str) -> dict:
    """Where a report's time goes, in one warm kernel as a batch worker makes it.

    execute = prepare (the report's numbers) + charts (matplotlib -> SVG) + the rest (blocks,
    kernel round trips); then html (nbconvert) and pdf (WeasyPrint), and the PDF's own profile
    (the functions it spends most in, from cProfile, for the first report).
    """
    import cProfile
    import io
    import pstats

    import nbformat
    from papermill.parameterize import parameterize_notebook

    from analysis.batch.worker import WarmKernel, _papermill_node
    from analysis.render import document as render

    kernel = WarmKernel()
    kernel.start()
    text = NOTEBOOK.read_text(encoding="utf-8")
    rows, pdf_profile = [], ""
    try:
        for n, province in enumerate(provinces):
            params = {"province": province, "quarter": quarter, "lang": "vi"}
            nb = parameterize_notebook(
                _papermill_node(text), params, kernel_name="python3", language="python"
            )
            first, last = (
                nbformat.v4.new_code_cell(TIMERS_ON),
                nbformat.v4.new_code_cell(TIMERS_OFF),
            )
            nb.cells = [first, *nb.cells, last]
            t = time.perf_counter()
            kernel.execute(nb, str(NOTEBOOK.parent))
            execute = time.perf_counter() - t
            inner = json.loads(nb.cells[-1].outputs[0]["text"])
            nb.cells = nb.cells[1:-1]
            t = time.perf_counter()
            meta = render.document_meta(nb)
            html = render.to_html(nb, meta)
            html_s = time.perf_counter() - t
            profiler = cProfile.Profile() if n == 0 else None
            t = time.perf_counter()
            if profiler:
                profiler.enable()
            render.to_pdf(html)
            if profiler:
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
                pdf_profile = out.getvalue()
            pdf_s = time.perf_counter() - t
            t = time.perf_counter()
            tables = render.document_tables(nb)
            if tables:
                render.to_xlsx(tables, meta)
            xlsx_s = time.perf_counter() - t
            rows.append(
                {
                    "execute": execute,
                    "prepare": inner.get("prepare", 0.0),
                    "charts_svg": inner.get("charts_svg", 0.0),
                    "html": html_s,
                    "pdf": pdf_s,
                    "xlsx": xlsx_s,
                }
            )
            print(f"  stages {n + 1}/{len(provinces)} {province}: {rows[-1]}", file=sys.stderr)
    finally:
        kernel.stop()
    # The first report pays the first import of the report's own modules: medians skip it.
    keep = rows[1:] or rows
    median = {k: round(statistics.median(r[k] for r in keep), 3) for k in rows[0]}
    median["execute_other"] = round(median["execute"] - median["prepare"] - median["charts_svg"], 3)
    print(pdf_profile, file=sys.stderr)
    return {"reports": len(rows), "median_seconds": median, "first_report": rows[0]}


def _median(xs):
    xs = sorted(x for x in xs if x is not None)
    return round(xs[len(xs) // 2], 2) if xs else None


def spread(items: list, k: int) -> list:
    """``k`` items spread evenly over ``items`` (all of them when k is 0 or too large)."""
    if not k or k >= len(items):
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--maps", default="34,63", help="34, 63 or 34,63")
    parser.add_argument(
        "--sample", type=int, default=10, help="baseline reports measured for 63 (0: all)"
    )
    parser.add_argument(
        "--sample34", type=int, default=0, help="baseline reports measured for 34 (0: all)"
    )
    parser.add_argument(
        "--stages", type=int, default=4, help="reports profiled stage by stage (0: none)"
    )
    parser.add_argument("--stages-only", action="store_true", help="only the stage profile")
    parser.add_argument(
        "--overview", action="store_true", help="the national overview too, in both (34 map)"
    )
    args = parser.parse_args()

    from analysis import registry

    if not NOTEBOOK.exists():
        raise SystemExit(f"{NOTEBOOK} is missing")
    if not (ROOT / "data/processed/synthetic/dossiers").is_dir():
        subprocess.run(
            [str(BIN / "workbench"), "synth", "--dossiers", "300000"], check=True, cwd=ROOT
        )
    results = {"workers": args.workers, "cores": os.cpu_count(), "maps": {}}
    for size in (int(m) for m in args.maps.split(",")):
        quarter = QUARTERS[size]
        boundary = "new34" if size == 34 else "old63"
        names = [p.name for p in registry.provinces(boundary)]
        if args.stages:
            print(f"{size} provinces, {quarter}: stages …", file=sys.stderr)
            results.setdefault("stages", {})[str(size)] = profile_stages(
                spread(names, args.stages), quarter
            )
            print(json.dumps(results["stages"][str(size)], indent=2), file=sys.stderr)
        if args.stages_only:
            continue
        sample = spread(names, args.sample34 if size == 34 else args.sample)
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            tmp = Path(tmp)
            # batch, baseline, batch again: a machine busier during one part shows in both.
            print(f"{size} provinces, {quarter}: batch …", file=sys.stderr)
            overview = args.overview and size == 34
            b = batch(quarter, args.workers, tmp, overview)
            print(f"  batch: {b['seconds']:.1f} s for {b['reports']} reports", file=sys.stderr)
            print(f"{size} provinces: baseline on {len(sample)} reports …", file=sys.stderr)
            base = baseline(sample, quarter, tmp)
            base_overview = baseline_overview(quarter, tmp) if overview else 0.0
            print(f"{size} provinces, {quarter}: batch again …", file=sys.stderr)
            b2 = batch(quarter, args.workers, tmp, overview)
            print(f"  batch: {b2['seconds']:.1f} s for {b2['reports']} reports", file=sys.stderr)
        per_base = statistics.median(base["seconds"])
        per_batch = statistics.mean([b["seconds"], b2["seconds"]]) / b["reports"]
        base_total = per_base * len(names) + base_overview
        batch_total = statistics.mean([b["seconds"], b2["seconds"]])
        extrapolated = len(sample) < len(names)
        results["maps"][str(size)] = {
            "quarter": quarter,
            "reports": len(names),
            "overview_included": overview,
            "baseline": {
                "measured_reports": len(sample),
                "extrapolated": extrapolated,
                "note": (
                    f"measured on {len(sample)} of {len(names)} reports, total extrapolated "
                    "per report"
                    if extrapolated
                    else "every report measured"
                ),
                "seconds_total": round(base_total, 1),
                "overview_chain_seconds": round(base_overview, 2) if overview else None,
                "seconds_per_report": round(per_base, 2),
                "seconds_per_report_is": "median of the measured reports",
                "load_before_after": base["load_before_after"],
                "peak_rss_mb": base["peak_rss_mb"],
                "runs": [round(x, 2) for x in base["seconds"]],
            },
            "batch": {
                "seconds_total": round(batch_total, 2),
                "documents": b["reports"],
                "seconds_per_report": round(per_batch, 2),
                "stage_seconds_sum": b["stage_seconds_sum"],
                "stage_seconds_median": b["stage_seconds_median"],
                "runs_seconds": [b["seconds"], b2["seconds"]],
                "peak_rss_mb": max(b["peak_rss_mb"], b2["peak_rss_mb"]),
                "pdfs": b["pdfs"],
                "load_before_after": [b["load_before_after"], b2["load_before_after"]],
            },
            "ratio_baseline_to_batch": round(per_base / per_batch, 2),
            "ratio_total_baseline_to_batch": round(base_total / batch_total, 2),
        }
        print(json.dumps(results["maps"][str(size)], indent=2), file=sys.stderr)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_batch.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
