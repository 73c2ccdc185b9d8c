"""The measure brief: what one measure changed in one province, for a leader to read.

The notebook ``notebooks/20_measure_brief.ipynb`` calls :func:`prepare` once and then one
function per part of the brief; each returns a block from :mod:`analysis.documents.blocks`. All
words come from the translation table (:mod:`analysis.i18n`), all numbers from the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis import config, i18n, measures, panel
from analysis.designs.result import EffectResult
from analysis.designs.triangulate import Triangulation, triangulate
from analysis.documents import base, figures
from analysis.documents.base import measure_name
from analysis.documents.blocks import Bullets, Chart, Meta, Paragraph, Section, Table
from analysis.evaluation.fit import POST_MONTHS, fit_comparisons, fit_measure, overlapping
from analysis.measures import Measure
from analysis.registry import Province
from analysis.sources import Source, open_panel

__all__ = [
    "MeasureBrief",
    "prepare",
    "fit_measure",
    "meta",
    "section",
    "key_finding",
    "measure_card",
    "observed_chart",
    "effect_chart",
    "estimates",
    "designs_table",
    "triangulation_text",
    "comparison_charts",
    "assumptions",
    "limits",
    "validation",
]


@dataclass(frozen=True, eq=False)
class MeasureBrief:
    """Everything a measure brief shows, computed once.

    Attributes
    ----------
    province : Province
        The treated province, on the boundary valid when the measure started.
    measure : Measure
    outcome : str
        A rate of :data:`analysis.panel.RATES`.
    lang : {"vi", "en"}
    result : EffectResult
        The interrupted-time-series estimate.
    observed : DataFrame
        ``month`` and ``value`` (percent) over the whole analysed window.
    source : Source
        The data and their provenance.
    true_effect : float or None
        For synthetic data, the injected average effect over the same post months.
    others : list of Measure
        Other measures starting inside the window (national, or in the same province).
    comparisons : tuple of EffectResult
        The designs that compare with other provinces (DiD, synthetic control, SDID), each
        on the same window; empty for a national measure (no untreated province).
    skipped : dict
        Design code -> why it was not run (shown in the brief).
    triangulation : Triangulation
        All designs side by side with a verdict.
    donors : tuple of str
        Comparison provinces (those without a measure of their own in the window).
    """

    province: Province
    measure: Measure
    outcome: str
    lang: str
    result: EffectResult
    observed: pd.DataFrame
    source: Source
    true_effect: float | None
    others: tuple[Measure, ...]
    comparisons: tuple[EffectResult, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    triangulation: Triangulation | None = None
    donors: tuple[str, ...] = ()


def prepare(
    province: str | None,
    measure: str,
    outcome: str = "online_rate",
    lang: str = "vi",
    data_path: str | None = None,
    post_months: int = POST_MONTHS,
    *,
    model=None,
) -> MeasureBrief:
    """Load the data, estimate the effect and gather what the brief shows.

    Parameters
    ----------
    province : str or None
        Province name in any common spelling; None for the measure's own province.
    measure : str
        Measure id of ``config/measures.csv``.
    outcome : str, default "online_rate"
        Rate to evaluate.
    lang : {"vi", "en"}
    data_path : str, optional
        Panel file or folder; default the embedded synthetic data.
    post_months : int, default 24
        Longest post-measure window; it also stops at the measure's end, at the end of the
        data and, for measures before July 2025, at the merger (the province changes).
    model : optional
        Passed to every design as ``model=`` when given.

    Returns
    -------
    MeasureBrief
    """
    i18n.check_lang(lang)
    panel.check_rate(outcome)
    the_measure, place = measures.target(measure, province)
    source = open_panel(data_path)
    result, series = fit_measure(
        source.frame, the_measure, place, outcome, post_months, model=model
    )
    window = result.window
    shown = series[(series["month"] >= window.pre_start) & (series["month"] <= window.post_end)]
    observed = pd.DataFrame(
        {"month": shown["month"], "value": 100 * shown["numerator"] / shown["denominator"]}
    )
    others = overlapping(the_measure, place, window)
    comparisons, skipped, donors = fit_comparisons(
        source.frame, the_measure, place, outcome, result, model=model
    )
    return MeasureBrief(
        province=place,
        measure=the_measure,
        outcome=outcome,
        lang=lang,
        result=result,
        observed=observed,
        source=source,
        true_effect=_true_effect(source, the_measure, place, outcome, result),
        others=others,
        comparisons=comparisons,
        skipped=skipped,
        triangulation=triangulate([result, *comparisons], lang=lang),
        donors=donors,
    )


def _true_effect(source, measure, place, outcome, result) -> float | None:
    """Mean injected effect over the post months (synthetic data only).

    None when the generator injected nothing under this measure's id (some measures only set
    the date of another one): a "true effect 0" would misstate what the data hold.
    """
    path = source.sibling(config.GROUND_TRUTH_FILE)
    if not source.synthetic or not path.exists():
        return None
    truth = pd.read_csv(path, dtype={"province_code": str}, parse_dates=["month"])
    post = pd.date_range(result.window.post_start, result.window.post_end, freq="MS")
    mine = truth[
        (truth["measure_id"] == measure.measure_id)
        & (truth["province_code"] == place.code)
        & (truth["boundary"] == place.boundary)
        & (truth["outcome"] == outcome)
    ].set_index("month")["effect_pp"]
    if mine.empty:
        return None
    return float(mine.reindex(post, fill_value=0.0).mean())


# --- words -------------------------------------------------------------------------------


def title(brief: MeasureBrief) -> str:
    """The brief's title: province, measure and start month."""
    lang = brief.lang
    return i18n.label("title_measure", lang).format(
        province=brief.province.name,
        measure=measure_name(brief.measure, lang),
        start=i18n.month(brief.measure.start, lang),
    )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _outcome(brief: MeasureBrief, lower: bool = True) -> str:
    text = i18n.label(brief.outcome, brief.lang)
    return text[0].lower() + text[1:] if lower else text


# --- blocks the notebook shows ---------------------------------------------------------


def section(key: str, brief: MeasureBrief) -> Section:
    """A numbered section heading from the translation table (``finding``, ``measure`` …)."""
    return base.section(f"section_{key}", brief.lang)


def meta(brief: MeasureBrief) -> Meta:
    """Title block and provenance for the template (shown as its own MIME type)."""
    lang, w = brief.lang, brief.result.window
    src = brief.source
    provenance = base.source_provenance(src, lang)
    facts = [
        (i18n.label("province", lang), brief.province.name),
        (i18n.label("quantity", lang), i18n.label(brief.outcome, lang)),
        (
            i18n.label("period", lang),
            f"{i18n.month(w.pre_start, lang)} – {i18n.month(w.post_end, lang)}",
        ),
        (
            i18n.label("method", lang),
            "; ".join(
                r.method_label.get(lang, r.method) for r in (brief.result, *brief.comparisons)
            ),
        ),
    ]
    return base.meta(
        lang,
        kind=i18n.label("report_kind_brief", lang),
        title=title(brief),
        subtitle=i18n.label(brief.outcome, lang),
        facts=facts,
        synthetic=src.synthetic,
        provenance=provenance,
        data_files=src.files,
    )


def key_finding(brief: MeasureBrief) -> Paragraph:
    """The one sentence a leader can quote, then how sure it is."""
    lang, r = brief.lang, brief.result
    w = r.window
    sentence = i18n.label("finding_sentence", lang).format(
        n=r.n_post,
        first=i18n.month(w.post_start, lang),
        last=i18n.month(w.post_end, lang),
        outcome=_outcome(brief),
        province=brief.province.name,
        direction=i18n.label("direction_up" if r.estimate >= 0 else "direction_down", lang),
        size=i18n.points(abs(r.estimate), lang, signed=False),
        low=i18n.points(r.ci_low, lang),
        high=i18n.points(r.ci_high, lang),
    )
    p = i18n.p_value(r.p_value, lang)
    pp = f"p {p}" if p.startswith("<") else f"p = {p}"
    placebo = r.diagnostics.get("placebo_p_value", math.nan)
    failed = isinstance(placebo, float) and math.isfinite(placebo) and placebo < 0.05
    if r.significant and failed:
        # A check the design ran failed: the finding cannot be called clear, and says why.
        q = i18n.p_value(placebo, lang)
        sure = i18n.label("certain_weak_placebo", lang).format(
            p=pp, placebo=f"p {q}" if q.startswith("<") else f"p = {q}"
        )
    else:
        sure = i18n.label("certain_yes" if r.significant else "certain_no", lang).format(p=pp)
    text = f"{sentence} {sure}"
    if brief.others:
        text += " " + i18n.label("finding_overlap", lang).format(
            names="; ".join(
                f"{measure_name(m, lang)} ({i18n.date(m.start, lang)})" for m in brief.others
            )
        )
    tri = brief.triangulation
    if tri is not None and len(tri.table) > 1:
        low, high = tri.table["estimate"].min(), tri.table["estimate"].max()
        text += " " + i18n.label("finding_designs", lang).format(
            n=len(tri.table),
            headline=_lower_first(tri.headline.get(lang, "")),
            low=i18n.points(low, lang),
            high=i18n.points(high, lang),
        )
    return Paragraph(text, kind="finding")


def designs_table(brief: MeasureBrief) -> Table:
    """Every design's estimate side by side, with the warnings its diagnostics raise."""
    lang, tri = brief.lang, brief.triangulation
    frame = pd.DataFrame(
        {
            i18n.label("method", lang): tri.table["label"],
            i18n.label("estimated_effect", lang): [
                i18n.points(x, lang) for x in tri.table["estimate"]
            ],
            i18n.label("ci95", lang): [
                i18n.interval(lo, hi, lang)
                for lo, hi in zip(tri.table["ci_low"], tri.table["ci_high"], strict=True)
            ],
            i18n.label("p_value", lang): [i18n.p_value(p, lang) for p in tri.table["p_value"]],
            i18n.label("warnings", lang): tri.table["issues"].replace("", "—"),
        }
    )
    note = ""
    if brief.donors:
        note = i18n.label("donors_note", lang).format(n=len(brief.donors))
    if brief.skipped:
        note += " " + "; ".join(
            i18n.label("skipped_design", lang).format(
                method=i18n.label(f"tri_method_{m}", lang),
                why=i18n.label("skip_national", lang) if why == "national" else why,
            )
            for m, why in brief.skipped
        )
    return Table(frame, i18n.label("caption_designs", lang), note=note.strip())


def triangulation_text(brief: MeasureBrief) -> Paragraph:
    """The verdict across designs, as a paragraph to print as is."""
    return Paragraph(brief.triangulation.text.get(brief.lang, ""))


def comparison_charts(brief: MeasureBrief) -> tuple:
    """Synthetic-control gap with its placebo band and the donor weights (empty if not run)."""
    from analysis.designs.plots import plot_gap, plot_weights

    lang = brief.lang
    synth = next((r for r in brief.comparisons if r.method == "synth"), None)
    if synth is None:
        return ()
    return (
        Chart.from_figure(plot_gap(synth, lang), i18n.label("caption_gap", lang)),
        Chart.from_figure(plot_weights(synth, lang, top=8), i18n.label("caption_weights", lang)),
    )


def measure_card(brief: MeasureBrief) -> Table:
    """The measure's facts as the measures file records them, with their confidence."""
    lang, m = brief.lang, brief.measure
    rows = [
        ("kind", i18n.label(f"kind_{m.kind}", lang)),
        ("document", m.text("document", lang)),
        ("start_date", i18n.date(m.start, lang)),
        ("end_date", i18n.date(m.end, lang) if m.end is not None else "—"),
        ("scope", m.text("scope", lang)),
        ("confidence", m.text("confidence", lang)),
        ("source", m.source),
    ]
    if m.intensity is not None:
        rows.insert(1, ("intensity", i18n.percent(m.intensity, lang, 0)))
    frame = pd.DataFrame(
        [(i18n.label(k, lang), v) for k, v in rows],
        columns=[i18n.label("quantity", lang), i18n.label("value", lang)],
    )
    return Table(frame, i18n.label("caption_measure", lang))


def observed_chart(brief: MeasureBrief) -> Chart:
    """Observed monthly rate against the no-measure prediction and its band."""
    lang, bp = brief.lang, brief.result.by_period
    post = bp[bp["post"]].rename(
        columns={"counterfactual_low": "cf_low", "counterfactual_high": "cf_high"}
    )
    fig = figures.observed_vs_counterfactual(
        brief.observed, post, brief.result.start, lang=lang, ylabel=i18n.label(brief.outcome, lang)
    )
    caption = i18n.label("caption_observed", lang).format(
        outcome=i18n.label(brief.outcome, lang), province=brief.province.name
    )
    return Chart.from_figure(fig, caption)


def effect_chart(brief: MeasureBrief) -> Chart:
    """The effect month by month with its interval."""
    bp = brief.result.by_period
    fig = figures.effect_over_time(bp[bp["post"]], lang=brief.lang)
    return Chart.from_figure(fig, i18n.label("caption_effect", brief.lang))


def estimates(brief: MeasureBrief) -> Table:
    """The estimate, its interval and p-value, the level and slope changes, the placebo."""
    lang, r = brief.lang, brief.result
    d = r.diagnostics

    def ci(low, high):
        return i18n.interval(low, high, lang)

    rows = [
        (
            i18n.label("average_effect", lang),
            i18n.points(r.estimate, lang),
            ci(r.ci_low, r.ci_high),
            i18n.p_value(r.p_value, lang),
        ),
        (
            i18n.label("level_change", lang),
            i18n.points(d.get("level_change"), lang),
            ci(d.get("level_change_ci_low"), d.get("level_change_ci_high")),
            i18n.p_value(d.get("level_change_p_value"), lang),
        ),
        (
            i18n.label("slope_change", lang),
            i18n.number(d.get("slope_change"), lang, 2),
            ci(d.get("slope_change_ci_low"), d.get("slope_change_ci_high")),
            i18n.p_value(d.get("slope_change_p_value"), lang),
        ),
        (
            i18n.label("placebo", lang),
            i18n.points(d.get("placebo_estimate"), lang),
            "",
            i18n.p_value(d.get("placebo_p_value"), lang),
        ),
        (i18n.label("n_pre", lang), str(r.n_pre), "", ""),
        (i18n.label("n_post", lang), str(r.n_post), "", ""),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            i18n.label("quantity", lang),
            i18n.label("estimated_effect", lang),
            i18n.label("ci95", lang),
            i18n.label("p_value", lang),
        ],
    )
    key = "caption_estimates_hac" if d.get("cov_type") == "hac" else "caption_estimates_ar1"
    return Table(frame, i18n.label(key, lang))


def assumptions(brief: MeasureBrief) -> Bullets:
    """The design's assumptions and what its diagnostics (placebo, residuals) say of them."""
    return Bullets((brief.result.assumptions.get(brief.lang, ""),))


def limits(brief: MeasureBrief) -> Bullets:
    """What the data cannot say: concurrent measures, extrapolation, aggregation, the facts."""
    lang = brief.lang
    items = []
    if brief.others:
        names = "; ".join(
            i18n.label("confound_item", lang).format(
                name=measure_name(m, lang),
                start=i18n.date(m.start, lang),
                scope=i18n.label("national", lang) if m.is_national else m.province_old or "",
            )
            for m in brief.others
        )
        items.append(f"{i18n.label('confound_intro', lang)} {names}.")
    items += [
        i18n.label("limit_trend", lang).format(last=i18n.month(brief.result.window.post_end, lang)),
        i18n.label("limit_aggregate", lang),
        *([i18n.label("limit_merger", lang)] if brief.province.boundary == "new34" else []),
        i18n.label("limit_confidence", lang).format(
            confidence=brief.measure.text("confidence", lang)
        ),
    ]
    if not brief.comparisons:
        items.append(i18n.label("limit_single_design", lang))
    return Bullets(tuple(items))


def validation(brief: MeasureBrief) -> tuple:
    """On synthetic data, a section comparing the estimate with the injected truth.

    Returns an empty tuple on real data, so the notebook can always ``display(*...)`` it.
    """
    if brief.true_effect is None:
        return ()
    lang, r = brief.lang, brief.result
    covered = r.ci_low <= brief.true_effect <= r.ci_high
    frame = pd.DataFrame(
        [
            (i18n.label("true_effect", lang), i18n.points(brief.true_effect, lang)),
            (i18n.label("estimated_effect", lang), i18n.points(r.estimate, lang)),
            (
                i18n.label("ci95", lang),
                i18n.interval(r.ci_low, r.ci_high, lang),
            ),
            (i18n.label("covered", lang), i18n.label("yes" if covered else "no", lang)),
        ],
        columns=[i18n.label("quantity", lang), i18n.label("value", lang)],
    )
    # The explanation rides as the table's note: a heading is then followed by the table
    # itself, which the PDF keeps on one page with it.
    table = Table(
        frame, i18n.label("caption_validation", lang), note=i18n.label("validation_text", lang)
    )
    return (section("validation", brief), table)
