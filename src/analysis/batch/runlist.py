"""Run lists: which notebook to run with which parameters, read from YAML and checked.

A run list (``runs/2023Q3.yaml``, schema in ``runs/README.md``) names a period, defaults and a
list of entries; each entry is one notebook with its parameters. ``province: all`` stands for
the provinces of the period's map (63 before 1 July 2025, 34 from then) and any list value runs
the notebook once per value. :func:`load` expands the file into :class:`Run` objects, one per
document, each knowing where its outputs go, and checks everything a run would otherwise fail
on late: the file's shape, the notebook, the parameter names, the province names, the
language, the formats and the period. Every mistake is a :class:`WorkbenchError` naming the
file, the entry and the key.
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import itertools
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import yaml

from analysis import config
from analysis.documents.registry import DOCUMENTS, NATIONAL, Document
from analysis.errors import WorkbenchError
from analysis.files import read_text
from analysis.render.document import FORMATS, check_formats

TOP_KEYS = ("period", "lang", "formats", "data", "runs")
ENTRY_KEYS = ("notebook", "parameters", "formats", "lang", "data", "output")
DEFAULT_FORMATS = ("html", "pdf")
ALL = "all"


# The documents of notebooks/ and where each goes: the registry of documents, which the
# single-document commands read too, so `workbench report` and a batch write the same files.
Kind = Document
KINDS = DOCUMENTS


@dataclass(frozen=True)
class Run:
    """One document to make.

    Attributes
    ----------
    run_id : str
        Unique in the run list: ``<slug>.<stem>`` (``thai-nguyen.quarterly_2023Q3_vi``).
    entry : int
        The entry of the run list it came from (1-based).
    notebook : Path
    kind : str
    parameters : dict
        What the notebook receives (only parameters it declares).
    formats : tuple of str
    out_dir : Path
    stem : str
    unit : str
        The province (or unit) name shown in the index, empty for national documents.
    inputs : tuple of str
        The data files and folders the run reads (their hashes are part of its run key).
    """

    run_id: str
    entry: int
    notebook: Path
    kind: str
    parameters: dict
    formats: tuple[str, ...]
    out_dir: Path
    stem: str
    unit: str = ""
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunList:
    """A checked, expanded run list.

    Attributes
    ----------
    path : Path
        The YAML file.
    period : str
        The batch's period: ``reports/<period>/index.html`` and ``reports/<period>/logs/``.
    lang : str
        Language of the index page (the run list's default language).
    runs : list of Run
    """

    path: Path
    period: str
    lang: str
    runs: list[Run] = field(default_factory=list)

    def select(self, pattern: str | None) -> list[Run]:
        """The runs matching ``pattern`` (see :func:`matches`); all of them without one."""
        if not pattern:
            return list(self.runs)
        return [r for r in self.runs if matches(r, pattern)]


def matches(run: Run, pattern: str) -> bool:
    """Whether ``--only PATTERN`` selects ``run``.

    ``PATTERN`` is one or more comma-separated shell patterns (``*thai-nguyen*``,
    ``quarterly*``) matched against the run id, the kind and the province; a pattern without
    ``*?[`` matches as a substring. Case and diacritics are ignored.
    """
    from analysis.registry import normalise

    names = [run.run_id.lower(), run.kind, run.unit.lower(), normalise(run.unit)]
    for part in (p.strip().lower() for p in pattern.split(",")):
        if not part:
            continue
        glob = part if any(c in part for c in "*?[") else f"*{part}*"
        folded = f"*{normalise(part)}*" if glob == f"*{part}*" else glob
        if any(fnmatch.fnmatchcase(n, glob) or fnmatch.fnmatchcase(n, folded) for n in names):
            return True
    return False


class _Problem:
    """Builds the messages of one run list's mistakes: file, entry, key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(
        self, what: str, hint: str = "", entry: int | None = None, key: str = ""
    ) -> NoReturn:
        where = str(self.path)
        if entry is not None:
            where += f", entry {entry}"
        if key:
            where += f", key '{key}'"
        raise WorkbenchError(f"{where}: {what}", hint=hint)


@lru_cache(maxsize=32)
def _declared(notebook: Path, stamp: float) -> dict:
    """The notebook's parameters: name -> default value (None when it is not a literal).

    Read from the cell tagged ``parameters`` as papermill reads it (one assignment per name),
    with the standard library: importing papermill costs the runner more than a second.
    """
    import json

    del stamp  # part of the cache key only: an edited notebook is read again
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cell = next(
        (c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])),
        None,
    )
    if cell is None:
        return {}
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    defaults: dict = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            try:
                defaults[target.id] = ast.literal_eval(node.value)
            except ValueError:
                defaults[target.id] = None
    return defaults


def declared_parameters(notebook: Path) -> dict:
    """Parameters declared by ``notebook``'s ``parameters`` cell, with their default values."""
    return dict(_declared(notebook, notebook.stat().st_mtime))


def _find_notebook(name: object, problem: _Problem, entry: int) -> Path:
    if not isinstance(name, str) or not name.strip():
        problem(
            "no notebook named",
            hint="write e.g. `notebook: 30_quarterly_report.ipynb`",
            entry=entry,
            key="notebook",
        )
    candidates = [config.NOTEBOOKS_DIR / name, config.ROOT / name, Path(name)]
    for path in candidates:
        if path.suffix == ".ipynb" and path.is_file():
            return path.resolve()
    known = sorted(p.name for p in config.NOTEBOOKS_DIR.glob("*.ipynb"))
    close = difflib.get_close_matches(Path(name).name, known, n=3, cutoff=0.3)
    problem(
        f"unknown notebook {name!r}" + (f"; the closest are {', '.join(close)}" if close else ""),
        hint=f"the notebooks of {config.NOTEBOOKS_DIR} are: {', '.join(known) or '(none)'}",
        entry=entry,
        key="notebook",
    )
    raise AssertionError  # unreachable: problem() raises


def kind_of(notebook: Path, declared: dict) -> Kind:
    """The :class:`Kind` of a notebook: a known one, or one guessed from its parameters."""
    if notebook.name in KINDS and notebook.parent == config.NOTEBOOKS_DIR.resolve():
        return KINDS[notebook.name]
    name = re.sub(r"^\d+_", "", notebook.stem)
    unit = next((p for p in ("province", "unit") if p in declared), None)
    period = next((p for p in ("quarter", "period") if p in declared), None)
    data = {"data_path": ""} if "data_path" in declared else {}
    return Kind(name, unit=unit, period=period, data=data, folder="{period}/{slug}")


def _formats(value: object, problem: _Problem, entry: int | None) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        problem(
            f"formats must be a list, got {value!r}",
            hint="write e.g. `formats: [html, pdf]`",
            entry=entry,
            key="formats",
        )
    out = tuple(str(f).strip().lower() for f in items)
    bad = [f for f in out if f not in FORMATS]
    if bad:
        problem(
            f"unknown format {', '.join(map(repr, bad))}",
            hint=f"use {', '.join(FORMATS)} (xlsx is written whenever a document has tables)",
            entry=entry,
            key="formats",
        )
    return check_formats(out)


def _period(value: object, problem: _Problem, entry: int | None, key: str):
    from analysis.index766 import parse_period

    try:
        return parse_period(str(value))
    except WorkbenchError as err:
        problem(err.message, hint=err.hint, entry=entry, key=key)
        raise AssertionError from err  # unreachable


def _boundary(period) -> str:
    from datetime import date

    return "old63" if period.end < date.fromisoformat(config.MERGER_DATE) else "new34"


def _data_path(value: object, problem: _Problem, entry: int | None) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        problem(f"data must be a folder path, got {value!r}", entry=entry, key="data")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else config.ROOT / path
    if not path.exists():
        problem(
            f"data folder not found: {path}",
            hint="give the folder holding panel.parquet (and dossiers/), or leave it empty "
            "for the embedded synthetic data",
            entry=entry,
            key="data",
        )
    return str(path)


def _coerce(name: str, value: object, default: object, problem: _Problem, entry: int) -> object:
    """A YAML value in the type of the notebook's default (``period: 2024`` is the text 2024)."""
    key = f"parameters.{name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            problem(f"{name} must be true or false, got {value!r}", entry=entry, key=key)
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            problem(f"{name} must be a whole number, got {value!r}", entry=entry, key=key)
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problem(f"{name} must be a number, got {value!r}", entry=entry, key=key)
        return float(value)
    if isinstance(default, str):
        if isinstance(value, dict | list) or value is None:
            problem(f"{name} must be a text, got {value!r}", entry=entry, key=key)
        return str(value)
    return value


def fill_output(template: str, fill: dict) -> str:
    """Fill an ``output:`` template with plain placeholders only.

    Each field must be a known name (``{period}``, ``{slug}``, a parameter): attribute or
    index access (``{slug.__class__}``), conversions and format specs are refused, so a run
    list cannot reach into Python objects.

    Raises
    ------
    ValueError
        A placeholder that is not a plain known name.
    """
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(
                f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} is not allowed: use plain names such as "
                "{period}, {slug}, {lang}"
            )
        if name not in fill:
            raise KeyError(name)
        out.append(str(fill[name]))
    return "".join(out)


def inside(path: Path, root: Path) -> bool:
    """True when ``path``, resolved, lies inside ``root`` (checked after placeholders are
    filled: a unit named ``../../x`` must not write outside the reports folder)."""
    path = Path(path)
    if ".." in path.parts:
        return False
    return path.resolve().is_relative_to(Path(root).resolve())


def _slug(text: str) -> str:
    from analysis import registry

    return re.sub(r"[^a-z0-9]+", "-", registry.normalise(text) or "").strip("-")


def unit_slug(unit: str, province: str = "") -> str:
    """The folder name of a unit that is not a province: ``phuong1``, or with its province
    (a commune's name repeats across provinces) ``angiang-phuong1``.

    ``workbench scorecard`` names its folder with this too, so both write the same place.
    """
    slug = _slug(unit) or "unit"
    return f"{_slug(province)}-{slug}" if province and _slug(province) else slug


def load(path: Path | str, reports: Path | None = None) -> RunList:
    """Read, check and expand a run list.

    Parameters
    ----------
    path : path-like
        The YAML file.
    reports : Path, optional
        Root of the outputs (default ``config.REPORTS_DIR``).

    Returns
    -------
    RunList

    Raises
    ------
    WorkbenchError
        For the first mistake, naming the file, the entry (1-based) and the key: a missing or
        unreadable file, an unknown key, notebook, parameter, province, language or format, a
        bad period, or two entries writing the same file.
    """
    from analysis import i18n, registry

    path = Path(path)
    reports = Path(reports) if reports else config.REPORTS_DIR
    problem = _Problem(path)
    if not path.is_file():
        raise WorkbenchError(
            f"run list not found: {path}", hint="give a YAML file such as runs/2023Q3.yaml"
        )
    try:
        doc = yaml.safe_load(read_text(path))  # not UTF-8: one error naming the line
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem(f"not valid YAML{where}", hint="check the indentation and the colons")
    if not isinstance(doc, dict):
        problem("a run list is a mapping with `period:` and `runs:`", hint="see runs/README.md")
    for key in doc:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(str(key), TOP_KEYS, n=1)
            problem(
                f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint=f"the keys of a run list are {', '.join(TOP_KEYS)}",
                key=str(key),
            )
    if "period" not in doc:
        problem("no period", hint="add e.g. `period: 2023Q3` (the index goes to reports/<period>/)")
    period = _period(doc["period"], problem, None, "period")
    lang = str(doc.get("lang", "vi"))
    try:
        i18n.check_lang(lang)
    except WorkbenchError as err:
        problem(err.message, hint="use lang: vi or lang: en", key="lang")
    formats = _formats(doc.get("formats", list(DEFAULT_FORMATS)), problem, None)
    data = _data_path(doc.get("data"), problem, None)
    entries = doc.get("runs")
    if not isinstance(entries, list) or not entries:
        problem("no runs", hint="list the documents under `runs:` (see runs/README.md)", key="runs")

    runs: list[Run] = []
    for number, entry in enumerate(entries, start=1):
        runs.extend(
            _expand(entry, number, problem, reports, period.label, lang, formats, data, registry)
        )
    seen: dict[Path, Run] = {}
    for run in runs:
        target = run.out_dir / run.stem
        if target in seen:
            problem(
                f"entries {seen[target].entry} and {run.entry} both write {target}",
                hint="remove the duplicate, or give one of them another `output:`",
                entry=run.entry,
            )
        seen[target] = run
    return RunList(path=path, period=period.label, lang=lang, runs=runs)


def _expand(entry, number, problem, reports, period, lang, formats, data, registry) -> list[Run]:
    if not isinstance(entry, dict):
        problem("an entry is a mapping with `notebook:` and `parameters:`", entry=number)
    for key in entry:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(str(key), ENTRY_KEYS, n=1)
            problem(
                f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint=f"the keys of an entry are {', '.join(ENTRY_KEYS)}",
                entry=number,
                key=str(key),
            )
    notebook = _find_notebook(entry.get("notebook"), problem, number)
    try:
        declared = declared_parameters(notebook)
    except (SyntaxError, ValueError) as err:
        problem(
            f"cannot read the parameters cell of {notebook.name}: {err}",
            hint="the cell tagged `parameters` holds one `name = value` per line",
            entry=number,
            key="notebook",
        )
    kind = kind_of(notebook, declared)
    given = entry.get("parameters") or {}
    if not isinstance(given, dict):
        problem("parameters must be a mapping of name: value", entry=number, key="parameters")
    for name in given:
        if name not in declared:
            close = difflib.get_close_matches(str(name), list(declared), n=1)
            problem(
                f"{notebook.name} has no parameter {name!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint=f"its parameters are: {', '.join(declared)}",
                entry=number,
                key=f"parameters.{name}",
            )
    entry_formats = _formats(entry["formats"], problem, number) if "formats" in entry else formats
    entry_data = _data_path(entry["data"], problem, number) if "data" in entry else data
    output = entry.get("output")
    if output is not None and (
        not isinstance(output, str) or ".." in Path(output).parts or Path(output).is_absolute()
    ):
        problem(
            f"output must be a path under the reports folder, got {output!r}",
            hint="write e.g. `output: '{period}/{slug}/special_{lang}'`",
            entry=number,
            key="output",
        )

    base: dict = {}
    if "lang" in declared:
        base["lang"] = entry.get("lang", lang)
    elif "lang" in entry:
        problem(f"{notebook.name} has no parameter 'lang'", entry=number, key="lang")
    if entry_data:
        for name, sub in kind.data.items():
            if name in declared:
                base[name] = str(Path(entry_data) / sub) if sub else entry_data
    base |= given

    # A list value runs the notebook once per value; `all` is the provinces of the period.
    names = list(base)
    choices = []
    for name in names:
        value = base[name]
        if isinstance(value, list):
            if not value:
                problem(f"{name} is an empty list", entry=number, key=f"parameters.{name}")
            choices.append(value)
        else:
            choices.append([value])
    runs = []
    for combo in itertools.product(*choices):
        params = dict(zip(names, combo, strict=True))
        for one in _provinces(params, kind, declared, problem, number, period, registry):
            runs.append(
                _run(one, kind, declared, notebook, entry_formats, output, problem, number,
                     reports, period, registry)
            )  # fmt: skip
    return runs


def _provinces(params, kind, declared, problem, number, period, registry) -> list[dict]:
    """Expand ``province: all`` into one parameter set per province of the period's map."""
    unit = kind.unit
    if unit is None or str(params.get(unit, "")).strip().lower() != ALL:
        return [params]
    if params.get("by", declared.get("by", "province")) != "province":
        problem(
            f"{unit}: all needs by: province", entry=number, key=f"parameters.{unit}"
        )  # communes and agencies are named by the data, not by the registry
    if kind.name == "brief":
        from analysis import measures

        try:
            measure = measures.get(str(params.get("measure", declared.get("measure"))))
        except WorkbenchError as err:
            problem(err.message, hint=err.hint, entry=number, key="parameters.measure")
        if not measure.is_national:
            problem(
                f"province: all needs a national measure; {measure.measure_id} is "
                f"{measure.province_on(measure.start)}'s",
                hint="name the province, or pick a national measure (workbench measures)",
                entry=number,
                key=f"parameters.{unit}",
            )
        when = measure.start.date()
        boundary = "old63" if str(when) < config.MERGER_DATE else "new34"
    else:
        p = _period(params.get(kind.period, period) if kind.period else period, problem, number,
                    f"parameters.{kind.period or 'period'}")  # fmt: skip
        boundary = _boundary(p)
    return [params | {unit: p.name} for p in registry.provinces(boundary)]


def _run(params, kind, declared, notebook, formats, output, problem, number, reports, period,
         registry) -> Run:  # fmt: skip
    from analysis import i18n

    key = "parameters.{}"
    for name, value in list(params.items()):
        if name in declared:
            params[name] = _coerce(name, value, declared[name], problem, number)
    if "lang" in params:
        try:
            i18n.check_lang(params["lang"])
        except WorkbenchError as err:
            problem(err.message, hint="use vi or en", entry=number, key="lang")
    effective = {
        k: v for k, v in declared.items() if not isinstance(v, dict | list)
    } | params  # names the outputs with the notebook's defaults where nothing was given
    the_period = period
    if kind.period:
        the_period = _period(effective.get(kind.period), problem, number,
                             key.format(kind.period)).label  # fmt: skip
        if kind.period in params:
            params[kind.period] = the_period
    unit_name = str(effective.get(kind.unit, "")) if kind.unit else ""
    slug = NATIONAL
    if kind.name == "brief":
        from analysis import measures

        # No province given: the measure's own (not the notebook's example default).
        unit_name = str(params.get("province", ""))
        try:
            measure, place = measures.target(
                str(effective.get("measure", "")), unit_name.strip() or None
            )
        except WorkbenchError as err:
            problem(err.message, hint=err.hint, entry=number, key=key.format("province"))
        params["province"] = effective["province"] = unit_name = place.name
        params["measure"] = effective["measure"] = measure.measure_id
        slug = place.slug
    elif kind.unit and unit_name and effective.get("by", "province") == "province":
        boundary = _boundary(_period(the_period, problem, number, "period"))
        try:
            place = registry.resolve(unit_name, boundary=boundary)
        except WorkbenchError as err:
            problem(err.message, hint=err.hint, entry=number, key=key.format(kind.unit))
        params[kind.unit] = effective[kind.unit] = unit_name = place.name
        slug = place.slug
    elif unit_name:
        # A commune's name repeats across provinces ("Phường 1"): its province is in the slug.
        within = str(effective.get("province", "")) if kind.unit != "province" else ""
        slug = unit_slug(unit_name, within)
    fill = dict(effective) | {
        "period": the_period,
        "slug": slug,
        "kind": kind.name,
        "lang": effective.get("lang", ""),
    }
    try:
        if output:
            where = reports / fill_output(output, fill)
            out_dir, stem = where.parent, where.name
        else:
            folder, stem = kind.place(fill)
            out_dir = reports / folder
    except (KeyError, IndexError, ValueError) as err:
        problem(f"cannot fill the output name: {err}", entry=number, key="output")
    if not inside(out_dir / stem, reports):
        problem(
            f"output {str(output or kind.folder)!r} filled in is {str(out_dir / stem)!r}, "
            "which is outside the reports folder",
            hint="a placeholder's value (e.g. a unit name) must not contain '..' or '/'",
            entry=number,
            key="output",
        )
    if not stem or "/" in stem:
        problem(f"bad output name {stem!r}", entry=number, key="output")
    return Run(
        run_id=f"{slug}.{stem}",
        inputs=_inputs(effective, kind),
        entry=number,
        notebook=notebook,
        kind=kind.name,
        parameters=params,
        formats=formats,
        out_dir=out_dir,
        stem=stem,
        unit=unit_name,
    )


def _inputs(effective: dict, kind: Kind) -> tuple[str, ...]:
    """The data a run reads: its data parameters (empty: the embedded synthetic data) and any
    other parameter naming an existing file or folder."""
    found = []
    for name, sub in kind.data.items():
        value = effective.get(name)
        found.append(str(value) if value else str(config.SYNTH_DIR / sub if sub else
                                                   config.SYNTH_DIR))  # fmt: skip
    for value in effective.values():
        if isinstance(value, str) and value and ("/" in value or value.endswith(".parquet")):
            path = Path(value) if Path(value).is_absolute() else config.ROOT / value
            if path.exists():
                found.append(str(path))
    return tuple(dict.fromkeys(found))
