"""Shared fixtures: one synthetic data set per test session, written to a temporary folder."""

from __future__ import annotations

import pytest

from analysis import synth


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """Folder holding panel.parquet, ground_truth.csv and manifest.json (seed 766)."""
    out = tmp_path_factory.mktemp("synthetic")
    synth.write(synth.generate(seed=766), out)
    return out
