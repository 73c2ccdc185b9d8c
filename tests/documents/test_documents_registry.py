"""One registry of documents: `workbench <document>` and a batch put a document in one place.

The expected folders and file names are written out by hand from the naming rule of the
documents (``<kind>/<province slug>`` or ``<period>/<province slug>``, the slugs of
``data/provinces.csv``), not read from the registry they check.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis import batch, cli, config
from analysis.documents.registry import DOCUMENTS

# (command line, run-list entry, folder, stem) — the same document made both ways.
CASES = [
    (
        ["explore", "--province", "Thái Nguyên", "--start", "2020-01", "--freq", "Q"],
        "10_explore_province.ipynb",
        "{province: Thái Nguyên, start: 2020-01, freq: Q}",
        "explore/thai-nguyen",
        "explore_2020-01_latest_Q_vi",
    ),
    (
        ["report", "--province", "Thái Nguyên", "--quarter", "2023Q3"],
        "30_quarterly_report.ipynb",
        "{province: Thái Nguyên, quarter: 2023Q3}",
        "2023Q3/thai-nguyen",
        "quarterly_2023Q3_vi",
    ),
    (
        ["overview", "--quarter", "2023Q3"],
        "40_national_overview.ipynb",
        "{quarter: 2023Q3}",
        "2023Q3/viet-nam",
        "overview_2023Q3_vi",
    ),
    (
        ["brief", "--measure", "thai-nguyen-fee-50"],
        "20_measure_brief.ipynb",
        "{measure: thai-nguyen-fee-50}",
        "briefs/thai-nguyen",
        "thai-nguyen-fee-50_online_rate_vi",
    ),
]


def test_every_notebook_is_a_document_of_the_registry():
    shipped = {p.name for p in config.NOTEBOOKS_DIR.glob("*.ipynb")}
    assert set(DOCUMENTS) == shipped
    assert len({d.name for d in DOCUMENTS.values()}) == len(DOCUMENTS)


@pytest.mark.parametrize(("args", "notebook", "parameters", "folder", "stem"), CASES)
def test_command_and_batch_write_the_same_place(
    args, notebook, parameters, folder, stem, synthetic_dir, tmp_path, monkeypatch
):
    written = {}

    def fake_render(path, params, out_dir, file_stem, formats):
        written.update(notebook=Path(path).name, out_dir=Path(out_dir), stem=file_stem)
        raise SystemExit(0)  # nothing rendered: only where it would go is checked

    monkeypatch.setattr("analysis.render.document.render", fake_render)
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path)
    data = synthetic_dir / "panel.parquet"
    CliRunner().invoke(cli.app, [*args, "--data", str(data)], catch_exceptions=False)
    assert written == {"notebook": notebook, "out_dir": tmp_path / folder, "stem": stem}

    runlist = tmp_path / "runs.yaml"
    runlist.write_text(
        f"period: 2023Q3\ndata: {synthetic_dir}\nruns:\n"
        f"  - notebook: {notebook}\n    parameters: {parameters}\n",
        encoding="utf-8",
    )
    (run,) = batch.load(runlist, reports=tmp_path).runs
    assert (run.out_dir, run.stem) == (tmp_path / folder, stem)
