"""File helpers every writer shares: atomic writes, content hashes, and reading UTF-8 text."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analysis.errors import WorkbenchError


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    A crash or an exception leaves the old file (or none) and no half-written one.

    Examples
    --------
    >>> with atomic_path(out / "panel.parquet") as tmp:  # doctest: +SKIP
    ...     frame.to_parquet(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write(path: Path | str, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically and return ``path``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(raw)
    return Path(path)


def sha256(path: Path | str) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text(path: Path | str) -> str:
    """A configuration file's text: UTF-8, with or without a BOM.

    Raises
    ------
    WorkbenchError
        The file is not UTF-8: the message names the file and the line of the first byte that
        is not, and says when the file reads as Windows-1258 (what Excel and Notepad on a
        Vietnamese Windows save by default).
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        try:
            raw.decode("cp1258")
            looks = " (it looks like Windows-1258, the Vietnamese ANSI code page)"
        except UnicodeDecodeError:
            looks = ""
        raise WorkbenchError(
            f"{path}, line {line}: not UTF-8 text{looks}",
            hint="save it as UTF-8: in Excel 'CSV UTF-8 (Comma delimited)', in a text editor "
            "the encoding UTF-8",
        ) from None
