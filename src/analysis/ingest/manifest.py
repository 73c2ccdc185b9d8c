"""The import manifest: which raw files made the processed data, and what each changed.

``manifest.json`` sits beside ``panel.parquet`` and ``scores.parquet`` in the output folder. It
keeps the fields :func:`analysis.sources.open_panel` reads (``synthetic``: false, ``files``:
name -> SHA-256 of every data file behind the panel, raw ones included) and one entry per
imported raw file, appended, never rewritten::

    {
      "synthetic": false,
      "generator": "analysis.ingest",
      "updated": "2025-09-01T08:00:00+00:00",
      "files": {"panel.parquet": "<sha256>", "data/raw/t6.xlsx": "<sha256>", ...},
      "rows": {"panel.parquet": 1234, "scores.parquet": 56},
      "imports": [
        {
          "file": "data/raw/t6.xlsx",       # as given, relative to the project when inside it
          "sha256": "<sha256 of the raw file>",
          "kind": "monthly",                # monthly | scores | dossiers
          "imported": "2025-09-01T08:00:00+00:00",
          "mode": "strict",                 # strict | quarantine
          "read": 120, "accepted": 118, "rejected": 2,
          "tables": ["XLSX, sheet 'T6'"],
          "derived": [{"row": 5, "province": "...", "level": "province", "month": "2025-06",
                       "column": "dossiers_online", "rate": "online_rate", "value": 812}],
          "absent_columns": ["dossiers_synced"],
          "replaced": [{"province": "...", "level": "...", "month": "2025-06", "row": 5,
                        "changes": {"dossiers_received": [1200, 1210]}}],
          "rejected_file": "rejected_t6.csv"  # or null
        }
      ]
    }

A file whose SHA-256 is already among the imports of its kind is not imported again: the
import says so and changes nothing. A corrected file has another hash; its rows replace the
old ones for the same unit-months, and the entry's ``replaced`` lists the old and new values.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from analysis import config
from analysis.errors import WorkbenchError
from analysis.files import atomic_write, sha256

GENERATOR = "analysis.ingest"


def now() -> str:
    """The import time as written in the manifest (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def shown_path(path: Path | str) -> str:
    """A path relative to the project root when it lies inside it (manifests stay portable)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(config.ROOT).as_posix()
    except ValueError:
        return str(path)


def empty() -> dict:
    """A manifest with no imports yet."""
    return {"synthetic": False, "generator": GENERATOR, "files": {}, "rows": {}, "imports": []}


def load(out_dir: Path | str) -> dict:
    """The manifest of an output folder (an empty one when there is none).

    Raises
    ------
    WorkbenchError
        When the file exists but is not a manifest (then nothing is overwritten).
    """
    path = Path(out_dir) / config.MANIFEST_FILE
    if not path.is_file():
        return empty()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkbenchError(
            f"{path}: cannot read the import manifest ({exc})",
            hint="restore it from a backup, or import into a new --out folder",
        ) from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"{path}: not an import manifest", hint="use another --out folder")
    if data.get("synthetic"):
        raise WorkbenchError(
            f"{path}: this folder holds synthetic data",
            hint="import real data into its own folder (the default is data/processed/imported)",
        )
    base = empty()
    base.update(data)
    if not isinstance(base.get("imports"), list):
        base["imports"] = []
    if not isinstance(base.get("files"), dict):
        base["files"] = {}
    return base


def find(manifest: dict, digest: str, kind: str | None = None) -> dict | None:
    """The earlier import of a file with this SHA-256 (and kind), or None."""
    for entry in manifest.get("imports", []):
        if entry.get("sha256") == digest and (kind is None or entry.get("kind") == kind):
            return entry
    return None


def write(out_dir: Path | str, entries: list[dict], outputs: list[Path]) -> Path:
    """Append import entries and record the outputs' hashes; written last and atomically.

    The manifest is read again here, so entries another importer added meanwhile (the dossier
    importer writes into the same folder) are kept.

    Parameters
    ----------
    out_dir : path-like
    entries : list of dict
        One per imported raw file (see the module docstring).
    outputs : list of Path
        Data files written by this import (Parquet, quarantine CSVs).

    Returns
    -------
    Path
        The manifest written.
    """
    out_dir = Path(out_dir)
    manifest = load(out_dir)
    manifest["generator"] = GENERATOR
    manifest["synthetic"] = False
    manifest["updated"] = now()
    manifest["imports"].extend(entries)
    for entry in entries:
        manifest["files"][entry["file"]] = entry["sha256"]
    for path in outputs:
        if path.is_file():
            # Relative to the folder: the dossier importer writes into a subfolder.
            try:
                name = path.resolve().relative_to(out_dir.resolve()).as_posix()
            except ValueError:
                name = shown_path(path)
            manifest["files"][name] = sha256(path)
            if path.suffix == ".parquet":
                import pyarrow.parquet as pq

                manifest.setdefault("rows", {})[name] = pq.ParquetFile(path).metadata.num_rows
    text = json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n"
    return atomic_write(out_dir / config.MANIFEST_FILE, text)


def one_writer(default_out: Path):
    """Decorator: the wrapped import holds an exclusive lock on its output folder throughout.

    Two imports into the same folder at once each read the manifest and the Parquet files,
    merge their own rows and write: without a lock the later write dropped the earlier one's
    rows while the manifest listed both, so importing again said "already imported" and the
    rows never came back. The lock (``fcntl.flock`` on ``.<folder>.lock`` beside the folder,
    so a failed import still leaves the folder itself untouched) makes the second import wait
    and then merge onto what the first wrote. The lock is released when the process ends,
    however it ends.
    """
    import fcntl
    import functools
    import inspect

    def wrap(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def locked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            out = Path(bound.arguments.get("out_dir") or default_out)
            lock_path = out.parent / f".{out.name}.lock"
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                handle = open(lock_path, "a+b")  # noqa: SIM115 (held for the whole import)
            except OSError as exc:
                raise WorkbenchError(
                    f"cannot write to the output folder {out}: {exc.strerror or exc}",
                    hint="give --out a folder you can write to",
                ) from None
            with handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    return func(*args, **kwargs)
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

        return locked

    return wrap
