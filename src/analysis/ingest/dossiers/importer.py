"""The dossier import's entry point, ``ingest_dossiers``: read, check, write (or refuse)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from analysis import config, registry
from analysis.errors import WorkbenchError
from analysis.files import sha256
from analysis.ingest import personal
from analysis.ingest.dossiers.cells import NotProvincesError, Values
from analysis.ingest.dossiers.checks import CHECKS
from analysis.ingest.dossiers.layout import Layout, header_text, read_layout
from analysis.ingest.dossiers.result import CountedReport, DossierImport, fail, make_problem
from analysis.ingest.dossiers.schema import (
    BOOLEAN_FIELDS,
    DROPPED_TEXT_FIELDS,
    EXAMPLES_PER_CHECK,
    LEVELS,
    MAX_UNKNOWN_PROVINCES,
    PARQUET_SCHEMA_VERSION,
)
from analysis.ingest.dossiers.store import (
    example_rows,
    first_pass,
    open_duckdb,
    other_imports,
    problem_counts,
    problems_found,
    raw_rows,
    same_as_other,
    write_parquet,
    write_rejected,
)
from analysis.ingest.dossiers.stream import Context
from analysis.ingest.problems import IngestError, Problem, ProblemReport


def ingest_dossiers(
    path: Path | str,
    out_dir: Path | str,
    quarantine: bool,
    report: ProblemReport,
    *,
    today: dt.date | None = None,
    salt_file: Path | str | None = None,
    keep_text: bool = False,
    province: str | None = None,
    level: str | None = None,
) -> DossierImport:
    """Import a dossier export (CSV) into ``<out_dir>/dossiers/<stem>.parquet``.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8 with or without BOM, UTF-16, or Windows-1258; comma, semicolon, tab
        or pipe separated), one row per dossier, headers as listed in ``data/raw/README.md``.
    out_dir : path-like
        The processed data folder (``data/processed/<name>``); the function writes into its
        ``dossiers/`` subfolder.
    quarantine : bool
        False (strict): any problem, and nothing is written. True: the valid rows are written
        and the rejected ones go to ``dossiers/rejected_<stem>.csv`` with their row and reason.
    report : ProblemReport
        Problems found are added to it (at most ``EXAMPLES_PER_CHECK`` per check; the exact
        counts are in the result and in the raised error).
    today : datetime.date, optional
        For the "in the future" check; default the machine's date.
    salt_file : path-like, optional
        The secret of ``applicant_key``; default :func:`analysis.ingest.personal.load_salt`
        (``$WORKBENCH_SECRET``, else ``~/.config/workbench/secret``), never in the data tree.
    keep_text : bool, default False
        Keep the free-text procedure names (redacted); by default they are dropped.
    province : str, optional
        The province of every dossier, for an export without a province column (and for its
        blank cells).
    level : {"province", "district", "commune"}, optional
        The level of every dossier, for an export without a level column; without either, the
        agency's name gives it ("UBND xã Phú Lâm" → commune, "Sở Tư pháp" → province).

    Returns
    -------
    DossierImport

    Raises
    ------
    IngestError
        A problem with the whole file (empty, binary, missing columns...), or, in strict mode,
        any problem. Its report counts every problem by kind and lists the first ones. No value
        of a personal column is ever in it, and the values it shows are redacted.
    WorkbenchError
        The file does not exist.
    """
    src = Path(path)
    name = str(path)
    if not src.is_file():
        raise WorkbenchError(
            f"no file at {name}", hint="give the path of the dossier export (a CSV file)"
        )
    today = today or dt.date.today()
    out = Path(out_dir) / "dossiers"
    target = out / f"{src.stem}.parquet"
    rejected_target = out / f"rejected_{src.stem}.csv"

    _check_given(province, level)
    given = [f for f, v in (("province", province), ("level", level)) if v is not None]
    layout = read_layout(src, name, report, given)
    if "level" not in layout.fields and level is None:
        given.append("level")  # from the agency's name: filled, not absent
    digest = sha256(src)
    ctx = _context(layout, today, salt_file, keep_text, province, level)
    bad_shape: list[tuple[int, int]] = []
    counted = {"blank": 0, "read": 0}
    metadata = {
        "source": src.name,
        "source_sha256": digest,
        "schema": PARQUET_SCHEMA_VERSION,
        # Fields the export has no column for: null in every row, and "not computed" in the
        # index (analysis.index766.engine.absent_columns), never a 0.
        "absent_columns": json.dumps([f for f in layout.absent if f not in given]),
    }
    with tempfile.TemporaryDirectory(prefix="workbench-dossiers-") as work:
        typed, flags = Path(work) / "typed.parquet", Path(work) / "flags.parquet"
        # Typed values only: no personal value reaches these files, nor anything else on disk.
        try:
            first_pass(src, name, layout, report, ctx, typed, flags, metadata, bad_shape, counted)
        except NotProvincesError:
            raise fail(
                report,
                make_problem(
                    name,
                    "unknown_province",
                    f"more than {MAX_UNKNOWN_PROVINCES} different unknown province names",
                    "check that the province column is the one the header says",
                    column=header_text(layout, "province"),
                ),
            ) from None
        blank, read = counted["blank"], counted["read"]
        read += len(bad_shape)
        if read == 0:
            raise fail(
                report,
                make_problem(
                    name,
                    "empty_file",
                    "no dossier rows below the header",
                    "give the export with its rows",
                ),
            )
        # Dossiers imported from other files into this folder (a file of the same name is
        # replaced by this import, so it is not compared).
        others = other_imports(out, target)
        con = open_duckdb(Path(work), typed, flags, others)
        try:
            same = same_as_other(con, read - len(bad_shape)) if not bad_shape else None
            if same is not None:
                # The same export saved again: nothing to write, and it must not count twice.
                report.add(
                    make_problem(
                        name,
                        "same_dossiers",
                        f"the same {read} dossiers as {Path(same).name}, already imported (the "
                        "export saved again, with other line endings or another encoding?): "
                        "not imported a second time",
                        "",
                    )
                )
                return DossierImport(
                    read=read,
                    accepted=read,
                    rejected=0,
                    outputs={},
                    source=name,
                    sha256=digest,
                    personal_columns=layout.personal_kinds,
                    ignored_columns=layout.ignored,
                    blank_rows=blank,
                    personal_headers=layout.personal_headers,
                    hashed_ids=ctx.hashed_ids,
                    duplicate_of=Path(same).name,
                )
            totals, rejected = _row_problems(
                con, src, name, layout, report, quarantine, read, bad_shape, rejected_target, today
            )
            unfilled = _unfilled(layout, counted, read, report, name)
            if unfilled:
                absent = json.loads(metadata["absent_columns"]) + unfilled
                metadata = {**metadata, "absent_columns": json.dumps(absent)}
            write_parquet(con, typed, target, metadata, nulls=unfilled)
        finally:
            con.close()
    outputs = {"dossiers": target}
    if rejected:
        outputs["rejected"] = rejected_target
    else:
        # A stale list of rejected rows from an earlier import of this file would mislead.
        rejected_target.unlink(missing_ok=True)
    return DossierImport(
        read=read,
        accepted=read - rejected,
        rejected=rejected,
        outputs=outputs,
        source=name,
        sha256=digest,
        problems=dict(totals),
        personal_columns=layout.personal_kinds,
        ignored_columns=layout.ignored,
        blank_rows=blank,
        personal_headers=layout.personal_headers,
        text_dropped=()
        if keep_text
        else tuple(header_text(layout, f) for f in DROPPED_TEXT_FIELDS if f in layout.fields),
        hashed_ids=ctx.hashed_ids,
        used_columns={f: header_text(layout, f) for f in layout.fields},
        ignored_names=layout.ignored_names,
        absent_columns=tuple(f for f in layout.absent if f not in given) + tuple(unfilled),
        given={
            **{f: v for f, v in (("province", province), ("level", level)) if v is not None},
            **({"level": "agency"} if "level" not in layout.fields and level is None else {}),
        },
    )


def _check_given(province: str | None, level: str | None) -> None:
    """--province and --level checked before the file is read."""
    if province is not None:
        # Kept as typed: each dossier's received date picks the map it is resolved on.
        try:
            registry.resolve(province, boundary="old63")
        except WorkbenchError:
            registry.resolve(province, boundary="new34")  # unknown on both: this error
    if level is not None and level not in LEVELS:
        raise WorkbenchError(f"unknown level {level!r}", hint=f"use one of {', '.join(LEVELS)}")


def _context(layout, today, salt_file, keep_text, province, level) -> Context:
    """What typing a block needs: the memoised values, dates, the HMAC pads of the salt."""
    salt = personal.load_salt(salt_file)
    ipad, opad = personal.hmac_pads(salt)
    return Context(
        values=Values(),
        today=np.datetime64(today, "D"),
        merger=np.datetime64(config.MERGER_DATE, "D"),
        ipad=ipad,
        opad=opad,
        salt=salt,
        keep_text=keep_text,
        province=province,
        level=level,
        columns=frozenset(layout.fields),
    )


def _row_problems(
    con, src, name, layout, report, quarantine, read, bad_shape, rejected_target, today
) -> tuple[Counter, int]:
    """Count the rows' problems by kind, show the first ones (redacted), write the rejected
    rows in quarantine; raise in strict mode, or when no row is kept.

    Returns the problem totals by kind and the number of rows rejected.
    """
    counts, rejected = problem_counts(con)
    rejected += len(bad_shape)
    totals = Counter()
    for key, n in counts.items():
        totals[next(c.kind for c in CHECKS if c.key == key)] += n
    if bad_shape:
        totals["bad_row_shape"] = len(bad_shape)
    examples = example_rows(con, counts)
    # Every row rejected: raised below with the problems, before anything is written.
    keep_none = quarantine and rejected == read
    capture: dict[int, dict[str, str]] = dict.fromkeys(examples, {})
    if quarantine and rejected and not keep_none:
        rej = con.execute("SELECT row, m FROM bad ORDER BY row").fetchnumpy()
        rows, masks = rej["row"].astype(np.int64), rej["m"].astype(np.int64)
        raw = raw_rows(src, name, layout, report, rows)
        write_rejected(rejected_target, layout, rows, masks, raw, bad_shape, capture)
    elif examples:
        wanted = np.array(sorted(examples), dtype=np.int64)
        for block_rows, text in raw_rows(src, name, layout, report, wanted):
            for i, row in enumerate(block_rows):
                capture[int(row)] = {f: text[f][i] for f in text}
    problems = problems_found(layout, name, examples, capture, today)
    problems += _shape_problems(name, layout, bad_shape)
    problems.sort(key=lambda p: p.row or 0)
    report.extend(problems)
    if totals and (keep_none or not quarantine):
        omitted = totals - Counter(p.kind for p in problems)
        raise IngestError(
            CountedReport(problems=list(report.problems), omitted=omitted),
            kept_none=keep_none,
        )
    return totals, rejected


def _unfilled(layout, counted: dict, read: int, report: ProblemReport, name: str) -> list[str]:
    """Yes/no columns with every cell empty, noted in the report.

    Such a column is one the system did not fill, not "no" for every dossier: stored as null
    and absent like a missing column (its index components are not computed).
    """
    unfilled = [
        f
        for f in BOOLEAN_FIELDS
        if f in layout.fields and counted.get(f"filled:{f}", 0) == 0 and read
    ]
    if unfilled:
        report.add(
            make_problem(
                name,
                "empty_column",
                "every cell of "
                + ", ".join(repr(header_text(layout, f)) for f in unfilled)
                + " is empty: read as not reported (null), not as 'no' for every dossier",
                "fill the column, or drop it; its index components are not computed",
                row=layout.header_row,
            )
        )
    return unfilled


def _shape_problems(name: str, layout: Layout, bad_shape: list[tuple[int, int]]) -> list[Problem]:
    return [
        make_problem(
            name,
            "bad_row_shape",
            f"the row has {fields} field(s), the header has {len(layout.headers)}",
            "a field with an unescaped quote or delimiter, or a cut-off file: quote such "
            "fields with double quotes",
            row=row,
        )
        for row, fields in sorted(bad_shape)[:EXAMPLES_PER_CHECK]
    ]
