"""The national overview: every province in one quarter, ranked, mapped, and measures compared.

``notebooks/40_national_overview.ipynb`` calls :func:`prepare` once and then one function per
part; each returns a block of :mod:`analysis.documents.blocks`. The numbers come from the count
panel (:mod:`analysis.panel`: counts summed, then rates derived), the Decision 766 index engine
(:mod:`analysis.index766`) when dossier records sit beside the panel, and the interrupted time
series (:func:`analysis.designs.its.fit_its`) fitted the way the measure brief fits it.

A quarter lies wholly on one boundary: quarters ending before ``config.MERGER_DATE`` are shown
on the 63 old provinces, later ones on the 34 new provinces. The previous quarter of the first
new-boundary quarter (2025Q3 → 2025Q2) is summed onto the new provinces, so the change is
like for like.

The map is a tile grid (``data/tile_grid.csv``: boundary, province_code, row, col): one square
per province, north at the top, the coast to the east. Positions are **schematic** — drawn by
hand to keep neighbours roughly together, not projected from any geometry — so no map data
and no licence are involved; the figure's caption says so to the reader.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis import config, i18n, measures, panel, registry
from analysis.documents import base
from analysis.documents.blocks import Chart, Meta, Paragraph, Section, Table
from analysis.errors import WorkbenchError
from analysis.evaluation.fit import POST_MONTHS
from analysis.measures import Measure
from analysis.quarters import boundary_of, check_covered, parse_quarter, quarter_text
from analysis.registry import Province
from analysis.sources import Source, dossier_files, dossiers_beside, open_panel

if TYPE_CHECKING:  # the designs import statsmodels: not needed to check a command line
    from analysis.designs.result import EffectResult

__all__ = [
    "Overview",
    "prepare",
    "check_kind",
    "tile_grid",
    "short_name",
    "meta",
    "section",
    "key_finding",
    "ranking",
    "tile_map",
    "effects",
]

TILE_GRID_FILE = config.PACKAGE_DATA / "tile_grid.csv"
RANKING_ROWS = 32  # rows of the ranking that fit on an A4 page with its heading and notes
COLORMAP = "YlGnBu"
MISSING_COLOR = "#d0d0d0"
# Names too long for a tile: the abbreviations Vietnamese readers use.
SHORT_NAMES = {"Bà Rịa - Vũng Tàu": "BR–VT", "Hồ Chí Minh": "TP HCM", "Thừa Thiên Huế": "TT Huế"}


@dataclass(frozen=True, eq=False)
class Overview:
    """Everything a national overview shows, computed once.

    Attributes
    ----------
    quarter : pandas.Period
        The quarter (freq ``Q``).
    boundary : {"old63", "new34"}
        The provinces the quarter is shown on.
    lang, outcome, measure_kind : str
    table : DataFrame
        One row per province of the boundary (all of them, with or without data), sorted by
        rank: ``province_code``, ``province``, ``numerator``, ``denominator`` (quarter sums,
        NaN without data), ``rate`` (share; NaN below ``config.MIN_DENOMINATOR`` dossiers),
        ``previous_numerator``, ``previous_denominator``, ``previous_rate``, ``change_pp``,
        ``rank`` (Int64, missing when the rate is not shown), ``index_total``, ``index_max``
        and ``index_complete`` (NaN without dossier records).
    national : dict
        ``numerator``, ``denominator``, ``rate``, and the same for the previous quarter
        (``previous_*``; NaN when the data start with this quarter), ``change_pp``.
    previous_summed : bool
        True when the previous quarter lies on the old boundary and was summed onto the new one.
    source : Source
        The panel and its provenance.
    dossiers : Path or None
        The dossier records scored for the index, if any.
    rules_version : str
        The index rules used ("" when no index was scored).
    files : dict
        Every data file read -> SHA-256 (panel, ground truth, dossier records).
    synthetic : bool
    last_month : Timestamp
        The last month of data used (the quarter's last month).
    effects : DataFrame
        One row per measure of ``measure_kind`` estimated: ``measure_id``, ``province``,
        ``boundary``, ``start``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``,
        ``n_pre``, ``n_post``, ``name`` (short, in ``lang``), ``result`` (the EffectResult).
    skipped : tuple of (str, str)
        Measures of the kind not estimated, with the reason in ``lang``.
    """

    quarter: pd.Period
    boundary: str
    lang: str
    outcome: str
    measure_kind: str
    table: pd.DataFrame
    national: dict
    previous_summed: bool
    source: Source
    dossiers: Path | None
    rules_version: str
    files: dict
    synthetic: bool
    last_month: pd.Timestamp
    effects: pd.DataFrame
    skipped: tuple[tuple[str, str], ...] = ()


# --- input ----------------------------------------------------------------------------------


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a kind of :data:`analysis.measures.KINDS`, else a WorkbenchError."""
    if kind not in measures.KINDS:
        raise WorkbenchError(
            f"unknown kind of measure {kind!r}", hint=f"use one of: {', '.join(measures.KINDS)}"
        )
    return kind


def prepare(
    quarter: str,
    lang: str = "vi",
    data_path: str | None = None,
    outcome: str = "online_rate",
    measure_kind: str = "fee_cut",
) -> Overview:
    """Load the data and compute the ranking, the index and the measures' effects once.

    Parameters
    ----------
    quarter : str
        ``2024Q2``.
    lang : {"vi", "en"}
    data_path : str, optional
        Folder holding ``panel.parquet`` (and optionally ``dossiers/``), or the panel file;
        default the embedded synthetic data (``config.SYNTH_DIR``).
    outcome : str, default "online_rate"
        A rate of :data:`analysis.panel.RATES`.
    measure_kind : str, default "fee_cut"
        A kind of :data:`analysis.measures.KINDS`: its measures' effects are compared.

    Returns
    -------
    Overview

    Raises
    ------
    WorkbenchError
        Bad language, outcome, kind or quarter; a quarter outside the data (the message names
        the data's first or last month).
    """
    i18n.check_lang(lang)
    panel.check_rate(outcome)
    check_kind(measure_kind)
    period = parse_quarter(quarter)
    boundary = boundary_of(period)
    source = open_panel(data_path or None)
    frame = source.frame
    months = frame["month"].dt.to_period("M")
    check_covered(period, months.min(), months.max())
    q_last = period.end_time.to_period("M").to_timestamp()
    # Nothing after the quarter is used: the overview of a quarter says what was known then.
    frame = frame[frame["month"] <= q_last]

    table, national, summed = _rates(frame, period, boundary, outcome)
    dossiers = dossiers_beside(source)
    files = dict(source.files)
    synthetic = source.synthetic
    rules_version = ""
    if dossiers is not None:
        from analysis.index766 import score

        scored = score(dossiers, period=str(period), by="province")
        rules_version = scored.rules_version
        table = _with_index(table, scored.units, boundary)
        d_files, d_synthetic = dossier_files(dossiers)
        files |= d_files
        synthetic = synthetic or d_synthetic
    else:
        table = table.assign(index_total=np.nan, index_max=np.nan, index_complete=False)
    estimated, skipped = _effects(frame, outcome, measure_kind, lang)
    return Overview(
        quarter=period,
        boundary=boundary,
        lang=lang,
        outcome=outcome,
        measure_kind=measure_kind,
        table=table,
        national=national,
        previous_summed=summed,
        source=source,
        dossiers=dossiers,
        rules_version=rules_version,
        files=files,
        synthetic=synthetic,
        last_month=q_last,
        effects=estimated,
        skipped=skipped,
    )


# --- numbers --------------------------------------------------------------------------------


def _quarter_counts(frame: pd.DataFrame, boundary: str, outcome: str) -> pd.DataFrame:
    """Quarterly numerator and denominator per province, levels summed, on ``boundary``.

    Only full quarters count (``n_months`` 3): a quarter with a month missing is not
    comparable with the others, so it is treated as no data.
    """
    numerator, denominator = panel.RATES[outcome]
    if boundary == "new34":
        # Old provinces summed into their successors: exact, since only counts are added.
        agg = panel.aggregate(frame, freq="Q", levels="sum", boundary="new34")
    else:
        agg = panel.aggregate(frame, freq="Q", levels="sum")
        agg = agg[agg["boundary"] == "old63"]
    agg = agg[agg["n_months"] == 3]
    return pd.DataFrame(
        {
            "province_code": agg["province_code"].astype(str),
            "period": agg["period"],
            "numerator": agg[numerator].astype("Float64").astype("float64"),
            "denominator": agg[denominator].astype("Float64").astype("float64"),
        }
    )


def _shown_rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """The rate where it rests on at least ``MIN_DENOMINATOR`` dossiers, else NaN."""
    ok = numerator.notna() & i18n.enough(denominator)
    return (numerator / denominator).where(ok)


def _rates(frame, period, boundary, outcome):
    counts = _quarter_counts(frame, boundary, outcome)
    previous = period - 1
    summed = boundary == "new34" and boundary_of(previous) == "old63"
    base = pd.DataFrame(
        [(p.code, p.name) for p in registry.provinces(boundary)],
        columns=["province_code", "province"],
    )
    now = counts[counts["period"] == period].drop(columns="period")
    before = counts[counts["period"] == previous].drop(columns="period")
    table = base.merge(now, on="province_code", how="left").merge(
        before.rename(columns=lambda c: c if c == "province_code" else f"previous_{c}"),
        on="province_code",
        how="left",
    )
    table["rate"] = _shown_rate(table["numerator"], table["denominator"])
    table["previous_rate"] = _shown_rate(table["previous_numerator"], table["previous_denominator"])
    table["change_pp"] = 100 * (table["rate"] - table["previous_rate"])
    table["rank"] = table["rate"].rank(ascending=False, method="min").astype("Int64")
    table = table.sort_values(["rank", "province"], na_position="last", ignore_index=True)

    def total(rows: pd.DataFrame) -> tuple[float, float, float]:
        # A province that did not report the count is left out of both sums.
        ok = rows["numerator"].notna() & rows["denominator"].notna()
        num, den = rows.loc[ok, "numerator"].sum(), rows.loc[ok, "denominator"].sum()
        return float(num), float(den), (num / den if den > 0 else np.nan)

    num, den, rate = total(now)
    p_num, p_den, p_rate = total(before) if len(before) else (np.nan, np.nan, np.nan)
    national = {
        "numerator": num,
        "denominator": den,
        "rate": rate,
        "previous_numerator": p_num,
        "previous_denominator": p_den,
        "previous_rate": p_rate,
        "change_pp": 100 * (rate - p_rate),
    }
    return table, national, summed


def _with_index(table: pd.DataFrame, units: pd.DataFrame, boundary: str) -> pd.DataFrame:
    """Attach each province's index total, matching the records' province names.

    Records name provinces as people write them; a name is matched to the quarter's boundary
    exactly first, then through the registry. Names of the other boundary (dossiers received
    before the merger and finished after it) are left out.
    """
    by_name = {p.name: p.code for p in registry.provinces(boundary)}
    found: dict[str, tuple[float, float, bool]] = {}
    later = []
    for row in units.itertuples(index=False):
        value = (float(row.total), float(row.max_total), bool(row.complete))
        if row.unit in by_name:
            found[by_name[row.unit]] = value
        else:
            later.append((row.unit, value))
    for name, value in later:
        try:
            code = registry.resolve(str(name), boundary=boundary).code
        except WorkbenchError:
            continue
        found.setdefault(code, value)
    index = pd.DataFrame(
        [(c, *v) for c, v in found.items()],
        columns=["province_code", "index_total", "index_max", "index_complete"],
    )
    return table.merge(index, on="province_code", how="left")


# --- effects of one kind of measure ---------------------------------------------------------


def _effects(frame: pd.DataFrame, outcome: str, kind: str, lang: str):
    """The ITS of every measure of ``kind`` that has the months it needs, as the brief fits it.

    The series is the one :func:`analysis.documents.brief.prepare` builds (:func:`analysis.panel.series`):
    the province on the boundary in force when the measure started (a new province's old parts
    summed before the merger), levels summed, up to the measure's end; the province's own
    earlier measures are breaks.
    """
    from analysis.evaluation.fit import fit_measure

    rows, skipped = [], []
    last = frame["month"].max() + pd.offsets.MonthEnd(0)
    for m in measures.load().values():
        if m.kind != kind or m.start > last:
            # A measure that starts after the quarter is not yet part of its story.
            continue
        name = _measure_short(m, lang)
        if m.is_national:
            skipped.append(
                (m.measure_id, i18n.label("overview_skip_national", lang).format(name=name))
            )
            continue
        _, place = measures.target(m.measure_id)
        start = m.start.to_period("M").to_timestamp()
        why = None
        try:
            result, _ = fit_measure(frame, m, place, outcome, POST_MONTHS)
        except WorkbenchError:
            # The design's message is for analysts (English, ISO months): the reader gets the
            # reason in the document's language.
            why = i18n.label("overview_skip_data", lang).format(
                pre=config.MIN_PRE_MONTHS, post=config.MIN_POST_MONTHS
            )
        else:
            if result.n_pre < config.MIN_PRE_MONTHS or result.n_post < config.MIN_POST_MONTHS:
                why = i18n.label("overview_skip_months", lang).format(
                    n_pre=result.n_pre,
                    n_post=result.n_post,
                    pre=config.MIN_PRE_MONTHS,
                    post=config.MIN_POST_MONTHS,
                )
        if why is not None:
            skipped.append(
                (
                    m.measure_id,
                    i18n.label("overview_skip_item", lang).format(
                        name=name, province=place.name, start=i18n.month(start, lang), why=why
                    ),
                )
            )
            continue
        rows.append(_effect_row(m, place, name, result))
    columns = [
        "measure_id", "province", "boundary", "start", "estimate", "ci_low", "ci_high",
        "p_value", "n_pre", "n_post", "name", "result",
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["start", "province"], ignore_index=True), tuple(skipped)


def _effect_row(m: Measure, place: Province, name: str, r: EffectResult) -> tuple:
    return (
        m.measure_id,
        place.name,
        place.boundary,
        m.start,
        r.estimate,
        r.ci_low,
        r.ci_high,
        r.p_value,
        r.n_pre,
        r.n_post,
        name,
        r,
    )


def _measure_short(m: Measure, lang: str) -> str:
    """A short name for a table cell: "Giảm 50 % lệ phí", the file's own name, or the kind."""
    if m.kind == "fee_cut" and m.intensity is not None:
        if m.intensity >= 1:
            return i18n.label("overview_fee_free", lang)
        return i18n.label("overview_fee_cut", lang).format(pct=i18n.percent(m.intensity, lang, 0))
    named = dict(m.names).get(lang)
    if named:
        return named[:1].upper() + named[1:]
    return _kind_word(m.kind, lang)


def _kind_word(kind: str, lang: str) -> str:
    key = f"kind_{kind}"
    text = i18n.label(key, lang)
    return i18n.label("overview_kind_other", lang) if text == key else text


# --- words ----------------------------------------------------------------------------------


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def short_name(name: str) -> str:
    """A province's name for a tile: two words on two lines, long names abbreviated.

    Diacritics are kept ("Thái\\nNguyên", "TP HCM", "BR–VT").
    """
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    words = name.replace("-", " ").split()
    if len(words) <= 2:
        return "\n".join(words)
    return "".join(w[0] for w in words[:-1]).upper() + "\n" + words[-1]


@lru_cache(maxsize=1)
def _grid_file() -> pd.DataFrame:
    return pd.read_csv(TILE_GRID_FILE, dtype={"province_code": str, "boundary": str})


def tile_grid(boundary: str) -> pd.DataFrame:
    """The tile positions of a boundary's provinces (schematic; see the module docstring).

    Returns
    -------
    DataFrame
        ``province_code``, ``province``, ``row`` (0 at the top, north), ``col`` (0 at the west).
    """
    grid = _grid_file()
    grid = grid[grid["boundary"] == boundary].copy()
    grid["province"] = [registry.by_code(c, boundary).name for c in grid["province_code"]]
    return grid[["province_code", "province", "row", "col"]].reset_index(drop=True)


# --- blocks ---------------------------------------------------------------------------------


def section(key: str, ov: Overview) -> Section:
    """A numbered section heading (``finding``, ``ranking``, ``map``, ``effects``)."""
    return Section(
        i18n.label(f"overview_section_{key}", ov.lang).format(
            kind=_kind_word(ov.measure_kind, ov.lang)
        )
    )


def title(ov: Overview) -> str:
    """``Tổng quan toàn quốc — Quý 2/2024`` / ``National overview — 2024 Q2``."""
    return i18n.label("overview_title", ov.lang).format(
        quarter=quarter_text(ov.quarter, ov.lang, True)
    )


def meta(ov: Overview) -> Meta:
    """Title block and provenance for the template (shown as its own MIME type)."""
    lang = ov.lang
    merger = i18n.date(pd.Timestamp(config.MERGER_DATE), lang)
    span = (
        f"{quarter_text(ov.quarter, lang, True)} ({i18n.date(ov.quarter.start_time, lang)} – "
        f"{i18n.date(ov.quarter.end_time, lang)})"
    )
    provenance = [(i18n.label("data_source", lang), base.shown_path(ov.source.path))]
    if ov.dossiers is not None:
        provenance.append((i18n.label("overview_dossiers", lang), base.shown_path(ov.dossiers)))
    provenance += [(name, f"SHA-256 {digest}") for name, digest in sorted(ov.files.items())]
    if ov.source.synthetic:
        provenance.append(("seed", str(ov.source.manifest.get("seed", ""))))
    if ov.rules_version:
        provenance.append((i18n.label("rules", lang), ov.rules_version))
    facts = [
        (i18n.label("period", lang), span),
        (i18n.label("quantity", lang), i18n.label(ov.outcome, lang)),
        (i18n.label("overview_n_provinces", lang), str(len(ov.table))),
        (
            i18n.label("overview_boundary", lang),
            i18n.label(f"overview_boundary_{ov.boundary}", lang).format(date=merger),
        ),
    ]
    return base.meta(
        lang,
        kind=i18n.label("overview_kind", lang),
        title=title(ov),
        subtitle=i18n.label(ov.outcome, lang),
        facts=facts,
        synthetic=ov.synthetic,
        provenance=provenance,
        data_files=ov.files,
    )


def key_finding(ov: Overview) -> Paragraph:
    """The national rate from summed counts, its change, the highest and lowest province."""
    lang, nat = ov.lang, ov.national
    previous = quarter_text(ov.quarter - 1, lang)
    text = i18n.label("overview_finding", lang).format(
        quarter=quarter_text(ov.quarter, lang),
        outcome=_lower_first(i18n.label(ov.outcome, lang)),
        rate=i18n.share_of(nat["numerator"], nat["denominator"], lang),
        num=i18n.number(nat["numerator"], lang, 0),
        den=i18n.number(nat["denominator"], lang, 0),
    )
    change = nat["change_pp"]
    if np.isnan(change):
        text += " " + i18n.label("overview_finding_no_previous", lang).format(previous=previous)
    else:
        key = "overview_up" if change > 0 else "overview_down" if change < 0 else "overview_same"
        moved = i18n.label(key, lang).format(pp=i18n.points(abs(change), lang, signed=False))
        text += " " + i18n.label("overview_finding_change", lang).format(
            change=moved, previous=previous
        )
    shown = ov.table[ov.table["rate"].notna()]
    if len(shown):
        best, worst = shown.iloc[0], shown.iloc[-1]
        text += " " + i18n.label("overview_finding_extremes", lang).format(
            best=best["province"],
            best_rate=i18n.percent(best["rate"], lang),
            worst=worst["province"],
            worst_rate=i18n.percent(worst["rate"], lang),
        )
    hidden = len(ov.table) - len(shown)
    if hidden:
        text += " " + i18n.label("overview_finding_hidden", lang).format(
            n=hidden, min=config.MIN_DENOMINATOR
        )
    text += _effects_sentence(ov)
    return Paragraph(text, kind="finding")


def _effects_sentence(ov: Overview) -> str:
    """How large and how sure the measures' effects are, for the first page."""
    lang, e = ov.lang, ov.effects
    kind = _lower_first(_kind_word(ov.measure_kind, lang))
    if e.empty:
        return ""
    if len(e) == 1:
        row = e.iloc[0]
        return " " + i18n.label("overview_finding_effect_one", lang).format(
            kind=kind,
            province=row["province"],
            effect=i18n.points(row["estimate"], lang),
            ci=i18n.interval(row["ci_low"], row["ci_high"], lang),
        )
    sure = int(((e["ci_low"] > 0) | (e["ci_high"] < 0)).sum())
    return " " + i18n.label("overview_finding_effects", lang).format(
        n=len(e),
        kind=kind,
        low=i18n.points(e["estimate"].min(), lang),
        high=i18n.points(e["estimate"].max(), lang),
        sig=sure,
    )


def _index_cell(total: float, maximum: float, complete: bool, lang: str) -> str:
    if pd.isna(total):
        return i18n.MISSING
    if complete:
        return i18n.number(total, lang)
    return f"{i18n.number(total, lang)} / {i18n.number(maximum, lang, 0)}"


def ranking(ov: Overview) -> tuple[Table, ...]:
    """Every province: rank, rate, change on the previous quarter and, with dossiers, the index.

    Returned as one table per page (at most ``RANKING_ROWS`` rows each, split evenly): a
    table taller than an A4 page would be pushed whole onto a new page, leaving its heading
    alone. The notes go under the last part.
    """
    lang, t = ov.lang, ov.table
    previous = quarter_text(ov.quarter - 1, lang)
    columns = {
        i18n.label("rank", lang): [i18n.MISSING if pd.isna(r) else str(r) for r in t["rank"]],
        i18n.label("province", lang): t["province"],
        i18n.label(ov.outcome, lang): [
            i18n.share_of(n, d, lang) for n, d in zip(t["numerator"], t["denominator"], strict=True)
        ],
        i18n.label("overview_col_change", lang).format(previous=previous): [
            i18n.points(x, lang) for x in t["change_pp"]
        ],
    }
    notes = [
        i18n.label("overview_note_change", lang).format(previous=previous),
        base.small_numbers_note(lang),
    ]
    if ov.previous_summed:
        notes.append(i18n.label("overview_note_summed", lang).format(previous=previous))
    if ov.dossiers is not None:
        columns[i18n.label("overview_col_index", lang)] = [
            _index_cell(a, b, c, lang)
            for a, b, c in zip(t["index_total"], t["index_max"], t["index_complete"], strict=True)
        ]
        notes.append(i18n.label("overview_note_index", lang).format(rules=ov.rules_version))
    frame = pd.DataFrame(columns)
    caption = i18n.label("overview_caption_ranking", lang).format(
        outcome=_lower_first(i18n.label(ov.outcome, lang)), quarter=quarter_text(ov.quarter, lang)
    )
    parts = -(-len(frame) // RANKING_ROWS)
    if parts <= 1:
        return (Table(frame, caption, note=" ".join(notes)),)
    size = -(-len(frame) // parts)
    tables = []
    for k in range(parts):
        chunk = frame.iloc[k * size : (k + 1) * size].reset_index(drop=True)
        part = i18n.label("overview_part", lang).format(k=k + 1, n=parts)
        note = " ".join(notes) if k == parts - 1 else ""
        tables.append(Table(chunk, f"{caption} ({part})", note=note))
    return tuple(tables)


def _text_color(rgba) -> str:
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "#1a1a1a"


def _limits(rates: pd.Series) -> tuple[float, float]:
    """Colour scale ends: the shown rates rounded outwards to 5 %."""
    if rates.empty:
        return 0.0, 1.0
    low = np.floor(rates.min() * 20) / 20
    high = np.ceil(rates.max() * 20) / 20
    return (low, high) if high > low else (max(0.0, low - 0.05), min(1.0, high + 0.05))


def tile_map(ov: Overview) -> Chart:
    """One square per province, placed like the country, coloured by the quarter's rate."""
    lang = ov.lang
    grid = tile_grid(ov.boundary).merge(
        ov.table[["province_code", "rate"]], on="province_code", how="left"
    )
    rates = grid["rate"].dropna()
    low, high = _limits(rates)
    norm = Normalize(vmin=low, vmax=high)
    cmap = plt.get_cmap(COLORMAP)
    n_rows, n_cols = int(grid["row"].max()) + 1, int(grid["col"].max()) + 1

    # The page shows a figure at its full width (~7 in), so the figure is nearly as wide as
    # tall: the map sits on the left, the colour scale with the provinces' spread on the right.
    fig_w, fig_h = 6.9, 8.0
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=100)
    tile = min(fig_h * 0.96 / n_rows, fig_w * 0.58 / n_cols)
    map_w, map_h = n_cols * tile, n_rows * tile
    ax = fig.add_axes((0.04, (1 - map_h / fig_h) / 2, map_w / fig_w, map_h / fig_h))
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_axis_off()
    font = 5.4 if n_rows > 18 else 6.4
    for row in grid.itertuples(index=False):
        has = not pd.isna(row.rate)
        color = cmap(norm(row.rate)) if has else MISSING_COLOR
        ax.add_patch(
            Rectangle((row.col + 0.04, row.row + 0.04), 0.92, 0.92, facecolor=color, linewidth=0)
        )
        value = i18n.percent(row.rate, lang, 0) if has else i18n.MISSING
        ax.text(
            row.col + 0.5,
            row.row + 0.5,
            f"{short_name(row.province)}\n{value}",
            ha="center",
            va="center",
            fontsize=font,
            linespacing=1.1,
            color=_text_color(color if has else (0.82, 0.82, 0.82)),
        )

    # Colour scale, then how many provinces fall in each band (the scale is also a histogram).
    left = 0.04 + map_w / fig_w + 0.1
    cax = fig.add_axes((left, 0.32, 0.025, 0.4))
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.percent(v, lang, 0)))
    bar.ax.yaxis.set_ticks_position("left")
    bar.ax.tick_params(labelsize=7)
    bar.outline.set_visible(False)
    hax = fig.add_axes((left + 0.03, 0.32, 0.12, 0.4), sharey=cax)
    bins = np.linspace(low, high, 11)
    counts, edges = np.histogram(rates.clip(low, high), bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    hax.barh(centers, counts, height=np.diff(edges) * 0.9, color=cmap(norm(centers)))
    hax.set_ylim(low, high)
    hax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    hax.tick_params(labelsize=7, left=False, labelleft=False)
    hax.spines[["top", "right", "left"]].set_visible(False)
    hax.set_xlabel(i18n.label("overview_map_count", lang), fontsize=7.5)
    national = ov.national["rate"]
    if not np.isnan(national) and low <= national <= high:
        hax.axhline(national, color="#c55a11", linewidth=1.2)
        hax.text(
            hax.get_xlim()[1],
            national,
            f" {i18n.label('overview_map_national', lang)} {i18n.percent(national, lang)}",
            va="center",
            ha="left",
            fontsize=7,
            color="#c55a11",
        )
    fig.text(
        left,
        0.75,
        i18n.label(ov.outcome, lang),
        fontsize=8,
        ha="left",
        va="bottom",
        wrap=True,
    )
    key = fig.add_axes((left, 0.24, 0.025, 0.022))
    key.add_patch(Rectangle((0, 0), 1, 1, facecolor=MISSING_COLOR, linewidth=0))
    key.set_axis_off()
    fig.text(
        left + 0.035,
        0.251,
        i18n.label("overview_map_missing", lang).format(n=config.MIN_DENOMINATOR),
        fontsize=7,
        va="center",
    )
    # Keep the whole page-wide canvas (the chart is saved with a tight box).
    fig.patches.append(
        Rectangle((0, 0), 1, 1, transform=fig.transFigure, fill=False, linewidth=0, zorder=-1)
    )
    caption = i18n.label("overview_caption_map", lang).format(
        outcome=i18n.label(ov.outcome, lang), quarter=quarter_text(ov.quarter, lang)
    )
    return Chart.from_figure(fig, caption)


def _forest(ov: Overview) -> plt.Figure:
    lang, e = ov.lang, ov.effects
    n = len(e)
    fig, ax = plt.subplots(figsize=(7.2, 0.9 + 0.5 * n), dpi=100)
    y = np.arange(n)[::-1]  # earliest measure at the top
    ax.axvline(0, color="#7f7f7f", linewidth=0.9)
    ax.hlines(y, e["ci_low"], e["ci_high"], color="#1f4e79", linewidth=1.6)
    ax.plot(e["estimate"], y, "o", color="#1f4e79", markersize=5)
    labels = [
        f"{p} · {i18n.month(s, lang)}\n{textwrap.shorten(name, 48, placeholder=' …')}"
        for p, name, s in zip(e["province"], e["name"], e["start"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    for yy, est, high in zip(y, e["estimate"], e["ci_high"], strict=True):
        ax.annotate(
            i18n.change(est, lang),
            (high, yy),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
            color="#1f4e79",
        )
    ax.set_ylim(-0.7, n - 0.3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 0)))
    ax.set_xlabel(i18n.label("effect_pp", lang), fontsize=8.5)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    fig.tight_layout()
    return fig


def effects(ov: Overview) -> tuple:
    """Forest plot and table of the measures of ``measure_kind``, or a paragraph if none fits.

    Returns a tuple so the notebook can always ``display(*...)`` it.
    """
    lang = ov.lang
    kind = _kind_word(ov.measure_kind, lang)
    last = i18n.month(ov.last_month, lang)
    skipped = ""
    if ov.skipped:
        skipped = i18n.label("overview_note_skipped", lang).format(
            items="; ".join(why for _, why in ov.skipped)
        )
    if ov.effects.empty:
        text = i18n.label("overview_no_effects", lang).format(
            kind=kind, pre=config.MIN_PRE_MONTHS, post=config.MIN_POST_MONTHS, last=last
        )
        return (Paragraph(f"{text} {skipped}".strip()),)
    e = ov.effects
    outcome = _lower_first(i18n.label(ov.outcome, lang))
    chart = Chart.from_figure(
        _forest(ov), i18n.label("overview_caption_forest", lang).format(outcome=outcome)
    )
    frame = pd.DataFrame(
        {
            i18n.label("province", lang): e["province"],
            i18n.label("overview_col_measure", lang): e["name"],
            i18n.label("start_date", lang): [i18n.date(s, lang) for s in e["start"]],
            i18n.label("effect_pp", lang): [i18n.points(x, lang) for x in e["estimate"]],
            i18n.label("ci95", lang): [
                i18n.interval(lo, hi, lang)
                for lo, hi in zip(e["ci_low"], e["ci_high"], strict=True)
            ],
            i18n.label("n_post", lang): e["n_post"].astype(str),
        }
    )
    note = i18n.label("overview_note_its", lang).format(last=last, months=POST_MONTHS)
    table = Table(
        frame,
        i18n.label("overview_caption_effects", lang).format(kind=_lower_first(kind)),
        note=f"{note} {skipped}".strip(),
    )
    return (chart, table)
