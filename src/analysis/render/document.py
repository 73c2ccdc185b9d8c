"""Notebook -> HTML -> PDF: papermill executes, nbconvert lays out, WeasyPrint prints.

papermill, nbformat, nbconvert and WeasyPrint are imported where they are used: a batch runner
that only writes what its workers made (:func:`write`) does not pay for them.

Every output is written atomically (a temporary file in the same folder, then ``os.replace``),
so a crash never leaves a half-written HTML or PDF; beside the outputs a JSON manifest records
the parameters, the data's hashes, package versions, the git commit and the run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from analysis import __version__, escape, i18n
from analysis.config import ROOT
from analysis.documents import META_MIMETYPE, TABLE_MIMETYPE
from analysis.errors import WorkbenchError
from analysis.files import atomic_write

if TYPE_CHECKING:
    from nbformat import NotebookNode

TEMPLATES = Path(__file__).parent / "templates"
# "xlsx" may be asked for and is always written beside a document that shows tables.
FORMATS = ("html", "pdf", "ipynb", "xlsx")
_VERSIONED = ("pandas", "numpy", "statsmodels", "papermill", "nbconvert", "weasyprint", "duckdb")


def skip_iri_grammar() -> None:
    """Keep jsonschema from loading its IRI checker in this process (1.3 s at every start).

    nbformat imports jsonschema, which imports ``rfc3987_syntax`` when it is installed (it is:
    JupyterLab's event schemas ask for it), and that module compiles a Lark grammar as it is
    imported, more than a batch worker's own imports together. Only the ``iri`` formats use it,
    and no notebook schema has them. Called by the processes the workbench owns (the command
    line, batch workers), never in a kernel, and without effect once the module is loaded.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # None in sys.modules: ImportError


@dataclass(frozen=True)
class Rendered:
    """What one render wrote.

    Attributes
    ----------
    outputs : dict
        Format (``html``, ``pdf``, ``ipynb``, ``manifest``) -> path written.
    seconds : dict
        Stage (``execute``, ``html``, ``pdf``, ``total``) -> wall time.
    meta : dict
        The document's metadata as the notebook reported it (title, provenance, …).
    """

    outputs: dict[str, Path]
    seconds: dict[str, float]
    meta: dict


def declared_parameters(notebook: Path) -> dict:
    """Parameters declared in the notebook's ``parameters`` cell (name -> inferred info)."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def check_parameters(notebook: Path, parameters: dict) -> None:
    """Refuse parameters the notebook does not declare (a typo would be silently ignored)."""
    declared = declared_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise WorkbenchError(
            f"{notebook.name} has no parameter {', '.join(map(repr, unknown))}",
            hint=f"its parameters are: {', '.join(declared)}",
        )


def git_commit() -> str:
    """The checkout's commit (with ``+dirty`` when files changed), or ``unknown``."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def execute(notebook: Path, parameters: dict) -> NotebookNode:
    """Run ``notebook`` with ``parameters`` under papermill and return the executed notebook.

    A :class:`WorkbenchError` raised inside the kernel comes back as the same error (one line
    for the user); any other failure names the notebook and the exception.
    """
    import nbformat
    import papermill

    check_parameters(notebook, parameters)
    # The kernel must be this interpreter's (the project's .venv), whatever PATH says.
    env_path = os.environ.get("PATH", "")
    bindir = str(Path(sys.executable).parent)
    if not env_path.startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + env_path
    with tempfile.TemporaryDirectory(prefix="workbench-") as tmp:
        out = Path(tmp) / notebook.name
        try:
            papermill.execute_notebook(
                str(notebook),
                str(out),
                parameters=parameters,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(notebook.parent),
                log_output=False,
                # The kernel's start-up chatter (e.g. ipykernel's TCP notice) is not the user's.
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        except papermill.PapermillExecutionError as err:
            if err.ename == "WorkbenchError":
                raise WorkbenchError(err.evalue) from None
            raise RuntimeError(
                f"{notebook.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}"
            ) from None
        return nbformat.read(out, as_version=4)


def document_meta(nb: NotebookNode) -> dict:
    """The metadata the notebook displayed with :class:`analysis.documents.blocks.Meta`."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if META_MIMETYPE in data:
                return dict(data[META_MIMETYPE])
    raise RuntimeError("the notebook displayed no analysis.documents.blocks.Meta: nothing to title")


def document_tables(nb: NotebookNode) -> list[dict]:
    """Every :class:`analysis.documents.blocks.Table` the notebook displayed, in order."""
    return [
        dict(output["data"][TABLE_MIMETYPE])
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if TABLE_MIMETYPE in output.get("data", {})
    ]


def to_xlsx(tables: list[dict], meta: dict) -> bytes:
    """The document's tables as a workbook: one sheet per table, caption and note with it."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    word = "Bảng" if meta.get("lang", "vi") == "vi" else "Table"
    book = Workbook()
    book.remove(book.active)
    for number, table in enumerate(tables, start=1):
        sheet = book.create_sheet(f"{word} {number}")
        sheet.append([f"{word} {number}. {table['caption']}"])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table["columns"])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table["rows"]:
            sheet.append(row)
        if table.get("note"):
            sheet.append([])
            sheet.append([table["note"]])
        if meta.get("synthetic"):
            sheet.append([])
            sheet.append([meta.get("banner", "")])
    info = book.create_sheet("README", 0)
    info.append([meta.get("title", "")])
    info.append([meta.get("banner", "")] if meta.get("synthetic") else [])
    for key, value in meta.get("provenance", []):
        info.append([key, value])
    for sheet in book.worksheets:  # text from data never becomes a live formula
        escape.xlsx_sheet(sheet)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _css(meta: dict) -> str:
    lang = meta.get("lang", "vi")
    words = {
        "page_word": i18n.label("page", lang),
        "figure_word": "Hình" if lang == "vi" else "Figure",
        "table_word": "Bảng" if lang == "vi" else "Table",
        # A CSS string inside <style>: text from data must end neither the string nor the block.
        "running_title": escape.css_string(meta.get("title", "")),
    }
    return Template(
        (TEMPLATES / "brief" / "brief.css").read_text(encoding="utf-8")
    ).safe_substitute(words)


_EXPORTERS = threading.local()


def _exporter():
    """This thread's HTML exporter: its compiled templates serve every document of a batch."""
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = _EXPORTERS.html = HTMLExporter(
            template_name="brief",
            extra_template_basedirs=[str(TEMPLATES)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
    return exporter


def to_html(nb: NotebookNode, meta: dict) -> str:
    """Lay out an executed notebook with the brief template (outputs only)."""
    html, _ = _exporter().from_notebook_node(nb, resources={"brief": meta, "brief_css": _css(meta)})
    return html


def to_pdf(html: str) -> bytes:
    """Print the brief's HTML to an A4 PDF with WeasyPrint (no browser, no LaTeX)."""
    import weasyprint  # imported here: it loads Pango, which only PDF output needs

    return weasyprint.HTML(string=html, base_url=str(ROOT)).write_pdf()


@lru_cache(maxsize=1)
def _software() -> dict:
    """The versions a manifest records (read once: importlib.metadata scans site-packages)."""
    return {"analysis": __version__, "python": sys.version.split()[0]} | {
        name: metadata.version(name) for name in _VERSIONED
    }


def check_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats to make, checked: html, pdf, ipynb (xlsx is accepted and always written).

    Returns
    -------
    tuple of str
        ``formats`` without repeats and without ``xlsx``; ``("html",)`` when only ``xlsx`` was
        asked for (the workbook is made from the laid-out document).

    Raises
    ------
    WorkbenchError
        An unknown format, or none.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise WorkbenchError(
            f"unknown output format {', '.join(bad) or '(none)'}",
            hint="use --format with html, pdf, xlsx or ipynb, e.g. --format html,pdf",
        )
    return tuple(f for f in dict.fromkeys(formats) if f != "xlsx") or ("html",)


@dataclass(frozen=True)
class Built:
    """A document made from an executed notebook, not yet written.

    Attributes
    ----------
    payloads : dict
        Format -> content (``html``, ``pdf``, ``ipynb``, and ``xlsx`` when there are tables).
    manifest : dict
        The manifest without its ``outputs`` (added by :func:`write`, with the files' hashes).
    meta : dict
        The document's metadata as the notebook reported it.
    """

    payloads: dict[str, bytes | str]
    manifest: dict
    meta: dict


def build(
    nb: NotebookNode,
    notebook: str,
    parameters: dict,
    formats: tuple[str, ...],
    seconds: dict[str, float] | None = None,
    commit: str | None = None,
) -> Built:
    """Lay out an executed notebook (HTML, PDF, XLSX) and say what made it.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook.
    notebook : str
        The notebook's name for the manifest (relative to the project root when inside it).
    parameters : dict
        The parameters it ran with.
    formats : tuple of {"html", "pdf", "ipynb"}
    seconds : dict, optional
        Times measured so far (``execute``); the layout stages are added.
    commit : str, optional
        The git commit to record (default: this checkout's); a batch passes the one it read once.

    Returns
    -------
    Built
    """
    seconds = dict(seconds or {})
    meta = document_meta(nb)
    payloads: dict[str, bytes | str] = {}
    t = time.perf_counter()
    html = to_html(nb, meta)
    seconds["html"] = time.perf_counter() - t
    if "html" in formats:
        payloads["html"] = html
    if "pdf" in formats:
        t = time.perf_counter()
        payloads["pdf"] = to_pdf(html)
        seconds["pdf"] = time.perf_counter() - t
    if "ipynb" in formats:
        import nbformat

        payloads["ipynb"] = nbformat.writes(nb)
    tables = document_tables(nb)
    if tables:
        # Every table a reader sees, as numbers they can reuse (issue: tables also as XLSX).
        payloads["xlsx"] = to_xlsx(tables, meta)
    manifest = {
        "document": meta.get("title"),
        "notebook": notebook,
        "parameters": parameters,
        "synthetic": meta.get("synthetic", False),
        "data": meta.get("data_files", {}),
        "software": dict(_software()),
        "git_commit": commit if commit is not None else git_commit(),
        "seconds": seconds,
    }
    return Built(payloads=payloads, manifest=manifest, meta=meta)


def write(built: Built, out_dir: Path, stem: str, extra: dict | None = None) -> dict[str, Path]:
    """Write a built document atomically, then its manifest (last, so it never claims more).

    Parameters
    ----------
    built : Built
    out_dir : Path
        Folder for the outputs (created).
    stem : str
        File name without extension.
    extra : dict, optional
        More manifest fields (a batch adds its ``run_key``).

    Returns
    -------
    dict
        Format (and ``manifest``) -> path written.
    """
    outputs: dict[str, Path] = {}
    hashes: dict[str, dict] = {}
    for fmt, data in built.payloads.items():
        raw = data.encode("utf-8") if isinstance(data, str) else data
        outputs[fmt] = atomic_write(out_dir / f"{stem}.{fmt}", raw)
        hashes[fmt] = {"file": outputs[fmt].name, "sha256": hashlib.sha256(raw).hexdigest()}
    manifest = dict(built.manifest)
    seconds = manifest.pop("seconds", {})
    manifest = {
        **{k: v for k, v in manifest.items() if k not in ("software", "git_commit")},
        "outputs": hashes,
        "software": manifest.get("software"),
        "git_commit": manifest.get("git_commit"),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        **(extra or {}),
    }
    outputs["manifest"] = atomic_write(
        out_dir / f"{stem}.manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2)
    )
    return outputs


def notebook_name(notebook: Path) -> str:
    """How a manifest names a notebook: relative to the project root when inside it."""
    return str(notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook)


def render(
    notebook: Path,
    parameters: dict,
    out_dir: Path,
    stem: str,
    formats: tuple[str, ...] = ("html", "pdf"),
) -> Rendered:
    """Execute a notebook and write its brief as HTML and/or PDF, plus a manifest.

    Parameters
    ----------
    notebook : Path
        A parameterized notebook of ``notebooks/``.
    parameters : dict
        Values for its ``parameters`` cell; names it does not declare are refused.
    out_dir : Path
        Folder for the outputs (created).
    stem : str
        File name without extension, e.g. ``thai-nguyen-fee-50.vi``.
    formats : tuple of {"html", "pdf", "ipynb"}
        What to write; ``ipynb`` keeps the executed notebook for inspection in JupyterLab.

    Returns
    -------
    Rendered
    """
    formats = check_formats(formats)
    t0 = time.perf_counter()
    nb = execute(notebook, parameters)
    built = build(
        nb, notebook_name(notebook), parameters, formats, {"execute": time.perf_counter() - t0}
    )
    seconds = dict(built.manifest["seconds"])
    seconds["total"] = time.perf_counter() - t0
    built = Built(built.payloads, built.manifest | {"seconds": seconds}, built.meta)
    outputs = write(built, out_dir, stem)
    return Rendered(outputs=outputs, seconds=seconds, meta=built.meta)
