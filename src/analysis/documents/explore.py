"""The exploration of one province: every indicator against the national and regional medians.

``notebooks/10_explore_province.ipynb`` calls :func:`prepare` once and then one function per
part; each returns a block of :mod:`analysis.documents.blocks`. It is the first document an analyst
opens about a province: trends of every rate of :data:`analysis.panel.RATES`, the rates by
administrative level, the 2025 merger shown as it is, and how complete the data are.

Every rate is derived from summed counts (``panel.aggregate`` then ``panel.add_rates``); the
medians are medians across provinces of those rates. Before 1 July 2025 a new (34) province is
the SUM of the old provinces that formed it, and a sum with one old province missing a month is
not shown (it would silently be a smaller province).

Three ways a province can be asked for (``Exploration.mode``):

- ``"new"``: a province of the 34 (the name exists on the new map and the period reaches the
  merger, e.g. "Thái Nguyên"): its series on the new boundary, old provinces summed before
  01/07/2025; medians across the 34 new provinces, also summed before that day.
- ``"old"``: the period ends before the merger: the old province and the 63 old provinces.
- ``"old_merged"``: a name that went away in the merger (e.g. "Bắc Kạn") and a period reaching
  past it: the old province up to 06/2025, its successor after; medians across the 63 old
  provinces, then across the 34 new ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # documents are rendered without a screen

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from analysis import config, i18n, panel, registry  # noqa: E402
from analysis.documents import base  # noqa: E402
from analysis.documents.blocks import Chart, Meta, Paragraph, Section, Table  # noqa: E402
from analysis.errors import WorkbenchError  # noqa: E402
from analysis.registry import Province  # noqa: E402
from analysis.sources import Source, open_panel  # noqa: E402

__all__ = [
    "Exploration",
    "prepare",
    "meta",
    "section",
    "summary",
    "trends_chart",
    "latest_table",
    "levels_chart",
    "levels_table",
    "merger",
    "coverage_table",
]

FREQS = ("M", "Q")
HEADLINE = "online_rate"  # the rate the summary and the merger chart speak about
MERGER = pd.Timestamp(config.MERGER_DATE)
LAST_OLD_QUARTER = (MERGER - pd.Timedelta(days=1)).to_period("Q")
MISSING_MONTHS_LISTED = 4  # months named in the coverage table before "…"

COLORS = {
    "province": "#1f4e79",
    "successor": "#7030a0",
    "national": "#595959",
    "regional": "#c55a11",
    "band": "#d9d9d9",
    "pre_merger": "#f2f2f2",
    "event": "#7f7f7f",
}
LEVEL_COLORS = {
    "province": "#1f4e79",
    "district": "#c55a11",
    "commune": "#548235",
    "all": "#595959",
}
# A panel may hold province totals only (level "all", e.g. an import without the levels).
LEVEL_ORDER = (*panel.LEVELS, panel.ALL_LEVELS)
OLD_COLORS = ("#2e75b6", "#ed7d31", "#70ad47", "#ffc000")


@dataclass(frozen=True, eq=False)
class Exploration:
    """Everything the exploration of one province shows, computed once.

    Attributes
    ----------
    province : Province
        The province as asked, on the boundary valid at the end of the period.
    successor : Province
        The new (34) province holding its territory (itself for a new province).
    predecessors : tuple of Province
        The old provinces that formed ``successor``, the one whose name it kept first.
    mode : {"new", "old", "old_merged"}
        See the module's docstring.
    lang : {"vi", "en"}
    freq : {"M", "Q"}
    start, end : Timestamp
        First and last month of the period (first day of the month).
    line : DataFrame
        The province's series: ``period``, ``x`` (mid-period date for charts), ``boundary``,
        ``province_code``, ``province``, ``region``, ``summed`` (a sum of several old provinces),
        ``n_months``, the count columns and one column per rate.
    medians : DataFrame
        Per ``period`` and ``rate``: ``national``, ``q25``, ``q75``, ``n_national``,
        ``regional``, ``n_regional`` (the region of the line at that period), ``boundary``
        of the provinces compared.
    peers : DataFrame
        Every province's counts and rates per period (the provinces the medians are over).
    levels : DataFrame
        The line's counts and rates per ``period`` and ``level``.
    latest_quarter : DataFrame
        The line's counts and rates by level in the period's last quarter (``quarter``).
    previous : DataFrame
        The summary entity's series over all the data (for the change on a year earlier).
    merger_series : DataFrame or None
        ``online_rate`` and dossiers received of the successor (summed before the merger) and
        of each predecessor, per period of the window; None when nothing was merged.
    merger_quarter : DataFrame or None
        Counts of each predecessor and of their sum in the last quarter before the merger.
    coverage : DataFrame
        Months with data, without data and with unreported counts, per province and level.
    source : Source
    """

    province: Province
    successor: Province
    predecessors: tuple[Province, ...]
    mode: str
    lang: str
    freq: str
    start: pd.Timestamp
    end: pd.Timestamp
    line: pd.DataFrame
    medians: pd.DataFrame
    peers: pd.DataFrame
    levels: pd.DataFrame
    latest_quarter: pd.DataFrame
    previous: pd.DataFrame
    merger_series: pd.DataFrame | None
    merger_quarter: pd.DataFrame | None
    coverage: pd.DataFrame
    source: Source

    @property
    def merged(self) -> bool:
        """True when the successor was formed from several old provinces."""
        return len(self.predecessors) > 1


# --- input -------------------------------------------------------------------------------------


def _month(text: str, what: str) -> pd.Timestamp:
    """A ``YYYY-MM`` parameter as the first day of the month."""
    value = str(text).strip()
    if re.fullmatch(r"\d{4}-\d{1,2}", value):
        try:
            return pd.Period(value, freq="M").to_timestamp()
        except ValueError:
            pass
    raise WorkbenchError(
        f"cannot read the {what} month {text!r}", hint='write months as "YYYY-MM", e.g. "2021-01"'
    )


def _check_window(start: pd.Timestamp, end: pd.Timestamp, first, last) -> None:
    span = f"{first:%Y-%m} – {last:%Y-%m}"
    hint = f"choose months between {first:%Y-%m} and {last:%Y-%m} (the months in the data)"
    for what, month in (("start", start), ("end", end)):
        if month < first or month > last:
            raise WorkbenchError(
                f"the {what} month {month:%Y-%m} is outside the data ({span})", hint=hint
            )
    if start > end:
        raise WorkbenchError(
            f"the start month {start:%Y-%m} is after the end month {end:%Y-%m}",
            hint="give a start month before the end month (or leave end empty: the last month)",
        )


# --- counts -> series ---------------------------------------------------------------------------


def _mid(periods: pd.Series) -> pd.Series:
    """The middle of each period: a quarter's point sits inside it, on its side of the merger."""
    index = pd.PeriodIndex(periods)
    start, end = index.start_time, index.end_time
    return pd.Series(start + (end - start) / 2, index=periods.index)


def _to_new34(frame: pd.DataFrame, freq: str, levels: str, months: pd.DatetimeIndex):
    """``panel.aggregate(..., boundary="new34")`` with incomplete sums masked.

    Before the merger a new province is the sum of its old provinces. If one of them has no
    row for a month (at a level), the sum would silently be a smaller province: such cells are
    set to missing. ``months`` are the months of the whole panel (a month nobody reported is
    not held against anyone).
    """
    out = panel.aggregate(frame, freq=freq, levels=levels, boundary="new34")
    old = frame[frame["boundary"] == "old63"]
    if old.empty or out.empty:
        return out
    new_code = {p.code: p.new_code for p in registry.provinces("old63")}
    n_parts = pd.Series(new_code).value_counts()
    keys = ["province_code", "period"] + (["level"] if levels == "keep" else [])
    parts = old.assign(
        province_code=old["province_code"].map(new_code), period=old["month"].dt.to_period(freq)
    )
    got = parts[[*keys, "month"]].assign(old=old["province_code"].to_numpy())
    got = got.drop_duplicates().groupby(keys).size().rename("got")
    in_period = (
        pd.Series(months.to_period(freq)).value_counts().rename("months").rename_axis("period")
    )
    check = got.reset_index().merge(in_period.reset_index(), on="period", how="left")
    check["expected"] = check["province_code"].map(n_parts) * check["months"]
    short = check.loc[check["got"] < check["expected"], keys]
    if short.empty:
        return out
    hit = out.merge(short.assign(_short=True), on=keys, how="left")["_short"].eq(True)
    hit = hit.to_numpy() & (out["period"].dt.end_time < MERGER).to_numpy()
    for column in panel.COUNT_COLUMNS:
        out[column] = out[column].astype("Int64").mask(hit)
    return out


def _with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    out = panel.add_rates(frame)
    out["x"] = _mid(out["period"])
    out["region"] = [
        registry.by_code(c, b).region
        for b, c in zip(out["boundary"], out["province_code"], strict=True)
    ]
    return out


def _subset(frame: pd.DataFrame, provinces) -> pd.DataFrame:
    keys = {(p.boundary, p.code) for p in provinces}
    pairs = pd.MultiIndex.from_frame(frame[["boundary", "province_code"]])
    return frame[pairs.isin(keys)]


def _line(
    frame: pd.DataFrame, x: dict, freq: str, levels: str, months: pd.DatetimeIndex
) -> pd.DataFrame:
    """The province's own series (``x``: mode, province, successor, predecessors)."""
    mode, asked, succ, preds = x["mode"], x["province"], x["successor"], x["predecessors"]
    if mode == "new":
        rows = _subset(frame, [*preds, succ])
        out = _to_new34(rows, freq, levels, months) if not rows.empty else rows
        if not out.empty:
            out = out[out["province_code"] == succ.code]
    else:
        wanted = [asked] if mode == "old" else [asked, succ]
        rows = _subset(frame, wanted)
        out = panel.aggregate(rows, freq=freq, levels=levels) if not rows.empty else rows
        if mode == "old_merged" and not out.empty:
            # The old province up to the merger, its successor after: never both at once.
            before = out["period"].dt.end_time < MERGER
            out = out[
                (before & (out["boundary"] == "old63")) | (~before & (out["boundary"] == "new34"))
            ]
    if out.empty:
        return out
    out = _with_rates(out.reset_index(drop=True))
    summed = (out["boundary"] == "new34") & (out["period"].dt.end_time < MERGER)
    out["summed"] = summed & (len(preds) > 1)
    return out.sort_values(["period", "level"]).reset_index(drop=True)


def _medians(peers: pd.DataFrame, line: pd.DataFrame) -> pd.DataFrame:
    """National and regional medians of every rate, per period, across provinces."""
    long = peers.melt(
        id_vars=["period", "boundary", "region"],
        value_vars=list(panel.RATES),
        var_name="rate",
        value_name="value",
    ).dropna(subset=["value"])
    national = long.groupby(["period", "rate"])["value"]
    out = pd.DataFrame(
        {
            "national": national.median(),
            "q25": national.quantile(0.25),
            "q75": national.quantile(0.75),
            "n_national": national.size(),
        }
    ).reset_index()
    out["boundary"] = out["period"].map(peers.groupby("period")["boundary"].first())
    regional = long.groupby(["period", "region", "rate"])["value"]
    regional = pd.DataFrame(
        {"regional": regional.median(), "n_regional": regional.size()}
    ).reset_index()
    line_region = line[["period", "region"]].drop_duplicates("period")
    out = out.merge(line_region, on="period", how="left").merge(
        regional, on=["period", "region", "rate"], how="left"
    )
    out["n_regional"] = out["n_regional"].fillna(0).astype(int)
    out["x"] = _mid(out["period"])
    return out.sort_values(["rate", "period"]).reset_index(drop=True)


def _coverage(frame: pd.DataFrame, entities: list[Province], start, end) -> pd.DataFrame:
    """Months with rows, without rows, and with unreported (missing) counts, per entity × level."""
    rows = []
    for p in entities:
        if p.boundary == "old63":
            lo, hi = start, min(end, MERGER - pd.DateOffset(months=1))
        else:
            lo, hi = max(start, MERGER), end
        if lo > hi:
            continue
        calendar = pd.date_range(lo, hi, freq="MS")
        mine = frame[
            (frame["boundary"] == p.boundary)
            & (frame["province_code"] == p.code)
            & frame["month"].between(lo, hi)
        ]
        levels = [lv for lv in LEVEL_ORDER if lv in set(mine["level"])] or [None]
        for level in levels:
            part = mine[mine["level"] == level] if level else mine.iloc[0:0]
            present = pd.DatetimeIndex(part["month"].unique())
            absent = calendar.difference(present)
            gaps = part[panel.COUNT_COLUMNS].isna()
            rows.append(
                {
                    "boundary": p.boundary,
                    "province_code": p.code,
                    "province": p.name,
                    "level": level,
                    "first": lo,
                    "last": hi,
                    "expected": len(calendar),
                    "present": len(present),
                    "absent": list(absent),
                    "unreported_months": int(part.loc[gaps.any(axis=1), "month"].nunique()),
                    "unreported": {c: int(n) for c, n in gaps.sum().items() if n},
                }
            )
    return pd.DataFrame(rows)


def _ordered_predecessors(succ: Province) -> tuple[Province, ...]:
    """Old provinces of ``succ``, the one whose name (then code) it kept first."""
    preds = registry.predecessors(succ)
    return tuple(sorted(preds, key=lambda p: (p.name != succ.name, p.code != succ.code, p.code)))


def prepare(
    province: str,
    start: str = "2021-01",
    end: str | None = None,
    lang: str = "vi",
    data_path: str | None = None,
    freq: str = "Q",
) -> Exploration:
    """Load the panel and compute everything the exploration of ``province`` shows.

    Parameters
    ----------
    province : str
        A province in any common spelling, old or new (:func:`analysis.registry.resolve`). A name
        on both maps means the province valid at the end of the period.
    start : str, default "2021-01"
        First month, ``YYYY-MM``.
    end : str, optional
        Last month, ``YYYY-MM``; default the last month in the data.
    lang : {"vi", "en"}
    data_path : str, optional
        Panel file or folder holding ``panel.parquet``; default the embedded synthetic data.
    freq : {"M", "Q"}, default "Q"
        Trends by month or by quarter.

    Returns
    -------
    Exploration

    Raises
    ------
    WorkbenchError
        Unknown language, frequency or province (with the closest names), a month that is not
        ``YYYY-MM`` or outside the data, a start after the end, a province without data.
    """
    i18n.check_lang(lang)
    if freq not in FREQS:
        raise WorkbenchError(
            f"unknown frequency {freq!r}", hint='use "M" (trends by month) or "Q" (by quarter)'
        )
    registry.resolve(province)  # an unknown name fails here, before any data is read
    first = _month(start, "start")
    last_asked = _month(end, "end") if end else None
    source = open_panel(data_path)
    frame = source.frame
    lo, hi = frame["month"].min(), frame["month"].max()
    last = last_asked if last_asked is not None else hi
    _check_window(first, last, lo, hi)

    asked = registry.resolve(province, on=last)
    succ = registry.successor(asked)
    if asked.boundary == "new34":
        mode = "new"
    elif last >= MERGER:
        mode = "old_merged"
    else:
        mode = "old"
    preds = _ordered_predecessors(succ)
    x = {"mode": mode, "province": asked, "successor": succ, "predecessors": preds}

    months = pd.DatetimeIndex(frame["month"].unique())
    window = frame[frame["month"].between(first, last)]
    # A period cut by the window's start or end is complete with the window's months.
    in_window = months[(months >= first) & (months <= last)]
    line = _line(window, x, freq, "sum", in_window)
    if line.empty:
        raise WorkbenchError(
            f"no data for {asked.name} between {first:%Y-%m} and {last:%Y-%m} in {source.path}",
            hint="check the province, the months and the data file",
        )
    if mode == "new":
        peers = _to_new34(window, freq, "sum", in_window)
    else:
        peers = panel.aggregate(window, freq=freq, levels="sum")
    peers = _with_rates(peers)
    levels = _line(window, x, freq, "keep", in_window)
    by_quarter = _line(window, x, "Q", "keep", in_window)
    latest_quarter = by_quarter[by_quarter["period"] == by_quarter["period"].max()]

    # The year-earlier value: on the boundary of the latest period, over all the data.
    latest = line.iloc[-1]
    if latest["boundary"] == "new34":
        previous = _line(frame, {**x, "mode": "new"}, freq, "sum", months)
    else:
        previous = _line(frame, {**x, "mode": "old"}, freq, "sum", months)

    merger_series = merger_quarter = None
    if mode != "old" and len(preds) > 1:
        merger_series = _merger_series(window, succ, preds, freq, in_window)
        merger_quarter = _merger_quarter(frame, succ, preds, months)
    entities = [asked] if mode == "old" else [*preds, succ]
    return Exploration(
        province=asked,
        successor=succ,
        predecessors=preds,
        mode=mode,
        lang=lang,
        freq=freq,
        start=first,
        end=last,
        line=line,
        medians=_medians(peers, line),
        peers=peers,
        levels=levels,
        latest_quarter=latest_quarter.reset_index(drop=True),
        previous=previous,
        merger_series=merger_series,
        merger_quarter=merger_quarter,
        coverage=_coverage(frame, entities, first, last),
        source=source,
    )


def _merger_series(window, succ, preds, freq, months) -> pd.DataFrame | None:
    """The successor (summed before the merger) and each old province, for the merger chart."""
    rows = _subset(window, [*preds, succ])
    if rows.empty or not (rows["month"] < MERGER).any():
        return None
    new = _to_new34(rows, freq, "sum", months)
    new = new[new["province_code"] == succ.code].assign(part="sum")
    old = panel.aggregate(rows[rows["boundary"] == "old63"], freq=freq, levels="sum")
    old = old.assign(part=old["province_code"])
    out = panel.add_rates(pd.concat([new, old], ignore_index=True), HEADLINE)
    out["x"] = _mid(out["period"])
    return out


def _merger_quarter(frame, succ, preds, months) -> pd.DataFrame | None:
    """Counts of each old province and of their sum in the last quarter before the merger."""
    rows = _subset(frame, preds)
    rows = rows[rows["month"].dt.to_period("Q") == LAST_OLD_QUARTER]
    if rows.empty:
        return None
    old = panel.aggregate(rows, freq="Q", levels="sum")
    total = _to_new34(rows, "Q", "sum", months)
    old = old.set_index("province_code")
    parts = [
        old.loc[[p.code]].assign(part=p.code)
        if p.code in old.index
        else pd.DataFrame({"part": [p.code]})
        for p in preds
    ]
    out = pd.concat([*parts, total.assign(part="sum")], ignore_index=True)
    return panel.add_rates(out.reindex(columns=["part", *panel.COUNT_COLUMNS]))


# --- words -------------------------------------------------------------------------------------


def _lbl(key: str, x: Exploration) -> str:
    return i18n.label(f"explore_{key}", x.lang)


def _count(value, lang: str) -> str:
    """A count, "—" when it was not reported (never 0)."""
    return i18n.MISSING if pd.isna(value) else i18n.number(float(value), lang, 0)


def _share(row, rate: str, lang: str) -> str:
    num, den = panel.RATES[rate]
    return i18n.share_of(_na(row[num]), _na(row[den]), lang)


def _na(value):
    return None if pd.isna(value) else value


def _shown(row, rate: str) -> float | None:
    """The rate when the small-number rule lets it be shown, else None."""
    num, den = panel.RATES[rate]
    if pd.isna(row[num]) or not i18n.enough(row[den]):
        return None
    return float(row[num]) / float(row[den])


def _period_label(period: pd.Period, lang: str) -> str:
    if period.freqstr.startswith("Q"):
        return i18n.label("idx_period_quarter", lang).format(q=period.quarter, year=period.year)
    return i18n.label("explore_in_month", lang).format(month=i18n.month(period.start_time, lang))


def _period_text(row, x: Exploration) -> str:
    """The period of a row, with the months it holds when it is partial."""
    text = _period_label(row["period"], x.lang)
    full = 3 if row["period"].freqstr.startswith("Q") else 1
    if row["n_months"] < full:
        text = _lbl("partial", x).format(period=text, n=int(row["n_months"]))
    return text


def _region(region_id: str, lang: str) -> str:
    return i18n.label("explore_region_" + region_id.replace("-", "_"), lang)


def _formula(x: Exploration) -> str:
    olds = " + ".join(p.name for p in x.predecessors)
    return _lbl("merged_formula", x).format(new=x.successor.name, olds=olds)


def _olds(x: Exploration) -> str:
    """The old provinces in prose: "Thái Nguyên và Bắc Kạn", "A, B and C"."""
    names = [p.name for p in x.predecessors]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {i18n.label('tri_and', x.lang)} {names[-1]}"


def _compare(value: float | None, other: float | None, x: Exploration) -> str:
    if value is None or other is None or pd.isna(other):
        return _lbl("versus", x)
    if round(100 * value, 1) == round(100 * other, 1):
        return _lbl("equal", x)
    return _lbl("above" if value > other else "below", x)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _freq_word(x: Exploration) -> str:
    return _lbl(f"freq_{x.freq}", x)


def _line_regions(x: Exploration) -> str:
    """The region(s) the line is compared with, in order ("A → B" when the merger moved it)."""
    return " → ".join(_region(r, x.lang) for r in dict.fromkeys(x.line["region"]))


def _line_name(x: Exploration) -> str:
    """Whose series the charts draw: the province, or the old one then its successor."""
    if x.mode == "old_merged":
        return f"{x.province.name} → {x.successor.name}"
    return x.successor.name if x.mode == "new" else x.province.name


# --- blocks the notebook shows -----------------------------------------------------------------


def section(key: str, x: Exploration) -> Section:
    """A numbered section heading (``summary``, ``trends``, ``levels``, ``merger``, ``coverage``)."""
    return Section(_lbl(f"section_{key}", x))


def _boundary_fact(x: Exploration) -> str:
    if x.mode == "old":
        return _lbl("boundary_old", x)
    if x.mode == "old_merged":
        return _lbl("boundary_old_merged", x).format(old=x.province.name, new=x.successor.name)
    if x.merged:
        return _lbl("boundary_new_merged", x).format(olds=_olds(x))
    return _lbl("boundary_new", x)


def meta(x: Exploration) -> Meta:
    """Title block and provenance for the template (shown as its own MIME type)."""
    lang, src = x.lang, x.source
    period_end = x.end + pd.offsets.MonthEnd(0)
    provenance = base.source_provenance(src, lang)
    regions = [x.province.region] + ([x.successor.region] if x.mode == "old_merged" else [])
    facts = [
        (i18n.label("province", lang), x.province.name),
        (_lbl("region", x), " → ".join(dict.fromkeys(_region(r, lang) for r in regions))),
        (
            i18n.label("period", lang),
            f"{i18n.date(x.start, lang)}–{i18n.date(period_end, lang)}",
        ),
        (_lbl("boundary", x), _boundary_fact(x)),
        (_lbl("frequency", x), _freq_word(x)),
    ]
    return base.meta(
        lang,
        kind=_lbl("kind", x),
        title=_lbl("title", x).format(province=x.province.name),
        subtitle=_lbl("subtitle", x),
        facts=facts,
        synthetic=src.synthetic,
        provenance=provenance,
        data_files=src.files,
    )


def _median_row(x: Exploration, period: pd.Period, rate: str) -> pd.Series:
    """The medians of ``rate`` in ``period`` (missing values when no province has the rate)."""
    found = x.medians[(x.medians["period"] == period) & (x.medians["rate"] == rate)]
    if found.empty:
        return pd.Series({"national": None, "regional": None, "n_national": 0, "n_regional": 0})
    return found.iloc[0]


def _year_before(x: Exploration, row) -> pd.Series | None:
    """The summary entity's row one year before ``row`` (12 months or 4 quarters)."""
    back = row["period"] - (12 if x.freq == "M" else 4)
    found = x.previous[x.previous["period"] == back]
    return None if found.empty else found.iloc[0]


def summary(x: Exploration) -> Paragraph:
    """The latest online rate against the national and regional medians, and on a year earlier."""
    lang, rate = x.lang, HEADLINE
    row = x.line.iloc[-1]
    med = _median_row(x, row["period"], rate)
    value = _shown(row, rate)
    num, den = panel.RATES[rate]
    counts = ""
    if value is not None:
        counts = _lbl("counts", x).format(num=_count(row[num], lang), den=_count(row[den], lang))
    text = _lbl("summary", x).format(
        period=_period_text(row, x),
        rate=i18n.label(rate, lang)[:1].lower() + i18n.label(rate, lang)[1:],
        province=row["province"],
        value=_share(row, rate, lang),
        counts=counts,
        vs_national=_compare(value, med["national"], x),
        national=i18n.percent(_na(med["national"]), lang),
        n_national=int(med["n_national"]),
        vs_regional=_compare(value, med["regional"], x),
        region=_region(row["region"], lang),
        regional=i18n.percent(_na(med["regional"]), lang),
        n_regional=int(med["n_regional"]),
    )
    text = f"{_cap(text)} {_change_sentence(x, row, rate)}".strip()
    if x.mode == "old_merged" and row["boundary"] == "new34":
        text = (
            _lbl("summary_old_merged", x).format(old=x.province.name, new=x.successor.name)
            + " "
            + text
        )
    return Paragraph(text, kind="finding")


def _change_sentence(x: Exploration, row, rate: str) -> str:
    before = _year_before(x, row)
    back = row["period"] - (12 if x.freq == "M" else 4)
    previous = _period_label(back, x.lang)
    value = _shown(row, rate)
    was = _shown(before, rate) if before is not None else None
    if value is None:
        return ""  # no rate now (unreported or too few dossiers): nothing to compare
    if was is None:
        return _lbl("change_none", x).format(previous=previous)
    diff = 100 * (value - was)
    key = "change_same" if round(diff, 1) == 0 else "change_up" if diff > 0 else "change_down"
    text = _lbl(key, x).format(
        previous=previous,
        before=i18n.percent(was, x.lang),
        points=i18n.points(abs(diff), x.lang, signed=False),
    )
    if bool(before["summed"]):
        text += " " + _lbl("change_summed", x).format(previous=previous, olds=_olds(x))
    return text


def _percent_axis(ax, lang: str) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.percent(v / 100, lang, 0)))


def _time_axis(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: mdates.num2date(v).strftime("%Y")))
    ax.tick_params(labelsize=7)


def _merger_mark(ax, x: Exploration, text: bool, shade: bool) -> None:
    """The merger as a dotted line (and the summed part as a grey background)."""
    left, right = ax.get_xlim()
    when = mdates.date2num(MERGER)
    if not left < when < right:
        return
    if shade:
        ax.axvspan(left, when, color=COLORS["pre_merger"], zorder=0, linewidth=0)
        ax.set_xlim(left, right)
    ax.axvline(MERGER, color=COLORS["event"], linewidth=0.9, linestyle=":")
    if text:
        ax.annotate(
            _lbl("merger_line", x),
            xy=(MERGER, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-3, -8),
            textcoords="offset points",
            ha="right",
            fontsize=6.5,
            color=COLORS["event"],
        )


def _plot_line(ax, x: Exploration, rate: str) -> None:
    """The province's line: dashed where it is a sum of old provinces, another colour after
    the switch from an old province to its successor."""
    line = x.line
    y = 100 * line[rate]
    if x.mode == "new" and line["summed"].any():
        _dashed_then_solid(ax, line["x"], y, line["summed"].to_numpy(), COLORS["province"], 1.6)
    elif x.mode == "old_merged":
        for boundary, color in (("old63", COLORS["province"]), ("new34", COLORS["successor"])):
            part = (line["boundary"] == boundary).to_numpy()
            ax.plot(line["x"][part], y[part], color=color, linewidth=1.6)
    else:
        ax.plot(line["x"], y, color=COLORS["province"], linewidth=1.6)


def _dashed_then_solid(ax, xs: pd.Series, ys: pd.Series, pre, color: str, lw: float) -> None:
    """Dashed where ``pre`` (a sum of old provinces), solid after; joined at the merger."""
    upto = pre.copy()
    after = (~pre).nonzero()[0]
    if len(after):
        upto[after[0]] = True  # the dashed part runs to the first point after the merger
    ax.plot(xs[upto], ys[upto], color=color, linewidth=lw * 0.85, linestyle="--")
    ax.plot(xs[~pre], ys[~pre], color=color, linewidth=lw)


def _small_multiples():
    """Every rate of the panel, and a figure of two columns with one panel per rate."""
    rates = list(panel.RATES)
    nrows = -(-len(rates) // 2)
    fig, axes = plt.subplots(nrows, 2, figsize=(7.2, 2.05 * nrows), dpi=100, sharex=True)
    return rates, fig, axes


def trends_chart(x: Exploration) -> Chart:
    """Small multiples: every rate of the province against the national and regional medians."""
    lang = x.lang
    rates, fig, axes = _small_multiples()
    for i, (ax, rate) in enumerate(zip(axes.flat, rates, strict=False)):
        med = x.medians[x.medians["rate"] == rate]
        # A median never runs across a change of the provinces it is taken over (63 -> 34).
        for _, part in med.groupby("boundary", sort=False):
            ax.fill_between(
                part["x"], 100 * part["q25"], 100 * part["q75"], color=COLORS["band"], linewidth=0
            )
            ax.plot(part["x"], 100 * part["national"], color=COLORS["national"], linewidth=1.1)
            ax.plot(
                part["x"],
                100 * part["regional"],
                color=COLORS["regional"],
                linewidth=1.1,
                linestyle="-.",
            )
        _plot_line(ax, x, rate)
        ax.set_title(i18n.label(rate, lang), fontsize=7.5, loc="left")
        _percent_axis(ax, lang)
        _time_axis(ax)
        _merger_mark(ax, x, text=i == 0, shade=x.mode == "new" and x.merged)
    for ax in axes.flat[len(rates) :]:
        ax.set_visible(False)
    fig.legend(
        handles=_legend(x),
        loc="lower center",
        ncol=2,
        frameon=False,
        fontsize=7,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    caption = _lbl("caption_trends", x).format(
        province=_line_name(x),
        freq=_freq_word(x),
        region=_line_regions(x),
    )
    caption += " " + _lbl("caption_medians_" + ("new34" if x.mode == "new" else "split"), x)
    return Chart.from_figure(fig, caption)


def _legend(x: Exploration) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    region = _line_regions(x)
    handles = []
    if x.mode == "old_merged":
        handles += [
            Line2D([], [], color=COLORS["province"], lw=1.6, label=x.province.name),
            Line2D([], [], color=COLORS["successor"], lw=1.6, label=_successor_label(x)),
        ]
    elif x.mode == "new" and x.line["summed"].any():
        handles += [
            Line2D([], [], color=COLORS["province"], lw=1.6, label=x.successor.name),
            Line2D([], [], color=COLORS["province"], lw=1.3, ls="--", label=_lbl("line_summed", x)),
        ]
    else:
        handles.append(Line2D([], [], color=COLORS["province"], lw=1.6, label=_line_name(x)))
    handles += [
        Line2D([], [], color=COLORS["national"], lw=1.1, label=_lbl("national_median", x)),
        Line2D(
            [],
            [],
            color=COLORS["regional"],
            lw=1.1,
            ls="-.",
            label=_lbl("regional_median", x).format(region=region),
        ),
        Patch(color=COLORS["band"], label=_lbl("iqr", x)),
    ]
    return handles


def _successor_label(x: Exploration) -> str:
    return _lbl("successor_line", x).format(new=x.successor.name)


def latest_table(x: Exploration) -> Table:
    """Every rate in the latest period: the province, the medians, the change on a year earlier."""
    lang = x.lang
    row = x.line.iloc[-1]
    before = _year_before(x, row)
    rows = []
    for rate in panel.RATES:
        med = _median_row(x, row["period"], rate)
        value = _shown(row, rate)
        was = _shown(before, rate) if before is not None else None
        change = i18n.points(100 * (value - was), lang) if None not in (value, was) else "—"
        rows.append(
            (
                i18n.label(rate, lang),
                _share(row, rate, lang),
                i18n.percent(_na(med["national"]), lang),
                i18n.percent(_na(med["regional"]), lang),
                change,
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            i18n.label("quantity", lang),
            row["province"],
            _lbl("col_national", x),
            _lbl("col_regional", x).format(region=_region(row["region"], lang)),
            _lbl("col_change", x),
        ],
    )
    med = x.medians[x.medians["period"] == row["period"]]
    note = _lbl("medians_note", x).format(
        n_national=int(med["n_national"].max()) if not med.empty else 0,
        n_regional=int(med["n_regional"].max()) if not med.empty else 0,
    )
    note += " " + base.small_numbers_note(lang)
    caption = _lbl("caption_trends_table", x).format(
        period=_period_text(row, x), province=row["province"]
    )
    return Table(frame, caption, note=note)


def levels_chart(x: Exploration) -> Chart:
    """Every rate of the province by administrative level (district ends with the merger)."""
    lang = x.lang
    rates, fig, axes = _small_multiples()
    present = [lv for lv in LEVEL_ORDER if lv in set(x.levels["level"])]
    for i, (ax, rate) in enumerate(zip(axes.flat, rates, strict=False)):
        for level in present:
            part = x.levels[x.levels["level"] == level]
            if x.mode == "new" and x.merged:
                pre = part["summed"].to_numpy()
                _dashed_then_solid(ax, part["x"], 100 * part[rate], pre, LEVEL_COLORS[level], 1.3)
                continue
            # An old province, then its successor: two pieces, never joined across the merger.
            for _, piece in part.groupby("boundary", sort=False):
                ax.plot(piece["x"], 100 * piece[rate], color=LEVEL_COLORS[level], linewidth=1.3)
        ax.set_title(i18n.label(rate, lang), fontsize=7.5, loc="left")
        _percent_axis(ax, lang)
        _time_axis(ax)
        _merger_mark(ax, x, text=i == 0, shade=x.mode == "new" and x.merged)
    for ax in axes.flat[len(rates) :]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=LEVEL_COLORS[lv], lw=1.3, label=i18n.label(f"level_{lv}", lang))
        for lv in present
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    caption = _lbl("caption_levels_chart", x).format(province=_line_name(x), freq=_freq_word(x))
    if "district" in present:
        caption += " " + _lbl("district_note", x)
    return Chart.from_figure(fig, caption)


def levels_table(x: Exploration) -> Table:
    """The latest quarter by level: numerator, denominator and rate of every indicator."""
    lang = x.lang
    q = x.latest_quarter
    rows = []
    for rate, (num, den) in panel.RATES.items():
        for level in [lv for lv in LEVEL_ORDER if lv in set(q["level"])]:
            r = q[q["level"] == level].iloc[0]
            rows.append(
                (
                    i18n.label(rate, lang),
                    i18n.label(f"level_{level}", lang),
                    _count(r[num], lang),
                    _count(r[den], lang),
                    _share(r, rate, lang),
                )
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            i18n.label("quantity", lang),
            _lbl("col_level", x),
            _lbl("col_numerator", x),
            _lbl("col_denominator", x),
            i18n.label("rate", lang),
        ],
    )
    first = q.iloc[0]
    caption = _lbl("caption_levels_table", x).format(
        province=first["province"], period=_period_text(first, x)
    )
    note = base.small_numbers_note(lang)
    ended = "district" in set(x.levels["level"]) and "district" not in set(q["level"])
    if ended:
        note = _lbl("district_note", x) + " " + note
    return Table(frame, caption, note=note)


def merger(x: Exploration) -> tuple:
    """The 2025 merger as it is: who was summed into whom, a chart and the last old quarter.

    A province that was not merged gets one sentence saying so.
    """
    lang = x.lang
    if x.mode == "old":
        if x.merged:
            text = _lbl("merger_old_before", x).format(old=x.province.name, formula=_formula(x))
        else:
            text = _lbl("merger_old_before_unchanged", x).format(old=x.province.name)
        return (Paragraph(text),)
    if not x.merged:
        old = x.predecessors[0]
        if old.name != x.successor.name:
            text = _lbl("merger_renamed", x).format(province=x.successor.name, old=old.name)
        else:
            text = _lbl("merger_not_merged", x).format(province=x.successor.name)
        return (Paragraph(text),)
    if x.mode == "old_merged":
        text = _lbl("merger_old_name", x).format(
            old=x.province.name, new=x.successor.name, formula=_formula(x)
        )
        if x.province.region != x.successor.region:
            text += " " + _lbl("region_change", x).format(
                old=_region(x.province.region, lang), new=_region(x.successor.region, lang)
            )
    else:
        text = _lbl("merger_new_merged", x).format(
            formula=_formula(x), new=x.successor.name, olds=_olds(x)
        )
    blocks: list = [Paragraph(text, kind="note")]
    if x.merger_series is not None:
        blocks.append(_merger_chart(x))
    blocks.append(_merger_table(x))
    return tuple(blocks)


def _merger_chart(x: Exploration) -> Chart:
    lang, data = x.lang, x.merger_series
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 2.9), dpi=100, sharex=True)
    total = data[data["part"] == "sum"].sort_values("period")
    pre = (total["period"].dt.end_time < MERGER).to_numpy()
    _dashed_then_solid(left, total["x"], 100 * total[HEADLINE], pre, COLORS["province"], 1.8)
    left.plot([], [], color=COLORS["province"], lw=1.8, label=_formula(x))  # legend entry
    received = total["dossiers_received"].astype("Float64").astype(float).to_numpy()
    # Before the merger: each old province's dossiers stacked; their top is the sum.
    stacked = total[pre]
    bottoms = pd.Series(0.0, index=stacked["period"].to_numpy())
    for p, color in zip(x.predecessors, OLD_COLORS, strict=False):
        mine = data[data["part"] == p.code].sort_values("period")
        name = _lbl("entity_old", x).format(name=p.name)
        left.plot(mine["x"], 100 * mine[HEADLINE], color=color, lw=0.9, label=name)
        values = mine.set_index("period")["dossiers_received"].astype("Float64").astype(float)
        values = values.reindex(bottoms.index).fillna(0.0)
        tops = bottoms + values
        right.fill_between(
            stacked["x"], bottoms.to_numpy(), tops.to_numpy(), color=color, lw=0, alpha=0.8
        )
        bottoms = tops
    _dashed_then_solid(right, total["x"], pd.Series(received), pre, COLORS["province"], 1.8)
    left.set_title(i18n.label(HEADLINE, lang), fontsize=7.5, loc="left")
    right.set_title(_lbl(f"received_per_{x.freq}", x), fontsize=7.5, loc="left")
    _percent_axis(left, lang)
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 0)))
    for i, ax in enumerate((left, right)):
        _time_axis(ax)
        _merger_mark(ax, x, text=i == 0, shade=True)
    left.legend(frameon=False, fontsize=6.5, loc="upper left", bbox_to_anchor=(0, -0.1), ncol=2)
    fig.tight_layout()
    caption = _lbl("caption_merger_chart", x).format(
        formula=_formula(x), rate=i18n.label(HEADLINE, lang).lower(), freq=_freq_word(x)
    )
    return Chart.from_figure(fig, caption)


def _merger_table(x: Exploration) -> Table | Paragraph:
    lang, q = x.lang, x.merger_quarter
    if q is None:
        return Paragraph(_lbl("no_pre_merger", x))
    names = {p.code: _lbl("entity_old", x).format(name=p.name) for p in x.predecessors}
    columns = [names[c] for c in q["part"] if c != "sum"]
    columns.append(_lbl("col_sum", x).format(new=x.successor.name))
    rows = [
        [i18n.label("dossiers_received", lang)] + [_count(v, lang) for v in q["dossiers_received"]]
    ]
    for rate in panel.RATES:
        rows.append([i18n.label(rate, lang)] + [_share(r, rate, lang) for _, r in q.iterrows()])
    frame = pd.DataFrame(rows, columns=[i18n.label("quantity", lang), *columns])
    caption = _lbl("caption_merger_table", x).format(
        period=_period_label(LAST_OLD_QUARTER, lang), new=x.successor.name
    )
    note = _lbl("merger_table_note", x) + " " + base.small_numbers_note(lang)
    return Table(frame, caption, note=note)


def coverage_table(x: Exploration) -> Table:
    """Months with data, months without, and months with unreported counts, by province × level."""
    lang = x.lang
    rows = []
    for r in x.coverage.itertuples(index=False):
        entity = _lbl("entity_old" if r.boundary == "old63" else "entity_new", x).format(
            name=r.province
        )
        absent = _lbl("none", x)
        if r.absent:
            listed = ", ".join(i18n.month(m, lang) for m in r.absent[:MISSING_MONTHS_LISTED])
            more = ", …" if len(r.absent) > MISSING_MONTHS_LISTED else ""
            absent = f"{len(r.absent)} ({listed}{more})"
        which = "; ".join(
            f"{_lbl('count_' + c, x)} ({n})" for c, n in r.unreported.items()
        ) or _lbl("none", x)
        rows.append(
            (
                entity,
                i18n.label(f"level_{r.level}", lang) if r.level else "—",
                f"{i18n.month(r.first, lang)} – {i18n.month(r.last, lang)}",
                f"{r.present}/{r.expected}",
                absent,
                str(r.unreported_months),
                which,
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            i18n.label("province", lang),
            _lbl("col_level", x),
            i18n.label("period", lang),
            _lbl("col_months", x),
            _lbl("col_missing", x),
            _lbl("col_unreported", x),
            _lbl("col_which", x),
        ],
    )
    caption = _lbl("caption_coverage", x).format(
        first=i18n.month(x.start, lang), last=i18n.month(x.end, lang)
    )
    return Table(frame, caption, note=_lbl("coverage_note", x))
