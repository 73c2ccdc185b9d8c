"""Bringing real data in: monthly indicator tables, portal index results and dossier records.

One public function, :func:`ingest`, serves the ``workbench ingest`` command and notebooks. It
reads each file, checks every row, and only when the whole import is valid writes the outputs
(``panel.parquet``, ``scores.parquet``, ``manifest.json`` last) into the output folder.

- Strict (default): any invalid row and nothing is written; :class:`IngestError` carries the
  report (every problem with file, row, column, value and a hint).
- Quarantine: valid rows are written, rejected rows go to ``rejected_<file-stem>.csv`` beside
  the outputs with their original row number and reason. A file that cannot be read at all
  (empty, binary, truncated, required columns missing) still stops the import: quarantine is
  for rows, and a whole file missing from the data would be a silent drop.

Dossier files are handed to :func:`analysis.ingest.dossiers.ingest_dossiers`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import config, escape, panel
from analysis.errors import WorkbenchError
from analysis.files import atomic_path, sha256
from analysis.ingest import manifest, monthly, portal, reading, scores
from analysis.ingest.problems import IngestError, Problem, ProblemReport
from analysis.ingest.reading import FileRejectedError, Rejected

KINDS = ("monthly", "scores", "dossiers")
DEFAULT_OUT = config.PROCESSED_DIR / "imported"
SCORES_FILE = "scores.parquet"

__all__ = ["KINDS", "IngestError", "IngestResult", "ingest"]


@dataclass(frozen=True)
class IngestResult:
    """What an import did.

    Attributes
    ----------
    files : tuple of str
        The files given, as named.
    read : int
        Data rows read (totals rows and blank rows excluded).
    accepted : int
        Rows written (or, for an identical repeat, already covered by a written row).
    rejected : int
        Rows turned away (quarantine mode; in strict mode an import with rejections raises).
    outputs : dict of str to Path
        Files written, by what they are: ``"panel"``, ``"scores"``, ``"manifest"``,
        ``"rejected_<stem>"`` (quarantine CSVs), ``"dossiers <stem>"`` and the like for
        dossier imports. Empty when nothing changed.
    report : ProblemReport
        Notes and warnings: totals rows skipped, columns ignored, counts derived from rates,
        months replaced, files already imported, and (quarantine) the rejected rows' problems.
    skipped : tuple of str
        Files not imported because the same file (same SHA-256) was imported before.
    """

    files: tuple[str, ...]
    read: int
    accepted: int
    rejected: int
    outputs: dict[str, Path]
    report: ProblemReport = field(default_factory=ProblemReport)
    skipped: tuple[str, ...] = ()

    def summary(self) -> str:
        """``read N = accepted A + rejected R``, as the command prints it."""
        return f"read {self.read} = accepted {self.accepted} + rejected {self.rejected}"


@dataclass
class _Job:
    path: Path
    name: str  # as the user named it
    kind: str
    digest: str
    tables: list[str] = field(default_factory=list)
    parts: list = field(default_factory=list)  # MonthlyRows or ScoreRows
    result: object = None  # what the dossier importer returned
    response: object = None  # a portal API response (analysis.ingest.portal.Response)


def _today(today: object) -> pd.Timestamp:
    return pd.Timestamp(today) if today is not None else pd.Timestamp.now().normalize()


def _as_paths(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    return [Path(p) for p in paths]


# File-level problems that no kind of file could get past.
_UNREADABLE = {
    "empty_file",
    "binary_file",
    "old_excel",
    "truncated_file",
    "bad_encoding",
    "bad_csv",
    "unreadable_file",
}


def _kind_of(path: Path, name: str, kind: str | None) -> str:
    if kind is not None:
        return kind
    # The portal's codes tell a scores file whatever group the settings give them.
    codes = {code: f"portal {code}" for code in scores.PORTAL_CODES}
    guessed = reading.sniff_kind(path, extra_scores=codes)
    if guessed is None:
        # An empty, binary or damaged file says so better than "unknown kind" would.
        try:
            reading.read_tables(path, name, reading.vocabulary("monthly"), [])
        except FileRejectedError as exc:
            if exc.problems[0].kind in _UNREADABLE:
                raise IngestError(ProblemReport(exc.problems), file_level=True) from None
        raise IngestError(
            ProblemReport(
                [
                    Problem(
                        name,
                        None,
                        None,
                        "",
                        "unknown_kind",
                        "cannot tell whether this is a monthly table, portal scores or "
                        "dossier records",
                        "give --kind monthly, --kind scores or --kind dossiers",
                    )
                ]
            ),
            file_level=True,
        )
    return guessed


@manifest.one_writer(DEFAULT_OUT)
def ingest(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    kind: str | None = None,
    quarantine: bool = False,
    out_dir: str | os.PathLike | None = None,
    *,
    today: object = None,
    portal_columns: str | os.PathLike | None = None,
    keep_text: bool = False,
    province: str | None = None,
    period: str | None = None,
    level: str | None = None,
    sheet: str | None = None,
    hidden_rows: bool = False,
) -> IngestResult:
    """Import raw files into the processed data.

    Parameters
    ----------
    paths : path or iterable of paths
        CSV, XLSX or JSON files.
    kind : {"monthly", "scores", "dossiers"}, optional
        The kind of every file; by default each file's kind is guessed from its header (JSON is
        always scores).
    quarantine : bool, default False
        Write the valid rows and put the rejected ones in ``rejected_<stem>.csv``; by default
        one invalid row stops the import and nothing is written.
    out_dir : path-like, optional
        Output folder; default ``data/processed/imported``.
    today : date-like, optional
        "Today" for the month-in-the-future check (tests pin it).
    portal_columns : path-like, optional
        Settings of the portal's columns; default ``config/portal_columns.yaml``.
    keep_text : bool, default False
        Keep the free-text columns of dossier records (procedure names), redacted; by default
        they are dropped (:mod:`analysis.ingest.personal`).
    province, period, level : str, optional
        For files that do not say them: the province (a name), the month (``2023-01``,
        "Tháng 1/2023") and the level (``province``, ``district``, ``commune``; monthly tables
        without a level column are otherwise the whole province, ``all``). Where a file does
        say them, it must agree.
    sheet : str, optional
        Read only this worksheet of each workbook (hidden or not).
    hidden_rows : bool, default False
        Import the hidden rows of workbooks too (by default they are skipped and reported).
        For portal API responses: the period (``2026-08``, ``2026-Q3``, ``2026``); default
        from each file's name (``<endpoint>_<period>.json``, :mod:`analysis.ingest.portal`).

    Returns
    -------
    IngestResult

    Raises
    ------
    IngestError
        Strict mode with any invalid row, or any file that cannot be read: nothing was written;
        ``.report`` lists every problem (exit code 1).
    WorkbenchError
        Bad arguments or settings (exit code 2).
    """
    _check_options(kind, level, province)
    files = _as_paths(paths)
    if not files:
        raise WorkbenchError("no file to import", hint="give one or more CSV, XLSX or JSON files")
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT
    day = _today(today)
    notes = ProblemReport()
    previous = manifest.load(out)
    missing = [p for p in files if not p.is_file()]
    if missing:
        problems = [
            Problem(str(p), None, None, "", "file_not_found", "no such file", "") for p in missing
        ]
        raise IngestError(ProblemReport(problems), file_level=True)
    jobs, skipped = _jobs(files, kind, out, previous, notes)
    # 1. Read and check every monthly and scores file; nothing is written yet.
    _read_tables(jobs, portal_columns, day, notes, province, period, level, sheet, hidden_rows)
    _check_rows(jobs, quarantine, notes)
    # 2. Merge with what is there and check the result, still without writing.
    merged = _merge(jobs, out, notes)
    # 3. Dossier records stream to their own outputs and raise on their own in strict mode;
    #    they run after every other file has passed, so a bad table stops them too.
    given = {k: v for k, v in (("province", province), ("level", level)) if v}
    for job in jobs:
        if job.kind == "dossiers":
            from analysis.ingest.dossiers import ingest_dossiers  # the dossier importer

            job.result = ingest_dossiers(
                job.path, out, quarantine, notes, keep_text=keep_text, **given
            )
            # Which columns were dropped or hashed first, so that rejected rows cannot hide it.
            note = Problem(job.name, None, None, "", "personal_data", job.result.personal_summary())
            notes.problems.insert(0, note)
            notes.extend(dossier_summary(job.name, job.result))
    # 4. Write: data first, the manifest last (a complete manifest means complete files).
    outputs = _write_tables(out, merged, notes)
    entries, read, accepted, rejected = _manifest_entries(jobs, out, quarantine, merged, outputs)
    _note_derived(merged.month_parts, notes)
    if entries:
        outputs["manifest"] = manifest.write(out, entries, list(outputs.values()))
    return IngestResult(
        files=tuple(str(p) for p in files),
        read=read,
        accepted=accepted,
        rejected=rejected,
        outputs=outputs,
        report=notes,
        skipped=tuple(skipped),
    )


def _check_options(kind: str | None, level: str | None, province: str | None) -> None:
    """Bad arguments stop the import before any file is opened (exit code 2)."""
    if kind is not None and kind not in KINDS:
        raise WorkbenchError(f"unknown kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    if level is not None and level not in panel.LEVELS:
        raise WorkbenchError(
            f"unknown level {level!r}", hint=f"use one of {', '.join(panel.LEVELS)}"
        )
    if province is not None:
        from analysis.ingest.values import resolve_province

        if resolve_province(province, None)[0] is None:
            raise WorkbenchError(
                f"unknown province {province!r}", hint="give the province's name, e.g. 'Bắc Ninh'"
            )


def _jobs(
    files: list[Path], kind: str | None, out: Path, previous: object, notes: ProblemReport
) -> tuple[list[_Job], list[str]]:
    """One job per file to import: repeats within the call and files already imported noted."""
    jobs: list[_Job] = []
    skipped: list[str] = []
    seen: dict[str, str] = {}
    unknown: list[Problem] = []
    for path in files:
        name = str(path)
        digest = sha256(path)
        if digest in seen:
            notes.add(
                Problem(name, None, None, "", "same_file_twice", f"the same file as {seen[digest]}")
            )
            continue
        seen[digest] = name
        try:
            job_kind = _kind_of(path, name, kind)
        except IngestError as exc:  # reported with every other file's, below
            unknown.extend(exc.report.problems)
            continue
        earlier = manifest.find(previous, digest, job_kind)
        if earlier is not None and _outputs_present(out, job_kind):
            notes.add(
                Problem(
                    name,
                    None,
                    None,
                    "",
                    "already_imported",
                    f"already imported on {earlier.get('imported', '?')} (same SHA-256): "
                    "nothing changed",
                )
            )
            skipped.append(name)
            continue
        jobs.append(_Job(path, name, job_kind, digest))
    if unknown:
        raise IngestError(ProblemReport(unknown), file_level=True)
    return jobs, skipped


def _read_tables(
    jobs: list[_Job],
    portal_columns: str | os.PathLike | None,
    day: pd.Timestamp,
    notes: ProblemReport,
    province: str | None,
    period: str | None,
    level: str | None,
    sheet: str | None,
    hidden_rows: bool,
) -> None:
    """Read every monthly table, scores table and portal response into its job's parts.

    A file that cannot be read stops the import with every such file's problems; a portal
    unit with a problem does too, in either mode (a unit is the whole of its row in every
    table the response feeds).
    """
    settings = None
    if any(job.kind == "scores" for job in jobs):
        settings = scores.load_settings(portal_columns)
    file_errors: list[Problem] = []
    for job in jobs:
        if job.kind == "dossiers":
            continue
        try:
            if job.kind == "monthly":
                for table in _month_tables(job, sheet, hidden_rows, period, notes):
                    job.tables.append(table.detail)
                    job.parts.append(
                        monthly.parse(table, day, province=province, period=period, level=level)
                    )
            elif portal.is_response(job.path):
                job.response = portal.read_response(
                    job.path, job.name, period=period, today=day, max_points=settings.max_points
                )
            else:
                tables, meta = scores.read(job.path, job.name, settings)
                # Not `period`: that is the option, which must reach the files after this one.
                said = scores.meta_period(meta) or scores.period_from_name(job.path.name) or period
                for table in tables:
                    job.tables.append(table.detail)
                    job.parts.append(scores.parse(table, settings, day, said))
        except FileRejectedError as exc:
            file_errors.extend(exc.problems)
    if file_errors:
        raise IngestError(ProblemReport(file_errors), file_level=True)
    responses = [j.response for j in jobs if j.response is not None]
    portal_errors = [p for r in responses for p in r.problems] + portal.check_duplicates(responses)
    if portal_errors:
        raise IngestError(ProblemReport(portal_errors), file_level=True)
    notes.extend(portal.summary(responses))


def _month_tables(
    job: _Job, sheet: str | None, hidden_rows: bool, period: str | None, notes: ProblemReport
) -> list:
    """A monthly file's tables, without a summary sheet beside month sheets."""
    tables = monthly.read(job.path, job.name, sheet, hidden_rows=hidden_rows)
    dated = [t for t in tables if monthly.month_known(t, period)]
    if not dated or len(dated) == len(tables):
        return tables
    # Month sheets beside a summary sheet ("Tổng hợp", "Lũy kế"): the summary repeats their
    # figures over no one month.
    for t in tables:
        if t not in dated:
            notes.add(
                Problem(
                    t.file,
                    t.header_row,
                    None,
                    "",
                    "summary_sheet",
                    "a sheet without a month beside sheets that have one: not "
                    "imported (a summary of the months)",
                    "give --sheet NAME --period YYYY-MM to import it alone",
                )
            )
    return dated


def _check_rows(jobs: list[_Job], quarantine: bool, notes: ProblemReport) -> None:
    """Rows against each other and against the file: strict stops at any problem; quarantine
    keeps rows back, never a whole file."""
    errors = ProblemReport()
    month_parts = [p for j in jobs if j.kind == "monthly" for p in j.parts]
    score_parts = [p for j in jobs if j.kind == "scores" for p in j.parts]
    monthly.check_duplicates(month_parts)
    scores.check_duplicates(score_parts)
    for part in month_parts + score_parts:
        errors.extend(part.errors)
        notes.extend(part.notes)
    for part in month_parts:
        notes.extend(monthly.absent_note(part.file, part.provided, part.header_row))
        notes.add(monthly.summary_note(part))
    for job in jobs:
        for part in job.parts:
            if not part.read and not part.rejected:
                errors.add(
                    Problem(
                        part.file,
                        None,
                        None,
                        "",
                        "empty_file",
                        "the table has a header but no data rows",
                        "fill in at least one row (see data/templates/)",
                    )
                )
    if errors and not quarantine:
        raise IngestError(errors)
    if not errors:
        return
    # quarantine: the rejected rows' problems travel with the result
    notes.extend(errors.problems)
    if any(p.kind == "empty_file" for p in errors.problems):
        raise IngestError(
            ProblemReport([p for p in errors.problems if p.kind == "empty_file"]),
            file_level=True,
        )
    # A file all of whose rows were rejected would be dropped whole while the import looks
    # successful: quarantine keeps rows back, not files.
    for job in jobs:
        if job.parts and not sum(p.read - len(p.rejected) for p in job.parts):
            errors.add(
                Problem(
                    job.name,
                    None,
                    None,
                    "",
                    "no_row_kept",
                    "every row of this file was rejected: importing it would drop it whole",
                    "fix the rows listed above and import again",
                )
            )
            raise IngestError(errors, kept_none=True)


@dataclass
class _Merged:
    """The tables as they will be written: what is there merged with what was read."""

    month_parts: list
    panel: pd.DataFrame | None = None
    replaced_months: list | None = None
    absent: list | None = None
    scores: pd.DataFrame | None = None
    replaced_scores: list | None = None
    portal_units: pd.DataFrame | None = None
    portal_components: pd.DataFrame | None = None


def _merge(jobs: list[_Job], out: Path, notes: ProblemReport) -> _Merged:
    """Merge what was read with what the folder holds; nothing is written."""
    merged = _Merged([p for j in jobs if j.kind == "monthly" for p in j.parts])
    score_parts = [p for j in jobs if j.kind == "scores" for p in j.parts]
    panel_file = out / config.PANEL_FILE
    scores_file = out / SCORES_FILE
    if merged.month_parts:
        old = panel.load(panel_file) if panel_file.is_file() else None
        try:
            merged.panel, merged.replaced_months, merged.absent = monthly.merge(
                old, merged.month_parts
            )
        except WorkbenchError as exc:
            raise IngestError(
                ProblemReport([monthly.validation_problem(exc)]), file_level=True
            ) from None
    if score_parts:
        merged.scores, merged.replaced_scores = scores.merge(
            scores.load_existing(scores_file), score_parts
        )
    responses = [j.response for j in jobs if j.response is not None]
    if responses:
        new_units, new_components = portal.frames(responses)
        units_file, components_file = out / portal.UNITS_FILE, out / portal.COMPONENTS_FILE
        old_units = scores.load_table(units_file, portal.UNIT_COLUMNS, "portal")
        notes.extend(portal.replaced(old_units, new_units))
        merged.portal_units = portal.merge_tables(
            old_units,
            new_units,
            portal.UNIT_KEY,
            portal.UNIT_COLUMNS,
        )
        merged.portal_components = portal.merge_tables(
            scores.load_table(components_file, portal.COMPONENT_COLUMNS, "portal"),
            new_components,
            portal.COMPONENT_KEY,
            portal.COMPONENT_COLUMNS,
        )
        base = merged.scores if merged.scores is not None else scores.load_existing(scores_file)
        merged.scores = portal.merge_scores(base, merged.portal_units)
    return merged


def _write_tables(out: Path, merged: _Merged, notes: ProblemReport) -> dict[str, Path]:
    """Write the merged panel, portal and scores tables; note every figure replaced."""
    outputs: dict[str, Path] = {}
    if merged.panel is not None:
        outputs["panel"] = panel.save(merged.panel, out / config.PANEL_FILE)
    if merged.portal_units is not None:
        for what, frame, name in (
            ("portal units", merged.portal_units, portal.UNITS_FILE),
            ("portal components", merged.portal_components, portal.COMPONENTS_FILE),
        ):
            with atomic_path(out / name) as tmp:
                frame.to_parquet(tmp, engine="pyarrow", index=False)
            outputs[what] = out / name
    if merged.scores is not None:
        with atomic_path(out / SCORES_FILE) as tmp:
            merged.scores.to_parquet(tmp, engine="pyarrow", index=False)
        outputs["scores"] = out / SCORES_FILE
    for replaced, kind_name in (
        (merged.replaced_months, "monthly"),
        (merged.replaced_scores, "scores"),
    ):
        for entry in replaced or []:
            notes.add(
                Problem(
                    entry["file"],
                    entry["row"],
                    None,
                    "",
                    "replaced",
                    f"replaced earlier {kind_name} figures: "
                    + ", ".join(
                        f"{c} {'—' if a is None else a} -> {'—' if b is None else b}"
                        for c, (a, b) in entry["changes"].items()
                    ),
                )
            )
    return outputs


def _manifest_entries(
    jobs: list[_Job], out: Path, quarantine: bool, merged: _Merged, outputs: dict[str, Path]
) -> tuple[list[dict], int, int, int]:
    """One manifest entry per job (quarantine files written on the way) and the row totals."""
    rejected_names: set[str] = set()
    entries = []
    total_read = total_accepted = total_rejected = 0
    for job in jobs:
        if job.kind == "dossiers":
            got = _counts(job.result)
            for what, path in got["outputs"].items():
                outputs[f"{what} {job.path.stem}"] = Path(path)
            entry = _entry(job, quarantine, got["read"], got["accepted"], got["rejected"])
            details = getattr(job.result, "manifest_entry", None)
            if callable(details):  # the dossier importer's own record: kept, ours first
                entry = {**details(), **entry}
            entry["outputs"] = {k: manifest.shown_path(v) for k, v in got["outputs"].items()}
        elif job.response is not None:
            n = len(job.response.units)
            entry = _entry(job, quarantine, n, n, 0)
            entry["portal"] = {
                "endpoint": job.response.endpoint.name,
                "group": job.response.endpoint.group,
                "period": job.response.period,
                "unmapped": dict(job.response.unmapped),
            }
            got = {"read": n, "accepted": n, "rejected": 0}
        else:
            read = sum(p.read for p in job.parts)
            rejected = [r for p in job.parts for r in p.rejected]
            accepted = read - len(rejected)
            entry = _entry(job, quarantine, read, accepted, len(rejected))
            entry["tables"] = job.tables
            if job.kind == "monthly":
                entry["derived"] = [{"table": p.file, **d} for p in job.parts for d in p.derived]
                entry["absent_columns"] = [
                    c
                    for c in panel.COUNT_COLUMNS
                    if c not in {x for p in job.parts for x in p.provided}
                ]
            files_of_job = {p.file for p in job.parts}
            replaced = merged.replaced_months if job.kind == "monthly" else merged.replaced_scores
            entry["replaced"] = [e for e in replaced or [] if e["file"] in files_of_job]
            if rejected:
                target = _rejected_path(out, job.path, rejected_names)
                _write_rejected(target, rejected)
                outputs[target.stem] = target
                entry["rejected_file"] = target.name
            got = {"read": read, "accepted": accepted, "rejected": len(rejected)}
        total_read += got["read"]
        total_accepted += got["accepted"]
        total_rejected += got["rejected"]
        entries.append(entry)
    if merged.absent:
        for entry in entries:
            if entry["kind"] == "monthly":
                entry.setdefault("panel_columns_not_reported", merged.absent)
    return entries, total_read, total_accepted, total_rejected


def _note_derived(month_parts: list, notes: ProblemReport) -> None:
    """A count derived from a rate is named, with its row, in the notes."""
    for part in month_parts:
        for d in part.derived:
            notes.add(
                Problem(
                    part.file,
                    d["row"],
                    part.labels.get(d["column"], d["column"]),
                    "",
                    "derived_count",
                    f"{d['column']} derived from the rate: {d['value']} (listed in the "
                    "manifest as derived)",
                )
            )


def dossier_components(absent: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Index components dossier records can feed, and those they cannot with the column lacking.

    Parameters
    ----------
    absent : iterable of str
        Dossier fields the file has no column for.

    Returns
    -------
    (list of str, dict of str to str)
        Ids of the components computed from dossiers with every column they read; component id
        -> the first column it needs that the records lack (absent from the export, or outside
        the importer's schema).
    """
    from analysis.index766.rules import CONDITIONS, MEASURES, atoms, load_rules
    from analysis.ingest.dossiers import OUTPUT_COLUMNS

    present = set(OUTPUT_COLUMNS) - set(absent)
    fed: list[str] = []
    unfed: dict[str, str] = {}
    for c in load_rules().components:
        if c.table != "dossiers":
            continue
        used = atoms(c.numerator.where) | atoms(c.denominator.where if c.denominator else None)
        for m in c.numerator.minus:
            used |= atoms(m)
        reads = [CONDITIONS[a] for a in sorted(used)]
        if c.numerator.sum:
            reads.append(MEASURES[c.numerator.sum])
        lacking = [col for atom in reads for col in atom.columns if col not in present]
        if lacking:
            unfed[c.id] = lacking[0]
        else:
            fed.append(c.id)
    return fed, unfed


def dossier_summary(name: str, result) -> list[Problem]:
    """Notes on a dossier import: columns used, ignored (by name) and absent; what they feed."""
    if not hasattr(result, "used_columns"):
        return []
    used = ", ".join(f"{f} ← '{h}'" for f, h in result.used_columns.items())
    out = [Problem(name, 1, None, "", "columns_used", f"columns used: {used}")]
    if result.ignored_names:
        out.append(
            Problem(
                name,
                1,
                None,
                "",
                "columns_ignored",
                "columns not recognised, ignored: "
                + ", ".join(f"'{h}'" for h in result.ignored_names),
                "rename a column to a spelling of data/raw/README.md if it should be read",
            )
        )
    for f, how in result.given.items():
        said = "the agency's name" if how == "agency" else f"--{f} {how}"
        where = "for its blank cells" if f in result.used_columns else "no column"
        out.append(
            Problem(name, 1, None, "", "given_by_option", f"{f} taken from {said} ({where})")
        )
    if result.absent_columns:
        fed, unfed = dossier_components(result.absent_columns)
        out.append(
            Problem(
                name,
                1,
                None,
                "",
                "absent_columns",
                "no column for " + ", ".join(result.absent_columns) + ": stored as missing, "
                "not as 0; index components not computed from these records: "
                + (", ".join(f"{c} (needs {col})" for c, col in unfed.items()) or "none")
                + "; components they can feed: "
                + (", ".join(fed) or "none"),
                "add the columns if the export has them",
            )
        )
    return out


def _outputs_present(out: Path, kind: str) -> bool:
    """Whether what an earlier import of this kind wrote is still there."""
    if kind == "monthly":
        return (out / config.PANEL_FILE).is_file()
    if kind == "scores":
        return (out / SCORES_FILE).is_file()
    return True


def _entry(job: _Job, quarantine: bool, read: int, accepted: int, rejected: int) -> dict:
    return {
        "file": manifest.shown_path(job.path),
        "sha256": job.digest,
        "kind": job.kind,
        "imported": manifest.now(),
        "mode": "quarantine" if quarantine else "strict",
        "read": int(read),
        "accepted": int(accepted),
        "rejected": int(rejected),
        "rejected_file": None,
    }


def _counts(result: object) -> dict:
    """read/accepted/rejected/outputs of whatever the dossier importer returned."""

    def get(name, default):
        if isinstance(result, dict):
            return result.get(name, default)
        return getattr(result, name, default)

    outputs = get("outputs", {}) or {}
    if not isinstance(outputs, dict):
        outputs = {f"output {i + 1}": p for i, p in enumerate(outputs)}
    return {
        "read": int(get("read", 0) or 0),
        "accepted": int(get("accepted", 0) or 0),
        "rejected": int(get("rejected", 0) or 0),
        "outputs": {k: Path(p) for k, p in outputs.items() if p is not None},
    }


def _rejected_path(out: Path, path: Path, taken: set[str]) -> Path:
    name = f"rejected_{path.stem}.csv"
    i = 2
    while name in taken:  # two inputs with the same stem in one import
        name = f"rejected_{path.stem}_{i}.csv"
        i += 1
    taken.add(name)
    return out / name


def _write_rejected(target: Path, rejected: list[Rejected]) -> None:
    """The quarantine file: original row number, the row's cells as read, and why."""
    columns: list[str] = []
    for r in rejected:
        for c in r.cells:
            if c not in columns:
                columns.append(c)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "row", *columns, "reason"])
    merged: dict[tuple[str, int], Rejected] = {}
    for r in rejected:  # a row rejected twice (bad cell, then duplicate) is written once
        key = (r.file, r.row)
        if key in merged:
            merged[key].reasons.extend(x for x in r.reasons if x not in merged[key].reasons)
            merged[key].cells = merged[key].cells or r.cells
        else:
            merged[key] = Rejected(r.file, r.row, dict(r.cells), list(r.reasons))
    for r in sorted(merged.values(), key=lambda x: (x.file, x.row)):
        row = [r.file, r.row, *(r.cells.get(c, "") for c in columns), "; ".join(r.reasons)]
        writer.writerow([escape.csv_cell(v) for v in row])  # opened in Excel: no formulas
    # UTF-8 with BOM: Excel then opens the Vietnamese text correctly with a double click.
    with atomic_path(target) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8-sig")
