"""Every path and setting of the workbench, from the project root.

The root is the folder holding ``pyproject.toml`` (a source checkout). ``WORKBENCH_HOME`` overrides
it, so that an installed copy (a Dask worker, a server) can point at a data folder elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"


def _find_root() -> Path:
    env = os.environ.get("WORKBENCH_HOME")
    if env:
        return Path(env).expanduser().resolve()
    # src/analysis/config.py -> the checkout is two folders up from the package.
    checkout = PACKAGE_DIR.parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout
    return Path.cwd()


ROOT = _find_root()
CONFIG_DIR = ROOT / "config"
DATA_DIR = ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = ROOT / "reports"
NOTEBOOKS_DIR = ROOT / "notebooks"

# The embedded synthetic data set: what `workbench synth` writes and what every command reads
# when no other data is given.
SYNTH_DIR = PROCESSED_DIR / "synthetic"
PANEL_FILE = "panel.parquet"
GROUND_TRUTH_FILE = "ground_truth.csv"
MANIFEST_FILE = "manifest.json"
DEFAULT_PANEL = SYNTH_DIR / PANEL_FILE

MEASURES_FILE = CONFIG_DIR / "measures.csv"
CROSSWALK_FILE = PACKAGE_DATA / "provinces_2025.csv"

# The day the 63 provinces became 34 (Resolution 202/2025/QH15).
MERGER_DATE = "2025-07-01"

# Below this many dossiers a rate is not shown (issue: small numbers).
MIN_DENOMINATOR = 20
# The shortest windows a measure's effect is estimated on, for every document and `workbench
# effect`: an ITS needs a year before the measure and half a year after it to say anything.
MIN_PRE_MONTHS = 12
MIN_POST_MONTHS = 6
