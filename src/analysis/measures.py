"""The measures file (``config/measures.csv``): load, validate, look up.

A measure is something a province (or the Government) did to move the index: a fee cut for
online submissions, a directive, a circular. The file is data an analyst edits; every mistake
in it is reported with its file, line, column and value.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.config import MEASURES_FILE
from analysis.errors import WorkbenchError

COLUMNS = [
    "measure_id",
    "province_old",
    "province_new",
    "kind",
    "intensity",
    "start",
    "end",
    "document",
    "scope",
    "confidence",
    "document_vi",
    "scope_vi",
    "confidence_vi",
    "source",
]
# What a reader sees of a measure, by language: ``document``/``scope``/``confidence`` are the
# English texts, the ``_vi`` columns the Vietnamese ones; both are required for every measure
# (a Vietnamese document never prints an English scope).
READER_TEXTS = ("document", "scope", "confidence")
# Optional: a short name for readers; without one, briefs describe the measure from its kind.
OPTIONAL_COLUMNS = ["name_vi", "name_en"]
KINDS = ("fee_cut", "directive", "circular", "index", "digital_signature", "other")
CONFIDENCE = ("high", "medium", "low")


@dataclass(frozen=True)
class Measure:
    """One measure of the measures file.

    Attributes
    ----------
    measure_id : str
        Stable identifier, e.g. ``thai-nguyen-fee-50``.
    province_old, province_new : str or None
        The province before and after the July 2025 merger (official names); None for a
        national measure.
    kind : str
        One of :data:`KINDS`.
    intensity : float or None
        Share of the fee removed for fee cuts (0.5 = halved, 1.0 = free); None otherwise.
    start, end : pandas.Timestamp, end may be None
        First day in force; last day in force (None while in force).
    document, scope, source : str
        The legal document, what it covers, where the facts come from.
    confidence : str
        ``high``, ``medium`` or ``low``, followed by the reason as written in the file.
    names : dict
        Short names for readers by language (``{"vi": …, "en": …}``), possibly empty.
    texts_vi : tuple of (field, text)
        The Vietnamese ``document``, ``scope`` and ``confidence`` (:meth:`text`).
    """

    measure_id: str
    province_old: str | None
    province_new: str | None
    kind: str
    intensity: float | None
    start: pd.Timestamp
    end: pd.Timestamp | None
    document: str
    scope: str
    confidence: str
    source: str
    names: tuple[tuple[str, str], ...] = ()
    texts_vi: tuple[tuple[str, str], ...] = ()

    def text(self, field: str, lang: str) -> str:
        """``document``, ``scope`` or ``confidence`` for a reader of ``lang`` (vi/en)."""
        if lang == "vi":
            return dict(self.texts_vi).get(field, "")
        return getattr(self, field)

    @property
    def confidence_level(self) -> str:
        """``high``, ``medium`` or ``low`` without the explanation."""
        return self.confidence.split(":")[0].strip()

    @property
    def is_national(self) -> bool:
        return self.province_old is None and self.province_new is None

    def province_on(self, day) -> str | None:
        """The province name valid on ``day`` (old name before the merger, new name after)."""
        from analysis.config import MERGER_DATE

        if pd.Timestamp(day) < pd.Timestamp(MERGER_DATE):
            return self.province_old
        return self.province_new


def _problem(path: Path, line: int, column: str, value: str, what: str, hint: str):
    return WorkbenchError(f"{path}, line {line}, column {column!r}: {what} (value {value!r})", hint)


def _parse_date(path: Path, line: int, column: str, value: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(pd.to_datetime(value, format="%Y-%m-%d"))
    except (ValueError, TypeError):
        raise _problem(
            path, line, column, value, "not a date", "write dates as YYYY-MM-DD, e.g. 2022-07-01"
        ) from None


@lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> dict[str, Measure]:
    from analysis import registry
    from analysis.files import read_text

    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise WorkbenchError(
                f"{path}: required columns missing: {', '.join(missing)}",
                hint=f"the header must name: {', '.join(COLUMNS)}",
            )
        measures: dict[str, Measure] = {}
        for line, row in enumerate(reader, start=2):  # line 1 is the header
            row = {k: (v or "").strip() for k, v in row.items() if k}
            mid = row["measure_id"]
            if not mid:
                raise _problem(
                    path, line, "measure_id", mid, "empty id", "give every measure an id"
                )
            if mid in measures:
                raise _problem(path, line, "measure_id", mid, "duplicate id", "ids must be unique")
            if row["kind"] not in KINDS:
                raise _problem(
                    path,
                    line,
                    "kind",
                    row["kind"],
                    "unknown kind",
                    f"use one of {', '.join(KINDS)}",
                )
            intensity = None
            if row["intensity"]:
                try:
                    intensity = float(row["intensity"].replace(",", "."))
                except ValueError:
                    intensity = -1.0
                if not 0 <= intensity <= 1:
                    raise _problem(
                        path,
                        line,
                        "intensity",
                        row["intensity"],
                        "not a share between 0 and 1",
                        "write 0.5 for a 50 % cut, 1 for free",
                    )
            start = _parse_date(path, line, "start", row["start"])
            end = _parse_date(path, line, "end", row["end"]) if row["end"] else None
            if end is not None and end < start:
                raise _problem(
                    path, line, "end", row["end"], "ends before it starts", "check start and end"
                )
            level = row["confidence"].split(":")[0].strip()
            if level not in CONFIDENCE:
                raise _problem(
                    path,
                    line,
                    "confidence",
                    row["confidence"],
                    "must start with high, medium or low",
                    "e.g. 'medium: month from news'",
                )
            names = {}
            for column, boundary in (("province_old", "old63"), ("province_new", "new34")):
                name = row[column]
                if not name:
                    names[column] = None
                    continue
                try:
                    names[column] = registry.resolve(name, boundary=boundary)
                except WorkbenchError as err:
                    raise _problem(path, line, column, name, err.message, err.hint) from None
            old, new = names["province_old"], names["province_new"]
            if old is not None and new is not None and registry.successor(old) != new:
                # A measure is followed across the merger into its successor: any other new
                # province would evaluate it on a place that never held it.
                heir = registry.successor(old).name
                raise _problem(
                    path,
                    line,
                    "province_new",
                    row["province_new"],
                    f"{old.name} joined {heir} on 1 July 2025, not {new.name}",
                    f"write {heir} (see `workbench provinces --boundary new34`)",
                )
            names = {k: (v.name if v is not None else None) for k, v in names.items()}
            for field in READER_TEXTS:
                for column in (field, f"{field}_vi"):
                    if not row.get(column):
                        raise _problem(
                            path,
                            line,
                            column,
                            "",
                            "empty text",
                            f"write the measure's {field} in "
                            + ("Vietnamese" if column.endswith("_vi") else "English")
                            + " (documents print it as is)",
                        )
            measures[mid] = Measure(
                measure_id=mid,
                province_old=names["province_old"],
                province_new=names["province_new"],
                kind=row["kind"],
                intensity=intensity,
                start=start,
                end=end,
                document=row["document"],
                scope=row["scope"],
                confidence=row["confidence"],
                source=row["source"],
                names=tuple(
                    (c.removeprefix("name_"), row[c]) for c in OPTIONAL_COLUMNS if row.get(c)
                ),
                texts_vi=tuple((f, row[f"{f}_vi"]) for f in READER_TEXTS),
            )
    return measures


def load(path: Path | str = MEASURES_FILE) -> dict[str, Measure]:
    """Read and validate the measures file.

    Parameters
    ----------
    path : path-like, default ``config/measures.csv``

    Returns
    -------
    dict
        measure_id -> :class:`Measure`, in file order.

    Raises
    ------
    WorkbenchError
        When the file is missing or a row is invalid (file, line, column and value are named).
    """
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"measures file not found: {path}", hint="check the path")
    return _load(path, path.stat().st_mtime)


def get(measure_id: str, path: Path | str = MEASURES_FILE) -> Measure:
    """The measure with id ``measure_id``; an unknown id names the closest ids."""
    measures = load(path)
    if measure_id in measures:
        return measures[measure_id]
    close = difflib.get_close_matches(measure_id, list(measures), n=3, cutoff=0.3)
    hint = f"did you mean {', '.join(close)}?" if close else "see config/measures.csv"
    raise WorkbenchError(
        f"unknown measure {measure_id!r}", hint=hint + " (workbench measures lists them)"
    )


def target(measure_id: str, province: str | None = None):
    """The measure and the province it is evaluated in, both checked.

    A provincial measure is evaluated in its own province (``province`` may be omitted); a
    national one needs a province. The province is taken on the boundary in force on the
    measure's first day (63 provinces before 1 July 2025, 34 from then).

    Returns
    -------
    (Measure, registry.Province)
    """
    from analysis import registry

    measure = get(measure_id)
    if not province:
        if measure.is_national:
            raise WorkbenchError(
                f"{measure_id} is a national measure", hint="say which province with --province"
            )
        province = measure.province_on(measure.start)
    place = registry.resolve(province, on=measure.start)
    own = measure.province_on(measure.start)
    if own is not None and place.name != own:
        raise WorkbenchError(
            f"measure {measure_id} is {own}'s, not {place.name}'s",
            hint=f"use --province {own!r}, or a measure of {place.name} (workbench measures)",
        )
    return measure, place
