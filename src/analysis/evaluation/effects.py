"""Effect estimation on any panel: the runner behind ``workbench effect``.

:func:`estimate` reads the treatment from the arguments (a treated unit and a start, or a
cohort column), checks what every design needs once (:func:`analysis.designs.data.panel_input`
and its checks), then calls the requested designs — interrupted time series, two-way fixed
effects DiD, Callaway–Sant'Anna, synthetic control, synthetic DiD — or all those that apply.
:func:`to_json` gives the shape the CLI prints; :func:`canonical_frame` turns the canonical
count panel (:mod:`analysis.panel`) into the generic long frame the designs read.

Which methods apply
-------------------
- its: one treated unit, one start, monthly periods (the model has Tết days and months).
- did: treated units with one start, or a cohort column (staggered adoption).
- cs: a cohort column, or treated units with one start.
- synth: exactly one treated unit and one start.
- sdid: one or more treated units sharing one start.
Comparison designs (all but its) also need untreated units. With ``method="all"`` a method
that does not apply, is not installed, or stops with a ``WorkbenchError`` of its own is
skipped, with the reason in ``Estimates.skipped``; an error in what every design shares
(columns, balance, the treated unit, the start, 12 pre-periods) stops the run.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import config, panel, registry
from analysis.designs.data import PanelInput, check_controls, check_pre_periods, panel_input
from analysis.designs.result import EffectResult
from analysis.errors import WorkbenchError

METHODS = ("its", "did", "cs", "synth", "sdid")
# method → (module, function); imported only when the method runs.
DESIGNS = {
    "its": ("analysis.designs.its", "fit_its"),
    "did": ("analysis.designs.did", "fit_did"),
    "cs": ("analysis.designs.cs", "fit_cs"),
    "synth": ("analysis.designs.synth_control", "fit_synth"),
    "sdid": ("analysis.designs.sdid", "fit_sdid"),
}
# Columns that mark the canonical count panel of analysis.panel.
CANONICAL = ("boundary", "province_code", "province", "level", "month")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


class Estimates(list):
    """The results of :func:`estimate` (a list of EffectResult, in ``METHODS`` order) with the
    methods that were skipped and why, ``skipped: dict[str, str]`` (``method="all"`` only)."""

    def __init__(self, results: Iterable[EffectResult] = (), skipped=None) -> None:
        super().__init__(results)
        self.skipped: dict[str, str] = dict(skipped or {})


# --- reading ----------------------------------------------------------------------------------


def load_panel(path: str | Path) -> pd.DataFrame:
    """Read a panel from CSV or Parquet (a folder means its ``panel.parquet``).

    Raises
    ------
    WorkbenchError
        Missing file, unknown extension, a file that cannot be read, or an empty table.
    """
    target = Path(path)
    if target.is_dir():
        target = target / config.PANEL_FILE
    if not target.is_file():
        raise WorkbenchError(
            f"panel file not found: {target}",
            hint="give a CSV or Parquet file (run `workbench synth` for the synthetic panel)",
        )
    suffix = target.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            frame = pd.read_csv(target)
        elif suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(target)
        else:
            raise WorkbenchError(
                f"{target}: unknown file type {suffix or '(none)'!r}",
                hint="give a .csv or .parquet file",
            )
    except WorkbenchError:
        raise
    except Exception as exc:  # readers raise many types for a damaged or mislabelled file
        raise WorkbenchError(
            f"cannot read {target}: {exc}",
            hint="check that the file is a complete CSV (UTF-8, header row) or Parquet file",
        ) from exc
    if frame.empty:
        raise WorkbenchError(f"{target} has no rows", hint="give a panel with data")
    return frame


def canonical_frame(panel_df: pd.DataFrame, rate: str, boundary: str | None = None) -> pd.DataFrame:
    """The canonical count panel as a generic long frame: one row per province and month.

    Parameters
    ----------
    panel_df : DataFrame
        A monthly panel in the schema of :mod:`analysis.panel` (validated here).
    rate : str
        A key of ``panel.RATES`` (e.g. "online_rate": its numerator and denominator columns
        are kept), or one count column (e.g. "dossiers_received": kept alone).
    boundary : {"old63", "new34", None}
        "old63": the old provinces' own rows (to June 2025). "new34": every row mapped to the
        new province holding its territory and summed (:func:`panel.aggregate`), so a series
        runs across July 2025. None: "old63" when the panel has old63 rows, else "new34".

    Returns
    -------
    DataFrame
        Columns ``unit`` (province name), ``time`` (month, first day), then the count
        columns (int64 sums over the administrative levels), sorted by unit and time.
    """
    if rate in panel.RATES:
        columns = list(panel.RATES[rate])
    elif rate in panel.COUNT_COLUMNS:
        columns = [rate]
    else:
        raise WorkbenchError(
            f"unknown rate or count column {rate!r}",
            hint=f"rates are {', '.join(panel.RATES)}; counts are {', '.join(panel.COUNT_COLUMNS)}",
        )
    if boundary is None:
        boundary = "old63" if (panel_df.get("boundary") == "old63").any() else "new34"
    if boundary not in panel.BOUNDARIES:
        raise WorkbenchError(
            f"unknown boundary {boundary!r}", hint=f"use one of {', '.join(panel.BOUNDARIES)}"
        )
    if boundary == "new34":
        summed = panel.aggregate(panel_df, freq="M", levels="sum", boundary="new34")
    else:
        summed = panel.aggregate(panel_df, freq="M", levels="sum")
        summed = summed[summed["boundary"] == "old63"]
    if summed.empty:
        raise WorkbenchError(
            f"the panel has no {boundary} rows", hint="check the panel file and the start date"
        )
    out = summed[["province", "month", *columns]].rename(
        columns={"province": "unit", "month": "time"}
    )
    return out.sort_values(["unit", "time"], ignore_index=True)


def _is_canonical(data: pd.DataFrame) -> bool:
    return all(c in data.columns for c in CANONICAL)


def _canonical_columns(outcome: str, denominator: str | None) -> tuple[str, str, str | None]:
    """(rate or count column for canonical_frame, numerator/outcome column, denominator)."""
    if denominator is None and outcome in panel.RATES:
        num, den = panel.RATES[outcome]
        return outcome, num, den
    if denominator is not None:
        for rate, pair in panel.RATES.items():
            if pair == (outcome, denominator):
                return rate, outcome, denominator
        raise WorkbenchError(
            f"{outcome}/{denominator} is not a rate of the canonical panel",
            hint="rates are " + "; ".join(f"{n}/{d} ({r})" for r, (n, d) in panel.RATES.items()),
        )
    if outcome in panel.COUNT_COLUMNS:
        return outcome, outcome, None
    raise WorkbenchError(
        f"the canonical panel has no outcome {outcome!r}",
        hint=f"give a rate ({', '.join(panel.RATES)}) or a count column with --denominator",
    )


def _rate_name(outcome: str, denominator: str | None) -> str:
    """The rate a numerator/denominator pair computes, for labels; else the outcome column."""
    for rate, pair in panel.RATES.items():
        if pair == (outcome, denominator):
            return rate
    return outcome


# --- treatment --------------------------------------------------------------------------------


def _treated_names(treated: str | Sequence[str] | None) -> tuple[str, ...]:
    if treated is None:
        return ()
    names = [treated] if isinstance(treated, str) else list(treated)
    names = [str(n).strip() for n in names]
    if any(not n for n in names):
        raise WorkbenchError("an empty treated unit name", hint="give --treated NAME")
    return tuple(dict.fromkeys(names))


def _as_time(value: Any, pi: PanelInput, what: str) -> Any:
    """A value in the panel's time type: an integer year, or a month (first day)."""
    periods = pi.periods
    if pd.api.types.is_numeric_dtype(periods.dtype):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise WorkbenchError(
                f"{what} {value!r} is not a period of this panel", hint="periods are numbers here"
            ) from None
        if number % 1:
            raise WorkbenchError(f"{what} {value!r} is not a whole period")
        return int(number)
    try:
        return pd.Timestamp(value).to_period("M").to_timestamp()
    except (TypeError, ValueError):
        raise WorkbenchError(
            f"{what} {value!r} is not a date", hint="write it as YYYY-MM or YYYY-MM-DD"
        ) from None


def _never(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in ("", "0")
    try:
        return bool(pd.isna(value)) or value == 0
    except (TypeError, ValueError):
        return False


def _cohorts(data: pd.DataFrame, unit_col: str, cohort_col: str, pi: PanelInput) -> dict:
    """unit → first treated period, for the treated units of a cohort column."""
    if cohort_col not in data.columns:
        raise WorkbenchError(
            f"cohort column {cohort_col!r} is not in the panel",
            hint=f"the panel has: {', '.join(map(str, data.columns))}",
        )
    out: dict[str, Any] = {}
    for unit, values in data.groupby(data[unit_col].astype(str), sort=True)[cohort_col]:
        distinct = {("never" if _never(v) else _as_time(v, pi, "cohort")) for v in values}
        if len(distinct) > 1:
            raise WorkbenchError(
                f"unit {unit!r} has more than one value in cohort column {cohort_col!r}",
                hint="a unit's first treated period is one value, repeated on all its rows",
            )
        value = distinct.pop()
        if value != "never":
            out[unit] = value
    return out


class _Plan:
    """What the treatment arguments say: treated units, one start or None, cohort column."""

    def __init__(
        self,
        treated: tuple[str, ...],
        start: Any,
        cohort_col: str | None,
        controls: int,
        monthly: bool,
    ):
        self.treated, self.start, self.cohort_col = treated, start, cohort_col
        self.controls, self.monthly = controls, monthly

    def reason(self, method: str) -> str | None:
        """Why ``method`` cannot run on this plan; None when it can."""
        one_start = self.start is not None and bool(self.treated)
        if method == "its":
            if not self.monthly:
                return "the interrupted time series needs monthly periods (dates)"
            if len(self.treated) != 1 or self.start is None:
                return "the interrupted time series needs exactly one treated unit and a start"
            return None
        if method in ("did", "cs"):
            if not one_start and self.cohort_col is None:
                return f"{method} needs treated units with a start, or a cohort column"
        elif method == "synth":
            if len(self.treated) != 1 or self.start is None:
                return "synthetic control needs exactly one treated unit and a start"
        elif method == "sdid" and not one_start:
            return "synthetic DiD needs treated units sharing one start"
        if self.controls == 0:
            return "no untreated units to compare with"
        return None


def _plan(
    data: pd.DataFrame,
    pi: PanelInput,
    unit_col: str,
    treated: tuple[str, ...],
    start: Any,
    cohort_col: str | None,
) -> _Plan:
    monthly = pd.api.types.is_datetime64_any_dtype(pi.periods.dtype)
    if treated and start is None and cohort_col is None:
        raise WorkbenchError("a treated unit is given but no start", hint="give --start PERIOD")
    if start is not None and not treated:
        raise WorkbenchError(
            "a start is given but no treated unit", hint="give --treated NAME with --start"
        )
    if not treated and cohort_col is None:
        raise WorkbenchError(
            "no treatment given",
            hint="give --treated NAME and --start PERIOD, or --cohort-col COLUMN",
        )
    rows = [pi.row(name) for name in treated]  # an unknown unit names the closest ones
    if treated and start is not None:
        column = pi.column(start)
        check_pre_periods(pi, column, config.MIN_PRE_MONTHS)
        controls = len(pi.units) - len(rows)
        return _Plan(treated, start, None, controls, monthly)
    cohorts = _cohorts(data, unit_col, cohort_col, pi)
    controls = len(pi.units) - len(cohorts)
    if not cohorts:
        raise WorkbenchError(
            f"cohort column {cohort_col!r} marks no unit as treated",
            hint="give each treated unit its first treated period (0 or empty for never)",
        )
    if treated:
        missing = [name for name in treated if name not in cohorts]
        if missing:
            raise WorkbenchError(
                f"{', '.join(missing)} has no first treated period in {cohort_col!r}",
                hint="give --start, or a cohort for the unit",
            )
        cohorts = {name: cohorts[name] for name in treated}
    starts = set(cohorts.values())
    # One adoption date: the single-start designs can run on it too.
    single = starts.pop() if len(starts) == 1 else None
    names = tuple(sorted(cohorts)) if single is not None else ()
    if single is not None:
        check_pre_periods(pi, pi.column(single), config.MIN_PRE_MONTHS)
    return _Plan(names, single, cohort_col, controls, monthly)


# --- running ----------------------------------------------------------------------------------


def _design(method: str):
    module_name, function = DESIGNS[method]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise WorkbenchError(
            f"method {method} not available (module {module_name} is not installed)",
            hint="use one of the available methods, or --method all",
        ) from None
    fit = getattr(module, function, None)
    if fit is None:
        raise WorkbenchError(f"method {method} not available ({module_name}.{function} missing)")
    return fit


def _accepted(fit) -> set[str]:
    return set(inspect.signature(fit).parameters)


def _its_series(data: pd.DataFrame, unit_col, time_col, outcome, denominator, name) -> pd.DataFrame:
    rows = data[data[unit_col].astype(str) == name]
    months = pd.to_datetime(rows[time_col]).dt.to_period("M").dt.to_timestamp()
    series = pd.DataFrame({"month": months.to_numpy()})
    if denominator:
        series["numerator"] = pd.to_numeric(rows[outcome]).to_numpy(dtype=float)
        series["denominator"] = pd.to_numeric(rows[denominator]).to_numpy(dtype=float)
    else:
        series["value"] = pd.to_numeric(rows[outcome]).to_numpy(dtype=float)
    return series.sort_values("month", ignore_index=True)


def _run(
    method: str,
    fit,
    data: pd.DataFrame,
    plan: _Plan,
    *,
    outcome: str,
    denominator: str | None,
    unit_col: str,
    time_col: str,
    label_outcome: str,
    options: Mapping[str, Any],
) -> EffectResult:
    accepted = _accepted(fit)
    kwargs = {k: v for k, v in options.items() if k in accepted}
    if method == "its":
        name = plan.treated[0]
        series = _its_series(data, unit_col, time_col, outcome, denominator, name)
        return fit(series, plan.start, outcome=label_outcome, treated=name, **kwargs)
    kwargs.update(unit=unit_col, time=time_col, outcome=outcome, denominator=denominator)
    if plan.start is not None and plan.treated:
        treated: str | list[str] = plan.treated[0] if len(plan.treated) == 1 else list(plan.treated)
        kwargs.update(treated=treated, start=plan.start)
        if "cohort" in accepted:
            kwargs["cohort"] = None
    else:
        kwargs["cohort"] = plan.cohort_col
    return fit(data, **{k: v for k, v in kwargs.items() if k in accepted})


def estimate(
    data: pd.DataFrame,
    *,
    outcome: str,
    method: str = "all",
    denominator: str | None = None,
    unit_col: str = "unit",
    time_col: str = "time",
    treated: str | Sequence[str] | None = None,
    start: Any = None,
    cohort_col: str | None = None,
    **options: Any,
) -> Estimates:
    """Estimate the effect of a measure on a long panel with one design or all that apply.

    Parameters
    ----------
    data : DataFrame
        A long panel, one row per unit and period; or the canonical count panel of
        :mod:`analysis.panel` (recognised by its columns), which is first summed over levels
        to one row per province and month (:func:`canonical_frame`): on the old 63 provinces
        when ``start`` is before July 2025, else on the new 34. ``treated`` may then be any
        common spelling of a province.
    outcome : str
        Outcome column; with ``denominator`` the numerator, and the effect is on the rate in
        percentage points. On the canonical panel a rate name ("online_rate") also works.
    method : {"its", "did", "cs", "synth", "sdid", "all"}
    denominator : str, optional
        Denominator column.
    unit_col, time_col : str
        Unit and period columns (periods: integer years or dates).
    treated : str or list of str, optional
        Treated unit(s), with ``start``.
    start : period, optional
        First treated period (a month such as "2022-07", or a year).
    cohort_col : str, optional
        Instead of ``treated``/``start``: each unit's first treated period (0 or empty for
        never treated), for staggered adoption.
    **options
        Passed to the designs that take them (e.g. ``level``, ``post_months`` and ``model``
        for the ITS, ``bootstrap`` for CS, ``placebo_reps`` for SDID, ``seed``).

    Returns
    -------
    Estimates
        A list of EffectResult in ``METHODS`` order; ``.skipped`` maps each method left out
        (``method="all"``) to the reason.

    Raises
    ------
    WorkbenchError
        Unknown method or option, missing columns, an unbalanced panel or constant outcome, a
        treated unit not in the panel, a start outside the data, fewer than 12 periods before
        it, no untreated units (comparison designs), a method not available, and whatever
        the chosen design rejects. With ``method="all"``, when no method could run.
    """
    if method not in (*METHODS, "all"):
        raise WorkbenchError(
            f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)} or all"
        )
    if not isinstance(data, pd.DataFrame):
        raise WorkbenchError(f"the panel must be a table (DataFrame), got {type(data).__name__}")
    names = _treated_names(treated)
    label_outcome = _rate_name(outcome, denominator)
    if _is_canonical(data):
        if start is None:
            raise WorkbenchError(
                "the canonical panel needs --treated and --start",
                hint="e.g. --treated 'Thái Nguyên' --start 2022-07",
            )
        rate, outcome, denominator = _canonical_columns(outcome, denominator)
        label_outcome = rate if rate in panel.RATES else outcome
        first = pd.Timestamp(start).to_period("M").to_timestamp() if _is_date(start) else None
        boundary = (
            "new34" if first is not None and first >= pd.Timestamp(config.MERGER_DATE) else "old63"
        )
        names = tuple(registry.resolve(n, boundary=boundary).name for n in names)
        data = canonical_frame(data, rate, boundary)
        unit_col, time_col, cohort_col = "unit", "time", None
        if rate in panel.RATES:
            # Every design then names the outcome by its rate ("online_rate"), which has a
            # label for readers, rather than by its numerator column.
            data = data.rename(columns={outcome: rate})
            outcome = rate

    pi = panel_input(data, unit=unit_col, time=time_col, outcome=outcome, denominator=denominator)
    plan = _plan(data, pi, unit_col, names, start, cohort_col)

    wanted = list(METHODS) if method == "all" else [method]
    results: list[EffectResult] = []
    skipped: dict[str, str] = {}
    accepted_any: set[str] = set()
    fits = {}
    for m in wanted:
        reason = plan.reason(m)
        if reason is None:
            try:
                fits[m] = _design(m)
            except WorkbenchError as exc:
                reason = exc.message
        if reason is not None:
            if method != "all":
                if reason == "no untreated units to compare with":
                    check_controls(pi, [pi.row(n) for n in plan.treated])
                raise WorkbenchError(f"cannot run {m}: {reason}", hint=_hint(m))
            skipped[m] = reason
            continue
        accepted_any |= _accepted(fits[m])
    unknown = sorted(set(options) - accepted_any)
    if unknown and fits:
        raise WorkbenchError(
            f"unknown option(s) {', '.join(unknown)} for {', '.join(fits)}",
            hint="options are passed to the designs' fit functions; check their names",
        )
    for m, fit in fits.items():
        try:
            result = _run(
                m,
                fit,
                data,
                plan,
                outcome=outcome,
                denominator=denominator,
                unit_col=unit_col,
                time_col=time_col,
                label_outcome=label_outcome,
                options=options,
            )
        except WorkbenchError as exc:
            if method != "all":
                raise
            skipped[m] = str(exc)
            continue
        results.append(result)
    if not results:
        notes = "; ".join(f"{m}: {why}" for m, why in skipped.items())
        raise WorkbenchError(f"no method could run ({notes})", hint="see each reason")
    return Estimates(results, skipped)


def _is_date(value: Any) -> bool:
    if isinstance(value, (int, np.integer)):
        return False
    try:
        pd.Timestamp(value)
    except (TypeError, ValueError):
        return False
    return True


def _hint(method: str) -> str:
    return {
        "its": "give --treated NAME --start YYYY-MM on a monthly panel",
        "did": "give --treated and --start, or --cohort-col",
        "cs": "give --cohort-col, or --treated and --start",
        "synth": "give one --treated unit and --start; the panel needs untreated units",
        "sdid": "give --treated and --start; the panel needs untreated units",
    }[method]


# --- output -----------------------------------------------------------------------------------

ATT_GT_ALIASES = {
    "group": ("group", "g", "cohort"),
    "time": ("time", "t", "period"),
    "att": ("att", "estimate", "effect"),
    "se": ("se", "std_error"),
}


def _pick(row: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        if name in row:
            return row[name]
    return None


def _weights(records: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in records:
        unit = _pick(row, ("unit", "donor", "province"))
        weight = _pick(row, ("weight", "weights", "omega"))
        if unit is not None:
            out[str(unit)] = weight
    return out


def result_json(result: EffectResult) -> dict[str, Any]:
    """One result as the CLI prints it (see :func:`to_json`)."""
    full = result.to_dict()
    out: dict[str, Any] = {
        "method": full["method"],
        "estimate": full["estimate"],
        "ci": full["ci"],
        "p_value": full["p_value"],
        "by_period": [
            {"period": row["period"], "estimate": row["estimate"]} for row in full["by_period"]
        ],
    }
    tables = full["tables"]
    if result.method == "cs" and "att_gt" in tables:
        out["att_gt"] = [
            {key: _pick(row, names) for key, names in ATT_GT_ALIASES.items()}
            for row in tables["att_gt"]
        ]
    if result.method in ("synth", "sdid"):
        for name in ("weights", "unit_weights"):
            if name in tables:
                out["weights"] = _weights(tables[name])
                break
    out.update(
        {
            "method_label": full["method_label"],
            "outcome": full["outcome"],
            "unit": full["unit"],
            "treated": full["treated"],
            "start": full["start"],
            "window": full["window"],
            "n_pre": full["n_pre"],
            "n_post": full["n_post"],
            "se": full["se"],
            "ci_level": full["ci_level"],
            "summary": full["summary"],
        }
    )
    return out


def to_json(results: EffectResult | Sequence[EffectResult]) -> dict | list:
    """The JSON the CLI prints: one object per method.

    Each object has ``method``, ``estimate``, ``ci`` [low, high], ``p_value``, ``by_period``
    (list of {period, estimate}, post periods; for CS the event times), for ``cs`` an
    ``att_gt`` list of {group, time, att, se}, for ``synth``/``sdid`` a ``weights`` object
    {unit: weight}; then ``method_label``, ``outcome``, ``unit``, ``treated``, ``start``,
    ``window``, ``n_pre``, ``n_post``, ``se``, ``ci_level`` and ``summary`` {vi, en}.
    Dates are ISO strings, missing numbers null.

    Returns
    -------
    dict or list
        One object for a single result (an EffectResult, or a sequence of one); a list of
        objects for several.
    """
    if isinstance(results, EffectResult):
        return result_json(results)
    items = [result_json(r) for r in results]
    return items[0] if len(items) == 1 else items
