"""Where the data of an analysis came from: the panel file, its manifest, synthetic or real.

Every document states its data; this module finds the manifest written beside a panel
(by ``workbench synth`` or, later, by the importers) and hashes what it does not list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis import config, panel
from analysis.errors import WorkbenchError
from analysis.files import sha256


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded panel and its provenance.

    Attributes
    ----------
    frame : DataFrame
        The validated count panel.
    path : Path
        The Parquet file read.
    synthetic : bool
        True when the manifest says the data are synthetic (then every output says so).
    files : dict
        File name -> SHA-256 of the data files behind the panel.
    manifest : dict
        The manifest as written beside the data (empty when there is none).
    """

    frame: pd.DataFrame
    path: Path
    synthetic: bool
    files: dict[str, str] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    def sibling(self, name: str) -> Path:
        """A file next to the panel (e.g. the synthetic ground truth)."""
        return self.path.parent / name


def panel_path(path: str | Path | None = None) -> Path:
    """The panel file a path names (a file, or a folder holding ``panel.parquet``), checked.

    Raises
    ------
    WorkbenchError
        When there is no such file (hint: ``workbench synth``).
    """
    path = Path(path) if path else config.DEFAULT_PANEL
    if path.is_dir():
        path = path / config.PANEL_FILE
    if not path.exists():
        raise WorkbenchError(
            f"data file not found: {path}",
            hint="run `workbench synth` (or `make demo`) to make the embedded synthetic data, "
            "or give the path of a panel with --data",
        )
    return path


def dossiers_beside(source: Source) -> Path | None:
    """The dossier records in ``dossiers/`` beside a panel (the demo layout), or None."""
    folder = source.path.parent / "dossiers"
    return folder if folder.is_dir() and any(folder.glob("*.parquet")) else None


def dossier_files(folder: Path) -> tuple[dict[str, str], bool]:
    """``dossiers/<file>`` -> SHA-256 (from the dossiers' manifest when it lists them), and
    whether that manifest says the records are synthetic."""
    manifest_path = folder.parent / "dossiers_manifest.json"
    manifest = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    listed = manifest.get("files", {})
    files = {
        f"{folder.name}/{p.name}": listed.get(p.name) or sha256(p)
        for p in sorted(folder.glob("*.parquet"))
    }
    return files, bool(manifest.get("synthetic", False))


def month_span(path: str | Path | None = None) -> tuple[pd.Period, pd.Period]:
    """The first and last month of a panel, read from its ``month`` column only (a quick check
    before a kernel starts)."""
    months = pd.to_datetime(pd.read_parquet(panel_path(path), columns=["month"])["month"])
    return pd.Period(months.min(), "M"), pd.Period(months.max(), "M")


def open_panel(path: str | Path | None = None) -> Source:
    """Load a panel with its provenance.

    Parameters
    ----------
    path : path-like, optional
        A panel Parquet file or the folder holding ``panel.parquet``; default the embedded
        synthetic data (``data/processed/synthetic/panel.parquet``).

    Raises
    ------
    WorkbenchError
        When the file is missing (hint: ``workbench synth``) or invalid.
    """
    path = panel_path(path).resolve()
    manifest_path = path.parent / config.MANIFEST_FILE
    manifest: dict = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    stat = path.stat()
    frame, digest = _loaded(str(path), stat.st_mtime_ns, stat.st_size)
    files = dict(manifest.get("files", {}))
    files.setdefault(path.name, digest)
    return Source(
        # A copy: callers may add columns; the cached frame stays as read.
        frame=frame.copy(),
        path=path,
        synthetic=bool(manifest.get("synthetic", False)),
        files=files,
        manifest=manifest,
    )


@lru_cache(maxsize=4)
def _loaded(path: str, mtime_ns: int, size: int) -> tuple[pd.DataFrame, str]:
    """Read, validate and hash a panel once per version of the file: a warm batch worker writes
    dozens of reports from the same panel (time and size are in the key, so a rewritten file is
    read again)."""
    return panel.load(Path(path)), sha256(Path(path))
