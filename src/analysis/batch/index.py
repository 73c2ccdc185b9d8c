"""``reports/<period>/index.html``: every document of a batch with its status and its files.

A plain page (no script, nothing loaded from the web) in the run list's language, Vietnamese
by default; every string from a run list, a parameter or an error is HTML-escaped. Beside it,
``batch.json`` says the same for programs.
"""

from __future__ import annotations

import html
import json
import os
from datetime import datetime
from pathlib import Path

from analysis import __version__, i18n
from analysis.files import atomic_write

ORDER = ("failed", "done", "skipped", "pending")
_FILES = ("html", "pdf", "xlsx", "ipynb", "manifest", "log")

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
p.meta { color: #555; margin-top: 0; }
p.synthetic { background: #fff3cd; border: 1px solid #e0c36a; padding: .5em; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { border-bottom: 1px solid #ddd; padding: .35em .5em; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; white-space: nowrap; }
.failed { color: #a40000; font-weight: bold; }
.done { color: #1b6e20; }
.skipped { color: #35597a; }
.pending { color: #777; }
td.files a { margin-right: .6em; }
"""


def _kind(kind: str, lang: str) -> str:
    key = f"batch_kind_{kind}"
    text = i18n.label(key, lang)
    return kind if text == key else text


def _link(path: Path, base: Path, text: str) -> str:
    href = os.path.relpath(path, base).replace(os.sep, "/")
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def render_index(
    rows: list, period: str, lang: str, base: Path, runlist: str, seconds: float
) -> str:
    """The index page as a string.

    Parameters
    ----------
    rows : list of analysis.batch.runner.Row
    period : str
    lang : {"vi", "en"}
    base : Path
        The folder of the page (links are relative to it, so the reports folder can move).
    runlist : str
        The run list's file name.
    seconds : float
        Time the batch has taken so far.
    """
    esc = html.escape
    counts = {s: sum(r.status == s for r in rows) for s in ORDER}
    title = i18n.label("batch_index_title", lang).format(period=period)
    line = i18n.label("batch_counts", lang).format(
        done=counts["done"],
        skipped=counts["skipped"],
        failed=counts["failed"],
        pending=counts["pending"],
        total=len(rows),
    )
    head = [
        i18n.label(f"batch_col_{c}", lang)
        for c in ("status", "unit", "kind", "document", "files", "seconds", "note")
    ]
    body = []
    ordered = sorted(rows, key=lambda r: (ORDER.index(r.status), r.run.run_id))
    for r in ordered:
        files = " ".join(
            _link(r.outputs[f], base, i18n.label(f"batch_file_{f}", lang))
            for f in _FILES
            if f in r.outputs and Path(r.outputs[f]).exists()
        )
        status = i18n.label(f"batch_status_{r.status}", lang)
        unit = r.run.unit or i18n.label("batch_national", lang)
        seconds_text = i18n.number(r.seconds, lang, 1) if r.seconds is not None else "—"
        note = r.reason if r.status == "failed" else ""
        if r.synthetic and r.status in ("done", "skipped"):
            note = i18n.label("synthetic_watermark", lang).capitalize()
        body.append(
            "<tr>"
            f'<td class="{esc(r.status)}">{esc(status)}</td>'
            f"<td>{esc(unit)}</td>"
            f"<td>{esc(_kind(r.run.kind, lang))}</td>"
            + (
                f"<td>{esc(r.title)}<br><small>{esc(r.run.run_id)}</small></td>"
                if r.title
                else f"<td>{esc(r.run.run_id)}</td>"
            )
            + f'<td class="files">{files}</td>'
            f'<td class="num">{esc(seconds_text)}</td>'
            f"<td>{esc(note)}</td>"
            "</tr>"
        )
    synthetic = ""
    if any(r.synthetic for r in rows):
        synthetic = f'<p class="synthetic">{esc(i18n.label("synthetic_banner", lang))}</p>'
    meta = i18n.label("batch_meta", lang).format(
        runlist=runlist,
        updated=stamp(),
        seconds=i18n.number(seconds, lang, 0),
        version=__version__,
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n"
        f'<p class="meta">{esc(meta)}</p>\n'
        f"<p><strong>{esc(line)}</strong></p>\n{synthetic}\n"
        "<table>\n<thead><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )


def stamp() -> str:
    """Local date and time as the index shows them (dd/mm/yyyy HH:MM)."""
    return datetime.now().strftime("%d/%m/%Y %H:%M")


def write_index(rows: list, period_dir: Path, runlist, seconds: float, reports: Path) -> Path:
    """Write ``index.html`` and ``batch.json`` into ``period_dir`` (atomically); return the page."""
    page = render_index(rows, runlist.period, runlist.lang, period_dir, runlist.path.name, seconds)
    data = {
        "run_list": str(runlist.path),
        "period": runlist.period,
        "seconds": round(seconds, 2),
        "runs": [
            {
                "run_id": r.run.run_id,
                "entry": r.run.entry,
                "kind": r.run.kind,
                "unit": r.run.unit,
                "selected": r.selected,
                "status": r.status,
                "reason": r.reason,
                "seconds": None if r.seconds is None else round(r.seconds, 2),
                "parameters": r.run.parameters,
                "outputs": {k: os.path.relpath(v, reports) for k, v in r.outputs.items()},
            }
            for r in rows
        ],
    }
    atomic_write(period_dir / "batch.json", json.dumps(data, ensure_ascii=False, indent=2))
    return atomic_write(period_dir / "index.html", page)
