"""`make demo` makes its five documents as one batch (runs/demo.yaml): the same documents, in
the same places, as the five single-document commands it replaced.

The expected folders and file stems are written from the table in runs/README.md ("Where
documents go"), not read from the batch.
"""

from __future__ import annotations

from pathlib import Path

from analysis.batch import runlist

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runlist_makes_the_five_demo_documents(tmp_path):
    runs = runlist.load(ROOT / "runs" / "demo.yaml", reports=tmp_path).runs
    made = {(r.out_dir.relative_to(tmp_path).as_posix(), r.stem, tuple(r.formats)) for r in runs}
    assert made == {
        ("briefs/thai-nguyen", "thai-nguyen-fee-50_online_rate_vi", ("html", "pdf")),
        ("briefs/bac-ninh", "bac-ninh-directive-10_online_rate_vi", ("html", "pdf")),
        ("2023Q3/thai-nguyen", "quarterly_2023Q3_vi", ("html", "pdf")),
        ("2023Q3/viet-nam", "overview_2023Q3_vi", ("html", "pdf")),
        ("2024Q2/thai-nguyen", "scorecard_2024Q2_vi", ("html", "pdf")),
    }


def test_make_demo_runs_the_demo_runlist():
    bench = ROOT / "benchmarks" / "bench_demo.py"
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_demo", bench)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    commands = [cmd[1:] for cmd in module.demo_commands()]
    assert commands == [
        ["synth", "--dossiers", "300000"],
        ["batch", "runs/demo.yaml"],
    ]
