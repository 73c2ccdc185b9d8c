"""What every document shares: the title block and provenance (``Meta``), section headings
and the small-number note.

Each document builds its own facts (what it is about) and lists its own inputs; the shape of
the ``Meta`` block the renderer reads, the lines every provenance ends with (software, date),
a panel's place and seed, and the wording of the small-number rule are written here once.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from analysis import __version__, config, i18n
from analysis.report.blocks import Meta, Section


def software() -> str:
    """The software line of every provenance: ``analysis <version>``."""
    return f"analysis {__version__}"


def shown_path(path: Path) -> str:
    """A data path as a document prints it: relative to the project root when inside it."""
    return str(path.relative_to(config.ROOT) if path.is_relative_to(config.ROOT) else path)


def source_provenance(source, lang: str) -> list[tuple[str, str]]:
    """Provenance lines of a panel: its place, every file's SHA-256, the seed when synthetic.

    Parameters
    ----------
    source : analysis.sources.Source
        The panel as opened (path, files and their hashes, manifest, synthetic flag).
    lang : {"vi", "en"}

    Returns
    -------
    list of (label, value)
    """
    lines = [(i18n.label("data_source", lang), shown_path(source.path))]
    lines += [(name, f"SHA-256 {digest}") for name, digest in sorted(source.files.items())]
    if source.synthetic:
        lines.append(("seed", str(source.manifest.get("seed", ""))))
    return lines


def closing_provenance(lang: str) -> list[tuple[str, str]]:
    """The two lines every provenance ends with: the software and the day it was made."""
    return [
        (i18n.label("software", lang), software()),
        (i18n.label("generated_on", lang), i18n.date(date.today(), lang)),
    ]


def generated_on(lang: str) -> tuple[str, str]:
    """The fact line "made on <today>" that ends every title block."""
    return (i18n.label("generated_on", lang), i18n.date(date.today(), lang))


def meta(
    lang: str,
    *,
    kind: str,
    title: str,
    subtitle: str,
    facts: list,
    synthetic: bool,
    provenance: list,
    data_files: dict,
) -> Meta:
    """The title block and provenance a notebook displays (its own MIME type).

    Parameters
    ----------
    lang : {"vi", "en"}
    kind, title, subtitle : str
        The document's kind (above the title), title and subtitle.
    facts : list of (label, value)
        The title block's facts.
    synthetic : bool
        Synthetic data: the renderer adds the banner and the watermark.
    provenance : list of (label, value)
        The footer's lines (the inputs read, then :func:`closing_provenance`).
    data_files : dict
        File name -> SHA-256 of the data the kernel actually read.

    Returns
    -------
    Meta
    """
    return Meta(
        {
            "lang": lang,
            "kind": kind,
            "title": title,
            "subtitle": subtitle,
            "facts": facts,
            "synthetic": synthetic,
            "banner": i18n.label("synthetic_banner", lang),
            "watermark": i18n.label("synthetic_watermark", lang),
            "provenance_title": i18n.label("provenance_title", lang),
            "provenance": provenance,
            "data_files": data_files,
            "software": software(),
        }
    )


def section(label_key: str, lang: str, **fields) -> Section:
    """A numbered section heading from the translation table (``fields`` filled in)."""
    text = i18n.label(label_key, lang)
    return Section(text.format(**fields) if fields else text)


def small_numbers_note(lang: str) -> str:
    """The note under a table or chart that hides rates on too few dossiers (the rule:
    :func:`analysis.i18n.enough`)."""
    return i18n.label("small_numbers_note", lang).format(n=config.MIN_DENOMINATOR)


def period_text(period: str, lang: str) -> str:
    """A period as a reader writes it: ``Quý 2/2024``, ``06/2024``, ``6 tháng đầu năm 2024``,
    ``Năm 2024`` (never ``2024Q2`` in text)."""
    import pandas as pd

    from analysis.index766 import parse_period
    from analysis.quarters import quarter_text

    p = parse_period(period)
    year, first = divmod(p.m0, 12)
    if p.kind == "quarter":
        return quarter_text(pd.Period(year=year, quarter=first // 3 + 1, freq="Q"), lang, True)
    if p.kind == "month":
        return i18n.month(pd.Timestamp(year=year, month=first + 1, day=1), lang)
    key = "period_half" if p.kind == "half" else "period_year"
    return i18n.label(key, lang).format(h=first // 6 + 1, year=year)
