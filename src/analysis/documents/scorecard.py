"""The index scorecard: one unit's Decision 766 score for a period, explained.

``notebooks/31_index_scorecard.ipynb`` calls :func:`prepare` once and then one function per
part; each returns a block of :mod:`analysis.documents.blocks`. The numbers come from
:mod:`analysis.index766` (scores, explanation, what-if); the words from :mod:`analysis.i18n`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis import config, i18n
from analysis.documents import base
from analysis.documents.base import groups_frame, official_points, period_text
from analysis.documents.blocks import Chart, Meta, Paragraph, Section, Table
from analysis.errors import WorkbenchError
from analysis.files import sha256
from analysis.index766 import Explanation, ScoreResult, explain, parse_period, score, what_if

DEFAULT_DOSSIERS = config.SYNTH_DIR / "dossiers"
TREND_MONTHS = 12  # months of group points shown in the trend chart
CULPRITS_SHOWN = 25  # dossiers listed for the component that lost the most points
WHAT_IF_TARGETS = (0.8, 1.0)
# What an agency needs to find a dossier and see why it cost points (the PDF page is narrow).
CULPRIT_COLUMNS = (
    "dossier_id",
    "procedure_name",
    "agency",
    "unit",
    "received_date",
    "due_date",
    "finished_date",
    "supplement_requests",
    "failed",
)


@dataclass(frozen=True, eq=False)
class Scorecard:
    """Everything a scorecard shows, computed once.

    Attributes
    ----------
    unit, by, period, lang : str
    peers : ScoreResult
        Every unit of the same kind in the period (the ranking).
    explanation : Explanation
        The unit's points lost, change on the previous period and the dossiers behind them.
    trend : DataFrame
        Unit scores month by month over the ``TREND_MONTHS`` months up to the period's end.
    source : Path
        The dossier records read; ``synthetic`` says whether they are synthetic.
    province : str
        The unit's province (from the records): commune names repeat across provinces.
    """

    unit: str
    by: str
    period: str
    lang: str
    peers: ScoreResult
    explanation: Explanation
    trend: pd.DataFrame
    source: Path
    synthetic: bool
    files: dict
    province: str = ""

    def mine(self, units: pd.DataFrame) -> pd.Series:
        """Which rows of a table of units (``unit``, ``province``) are this card's unit."""
        rows = units["unit"] == self.unit
        if self.by != "province" and self.province:
            rows &= units["province"] == self.province
        return rows


def prepare(
    unit: str,
    period: str,
    by: str = "province",
    lang: str = "vi",
    dossiers_path: str | None = None,
    procedures: str | None = None,
    feedback: str | None = None,
    portal_path: str | None = None,
    province: str | None = None,
) -> Scorecard:
    """Score the period for every peer, explain the unit, and score the months before.

    Parameters
    ----------
    unit : str
        The unit as the dossier records name it (a province, a commune, an agency).
    period : str
        ``2024-06``, ``2024Q2``, ``2024H1`` or ``2024``.
    by : {"province", "district", "commune", "agency"}
    lang : {"vi", "en"}
    dossiers_path : str, optional
        Dossier Parquet file or folder; default the synthetic dossiers
        (``workbench synth --dossiers N``).
    procedures, feedback : str, optional
        Procedure catalogue and feedback table; without them their components are
        "not computed" and totals are partial.
    portal_path : str, optional
        A folder of the portal's imported API responses (``workbench ingest``): the card is
        then made from the portal's points and counts (:mod:`analysis.documents.scorecard_portal`),
        and every block below shows those.
    province : str, optional
        The unit's province as the records write it, needed when several provinces have a
        unit of that name (communes: "Phường 1").
    """
    i18n.check_lang(lang)
    if portal_path:
        from analysis.documents import scorecard_portal

        return scorecard_portal.prepare(unit, period, lang, portal_path)
    source = Path(dossiers_path) if dossiers_path else DEFAULT_DOSSIERS
    if not source.exists():
        raise WorkbenchError(
            f"dossier records not found: {source}",
            hint="run `workbench synth --dossiers 300000` or import records with `workbench ingest`",
        )
    extra = {"procedures": procedures or None, "feedback": feedback or None}
    peers, both, trend, files = _shared(source, period, by, extra)
    # Explained from the period's scores of every unit (and the period before), computed once
    # per period in a warm kernel: a card of 3,000 communes' batch runs no engine of its own.
    explanation = explain(
        source, unit, period, by=by, province=province or None, **extra, scored=both
    )
    manifest = source.parent / "dossiers_manifest.json"
    synthetic = manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get(
        "synthetic", False
    )
    return Scorecard(
        unit, by, period, lang, peers, explanation, trend, source, synthetic, files,
        explanation.province,
    )  # fmt: skip


_SHARED: dict[tuple, tuple] = {}


def _shared(source: Path, period: str, by: str, extra: dict) -> tuple:
    """What every unit's card of a period shows alike: the peers' scores (and the period
    before's, which the explanation compares with), the trend, the hashes.

    A warm batch worker making the scorecards of 3,000 communes computes them once, not once
    per commune. The key holds every input file's path, size and time (and the period, level
    and extra tables): records changed on disk are read again.
    """
    inputs = [source, *(Path(p) for p in extra.values() if p)]
    stamp = tuple(
        (str(f), f.stat().st_size, f.stat().st_mtime_ns)
        for path in inputs
        for f in (sorted(path.rglob("*")) if path.is_dir() else [path])
        if f.is_file()
    )
    key = (stamp, period, by)
    if key not in _SHARED:
        peers = score(source, period=period, by=by, **extra)
        before = score(source, period=parse_period(period).previous().label, by=by, **extra)
        both = replace(
            peers,
            units=pd.concat([before.units, peers.units], ignore_index=True),
            components=pd.concat([before.components, peers.components], ignore_index=True),
        )
        trend = _trend(source, pd.Period(parse_period(period).end, "M"), by, extra)
        files = (
            {p.name: sha256(p) for p in sorted(source.glob("*.parquet"))[:20]}
            if source.is_dir()
            else {source.name: sha256(source)}
        )
        if len(_SHARED) >= 4:  # a batch scores one period (or a few)
            _SHARED.clear()
        _SHARED[key] = (peers, both, trend, files)
    return _SHARED[key]


def _trend(source: Path, last: pd.Period, by: str, extra: dict) -> pd.DataFrame:
    """Unit scores month by month over the ``TREND_MONTHS`` months ending with ``last``.

    One scoring pass per calendar year touched (the engine splits a year into months in one
    pass over the data), then the months outside the window are dropped.
    """
    first = last - (TREND_MONTHS - 1)
    units = pd.concat(
        [
            score(source, period=str(year), by=by, every="month", **extra).units
            for year in range(first.year, last.year + 1)
        ],
        ignore_index=True,
    )
    months = pd.PeriodIndex(units["period"], freq="M")
    return units[(months >= first) & (months <= last)].reset_index(drop=True)


# --- blocks -------------------------------------------------------------------------------


def _row(card: Scorecard) -> pd.Series:
    units = card.peers.units
    mine = units[card.mine(units)]
    if mine.empty:
        raise WorkbenchError(
            f"{card.unit!r} has no dossiers in {card.period}",
            hint=f"units in the data: {', '.join(units['unit'].head(8))} …",
        )
    return mine.iloc[0]


def _portal(card) -> bool:
    return type(card).__name__ == "PortalCard"


def _from_portal(card, name: str):
    """The same block made from the portal's figures (:mod:`analysis.documents.scorecard_portal`)."""
    from analysis.documents import scorecard_portal

    return getattr(scorecard_portal, name)(card)


def section(key: str, card: Scorecard) -> Section:
    """A numbered section heading from the translation table."""
    return base.section(f"section_{key}", card.lang)


def meta(card: Scorecard) -> Meta:
    """Title block and provenance for the template."""
    if _portal(card):
        return _from_portal(card, "meta")
    return base.index_meta(
        card.lang,
        unit=(card.unit, card.unit),
        when=period_text(card.period, card.lang),
        source=str(card.source),
        files=card.files,
        rules=(card.peers.rules_version, card.peers.rules_path),
        subtitle="scorecard_subtitle",
        synthetic=card.synthetic,
    )


def headline(card: Scorecard) -> Paragraph:
    """The notice's sentence: total, change, lowest group, reasons."""
    if _portal(card):
        return _from_portal(card, "headline")
    return Paragraph(card.explanation.text.get(card.lang, ""), kind="finding")


def groups_table(card: Scorecard) -> Table:
    """Points by group against the maximum and the previous period."""
    if _portal(card):
        return _from_portal(card, "groups_table")
    frame = groups_frame(card.explanation.change, card.lang)
    return Table(frame, i18n.label("caption_groups", card.lang))


OFFICIAL_TOTAL, MIN_RANKED = base.OFFICIAL_TOTAL, base.MIN_RANKED  # the index documents' own


def ranking(card: Scorecard) -> Table | Paragraph:
    """Where the unit stands among its peers (rank of the total, partial totals marked)."""
    if _portal(card):
        return _from_portal(card, "ranking")
    lang = card.lang
    units = card.peers.units.assign(_mine=card.mine(card.peers.units))
    ranks = base.top_ranks(units, "_mine", True, lang)
    if isinstance(ranks, Paragraph):
        return ranks
    shown, ranked = ranks
    names = shown["unit"]
    if card.by != "province":
        # "Phường 1" is the name of a commune in 28 provinces: say whose each one is.
        names = names + " (" + shown["province"] + ")"
    frame = pd.DataFrame(
        {
            i18n.label("rank", lang): shown["rank"],
            i18n.label("unit", lang): [
                f"{u} ◀" if mine else u for u, mine in zip(names, shown["_mine"], strict=True)
            ],
            i18n.label("points", lang): [
                official_points(t, m, OFFICIAL_TOTAL, lang)
                for t, m in zip(shown["total"], shown["max_total"], strict=True)
            ],
        }
    )
    note = i18n.label("ranking_note", lang).format(n=ranked)
    return Table(frame, i18n.label("caption_ranking", lang), note=note)


def trend_chart(card: Scorecard) -> Chart:
    """Group points of the unit month by month."""
    if _portal(card):
        return _from_portal(card, "trend_chart")
    lang = card.lang
    rules = card.peers.rules
    units = card.trend[card.mine(card.trend)]
    # Months as their ordinals with the labels written once, fixed margins (the legend below
    # the axes, two columns): no date locator, tight layout or tight crop, which measured
    # every label again and were half of a scorecard's own time.
    months = pd.PeriodIndex(units["period"], freq="M")
    x = np.asarray(months.asi8, dtype="float64")
    fig, ax = plt.subplots(figsize=(7.2, 3.2), dpi=100)
    fig.subplots_adjust(left=0.09, right=0.99, top=0.96, bottom=0.3)
    for g in rules.groups:
        if g.id in units:
            ax.plot(
                x,
                units[g.id],
                marker="o",
                markersize=2.5,
                linewidth=1.4,
                label=g.name_vi if lang == "vi" else g.name_en,
            )
    if len(months):
        shown = pd.period_range(months.min(), months.max(), freq="M")
        ticks = shown[:: -(-len(shown) // 7)]  # at most 7 labelled months
        ax.set_xticks(ticks.asi8, [i18n.month(p.to_timestamp(), lang) for p in ticks])
        ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
    ax.tick_params(labelsize=8)
    # Whole points: a tick label never needs the language's decimal mark.
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_ylabel(i18n.label("points", lang), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(frameon=False, fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(0, -0.1))
    return Chart.from_figure(fig, i18n.label("caption_trend", lang), tight=False)


def lost_table(card: Scorecard) -> Table:
    """Components by points lost, with their rate and status (uncertain rules marked)."""
    if _portal(card):
        return _from_portal(card, "lost_table")
    lang, lost = card.lang, card.explanation.lost
    name = "name_vi" if lang == "vi" else "name_en"
    shown = lost[lost["max_points"] > 0]
    frame = pd.DataFrame(
        {
            i18n.label("component", lang): [
                f"{c} {n}{' *' if u else ''}"
                for c, n, u in zip(shown["component"], shown[name], shown["uncertain"], strict=True)
            ],
            i18n.label("rate", lang): [
                i18n.share_of(n, d, lang)
                for n, d in zip(shown["numerator"], shown["denominator"], strict=True)
            ],
            i18n.label("points", lang): [
                official_points(p, m if pd.notna(p) else 0.0, m, lang)
                for p, m in zip(shown["points"], shown["max_points"], strict=True)
            ],
            i18n.label("status", lang): [i18n.label(f"status_{s}", lang) for s in shown["status"]],
        }
    )
    note = i18n.label("uncertain_note", lang) + " " + base.small_numbers_note(lang)
    return Table(frame, i18n.label("caption_lost", lang), note=note)


def _culprit_cell(column: str, value, lang: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return i18n.MISSING
    if column.endswith("_date"):
        return i18n.date(value, lang)
    if column == "failed":
        # The rules' condition names, in words where the table has them.
        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        return (
            ", ".join(
                word
                if (word := i18n.label(f"culprit_failed_{part}", lang))
                != (f"culprit_failed_{part}")
                else part
                for part in parts
            )
            or i18n.MISSING
        )
    return str(value)


def culprits(card: Scorecard) -> tuple:
    """The dossiers behind the dossier component that lost the most points (for the agency)."""
    if _portal(card):
        return _from_portal(card, "culprits")
    lang, lost = card.lang, card.explanation.lost
    dossier_rows = lost[(lost["lost"] > 0) & lost["component"].isin(_dossier_components(card))]
    if dossier_rows.empty:
        return ()
    top = dossier_rows.iloc[0]
    rows = card.explanation.culprits(top["component"]).head(CULPRITS_SHOWN)
    rows = rows[[c for c in CULPRIT_COLUMNS if c in rows.columns]]
    # Readers' headers and dates (dd/mm/yyyy), never the records' column names or timestamps.
    rows = pd.DataFrame(
        {
            i18n.label(f"culprit_{c}", lang): [_culprit_cell(c, v, lang) for v in rows[c]]
            for c in rows.columns
        }
    )
    name = top["name_vi"] if lang == "vi" else top["name_en"]
    caption = i18n.label("caption_culprits", lang).format(component=f"{top['component']} {name}")
    return (Table(rows, caption),)


def _dossier_components(card: Scorecard) -> set[str]:
    return {c.id for c in card.peers.rules.components if c.table == "dossiers"}


def what_ifs(card: Scorecard) -> Table:
    """Points each losing component would add at 80 % and 100 %."""
    if _portal(card):
        return _from_portal(card, "what_ifs")
    lang, lost = card.lang, card.explanation.lost
    name = "name_vi" if lang == "vi" else "name_en"
    # The unit's own rows only: a component's points depend on the unit alone, and among the
    # 3,000 communes of a period each what-if would otherwise search every row.
    peers = card.peers
    own = replace(
        peers,
        units=peers.units[card.mine(peers.units)],
        components=peers.components[card.mine(peers.components)],
    )
    rows = []
    for r in lost[(lost["lost"] > 0) & lost["rate"].notna()].itertuples(index=False):
        added = [
            what_if(own, card.unit, r.component, t, province=card.province or None)
            if t > r.rate
            else 0.0
            for t in WHAT_IF_TARGETS
        ]
        rows.append(
            (f"{r.component} {getattr(r, name)}", i18n.share_of(r.numerator, r.denominator, lang))
            + tuple(i18n.change(a, lang) for a in added)
        )
    columns = [i18n.label("component", lang), i18n.label("rate", lang)] + [
        i18n.label("if_rate", lang).format(rate=i18n.percent(t, lang, 0)) for t in WHAT_IF_TARGETS
    ]
    return Table(
        pd.DataFrame(rows, columns=columns),
        i18n.label("caption_what_if", lang),
        note=base.small_numbers_note(lang),
    )
