"""Charts for briefs: language-aware axes, one look for every document.

Matplotlib's bundled DejaVu Sans carries the Vietnamese diacritics; the SVG keeps its text as
text in DejaVu Sans (then any sans-serif), the font of the page itself, which the PDF embeds.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # briefs are rendered without a screen

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from analysis import i18n  # noqa: E402

COLORS = {"observed": "#1f4e79", "counterfactual": "#c55a11", "band": "#f4b183", "event": "#7f7f7f"}


def _style(ax, lang: str, unit: str) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    if unit == "pp":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 0) + " %"))
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=[4, 7, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: mdates.num2date(v).strftime("%Y")))


def observed_vs_counterfactual(
    observed: pd.DataFrame,
    by_period: pd.DataFrame,
    start: pd.Timestamp,
    *,
    lang: str = "vi",
    ylabel: str = "",
    unit: str = "pp",
) -> plt.Figure:
    """Observed series against the no-measure prediction with its 95 % band.

    Parameters
    ----------
    observed : DataFrame
        Columns ``month`` and ``value`` (percent for rates): the whole series shown.
    by_period : DataFrame
        Columns ``period``, ``counterfactual``, ``cf_low``, ``cf_high`` for the post window.
    start : Timestamp
        First month of the measure (a vertical line).
    lang : {"vi", "en"}
    ylabel : str
        Axis label (the outcome's name in ``lang``).
    unit : {"pp", "raw"}
        ``pp`` when the outcome is a percentage.
    """
    fig, ax = plt.subplots(figsize=(7.2, 3.4), dpi=100)
    ax.plot(
        observed["month"],
        observed["value"],
        color=COLORS["observed"],
        linewidth=1.6,
        marker="o",
        markersize=2.5,
        label=i18n.label("observed", lang),
    )
    _band(ax, by_period["period"], by_period["cf_low"], by_period["cf_high"], lang)
    ax.plot(
        by_period["period"],
        by_period["counterfactual"],
        color=COLORS["counterfactual"],
        linewidth=1.6,
        linestyle="--",
        label=i18n.label("counterfactual", lang),
    )
    ax.axvline(start, color=COLORS["event"], linewidth=1, linestyle=":")
    ax.annotate(
        i18n.label("measure_start", lang) + " " + i18n.month(start, lang),
        xy=(start, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -10),
        textcoords="offset points",
        fontsize=8,
        color=COLORS["event"],
    )
    ax.set_ylabel(ylabel, fontsize=9)
    if unit == "pp":
        # A share lives in 0-100 %: a wide band must not draw the axis below 0 or above 100.
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, 0), min(high, 100))
    _style(ax, lang, unit)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=3)
    fig.tight_layout()
    return fig


def effect_over_time(by_period: pd.DataFrame, *, lang: str = "vi") -> plt.Figure:
    """Month-by-month effect (observed minus prediction) with its 95 % interval."""
    fig, ax = plt.subplots(figsize=(7.2, 2.6), dpi=100)
    ax.axhline(0, color="#999999", linewidth=0.8)
    _band(ax, by_period["period"], by_period["effect_low"], by_period["effect_high"], lang)
    ax.plot(
        by_period["period"],
        by_period["effect"],
        color=COLORS["counterfactual"],
        linewidth=1.6,
        marker="o",
        markersize=2.5,
        label=i18n.label("effect_pp", lang),
    )
    ax.set_ylabel(i18n.label("effect_pp", lang), fontsize=9)
    _style(ax, lang, unit="raw")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.number(v, lang, 0)))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=[1, 7]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: i18n.month(mdates.num2date(v), lang)))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.15), ncol=2)
    fig.tight_layout()
    return fig


def _band(ax, x, low, high, lang: str) -> None:
    """The 95 % band, the same in every chart that draws one."""
    ax.fill_between(
        x,
        low,
        high,
        color=COLORS["band"],
        alpha=0.45,
        linewidth=0,
        label=i18n.label("band_95", lang),
    )
