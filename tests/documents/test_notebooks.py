"""Every notebook: thin (the house rules of STYLE.md) and runnable top to bottom under papermill.

The documents' own tests check what the notebooks show; here each notebook in ``notebooks/`` has
run with its default parameters, only the data pointed at the test's synthetic folder (the
default data are made by ``make demo`` / ``make lab``, not present on a fresh clone): the run is
the session's shared document (``document`` in tests/conftest.py), so each is executed once.
"""

from __future__ import annotations

import ast
import json

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


DATA_PARAMETERS = ("data_path", "dossiers_path")


@pytest.mark.render
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_its_defaults(path, document):
    """The session's document of the notebook (tests/conftest.py: executed once, read by the
    documents' own tests too) ran with the defaults, only the data pointed elsewhere."""
    declared = papermill.inspect_notebook(str(path))
    assert set(DATA_PARAMETERS) & set(declared), f"{path.name} declares no data parameter"
    outputs = document(path.name)
    manifest = json.loads(outputs["manifest"].read_text(encoding="utf-8"))
    given = manifest["parameters"]
    assert set(DATA_PARAMETERS) & set(given), "the data point at the test's synthetic folder"
    defaults = {k: ast.literal_eval(v["default"]) for k, v in declared.items()}
    others = {k: v for k, v in given.items() if k not in DATA_PARAMETERS}
    assert others == {k: defaults[k] for k in others}, "the shared run uses the defaults"
    executed = nbformat.read(outputs["ipynb"], as_version=4)
    errors = [
        o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    shown = [o for c in executed.cells for o in c.get("outputs", []) if "data" in o]
    assert len(shown) >= 5, "the notebook displays its document"
