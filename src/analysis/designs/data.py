"""The input every panel design reads: a long table (unit, period, outcome) made a checked matrix.

Designs work on any panel — the canonical count panel, a published replication data set, a
yearly table — so validation is done once, here, with messages that name the unit, period and
value at fault. With a denominator the outcome is the rate in percentage points
(100 × numerator / denominator).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import WorkbenchError


@dataclass(frozen=True, eq=False)
class PanelInput:
    """A balanced panel as a matrix.

    Attributes
    ----------
    y : ndarray, shape (n_units, n_periods)
        The outcome (percentage points when built from a numerator and denominator).
    units : pandas.Index
        Unit names (strings), in the matrix's row order (sorted).
    periods : pandas.Index
        Periods in time order (Timestamps for months, integers for years).
    weights : ndarray or None, shape (n_units, n_periods)
        Denominators when the outcome is a rate (for weighting or checks), else None.
    outcome : str
        Name of the outcome (the numerator column when a denominator was given).
    unit_label : str
        "pp" for rates, "" for an outcome in its own units.
    """

    y: np.ndarray
    units: pd.Index
    periods: pd.Index
    weights: np.ndarray | None
    outcome: str
    unit_label: str

    def row(self, unit: str) -> int:
        """Row of ``unit``; an unknown unit names the closest ones."""
        key = str(unit)
        if key in self.units:
            return int(self.units.get_loc(key))
        close = difflib.get_close_matches(key, [str(u) for u in self.units], n=3, cutoff=0.3)
        hint = f"did you mean {', '.join(close)}?" if close else "check the unit column"
        raise WorkbenchError(f"treated unit {key!r} is not in the panel", hint=hint)

    def column(self, period) -> int:
        """Index of the first period at or after ``period``; outside the data is an error."""
        p = _as_period(period, self.periods)
        if p < self.periods[0] or p > self.periods[-1]:
            raise WorkbenchError(
                f"start {period!r} is outside the data ({self.periods[0]} to {self.periods[-1]})",
                hint="give a start inside the panel's periods",
            )
        return int(np.searchsorted(np.asarray(self.periods), p, side="left"))


def period_timestamp(period):
    """A panel period as a Timestamp for results: a month stays, an integer year (1000–9999)
    becomes 1 January of that year; anything else (e.g. an event time) is returned as is.

    One rule for every design, so ``EffectResult.start``/``window``/``by_period`` of a yearly
    panel are dates and ``to_dict`` never reads a year as nanoseconds since 1970.
    """
    if isinstance(period, pd.Timestamp):
        return period
    if isinstance(period, (int, np.integer)) and 1000 <= int(period) <= 9999:
        return pd.Timestamp(year=int(period), month=1, day=1)
    return period


def _as_period(value, periods: pd.Index):
    """Read ``value`` in the panel's time type: an integer year or a month Timestamp."""
    if pd.api.types.is_integer_dtype(periods.dtype) or pd.api.types.is_float_dtype(periods.dtype):
        try:
            return type(periods[0])(value)
        except (TypeError, ValueError):
            raise WorkbenchError(
                f"start {value!r} is not a period of this panel", hint="periods are numbers here"
            ) from None
    try:
        return pd.Timestamp(value).to_period("M").to_timestamp()
    except (TypeError, ValueError):
        raise WorkbenchError(
            f"start {value!r} is not a date", hint="write it as YYYY-MM or YYYY-MM-DD"
        ) from None


def panel_input(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    denominator: str | None = None,
    source: str = "panel",
) -> PanelInput:
    """Check a long panel and turn it into a :class:`PanelInput`.

    Parameters
    ----------
    data : DataFrame
        One row per unit and period.
    unit, time, outcome : str
        Column names. ``time`` holds integers (years) or dates (months; read as month starts).
    denominator : str, optional
        When given, ``outcome`` is a count and the analysed outcome is
        100 × outcome / denominator (percentage points).
    source : str
        Name used in messages (a file name).

    Raises
    ------
    WorkbenchError
        Missing columns (named), duplicate unit-periods, missing periods (the first missing
        unit-period is named), non-numeric or non-finite values, zero denominators, numerators
        above their denominators, a constant outcome.
    """
    needed = [unit, time, outcome] + ([denominator] if denominator else [])
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise WorkbenchError(
            f"{source}: columns missing: {', '.join(missing)}",
            hint=f"the panel has: {', '.join(map(str, data.columns))} (use --unit-col/--time-col/--outcome)",
        )
    frame = data[needed].copy()
    frame[unit] = frame[unit].astype(str)
    if pd.api.types.is_numeric_dtype(frame[time]) and not pd.api.types.is_bool_dtype(frame[time]):
        if (frame[time] % 1 != 0).any():
            raise WorkbenchError(
                f"{source}: column {time!r} has fractional periods", hint="use years or dates"
            )
        frame[time] = frame[time].astype(int)
    else:
        parsed = pd.to_datetime(frame[time], errors="coerce")
        bad = parsed.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise WorkbenchError(
                f"{source}: row {i}, column {time!r}: {frame[time].iloc[i]!r} is not a date",
                hint="write months as YYYY-MM or YYYY-MM-DD",
            )
        frame[time] = parsed.dt.to_period("M").dt.to_timestamp()
    for col in needed[2:]:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WorkbenchError(
                f"{source}: row {i}, column {col!r}: {frame[col].iloc[i]!r} is not a number",
                hint="fill or drop the row; the designs need a complete panel",
            )
        frame[col] = values.astype(float)
    dup = frame.duplicated([unit, time], keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise WorkbenchError(
            f"{source}: row {i}: unit {frame[unit].iloc[i]!r} has period {frame[time].iloc[i]} twice",
            hint="one row per unit and period (aggregate levels first)",
        )
    if denominator:
        den = frame[denominator]
        bad = den <= 0
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise WorkbenchError(
                f"{source}: row {i}, column {denominator!r}: denominator {den.iloc[i]:g} is not positive",
                hint="a rate needs at least one case in the denominator",
            )
        over = frame[outcome] > den
        if over.any():
            i = int(np.flatnonzero(over.to_numpy())[0])
            raise WorkbenchError(
                f"{source}: row {i}: numerator {frame[outcome].iloc[i]:g} exceeds denominator {den.iloc[i]:g}",
                hint="check that --outcome and --denominator are the right way round",
            )
        frame["_y"] = 100 * frame[outcome] / den
    else:
        frame["_y"] = frame[outcome]
    wide = frame.pivot(index=unit, columns=time, values="_y").sort_index()
    if wide.isna().any().any():
        r, c = np.argwhere(wide.isna().to_numpy())[0]
        raise WorkbenchError(
            f"{source}: unit {wide.index[r]!r} has no row for period {wide.columns[c]}",
            hint="the designs need every unit in every period (a balanced panel)",
        )
    y = wide.to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise WorkbenchError(
            f"{source}: the outcome {outcome!r} is constant", hint="nothing to estimate"
        )
    weights = None
    if denominator:
        weights = (
            frame.pivot(index=unit, columns=time, values=denominator).sort_index().to_numpy(float)
        )
    return PanelInput(
        y=y,
        units=pd.Index(wide.index.astype(str)),
        periods=pd.Index(wide.columns),
        weights=weights,
        outcome=outcome,
        unit_label="pp" if denominator else "",
    )


def check_pre_periods(pi: PanelInput, start_col: int, minimum: int = 12) -> None:
    """At least ``minimum`` periods before the start."""
    if start_col < minimum:
        raise WorkbenchError(
            f"only {start_col} periods before the start; at least {minimum} are needed",
            hint="choose a later start or give a longer panel",
        )


def check_controls(pi: PanelInput, treated_rows: Sequence[int]) -> np.ndarray:
    """Rows of the untreated units; none left is an error."""
    controls = np.setdiff1d(np.arange(len(pi.units)), np.asarray(treated_rows, dtype=int))
    if controls.size == 0:
        raise WorkbenchError(
            "no untreated units to compare with", hint="the panel needs units without the measure"
        )
    return controls
