"""DuckDB over the typed rows: duplicates, problem counts and examples, the Parquet outputs."""

from __future__ import annotations

import codecs
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis import config
from analysis.errors import WorkbenchError
from analysis.files import atomic_path
from analysis.ingest import personal
from analysis.ingest.dossiers.cells import Memo, Values
from analysis.ingest.dossiers.checks import BIT, CHECKS, Check
from analysis.ingest.dossiers.layout import Layout, header_text
from analysis.ingest.dossiers.result import make_problem
from analysis.ingest.dossiers.schema import (
    BOOLEAN_FIELDS,
    DICTIONARY_COLUMNS,
    DUCKDB_MEMORY,
    EXAMPLES_PER_CHECK,
    FIELDS,
    FLAGS_SCHEMA,
    OUTPUT_COLUMNS,
    OUTPUT_SCHEMA,
    PROCEDURE_FIELDS,
    ROW_GROUP_ROWS,
)
from analysis.ingest.dossiers.stream import Context, blank_mask, type_block, typed_batches
from analysis.ingest.problems import Problem, ProblemReport


def open_duckdb(
    work: Path, typed: Path, flags: Path, others: list[Path] = ()
) -> duckdb.DuckDBPyConnection:
    """DuckDB over the typed rows; table `bad` holds the failing rows.

    Its columns: row, m (the mask), dup_n and dup_first (an id repeated in this file),
    x_file and x_row (the first file and row among ``others`` holding the same dossier id).
    """
    con = duckdb.connect(
        str(work / "dossiers.duckdb"),
        config={
            "memory_limit": DUCKDB_MEMORY,
            "temp_directory": str(work / "spill"),
            "preserve_insertion_order": True,
        },
    )
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE VIEW typed AS SELECT * FROM read_parquet('{typed}')")
    con.execute(f"CREATE VIEW flags AS SELECT * FROM read_parquet('{flags}')")
    compared = ", ".join(c for c in OUTPUT_COLUMNS if c not in ("source_row", "dossier_id"))
    # Two rows of one dossier id: identical (a repeat, the first is kept) or conflicting (both
    # rejected: which one is right cannot be known). min/max of a row hash tells them apart
    # without keeping the rows.
    # First the ids' 64-bit hashes seen twice (8 bytes a group, not the id: 10 million groups
    # fit in DuckDB's memory), then the exact ids among those few rows.
    con.execute(
        "CREATE TABLE twice AS SELECT hash(dossier_id) AS h FROM typed WHERE dossier_id <> '' "
        "GROUP BY h HAVING count(*) > 1"
    )
    con.execute(
        "CREATE TABLE dup AS SELECT dossier_id, count(*) AS n, min(source_row) AS first_row, "
        f"min(fp) <> max(fp) AS conflicting FROM (SELECT dossier_id, source_row, hash({compared})"
        " AS fp FROM typed WHERE dossier_id <> '' AND hash(dossier_id) IN (SELECT h FROM twice)) "
        "GROUP BY dossier_id HAVING count(*) > 1"
    )
    con.execute(
        f"CREATE TABLE dupflag AS SELECT t.source_row AS row, CASE WHEN d.conflicting "
        f"THEN {BIT['duplicate_id']} WHEN t.source_row <> d.first_row THEN {BIT['repeated_row']} "
        "ELSE 0 END AS bits, d.n AS dup_n, d.first_row AS dup_first "
        "FROM typed t JOIN dup d USING (dossier_id)"
    )
    con.execute("CREATE TABLE xflag (row BIGINT, bits BIGINT, x_file VARCHAR, x_row BIGINT)")
    if others:
        files = "[" + ", ".join(_sql_text(str(p)) for p in others) + "]"
        con.execute(
            f"CREATE VIEW elsewhere AS SELECT dossier_id, source_row, filename, hash({compared}) "
            f"AS fp FROM read_parquet({files}, filename = true, union_by_name = true)"
        )
        con.execute(
            f"INSERT INTO xflag SELECT t.source_row, {BIT['in_other_file']}, min(e.filename), "
            "min(e.source_row) FROM typed t JOIN elsewhere e USING (dossier_id) "
            "WHERE t.dossier_id <> '' GROUP BY t.source_row"
        )
    con.execute(
        "CREATE TABLE bad AS SELECT * FROM (SELECT row, coalesce(f.mask, 0) | coalesce(d.bits, 0)"
        " | coalesce(x.bits, 0) AS m, d.dup_n, d.dup_first, x.x_file, x.x_row FROM flags f "
        "FULL JOIN dupflag d USING (row) FULL JOIN xflag x USING (row)) WHERE m <> 0"
    )
    return con


def other_imports(out: Path, target: Path) -> list[Path]:
    """The dossier files already in ``out`` but ``target``, each checked to be one.

    ``score`` reads every Parquet file of the folder: a file of another kind there is refused
    here, with its name, rather than as a database error later.
    """
    others = sorted(p for p in out.glob("*.parquet") if p.name != target.name)
    for other in others:
        try:
            names = set(pq.read_schema(other).names)
        except (pa.ArrowException, OSError):
            names = set()
        if not {"dossier_id", "source_row", *OUTPUT_COLUMNS} <= names:
            raise WorkbenchError(
                f"{other} is not dossier records written by workbench ingest",
                hint=f"move it out of {out}: every Parquet file there is read as dossiers",
            )
    return others


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def same_as_other(con: duckdb.DuckDBPyConnection, read: int) -> str | None:
    """The file already imported with exactly these dossiers (an export saved again), or None.

    Every row's id is in one other file with the same values (the row numbers aside), and no
    row has any other problem: re-saving with other line endings or another encoding changes the
    bytes, not the dossiers.
    """
    if read == 0 or not con.execute("SELECT count(*) FROM xflag").fetchone()[0]:
        return None
    other_bits = ~BIT["in_other_file"]
    (mixed,) = con.execute(f"SELECT count(*) FROM bad WHERE m & {other_bits} <> 0").fetchone()
    if mixed:
        return None
    compared = ", ".join(c for c in OUTPUT_COLUMNS if c not in ("source_row", "dossier_id"))
    found = con.execute(
        "SELECT e.filename, count(*) FROM (SELECT dossier_id, hash("
        f"{compared}) AS fp FROM typed) t JOIN elsewhere e ON e.dossier_id = t.dossier_id AND "
        "e.fp = t.fp GROUP BY e.filename ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    if found is None or found[1] != read:
        return None
    (size,) = con.execute(f"SELECT count(*) FROM read_parquet({_sql_text(found[0])})").fetchone()
    return found[0] if size == read else None


def problem_counts(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
    """Problems by check, and rows rejected (without the badly shaped ones)."""
    per_check = ", ".join(f"count(*) FILTER (WHERE m & {BIT[c.key]} <> 0)" for c in CHECKS)
    *counts, rejected = con.execute(f"SELECT {per_check}, count(*) FROM bad").fetchall()[0]
    return {c.key: n for c, n in zip(CHECKS, counts, strict=True) if n}, rejected


def raw_rows(
    path: Path, name: str, layout: Layout, report: ProblemReport, wanted: np.ndarray
) -> Iterator[tuple[np.ndarray, dict[str, list[str]]]]:
    """Second pass: the redacted text of the rows numbered in ``wanted`` (sorted), per block."""
    values = Values()
    for fields, _ids, rows in typed_batches(path, name, layout, report, [], shown=wanted):
        yield rows, {f: [values.shown[s] for s in arr.to_pylist()] for f, arr in fields.items()}


def example_rows(
    con: duckdb.DuckDBPyConnection, counts: dict[str, int]
) -> dict[int, list[tuple[Check, dict]]]:
    """The first ``EXAMPLES_PER_CHECK`` rows of each failing check, with their details."""
    found: dict[int, list[tuple[Check, dict]]] = {}
    for check in CHECKS:
        if check.key not in counts:
            continue
        for row, received, n, first, other, other_row in con.execute(
            "SELECT b.row, strftime(t.received_date, '%d/%m/%Y'), b.dup_n, b.dup_first, "
            "b.x_file, b.x_row FROM "
            f"(SELECT * FROM bad WHERE m & {BIT[check.key]} <> 0 ORDER BY row "
            f"LIMIT {EXAMPLES_PER_CHECK}) b JOIN typed t ON t.source_row = b.row ORDER BY b.row"
        ).fetchall():
            info = {"received": received, "n": n, "first": first, "other_row": other_row}
            info["other"] = Path(other).name if other else ""
            found.setdefault(int(row), []).append((check, info))
    return found


def _field_value(layout: Layout, field_name: str, text: dict[str, str]) -> str:
    if field_name == "procedure":
        return text.get("procedure_code") or text.get("procedure_name", "")
    return text.get(field_name, "")


def _column(layout: Layout, field_name: str) -> str:
    if field_name == "procedure":
        present = [f for f in PROCEDURE_FIELDS if f in layout.fields]
        return " / ".join(header_text(layout, f) for f in present)
    return header_text(layout, field_name)


def problems_found(
    layout: Layout,
    name: str,
    examples: dict[int, list[tuple[Check, dict]]],
    raw: dict[int, dict[str, str]],
    today: dt.date,
) -> list[Problem]:
    values = Values()
    problems = []
    for row in sorted(examples):
        text = raw.get(row, {})
        for check, info in examples[row]:
            info = dict(info, today=f"{today:%d/%m/%Y}")
            if check.key == "unknown_province":
                # The registry's message quotes the name: redacted like every value shown.
                error = values.province[(text.get("province", ""), _side(info["received"]))]
                info["province_message"] = personal.redact_text(getattr(error, "message", ""))
                info["province_hint"] = getattr(error, "hint", "")
            problems.append(
                make_problem(
                    name,
                    check.kind,
                    check.message.format(**info),
                    check.hint.format(**info),
                    row=row,
                    column=_column(layout, check.field),
                    value=_field_value(layout, check.field, text),
                )
            )
    return problems


def _side(received: str | None) -> str | None:
    if received is None:
        return None
    day = dt.datetime.strptime(received, "%d/%m/%Y").date()
    return "old63" if day < dt.date.fromisoformat(config.MERGER_DATE) else "new34"


def _writer(path: Path, metadata: dict[str, str]) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path,
        OUTPUT_SCHEMA.with_metadata(metadata),
        compression="zstd",
        use_dictionary=DICTIONARY_COLUMNS,
    )


def write_parquet(
    con: duckdb.DuckDBPyConnection,
    typed: Path,
    target: Path,
    metadata: dict[str, str],
    nulls: list[str] | None = None,
) -> None:
    """The accepted rows to ``target``, atomically.

    Without a rejected row (and no column to empty) the typed file is the output and is moved
    into place; otherwise the typed file is copied a row group at a time without the rejected
    rows, the columns in ``nulls`` set to null.
    """
    rejected = con.execute("SELECT row FROM bad ORDER BY row").fetchnumpy()["row"]
    rejected = np.asarray(rejected, dtype=np.int64)
    with atomic_path(target) as tmp:
        if not len(rejected) and not nulls:
            shutil.move(typed, tmp)
            return
        source = pq.ParquetFile(typed)
        with _writer(tmp, metadata) as writer:
            for i in range(source.num_row_groups):
                group = source.read_row_group(i)
                rows = group.column("source_row").to_numpy()
                keep = ~np.isin(rows, rejected, assume_unique=True)
                group = group.filter(pa.array(keep))
                for f in nulls or ():
                    at = group.schema.get_field_index(f)
                    group = group.set_column(at, f, pa.nulls(group.num_rows, pa.bool_()))
                writer.write_table(group)
            if not source.num_row_groups:
                writer.write_table(OUTPUT_SCHEMA.empty_table())


def _reasons(layout: Layout):
    """Mask -> (problem kinds, reason text) for the rejected-rows file, memoised per mask."""

    def explain(mask: int) -> tuple[str, str]:
        failed = [c for c in CHECKS if mask & BIT[c.key]]
        kinds = ",".join(dict.fromkeys(c.kind for c in failed))
        reason = "; ".join(f"{_column(layout, c.field)}: {c.short}" for c in failed)
        return kinds, reason

    return Memo(explain)


def write_rejected(
    target: Path,
    layout: Layout,
    rows: np.ndarray,
    masks: np.ndarray,
    raw: Iterator[tuple[np.ndarray, dict[str, list[str]]]],
    bad_shape: list[tuple[int, int]],
    capture: dict[int, dict[str, str]],
) -> None:
    """``rejected_<stem>.csv``: row, problems, reason, then the schema's columns as written.

    ``raw`` streams the rows' text; rows in ``capture`` (the examples) are also kept there.
    """
    shown = [f.name for f in FIELDS if f.name in layout.fields]
    headers = ["row", "problems", "reason", *(header_text(layout, f) for f in shown)]
    schema = pa.schema([(h, pa.string()) if h != "row" else (h, pa.int64()) for h in headers])
    explain = _reasons(layout)
    shapes = sorted(bad_shape)
    width = len(layout.headers)

    def shape_rows(upto: float) -> list[dict]:
        out = []
        while shapes and shapes[0][0] <= upto:
            row, fields = shapes.pop(0)
            reason = f"the row has {fields} field(s), the header has {width}"
            out.append({"row": row, "problems": "bad_row_shape", "reason": reason})
        return out

    with atomic_path(target) as tmp, open(tmp, "wb") as sink:
        sink.write(codecs.BOM_UTF8)  # so that Excel opens the Vietnamese text as UTF-8
        with pacsv.CSVWriter(sink, schema) as writer:
            for block_rows, text in raw:
                for i, row in enumerate(block_rows):
                    if int(row) in capture:
                        capture[int(row)] = {f: text[f][i] for f in text}
                at = np.searchsorted(rows, block_rows)
                kinds, reasons = zip(*(explain[int(m)] for m in masks[at]), strict=True)
                block = {
                    "row": block_rows,
                    "problems": list(kinds),
                    "reason": list(reasons),
                    **{header_text(layout, f): text[f] for f in shown},
                }
                extra = shape_rows(block_rows[-1])
                table = pa.table(block, schema=schema)
                if extra:
                    table = pa.concat_tables(
                        [table, pa.Table.from_pylist(extra, schema=schema)]
                    ).sort_by("row")
                writer.write_table(table)
            rest = shape_rows(float("inf"))
            if rest:
                writer.write_table(pa.Table.from_pylist(rest, schema=schema))


def first_pass(
    src: Path,
    name: str,
    layout: Layout,
    report: ProblemReport,
    ctx: Context,
    typed: Path,
    flags: Path,
    metadata: dict[str, str],
    bad_shape: list[tuple[int, int]],
    counted: dict[str, int],
) -> None:
    """Read, type and check every row: all rows to ``typed``, failing ones' masks to ``flags``.

    ``counted`` receives the rows read (``read``) and the blank rows skipped (``blank``).
    """
    with _writer(typed, metadata) as writer, pq.ParquetWriter(flags, FLAGS_SCHEMA) as flagged:
        pending: list[pa.Table] = []
        size = 0
        for fields, ids, rows in typed_batches(src, name, layout, report, bad_shape):
            empty = blank_mask(fields, ids, len(rows))
            if empty.any():
                counted["blank"] += int(empty.sum())
                keep = pa.array(~empty)
                fields = {f: pc.filter(a, keep) for f, a in fields.items()}
                ids = pc.filter(ids, keep) if ids is not None else None
                rows = rows[~empty]
            if len(rows):
                for f in BOOLEAN_FIELDS:
                    if f in fields:
                        filled = pc.sum(pc.not_equal(fields[f], "")).as_py() or 0
                        counted[f"filled:{f}"] = counted.get(f"filled:{f}", 0) + filled
                table, failing = type_block(fields, ids, rows, ctx)
                pending.append(table)
                size += len(rows)
                counted["read"] += len(rows)
                if failing.num_rows:
                    flagged.write_table(failing)
            if size >= ROW_GROUP_ROWS:  # few large row groups: much faster to write
                writer.write_table(pa.concat_tables(pending))
                pending, size = [], 0
        writer.write_table(pa.concat_tables(pending) if pending else OUTPUT_SCHEMA.empty_table())
        flagged.write_table(FLAGS_SCHEMA.empty_table())  # a file DuckDB can read, even empty
