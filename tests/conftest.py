"""Shared fixtures: one synthetic data set per test session, written to a temporary folder, and
every document notebook executed once per session with its default parameters (``document``).
"""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.synthetic import panel as synth

DATA = Path(__file__).parent / "data"

# The document of each notebook that the tests of several files read (tests/documents/): made
# once per session, on first use, with the notebook's default parameters (test_notebooks.py
# checks they are the defaults) and the session's synthetic data. Either through the command
# (``workbench ...``, as a user makes it) or, for a document whose tests never read what the
# command prints, through ``render``. ``ipynb`` keeps the executed notebook for test_notebooks.py.
SHARED_FORMATS = "html,pdf,ipynb"
SHARED = {
    "10_explore_province.ipynb": {"province": "Thái Nguyên"},
    "20_measure_brief.ipynb": ["brief", "--province", "thai nguyen", "--measure", "thai-nguyen-fee-50"],
    "30_quarterly_report.ipynb": ["report", "--province", "Thái Nguyên", "--quarter", "2023Q3"],
    "31_index_scorecard.ipynb": ["scorecard", "--unit", "Thái Nguyên", "--period", "2024Q2"],
    "40_national_overview.ipynb": {"quarter": "2024Q2", "lang": "vi"},
    "50_evaluation_plan.ipynb": {},
}  # fmt: skip


@pytest.fixture(autouse=True)
def _private_secret(tmp_path_factory, monkeypatch):
    """Keyed hashes use a throw-away secret: no test reads, writes or moves the user's own.

    From the environment, so that no test looks for the secret file (or moves a salt an older
    version left in the real data/processed); tests of the secret itself unset it.
    """
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "config"))
    monkeypatch.setenv("WORKBENCH_SECRET", "5a" * 32)


@pytest.fixture(scope="session")
def synthetic_data():
    """The synthetic panel of seed 766 (``SynthData``), generated once per session.

    Every fixture and test that wants the embedded panel takes this one; none may modify it
    (take a ``.copy()`` of a frame first).
    """
    return synth.generate(seed=766)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory, synthetic_data):
    """Folder holding panel.parquet, ground_truth.csv and manifest.json (seed 766)."""
    out = tmp_path_factory.mktemp("synthetic")
    synth.write(synthetic_data, out)
    return out


@pytest.fixture(scope="session")
def synthetic_full(tmp_path_factory, synthetic_data):
    """Like ``synthetic_dir`` plus 60,000 synthetic dossiers in ``dossiers/`` (the demo layout).

    Reports that score the index read the dossiers from the panel's folder.
    """
    from analysis.synthetic.dossiers import write_dossiers

    out = tmp_path_factory.mktemp("synthetic_full")
    synth.write(synthetic_data, out)
    write_dossiers(out, 60_000, seed=766, data=synthetic_data)
    return out


@pytest.fixture(scope="session")
def prop99() -> pd.DataFrame:
    """California Proposition 99: 39 states, 1970–2000, packs per capita (tests/data/README.md)."""
    return pd.read_csv(DATA / "california_prop99.csv")


def long_panel(y: np.ndarray, names: list[str], first: int = 2000) -> pd.DataFrame:
    """A (units × periods) matrix as a long panel with integer years from ``first``."""
    n, t = y.shape
    return pd.DataFrame(
        {
            "unit": np.repeat(names, t),
            "time": np.tile(np.arange(first, first + t), n),
            "outcome": y.ravel(),
        }
    )


def workbench(*args: str) -> tuple[int, str, str]:
    """``workbench ARGS`` in this process, ended the way the console command ends it.

    The entry point (``analysis.cli.main``) turns a user mistake into one line on stderr and an
    exit code; here it runs without starting a fresh interpreter (seconds of imports per call).
    An exception it does not handle is raised, as a traceback would be printed.

    Returns
    -------
    tuple
        (exit code, stdout, stderr).
    """
    from analysis import cli

    out, err = io.StringIO(), io.StringIO()
    argv, sys.argv = sys.argv, ["workbench", *map(str, args)]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            cli.main()
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else int(end.code is not None)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def written(stdout: str) -> dict[str, Path]:
    """What a document command printed: format -> path, one ``format<TAB>path`` a line."""
    return {kind: Path(path) for kind, path in (line.split("\t") for line in stdout.splitlines())}


@pytest.fixture(scope="session")
def document(synthetic_full, tmp_path_factory):
    """A function: notebook name -> outputs of its shared document (format -> path).

    Each is executed on first use and kept for the session (see ``SHARED``), so the tests of
    different files assert on the same rendered output; none may modify the files.
    """
    from analysis.render.document import render

    made: dict[str, dict[str, Path]] = {}

    def get(notebook: str) -> dict[str, Path]:
        if notebook not in made:
            how = SHARED[notebook]
            out = tmp_path_factory.mktemp(Path(notebook).stem)
            if isinstance(how, dict):
                params = {**how, "data_path": str(synthetic_full)}
                path = config.NOTEBOOKS_DIR / notebook
                made[notebook] = render(
                    path, params, out, "shared", tuple(SHARED_FORMATS.split(","))
                ).outputs
            else:
                data = (
                    ["--dossiers", synthetic_full / "dossiers"]
                    if how[0] == "scorecard"
                    else ["--data", synthetic_full]
                )
                code, stdout, stderr = workbench(
                    *how, *data, "--format", SHARED_FORMATS, "--out", out
                )
                assert code == 0, stderr
                made[notebook] = written(stdout)
        return made[notebook]

    return get
