"""Charts of the designs' results (synthetic control's gap and weights, the event study), in
Vietnamese or English."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import i18n
from analysis.designs.result import EffectResult, format_number
from analysis.errors import WorkbenchError

_TEXT = {
    "gap": {"vi": "Chênh lệch (quan sát − đối chứng tổng hợp)", "en": "Gap (observed − synthetic)"},
    "gap_short": {"vi": "Chênh lệch", "en": "Gap"},
    "placebo_band": {
        "vi": "Khoảng {level} % của các kiểm định giả (placebo)",
        "en": "{level}% range of the placebo gaps",
    },
    "start": {"vi": "Bắt đầu biện pháp", "en": "Start of the measure"},
    "weight": {"vi": "Trọng số", "en": "Weight"},
    "weights_title": {
        "vi": "Trọng số của các đơn vị trong đối chứng tổng hợp",
        "en": "Donor weights of the synthetic control",
    },
}


def _axis_periods(ax, periods: pd.Series, lang: str) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    yearly = bool((periods.dt.month == 1).all() and (periods.dt.day == 1).all()) and (
        len(periods) < 2 or (periods.diff().dropna().dt.days >= 365).all()
    )
    if yearly:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: mdates.num2date(v).strftime("%Y")))
    else:
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: i18n.month(mdates.num2date(v).replace(tzinfo=None), lang))
        )


def plot_gap(result: EffectResult, lang: str = "vi"):
    """The gap (treated − synthetic) over every period with the placebo band.

    Parameters
    ----------
    result : EffectResult
        From :func:`fit_synth`.
    lang : {"vi", "en"}

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    i18n.check_lang(lang)
    bp = result.by_period
    fig, ax = plt.subplots(figsize=(7.2, 3.2), dpi=100)
    ax.axhline(0, color="#999999", linewidth=0.8)
    if bp["placebo_low"].notna().any():
        ax.fill_between(
            bp["period"],
            bp["placebo_low"],
            bp["placebo_high"],
            color="#bfbfbf",
            alpha=0.5,
            linewidth=0,
            label=_TEXT["placebo_band"][lang].format(level=round(100 * result.ci_level)),
        )
    ax.plot(bp["period"], bp["gap"], color="#1f4e79", linewidth=1.8, label=_TEXT["gap_short"][lang])
    ax.axvline(
        result.start, color="#7f7f7f", linestyle="--", linewidth=1, label=_TEXT["start"][lang]
    )
    ax.set_ylabel(_TEXT["gap"][lang], fontsize=9)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 1)))
    ax.spines[["top", "right"]].set_visible(False)
    _axis_periods(ax, bp["period"], lang)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=3)
    fig.tight_layout()
    return fig


SHOWN_WEIGHT = 0.005  # smallest weight drawn in the weights chart


def plot_weights(result: EffectResult, lang: str = "vi", top: int = 10):
    """The ``top`` largest donor weights (at least ``SHOWN_WEIGHT``) as horizontal bars.

    Parameters
    ----------
    result : EffectResult
        From :func:`fit_synth` (uses ``tables["weights"]``).
    lang : {"vi", "en"}
    top : int
        How many donors to show.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    i18n.check_lang(lang)
    weights = result.tables["weights"]
    # Donors with (numerically) zero weight are not part of the synthetic twin: leave them out.
    table = weights[weights["weight"] >= SHOWN_WEIGHT].head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.35 * len(table) + 1.0), dpi=100)
    ax.barh(table["unit"], table["weight"], color="#1f4e79")
    for y_pos, w in enumerate(table["weight"]):
        ax.text(w, y_pos, " " + i18n.number(w, lang, 3), va="center", fontsize=8)
    ax.set_xlabel(_TEXT["weight"][lang], fontsize=9)
    ax.set_title(_TEXT["weights_title"][lang], fontsize=10)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 1)))
    ax.set_xlim(0, max(1.0, float(table["weight"].max()) * 1.15) if len(table) else 1.0)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


_PLOT_WORDS = {
    "x": {"vi": "Số {step} so với thời điểm áp dụng", "en": "{Step} since adoption"},
    "y_pp": {"vi": "Tác động (điểm %)", "en": "Effect (percentage points)"},
    "y": {"vi": "Tác động", "en": "Effect"},
    "point": {
        "vi": "Ước lượng và KTC {level} % từng thời điểm",
        "en": "Estimate and pointwise {level}% CI",
    },
    "band": {"vi": "Dải tin cậy đồng thời {level} %", "en": "{level}% uniform band"},
}


def _tick_digits(ticks: Sequence[float]) -> int:
    steps = np.diff(np.asarray(ticks, dtype=float))
    steps = steps[steps > 0]
    if steps.size == 0:
        return 1
    return max(0, int(-math.floor(math.log10(steps.min()) + 1e-9)))


def plot_event_study(result: EffectResult, lang: str = "vi"):
    """The event study of a :func:`fit_cs` result: effects by event time with pointwise
    intervals, and the uniform band when it was bootstrapped.

    Parameters
    ----------
    result : EffectResult
        From :func:`fit_cs` (``tables["event_study"]``).
    lang : {"vi", "en"}
        Axis labels and number format (decimal comma in Vietnamese).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    i18n.check_lang(lang)
    if "event_study" not in result.tables:
        raise WorkbenchError(
            f"the result of method {result.method!r} has no event study",
            hint="plot_event_study draws fit_cs results",
        )
    es = result.tables["event_study"]
    level = format_number(result.ci_level * 100, lang, 0)
    step = result.diagnostics.get("time_step", "periods")
    step_vi = {"months": "tháng", "years": "năm"}.get(step, "kỳ")
    fig = Figure(figsize=(7.2, 3.2), dpi=100)
    ax = fig.subplots()
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.axvline(-0.5, color="#7f7f7f", linewidth=0.8, linestyle="--")
    if es["band_low"].notna().any():
        ax.fill_between(
            es["event_time"],
            es["band_low"],
            es["band_high"],
            color="#f4b183",
            alpha=0.45,
            linewidth=0,
            step="mid",
            label=_PLOT_WORDS["band"][lang].format(level=level),
        )
    pre = es["event_time"] < 0
    for mask, color in ((pre, "#7f7f7f"), (~pre, "#c55a11")):
        part = es[mask]
        ax.errorbar(
            part["event_time"],
            part["att"],
            yerr=[part["att"] - part["ci_low"], part["ci_high"] - part["att"]],
            fmt="o",
            color=color,
            markersize=3,
            linewidth=1,
            capsize=0,
            label=_PLOT_WORDS["point"][lang].format(level=level) if color != "#7f7f7f" else None,
        )
    ax.set_xlabel(_PLOT_WORDS["x"][lang].format(step=step_vi, Step=step.capitalize()), fontsize=9)
    ax.set_ylabel(_PLOT_WORDS["y_pp" if result.unit == "pp" else "y"][lang], fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 0)))
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _: i18n.number(v, lang, _tick_digits(ax.yaxis.get_majorticklocs())))
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.18), ncol=2)
    fig.tight_layout()
    return fig
