"""The provinces of Vietnam on both boundaries, their names as people type them, and the crosswalk.

Vietnam merged its 63 provinces into 34 on 1 July 2025 (``config.MERGER_DATE``). A province entity
is identified by ``(boundary, code)`` with boundary ``"old63"`` or ``"new34"``: codes collide across
boundaries (24 is old Bắc Giang and new Bắc Ninh), so a code alone never identifies a province.

Two data files in ``analysis/data`` hold everything:

- ``provinces.csv``: one row per province entity (63 old + 34 new), built from the official
  crosswalk ``provinces_2025.csv``. A new province takes the socio-economic region of the old
  province whose name and code it kept (new Gia Lai -> Tây Nguyên, new Tây Ninh -> Đông Nam Bộ).
- ``province_variants.csv``: the names people type that cannot be derived from the official name
  (abbreviations such as "HCM" or "BRVT", former names such as "Sài Gòn", older spellings such as
  "Đắc Lắc"). Case, diacritics, tone-mark placement ("Hoà"/"Hòa"), Unicode form, dashes, spaces
  and prefixes ("Tỉnh", "TP.", "Thành phố") are handled by :func:`normalise` instead.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from analysis import config
from analysis.errors import WorkbenchError
from analysis.text import fold as text_fold

BOUNDARIES = ("old63", "new34")
PROVINCES_FILE = config.PACKAGE_DATA / "provinces.csv"
VARIANTS_FILE = config.PACKAGE_DATA / "province_variants.csv"

_LIST_HINT = "use one of the names listed by `workbench provinces`"

# Administrative prefixes, as token sequences after folding ("T.P." folds to "t p").
# "UBND tỉnh X" / "Ủy ban nhân dân tỉnh X": how the national portal names a province.
_PREFIXES = (
    ("uy", "ban", "nhan", "dan"),
    ("ubnd",),
    ("thanh", "pho"),
    ("tinh",),
    ("tp",),
    ("t", "p"),
)


@dataclass(frozen=True)
class Province:
    """One province entity on one boundary.

    Attributes
    ----------
    boundary : str
        ``"old63"`` (before 1 July 2025) or ``"new34"`` (from that day).
    code : str
        Two-digit code, with its leading zero. Unique only within a boundary.
    name : str
        Official short name with diacritics, e.g. ``"Hồ Chí Minh"``.
    name_ascii : str
        The name without diacritics (đ -> d).
    slug : str
        Lowercase ASCII with hyphens, unique within a boundary, e.g. ``"ho-chi-minh"``.
    kind : str
        ``"tỉnh"`` or ``"thành phố"`` (centrally-run city).
    region : str
        Id of the socio-economic region, e.g. ``"dong-nam-bo"``.
    new_code : str or None
        For an old63 province, the code of the new34 province it joined; None for new34.
    """

    boundary: str
    code: str
    name: str
    name_ascii: str
    slug: str
    kind: str
    region: str
    new_code: str | None

    def __str__(self) -> str:
        return f"{self.name} ({self.boundary} {self.code})"


def _fold(text: str) -> str:
    """Lowercase ASCII: drop every diacritic (so tone-mark placement no longer matters), đ -> d."""
    return text_fold(text)


def normalise(name: str) -> str:
    """The matching key of a province name.

    NFC, lowercase, ASCII fold (diacritics dropped, đ -> d), administrative prefixes stripped
    ("Tỉnh", "Thành phố", "TP", "TP.", "T.P."), and every run of spaces, hyphens, dashes and
    punctuation removed, so that "Bà Rịa – Vũng Tàu", "ba ria-vung tau" and "BaRiaVungTau" share
    one key, and so do "Kon Tum" and "Kontum".

    Parameters
    ----------
    name : str
        A province name as typed.

    Returns
    -------
    str
        The key, e.g. ``"bariavungtau"``; empty if nothing is left.

    Examples
    --------
    >>> normalise("TP. Hồ Chí Minh")
    'hochiminh'
    >>> normalise("Tỉnh Hoà Bình") == normalise("Hòa Bình")
    True
    """
    tokens = re.sub(r"[^a-z0-9]+", " ", _fold(name)).split()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            n = len(prefix)
            # Keep the prefix if nothing would be left ("Tỉnh" alone is not a province).
            if tuple(tokens[:n]) == prefix and len(tokens) > n:
                tokens = tokens[n:]
                stripped = True
                break
    return "".join(tokens)


def _check_boundary(boundary: str) -> str:
    if boundary not in BOUNDARIES:
        raise WorkbenchError(
            f"unknown boundary {boundary!r}",
            hint='use "old63" (the 63 provinces before 1 July 2025) or "new34" (the 34 from then)',
        )
    return boundary


@lru_cache(maxsize=1)
def _table() -> tuple[Province, ...]:
    with PROVINCES_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return tuple(
        Province(
            boundary=r["boundary"],
            code=r["code"].zfill(2),
            name=unicodedata.normalize("NFC", r["name"]),
            name_ascii=r["name_ascii"],
            slug=r["slug"],
            kind=r["kind"],
            region=r["region"],
            new_code=r["new_code"].zfill(2) if r["new_code"] else None,
        )
        for r in rows
    )


@lru_cache(maxsize=1)
def _by_key() -> dict[tuple[str, str], Province]:
    return {(p.boundary, p.code): p for p in _table()}


@lru_cache(maxsize=1)
def _name_index() -> dict[str, dict[str, Province]]:
    """Matching key -> {boundary: province}. A key names at most one province per boundary."""
    index: dict[str, dict[str, Province]] = {}

    def add(key: str, province: Province) -> None:
        seen = index.setdefault(key, {}).get(province.boundary)
        if seen is not None and seen != province:
            raise ValueError(f"name key {key!r} names both {seen} and {province}")
        index[key][province.boundary] = province

    for p in _table():
        add(normalise(p.name), p)
    with VARIANTS_FILE.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            add(normalise(r["variant"]), _by_key()[(r["boundary"], r["code"].zfill(2))])
    return index


def provinces(boundary: str | None = None) -> list[Province]:
    """The provinces of one boundary, sorted by code.

    Parameters
    ----------
    boundary : {"old63", "new34"}, optional
        Which map. None gives all 97 entities, old63 first.

    Returns
    -------
    list of Province
        63 for ``"old63"``, 34 for ``"new34"``.
    """
    if boundary is None:
        return [p for b in BOUNDARIES for p in provinces(b)]
    _check_boundary(boundary)
    return sorted((p for p in _table() if p.boundary == boundary), key=lambda p: p.code)


def _boundary_on(on: object) -> str:
    try:
        when = pd.Timestamp(on)
    except (ValueError, TypeError) as exc:
        raise WorkbenchError(
            f"cannot read the date {on!r}", hint='give a date as "YYYY-MM-DD" or "YYYY-MM"'
        ) from exc
    if pd.isna(when):
        raise WorkbenchError(f"cannot read the date {on!r}", hint='give "YYYY-MM-DD" or "YYYY-MM"')
    if when.tzinfo is not None:
        when = when.tz_localize(None)
    return "old63" if when < pd.Timestamp(config.MERGER_DATE) else "new34"


def _merger_day() -> str:
    return pd.Timestamp(config.MERGER_DATE).strftime("%d/%m/%Y")


def _close_matches(key: str, boundary: str | None) -> list[str]:
    names: dict[str, str] = {}  # key -> display name, first seen wins
    for p in _table():
        if boundary is None or p.boundary == boundary:
            names.setdefault(normalise(p.name), p.name)
    found = difflib.get_close_matches(key, list(names), n=3, cutoff=0.0)
    return [names[k] for k in found]


def resolve(name: str, boundary: str | None = None, on: object = None) -> Province:
    """Find a province from a name as people type it.

    Understands case, diacritics (or none), old and new tone-mark placement, NFC/NFD input,
    extra spaces, dash variants, the prefixes "Tỉnh", "TP.", "Thành phố", and the abbreviations,
    former names and spellings listed in ``province_variants.csv`` ("HCM", "Sài Gòn", "BRVT",
    "TT Huế", "Đắc Lắc", ...).

    Parameters
    ----------
    name : str
        The name.
    boundary : {"old63", "new34"}, optional
        Which map to look in.
    on : str or pandas.Timestamp, optional
        A date ("YYYY-MM-DD" or "YYYY-MM"). Used only when the boundary is not given and the name
        exists on both maps (the 11 unchanged provinces, and those whose name the merged province
        kept, such as "Bắc Ninh"): before ``config.MERGER_DATE`` it means old63, from it new34.

    Returns
    -------
    Province

    Raises
    ------
    WorkbenchError
        Unknown name (the message lists the 3 closest names), or an old63-only name asked for on
        the new34 map (the message says which new province it joined).

    Notes
    -----
    With neither ``boundary`` nor ``on``, a name on both maps resolves to its old63 province,
    a name only on one map to that one. "Huế" and "Thừa Thiên Huế" name the same entity (code 46)
    on both maps, since the province was only renamed.
    """
    key = normalise(name)
    if not key:
        raise WorkbenchError(f"empty province name {name!r}", hint=_LIST_HINT)
    if boundary is not None:
        _check_boundary(boundary)
    found = _name_index().get(key, {})
    if boundary is not None:
        if boundary in found:
            return found[boundary]
        if "old63" in found:  # boundary is new34 here: the name went away in the merger
            old = found["old63"]
            new = successor(old)
            raise WorkbenchError(
                f"{old.name} was merged into {new.name} on {_merger_day()}; "
                f'it is not a province on the "new34" map',
                hint=f'use "{new.name}", or boundary="old63" for data before the merger',
            )
        if "new34" in found:  # not reachable with today's names, but kept for new variants
            new = found["new34"]
            olds = ", ".join(p.name for p in predecessors(new))
            raise WorkbenchError(
                f"{new.name} is a province of the new34 map (formed from {olds})",
                hint='use boundary="new34", or one of the old names for data before the merger',
            )
    elif found:
        if len(found) == 1:
            return next(iter(found.values()))
        return found[_boundary_on(on) if on is not None else "old63"]
    close = ", ".join(_close_matches(key, boundary))
    raise WorkbenchError(
        f'unknown province "{name}"; the closest names are {close}',
        hint=_LIST_HINT,
    )


def by_code(code: str | int, boundary: str) -> Province:
    """The province with this code on this boundary.

    Parameters
    ----------
    code : str or int
        Two-digit code; ``4``, ``"4"`` and ``"04"`` are the same.
    boundary : {"old63", "new34"}
        Required: codes collide across boundaries (24 is old Bắc Giang and new Bắc Ninh).

    Returns
    -------
    Province
    """
    _check_boundary(boundary)
    text = str(code).strip().zfill(2)
    province = _by_key().get((boundary, text))
    if province is None:
        raise WorkbenchError(
            f"no province with code {code!r} on the {boundary} map",
            hint=f"codes are listed by `workbench provinces --boundary {boundary}`",
        )
    return province


def by_slug(slug: str, boundary: str | None = None) -> Province:
    """The province with this slug (e.g. ``"ho-chi-minh"``).

    Parameters
    ----------
    slug : str
    boundary : {"old63", "new34"}, optional
        A slug is unique within a boundary. Without one, a slug on both maps gives the old63
        province (as :func:`resolve` does).

    Returns
    -------
    Province
    """
    if boundary is not None:
        _check_boundary(boundary)
    text = str(slug).strip().lower()
    for b in (boundary,) if boundary else BOUNDARIES:
        for p in provinces(b):
            if p.slug == text:
                return p
    raise WorkbenchError(
        f"no province with slug {slug!r}" + (f" on the {boundary} map" if boundary else ""),
        hint="slugs are lowercase ASCII with hyphens, e.g. ho-chi-minh; " + _LIST_HINT,
    )


def successor(province: Province) -> Province:
    """The new34 province that holds an old63 province's territory.

    A new34 province is its own successor, so the function maps any province onto the new map.
    """
    if province.boundary == "new34":
        return province
    return by_code(province.new_code, "new34")


def predecessors(province: Province) -> list[Province]:
    """The old63 provinces that formed a new34 province, sorted by code.

    An old63 province is its own (single) predecessor, so the function maps any province onto
    the old map.
    """
    if province.boundary == "old63":
        return [province]
    return [p for p in provinces("old63") if p.new_code == province.code]


def crosswalk() -> pd.DataFrame:
    """The 63 old provinces and the new province each joined.

    Returns
    -------
    pandas.DataFrame
        Columns ``old_code``, ``old_name``, ``new_code``, ``new_name`` (strings), 63 rows sorted
        by ``old_code``.
    """
    rows = [
        (p.code, p.name, p.new_code, by_code(p.new_code, "new34").name) for p in provinces("old63")
    ]
    return pd.DataFrame(rows, columns=["old_code", "old_name", "new_code", "new_name"]).astype(str)
