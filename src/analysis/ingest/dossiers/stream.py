"""Streaming a dossier CSV: blocks of text typed, personal data hashed or redacted, rows masked."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis import registry
from analysis.ingest import personal
from analysis.ingest.dossiers.cells import TIME_OF_DAY, Memo, Values, map_words
from analysis.ingest.dossiers.checks import BIT
from analysis.ingest.dossiers.layout import Layout
from analysis.ingest.dossiers.result import fail, make_problem
from analysis.ingest.dossiers.schema import (
    BLOCK_BYTES,
    BOOLEAN_FIELDS,
    CHUNK_ROWS,
    DATE_FIELDS,
    DROPPED_TEXT_FIELDS,
    FLAGS_SCHEMA,
    FREE_TEXT_FIELDS,
    MAX_PLAUSIBLE_NUMBER,
    OUTPUT_COLUMNS,
    OUTPUT_SCHEMA,
)
from analysis.ingest.problems import ProblemReport


def _row_numbers(count: int, start: int, skipped: np.ndarray, first: int = 2) -> np.ndarray:
    """Spreadsheet row numbers of ``count`` rows read from the ``start``-th one (0-based).

    Rows pyarrow skipped (``skipped``: their spreadsheet numbers, sorted) have numbers too; the
    k-th row read is row ``k + first + j``, j the number of skipped rows before it (``first``:
    the first data row, 2 under a header on row 1).
    """
    k = np.arange(start, start + count, dtype=np.int64)
    if skipped.size == 0:
        return k + first
    # Rows read before the j-th skipped one: skipped[j] - first - j, non-decreasing in j.
    before = skipped - first - np.arange(skipped.size)
    return k + first + np.searchsorted(before, k, side="right")


def _chunks(reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    """pyarrow's small blocks, gathered into chunks of about ``CHUNK_ROWS`` rows.

    pyarrow reads ahead a few dozen blocks, so blocks are kept small (``BLOCK_BYTES``) to bound
    memory; typing works per chunk, so that its fixed cost per call is paid rarely.
    """
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
            pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def typed_batches(
    path: Path,
    name: str,
    layout: Layout,
    report: ProblemReport,
    bad_shape: list[tuple[int, int]],
    shown: np.ndarray | None = None,
) -> Iterator[tuple[dict[str, pa.Array], pa.Array | None, np.ndarray]]:
    """Stream the file: per block, the trimmed text of each field, the ID numbers, row numbers.

    Rows with the wrong number of fields are appended to ``bad_shape`` as (row, fields); their
    text, which holds personal data, is not kept. The applicant's name, where the row repeats
    it, is redacted in free text. ``shown`` (sorted row numbers) keeps only those rows, text for
    messages, and redacts the name in every field of them.
    """
    names = [f"c{i}" for i in range(len(layout.headers))]
    wanted = sorted(
        {c for cols in layout.fields.values() for c in cols}
        | set(layout.id_columns)
        | set(layout.name_columns)
    )
    offset = layout.sep  # pyarrow counts Excel's "sep=" line; a spreadsheet does not

    def on_invalid(row) -> str:
        if row.number is not None:  # always known with one thread
            bad_shape.append((row.number - offset, row.actual_columns))
        return "skip"

    done = 0
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=layout.skip,
                block_size=BLOCK_BYTES,
                encoding=layout.encoding,
                # One thread: pyarrow then numbers the rows it skips, and it is no slower here.
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                # A blank line is a row of a spreadsheet: kept, so numbering stays right, and
                # dropped later as a blank row.
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[names[i] for i in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in _chunks(reader):
            skipped = np.array(sorted(r for r, _ in bad_shape), dtype=np.int64)
            rows = _row_numbers(batch.num_rows, done, skipped, layout.header_row + 1)
            done += batch.num_rows
            if shown is not None:  # only the rows to show, before any work on them
                at = np.searchsorted(shown, rows).clip(max=max(len(shown) - 1, 0))
                keep = (shown[at] == rows) if len(shown) else np.zeros(len(rows), dtype=bool)
                if not keep.any():
                    continue
                batch, rows = batch.filter(pa.array(keep)), rows[keep]
            fields: dict[str, pa.Array] = {}
            for f, cols in layout.fields.items():
                parts = [pc.utf8_trim_whitespace(batch.column(names[c])) for c in cols]
                if len(parts) > 1:  # several unit columns (huyện, xã): joined
                    parts = [pc.if_else(pc.equal(p, ""), None, p) for p in parts]
                    joined = pc.binary_join_element_wise(*parts, " / ", null_handling="skip")
                    parts = [pc.fill_null(joined, "")]
                fields[f] = parts[0]
            ids = None
            for c in layout.id_columns:
                text = pc.replace_substring_regex(batch.column(names[c]), "[^0-9A-Za-z]", "")
                text = pc.if_else(pc.equal(text, ""), None, pc.ascii_upper(text))
                ids = text if ids is None else pc.coalesce(ids, text)
            if layout.name_columns:
                applicant = None
                for c in layout.name_columns:
                    text = pc.utf8_trim_whitespace(batch.column(names[c]))
                    text = pc.if_else(pc.equal(text, ""), None, text)
                    applicant = text if applicant is None else pc.coalesce(applicant, text)
                fields = _without_names(fields, applicant, everywhere=shown is not None)
            yield fields, ids, rows
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        # pyarrow's message may quote the row: only a row number is taken from it.
        found = re.search(r"Row #(\d+)", str(exc))
        row = int(found.group(1)) - offset if found else None
        text = isinstance(exc, UnicodeDecodeError) or "UTF8" in str(exc)
        raise fail(
            report,
            make_problem(
                name,
                "bad_encoding" if text else "malformed_csv",
                "the file is not valid text in one encoding"
                if text
                else "the file cannot be read as CSV",
                "save the export as CSV UTF-8" if text else "check that the file is complete",
                row=row,
            ),
        ) from None


# A text seen on more rows of a block than this is a catalogue value (an agency, a procedure),
# not one a clerk typed for one applicant: it is not searched for the row's name.
RARE_TEXT = 5
MIN_NAME_LENGTH = 5  # shorter "names" ("An", "x") would redact ordinary words


def _without_names(
    fields: dict[str, pa.Array], names: pa.Array, everywhere: bool
) -> dict[str, pa.Array]:
    """Each row's applicant name, wherever the row repeats it, replaced by ``<redacted>``.

    The name column itself is never kept, but a clerk may type the name into a kept column
    ("Khai sinh cho Trần Thị Bích") or shift it into another one. In free text the name is
    redacted inside the cell; with ``everywhere`` (values shown in messages) also a whole cell
    equal to it in any other field but the id. Checked fields are typed as written: a province
    "Hà Nam" stays a province even for an applicant of that name, and a name shifted there is
    rejected as an unknown province, shown redacted. The names stay in memory. A bare name in
    free text cannot be recognised otherwise (streets and wards are named after people); the
    applicant's own name, beside it on the row, can.
    """
    has = pc.fill_null(pc.greater_equal(pc.utf8_length(names), MIN_NAME_LENGTH), False)
    if not pc.any(has).as_py():
        return fields
    lowered = pc.utf8_lower(pc.utf8_normalize(names, "NFC")) if everywhere else None
    out = {}
    for f, values in fields.items():
        if f in FREE_TEXT_FIELDS:
            # A cell holding the name is rare by nature: the search of rare cells finds it.
            values = _names_inside(values, names, has)
        elif everywhere and f != "dossier_id":
            same = pc.equal(pc.utf8_lower(pc.utf8_normalize(values, "NFC")), lowered)
            same = pc.fill_null(pc.and_(has, same), False)
            if pc.any(same).as_py():
                values = pc.if_else(same, pa.scalar(personal.REDACTED), values)
        out[f] = values
    return out


def _names_inside(values: pa.Array, names: pa.Array, has: pa.Array) -> pa.Array:
    """``values`` with each rare cell's own row name redacted (see :func:`_without_names`)."""
    encoded = pc.dictionary_encode(values)
    index = encoded.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(index, minlength=len(encoded.dictionary))
    rows = np.flatnonzero((counts[index] <= RARE_TEXT) & has.to_numpy(zero_copy_only=False))
    if not len(rows):
        return values
    at = pa.array(rows)
    changed, mask = [], np.zeros(len(values), dtype=bool)
    for i, text, name in zip(
        rows, pc.take(values, at).to_pylist(), pc.take(names, at).to_pylist(), strict=True
    ):
        text, name = unicodedata.normalize("NFC", text), unicodedata.normalize("NFC", name)
        if name.casefold() in text.casefold():
            pattern = re.compile(re.escape(name), re.IGNORECASE)
            changed.append(pattern.sub(personal.REDACTED, text))
            mask[i] = True
    if not changed:
        return values
    return pc.replace_with_mask(values, pa.array(mask), pa.array(changed, pa.string()))


def blank_mask(fields: dict[str, pa.Array], ids: pa.Array | None, n: int) -> np.ndarray:
    blank = np.ones(n, dtype=bool)
    for values in fields.values():
        blank &= pc.equal(values, "").to_numpy(zero_copy_only=False)
    if ids is not None:
        blank &= pc.is_null(ids).to_numpy(zero_copy_only=False)
    return blank


@dataclass
class Context:
    """What typing a block needs besides the block."""

    values: Values
    today: np.datetime64
    merger: np.datetime64
    ipad: bytes  # HMAC's inner padded key
    opad: bytes  # HMAC's outer padded key
    salt: bytes = b""
    keep_text: bool = False
    hashed_ids: int = 0  # dossier ids replaced by their keyed hash so far
    province: str | None = None  # --province: for a file without the column, or blank cells
    columns: frozenset[str] = frozenset()  # the fields the file has columns for
    level: str | None = None  # --level: for a file without a level column


def _keys(ids: pa.Array | None, n: int, ctx: Context) -> pa.Array:
    """applicant_key of each row: HMAC-SHA256 of its normalised ID number (None without one).

    The same value as :func:`personal.applicant_key`. HMAC is computed from the precomputed
    padded keys (two SHA-256 calls a row, the least Python can do), and the digests are turned
    into letters a-p with NumPy at once: for 10 million rows this is the import's largest cost.
    """
    if ids is None:
        return pa.nulls(n, pa.string())
    sha, ipad, opad = hashlib.sha256, ctx.ipad, ctx.opad
    values = ids.cast(pa.binary()).to_pylist()
    blank = bytes(32)
    digests = b"".join(
        blank if v is None else sha(opad + sha(ipad + v).digest()).digest() for v in values
    )
    half = personal.KEY_HEX_DIGITS // 2
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)[:, :half]
    # Each byte as two hex digits, 0-f written a-p: high nibble first, as hexdigest() does.
    letters = np.empty((n, 2 * half), dtype=np.uint8)
    letters[:, 0::2] = (raw >> 4) + ord("a")
    letters[:, 1::2] = (raw & 0x0F) + ord("a")
    keys = pa.array(letters.view(f"S{2 * half}").ravel(), pa.binary(2 * half))
    keys = keys.cast(pa.string())
    return pc.if_else(pc.is_null(ids), pa.scalar(None, pa.string()), keys)


def _dossier_ids(ids: pa.Array, ctx: Context) -> pa.Array:
    """The dossier ids as stored: one that is, or holds, personal data becomes its keyed hash."""
    personal_ = pc.fill_null(pc.match_substring_regex(ids, personal.PERSONAL_ID_PATTERN), False)
    count = pc.sum(personal_).as_py() or 0
    if not count:
        return ids
    ctx.hashed_ids += count
    hashed = [personal.dossier_key(v, ctx.salt) for v in pc.filter(ids, personal_).to_pylist()]
    # Scatter the hashes back: positions of the personal ids, in order.
    at = np.flatnonzero(personal_.to_numpy(zero_copy_only=False))
    values = ids.to_pylist()
    for i, key in zip(at, hashed, strict=True):
        values[i] = key
    return pa.array(values, pa.string())


def type_block(
    fields: dict[str, pa.Array], ids: pa.Array | None, rows: np.ndarray, ctx: Context
) -> tuple[pa.Table, pa.Table]:
    """One block (blank rows removed) typed as the output, and the rows failing a check.

    Returns
    -------
    typed : pyarrow.Table
        Every row, in ``OUTPUT_SCHEMA``; values that cannot be read are null.
    flagged : pyarrow.Table
        ``row`` and ``mask`` (bit ``BIT[key]`` set for each failed check) of the failing rows.
    """
    n = len(rows)
    v = ctx.values
    none = np.zeros(n, dtype=bool)
    flags: dict[str, np.ndarray] = {}
    out: dict[str, pa.Array] = {}

    def empty(f: str) -> np.ndarray:
        if f not in fields:
            return np.ones(n, dtype=bool)
        return pc.equal(fields[f], "").to_numpy(zero_copy_only=False)

    def parsed(f: str, memo: Memo, type_: pa.DataType) -> pa.Array:
        if f not in fields:
            flags[f] = none
            return pa.nulls(n, type_)
        values, bad = map_words(fields[f], memo, type_)
        flags[f] = bad
        return values

    def np_bool(values: pa.Array) -> np.ndarray:
        return pc.fill_null(values, False).to_numpy(zero_copy_only=False)

    out["dossier_id"] = _dossier_ids(fields["dossier_id"], ctx)
    flags["missing:dossier_id"] = empty("dossier_id")

    days = {}
    for f in DATE_FIELDS:
        if f in fields:
            # A time of day makes nearly every cell distinct; without it a column holds a few
            # hundred dates, each parsed once.
            stripped = pc.replace_substring_regex(fields[f], TIME_OF_DAY, " ")
            out[f], _ = map_words(pc.utf8_trim_whitespace(stripped), v.date, pa.date32())
            unread = pc.is_null(out[f]).to_numpy(zero_copy_only=False)
            flags[f"bad_date:{f}"] = unread & ~empty(f)  # "12:30" alone is not a date either
        else:
            out[f] = pa.nulls(n, pa.date32())
            flags[f"bad_date:{f}"] = none
        days[f] = out[f].to_numpy(zero_copy_only=False).astype("datetime64[D]")
    received = days["received_date"]
    for f in ("received_date", "due_date"):
        flags[f"missing:{f}"] = empty(f)
    flags["future:received_date"] = received > ctx.today
    flags["future:finished_date"] = days["finished_date"] > ctx.today
    flags["due_before_received"] = days["due_date"] < received
    flags["finished_before_received"] = days["finished_date"] < received

    if ctx.province is not None:
        given = pa.scalar(ctx.province, pa.string())
        if "province" in fields:
            fields = {
                **fields,
                "province": pc.if_else(pc.equal(fields["province"], ""), given, fields["province"]),
            }
        else:
            fields = {**fields, "province": pa.repeat(given, n)}
    # Province, resolved per distinct (name, map of the received date).
    side = np.where(np.isnat(received), 0, np.where(received < ctx.merger, 1, 2))
    encoded = pc.dictionary_encode(fields["province"])
    names = encoded.dictionary.to_pylist()
    combos, inverse = np.unique(
        encoded.indices.to_numpy().astype(np.int64) * 3 + side, return_inverse=True
    )
    sides = (None, "old63", "new34")
    found = [v.province[(names[c // 3], sides[c % 3])] for c in combos]
    ok = [p if isinstance(p, registry.Province) else None for p in found]
    for column, attr in (("boundary", "boundary"), ("province_code", "code"), ("province", "name")):
        out[column] = pa.array([getattr(p, attr) if p else None for p in ok], pa.string()).take(
            pa.array(inverse)
        )
    missing_province = empty("province")
    flags["missing:province"] = missing_province
    flags["unknown_province"] = np.array([p is None for p in ok], dtype=bool)[inverse] & (
        ~missing_province
    )
    other = np.zeros(len(combos), dtype=bool)
    if ctx.province is not None and "province" in ctx.columns:
        for i, (c, p) in enumerate(zip(combos, ok, strict=True)):
            wanted = v.province[(ctx.province, sides[c % 3])]
            other[i] = p is not None and isinstance(wanted, registry.Province) and p != wanted
    flags["option_mismatch:province"] = other[inverse]

    if "level" in fields:
        out["level"] = parsed("level", v.level, pa.string())
        flags["unknown_level"] = flags.pop("level")
        flags["missing:level"] = empty("level")
    elif ctx.level is not None:
        out["level"] = pa.repeat(pa.scalar(ctx.level, pa.string()), n)
        flags["unknown_level"] = flags["missing:level"] = none
    else:  # no level column: the agency's name says it ("UBND xã Phú Lâm", "Sở Tư pháp")
        out["level"], _ = map_words(fields["agency"], v.agency_level, pa.string())
        flags["unknown_level"] = none
        flags["missing:level"] = pc.is_null(out["level"]).to_numpy(zero_copy_only=False)
    is_district = pc.equal(out["level"], "district")
    flags["district_after_reform"] = np_bool(is_district) & (received >= ctx.merger)

    for f in FREE_TEXT_FIELDS:
        out[f] = parsed(f, v.text, pa.string())
        flags.pop(f)
        if f in DROPPED_TEXT_FIELDS and not ctx.keep_text:
            out[f] = pa.nulls(n, pa.string())
    flags["missing:procedure"] = empty("procedure_code") & empty("procedure_name")

    out["channel"] = parsed("channel", v.channel, pa.string())
    flags["unknown_channel"] = flags.pop("channel")
    flags["missing:channel"] = empty("channel")

    for f in BOOLEAN_FIELDS:
        out[f] = parsed(f, v.boolean, pa.bool_())
        flags[f"bad_boolean:{f}"] = flags.pop(f)

    for f, memo, kind in (
        ("supplement_requests", v.count, "negative:supplement_requests"),
        ("fee_vnd", v.fee, "negative:fee_vnd"),
    ):
        out[f] = parsed(f, memo, pa.int64())
        flags[f"bad_number:{f}"] = flags.pop(f)
        values = pc.fill_null(out[f], 0).to_numpy(zero_copy_only=False)
        flags[kind] = values < 0
        # Stored as a number it would still be the phone or ID number: the row is turned away.
        flags[f"implausible:{f}"] = values >= MAX_PLAUSIBLE_NUMBER

    out["rating"] = parsed("rating", v.rating, pa.string())
    flags["unknown_rating"] = flags.pop("rating")

    # Only against a known channel: an unknown one is reported as such, not twice.
    not_online = np_bool(pc.not_equal(out["channel"], "online"))
    flags["inconsistent:fully_online"] = np_bool(out["fully_online"]) & not_online
    fee_zero = np_bool(pc.equal(out["fee_vnd"], 0))
    flags["inconsistent:paid_online"] = np_bool(out["paid_online"]) & fee_zero
    no_result = np_bool(pc.invert(out["issues_result"]))
    flags["inconsistent:e_result"] = np_bool(out["e_result"]) & no_result

    mask = np.zeros(n, dtype=np.int64)
    for key, bad in flags.items():
        mask |= bad.astype(np.int64) * BIT[key]
    month = received.astype("datetime64[M]").astype("datetime64[D]")
    out["received_month"] = pa.array(month, pa.date32(), from_pandas=True)  # NaT -> null
    out["source_row"] = pa.array(rows)
    out["applicant_key"] = _keys(ids, n, ctx)
    failed = mask != 0
    table = pa.table({name: out[name] for name in OUTPUT_COLUMNS}, schema=OUTPUT_SCHEMA)
    flagged = pa.table({"row": rows[failed], "mask": mask[failed]}, schema=FLAGS_SCHEMA)
    return table, flagged
