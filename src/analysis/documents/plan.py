"""Plan an evaluation before the measure: detectable effect, months needed, which design.

:func:`prepare` answers, from a province's own history, "how large an effect of a measure
starting at ``start`` could each design show, after how many months?" The answer is
empirical: placebo measures are put at known dates inside the real history (in time) of the
province and of every comparison province taken in turn as the treated one (in space), and
each design is run on them through its public fit function — the same entry point
``workbench effect`` uses — so the province's own noise, Tết seasonality and trend shape set
the spread of the estimates. An effect of size ``d`` injected into the post-period of the
pseudo-treated unit moves every one of these estimators by exactly ``d``: the ITS because a
level shift is in its column space, DiD because it is linear in the outcome, synthetic
control and SDID because their weights come only from the pre-period and from the controls.
So one fit per placebo gives the estimate for every injected size (``tests/test_plan.py``
checks this against refitting with the effect injected).

The test the plan assumes is the placebo-calibrated one: reject "no effect" when the
estimate is larger in absolute value than 95 % of the placebo estimates. Its power at size
``d`` is the share of placebos with ``|e + d|`` above that critical value; the minimum
detectable effect (MDE) is the smallest ``d`` with power ≥ 80 %. Beside it, an analytic
approximation where one exists (ITS: the standard error of the average effect of a segmented
regression under AR(1) errors; DiD: the variance of the post − pre mean difference of the
treated-minus-controls series under AR(1)), MDE = (z₀.₉₇₅ + z₀.₈) · SE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import config, i18n, panel, registry
from analysis.documents import base
from analysis.documents.blocks import Bullets, Chart, Meta, Paragraph, Section, Table
from analysis.errors import WorkbenchError
from analysis.registry import Province
from analysis.sources import Source, open_panel

__all__ = [
    "DESIGNS",
    "HORIZONS",
    "EvaluationPlan",
    "DesignPlan",
    "prepare",
    "its_draws",
    "did_draws",
    "fitted_draws",
    "power",
    "mde",
    "meta",
    "section",
    "key_finding",
    "mde_table",
    "power_chart",
    "months_table",
    "analytic_table",
    "rollout_text",
    "weights_table",
    "data_table",
    "method_notes",
]

DESIGNS = ("its", "did", "synth", "sdid")
HORIZONS = (3, 6, 12, 24)
MAX_POST = 24
# Every placebo and the evaluation itself use the same pre-period length, so the spread of
# the placebos is the spread the evaluation will have (a longer pre-period gives a narrower
# one, and the critical value would not fit). 36 months see three Tết.
PRE_WINDOW = 36
MIN_PRE = PRE_WINDOW
ALPHA, POWER = 0.05, 0.80
TARGETS = (5.0, 10.0)  # pp for the months-needed question
GRID = np.round(np.arange(0.0, 60.05, 0.05), 2)  # injected sizes scanned (pp)
UNITS = ("districts", "communes")


@dataclass(frozen=True, eq=False)
class DesignPlan:
    """What one design can detect.

    Attributes
    ----------
    design : str
    draws : numpy.ndarray
        Placebo estimates, shape (n_placebos, MAX_POST): column h-1 is the estimate after h
        post months (no effect injected).
    units : tuple of str
        Pseudo-treated unit of each draw.
    mde : dict
        h (months) → MDE in pp at 80 % power (NaN: not reached on the grid).
    analytic_mde : dict
        h → analytic MDE in pp (NaN where there is no formula).
    critical : dict
        h → placebo critical value |e| at 5 %.
    """

    design: str
    draws: np.ndarray
    units: tuple[str, ...]
    mde: dict
    analytic_mde: dict
    critical: dict

    def power_curve(self, h: int) -> pd.DataFrame:
        """Power against injected size after ``h`` post months (columns ``effect``, ``power``)."""
        return pd.DataFrame({"effect": GRID, "power": power(self.draws[:, h - 1], GRID)})

    def months_needed(self, target: float) -> int | None:
        """Fewest post months (1–24) whose MDE is at most ``target`` pp; None if none."""
        for h in range(1, MAX_POST + 1):
            if mde(self.draws[:, h - 1]) <= target:
                return h
        return None


@dataclass(frozen=True, eq=False)
class EvaluationPlan:
    """Everything the evaluation plan shows, computed once by :func:`prepare`.

    Attributes
    ----------
    province : Province
    outcome : str
    start : pandas.Timestamp
    lang : str
    designs : dict
        Design code → :class:`DesignPlan`.
    donors : tuple of str
    synth_weights : pandas.DataFrame
        ``unit``, ``weight`` of the synthetic control fitted on the whole history.
    rollout : str or None
        The requested rollout unit ("districts"/"communes"), or None.
    rollout_possible : bool
        Whether the panel identifies single districts or communes (the canonical panel has
        administrative levels only, so it does not).
    history : tuple of pandas.Timestamp
        First and last month of the history used.
    source : Source
    seconds : float
    """

    province: Province
    outcome: str
    start: pd.Timestamp
    lang: str
    designs: dict
    donors: tuple[str, ...]
    synth_weights: pd.DataFrame
    rollout: str | None
    rollout_possible: bool
    history: tuple[pd.Timestamp, pd.Timestamp]
    source: Source
    seconds: float

    def best(self, h: int = 12) -> str:
        """The design with the smallest MDE after ``h`` months."""
        values = {d: p.mde[h] for d, p in self.designs.items()}
        finite = {d: v for d, v in values.items() if math.isfinite(v)}
        return min(finite, key=finite.get) if finite else next(iter(values))


# --- the statistics ---------------------------------------------------------------------


def critical_value(draws: np.ndarray, alpha: float = ALPHA) -> float:
    """The placebo test's critical value: the (1 − alpha) quantile of |placebo estimate|."""
    return float(np.quantile(np.abs(draws), 1 - alpha))


def power(draws: np.ndarray, effects, alpha: float = ALPHA) -> np.ndarray:
    """Power of the placebo-calibrated test at each injected size.

    Parameters
    ----------
    draws : numpy.ndarray
        Placebo estimates (no effect), one per placebo.
    effects : array-like
        Injected sizes d; the estimate under d is ``draws + d`` (the estimators are shifted
        exactly by an injected level change, see the module docstring).
    alpha : float

    Returns
    -------
    numpy.ndarray
        Share of placebos with ``|e + d| > c``, c = :func:`critical_value`.
    """
    draws = np.asarray(draws, dtype=float)
    draws = draws[np.isfinite(draws)]
    c = critical_value(draws, alpha)
    d = np.asarray(effects, dtype=float)
    return (np.abs(draws[None, :] + d[:, None]) > c).mean(axis=1)


def mde(draws: np.ndarray, target: float = POWER, alpha: float = ALPHA) -> float:
    """Smallest injected size (pp, on a 0.05 grid) with power ≥ ``target``; NaN if none."""
    pw = power(draws, GRID, alpha)
    hit = np.nonzero(pw >= target)[0]
    return float(GRID[hit[0]]) if hit.size else math.nan


def _ar1_cov(n: int, rho: float, sigma2: float) -> np.ndarray:
    idx = np.arange(n)
    return sigma2 / max(1 - rho**2, 1e-6) * rho ** np.abs(idx[:, None] - idx[None, :])


def _ar1_params(resid: np.ndarray) -> tuple[float, float]:
    """ρ (lag-1 autocorrelation, clipped to [0, 0.95]) and innovation variance."""
    r = resid - resid.mean()
    rho = float(np.clip(np.sum(r[1:] * r[:-1]) / np.sum(r * r), 0.0, 0.95))
    return rho, float(np.var(r, ddof=1) * (1 - rho**2))


def analytic_its_se(pre: np.ndarray, h: int) -> float:
    """SE of the ITS average effect over ``h`` post months under AR(1) errors.

    A segmented regression (intercept, trend, level change, slope change) on the ``pre``
    months and ``h`` post months; ρ and σ² from the pre-period's linear-trend residuals.
    Seasonality is not modelled here (the placebo estimate has it).
    """
    n0 = len(pre)
    t = np.arange(n0 + h, dtype=float)
    post = (t >= n0).astype(float)
    x = np.column_stack([np.ones_like(t), t, post, post * (t - n0)])
    tt = np.arange(n0, dtype=float)
    xp = np.column_stack([np.ones(n0), tt])
    resid = pre - xp @ np.linalg.lstsq(xp, pre, rcond=None)[0]
    rho, s2 = _ar1_params(resid)
    # The average effect over the post months is level + slope · mean(k), k = 0..h-1.
    c = np.array([0, 0, 1, (h - 1) / 2])
    w = np.linalg.pinv(x).T @ c  # weights on the observations (OLS is linear in y)
    return float(math.sqrt(w @ _ar1_cov(n0 + h, rho, s2) @ w))


def analytic_did_se(gap_pre: np.ndarray, h: int) -> float:
    """SE of (mean of ``h`` post months − mean of the pre months) of the treated − controls
    series under AR(1) errors (ρ, σ² from its pre-period)."""
    n0 = len(gap_pre)
    rho, s2 = _ar1_params(gap_pre)
    w = np.concatenate([np.full(n0, -1 / n0), np.full(h, 1 / h)])
    return float(math.sqrt(w @ _ar1_cov(n0 + h, rho, s2) @ w))


Z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)


# --- placebo draws through the designs' public functions -----------------------------------


def _starts(months: pd.DatetimeIndex, step: int = 1) -> list[int]:
    """Pseudo-start columns with MIN_PRE months before and MAX_POST months after."""
    last = len(months) - MAX_POST
    return list(range(last, MIN_PRE - 1, -step))[::-1]


def _cumulative(effects: np.ndarray) -> np.ndarray:
    """Running means along the last axis: column h − 1 is the mean of the first h."""
    return np.cumsum(effects, axis=-1) / np.arange(1, effects.shape[-1] + 1)


def its_draws(rate: np.ndarray, months: pd.DatetimeIndex, starts: list[int]) -> np.ndarray:
    """ITS placebo estimates for every unit (rows of ``rate``) and pseudo-start, all horizons.

    The ITS point estimate is OLS on the design of :func:`analysis.designs.its.design_matrix`
    (trend, Tết days, level and slope change), so it is linear in the outcome: one
    pseudo-inverse per (start, horizon) serves every unit. Same number as
    ``fit_its(series cut at start + h, start, post_months=h).estimate`` (checked in the tests).

    Returns
    -------
    numpy.ndarray
        Shape (n_units · len(starts), MAX_POST), unit-major within each start.
    """
    from analysis.designs.its import LEVEL, SLOPE, design_matrix

    out = np.empty((len(starts), rate.shape[0], MAX_POST))
    for i, s in enumerate(starts):
        for h in range(1, MAX_POST + 1):
            first = s - PRE_WINDOW
            design = design_matrix(months[first : s + h], months[s])
            cols = list(design.columns)
            beta = np.linalg.pinv(design.to_numpy()) @ rate[:, first : s + h].T
            k_mean = (h - 1) / 2
            out[i, :, h - 1] = beta[cols.index(LEVEL)] + k_mean * beta[cols.index(SLOPE)]
    return out.reshape(-1, MAX_POST)


def did_draws(rate: np.ndarray, starts: list[int], rows: list[int] | None = None) -> np.ndarray:
    """Two-way fixed-effects DiD placebo estimates, each unit of ``rows`` treated in turn.

    With one treated unit in a balanced panel the TWFE coefficient is the post − pre mean of
    (treated − mean of the others): linear in the outcome, so all units and horizons at once.
    Same number as ``fit_did(panel cut at start + h, treated=unit, start=start).estimate``.
    """
    n = rate.shape[0]
    rows = list(range(n)) if rows is None else rows
    others = (rate.sum(axis=0)[None, :] - rate) / (n - 1)
    gap = (rate - others)[rows]
    out = []
    for s in starts:
        pre = gap[:, s - PRE_WINDOW : s].mean(axis=1, keepdims=True)
        out.append(_cumulative(gap[:, s : s + MAX_POST]) - pre)
    return np.concatenate(out, axis=0)


def linear_draws(design: str, rate: np.ndarray, months: pd.DatetimeIndex, own: int) -> np.ndarray:
    """ITS or DiD placebo draws of every unit at every pseudo-start, rescaled to unit ``own``.

    Parameters
    ----------
    design : {"its", "did"}
    rate : numpy.ndarray
        Outcome (pp), units × months of the history.
    months : pandas.DatetimeIndex
    own : int
        Row of the province the plan is for: the other units' draws are multiplied by the
        ratio of its residual SD to theirs (:func:`noise_scale`).

    Returns
    -------
    numpy.ndarray
        (n_units · n_starts, MAX_POST) placebo estimates; column h − 1 after h months.
    """
    starts = _starts(months, 1)
    raw = its_draws(rate, months, starts) if design == "its" else did_draws(rate, starts)
    scale = noise_scale(rate, months)
    ratios = scale[own] / np.where(scale > 0, scale, np.nan)
    if design == "its":
        # As they are, only rescaled: the trend term already takes out each unit's drift,
        # and the mean of one series' overlapping placebos is mostly their shared noise.
        return raw * np.tile(ratios, len(starts))[:, None]
    # DiD's systematic error is a unit's trend against the others': slope of its gap (a line
    # over the whole history, precise) × the distance between the pre and post means,
    # (PRE_WINDOW + h) / 2. Each unit's placebos lose their own, gain the province's.
    n = rate.shape[0]
    gap = rate - (rate.sum(axis=0)[None, :] - rate) / (n - 1)
    slopes = np.polyfit(np.arange(gap.shape[1]), gap.T, 1)[0]
    bias = slopes[:, None] * (PRE_WINDOW + np.arange(1, MAX_POST + 1))[None, :] / 2
    rows = np.tile(np.arange(n), len(starts))
    return (raw - bias[rows]) * ratios[rows][:, None] + bias[own][None, :]


def pool(raw: np.ndarray, units: np.ndarray, own, scale, centre=None) -> np.ndarray:
    """Pool the province's own placebos (in time) with the donors' (in space).

    A donor's placebos keep their shape (deviations from that donor's mean placebo), scaled
    to the province's noise (``scale[own] / scale[donor]``), and are centred on the
    province's own mean placebo: a donor's systematic gap (a steeper trend than the others,
    for DiD) says nothing about the province, the province's own gap does.

    Parameters
    ----------
    raw : numpy.ndarray
        Placebo estimates, one row per placebo.
    units : array-like
        Unit key of each row; ``own`` is the province's key.
    own : hashable
    scale : mapping or array
        Residual SD per unit key.
    centre : numpy.ndarray, optional
        The province's systematic error per horizon; when given, the province's own
        placebos are centred on it too (default: their mean, and kept as they are).
    """
    units = np.asarray(units)
    out = np.empty_like(raw)
    own_rows = units == own
    own_mean = raw[own_rows].mean(axis=0) if centre is None else centre
    for u in np.unique(units):
        rows = units == u
        if u == own and centre is None:
            out[rows] = raw[rows]
        else:
            ratio = scale[own] / scale[u] if scale[u] > 0 else np.nan
            out[rows] = (raw[rows] - raw[rows].mean(axis=0)) * ratio + own_mean
    return out


def _post_effects(result) -> np.ndarray:
    """The first MAX_POST per-month effects of a result (post months only)."""
    bp = result.by_period
    return bp.loc[bp["post"], "effect"].to_numpy(float)[:MAX_POST]


def fitted_draws(
    frame: pd.DataFrame,
    design: str,
    pairs: list[tuple[str, int]],
    outcome: str,
    months: pd.DatetimeIndex,
    effect: float = 0.0,
) -> np.ndarray:
    """Placebo estimates by the designs' public fit functions, one row per (unit, start).

    Each placebo runs the design on the history cut at ``start + 24`` months, with ``effect``
    pp added to the pseudo-treated unit's post months (0 for the plan; the brute-force check
    and the benchmark's baseline inject sizes here). Column h − 1 is the mean of the first h
    per-month effects: exact for synthetic control (weights from the pre-period), an
    approximation for SDID, whose time weights depend on the post window.
    """
    from analysis.designs.did import fit_did
    from analysis.designs.its import fit_its
    from analysis.designs.sdid import fit_sdid
    from analysis.designs.synth_control import fit_synth

    num, den = panel.RATES[outcome]
    rows = []
    cuts: dict[int, pd.DataFrame] = {}
    for unit, s in pairs:
        start = months[s]
        if s not in cuts:
            last = months[s] + pd.DateOffset(months=MAX_POST)
            cuts[s] = frame[(frame["time"] >= months[s - PRE_WINDOW]) & (frame["time"] < last)]
        data = cuts[s]
        if effect:
            # d pp on the rate = d/100 · denominator more online dossiers.
            data = data.astype({num: float})
            hit = (data["unit"] == unit) & (data["time"] >= start)
            data.loc[hit, num] = data.loc[hit, num] + effect / 100 * data.loc[hit, den]
        common = {"outcome": num, "denominator": den, "treated": unit, "start": start}
        if design == "its":
            # The vectorised draws are the OLS fit on rates; the brute-force check must be too.
            r = fit_its(
                _its_series(data, unit, outcome),
                start,
                placebo=False,
                post_months=MAX_POST,
                model="ols",
            )
        elif design == "did":
            r = fit_did(data, **common)
        elif design == "synth":
            r = fit_synth(data, placebo=False, n_starts=1, **common)
        elif design == "sdid":
            r = fit_sdid(data, placebo_reps=0, **common)
        else:
            raise WorkbenchError(f"unknown design {design!r}", hint=f"use {', '.join(DESIGNS)}")
        rows.append(_cumulative(_post_effects(r)))
    return np.vstack(rows)


def _its_series(frame: pd.DataFrame, unit: str, outcome: str) -> pd.DataFrame:
    num, den = panel.RATES[outcome]
    rows = frame[frame["unit"] == unit]
    return pd.DataFrame(
        {
            "month": rows["time"].to_numpy(),
            "numerator": rows[num].to_numpy(float),
            "denominator": rows[den].to_numpy(float),
        }
    )


def noise_scale(rate: np.ndarray, months: pd.DatetimeIndex) -> np.ndarray:
    """Each unit's residual SD around trend + Tết over the history (for rescaling donors)."""
    from analysis.designs.its import design_matrix

    x = design_matrix(months, months[-1] + pd.DateOffset(months=1)).drop(
        columns=["level_change", "slope_change"], errors="ignore"
    )
    x = x.loc[:, x.abs().sum() > 0].to_numpy()
    resid = rate.T - x @ np.linalg.lstsq(x, rate.T, rcond=None)[0]
    return resid.std(axis=0, ddof=x.shape[1])


# --- prepare ----------------------------------------------------------------------------


def check_designs(designs: str | tuple[str, ...]) -> tuple[str, ...]:
    """Parse ``"its,did"`` into a tuple, rejecting unknown codes."""
    items = designs.split(",") if isinstance(designs, str) else designs
    items = tuple(dict.fromkeys(d.strip() for d in items if d.strip()))
    bad = [d for d in items if d not in DESIGNS]
    if bad or not items:
        raise WorkbenchError(
            f"unknown design(s) {', '.join(bad) or '(none)'}",
            hint=f"use a comma-separated list of {', '.join(DESIGNS)}",
        )
    return items


def check_rollout(rollout: str, units: str) -> str | None:
    """``rollout`` "all" (everywhere at once) or "staggered" over ``units``."""
    if rollout in ("", "all", None):
        return None
    if rollout != "staggered":
        raise WorkbenchError(f"unknown rollout {rollout!r}", hint="use --rollout staggered or all")
    if units not in UNITS:
        raise WorkbenchError(f"unknown rollout units {units!r}", hint="use districts or communes")
    return units


def prepare(
    province: str,
    outcome: str = "online_rate",
    start: str = "2027-01",
    designs: str | tuple[str, ...] = DESIGNS,
    lang: str = "vi",
    data_path: str | None = None,
    rollout: str = "all",
    units: str = "districts",
    sdid_units: int = 6,
) -> EvaluationPlan:
    """Compute the evaluation plan of a measure planned in ``province`` from ``start``.

    Parameters
    ----------
    province : str
        Any common spelling.
    outcome : str
        A rate of :data:`analysis.panel.RATES`.
    start : str
        Planned first month (YYYY-MM); it sets the boundary (old63 before July 2025).
    designs : str or tuple
        Some of ``DESIGNS``.
    lang : {"vi", "en"}
    data_path : str, optional
        Panel file or folder (default: the embedded synthetic data).
    rollout, units : str
        ``"staggered"`` over ``"districts"``/``"communes"`` asks whether a staggered rollout
        would shrink the MDE.
    sdid_units : int
        Pseudo-treated units for SDID (the province and the nearest donors in level), which
        is the slowest design.

    Returns
    -------
    EvaluationPlan
    """
    import time

    from analysis.designs.synth_control import fit_synth
    from analysis.evaluation.effects import canonical_frame

    began = time.perf_counter()
    i18n.check_lang(lang)
    panel.check_rate(outcome)
    chosen = check_designs(designs)
    wanted_units = check_rollout(rollout, units)
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    boundary = "new34" if first >= pd.Timestamp(config.MERGER_DATE) else "old63"
    place = registry.resolve(province, boundary=boundary)
    source = open_panel(data_path)
    frame = canonical_frame(source.frame, outcome, boundary)
    frame = frame[frame["time"] < first]
    months = pd.DatetimeIndex(sorted(frame["time"].unique()))
    if len(months) < MIN_PRE + MAX_POST:
        raise WorkbenchError(
            f"only {len(months)} months of history before {start}",
            hint=f"a plan needs {MIN_PRE + MAX_POST} months ({MIN_PRE} before and {MAX_POST} after "
            "each pretend start)",
        )
    num, den = panel.RATES[outcome]
    donors = tuple(u for u in sorted(frame["unit"].unique()) if u != place.name)
    rate = frame.assign(r=100 * frame[num] / frame[den]).pivot(
        index="unit", columns="time", values="r"
    )
    level = (rate.iloc[:, -12:].mean(axis=1) - rate.loc[place.name].iloc[-12:].mean()).abs()
    nearest = [place.name, *level.drop(place.name).sort_values().index[: sdid_units - 1]]

    names = list(rate.index)
    r = rate.to_numpy(float)
    own = names.index(place.name)
    scale = noise_scale(r, months)
    all_starts = _starts(months, 1)
    few = all_starts[::-1][::6][::-1]  # every 6th pseudo-start, the latest included
    plans = {}
    for d in chosen:
        if d in ("its", "did"):
            draws = linear_draws(d, r, months, own)
            pair_units = [names[i] for _ in all_starts for i in range(len(names))]
        else:
            own_starts = all_starts if d == "synth" else all_starts[::-1][::3][::-1]
            others = donors if d == "synth" else nearest[1:]
            pairs = [(place.name, s) for s in own_starts] + [(u, s) for u in others for s in few]
            raw = fitted_draws(frame, d, pairs, outcome, months)
            pair_units = [u for u, _ in pairs]
            keys = np.array([names.index(u) for u in pair_units])
            draws = pool(raw, keys, own, scale)
        draws = draws[np.isfinite(draws).all(axis=1)]
        pre = r[own, -PRE_WINDOW:]
        analytic = {}
        for h in range(1, MAX_POST + 1):
            if d == "its":
                analytic[h] = Z * analytic_its_se(pre, h)
            elif d == "did":
                gap = pre - np.delete(r, own, axis=0)[:, -PRE_WINDOW:].mean(axis=0)
                analytic[h] = Z * analytic_did_se(gap, h)
            else:
                analytic[h] = math.nan
        plans[d] = DesignPlan(
            design=d,
            draws=draws,
            units=tuple(pair_units),
            mde={h: mde(draws[:, h - 1]) for h in range(1, MAX_POST + 1)},
            analytic_mde=analytic,
            critical={h: critical_value(draws[:, h - 1]) for h in range(1, MAX_POST + 1)},
        )
    # Weights on the whole history (a pseudo-start 3 months before its end).
    sc = fit_synth(
        frame, outcome=num, denominator=den, treated=place.name, start=months[-3], placebo=False
    )
    weights = sc.tables["weights"]
    return EvaluationPlan(
        province=place,
        outcome=outcome,
        start=first,
        lang=lang,
        designs=plans,
        donors=donors,
        synth_weights=weights[weights["weight"] > 0.005].reset_index(drop=True),
        rollout=wanted_units,
        # The canonical panel's "level" is the administrative tier (province, district,
        # commune offices), not single districts: it cannot say which district adopted when.
        rollout_possible=False,
        history=(months[0], months[-1]),
        source=source,
        seconds=time.perf_counter() - began,
    )


# --- blocks the notebook shows ----------------------------------------------------------


def _l(key: str, plan: EvaluationPlan) -> str:
    return i18n.label(key, plan.lang)


def _pp(x: float, lang: str) -> str:
    return "—" if not math.isfinite(x) else i18n.number(x, lang, 1)


def _design_name(d: str, lang: str) -> str:
    return i18n.label(f"plan_design_{d}", lang)


def title(plan: EvaluationPlan) -> str:
    """Province, outcome and planned start."""
    return _l("plan_title", plan).format(
        province=plan.province.name, start=i18n.month(plan.start, plan.lang)
    )


def section(key: str, plan: EvaluationPlan) -> Section:
    """A numbered section heading (``plan_section_<key>`` in the labels)."""
    return Section(_l(f"plan_section_{key}", plan))


def meta(plan: EvaluationPlan) -> Meta:
    """Title block and provenance for the template."""
    lang, src = plan.lang, plan.source
    provenance = base.source_provenance(src, lang)
    facts = [
        (i18n.label("province", lang), plan.province.name),
        (i18n.label("quantity", lang), i18n.label(plan.outcome, lang)),
        (
            _l("plan_history", plan),
            f"{i18n.month(plan.history[0], lang)} – {i18n.month(plan.history[1], lang)}",
        ),
        (i18n.label("method", lang), "; ".join(_design_name(d, lang) for d in plan.designs)),
    ]
    return base.meta(
        lang,
        kind=_l("plan_kind", plan),
        title=title(plan),
        subtitle=i18n.label(plan.outcome, lang),
        facts=facts,
        synthetic=src.synthetic,
        provenance=provenance,
        data_files=src.files,
    )


def key_finding(plan: EvaluationPlan) -> Paragraph:
    """Which design detects the smallest effect after 12 months, and the months for 5/10 pp."""
    lang, best = plan.lang, plan.best(12)
    p = plan.designs[best]
    need = [p.months_needed(t) for t in TARGETS]
    text = _l("plan_finding", plan).format(
        design=_design_name(best, lang),
        mde12=_pp(p.mde[12], lang),
        mde24=_pp(p.mde[24], lang),
        m5=need[0] if need[0] else "> 24",
        m10=need[1] if need[1] else "> 24",
    )
    return Paragraph(text)


def mde_table(plan: EvaluationPlan) -> Table:
    """MDE (pp, 80 % power, 5 % level) by design and post-period length."""
    lang = plan.lang
    rows = []
    for d, p in plan.designs.items():
        row = {_l("plan_col_design", plan): _design_name(d, lang)}
        for h in HORIZONS:
            row[_l("plan_col_months", plan).format(h=h)] = _pp(p.mde[h], lang)
        row[_l("plan_col_placebos", plan)] = str(len(p.draws))
        rows.append(row)
    return Table(pd.DataFrame(rows), _l("plan_mde_caption", plan), _l("plan_mde_note", plan))


def months_table(plan: EvaluationPlan) -> Table:
    """Months of post-period needed to detect 5 and 10 pp."""
    rows = []
    for d, p in plan.designs.items():
        row = {_l("plan_col_design", plan): _design_name(d, plan.lang)}
        for t in TARGETS:
            m = p.months_needed(t)
            row[_l("plan_col_detect", plan).format(t=i18n.number(t, plan.lang, 0))] = (
                str(m) if m else "> 24"
            )
        rows.append(row)
    return Table(pd.DataFrame(rows), _l("plan_months_caption", plan))


def analytic_table(plan: EvaluationPlan) -> Table:
    """Placebo MDE beside the analytic approximation, where one exists."""
    rows = []
    for d, p in plan.designs.items():
        for h in HORIZONS:
            a = p.analytic_mde[h]
            rows.append(
                {
                    _l("plan_col_design", plan): _design_name(d, plan.lang),
                    _l("plan_col_post", plan): str(h),
                    _l("plan_col_placebo_mde", plan): _pp(p.mde[h], plan.lang),
                    _l("plan_col_analytic_mde", plan): _pp(a, plan.lang),
                    _l("plan_col_ratio", plan): _pp(p.mde[h] / a, plan.lang)
                    if math.isfinite(a) and a > 0
                    else "—",
                }
            )
    return Table(
        pd.DataFrame(rows), _l("plan_analytic_caption", plan), _l("plan_analytic_note", plan)
    )


def power_chart(plan: EvaluationPlan, h: int = 12) -> Chart:
    """Power against effect size after ``h`` months, one line per design."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for d, p in plan.designs.items():
        curve = p.power_curve(h)
        ax.plot(curve["effect"], 100 * curve["power"], label=_design_name(d, plan.lang))
    ax.axhline(80, color="grey", lw=0.8, ls="--")
    ax.set_xlim(0, 30)
    ax.set_ylim(0, 100)
    ax.set_xlabel(_l("plan_axis_effect", plan))
    ax.set_ylabel(_l("plan_axis_power", plan))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    chart = Chart.from_figure(fig, _l("plan_power_caption", plan).format(h=h))
    plt.close(fig)
    return chart


def rollout_text(plan: EvaluationPlan) -> Paragraph:
    """Whether a staggered rollout over districts/communes could be planned from these data."""
    if plan.rollout is None:
        return Paragraph(_l("plan_rollout_none", plan))
    unit = _l(f"plan_units_{plan.rollout}", plan)
    return Paragraph(_l("plan_rollout_impossible", plan).format(units=unit))


def weights_table(plan: EvaluationPlan) -> Table:
    """The comparison provinces that carry the synthetic control."""
    w = plan.synth_weights
    frame = pd.DataFrame(
        {
            i18n.label("province", plan.lang): w["unit"],
            _l("plan_col_weight", plan): [i18n.percent(v, plan.lang, 1) for v in w["weight"]],
        }
    )
    return Table(frame, _l("plan_weights_caption", plan))


def data_table(plan: EvaluationPlan) -> Table:
    """What the evaluation needs, month by month."""
    lang = plan.lang
    num, den = panel.RATES[plan.outcome]
    pre_from = plan.start - pd.DateOffset(months=MIN_PRE)
    rows = []
    for i in range(-3, MAX_POST):
        m = plan.start + pd.DateOffset(months=i)
        rows.append(
            {
                _l("plan_col_month", plan): i18n.month(m, lang),
                _l("plan_col_need", plan): _l(
                    "plan_need_pre" if i < 0 else "plan_need_post", plan
                ).format(num=num, den=den, n=len(plan.donors)),
                _l("plan_col_can_read", plan): _l("plan_can_read", plan).format(
                    designs=", ".join(
                        _design_name(d, lang)
                        for d, p in plan.designs.items()
                        if i >= 0 and (i + 1) in p.mde and p.mde[i + 1] <= TARGETS[1]
                    )
                    or "—"
                )
                if i >= 0
                else "—",
            }
        )
    note = _l("plan_data_note", plan).format(start=i18n.month(pre_from, lang), n=len(plan.donors))
    return Table(pd.DataFrame(rows), _l("plan_data_caption", plan), note)


def method_notes(plan: EvaluationPlan) -> Bullets:
    """How the numbers were made and what they assume."""
    n = {d: len(p.draws) for d, p in plan.designs.items()}
    return Bullets(
        tuple(
            _l(f"plan_note_{k}", plan).format(
                total=sum(n.values()), seconds=i18n.number(plan.seconds, plan.lang, 1)
            )
            for k in ("placebo", "shift", "test", "analytic", "donors", "time")
        )
    )
