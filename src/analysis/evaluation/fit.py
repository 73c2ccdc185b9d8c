"""One estimate per measure, window and outcome: the one place every document fits a measure.

The measure brief, the quarterly report and the overview all call :func:`fit_measure` with the
same defaults (:data:`POST_MONTHS`), so one measure in one province over one window has one
number. A document that stops earlier (the quarterly report at its quarter's end) passes
``until`` and prints the window beside the number. :func:`overlapping` names the other measures
(own or national) that start inside an estimate's window: their effects cannot be separated
from the measure's, and no document recommends keeping or extending either on that evidence.
:func:`comparison_panel` chooses the comparison provinces of the panel designs.
"""

from __future__ import annotations

import pandas as pd

from analysis import measures, panel, registry
from analysis.designs.its import fit_its
from analysis.designs.result import EffectResult
from analysis.errors import WorkbenchError
from analysis.measures import Measure
from analysis.registry import Province

__all__ = [
    "POST_MONTHS",
    "OVERLAP_BEFORE_MONTHS",
    "COMPARISON_DESIGNS",
    "fit_measure",
    "earlier_measures",
    "overlapping",
    "comparison_panel",
    "fit_comparisons",
]

POST_MONTHS = 24  # longest post window of every document
# A measure that starts less than this many months before another cannot be told apart from it
# by a level-and-slope break (the same six months `earlier_measures` asks of a known break).
OVERLAP_BEFORE_MONTHS = 6
# Designs that compare the province with others, in the order the brief shows them.
COMPARISON_DESIGNS = ("did", "synth", "sdid")


def _model(model) -> dict:
    """``model=`` for the designs only when given (designs before and after H13's change)."""
    return {} if model is None else {"model": model}


def fit_measure(
    frame: pd.DataFrame,
    measure: Measure,
    place: Province,
    outcome: str = "online_rate",
    post_months: int = POST_MONTHS,
    until: pd.Timestamp | None = None,
    *,
    model=None,
) -> tuple[EffectResult, pd.DataFrame]:
    """The interrupted-time-series estimate of one measure in one province.

    The one way every document estimates a measure's effect on its own province: the whole
    province's monthly series (old provinces summed into a new one, so it runs across July
    2025), the province's own earlier measures as known breaks, a post window that stops at
    ``post_months``, at the measure's end, at ``until`` and at the end of the data.

    Parameters
    ----------
    frame : DataFrame
        The monthly count panel (``Source.frame``).
    measure : Measure
    place : Province
        The province on the boundary valid when the measure started (:func:`measures.target`).
    outcome : str, default "online_rate"
    post_months : int, default :data:`POST_MONTHS`
    until : Timestamp, optional
        Last month to use (e.g. the end of a report's quarter).
    model : optional
        Passed to the design as ``model=`` when given; the design's default otherwise.

    Returns
    -------
    (EffectResult, DataFrame)
        The estimate and the province's monthly series (``month``, ``numerator``,
        ``denominator``).

    Raises
    ------
    WorkbenchError
        When the data hold no series for the province, or too few months around the start.
    """
    # Only the province's rows (its own, and a new province's old parts): a series then
    # validates a few hundred rows, not the whole panel once per measure.
    mine = (frame["boundary"] == place.boundary) & (frame["province_code"] == place.code)
    if place.boundary == "new34":
        old = [p.code for p in registry.predecessors(place)]
        mine |= (frame["boundary"] == "old63") & frame["province_code"].isin(old)
    series = panel.series(frame[mine], place, outcome, level="all", freq="M")
    if series.empty:
        raise WorkbenchError(
            f"no {outcome} data for {place.name} in the panel",
            hint="check the province and the data file",
        )
    if series["numerator"].isna().all() or series["denominator"].isna().all():
        # The source never reported the counts: "no data", not a gap to fill month by month.
        num, den = panel.RATES[outcome]
        raise WorkbenchError(
            f"the data do not report {num} / {den} for {place.name}: {outcome} cannot be evaluated",
            hint="import a table with these columns, or choose an outcome the data give "
            "(the import summary lists the rates a file feeds)",
        )
    start = measure.start.to_period("M").to_timestamp()
    last = series["month"].max()
    if until is not None:
        last = min(last, pd.Timestamp(until).to_period("M").to_timestamp())
    if measure.end is not None:
        last = min(last, measure.end.to_period("M").to_timestamp())
    post = int((last.year - start.year) * 12 + last.month - start.month + 1)
    result = fit_its(
        series[["month", "numerator", "denominator"]],
        start,
        outcome=outcome,
        treated=place.name,
        post_months=min(post_months, post),
        breaks=earlier_measures(measure, place, series["month"].min()),
        **_model(model),
    )
    return result, series


def earlier_measures(measure: Measure, place: Province, first: pd.Timestamp) -> list:
    """Starts of the province's own earlier measures, as known breaks of the ITS.

    Without them an earlier fee cut would bend the "pre-measure trend" and bias the
    counterfactual. Only breaks with a year of data before them and six months before the
    measure are kept (shorter segments cannot carry a level and a slope).
    """
    lo = first + pd.DateOffset(months=12)
    hi = measure.start - pd.DateOffset(months=OVERLAP_BEFORE_MONTHS)
    return sorted(
        m.start.to_period("M").to_timestamp()
        for m in measures.load().values()
        if not m.is_national
        and m.measure_id != measure.measure_id
        and place.name in (m.province_old, m.province_new)
        and lo <= m.start <= hi
    )


def _applies(m: Measure, place: Province) -> bool:
    return m.is_national or place.name in (m.province_old, m.province_new)


def overlapping(measure: Measure, place: Province, window) -> tuple[Measure, ...]:
    """Other measures (the province's own or national) whose start falls where the estimate
    cannot tell them from ``measure``: from :data:`OVERLAP_BEFORE_MONTHS` before its start to
    the end of the post window.

    Parameters
    ----------
    measure : Measure
    place : Province
    window : Window
        The estimate's window (``EffectResult.window``).

    Returns
    -------
    tuple of Measure
        By start date; empty when the estimate is the measure's alone.
    """
    lo = window.post_start - pd.DateOffset(months=OVERLAP_BEFORE_MONTHS)
    hi = window.post_end + pd.offsets.MonthEnd(0)
    found = [
        m
        for m in measures.load().values()
        if m.measure_id != measure.measure_id and _applies(m, place) and lo < m.start <= hi
    ]
    return tuple(sorted(found, key=lambda m: (m.start, m.measure_id)))


def comparison_panel(frame, measure, place, outcome, window):
    """The long panel of the comparison designs on ``window`` and its donor provinces.

    Donors are the provinces of the same boundary with no measure of their own in force during
    the window: a province that cut its own fees is no picture of "no measure".

    Returns
    -------
    (DataFrame, tuple of str)
        ``unit``, ``time``, the outcome's numerator (named as the outcome) and denominator;
        the donors' names.
    """
    from analysis.evaluation.effects import canonical_frame

    long = canonical_frame(frame, outcome, boundary=place.boundary)
    numerator, _ = panel.RATES[outcome]
    long = long[(long["time"] >= window.pre_start) & (long["time"] <= window.post_end)].rename(
        columns={numerator: outcome}
    )
    name_of = "province_old" if place.boundary == "old63" else "province_new"
    busy = {
        getattr(m, name_of)
        for m in measures.load().values()
        if not m.is_national
        and m.start <= window.post_end
        and (m.end is None or m.end >= window.pre_start)
    } - {place.name}
    long = long[~long["unit"].isin(busy)]
    donors = tuple(sorted(set(long["unit"]) - {place.name}))
    return long, donors


def fit_comparisons(frame, measure, place, outcome, its_result, *, model=None):
    """DiD, synthetic control and SDID on the ITS window, against untouched provinces.

    A national measure starts everywhere at once: there is no untreated province, so none is
    run (and no single-unit design may stand in for them as if it were the province's own).

    Returns
    -------
    (tuple of EffectResult, tuple of (design, why), tuple of str)
        The fitted designs, the ones skipped with the reason, the donors.
    """
    from analysis.designs.did import fit_did
    from analysis.designs.sdid import fit_sdid
    from analysis.designs.synth_control import fit_synth

    if measure.is_national:
        return (), tuple((m, "national") for m in COMPARISON_DESIGNS), ()
    w = its_result.window
    long, donors = comparison_panel(frame, measure, place, outcome, w)
    _, denominator = panel.RATES[outcome]
    extra = _model(model)
    common = {"outcome": outcome, "denominator": denominator, "start": w.post_start, **extra}
    fits = {
        "did": lambda: fit_did(long, treated=[place.name], **common),
        "synth": lambda: fit_synth(long, treated=place.name, **common),
        "sdid": lambda: fit_sdid(long, treated=place.name, **common),
    }
    done, skipped = [], []
    for method, fit in fits.items():
        try:
            done.append(fit())
        except WorkbenchError as err:
            skipped.append((method, err.message))
    return tuple(done), tuple(skipped), donors
