"""The canonical monthly count panel: schema, load/save, aggregation and derived rates.

One row per province x administrative level x month. Only counts are stored; every rate is
derived from a numerator and a denominator, so that any aggregation (level -> province,
month -> quarter/year, 63 old provinces -> 34 new ones) is an exact sum.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import pandas as pd

from analysis import config, registry
from analysis.errors import WorkbenchError
from analysis.files import atomic_path

# --- schema (shared contract: synth, ingest, designs and reports rely on these names) ---

# "old63": the 63 provinces before 1 July 2025; "new34": the 34 provinces from that day.
BOUNDARIES = ("old63", "new34")
# Levels of the handling agency. Districts were abolished on 1 July 2025.
LEVELS = ("province", "district", "commune")

# `month` is a pandas datetime64 holding the first day of the month.
# Codes collide across boundaries (24 = old Bắc Giang = new Bắc Ninh): the key is
# (boundary, province_code), never the code alone.
KEY_COLUMNS = ["boundary", "province_code", "province", "level", "month"]

COUNT_COLUMNS = [
    "dossiers_received",  # dossiers received in the month (all channels)
    "dossiers_online",  # of which submitted online (channel 2)
    "dossiers_fully_online",  # of which handled online through the whole process
    "dossiers_handled",  # dossiers judged for timeliness (finished, or in progress at month end)
    "dossiers_on_time",  # of which finished early/on time or in progress and not yet due
    "dossiers_synced",  # received dossiers synchronised to the national portal
    "dossiers_fee_bearing",  # received dossiers with a non-zero fee
    "dossiers_paid_online",  # of which paid online
    "dossiers_result_issuing",  # dossiers of procedures that issue a result
    "dossiers_e_result",  # of which the result was issued electronically
    "dossiers_digitised",  # received dossiers with digitised components and result
    "ratings",  # satisfaction ratings received
    "ratings_satisfied",  # of which satisfied
]

# rate name -> (numerator, denominator). Rates are shares in [0, 1]; reports show percent.
RATES: dict[str, tuple[str, str]] = {
    "online_rate": ("dossiers_online", "dossiers_received"),
    "fully_online_rate": ("dossiers_fully_online", "dossiers_received"),
    "on_time_rate": ("dossiers_on_time", "dossiers_handled"),
    "sync_rate": ("dossiers_synced", "dossiers_received"),
    "online_payment_rate": ("dossiers_paid_online", "dossiers_fee_bearing"),
    "e_result_rate": ("dossiers_e_result", "dossiers_result_issuing"),
    "digitisation_rate": ("dossiers_digitised", "dossiers_received"),
    "satisfaction_rate": ("ratings_satisfied", "ratings"),
}

# --- operations -------------------------------------------------------------------------------

# The level of rows summed over every level by `aggregate(levels="sum")`.
ALL_LEVELS = "all"
# A row is unique on these; `province` is only the label of (boundary, province_code).
UNIQUE_KEY = ["boundary", "province_code", "level", "month"]
# Subset checks beyond RATES: fully online dossiers are a part of the online ones.
SUBSET_CHECKS: list[tuple[str, str]] = [
    *RATES.values(),
    ("dossiers_fully_online", "dossiers_online"),
]
FREQS = ("M", "Q", "Y")
MONTH_DTYPE = "datetime64[ns]"


def _fail(source: str, row: int, column: str, value: object, problem: str, hint: str) -> NoReturn:
    if hasattr(value, "item"):  # a NumPy scalar: show -5, not np.int64(-5)
        value = value.item()
    raise WorkbenchError(
        f"{source}: row {row}, column {column!r}, value {value!r}: {problem}", hint
    )


def _first(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0])


def _canonical_codes(codes: pd.Series, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(codes) and not pd.api.types.is_bool_dtype(codes):
        bad = codes.isna() | (codes != codes.round())
        if bad.any():
            r = _first(bad)
            _fail(
                source,
                r,
                "province_code",
                codes.iloc[r],
                "not a province code",
                "codes are two digits, e.g. 01 or 79",
            )
        return codes.astype("int64").astype(str).str.zfill(2)
    bad = codes.isna()
    if bad.any():
        r = _first(bad)
        _fail(
            source,
            r,
            "province_code",
            codes.iloc[r],
            "missing province code",
            "every row needs the two-digit code of its province",
        )
    # Codes read from CSV/Excel often lost their leading zero ("1" for "01").
    return codes.astype(str).str.strip().str.zfill(2)


def _canonical_month(month: pd.Series, source: str) -> pd.Series:
    if isinstance(month.dtype, pd.PeriodDtype):
        parsed = month.dt.to_timestamp()
    elif pd.api.types.is_datetime64_any_dtype(month):
        parsed = month
    else:
        # ISO 8601 only ("2025-05", "2025-05-01"): a looser parser reads "May" as year 1.
        parsed = pd.to_datetime(month.astype(str), errors="coerce", format="ISO8601")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna()
    if bad.any():
        r = _first(bad)
        _fail(
            source,
            r,
            "month",
            month.iloc[r],
            "not a month",
            'write months as "YYYY-MM" or a date such as "YYYY-MM-01"',
        )
    return parsed.dt.to_period("M").dt.to_timestamp().astype(MONTH_DTYPE)


def _canonical_count(values: pd.Series, column: str, source: str) -> pd.Series:
    """Whole, non-negative counts; int64, or nullable Int64 when some are not reported.

    A missing count means "not reported" (a source without that column), never 0: a 0 would
    turn into a 0 % rate. Sums and rates over a missing count stay missing.
    """
    hint = "counts are whole numbers of dossiers or ratings, 0 or more"
    if pd.api.types.is_bool_dtype(values):
        _fail(source, 0, column, values.iloc[0], "a yes/no column, not a count", hint)
    numbers = pd.to_numeric(values, errors="coerce")
    missing = values.isna().to_numpy()
    for bad, problem in (
        (numbers.isna() & ~missing, "not a number"),
        ((numbers != numbers.round()) & numbers.notna(), "not a whole number"),
        ((numbers < 0) & numbers.notna(), "negative"),
    ):
        if bad.any():
            r = _first(bad)
            _fail(source, r, column, values.iloc[r], problem, hint)
    return numbers.astype("Int64" if missing.any() else "int64")


def validate(df: pd.DataFrame, source: str = "panel") -> pd.DataFrame:
    """Check a count panel and return it with canonical types.

    Checks, in order: every column of ``KEY_COLUMNS`` and ``COUNT_COLUMNS`` is present; boundary
    and level values are known (level may also be ``"all"``, the output of
    ``aggregate(levels="sum")``); each (boundary, province_code) is a province of that boundary
    and ``province`` names it (any spelling :func:`analysis.registry.resolve` understands);
    months parse; counts are whole numbers >= 0; each numerator of ``RATES`` is at most its
    denominator and ``dossiers_fully_online <= dossiers_online``; no two rows share
    (boundary, province_code, level, month), and no level "all" row sits beside other levels of
    the same province and month (it would be counted twice).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per province x level x month.
    source : str, default "panel"
        Named in error messages (a file path, "synthetic", ...).

    Returns
    -------
    pandas.DataFrame
        A new frame, index 0..n-1, key and count columns first (other columns kept after them):
        counts int64, ``month`` datetime64[ns] on the first of the month, ``province_code`` a
        two-digit string, ``province`` the registry's official name.

    Raises
    ------
    WorkbenchError
        On the first problem, naming the source, the row (0-based position), the column and
        the value, with a hint.
    """
    if not isinstance(df, pd.DataFrame):
        raise WorkbenchError(
            f"{source}: expected a table, got {type(df).__name__}",
            hint="load the panel with analysis.panel.load",
        )
    missing = [c for c in KEY_COLUMNS + COUNT_COLUMNS if c not in df.columns]
    if missing:
        raise WorkbenchError(
            f"{source}: missing column(s) {', '.join(missing)}",
            hint=f"a panel has the columns {', '.join(KEY_COLUMNS + COUNT_COLUMNS)}",
        )
    extra = [c for c in df.columns if c not in KEY_COLUMNS + COUNT_COLUMNS]
    out = df[KEY_COLUMNS + COUNT_COLUMNS + extra].reset_index(drop=True).copy()

    for column, allowed in (("boundary", BOUNDARIES), ("level", (*LEVELS, ALL_LEVELS))):
        bad = ~out[column].isin(allowed)
        if bad.any():
            r = _first(bad)
            _fail(
                source,
                r,
                column,
                out[column].iloc[r],
                f"not one of {', '.join(allowed)}",
                f"use one of {', '.join(allowed)}",
            )
        out[column] = out[column].astype(str)

    out["province_code"] = _canonical_codes(out["province_code"], source)
    out["province"] = _canonical_names(out, source)
    out["month"] = _canonical_month(out["month"], source)
    for column in COUNT_COLUMNS:
        out[column] = _canonical_count(out[column], column, source)

    for numerator, denominator in SUBSET_CHECKS:
        bad = (out[numerator] > out[denominator]).fillna(False).astype(bool)
        if bad.any():
            r = _first(bad)
            _fail(
                source,
                r,
                numerator,
                int(out[numerator].iloc[r]),
                f"more than {denominator} ({int(out[denominator].iloc[r])})",
                f"{numerator} counts a part of {denominator}; check the source",
            )

    repeated = out.duplicated(subset=UNIQUE_KEY, keep="first")
    if repeated.any():
        r = _first(repeated)
        key = out.loc[r, UNIQUE_KEY]
        same = (out[UNIQUE_KEY] == key).all(axis=1)
        first = _first(same)
        value = (key["boundary"], key["province_code"], key["level"], f"{key['month']:%Y-%m}")
        _fail(
            source,
            r,
            "boundary, province_code, level, month",
            value,
            f"the same key as row {first}",
            "each province, level and month appears once; sum or drop the repeated rows",
        )

    is_all = out["level"] == ALL_LEVELS
    if is_all.any() and (~is_all).any():
        cell = ["boundary", "province_code", "month"]
        both = out.loc[is_all, cell].merge(
            out.loc[~is_all, cell].drop_duplicates(), how="left", indicator=True
        )
        clash = (both["_merge"] == "both").to_numpy()
        if clash.any():
            r = int(out.index[is_all][clash.nonzero()[0][0]])
            _fail(
                source,
                r,
                "level",
                ALL_LEVELS,
                "beside rows of single levels for the same province and month",
                "keep either the per-level rows or their sum, not both",
            )
    return out


def _canonical_names(out: pd.DataFrame, source: str) -> pd.Series:
    """Official names from the registry, after checking each row's code and name agree."""
    names: dict[tuple[str, str], str] = {}
    triples = out[["boundary", "province_code", "province"]].drop_duplicates()
    for r, (boundary, code, name) in zip(
        triples.index, triples.itertuples(index=False), strict=True
    ):
        try:
            province = registry.by_code(code, boundary)
        except WorkbenchError as exc:
            _fail(
                source,
                int(r),
                "province_code",
                code,
                exc.message,
                f"the {boundary} codes are listed by `workbench provinces`",
            )
        if pd.isna(name) or str(name).strip() == "":
            names[(boundary, code)] = province.name
            continue
        try:
            named = registry.resolve(str(name), boundary=boundary)
        except WorkbenchError:
            named = None
        if named != province:
            _fail(
                source,
                int(r),
                "province",
                name,
                f"not the name of {boundary} code {code} ({province.name})",
                "codes collide across boundaries (24 is old Bắc Giang, new Bắc Ninh): "
                "check boundary, code and name together",
            )
        names[(boundary, code)] = province.name
    keys = pd.MultiIndex.from_frame(out[["boundary", "province_code"]])
    return pd.Series(keys.map(names), index=out.index, dtype=str)


def save(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Validate a panel and write it to Parquet atomically.

    The file is written to a temporary file in the same folder and then moved into place with
    ``os.replace``, so a reader never sees a half-written panel.

    Parameters
    ----------
    df : pandas.DataFrame
    path : str or path-like
        The Parquet file; its folder is created if needed.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    clean = validate(df, source=str(target))
    with atomic_path(target) as tmp:
        clean.to_parquet(tmp, engine="pyarrow", index=False)
    return target


def load(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read and validate a panel written by :func:`save`.

    Parameters
    ----------
    path : str or path-like, optional
        The Parquet file; default ``config.DEFAULT_PANEL`` (the synthetic panel).

    Returns
    -------
    pandas.DataFrame
        As returned by :func:`validate`.
    """
    target = Path(path) if path is not None else config.DEFAULT_PANEL
    if not target.is_file():
        raise WorkbenchError(
            f"no panel file at {target}", hint="run `workbench synth` first or give --data"
        )
    try:
        df = pd.read_parquet(target, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise WorkbenchError(
            f"cannot read {target} as Parquet: {exc}",
            hint="give a panel written by `workbench synth` or `workbench ingest`",
        ) from exc
    return validate(df, source=str(target))


def add_rates(df: pd.DataFrame, names: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Add rate columns, each numerator / denominator of ``RATES``.

    Parameters
    ----------
    df : pandas.DataFrame
        A panel, at any aggregation, holding the count columns the rates need.
    names : str or iterable of str, optional
        Rates to add (keys of ``RATES``); default all of them.

    Returns
    -------
    pandas.DataFrame
        A copy with one float column per rate, NaN where the denominator is 0.
    """
    wanted = list(RATES) if names is None else [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in RATES]
    if unknown:
        raise WorkbenchError(
            f"unknown rate(s) {', '.join(unknown)}", hint=f"rates are {', '.join(RATES)}"
        )
    out = df.copy()
    for name in wanted:
        numerator, denominator = RATES[name]
        absent = [c for c in (numerator, denominator) if c not in out.columns]
        if absent:
            raise WorkbenchError(
                f"cannot compute {name}: missing column(s) {', '.join(absent)}",
                hint="rates are derived from the count columns of the panel",
            )
        # Float with NaN: a missing count gives a missing rate, as does a zero denominator.
        den = out[denominator].astype("Float64").astype("float64")
        num = out[numerator].astype("Float64").astype("float64")
        out[name] = (num / den).where(den > 0)
    return out


def _to_new34(data: pd.DataFrame) -> pd.DataFrame:
    """Relabel every row with the new34 province holding its territory.

    The map is keyed by (boundary, province_code): old 24 (Bắc Giang) and new 24 (Bắc Ninh) are
    different keys that happen to lead to the same place, and no code is looked up alone.
    """
    rows = [(p.boundary, p.code, registry.successor(p)) for p in registry.provinces()]
    mapping = pd.DataFrame(
        {
            "boundary": [b for b, _, _ in rows],
            "province_code": [c for _, c, _ in rows],
            "_new_code": [s.code for _, _, s in rows],
            "_new_name": [s.name for _, _, s in rows],
        }
    ).astype(str)
    merged = data.merge(
        mapping, on=["boundary", "province_code"], how="left", validate="many_to_one"
    )
    merged["boundary"] = "new34"
    merged["province_code"] = merged.pop("_new_code")
    merged["province"] = merged.pop("_new_name")
    return merged


def _aggregate(data: pd.DataFrame, freq: str, levels: str, boundary: str | None) -> pd.DataFrame:
    if boundary == "new34":
        data = _to_new34(data)
    if levels == "sum":
        data = data.assign(level=ALL_LEVELS)
    data = data.assign(period=data["month"].dt.to_period(freq))
    keys = ["boundary", "province_code", "province", "level", "period"]
    if freq == "M":
        keys.append("month")
    grouped = data.groupby(keys, sort=True, dropna=False)
    # int64 sums stay exact: no rate is averaged, rates are derived afterwards by add_rates.
    out = grouped[COUNT_COLUMNS].sum()
    # A sum over a count someone did not report is unknown, not a smaller number.
    unreported = data[COUNT_COLUMNS].isna()
    if unreported.to_numpy().any():
        partial = data[keys].join(unreported).groupby(keys, sort=True, dropna=False).any()
        for c in COUNT_COLUMNS:
            if partial[c].any():
                out[c] = out[c].astype("Int64").mask(partial[c])
    # How many months went into each period, so that a partial quarter or year can be spotted.
    out.insert(0, "n_months", grouped["month"].nunique().astype("int64"))
    return out.reset_index()


def aggregate(
    df: pd.DataFrame, freq: str = "M", levels: str = "sum", boundary: str | None = None
) -> pd.DataFrame:
    """Sum the counts over time, levels and/or the merger.

    Parameters
    ----------
    df : pandas.DataFrame
        A monthly panel (validated here).
    freq : {"M", "Q", "Y"}, default "M"
        Months, calendar quarters or calendar years.
    levels : {"sum", "keep"}, default "sum"
        "sum" adds the levels of a province into one row with level ``"all"``.
    boundary : {None, "new34"}, default None
        None keeps each row on its own boundary. "new34" maps old63 rows to the new province
        that holds their territory (through the crosswalk, by (boundary, code)) and sums, so a
        new province's series runs on across 1 July 2025.

    Returns
    -------
    pandas.DataFrame
        Columns boundary, province_code, province, level, period (a pandas Period of ``freq``),
        ``month`` too when freq is "M", ``n_months`` (distinct months summed: fewer than 3 in a
        quarter means a partial quarter), then the count columns as exact int64 sums; sorted by
        boundary, province_code, level and period. Add rates with :func:`add_rates`.
    """
    if freq not in FREQS:
        raise WorkbenchError(
            f"unknown frequency {freq!r}", hint='use "M" (month), "Q" (quarter) or "Y" (year)'
        )
    if levels not in ("sum", "keep"):
        raise WorkbenchError(
            f"unknown levels option {levels!r}", hint='use "sum" (add the levels up) or "keep"'
        )
    if boundary not in (None, "new34"):
        raise WorkbenchError(
            f"cannot aggregate to boundary {boundary!r}",
            hint='use "new34" to map old provinces onto new ones, or None to keep each row on '
            "its own boundary (a new province cannot be split back into old ones)",
        )
    return _aggregate(validate(df), freq, levels, boundary)


def series(
    df: pd.DataFrame,
    province: registry.Province,
    rate: str,
    level: str = "all",
    freq: str = "M",
) -> pd.DataFrame:
    """One province's rate over time, with its numerator and denominator.

    A new34 province gets its predecessors' old63 rows summed before the merger, so the series
    runs on across 1 July 2025; an old63 province gets its own old63 rows only.

    Parameters
    ----------
    df : pandas.DataFrame
        A monthly panel.
    province : Province
        From :func:`analysis.registry.resolve`.
    rate : str
        A key of ``RATES``.
    level : str, default "all"
        "all" sums the levels; or one of ``LEVELS``.
    freq : {"M", "Q", "Y"}, default "M"

    Returns
    -------
    pandas.DataFrame
        Columns ``month`` (freq "M") or ``period`` (otherwise), ``numerator``, ``denominator``
        (int64) and ``rate`` (float, NaN where the denominator is 0), sorted by time.
    """
    if rate not in RATES:
        raise WorkbenchError(f"unknown rate {rate!r}", hint=f"rates are {', '.join(RATES)}")
    if level != ALL_LEVELS and level not in LEVELS:
        raise WorkbenchError(
            f"unknown level {level!r}", hint=f"use {ALL_LEVELS!r} or one of {', '.join(LEVELS)}"
        )
    if freq not in FREQS:
        raise WorkbenchError(
            f"unknown frequency {freq!r}", hint='use "M" (month), "Q" (quarter) or "Y" (year)'
        )
    data = validate(df)
    if province.boundary == "new34":
        old_codes = [p.code for p in registry.predecessors(province)]
        mask = ((data["boundary"] == "new34") & (data["province_code"] == province.code)) | (
            (data["boundary"] == "old63") & data["province_code"].isin(old_codes)
        )
        target = "new34"
    else:
        mask = (data["boundary"] == "old63") & (data["province_code"] == province.code)
        target = None
    if level != ALL_LEVELS:
        mask &= data["level"] == level
    subset = data[mask]
    if subset.empty:
        raise WorkbenchError(
            f"no rows for {province.name} ({province.boundary}) at level {level}",
            hint="check the panel's provinces, levels and boundary",
        )
    agg = _aggregate(subset, freq, "sum", target)
    numerator, denominator = RATES[rate]
    time = "month" if freq == "M" else "period"
    out = pd.DataFrame(
        {
            time: agg[time],
            "numerator": agg[numerator],
            "denominator": agg[denominator],
        }
    )
    den = out["denominator"].astype("float64")
    out["rate"] = (out["numerator"] / den).where(den > 0)
    return out.sort_values(time).reset_index(drop=True)


def check_rate(name: str) -> str:
    """Return ``name`` if it is a rate of :data:`RATES`, else a WorkbenchError listing them."""
    if name not in RATES:
        raise WorkbenchError(f"unknown outcome {name!r}", hint=f"use one of: {', '.join(RATES)}")
    return name
