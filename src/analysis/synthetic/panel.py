"""A synthetic monthly count panel with known, injected measure effects.

No monthly province series is public in machine-readable form, so the workbench ships a
synthetic panel in the schema of :mod:`analysis.panel` that resembles the published figures
(``shared/reference/calibration.md``) and carries the effects of the measures of
``config/measures.csv`` at sizes declared as data in ``analysis/data/synth_effects.yaml``. The
designs (ITS, DiD, synthetic control) can then be checked against ``ground_truth.csv``.

Structure
---------
- Rows: the 63 old provinces (boundary ``old63``) x levels province / district / commune, monthly
  up to June 2025; then the 34 new provinces (``new34``) x province / commune from July 2025.
- Rates, per province and outcome, in percentage points (pp):
  ``expected(level, t) = cf(t) + gap_level(cf(t)) + e(t) + u_level(t) + effects(t)``, where
  ``cf`` is the province-total counterfactual, **linear in pp over time** (intercept + slope in
  pp/year); a soft clip (exponential knees near the floor and the ceiling) is only a guard that
  never engages on the old boundary (2020-01 to 2025-06, checked in :func:`generate`): slopes are
  narrowed instead, so the path is never bent there;
  ``e`` is AR(1) month noise common to the levels (sd 1-1.5 pp for online submission, phi
  0.3-0.5); ``u`` small independent level noise; ``gap`` the level structure (provincial level
  highest, commune lowest), proportional to cf(1 - cf) and zero when weighted by the
  province's expected level shares. Counts are then binomial draws. A linear counterfactual is
  a deliberate choice: a segmented-regression ITS on province totals is then correctly
  specified. The gaps cancel exactly in the province total (no level's expected rate meets the
  hard clip), so ``SynthData.expected`` (effects=False) is exactly linear on the old boundary;
  from July 2025 the soft clip may engage for provinces near a bound.
- Effects (``synth_effects.yaml``) are added in pp to the expected rate of every level, so the
  province-total effect is the declared value; they never interact with the level gaps.
  ``generate(effects=False)`` gives the same draws without them (the counterfactual panel).
- From July 2025 a new province's counterfactual is the dossier-weighted mean of its old
  provinces' paths, and effects in force across the merger carry over scaled by the old
  province's dossier share, so merged series are continuous apart from national-zero-fee.

Calibration (what was set to what)
----------------------------------
- Online submission 2022 (calendar-year mean of cf): pinned to the published Jan-Nov 2022
  values of the top five (Hòa Bình 86.5, Đà Nẵng 67, Nam Định 65.9, Lạng Sơn 64.2, Ninh Bình
  63.9) and bottom five (Bạc Liêu 7.4, Sơn La 8.3, Nghệ An 8.6, Bình Thuận 9.3, Quảng Ngãi 9.7);
  the others drawn between them (11-62, mean about 33); slopes 2-8 pp/year, narrowed where the
  path would leave the linear range (below the 1 pp/year floor where only that keeps the
  2020-01 to 2025-06 path linear, e.g. Hòa Bình). This gives a country rate in the low 40s by mid-2024
  (43 % published). The published 5 % for 2019 is not matched: a linear path from the 2022
  spread cannot reach it, and that figure is for the highest service level only.
- Bắc Ninh online 25 % in 2022 and online payment 5 % in 2022 (derived: 72 % and 45 % in
  October 2023 were +43 and +40 points on before Directive 10); Thái Nguyên electronic results
  34 % in 2023 (34.03 % Jan-Aug 2023).
- Other rates, 2023 province-total ranges: on time 85-96 %, sync 60-90 %, online payment 5-45 %
  (rising 3-10 pp/year towards the 80 % target), electronic results 30-60 %, digitisation
  40-80 %; satisfaction 87-92 % in 2022 rising up to 2 pp/year (90 % in 2022, 93 % in
  2024 published; about 91 % in 2024 here, the slopes being narrowed to stay linear).
  Fully online = a province share (25-65 %; Hà Nội and Hồ Chí Minh 15 %, "below 10 %" in 2024)
  of online submission, about 18 % for provinces at the end of 2024 (18.54 % published).
- Level gaps at a 50 % rate, provincial level over the province total: online 10 pp, payment
  15 pp, digitisation 12 pp (Bắc Ninh: provincial 79 / district 68 online, 96 / 70 digitised).
- Volumes: 2024 monthly dossiers log-normal around 20,000 (10,000-45,000), Hà Nội 75,000 and
  Hồ Chí Minh 80,000 (the two biggest), Hà Nam 14,000 (168,746 in 2024), Bắc Ninh 36,000;
  growth 0-4 %/year. So a province handles 1e5-1e6 dossiers a year (the country's 1e8 includes
  ministries and sectors outside this panel). Level shares about 25/35/40 % (province /
  district / commune), 35/65 % after the merger. Tết: volume x (1 - 0.045 x Tết holiday days
  in the month, :func:`analysis.calendar.tet_days`), a mild month seasonality (year-end rush)
  and 5 % log-normal noise.
- Counts: fee-bearing 33-57 % of received, result-issuing 73-87 %, ratings 13-37 %; handled =
  received - carried to next month + carried from last month (3-8 % carry-over).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis import config, measures, panel, registry
from analysis.calendar import tet_days
from analysis.errors import WorkbenchError
from analysis.files import atomic_path, atomic_write, sha256
from analysis.panel import COUNT_COLUMNS, KEY_COLUMNS, RATES

# Bump when the same seed would give different data.
VERSION = "2"
EFFECTS_FILE = config.PACKAGE_DATA / "synth_effects.yaml"
TRUTH_COLUMNS = [
    "measure_id",
    "boundary",
    "province_code",
    "province",
    "outcome",
    "month",
    "effect_pp",
]

OLD_LEVELS = ("province", "district", "commune")
NEW_LEVELS = ("province", "commune")
OLD_SHARES = (0.25, 0.35, 0.40)
NEW_SHARES = (0.35, 0.65)
DISTRICT_GAP = -0.1  # the district level's gap, as a share of the provincial level's

# The fixed calendar span used to keep slopes inside the linear range (not the generated span,
# so that the province parameters do not depend on start/end).
SPAN_START, SPAN_END = 2020.0, 2026 + 11 / 12
# The old boundary's span (2020-01 to 2025-06), on which every province-total counterfactual is
# exactly linear: slopes are narrowed so that the soft clip never engages there.
OLD_SPAN_START, OLD_SPAN_END = 2020.0, 2025 + 5 / 12
OLD_SPAN_YEARS = OLD_SPAN_START + np.arange(66) / 12

TET_DROP_PER_DAY = 0.045
SEASON = np.array([1.00, 1.00, 1.04, 1.00, 0.99, 1.00, 0.98, 0.99, 1.00, 1.01, 1.02, 1.05])
VOLUME_NOISE = 0.05
VOLUME_MEDIAN, VOLUME_SIGMA, VOLUME_RANGE = 20_000, 0.4, (10_000, 45_000)
# 2024 monthly dossiers (all levels) where a published figure or the brief fixes them.
VOLUME_ANCHORS = {"Hà Nội": 75_000, "Hồ Chí Minh": 80_000, "Hà Nam": 14_000, "Bắc Ninh": 36_000}
FULL_SHARE_RANGE = (0.25, 0.65)
FULL_SHARE_FIXED = {"Hà Nội": 0.15, "Hồ Chí Minh": 0.15}
FULL_GAP, FULL_NOISE = 8.0, 0.8

# Calendar-year mean of the province-total counterfactual, in %: (outcome, old province) ->
# (year, value). See the module docstring for the sources.
ANCHORS: dict[tuple[str, str], tuple[int, float]] = {
    ("online_rate", "Hòa Bình"): (2022, 86.5),
    ("online_rate", "Đà Nẵng"): (2022, 67.0),
    ("online_rate", "Nam Định"): (2022, 65.9),
    ("online_rate", "Lạng Sơn"): (2022, 64.2),
    ("online_rate", "Ninh Bình"): (2022, 63.9),
    ("online_rate", "Bạc Liêu"): (2022, 7.4),
    ("online_rate", "Sơn La"): (2022, 8.3),
    ("online_rate", "Nghệ An"): (2022, 8.6),
    ("online_rate", "Bình Thuận"): (2022, 9.3),
    ("online_rate", "Quảng Ngãi"): (2022, 9.7),
    ("online_rate", "Bắc Ninh"): (2022, 25.0),
    ("online_payment_rate", "Bắc Ninh"): (2022, 5.0),
    ("e_result_rate", "Thái Nguyên"): (2023, 34.0),
}


@dataclass(frozen=True)
class RateSpec:
    """How one rate's province-total counterfactual is drawn (all values in pp)."""

    ref_year: int  # the year whose mean is drawn from `level`
    level: tuple[float, float]  # uniform range of that mean (online: scaled beta, see code)
    slope: tuple[float, float]  # pp per year
    slope_floor: float
    floor: float  # lower asymptote of the soft clip
    floor_knee: float
    ceiling: float  # upper asymptote for the province total (lowered by gap and effects)
    ceiling_knee: float
    gap: float  # provincial level minus province total at a 50 % rate
    noise: tuple[float, float]  # sd range of the AR(1) month noise
    cap: float = 97.5  # highest expected rate of any level, effects included


SPECS: dict[str, RateSpec] = {
    "online_rate": RateSpec(2022, (11, 62), (2, 8), 1.0, 2, 3, 95, 2, 10, (1.0, 1.5)),
    "on_time_rate": RateSpec(2023, (85, 96), (0, 1.5), 0.0, 50, 5, 98.5, 3, 2, (0.5, 1.0), 99),
    "sync_rate": RateSpec(2023, (60, 90), (1, 5), 0.5, 20, 5, 97, 4, 5, (0.8, 1.2)),
    "online_payment_rate": RateSpec(2023, (5, 45), (3, 10), 1.0, 1, 2, 95, 5, 15, (1.0, 1.5)),
    "e_result_rate": RateSpec(2023, (30, 60), (3, 8), 1.0, 5, 5, 95, 5, 8, (1.0, 1.5)),
    "digitisation_rate": RateSpec(2023, (40, 80), (2, 6), 0.5, 10, 5, 95, 5, 12, (1.0, 1.5)),
    "satisfaction_rate": RateSpec(
        2022, (87, 92), (0.5, 2), 0.0, 60, 5, 99.5, 2, 1.5, (0.5, 1.0), 99.5
    ),
}
# fully_online_rate is derived: a province share of the online counterfactual.
OUTCOMES = list(RATES)
AR_PHI = (0.3, 0.5)
LEVEL_NOISE = 0.5


@dataclass(frozen=True)
class SynthData:
    """A synthetic panel and what was injected into it.

    Attributes
    ----------
    panel : pandas.DataFrame
        ``KEY_COLUMNS + COUNT_COLUMNS`` of :mod:`analysis.panel`.
    truth : pandas.DataFrame
        One row per measure x province x outcome x month with a non-zero injected effect:
        ``TRUTH_COLUMNS`` (``effect_pp`` is the shift of the expected rate, in pp).
    params : dict
        Seed, span, whether effects were injected, adoption dates, input file hashes and a
        per outcome, the cells where an injected effect met a clip
        (none by design; JSON-serialisable).
    expected : pandas.DataFrame or None
        The province-total expected rate per boundary x province x outcome x month before the
        AR(1) noise, the level noise, the volume noise and the binomial sampling:
        ``boundary, province_code, province, outcome, month, expected_pp`` (in pp; effects
        included when injected). With ``effects=False`` it is the counterfactual, exactly
        linear in months on the old boundary (2020-01 to 2025-06). Not written to disk.
    """

    panel: pd.DataFrame
    truth: pd.DataFrame
    params: dict = field(default_factory=dict)
    expected: pd.DataFrame | None = field(default=None, repr=False, compare=False)


# --- effects file ---


@dataclass(frozen=True)
class _Effect:
    measure_id: str
    outcome: str
    effect_pp: float
    ramp_months: int


def _shown(path: Path | str) -> str:
    """A path relative to the project root when it lies inside it (manifests stay portable)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(config.ROOT).as_posix()
    except ValueError:
        return str(path)


def load_effects(
    path: Path | str = EFFECTS_FILE, known: Iterable[str] | None = None
) -> dict[str, dict]:
    """Read and validate the effects file.

    Parameters
    ----------
    path : path-like, default ``analysis/data/synth_effects.yaml``
    known : iterable of str, optional
        The measure ids of the measures file; an entry naming another id is an error.

    Returns
    -------
    dict
        measure_id -> ``{"effects": [_Effect, ...], "applies_to": str | None,
        "adoption": dict | None}``.

    Raises
    ------
    WorkbenchError
        Naming the entry and field that is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"effects file not found: {path}", "check the path")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WorkbenchError(f"{path}: not valid YAML ({exc})", "fix the syntax") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("measures"), list):
        raise WorkbenchError(f"{path}: no 'measures' list", "see the comments at the file's top")
    known = set(known) if known is not None else None
    out: dict[str, dict] = {}
    for i, entry in enumerate(doc["measures"], start=1):
        where = f"{path}, measures entry {i}"
        if not isinstance(entry, dict) or not entry.get("measure_id"):
            raise WorkbenchError(f"{where}: no measure_id", "give every entry a measure_id")
        mid = str(entry["measure_id"])
        where = f"{path}, measure {mid!r}"
        if known is not None and mid not in known:
            raise WorkbenchError(
                f"{where}: not in the measures file", "use an id of config/measures.csv"
            )
        if mid in out:
            raise WorkbenchError(f"{where}: listed twice", "list each measure once")
        effects = []
        for j, eff in enumerate(entry.get("effects") or [], start=1):
            spot = f"{where}, effect {j}"
            if not isinstance(eff, dict):
                raise WorkbenchError(f"{spot}: not a mapping", "write {outcome, effect_pp, ...}")
            outcome = eff.get("outcome")
            if outcome not in RATES:
                raise WorkbenchError(
                    f"{spot}: unknown outcome {outcome!r}", f"use one of {', '.join(RATES)}"
                )
            value, ramp = eff.get("effect_pp"), eff.get("ramp_months", 1)
            if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 50:
                raise WorkbenchError(
                    f"{spot}: effect_pp {value!r} is not a number of points within ±50",
                    "write e.g. effect_pp: 8 for +8 percentage points",
                )
            if isinstance(ramp, bool) or not isinstance(ramp, int) or ramp < 1:
                raise WorkbenchError(
                    f"{spot}: ramp_months {ramp!r} is not a whole number >= 1",
                    "write e.g. ramp_months: 3 (1 = full effect from the first month)",
                )
            effects.append(_Effect(mid, outcome, float(value), ramp))
        applies_to = entry.get("applies_to")
        if applies_to not in (None, "every_new34_province"):
            raise WorkbenchError(
                f"{where}: applies_to {applies_to!r} unknown", "use every_new34_province or omit it"
            )
        adoption = entry.get("adoption")
        if adoption is not None:
            try:
                adoption = {
                    "earliest": pd.Timestamp(str(adoption["earliest"])),
                    "latest": pd.Timestamp(str(adoption["latest"])),
                    "pinned_by": [str(x) for x in adoption.get("pinned_by") or []],
                }
            except (KeyError, TypeError, ValueError):
                raise WorkbenchError(
                    f"{where}: adoption needs earliest and latest months (YYYY-MM)",
                    "e.g. earliest: 2025-07, latest: 2025-10",
                ) from None
            if adoption["latest"] < adoption["earliest"]:
                raise WorkbenchError(f"{where}: adoption latest before earliest", "swap them")
        out[mid] = {"effects": effects, "applies_to": applies_to, "adoption": adoption}
    return out


# --- numeric helpers ---


def _soft_clip(x: np.ndarray, floor, floor_knee, ceiling, ceiling_knee) -> np.ndarray:
    """Identity between floor + knee and ceiling - knee, exponential approach to the bounds."""
    x = np.asarray(x, dtype=float)
    lo_edge = floor + floor_knee
    hi_edge = ceiling - ceiling_knee
    low = lo_edge + floor_knee * np.expm1(np.minimum(x - lo_edge, 0) / floor_knee)
    high = hi_edge - ceiling_knee * np.expm1(-np.maximum(x - hi_edge, 0) / ceiling_knee)
    return np.where(x < lo_edge, low, np.where(x > hi_edge, high, x))


def _gap_factor(rate_pp: np.ndarray) -> np.ndarray:
    """4 r (1 - r): 1 at 50 %, falling to 0 at both ends, so level gaps never leave [0, 100]."""
    r = np.clip(rate_pp, 0, 100) / 100
    return 4 * r * (1 - r)


def _ceiling_for(spec: RateSpec, max_effect: np.ndarray) -> np.ndarray:
    """Highest province total such that the provincial level + effects stay <= cap.

    A margin of two noise sds (plus the level noise) is kept free for the month noise.
    """
    b = spec.cap - (2 * spec.noise[1] + 2 * LEVEL_NOISE) - max_effect
    a = 4 * spec.gap / 10_000
    if a == 0:
        return np.minimum(spec.ceiling, b)
    # Solve A + a A (100 - A) = b for the root below 50 + 1/(2a).
    root = ((1 + 100 * a) - np.sqrt((1 + 100 * a) ** 2 - 4 * a * b)) / (2 * a)
    return np.minimum(spec.ceiling, root)


def _ar1(
    rng: np.random.Generator,
    sd: np.ndarray,
    phi: np.ndarray,
    n: int,
    previous: np.ndarray | None = None,
) -> np.ndarray:
    """AR(1) paths with marginal sd ``sd`` (shape S) over ``n`` months -> shape S + (n,).

    ``previous`` (shape S), when given, is the value in the month before the first, so that a
    path can continue another one (the new provinces continue their old provinces' noise).
    """
    shocks = rng.standard_normal(sd.shape + (n,))
    out = np.empty_like(shocks)
    innovation = sd * np.sqrt(1 - phi**2)
    if previous is None:
        out[..., 0] = sd * shocks[..., 0]
    else:
        out[..., 0] = phi * previous + innovation * shocks[..., 0]
    for t in range(1, n):
        out[..., t] = phi * out[..., t - 1] + innovation * shocks[..., t]
    return out


def _years(months: pd.DatetimeIndex) -> np.ndarray:
    return (months.year + (months.month - 1) / 12).to_numpy(dtype=float)


def _solve_intercept(target, slope, year, spec_bounds) -> np.ndarray:
    """Intercept (value at mid ``year``) whose soft-clipped path averages ``target`` over ``year``."""
    floor, floor_knee, ceiling, ceiling_knee = spec_bounds
    offsets = (np.arange(12) - 5.5) / 12  # months of the year around its middle, in years
    lo = np.full_like(target, -100.0)
    hi = np.full_like(target, 200.0)
    for _ in range(60):  # bisection: the clipped mean is monotone in the intercept
        mid = (lo + hi) / 2
        path = mid[:, None] + slope[:, None] * offsets[None, :]
        mean = _soft_clip(path, floor[:, None], floor_knee, ceiling[:, None], ceiling_knee).mean(1)
        below = mean < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2


def _in_force(
    start: pd.Timestamp, end: pd.Timestamp | None, months: pd.DatetimeIndex, ramp: int
) -> np.ndarray:
    """Share of the full effect per month: days in force x linear ramp from the start month."""
    days = months.days_in_month.to_numpy()
    first = months.to_numpy()
    last = (months + pd.offsets.MonthEnd(0)).to_numpy()
    lo = np.maximum(first, np.datetime64(start))
    hi = last if end is None else np.minimum(last, np.datetime64(end))
    in_force = np.clip((hi - lo) / np.timedelta64(1, "D") + 1, 0, None) / days
    k = (months.year - start.year) * 12 + (months.month - start.month)
    build_up = np.clip((k.to_numpy() + 1) / ramp, 0, 1)
    return in_force * build_up


# --- generator ---


def _month_range(start, end) -> pd.DatetimeIndex:
    try:
        first = pd.Timestamp(str(start)).to_period("M").to_timestamp()
        last = pd.Timestamp(str(end)).to_period("M").to_timestamp()
    except (ValueError, TypeError):
        raise WorkbenchError(
            f"cannot read the span {start!r} to {end!r}", 'give months as "YYYY-MM"'
        ) from None
    if last < first:
        raise WorkbenchError(f"end {end} is before start {start}", "swap start and end")
    if first.year < 2015 or last.year > 2035:
        raise WorkbenchError(
            f"span {start} to {end} is outside 2015-2035", "the calibration covers 2020-2026"
        )
    return pd.date_range(first, last, freq="MS", unit="ns")


@dataclass(frozen=True)
class _Map:
    """The span and the two boundaries: which old province sits in which new one."""

    months: pd.DatetimeIndex
    is_old: np.ndarray  # month on the old63 boundary (before the merger)
    years: np.ndarray  # decimal years, mid-month
    old: list
    new: list
    old_index: dict[str, int]
    new_index: dict[str, int]
    member: np.ndarray  # old province -> its new province's row
    merge: np.ndarray | None = None  # (n_new, n_old) dossier weights at the merger

    def to_new(self, x: np.ndarray) -> np.ndarray:
        """Old-province rows as dossier-weighted means on the new provinces."""
        return self.merge @ x


@dataclass(frozen=True)
class _Provinces:
    """Province parameters: sizes fixed, independent of the span (draws of ``rng_par``)."""

    vol_2024: np.ndarray
    growth: np.ndarray
    old_shares: np.ndarray  # (n_old, 3) level shares of dossiers
    new_shares: np.ndarray  # (n_new, 2)
    carry: np.ndarray
    fee_share: np.ndarray
    result_share: np.ndarray
    rating_share: np.ndarray
    full_share: np.ndarray
    adoption_offset: np.ndarray  # months after the earliest adoption month, per new province


def generate(
    seed: int = 766,
    start: str = "2020-01",
    end: str = "2026-09",
    *,
    effects: bool = True,
    effects_file: Path | str = EFFECTS_FILE,
    measures_file: Path | str = config.MEASURES_FILE,
) -> SynthData:
    """Generate the synthetic panel and its ground truth.

    Parameters
    ----------
    seed : int, default 766
        Seed of ``numpy.random.default_rng``; the same seed gives the same panel.
    start, end : str, default "2020-01", "2026-09"
        First and last month. Months before ``config.MERGER_DATE`` are on the old63 boundary,
        later ones on new34.
    effects : bool, default True
        False gives the counterfactual: the same random draws without the injected effects
        (the truth table is then empty).
    effects_file, measures_file : path-like
        The effect sizes and the measures (dates, provinces).

    Returns
    -------
    SynthData

    Raises
    ------
    WorkbenchError
        For an unreadable span or an invalid effects/measures file.
    """
    months = _month_range(start, end)
    measure_table = measures.load(measures_file)
    spec_effects = load_effects(effects_file, known=measure_table)
    old, new = registry.provinces("old63"), registry.provinces("new34")
    new_pos = {p.code: i for i, p in enumerate(new)}
    where = _Map(
        months=months,
        is_old=np.asarray(months < pd.Timestamp(config.MERGER_DATE)),
        years=_years(months),
        old=old,
        new=new,
        old_index={p.name: i for i, p in enumerate(old)},
        new_index={p.name: i for i, p in enumerate(new)},
        member=np.array([new_pos[p.new_code] for p in old]),
    )
    # Four streams, so that a stage's draws never shift another's.
    seeds = np.random.SeedSequence(seed).spawn(4)
    rng_par, rng_noise, rng_vol, rng_bin = (np.random.default_rng(s) for s in seeds)

    # Computed even when effects=False, so that both panels share every draw.
    max_effect = _max_effects(where, spec_effects, measure_table)
    prov = _draw_provinces(rng_par, where)
    cf_old, noise_sd, phi = _counterfactuals(rng_par, where, prov, max_effect)
    # Dossier weights of the old provinces inside their new province (at the merger).
    weight = prov.vol_2024 * (1 + prov.growth) ** (2025.5 - 2024.5)
    totals = np.bincount(where.member, weights=weight, minlength=len(new))
    merge = np.zeros((len(new), len(old)))
    merge[where.member, np.arange(len(old))] = weight / totals[where.member]
    where = replace(where, merge=merge)

    eff_old, eff_new, truth_parts, adoption_dates = _effects(
        where, spec_effects, measure_table, prov.adoption_offset, effects
    )
    expected_old, expected_new, mean_old, mean_new, clipped = _level_rates(
        rng_noise, where, prov, cf_old, noise_sd, phi, eff_old, eff_new
    )
    expected_total = _expected_totals(where, prov, mean_old, mean_new)
    received_old, received_new = _volumes(rng_vol, where, prov)
    frames = _count_frames(
        rng_bin, where, prov, (received_old, expected_old), (received_new, expected_new)
    )
    # validate() checks the invariants and gives the canonical types (month datetime64[ns]).
    table = panel.validate(pd.concat(frames, ignore_index=True), source="synthetic panel")
    params = {
        "seed": int(seed),
        "start": f"{months[0]:%Y-%m}",
        "end": f"{months[-1]:%Y-%m}",
        "effects": bool(effects),
        "version": VERSION,
        "national_zero_fee_adoption": adoption_dates,
        "clipped_cells_with_effect": {o: n for o, n in clipped.items() if n},
        "measures_without_effect": sorted(
            mid for mid in measure_table if not (spec_effects.get(mid) or {}).get("effects")
        ),
        "inputs": {
            "measures": {"path": _shown(measures_file), "sha256": sha256(measures_file)},
            "effects": {"path": _shown(effects_file), "sha256": sha256(effects_file)},
        },
    }
    return SynthData(
        panel=table[KEY_COLUMNS + COUNT_COLUMNS],
        truth=_truth_table(truth_parts),
        params=params,
        expected=expected_total,
    )


def _max_effects(where: _Map, spec_effects: dict, measure_table: dict) -> dict[str, np.ndarray]:
    """Largest effect an old province can receive per outcome (headroom under the cap)."""
    merger = pd.Timestamp(config.MERGER_DATE)
    n_old, n_new = len(where.old), len(where.new)
    max_effect = {o: np.zeros(n_old) for o in OUTCOMES}
    alone = np.bincount(where.member, minlength=n_new)[where.member] == 1
    for mid, entry in spec_effects.items():
        m = measure_table[mid]
        for eff in entry["effects"]:
            size = max(eff.effect_pp, 0)
            if entry["applies_to"] == "every_new34_province":
                # A merged province's rate is an average, below its highest member; only an
                # old province that is a new province on its own meets the effect at full height.
                max_effect[eff.outcome][alone] += size
            elif m.start < merger and m.province_old in where.old_index:
                max_effect[eff.outcome][where.old_index[m.province_old]] += size
            elif m.province_new in where.new_index:
                max_effect[eff.outcome][where.member == where.new_index[m.province_new]] += size
    return max_effect


def _draw_provinces(rng_par: np.random.Generator, where: _Map) -> _Provinces:
    """Volumes, level shares and the shares of the count columns, per province."""
    n_old, n_new = len(where.old), len(where.new)
    vol_2024 = np.exp(rng_par.normal(np.log(VOLUME_MEDIAN), VOLUME_SIGMA, n_old))
    vol_2024 = np.clip(vol_2024, *VOLUME_RANGE)
    for name, value in VOLUME_ANCHORS.items():
        vol_2024[where.old_index[name]] = value
    growth = rng_par.uniform(0.0, 0.04, n_old)
    old_shares = rng_par.dirichlet(np.array(OLD_SHARES) * 200, n_old)
    new_share_p = rng_par.beta(NEW_SHARES[0] * 200, NEW_SHARES[1] * 200, n_new)
    carry = rng_par.uniform(0.03, 0.08, n_old)
    fee_share = rng_par.uniform(0.33, 0.57, n_old)
    result_share = rng_par.uniform(0.73, 0.87, n_old)
    rating_share = rng_par.uniform(0.13, 0.37, n_old)
    full_share = rng_par.uniform(*FULL_SHARE_RANGE, n_old)
    for name, value in FULL_SHARE_FIXED.items():
        full_share[where.old_index[name]] = value
    return _Provinces(
        vol_2024=vol_2024,
        growth=growth,
        old_shares=old_shares,
        new_shares=np.column_stack([new_share_p, 1 - new_share_p]),
        carry=carry,
        fee_share=fee_share,
        result_share=result_share,
        rating_share=rating_share,
        full_share=full_share,
        adoption_offset=rng_par.integers(0, 4, n_new),
    )


def _counterfactuals(
    rng_par: np.random.Generator, where: _Map, prov: _Provinces, max_effect: dict
) -> tuple[dict, dict, dict]:
    """Province-total counterfactual paths (pp, old63 rows), their noise sd and AR(1) φ."""
    n_old = len(where.old)
    cf_old: dict[str, np.ndarray] = {}  # outcome -> (n_old, n_t) province-total cf in pp
    noise_sd: dict[str, np.ndarray] = {}
    phi: dict[str, np.ndarray] = {}
    for outcome, spec in SPECS.items():
        if outcome == "online_rate":
            # Skewed towards the lower half: most provinces were far from the top five in 2022.
            target = spec.level[0] + (spec.level[1] - spec.level[0]) * rng_par.beta(2, 2.5, n_old)
        else:
            target = rng_par.uniform(*spec.level, n_old)
        slope = rng_par.uniform(*spec.slope, n_old)
        noise_sd[outcome] = rng_par.uniform(*spec.noise, n_old)
        phi[outcome] = rng_par.uniform(*AR_PHI, n_old)
        ref = np.full(n_old, float(spec.ref_year))
        ceiling = _ceiling_for(spec, max_effect[outcome])
        # A drawn level stays inside the linear range below the room left for the effects.
        target = np.minimum(target, ceiling - spec.ceiling_knee)
        for (anchor_outcome, name), (year, value) in ANCHORS.items():
            if anchor_outcome == outcome:
                target[where.old_index[name]], ref[where.old_index[name]] = value, year
        lo_edge = spec.floor + spec.floor_knee  # the linear range of the soft clip
        hi_edge = ceiling - spec.ceiling_knee
        if np.any((target > hi_edge) | (target < lo_edge)):
            raise ValueError(f"{outcome}: an anchor sits outside the linear range of the clip")
        mid_ref = ref + 5.5 / 12
        # Keep the whole 2020-2026 path inside the linear range where the target allows it,
        # but never below the slope floor ...
        room_up = (hi_edge - target) / (SPAN_END - mid_ref)
        room_down = (target - lo_edge) / (mid_ref - SPAN_START)
        slope = np.maximum(spec.slope_floor, np.minimum(slope, np.minimum(room_up, room_down)))
        # ... unless the floor would take the old-boundary path (2020-01 to 2025-06) out of the
        # linear range: there the path is narrowed, never bent, so that the province-total
        # counterfactual is exactly linear and a segmented-regression ITS correctly specified.
        # (The small factor keeps the end months off the knees' edges under rounding.)
        old_up = (hi_edge - target) / (OLD_SPAN_END - mid_ref)
        old_down = (target - lo_edge) / (mid_ref - OLD_SPAN_START)
        slope = np.minimum(slope, (1 - 1e-9) * np.maximum(np.minimum(old_up, old_down), 0))
        floor = np.full(n_old, float(spec.floor))
        bounds = (floor, spec.floor_knee, ceiling, spec.ceiling_knee)
        intercept = np.zeros(n_old)
        for year in np.unique(ref):
            rows = ref == year
            intercept[rows] = _solve_intercept(
                target[rows], slope[rows], year, tuple(b[rows] if np.ndim(b) else b for b in bounds)
            )

        # Guard: the soft clip must never engage on the old boundary's span.
        for t, on_old_span in ((OLD_SPAN_YEARS, True), (where.years, False)):
            line = intercept[:, None] + slope[:, None] * (t[None, :] - mid_ref[:, None])
            soft = _soft_clip(
                line, floor[:, None], spec.floor_knee, ceiling[:, None], spec.ceiling_knee
            )
            if on_old_span and np.abs(soft - line).max() > 1e-9:
                raise ValueError(f"{outcome}: the soft clip engages on the old-boundary span")
        cf_old[outcome] = soft
    cf_old["fully_online_rate"] = prov.full_share[:, None] * cf_old["online_rate"]
    noise_sd["fully_online_rate"] = np.full(n_old, FULL_NOISE)
    phi["fully_online_rate"] = rng_par.uniform(*AR_PHI, n_old)
    return cf_old, noise_sd, phi


def _effects(
    where: _Map, spec_effects: dict, measure_table: dict, adoption_offset: np.ndarray, effects: bool
) -> tuple[dict, dict, list[pd.DataFrame], dict[str, str]]:
    """The injected effects in pp on both boundaries, their truth rows and adoption dates."""
    months, is_old, old, new = where.months, where.is_old, where.old, where.new
    merger = pd.Timestamp(config.MERGER_DATE)
    n_old, n_new, n_t = len(old), len(new), len(months)
    eff_old = {o: np.zeros((n_old, n_t)) for o in OUTCOMES}
    eff_new = {o: np.zeros((n_new, n_t)) for o in OUTCOMES}
    truth_parts: list[pd.DataFrame] = []
    adoption_dates: dict[str, str] = {}

    def record(mid, boundary, provinces, rows, outcome, values, mask):
        for row in rows:
            keep = mask & (values[row] != 0)
            if keep.any():
                truth_parts.append(
                    pd.DataFrame(
                        {
                            "measure_id": mid,
                            "boundary": boundary,
                            "province_code": provinces[row].code,
                            "province": provinces[row].name,
                            "outcome": outcome,
                            "month": months[keep],
                            "effect_pp": values[row][keep],
                        }
                    )
                )

    for mid, entry in spec_effects.items():
        m = measure_table[mid]
        if entry["applies_to"] == "every_new34_province":
            adoption = entry["adoption"] or {
                "earliest": m.start,
                "latest": m.start,
                "pinned_by": [],
            }
            first = adoption["earliest"].to_period("M")
            span = (adoption["latest"].to_period("M") - first).n + 1
            starts = [(first + int(adoption_offset[i] % span)).to_timestamp() for i in range(n_new)]
            for pin in adoption["pinned_by"]:
                pinned = measure_table.get(pin)
                if pinned is not None and pinned.province_new in where.new_index:
                    starts[where.new_index[pinned.province_new]] = pinned.start
            adoption_dates = {p.name: f"{s:%Y-%m-%d}" for p, s in zip(new, starts, strict=True)}
            for eff in entry["effects"]:
                values = np.stack(
                    [eff.effect_pp * _in_force(s, m.end, months, eff.ramp_months) for s in starts]
                )
                values[:, is_old] = 0
                if effects:
                    eff_new[eff.outcome] += values
                    record(mid, "new34", new, range(n_new), eff.outcome, values, ~is_old)
            continue
        if m.province_old is None and m.province_new is None:
            continue
        for eff in entry["effects"]:
            share = eff.effect_pp * _in_force(m.start, m.end, months, eff.ramp_months)
            if not effects:
                continue
            if m.start < merger and m.province_old in where.old_index:
                i = where.old_index[m.province_old]
                values = np.zeros((n_old, n_t))
                values[i] = share
                eff_old[eff.outcome][i, is_old] += share[is_old]
                record(mid, "old63", old, [i], eff.outcome, values, is_old)
                carried = where.to_new(values)  # scaled by the old province's dossier share
                carried[:, is_old] = 0
                eff_new[eff.outcome] += carried
                record(mid, "new34", new, [where.member[i]], eff.outcome, carried, ~is_old)
            elif m.province_new in where.new_index:
                j = where.new_index[m.province_new]
                values = np.zeros((n_new, n_t))
                values[j] = share
                values[:, is_old] = 0
                eff_new[eff.outcome] += values
                record(mid, "new34", new, [j], eff.outcome, values, ~is_old)
    return eff_old, eff_new, truth_parts, adoption_dates


def _level_coefficients(shares: np.ndarray, district: bool) -> np.ndarray:
    """Gap multipliers per level that sum to zero when weighted by the level shares."""
    if district:
        commune = -(shares[:, 0] + DISTRICT_GAP * shares[:, 1]) / shares[:, 2]
        return np.column_stack([np.ones(len(shares)), np.full(len(shares), DISTRICT_GAP), commune])
    return np.column_stack([np.ones(len(shares)), -shares[:, 0] / shares[:, 1]])


def _level_rates(
    rng_noise: np.random.Generator,
    where: _Map,
    prov: _Provinces,
    cf_old: dict,
    noise_sd: dict,
    phi: dict,
    eff_old: dict,
    eff_new: dict,
) -> tuple[dict, dict, dict, dict, dict[str, int]]:
    """Expected rates per level (shares, with and without the month and level noise)."""
    n_old, n_new, n_t = len(where.old), len(where.new), len(where.months)
    coef_old = _level_coefficients(prov.old_shares, district=True)
    coef_new = _level_coefficients(prov.new_shares, district=False)
    expected_old, expected_new = {}, {}
    # The same without the month and level noise: the expected rates of the levels.
    mean_old, mean_new = {}, {}
    clipped = dict.fromkeys(OUTCOMES, 0)
    for outcome in OUTCOMES:
        gap = FULL_GAP if outcome == "fully_online_rate" else SPECS[outcome].gap
        sd, ph = noise_sd[outcome], phi[outcome]
        common_old = _ar1(rng_noise, sd, ph, n_t)
        # The new provinces' noise continues the dossier-weighted noise of their old ones.
        last_old = int(where.is_old.sum()) - 1
        common_new = np.zeros((n_new, n_t))
        if last_old + 1 < n_t:
            common_new[:, last_old + 1 :] = _ar1(
                rng_noise,
                where.to_new(sd[:, None])[:, 0],
                where.to_new(ph[:, None])[:, 0],
                n_t - last_old - 1,
                previous=where.to_new(common_old[:, last_old : last_old + 1])[:, 0]
                if last_old >= 0
                else None,
            )
        level_old = LEVEL_NOISE * rng_noise.standard_normal((n_old, 3, n_t))
        level_new = LEVEL_NOISE * rng_noise.standard_normal((n_new, 2, n_t))
        cf_n = where.to_new(cf_old[outcome])
        parts = (
            (cf_old[outcome], coef_old, common_old, level_old, eff_old[outcome], expected_old,
             mean_old),
            (cf_n, coef_new, common_new, level_new, eff_new[outcome], expected_new, mean_new),
        )  # fmt: skip
        for cf, coef, common, level_noise, eff, store, mean_store in parts:
            gaps = gap * coef[:, :, None] * _gap_factor(cf)[:, None, :]
            mean = cf[:, None, :] + gaps + eff[:, None, :]
            raw = mean + common[:, None, :] + level_noise
            cap = SPECS[outcome].cap if outcome in SPECS else 97.5
            value = np.clip(raw, 0.1, cap)
            clipped[outcome] += int(((value != raw) & (eff[:, None, :] != 0)).sum())
            store[outcome] = value / 100
            mean_store[outcome] = np.clip(mean, 0.1, cap) / 100
    # Fully online dossiers are drawn among the online ones: keep their share of them below 98 %.
    for store, eff in ((expected_old, eff_old), (expected_new, eff_new)):
        ceiling = 0.98 * store["online_rate"]
        over = store["fully_online_rate"] > ceiling
        clipped["fully_online_rate"] += int(
            (over & (eff["fully_online_rate"][:, None, :] != 0)).sum()
        )
        store["fully_online_rate"] = np.minimum(store["fully_online_rate"], ceiling)
    for store in (mean_old, mean_new):
        store["fully_online_rate"] = np.minimum(
            store["fully_online_rate"], 0.98 * store["online_rate"]
        )
    return expected_old, expected_new, mean_old, mean_new, clipped


def _expected_totals(where: _Map, prov: _Provinces, mean_old: dict, mean_new: dict) -> pd.DataFrame:
    """Province-total expected rates (pp): the level rates weighted by the expected level
    shares (every denominator's expectation is proportional to them), before noise and
    sampling."""
    expected_parts = []
    for boundary, provinces, shares, store, mask in (
        ("old63", where.old, prov.old_shares, mean_old, where.is_old),
        ("new34", where.new, prov.new_shares, mean_new, ~where.is_old),
    ):
        if not mask.any():
            continue
        n_s = int(mask.sum())
        for outcome in OUTCOMES:
            total = 100 * (shares[:, :, None] * store[outcome][:, :, mask]).sum(axis=1)
            expected_parts.append(
                pd.DataFrame(
                    {
                        "boundary": boundary,
                        "province_code": np.repeat([p.code for p in provinces], n_s),
                        "province": np.repeat([p.name for p in provinces], n_s),
                        "outcome": outcome,
                        "month": np.tile(where.months[mask].to_numpy(), len(provinces)),
                        "expected_pp": total.reshape(-1),
                    }
                )
            )
    return pd.concat(expected_parts, ignore_index=True)


def _volumes(
    rng_vol: np.random.Generator, where: _Map, prov: _Provinces
) -> tuple[np.ndarray, np.ndarray]:
    """Dossiers received per province, level and month on both boundaries."""
    n_old, n_new, n_t = len(where.old), len(where.new), len(where.months)
    months = where.months
    season = SEASON[months.month.to_numpy() - 1]
    tet = 1 - TET_DROP_PER_DAY * tet_days(months).to_numpy(dtype=float)
    base = prov.vol_2024[:, None] * (1 + prov.growth[:, None]) ** (where.years[None, :] - 2024.5)
    base = base * (season * tet)[None, :]  # (n_old, n_t), all levels
    received_old = np.rint(
        base[:, None, :]
        * prov.old_shares[:, :, None]
        * np.exp(VOLUME_NOISE * rng_vol.standard_normal((n_old, 3, n_t)))
    ).astype(np.int64)
    base_new = np.zeros((n_new, n_t))
    np.add.at(base_new, where.member, base)
    received_new = np.rint(
        base_new[:, None, :]
        * prov.new_shares[:, :, None]
        * np.exp(VOLUME_NOISE * rng_vol.standard_normal((n_new, 2, n_t)))
    ).astype(np.int64)
    return received_old, received_new


def _count_frames(
    rng_bin: np.random.Generator,
    where: _Map,
    prov: _Provinces,
    old_side: tuple[np.ndarray, dict],
    new_side: tuple[np.ndarray, dict],
) -> list[pd.DataFrame]:
    """The count columns drawn from the volumes and the expected rates, one frame a boundary."""

    # Per-province shares for the new boundary: dossier-weighted means of the old ones.
    def share_new(x: np.ndarray) -> np.ndarray:
        return where.to_new(x[:, None])[:, 0]

    def draw(n: np.ndarray, p: np.ndarray) -> np.ndarray:
        return rng_bin.binomial(n, np.clip(p, 0, 1))

    frames = []
    old_months, new_months = where.months[where.is_old], where.months[~where.is_old]
    segments = (
        ("old63", where.old, OLD_LEVELS, old_months, where.is_old, *old_side,
         prov.carry, prov.fee_share, prov.result_share, prov.rating_share),
        ("new34", where.new, NEW_LEVELS, new_months, ~where.is_old, *new_side,
         share_new(prov.carry), share_new(prov.fee_share), share_new(prov.result_share),
         share_new(prov.rating_share)),
    )  # fmt: skip
    for (boundary, provinces, levels, seg_months, mask, received, expected,
         c_share, f_share, r_share, v_share) in segments:  # fmt: skip
        if not mask.any():
            continue
        n_p, n_l, n_s = len(provinces), len(levels), int(mask.sum())
        rec = received[:, :, mask]
        ex = {o: expected[o][:, :, mask] for o in OUTCOMES}

        previous = np.concatenate([rec[:, :, :1], rec[:, :, :-1]], axis=2)
        carried_out = draw(rec, c_share[:, None, None])
        carried_in = draw(previous, c_share[:, None, None])
        handled = np.maximum(rec - carried_out + carried_in, 0)
        online = draw(rec, ex["online_rate"])
        full_given_online = ex["fully_online_rate"] / ex["online_rate"]
        fee = draw(rec, f_share[:, None, None])
        issuing = draw(rec, r_share[:, None, None])
        ratings = draw(rec, v_share[:, None, None])
        counts = {
            "dossiers_received": rec,
            "dossiers_online": online,
            "dossiers_fully_online": draw(online, full_given_online),
            "dossiers_handled": handled,
            "dossiers_on_time": draw(handled, ex["on_time_rate"]),
            "dossiers_synced": draw(rec, ex["sync_rate"]),
            "dossiers_fee_bearing": fee,
            "dossiers_paid_online": draw(fee, ex["online_payment_rate"]),
            "dossiers_result_issuing": issuing,
            "dossiers_e_result": draw(issuing, ex["e_result_rate"]),
            "dossiers_digitised": draw(rec, ex["digitisation_rate"]),
            "ratings": ratings,
            "ratings_satisfied": draw(ratings, ex["satisfaction_rate"]),
        }
        size = n_p * n_l * n_s
        frame = pd.DataFrame(
            {
                "boundary": np.full(size, boundary, dtype=object),
                "province_code": np.repeat([p.code for p in provinces], n_l * n_s),
                "province": np.repeat([p.name for p in provinces], n_l * n_s),
                "level": np.tile(np.repeat(levels, n_s), n_p),
                "month": np.tile(seg_months.to_numpy(), n_p * n_l),
            }
        )
        for column in COUNT_COLUMNS:
            frame[column] = counts[column].reshape(size).astype(np.int64)
        frames.append(frame)
    return frames


def _truth_table(truth_parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The injected effects, one row per measure, outcome, province and month (sorted)."""
    if not truth_parts:
        truth = pd.DataFrame({c: pd.Series(dtype=object) for c in TRUTH_COLUMNS})
        truth["month"] = pd.Series(dtype="datetime64[ns]")
        truth["effect_pp"] = pd.Series(dtype=float)
        return truth
    truth = pd.concat(truth_parts, ignore_index=True)
    order = truth["boundary"].map({"old63": 0, "new34": 1})
    truth = truth.assign(_order=order).sort_values(
        ["measure_id", "outcome", "_order", "province_code", "month"]
    )
    return truth.reset_index(drop=True)[TRUTH_COLUMNS]


# --- ground-truth helper ---


def true_average_effect(
    truth: pd.DataFrame,
    measure_id: str,
    outcome: str,
    months: Iterable,
    province: str | None = None,
) -> float:
    """Mean injected effect (pp) of a measure on an outcome over the given months.

    Parameters
    ----------
    truth : pandas.DataFrame
        The ground truth (``SynthData.truth`` or ``ground_truth.csv``).
    measure_id, outcome : str
    months : iterable of month-like
        Months to average over (any day of a month stands for it); a month without a row
        counts as 0.
    province : str, optional
        Province code or name to restrict to. Without it, a month's effect is the mean over
        every province the measure touches on that month's boundary (0 for those not yet
        touched), which for a one-province measure is simply its effect.

    Returns
    -------
    float
        The mean of the monthly effects; 0.0 when ``months`` is empty.
    """
    wanted = pd.DatetimeIndex(pd.to_datetime(list(months))).to_period("M")
    if len(wanted) == 0:
        return 0.0
    rows = truth[(truth["measure_id"] == measure_id) & (truth["outcome"] == outcome)]
    if province is not None:
        rows = rows[(rows["province_code"] == province) | (rows["province"] == province)]
    periods = pd.to_datetime(rows["month"]).dt.to_period("M")
    per_boundary = rows.groupby("boundary")["province_code"].nunique().to_dict()
    merger = pd.Timestamp(config.MERGER_DATE).to_period("M")
    total = 0.0
    for month in wanted:
        hit = rows[periods == month]
        if hit.empty:
            continue
        boundary = "old63" if month < merger else "new34"
        total += hit["effect_pp"].sum() / per_boundary.get(boundary, 1)
    return total / len(wanted)


# --- writing ---


def write(data: SynthData, out_dir: Path | str = config.SYNTH_DIR) -> dict[str, Path]:
    """Write panel.parquet, ground_truth.csv and manifest.json atomically.

    Each file goes to a temporary file in ``out_dir`` first and is moved into place with
    ``os.replace``; the manifest comes last, so a complete manifest means complete files.
    The files are deterministic for a seed apart from the manifest's ``created`` time.

    Parameters
    ----------
    data : SynthData
    out_dir : path-like, default ``config.SYNTH_DIR``

    Returns
    -------
    dict
        ``{"panel": path, "ground_truth": path, "manifest": path}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "panel": out_dir / config.PANEL_FILE,
        "ground_truth": out_dir / config.GROUND_TRUTH_FILE,
        "manifest": out_dir / config.MANIFEST_FILE,
    }
    panel.save(data.panel, paths["panel"])  # validates, then temp file + os.replace
    truth = data.truth.copy()
    truth["month"] = pd.to_datetime(truth["month"]).dt.strftime("%Y-%m-%d")
    with atomic_path(paths["ground_truth"]) as tmp:
        truth.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    manifest = {
        "synthetic": True,
        "seed": data.params.get("seed"),
        "generator": "analysis.synth",
        "version": data.params.get("version", VERSION),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "start": data.params.get("start"),
        "end": data.params.get("end"),
        "effects": data.params.get("effects"),
        "files": {
            paths["panel"].name: sha256(paths["panel"]),
            paths["ground_truth"].name: sha256(paths["ground_truth"]),
        },
        "rows": {paths["panel"].name: len(data.panel), paths["ground_truth"].name: len(truth)},
        "inputs": data.params.get("inputs", {}),
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    atomic_write(paths["manifest"], text)
    return paths
