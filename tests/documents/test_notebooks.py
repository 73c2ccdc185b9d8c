"""Every notebook: thin (the house rules of STYLE.md) and runnable top to bottom under papermill.

The documents' own tests check what the notebooks show; here each notebook in ``notebooks/`` is
executed with its default parameters, only the data pointed at the test's synthetic folder
(the default data are made by ``make demo`` / ``make lab``, not present on a fresh clone).
"""

from __future__ import annotations

import ast

import nbformat
import papermill
import pytest

from analysis import config

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))


def test_there_is_a_notebook_per_document():
    names = {p.name for p in NOTEBOOKS}
    for expected in (
        "10_explore_province.ipynb",
        "20_measure_brief.ipynb",
        "30_quarterly_report.ipynb",
        "31_index_scorecard.ipynb",
        "40_national_overview.ipynb",
        "50_evaluation_plan.ipynb",
    ):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters`"
    assert code.index(tagged[0]) == 0, "the parameters cell comes first"
    for cell in code:
        assert not cell.get("outputs") and cell.get("execution_count") is None, "no outputs"
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defined, "functions belong in src/analysis/, not in notebooks"
        assert "sys.path" not in cell.source
    # Parameters are plain literals a run list or the CLI can set.
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)


@pytest.mark.render
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_its_defaults(path, synthetic_full, tmp_path):
    declared = papermill.inspect_notebook(str(path))
    data = {
        "data_path": str(synthetic_full),
        "dossiers_path": str(synthetic_full / "dossiers"),
    }
    parameters = {k: v for k, v in data.items() if k in declared}
    assert parameters, f"{path.name} declares no data parameter"
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(path.parent),
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    executed = nbformat.read(out, as_version=4)
    errors = [
        o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    shown = [o for c in executed.cells for o in c.get("outputs", []) if "data" in o]
    assert len(shown) >= 5, "the notebook displays its document"
