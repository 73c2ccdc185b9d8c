"""HTML building blocks a notebook displays and the brief template lays out.

Each block renders itself through ``_repr_html_`` (JupyterLab shows it, nbconvert keeps it).
Every string that comes from data or parameters is escaped here, in one place, so a province or
procedure name containing ``<script>`` prints as text.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from html import escape

import matplotlib.pyplot as plt
import pandas as pd

from analysis.documents import META_MIMETYPE, TABLE_MIMETYPE

WIDE_CELL = 40  # characters: a longer cell wraps rather than widening its column further
MIN_CELL = 3  # characters: the narrowest column still holds a short number


@dataclass(frozen=True)
class Section:
    """A numbered section heading (numbers come from the template's CSS counters)."""

    title: str

    def _repr_html_(self) -> str:
        return f'<h2 class="section">{escape(self.title)}</h2>'


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of prose; ``kind`` styles it (``finding``, ``note``, ``warning`` or plain)."""

    text: str
    kind: str = ""
    lead: str = ""

    def _repr_html_(self) -> str:
        lead = f"<strong>{escape(self.lead)}</strong> " if self.lead else ""
        cls = f' class="{escape(self.kind)}"' if self.kind else ""
        return f"<p{cls}>{lead}{escape(self.text)}</p>"


@dataclass(frozen=True)
class Bullets:
    """A list of short statements."""

    items: tuple[str, ...]

    def _repr_html_(self) -> str:
        rows = "".join(f"<li>{escape(i)}</li>" for i in self.items)
        return f'<ul class="bullets">{rows}</ul>'


@dataclass(frozen=True)
class Table:
    """A captioned table; cells are shown as given (format numbers before), escaped.

    ``frame`` is kept so that a later step can write the same table to a spreadsheet.
    """

    frame: pd.DataFrame
    caption: str
    note: str = ""

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {
            "caption": self.caption,
            "note": self.note,
            "columns": [str(c) for c in self.frame.columns],
            "rows": [[str(v) for v in row] for row in self.frame.itertuples(index=False)],
        }
        return {"text/html": self._repr_html_(), TABLE_MIMETYPE: data}

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(str(c))}</th>" for c in self.frame.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
            for row in self.frame.itertuples(index=False)
        )
        note = f'<p class="table-note">{escape(self.note)}</p>' if self.note else ""
        cols = "".join(f'<col style="width: {w}%">' for w in column_widths(self.frame))
        return (
            f'<figure class="table"><figcaption>{escape(self.caption)}</figcaption>'
            f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{note}</figure>"
        )


def column_widths(frame: pd.DataFrame) -> list[float]:
    """Each column's share of a table's width, in percent, from the length of its text.

    The brief's tables have a fixed layout (``table-layout: fixed``): WeasyPrint then takes
    these widths instead of measuring every cell's narrowest and widest line, which was most
    of a report's PDF time. A column gets its longest cell (up to ``WIDE_CELL`` characters: a
    longer one wraps) or its header's longest word, whichever is wider.

    Parameters
    ----------
    frame : DataFrame
        The cells as shown.

    Returns
    -------
    list of int
        One share per column in whole percent (a decimal point would read as a number of the
        document's language in its HTML), summing to 100: the widest column takes the rounding.
    """
    widths = []
    for name, values in frame.items():
        cell = max((len(str(v)) for v in values), default=0)
        word = max((len(w) for w in str(name).split()), default=0)
        widths.append(max(min(cell, WIDE_CELL), min(word, WIDE_CELL), MIN_CELL))
    total = sum(widths)
    shares = [max(1, round(100 * w / total)) for w in widths]
    shares[widths.index(max(widths))] += 100 - sum(shares)
    return shares


@dataclass(frozen=True, eq=False)
class Chart:
    """A captioned figure, embedded as an SVG data URI (sharp in the PDF, no id clashes)."""

    svg: bytes
    caption: str

    @classmethod
    def from_figure(cls, fig: plt.Figure, caption: str, tight: bool = True) -> Chart:
        """The figure as SVG, closed afterwards.

        Parameters
        ----------
        fig : Figure
        caption : str
        tight : bool
            Crop to the drawn content (another full layout pass of the figure); False for
            figures whose margins are set by hand.
        """
        buf = io.BytesIO()
        # No date and a fixed hash salt: the same data gives byte-identical SVG. Text stays
        # text (the fonts of the page: DejaVu Sans, then any sans-serif with Vietnamese):
        # glyphs drawn as paths made the SVG three times larger and WeasyPrint slower on it
        # than on all of a scorecard's tables.
        with plt.rc_context({"svg.hashsalt": "workbench", "svg.fonttype": "none"}):
            fig.savefig(
                buf, format="svg", bbox_inches="tight" if tight else None, metadata={"Date": None}
            )
        plt.close(fig)
        return cls(buf.getvalue(), caption)

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.svg).decode("ascii")
        return (
            f'<figure class="chart"><img alt="{escape(self.caption)}" '
            f'src="data:image/svg+xml;base64,{data}"/>'
            f"<figcaption>{escape(self.caption)}</figcaption></figure>"
        )


@dataclass(frozen=True)
class Meta:
    """What the template needs to know about the document: title, period, provenance.

    Displayed as its own MIME type so the renderer can read it from the executed notebook:
    the provenance is what the kernel actually loaded, not what the caller believed.
    """

    data: dict = field(default_factory=dict)

    def _repr_mimebundle_(self, include=None, exclude=None):
        text = json.dumps(self.data, ensure_ascii=False, indent=1, default=str)
        return {META_MIMETYPE: json.loads(text), "text/plain": text}
