"""The national portal's evaluation API responses -> group points and component counts.

The portal (Cổng DVCQG) answers ``/api/v1/reporting/evaluation/<endpoint>`` with one group of
the index for a province, its provincial agencies and its communes, in one of two shapes
(``shared/reference/portal/README.md``):

- ``{"code": "OK", "data": {"overview": {...}, "evaluation": [...]}}``: each unit has
  ``metrics[]`` of ``{code, numerator, denominator, ratio, score, maxScore}`` and
  ``totalScore``/``totalMaxScore``;
- ``{"code": "OK", "data": {"parent": {...}, "children": [...]}}``: each unit has named counts
  (``totalReceived``, ``totalOnTime``, ...) and ``score``/``maxScore`` or
  ``totalScore``/``totalMaxScore``.

Which endpoint is which group, and which code or field is which component of the rules file,
is data (``config/portal_api.yaml``). The period is not in the response (the portal takes it
from the request): it comes from ``--period`` or from the file name
``<endpoint>_<YYYY-MM | YYYY-Qn | year-YYYY>.json``.

What is kept, per unit (``departmentId``) and period:

- the group points in the scores table the flat layout writes (``scores.parquet``: one column
  per group, the total only when all six groups are known);
- :data:`UNITS_FILE`: the portal's name, code and level of the unit, its province, and the
  group points and maximum of each endpoint;
- :data:`COMPONENTS_FILE`: each component's numerator, denominator, the portal's ratio and
  points, with the rules file's component id (empty for a code no rule maps; the summary names
  it).

A count the portal did not give stays missing (never 0).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from analysis import config, registry
from analysis.errors import WorkbenchError
from analysis.ingest import guards, reading, scores, values
from analysis.ingest.problems import Problem
from analysis.ingest.reading import FileRejectedError
from analysis.ingest.scores import FIRST_PERIOD, GROUPS, OUTPUT_COLUMNS, TOTAL

ENDPOINTS_FILE = config.CONFIG_DIR / "portal_api.yaml"
UNITS_FILE = "portal_units.parquet"
COMPONENTS_FILE = "portal_components.parquet"
LEVELS = ("province", "agency", "commune")
SHAPES = ("metrics", "tree")
# Points are shown with 2 decimals: a sum of shown points can be off by this much.
POINTS_TOLERANCE = 0.011

UNIT_COLUMNS = [
    "unit_id",
    "department_code",
    "portal_name",
    "unit",
    "province",
    "boundary",
    "province_code",
    "level",
    "period",
    "endpoint",
    "group",
    "points",
    "max_points",
    "file",
]
COMPONENT_COLUMNS = [
    "unit_id",
    "period",
    "endpoint",
    "group",
    "code",
    "component",
    "numerator",
    "denominator",
    "ratio",
    "points",
    "max_points",
]
UNIT_KEY = ["unit_id", "period", "endpoint"]
COMPONENT_KEY = ["unit_id", "period", "endpoint", "code"]
_START = re.compile(rb'^\s*\{\s*"code"\s*:')
# Fields of a unit that hold text; every other field holds a number or null.
_TEXT = {
    "departmentId",
    "departmentName",
    "departmentCode",
    "departmentType",
    "departmentLevel",
    "agencyLevel",
    "level",
}
# Fields of a tree unit that are not counts (identity, the unit's points, the portal's ratio).
_TREE_META = _TEXT | {
    "stt",
    "ratio",
    "score",
    "maxScore",
    "totalScore",
    "totalMaxScore",
    "scoreDelta",
    "averageScore",
}
_METRIC_TEXT = {"code", "name", "dataQualityStatus", "dataQualityMessage"}


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of ``config/portal_api.yaml``.

    Attributes
    ----------
    name : str
        The endpoint as in the API's path (``transparency``, ``dvc-progress-tree``, ...).
    group : str
        The group of the index it scores.
    shape : {"metrics", "tree"}
    metrics : dict
        Metric code -> rule component id (shape ``metrics``).
    fields : dict
        Rule component id -> ``{"numerator": [fields], "denominator": [fields], "ratio": field}``
        (shape ``tree``).
    ignore : frozenset of str
        Fields known to carry nothing the rules score.
    """

    name: str
    group: str
    shape: str
    metrics: dict[str, str]
    fields: dict[str, dict]
    ignore: frozenset[str]

    def signature(self) -> set[str]:
        """The codes or fields that tell this endpoint's responses apart."""
        if self.shape == "metrics":
            return set(self.metrics)
        return {
            f
            for spec in self.fields.values()
            for k in ("numerator", "denominator")
            for f in spec.get(k, [])
        }


def _fail(path: Path, what: str, hint: str) -> WorkbenchError:
    return WorkbenchError(f"{path}: {what}", hint=hint)


def _names(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@lru_cache(maxsize=4)
def _load(path: Path, stamp: float) -> dict[str, Endpoint]:
    del stamp  # cache key only
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(
            path, f"cannot read the endpoint settings ({exc})", "restore the file"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("endpoints"), dict):
        raise _fail(path, "no 'endpoints' mapping", "write 'endpoints:' with one entry each")
    out: dict[str, Endpoint] = {}
    for name, raw in doc["endpoints"].items():
        where = f"endpoints: {name}"
        if not isinstance(raw, dict):
            raise _fail(path, f"{where}: not a mapping", "give group, shape and metrics/fields")
        group, shape = raw.get("group"), raw.get("shape")
        if group not in GROUPS:
            raise _fail(
                path, f"{where}: unknown group {group!r}", f"use one of {', '.join(GROUPS)}"
            )
        if shape not in SHAPES:
            raise _fail(path, f"{where}: unknown shape {shape!r}", "use metrics or tree")
        metrics = {str(k): str(v) for k, v in (raw.get("metrics") or {}).items()}
        fields: dict[str, dict] = {}
        for cid, spec in (raw.get("fields") or {}).items():
            if not isinstance(spec, dict) or not (
                set(spec) <= {"numerator", "denominator", "ratio"}
            ):
                raise _fail(
                    path,
                    f"{where}: fields: {cid}: {spec!r}",
                    "give numerator and denominator (field names), or ratio",
                )
            fields[str(cid)] = {
                "numerator": _names(spec.get("numerator")),
                "denominator": _names(spec.get("denominator")),
                "ratio": spec.get("ratio"),
            }
        if shape == "metrics" and not metrics or shape == "tree" and not fields:
            raise _fail(path, f"{where}: nothing mapped", "list its metrics (or fields)")
        ignore = frozenset(_names(raw.get("ignore")) + _names(raw.get("ignore_units")))
        out[str(name)] = Endpoint(str(name), group, shape, metrics, fields, ignore)
    return out


def load_endpoints(path: str | Path | None = None) -> dict[str, Endpoint]:
    """Read and check ``config/portal_api.yaml``.

    Raises
    ------
    WorkbenchError
        The file is missing or malformed (naming the endpoint and the key).
    """
    target = Path(path) if path is not None else ENDPOINTS_FILE
    if not target.is_file():
        raise WorkbenchError(
            f"no portal API settings at {target}", hint="restore config/portal_api.yaml"
        )
    return _load(target, target.stat().st_mtime)


def is_response(path: Path) -> bool:
    """Whether a file starts like a portal API response (``{"code": ...``).

    A cheap look at the first bytes, so that a truncated response still comes here and is
    refused as one, not as a table.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    return bool(_START.match(head.lstrip(b"\xef\xbb\xbf")))


_FILE_PERIOD = re.compile(r"(?i)_(\d{4}-\d{2}|\d{4}-q[1-4]|year-\d{4})$")


def period_from_name(name: str) -> str | None:
    """The period in ``<endpoint>_<YYYY-MM | YYYY-Qn | year-YYYY>.json``, or None."""
    hit = _FILE_PERIOD.search(Path(name).stem)
    if not hit:
        return None
    text = hit.group(1)
    return text[5:] if text.lower().startswith("year-") else text.upper()


def endpoint_from_name(name: str) -> str:
    """The endpoint part of the file name (everything before ``_<period>``)."""
    return _FILE_PERIOD.sub("", Path(name).stem)


# --- unit names ----------------------------------------------------------------------------

_UBND = r"(?:ubnd|uy ban nhan dan)"
_PROVINCE_HEAD = re.compile(rf"^{_UBND} (?:tinh|thanh pho) (.+)$")
_COMMUNE_HEAD = re.compile(rf"^{_UBND} (xa|phuong|dac khu|thi tran) (.+)$")
_PROVINCE_TAIL = re.compile(r"^(?:tinh|thanh pho|tp\.?) \S")
_COMMUNE_WORDS = {"xa": "Xã", "phuong": "Phường", "dac khu": "Đặc khu", "thi tran": "Thị trấn"}
_DASHES = re.compile(r"\s+[-–—]\s+")


@dataclass(frozen=True)
class UnitName:
    """What a portal unit name says.

    Attributes
    ----------
    kind : str or None
        ``province`` ("UBND tỉnh X"), ``commune`` ("UBND xã Y", "UBND Phường Z") or
        ``agency`` ("Sở … - Tỉnh X"); None when the name does not say.
    province : str or None
        The province named ("Tỉnh X", "UBND tỉnh X"), if any.
    local : str
        The name shown in tables: "Xã Hy Cương", "Sở Công Thương", "UBND tỉnh Phú Thọ".
    """

    kind: str | None
    province: str | None
    local: str


def parse_unit_name(name: str) -> UnitName:
    """Read a unit name in the portal's forms.

    Examples
    --------
    >>> parse_unit_name("UBND xã Lâm Thao - Tỉnh Phú Thọ")
    UnitName(kind='commune', province='Tỉnh Phú Thọ', local='Xã Lâm Thao')
    >>> parse_unit_name("Sở Công Thương - Tỉnh Phú Thọ").kind
    'agency'
    >>> parse_unit_name("UBND Phường Phú Thọ").kind
    'commune'
    """
    text = " ".join(unicodedata.normalize("NFC", str(name)).split())
    parts = _DASHES.split(text)
    head, province = text, None
    if len(parts) > 1 and _PROVINCE_TAIL.match(values.fold(parts[-1])):
        head, province = " - ".join(parts[:-1]), parts[-1]
    words, folded = head.split(" "), values.fold(head)
    if _PROVINCE_HEAD.match(folded):
        return UnitName("province", head, head)
    hit = _COMMUNE_HEAD.match(folded)
    if hit:
        # Same words folded or not: the commune's own name is the last words of the head.
        rest = " ".join(words[len(words) - len(hit.group(2).split(" ")) :])
        return UnitName("commune", province, f"{_COMMUNE_WORDS[hit.group(1)]} {rest}")
    return UnitName("agency" if province else None, province, head)


# --- reading one response ------------------------------------------------------------------


@dataclass
class Response:
    """What one portal response gave.

    Attributes
    ----------
    file : str
    endpoint : Endpoint
    period : str
        ``2026-08``, ``2026-Q3`` or ``2026``.
    units : list of dict
        One per unit (columns :data:`UNIT_COLUMNS`).
    components : list of dict
        One per unit and metric code (columns :data:`COMPONENT_COLUMNS`).
    unmapped : dict
        Code or field -> number of units that carried it without a rule mapping it.
    """

    file: str
    endpoint: Endpoint
    period: str
    units: list[dict] = field(default_factory=list)
    components: list[dict] = field(default_factory=list)
    unmapped: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    return None


def _load_json(path: Path, file: str):
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _rejected(file, "unreadable_file", f"cannot read ({exc.strerror})", "") from None
    reading.check_bytes(raw, file, ".json")
    text, _, bad = reading.decode(raw, file)
    if bad:
        raise _rejected(file, "bad_encoding", "the file is not UTF-8 text", "save it as UTF-8")
    guards.check_no_nul(text, file)
    try:
        return guards.json_loads(text, file)
    except json.JSONDecodeError as exc:
        _, open_depth, in_string = guards.scan_brackets(text)
        at_end = exc.pos >= len(text.rstrip()) or in_string or open_depth > 0
        raise _rejected(
            file,
            "truncated_file" if at_end else "bad_json",
            (
                "the portal response ends too early: the file was cut short"
                if at_end
                else "the portal response is not valid JSON"
            )
            + f" (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "download the response from the portal again",
        ) from None


def _rejected(file, kind, message, hint, column=None, value="") -> FileRejectedError:
    return FileRejectedError([Problem(file, None, column, value, kind, message, hint)])


def _shape_units(data: dict) -> tuple[str, dict, list]:
    if "overview" in data or "evaluation" in data:
        return "metrics", data.get("overview"), data.get("evaluation")
    if "parent" in data or "children" in data:
        return "tree", data.get("parent"), data.get("children")
    return "", None, None


def _which_endpoint(
    file: str, shape: str, units: list[dict], endpoints: dict[str, Endpoint]
) -> Endpoint:
    seen: set[str] = set()
    for unit in units:
        if shape == "metrics":
            metrics = unit.get("metrics")
            if isinstance(metrics, list):
                seen |= {str(m.get("code")) for m in metrics if isinstance(m, dict)}
        else:
            seen |= set(unit)
    hits = [e for e in endpoints.values() if e.shape == shape and e.signature() & seen]
    if len(hits) == 1:
        return hits[0]
    by_name = endpoints.get(endpoint_from_name(file))
    if by_name is not None and by_name.shape == shape and (not hits or by_name in hits):
        return by_name
    raise _rejected(
        file,
        "unknown_endpoint",
        "cannot tell which endpoint (group) this portal response is from: "
        + (
            f"its codes match {', '.join(e.name for e in hits)}"
            if hits
            else "none of its codes or fields is in config/portal_api.yaml"
        ),
        "name the file <endpoint>_<period>.json (endpoints: " + ", ".join(endpoints) + ")",
    )


def read_response(
    path: Path,
    file: str,
    *,
    period: str | None = None,
    today: pd.Timestamp | None = None,
    endpoints: dict[str, Endpoint] | None = None,
    max_points: dict[str, float] | None = None,
) -> Response:
    """Read and check one portal response.

    Parameters
    ----------
    path : Path
    file : str
        The file as the user named it (in every message).
    period : str, optional
        The period the response is for; default from the file name.
    today : pandas.Timestamp, optional
        For "period in the future".
    endpoints : dict, optional
        :func:`load_endpoints`; default ``config/portal_api.yaml``.
    max_points : dict, optional
        Group -> maximum points (default the official 18/20/12/10/18/22).

    Returns
    -------
    Response

    Raises
    ------
    FileRejectedError
        The whole file refused: not JSON or cut short, ``code`` other than OK, no units, an
        unknown endpoint, no period. Problems of single units (points above the maximum, a
        numerator above its denominator, a unit resolving to no province, a unit given twice)
        are in ``Response.problems``.
    """
    endpoints = endpoints if endpoints is not None else load_endpoints()
    maxima = max_points or {
        "publicity": 18.0,
        "timeliness": 20.0,
        "online_service": 12.0,
        "online_payment": 10.0,
        "satisfaction": 18.0,
        "digitisation": 22.0,
    }
    doc = _load_json(path, file)
    if not isinstance(doc, dict) or "code" not in doc:
        raise _rejected(file, "bad_json", "not a portal response (no 'code')", "")
    if doc.get("code") != "OK":
        message = doc.get("message")
        raise _rejected(
            file,
            "portal_error",
            f"the portal answered code {doc.get('code')!r}"
            + (f" ({message})" if message else "")
            + ", not OK: the response holds no scores",
            "request the period again from the portal and save the answer when its code is OK",
            column="code",
            value=values.shown(doc.get("code")),
        )
    data = doc.get("data")
    shape, top, children = _shape_units(data if isinstance(data, dict) else {})
    if not shape or not isinstance(top, dict) or not isinstance(children, list):
        raise _rejected(
            file,
            "bad_json",
            "the response's data has neither overview + evaluation[] nor parent + children[]",
            "save the portal's whole answer, not a part of it",
        )
    units = [top, *children]
    if any(not isinstance(u, dict) for u in units):
        raise _rejected(file, "bad_json", "a unit of the response is not an object", "")
    endpoint = _which_endpoint(file, shape, units, endpoints)
    label = _period(file, period, today)
    out = Response(file, endpoint, label)
    province = _top_province(out, top, label)
    seen: dict[str, str] = {}
    for i, unit in enumerate(units):
        _read_unit(out, unit, i == 0, province, seen, maxima[endpoint.group])
    return out


def _period(file: str, period: str | None, today: pd.Timestamp | None) -> str:
    given = period if period else period_from_name(file)
    if not given:
        raise _rejected(
            file,
            "missing_period",
            "the portal response does not say which period it is for (the portal takes it "
            "from the request)",
            "give --period (2026-08, 2026-Q3 or 2026), or name the file "
            "<endpoint>_<YYYY-MM | YYYY-Qn | year-YYYY>.json",
        )
    parsed, bad = values.parse_period(given)
    if bad is None and parsed.freq == "H":
        bad = values.Bad("bad_period", "the portal's periods are months, quarters and years", "")
    if bad is None:
        bad = values.month_window(
            parsed.start, FIRST_PERIOD, today if today is not None else pd.Timestamp.now(), "period"
        )
    if bad is not None:
        raise _rejected(file, bad.kind, bad.message, bad.hint, column="period", value=str(given))
    return parsed.label


def _boundary(label: str) -> str:
    parsed, _ = values.parse_period(label)
    return values.boundary_on(parsed.end)


def _top_province(out: Response, top: dict, label: str) -> registry.Province | None:
    name = str(top.get("departmentName") or "")
    parsed = parse_unit_name(name)
    try:
        return registry.resolve(parsed.province or name, boundary=_boundary(label))
    except WorkbenchError as exc:
        out.problems.append(
            Problem(
                out.file,
                None,
                "departmentName",
                name,
                "unknown_province",
                f"the response's province resolves to no province: {exc.message}",
                exc.hint,
            )
        )
        return None


_TYPE_LEVEL = {
    "PROVINCE": "province",
    "PROVINCIAL_DEPARTMENT": "agency",
    "COMMUNE_PEOPLE_COMMITTEE": "commune",
}


def _unit_problem(out, unit_name, column, value, kind, message, hint="") -> None:
    out.problems.append(
        Problem(
            out.file,
            None,
            column,
            values.shown(value),
            kind,
            f'unit "{unit_name}": {message}',
            hint,
        )
    )


def _read_unit(out: Response, unit: dict, is_top: bool, top_province, seen: dict, group_max: float):
    ep = out.endpoint
    name = str(unit.get("departmentName") or "").strip()
    unit_id = str(unit.get("departmentId") or "").strip()
    if not name or not unit_id:
        _unit_problem(
            out,
            name or "?",
            "departmentId" if name else "departmentName",
            "",
            "missing_value",
            "the unit has no departmentId or departmentName",
            "save the portal's answer again",
        )
        return
    if unit_id in seen:
        _unit_problem(
            out,
            name,
            "departmentId",
            unit_id,
            "duplicate_unit",
            f'given twice in the response (also as "{seen[unit_id]}")',
            "keep one",
        )
        return
    seen[unit_id] = name
    if not _numbers_only(out, unit, name):
        return
    parsed = parse_unit_name(name)
    # The portal's own level first; the name where the portal says nothing.
    level = _TYPE_LEVEL.get(str(unit.get("departmentType") or ""))
    if level is None and not is_top and unit.get("level") is not None:
        level = {"PROVINCE": "agency", "COMMUNE": "commune"}.get(str(unit["level"]))
    if level is None:
        level = "province" if is_top else parsed.kind
    if level is None:
        _unit_problem(
            out,
            name,
            "level",
            unit.get("level"),
            "unknown_level",
            "cannot tell whether it is the province, an agency or a commune",
            "",
        )
        return
    if (
        parsed.kind is not None
        and parsed.kind != level
        and not (parsed.kind == "agency" and level == "province")
    ):
        _unit_problem(
            out,
            name,
            "departmentType",
            unit.get("departmentType") or unit.get("level"),
            "level_mismatch",
            f"the name says {parsed.kind}, the portal says {level}",
            "",
        )
        return
    province = top_province
    if parsed.province is not None or level == "province":
        try:
            province = registry.resolve(
                parsed.province if parsed.province else name, boundary=_boundary(out.period)
            )
        except WorkbenchError as exc:
            _unit_problem(
                out,
                name,
                "departmentName",
                name,
                "unknown_province",
                f"resolves to no province ({exc.message})",
                exc.hint,
            )
            return
    if province is None:
        _unit_problem(
            out,
            name,
            "departmentName",
            name,
            "unknown_province",
            "resolves to no province (the response's own province is unknown)",
            "",
        )
        return
    if top_province is not None and province.code != top_province.code:
        _unit_problem(
            out,
            name,
            "departmentName",
            name,
            "province_mismatch",
            f"belongs to {province.name}, but the response is {top_province.name}'s",
            "save each province's response in its own file",
        )
        return
    points = _number(unit.get("totalScore", unit.get("score")))
    top = _number(unit.get("totalMaxScore", unit.get("maxScore")))
    if top is not None and top > group_max + 1e-9:
        _unit_problem(
            out,
            name,
            "totalMaxScore",
            top,
            "score_above_max",
            f"the maximum {top:g} is above the group's {group_max:g} points ({ep.group})",
            "check that the file is the right endpoint",
        )
        return
    limit = top if top is not None else group_max
    if points is not None and (points < 0 or points > limit + 1e-9):
        _unit_problem(
            out,
            name,
            "totalScore",
            points,
            "score_above_max",
            f"{points:g} points is outside 0–{limit:g} ({ep.group})",
            "check the source",
        )
        return
    components = (
        _metric_rows(out, unit, name) if ep.shape == "metrics" else _tree_rows(out, unit, name)
    )
    if components is None:
        return
    local = province.name if level == "province" else parsed.local
    out.units.append(
        {
            "unit_id": unit_id,
            "department_code": unit.get("departmentCode"),
            "portal_name": name,
            "unit": local,
            "province": province.name,
            "boundary": province.boundary,
            "province_code": province.code,
            "level": level,
            "period": out.period,
            "endpoint": ep.name,
            "group": ep.group,
            "points": points,
            "max_points": top,
            "file": out.file,
        }
    )
    for row in components:
        out.components.append(
            {
                "unit_id": unit_id,
                "period": out.period,
                "endpoint": ep.name,
                "group": ep.group,
                **row,
            }
        )


def _is_number(value) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _numbers_only(out: Response, unit: dict, name: str) -> bool:
    """Every count and score of the unit is a number or null (a text "12" is not guessed at)."""
    bad = [
        (k, v) for k, v in unit.items() if k not in _TEXT and k != "metrics" and not _is_number(v)
    ]
    metrics = unit.get("metrics", [])
    if not isinstance(metrics, list):
        bad.append(("metrics", metrics))
    else:
        for m in metrics:
            if not isinstance(m, dict):
                bad.append(("metrics", m))
                continue
            code = m.get("code", "?")
            bad += [
                (f"{code}.{k}", v)
                for k, v in m.items()
                if k not in _METRIC_TEXT and not _is_number(v)
            ]
    for column, value in bad[:1]:
        _unit_problem(
            out,
            name,
            column,
            str(value)[:60],
            "not_a_number",
            f"{column} is not a number ({type(value).__name__})",
            "save the portal's answer again",
        )
    return not bad


def _check_counts(out, name, code, num, den) -> bool:
    for what, value in (("numerator", num), ("denominator", den)):
        if value is not None and (value < 0 or not float(value).is_integer()):
            _unit_problem(
                out,
                name,
                f"{code}.{what}",
                value,
                "bad_count",
                f"{code}: {what} {value:g} is not a whole number ≥ 0",
                "check the source",
            )
            return False
    if num is not None and den is not None and num > den:
        _unit_problem(
            out,
            name,
            f"{code}.numerator",
            num,
            "numerator_gt_denominator",
            f"{code}: numerator {num:g} is above its denominator {den:g}",
            "check the source",
        )
        return False
    return True


def _metric_rows(out: Response, unit: dict, name: str) -> list[dict] | None:
    rows = []
    codes: set[str] = set()
    for metric in unit.get("metrics") or []:
        if not isinstance(metric, dict) or not metric.get("code"):
            _unit_problem(out, name, "metrics", "", "bad_json", "a metric without a code", "")
            return None
        code = str(metric["code"])
        if code in codes:
            _unit_problem(out, name, "metrics.code", code, "duplicate_metric", "metric given twice")
            return None
        codes.add(code)
        num, den = _number(metric.get("numerator")), _number(metric.get("denominator"))
        pts, top = _number(metric.get("score")), _number(metric.get("maxScore"))
        if not _check_counts(out, name, code, num, den):
            return None
        if pts is not None and top is not None and (pts < 0 or pts > top + 1e-9):
            _unit_problem(
                out,
                name,
                f"{code}.score",
                pts,
                "score_above_max",
                f"{code}: {pts:g} points is outside 0–{top:g}",
                "check the source",
            )
            return None
        component = out.endpoint.metrics.get(code)
        if component is None:
            out.unmapped[code] = out.unmapped.get(code, 0) + 1
        rows.append(
            {
                "code": code,
                "component": component,
                "numerator": num,
                "denominator": den,
                "ratio": _number(metric.get("ratio")),
                "points": pts,
                "max_points": top,
            }
        )
    return rows


def _tree_rows(out: Response, unit: dict, name: str) -> list[dict] | None:
    ep = out.endpoint
    rows = []
    used: set[str] = set()
    for component, spec in ep.fields.items():
        parts = spec["numerator"]
        used |= {*parts, *spec["denominator"]}
        given = [_number(unit.get(f)) for f in parts]
        num = sum(given) if given and all(v is not None for v in given) else None
        den_fields = spec["denominator"]
        den = _number(unit.get(den_fields[0])) if den_fields else None
        ratio = _number(unit.get(spec["ratio"])) if spec["ratio"] else None
        if spec["ratio"]:
            used.add(spec["ratio"])
        if num is None and den is None and ratio is None:
            continue  # the unit carries none of this component (children of provide-online)
        code = "+".join(parts) if parts else str(spec["ratio"])
        if not _check_counts(out, name, code, num, den):
            return None
        rows.append(
            {
                "code": code,
                "component": component,
                "numerator": num,
                "denominator": den,
                "ratio": ratio,
                "points": None,  # the tree gives the group's points only
                "max_points": None,
            }
        )
    for key, value in unit.items():
        if key in used or key in _TREE_META or key in ep.ignore:
            continue
        if _number(value) is not None:
            out.unmapped[key] = out.unmapped.get(key, 0) + 1
            rows.append(
                {
                    "code": key,
                    "component": None,
                    "numerator": _number(value),
                    "denominator": None,
                    "ratio": None,
                    "points": None,
                    "max_points": None,
                }
            )
    if ep.group == "timeliness" and _number(unit.get("totalOverdue")) is not None:
        received, on_time = _number(unit.get("totalReceived")), _number(unit.get("totalOnTime"))
        overdue = _number(unit.get("totalOverdue"))
        if received is not None and on_time is not None and on_time + overdue != received:
            _unit_problem(
                out,
                name,
                "totalOverdue",
                overdue,
                "counts_disagree",
                f"on time {on_time:g} + overdue {overdue:g} is not received {received:g}",
                "check the source",
            )
            return None
    return rows


# --- several responses -> tables ---------------------------------------------------------------


def check_duplicates(responses: list[Response]) -> list[Problem]:
    """Problems for a unit given by two files for the same endpoint and period, or two units of
    one import that would be one row of the scores table (same name, level and province)."""
    problems: list[Problem] = []
    seen: dict[tuple, str] = {}
    named: dict[tuple, tuple[str, str]] = {}
    for r in responses:
        for u in r.units:
            key = (u["unit_id"], u["period"], u["endpoint"])
            if key in seen:
                problems.append(
                    Problem(
                        r.file,
                        None,
                        "departmentId",
                        u["unit_id"],
                        "duplicate_unit",
                        f'unit "{u["portal_name"]}" for {u["period"]} is also in {seen[key]} '
                        f"({u['endpoint']})",
                        "import one response per endpoint and period",
                    )
                )
                continue
            seen[key] = r.file
            scores_key = (u["boundary"], u["province_code"], u["level"], u["unit"], u["period"])
            other = named.get(scores_key)
            if other is not None and other[0] != u["unit_id"]:
                problems.append(
                    Problem(
                        r.file,
                        None,
                        "departmentName",
                        u["portal_name"],
                        "duplicate_unit",
                        f'two units named "{u["unit"]}" ({u["level"]}, {u["province"]}): '
                        f"departmentId {other[0]} and {u['unit_id']}",
                        "the portal should not list one name twice; check the responses",
                    )
                )
            named.setdefault(scores_key, (u["unit_id"], r.file))
    return problems


def frames(responses: list[Response]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The units and components of several responses as typed frames."""
    units = pd.DataFrame([u for r in responses for u in r.units], columns=UNIT_COLUMNS)
    comps = pd.DataFrame([c for r in responses for c in r.components], columns=COMPONENT_COLUMNS)
    return _typed_units(units), _typed_components(comps)


def _typed_units(units: pd.DataFrame) -> pd.DataFrame:
    for c in ("points", "max_points"):
        units[c] = units[c].astype("float64")
    for c in UNIT_COLUMNS:
        if c not in ("points", "max_points"):
            units[c] = units[c].astype("object").where(units[c].notna(), None)
    return units


def _typed_components(comps: pd.DataFrame) -> pd.DataFrame:
    for c in ("numerator", "denominator"):
        comps[c] = pd.array(comps[c].astype("float64"), dtype="Float64").astype("Int64")
    for c in ("ratio", "points", "max_points"):
        comps[c] = comps[c].astype("float64")
    for c in ("unit_id", "period", "endpoint", "group", "code", "component"):
        comps[c] = comps[c].astype("object").where(comps[c].notna(), None)
    return comps


def merge_tables(
    old: pd.DataFrame | None, new: pd.DataFrame, key: list[str], columns: list[str]
) -> pd.DataFrame:
    """Old rows with the new in: a row of the same key replaced, others kept."""
    if old is None or not len(old):
        return new[columns].reset_index(drop=True)
    new_keys = set(map(tuple, new[key].itertuples(index=False, name=None)))
    keep = [k not in new_keys for k in old[key].itertuples(index=False, name=None)]
    return pd.concat([old.loc[keep, columns], new[columns]], ignore_index=True)


def replaced(old: pd.DataFrame | None, new: pd.DataFrame) -> list[Problem]:
    """Notes for units whose group points an import changes (a corrected response)."""
    if old is None or not len(old) or not len(new):
        return []
    before = old.set_index(UNIT_KEY)["points"]
    notes = []
    for r in new.itertuples(index=False):
        key = (r.unit_id, r.period, r.endpoint)
        if key not in before.index:
            continue
        was = before.loc[key]
        if (pd.isna(was) and pd.isna(r.points)) or was == r.points:
            continue
        notes.append(
            Problem(
                r.file,
                None,
                "totalScore",
                "",
                "replaced",
                f'replaced earlier portal points of "{r.portal_name}" ({r.group}, {r.period}): '
                f"{'—' if pd.isna(was) else f'{was:g}'} -> "
                f"{'—' if pd.isna(r.points) else f'{r.points:g}'}",
            )
        )
    return notes


def scores_rows(units: pd.DataFrame) -> pd.DataFrame:
    """The units table as rows of the flat layout's scores table (one column per group).

    A group no response gave stays missing; the total only when all six are known.
    """
    key = ["boundary", "province_code", "level", "unit", "period"]
    if not len(units):
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    wide = units.pivot_table(index=key, columns="group", values="points", aggfunc="first")
    wide = wide.reindex(columns=list(GROUPS))
    ids = units.groupby(key)["unit_id"].first()
    out = wide.reset_index()
    out["unit_id"] = [ids[tuple(k)] for k in out[key].itertuples(index=False, name=None)]
    out[TOTAL] = (
        out[list(GROUPS)]
        .sum(axis=1, min_count=len(GROUPS))
        .where(out[list(GROUPS)].notna().all(axis=1))
    )
    out.columns.name = None
    return out[OUTPUT_COLUMNS]


def merge_scores(old: pd.DataFrame | None, units: pd.DataFrame) -> pd.DataFrame:
    """The scores table with the portal's group points in.

    A portal unit's row takes every group the portal units give (all endpoints imported so far,
    kept in :data:`UNITS_FILE`); rows of the flat layout for other units are kept as they are.
    """
    new = scores_rows(units)
    key = ["boundary", "province_code", "level", "unit", "period"]
    if old is not None and len(old):
        new_keys = set(map(tuple, new[key].itertuples(index=False, name=None)))
        keep = [k not in new_keys for k in old[key].itertuples(index=False, name=None)]
        merged = pd.concat([old.loc[keep, OUTPUT_COLUMNS], new], ignore_index=True)
    else:
        merged = new
    return scores.tidy(merged)


def summary(responses: list[Response]) -> list[Problem]:
    """Notes for the import's report: what each response gave and what no rule maps."""
    notes = []
    for r in responses:
        levels = {lv: sum(u["level"] == lv for u in r.units) for lv in LEVELS}
        notes.append(
            Problem(
                r.file,
                None,
                None,
                "",
                "portal_response",
                f"{r.endpoint.name} ({r.endpoint.group}), {r.period}: "
                + ", ".join(f"{n} {lv}" for lv, n in levels.items() if n),
            )
        )
        for code, n in sorted(r.unmapped.items()):
            notes.append(
                Problem(
                    r.file,
                    None,
                    code,
                    "",
                    "unmapped_code",
                    f"{code} ({n} units) is mapped to no rule: kept in {COMPONENTS_FILE} "
                    "without a component id",
                    f"map it in {ENDPOINTS_FILE.name} if a rule scores it",
                )
            )
    return notes
