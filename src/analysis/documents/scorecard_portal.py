"""The index scorecard from the portal's published figures, when no dossier records exist.

:func:`analysis.documents.scorecard.prepare` hands over here when given ``portal_path`` (a folder that
``workbench ingest`` of the portal's API responses wrote). The card shows the portal's group
points (the official figures), every component's numerator and denominator, the points the
rules file gives on those counts beside the portal's, a mark where the two differ by more than
0,01, and what reaching 80 % or 100 % would add. The block functions of
:mod:`analysis.documents.scorecard` dispatch to the ones here, so the same notebook renders both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis import i18n
from analysis.documents import base
from analysis.documents.blocks import Chart, Meta, Paragraph, Table
from analysis.errors import WorkbenchError
from analysis.files import sha256
from analysis.index766 import counts, parse_period

WHAT_IF_TARGETS = (0.8, 1.0)
OFFICIAL_TOTAL = base.OFFICIAL_TOTAL
FLAG = "⚠"


@dataclass(frozen=True, eq=False)
class PortalCard:
    """Everything a scorecard from the portal's figures shows, computed once.

    Attributes
    ----------
    unit : str
        The unit's name as tables show it ("Phú Thọ", "Xã Hy Cương").
    unit_id, portal_name, level, province, period, lang : str
    scores : CountScores
        The rules applied to every unit of the imported data.
    groups, components : pandas.DataFrame
        This unit's rows of ``scores.groups`` / ``scores.components`` for the period.
    peers : pandas.DataFrame
        Units of the same level in the period with the portal's total (all six groups known).
    history : pandas.DataFrame
        The unit's portal group points in every imported period.
    source : Path
    files : dict
        Name -> SHA-256 of the portal tables read.
    """

    unit: str
    unit_id: str
    portal_name: str
    level: str
    province: str
    period: str
    lang: str
    scores: counts.CountScores
    groups: pd.DataFrame
    components: pd.DataFrame
    peers: pd.DataFrame
    history: pd.DataFrame
    source: Path
    files: dict
    synthetic: bool = False


def portal_period(period: str) -> str:
    """The engine's period label (``2026Q3``) as the importer writes it (``2026-Q3``)."""
    p = parse_period(period)
    return p.label.replace("Q", "-Q") if p.kind == "quarter" else p.label


def prepare(unit: str, period: str, lang: str = "vi", portal_path: str | Path = "") -> PortalCard:
    """Score the imported portal figures with the rules and pick the unit's rows.

    Parameters
    ----------
    unit : str
        "Phú Thọ", "UBND xã Hy Cương", "Xã Hy Cương" or "Hy Cương".
    period : str
        ``2026-08``, ``2026Q3`` or ``2026``.
    lang : {"vi", "en"}
    portal_path : path-like
        The folder ``workbench ingest`` wrote the portal's responses into.

    Raises
    ------
    WorkbenchError
        No portal data there, none for the period, or no (or several) unit of that name.
    """
    i18n.check_lang(lang)
    if parse_period(period).kind == "half":
        raise WorkbenchError(
            f"the portal publishes no half-year figures ({period})",
            hint="give a month (2026-08), a quarter (2026Q3) or a year (2026)",
        )
    source = Path(portal_path)
    label = portal_period(period)
    units, comps = counts.load(source)
    found = counts.find_unit(units, unit, label)
    scored = counts.score_counts(units, comps)
    uid = found["unit_id"]
    mine_groups = scored.groups[
        (scored.groups["unit_id"] == uid) & (scored.groups["period"] == label)
    ]
    mine_comps = scored.components[
        (scored.components["unit_id"] == uid) & (scored.components["period"] == label)
    ]
    totals = _totals(units)
    peers = totals[(totals["period"] == label) & (totals["level"] == found["level"])]
    history = units[units["unit_id"] == uid][["period", "group", "points"]]
    files = {
        name: sha256(source / name)
        for name in ("portal_units.parquet", "portal_components.parquet")
        if (source / name).is_file()
    }
    return PortalCard(
        unit=found["unit"],
        unit_id=uid,
        portal_name=found["portal_name"],
        level=found["level"],
        province=found["province"],
        period=label,
        lang=lang,
        scores=scored,
        groups=mine_groups.reset_index(drop=True),
        components=mine_comps.reset_index(drop=True),
        peers=peers.reset_index(drop=True),
        history=history.reset_index(drop=True),
        source=source,
        files=files,
    )


def _totals(units: pd.DataFrame) -> pd.DataFrame:
    """Each unit's portal total where all six groups are known (else missing)."""
    wide = units.pivot_table(
        index=["unit_id", "unit", "level", "period"],
        columns="group",
        values="points",
        aggfunc="first",
    )
    known = wide.notna().sum(axis=1) == 6
    out = wide.sum(axis=1).where(known).rename("total").reset_index()
    return out


def _pts(x, lang: str) -> str:
    return i18n.MISSING if x is None or pd.isna(x) else i18n.number(float(x), lang, 2)


def _group_names(card: PortalCard) -> dict[str, str]:
    return {g.id: g.name(card.lang) for g in card.scores.rules.groups}


def _total(card: PortalCard) -> float:
    pts = card.groups.set_index("group")["portal_points"]
    return float(pts.sum()) if len(pts) == 6 and pts.notna().all() else math.nan


def meta(card: PortalCard) -> Meta:
    """Title block and provenance: the portal's figures, the tables read and the rules."""
    lang = card.lang
    return base.index_meta(
        lang,
        unit=(card.unit, f"{card.unit} ({card.portal_name})"),
        when=base.period_text(card.period.replace("-Q", "Q"), lang),
        source=f"{i18n.label('portal_source', lang)}: {card.source}",
        files=card.files,
        rules=(card.scores.rules_version, card.scores.rules.path),
        subtitle="portal_subtitle",
        synthetic=False,
    )


def headline(card: PortalCard) -> Paragraph:
    """The portal's total (or how many groups it gave) and how far the rules reproduce it."""
    lang = card.lang
    comps = card.components[card.components["compared"]]
    groups = card.groups[card.groups["compared"]]
    total = _total(card)
    given = int(card.groups["portal_points"].notna().sum())
    if math.isnan(total):
        first = i18n.label("portal_headline_partial", lang).format(unit=card.unit, n=given)
    else:
        first = i18n.label("portal_headline", lang).format(
            unit=card.unit, total=i18n.number(total, lang, 2)
        )
    second = i18n.label("portal_agreement", lang).format(
        version=card.scores.rules_version,
        matched=int((~comps["disagrees"]).sum()),
        compared=len(comps),
        gmatched=int((~groups["disagrees"]).sum()),
        gcompared=len(groups),
    )
    flagged = card.components[card.components["disagrees"]]
    if len(flagged):
        second += " " + i18n.label("portal_flagged", lang).format(
            ids=", ".join(flagged["component"])
        )
    return Paragraph(f"{first} {second}", kind="finding")


def groups_table(card: PortalCard) -> Table:
    """Each group: the portal's points of the official maximum, the rules' points, the flag."""
    lang = card.lang
    names = _group_names(card)
    rows = []
    for g in card.scores.rules.groups:
        hit = card.groups[card.groups["group"] == g.id]
        portal = hit["portal_points"].iloc[0] if len(hit) else math.nan
        rules = hit["points"].iloc[0] if len(hit) else math.nan
        flag = bool(hit["disagrees"].iloc[0]) if len(hit) else False
        rows.append(
            (
                names[g.id],
                f"{_pts(portal, lang)}/{i18n.number(g.points, lang, 0)}",
                _pts(rules, lang) + (f" {FLAG}" if flag else ""),
            )
        )
    total = _total(card)
    rows.append(
        (
            i18n.label("total", lang),
            f"{_pts(total, lang)}/{OFFICIAL_TOTAL}",
            "",
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=[
            i18n.label("group", lang),
            i18n.label("portal_points", lang),
            i18n.label("rules_points", lang),
        ],
    )
    return Table(frame, i18n.label("caption_portal_groups", lang), note=_flag_note(lang))


def _flag_note(lang: str) -> str:
    return i18n.label("portal_flag_note", lang).format(flag=FLAG)


def ranking(card: PortalCard) -> Table | Paragraph:
    """Where the unit's portal total stands among units of its level (total known only)."""
    lang = card.lang
    ranks = base.top_ranks(card.peers, "unit_id", card.unit_id, lang)
    if isinstance(ranks, Paragraph):
        return ranks
    shown, ranked = ranks
    frame = pd.DataFrame(
        {
            i18n.label("rank", lang): shown["rank"],
            i18n.label("unit", lang): [
                f"{u} ◀" if i == card.unit_id else u
                for u, i in zip(shown["unit"], shown["unit_id"], strict=True)
            ],
            i18n.label("points", lang): [
                f"{_pts(t, lang)}/{OFFICIAL_TOTAL}" for t in shown["total"]
            ],
        }
    )
    note = i18n.label("portal_ranking_note", lang).format(n=ranked)
    return Table(frame, i18n.label("caption_ranking", lang), note=note)


def trend_chart(card: PortalCard) -> Chart:
    """The portal's group points in every imported period of the unit."""
    lang = card.lang
    names = _group_names(card)
    fig, ax = plt.subplots(figsize=(7.2, 3.2), dpi=100)
    periods = sorted(set(card.history["period"]))
    for g in card.scores.rules.groups:
        rows = card.history[card.history["group"] == g.id].set_index("period")["points"]
        ax.plot(
            periods,
            [rows.get(p, math.nan) for p in periods],
            marker="o",
            markersize=3,
            linewidth=1.4,
            label=names[g.id],
        )
    ax.set_ylabel(i18n.label("points", lang), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(frameon=False, fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(0, -0.12))
    fig.tight_layout()
    return Chart.from_figure(fig, i18n.label("caption_portal_trend", lang))


def lost_table(card: PortalCard) -> Table:
    """Every component: its counts, the portal's points, the rules' points, the status."""
    lang = card.lang
    rows = []
    comps = card.components[card.components["max_points"] > 0]
    comps = comps.assign(lost=comps["max_points"] - comps["points"].fillna(comps["max_points"]))
    for r in comps.sort_values("lost", ascending=False, kind="stable").itertuples(index=False):
        c = card.scores.rules.component(r.component)
        counts_text = (
            i18n.MISSING
            if r.numerator is None or r.denominator is None or pd.isna(r.numerator)
            else f"{i18n.number(r.numerator, lang, 0)}/{i18n.number(r.denominator, lang, 0)}"
        )
        rows.append(
            (
                f"{c.id} {c.name(lang)}{' *' if c.uncertain else ''}",
                counts_text,
                i18n.share_of(r.numerator, r.denominator, lang)
                if r.numerator is not None and r.denominator is not None
                else i18n.MISSING,
                f"{_pts(r.portal_points, lang)}/{i18n.number(c.points, lang, 0)}"
                if pd.notna(r.portal_points)
                else i18n.MISSING,
                _pts(r.points, lang) + (f" {FLAG}" if r.disagrees else ""),
                i18n.label(f"status_{r.status}", lang),
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            i18n.label("component", lang),
            i18n.label("counts", lang),
            i18n.label("rate", lang),
            i18n.label("portal_points", lang),
            i18n.label("rules_points", lang),
            i18n.label("status", lang),
        ],
    )
    note = " ".join(
        (
            i18n.label("portal_components_note", lang),
            i18n.label("uncertain_note", lang),
            _flag_note(lang),
            base.small_numbers_note(lang),
        )
    )
    return Table(frame, i18n.label("caption_portal_components", lang), note=note)


def what_ifs(card: PortalCard) -> Table:
    """Points each component below its maximum would add at 80 % and at 100 % (rules)."""
    lang = card.lang
    rows = []
    for r in card.components.itertuples(index=False):
        if r.status != "ok" or not r.max_points or r.points >= r.max_points:
            continue
        c = card.scores.rules.component(r.component)
        added = [
            counts.what_if(card.scores, card.unit_id, card.period, r.component, t)
            if t > r.rate
            else 0.0
            for t in WHAT_IF_TARGETS
        ]
        rows.append(
            (f"{c.id} {c.name(lang)}", i18n.share_of(r.numerator, r.denominator, lang))
            + tuple(i18n.change(a, lang, 2) for a in added)
        )
    columns = [i18n.label("component", lang), i18n.label("rate", lang)] + [
        i18n.label("if_rate", lang).format(rate=i18n.percent(t, lang, 0)) for t in WHAT_IF_TARGETS
    ]
    return Table(
        pd.DataFrame(rows, columns=columns),
        i18n.label("caption_what_if", lang),
        note=base.small_numbers_note(lang),
    )


def culprits(card: PortalCard) -> tuple:
    """The portal publishes counts, not dossiers: say so where the dossier list would be."""
    return (Paragraph(i18n.label("portal_no_dossiers", card.lang)),)
