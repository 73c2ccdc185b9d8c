"""Shared fixtures: one synthetic data set per test session, written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic import panel as synth

DATA = Path(__file__).parent / "data"


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
