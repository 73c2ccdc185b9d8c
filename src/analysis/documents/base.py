"""What every document shares: the title block and provenance (``Meta``), section headings
and the small-number note.

Each document builds its own facts (what it is about) and lists its own inputs; the shape of
the ``Meta`` block the renderer reads, the lines every provenance ends with (software, date),
a panel's place and seed, and the wording of the small-number rule are written here once.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd

from analysis import __version__, config, i18n
from analysis.documents.blocks import Meta, Section
from analysis.index766.explain import unscored_note
from analysis.measures import Measure


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
        The title block's facts; the day it was made is added last.
    synthetic : bool
        Synthetic data: the renderer adds the banner and the watermark.
    provenance : list of (label, value)
        The footer's lines: the inputs read; the software and the day are added last.
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
            "facts": [*facts, generated_on(lang)],
            "synthetic": synthetic,
            "banner": i18n.label("synthetic_banner", lang),
            "watermark": i18n.label("synthetic_watermark", lang),
            "provenance_title": i18n.label("provenance_title", lang),
            "provenance": [*provenance, *closing_provenance(lang)],
            "data_files": data_files,
            "software": software(),
        }
    )


def index_meta(
    lang: str, *, unit, when: str, source: str, files: dict, rules, subtitle: str, synthetic: bool
) -> Meta:
    """The title block of an index scorecard, from dossiers or from the portal's figures.

    Parameters
    ----------
    lang : {"vi", "en"}
    unit : (str, str)
        The unit as the title names it and as the facts show it.
    when : str
        The period as a reader writes it (:func:`period_text`).
    source : str
        Where the figures come from (the provenance's first line).
    files : dict
        File name -> SHA-256 of what was read.
    rules : (str, path-like)
        The rules' version and file.
    subtitle : str
        The label of the subtitle.
    synthetic : bool

    Returns
    -------
    Meta
    """
    version, path = rules
    provenance = [(i18n.label("data_source", lang), source)]
    provenance += [(name, f"SHA-256 {digest}") for name, digest in files.items()]
    provenance.append(("rules", f"{version} ({path})"))
    return meta(
        lang,
        kind=i18n.label("report_kind_scorecard", lang),
        title=i18n.label("scorecard_title", lang).format(unit=unit[0], period=when),
        subtitle=i18n.label(subtitle, lang),
        facts=[
            (i18n.label("unit", lang), unit[1]),
            (i18n.label("period", lang), when),
            (i18n.label("rules", lang), version),
        ],
        synthetic=synthetic,
        provenance=provenance,
        data_files=files,
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
    ``Năm 2024``, ``Từ 01/2020 đến 12/2024`` (never ``2024Q2`` in text)."""
    import pandas as pd

    from analysis.index766 import parse_period
    from analysis.quarters import quarter_text

    p = parse_period(period)
    year, first = divmod(p.m0, 12)
    if p.kind == "range":  # the index's words, as a heading: "Từ 01/2020 đến 12/2024"
        from analysis.index766.explain import period_text as words

        text = words(p, lang)
        return text[0].upper() + text[1:]
    if p.kind == "quarter":
        return quarter_text(pd.Period(year=year, quarter=first // 3 + 1, freq="Q"), lang, True)
    if p.kind == "month":
        return i18n.month(pd.Timestamp(year=year, month=first + 1, day=1), lang)
    key = "period_half" if p.kind == "half" else "period_year"
    return i18n.label(key, lang).format(h=first // 6 + 1, year=year)


# The index documents' ranking rule, shared by the scorecard (both sources) and the quarterly
# report: units with data only, and no rank among fewer than MIN_RANKED of them.
OFFICIAL_TOTAL = 100  # every official index figure is out of 100
MIN_RANKED = 5  # below this many units with data a rank says nothing ("1/1")
RANKS_SHOWN = 5  # the top of the ranking a document shows (and the unit itself below it)


def top_ranks(units, column: str, mine, lang: str):
    """The top of a ranking by ``total`` and the unit ``mine`` when it stands lower.

    Parameters
    ----------
    units : pandas.DataFrame
        One row per unit with a ``total`` (missing: not ranked).
    column : str
        The column that identifies a unit; ``mine`` is the unit's value in it.
    lang : {"vi", "en"}

    Returns
    -------
    (shown, ranked) : (pandas.DataFrame, int), or Paragraph
        The rows shown, with ``rank`` (ties share the better rank), and how many units were
        ranked; the "too few to rank" paragraph when fewer than :data:`MIN_RANKED` have data.
    """
    import pandas as pd

    from analysis.documents.blocks import Paragraph

    units = units[units["total"].notna()]
    if len(units) < MIN_RANKED:
        return Paragraph(i18n.label("ranking_too_few", lang).format(n=len(units), min=MIN_RANKED))
    units = units.sort_values("total", ascending=False).reset_index(drop=True)
    units["rank"] = units["total"].rank(ascending=False, method="min").astype(int)
    at = units.index[units[column] == mine]
    shown = units.head(RANKS_SHOWN)
    if len(at) and at[0] >= RANKS_SHOWN:
        shown = pd.concat([shown, units.iloc[[at[0]]]])
    return shown, len(units)


# --- what several documents say the same way ------------------------------------------


def measure_name(measure: Measure, lang: str) -> str:
    """A short description of the measure in ``lang`` (e.g. "giảm 50 % lệ phí …").

    The measures file's ``name_vi``/``name_en`` win; otherwise it is told from the kind.
    """
    named = dict(measure.names)
    if named.get(lang):
        return named[lang]
    if measure.kind == "fee_cut" and measure.intensity is not None:
        if measure.intensity >= 1:
            return i18n.label("measure_fee_free", lang)
        pct = i18n.number(100 * measure.intensity, lang, 0) + ("\u00a0%" if lang == "vi" else "%")
        return i18n.label("measure_fee_cut", lang).format(pct=pct)
    kind = i18n.label(f"kind_{measure.kind}", lang)
    return i18n.label("measure_other", lang).format(
        kind=kind, document=measure.text("document", lang)
    )


def official_maxima(rules=None) -> dict[str, float]:
    """Group id -> the group's official maximum (18/20/12/10/18/22), and ``total`` -> 100."""
    from analysis.index766.rules import load_rules

    groups = (rules or load_rules()).groups
    return {**{g.id: float(g.points) for g in groups}, "total": float(OFFICIAL_TOTAL)}


def official_points(points: float, computed_max: float, official_max: float, lang: str) -> str:
    """Points on the official scale: ``4,2/18 (12 điểm chưa tính được)``, or "chưa tính".

    A partial group or total is never shown out of what could be computed ("3,7/6"): the
    reader compares with the official maximum, and is told how many points had no input.
    """
    if computed_max is None or not computed_max > 0 or points is None or math.isnan(points):
        return i18n.label("points_not_computed", lang)
    text = f"{i18n.number(points, lang)}/{i18n.number(official_max, lang, 0)}"
    return text + unscored_note(computed_max, official_max, lang)


def groups_frame(change: pd.DataFrame, lang: str, official: dict | None = None) -> pd.DataFrame:
    """An explanation's ``change`` as a reader's table: group, points on the official scale,
    previous, change.

    The scorecard and the quarterly report show the same table.
    """
    name = "name_vi" if lang == "vi" else "name_en"
    official = official or official_maxima()
    return pd.DataFrame(
        {
            i18n.label("group", lang): change[name],
            i18n.label("points", lang): [
                official_points(p, m, official.get(g, m), lang)
                for g, p, m in zip(
                    change["group"], change["points"], change["max_points"], strict=True
                )
            ],
            i18n.label("previous_period", lang): [i18n.number(x, lang) for x in change["previous"]],
            i18n.label("change", lang): [i18n.change(x, lang) for x in change["change"]],
        }
    )
