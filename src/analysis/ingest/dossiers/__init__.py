"""Dossier records (hồ sơ TTHC): one row per dossier, from a province's dossier-handling system.

How a file travels, and why:

1. The header is read and matched to the schema (``FIELDS``; any spelling, with or without
   diacritics). Personal columns and columns outside the schema are never read: pyarrow parses
   only the schema's columns, the ID number (hashed) and the applicant's name (in memory only,
   to redact it where the row repeats it).
2. pyarrow streams the CSV in blocks on one thread, every cell as text; on one thread it numbers
   the rows it cannot split into the header's fields, so every row keeps its spreadsheet number
   (header = 1). Each block is typed with NumPy and small Python tables memoised by cell text
   (an export repeats few distinct values in millions of rows), the ID number becomes
   ``applicant_key`` (:mod:`analysis.ingest.personal`), and a 62-bit mask records which checks
   (``CHECKS``) each row fails. Typed blocks go to a temporary Parquet file: no personal value
   is ever written, not even there.
3. DuckDB, with its memory capped and spilling to the temporary folder, compares rows with each
   other (duplicate dossier ids), counts problems by kind and picks the first rows of each. A
   second pass over the CSV fetches, redacted, the text of the rows to show (examples in
   messages, rejected rows). The typed file, without the rejected rows, is the output.

So 10 million rows import with bounded memory: a few dozen 1 MiB blocks of text read ahead, one
row group of typed rows, and DuckDB's cap.

Storage: one Parquet file per raw file, ``<out>/dossiers/<stem>.parquet`` (rows in file order,
row groups of ``ROW_GROUP_ROWS``, the raw file's SHA-256 in its key-value metadata);
re-importing a file of the same name replaces it, so a corrected export replaces the old one.
Dossier ids are checked against the other files of the folder, which ``score`` reads together:
an export saved again (other bytes, the same dossiers) is not written a second time, and rows
already imported from another file are rejected (``duplicate_across_files``).
Quarantined rows go to ``<out>/dossiers/rejected_<stem>.csv``. The schema and the spellings
accepted are documented in ``data/raw/README.md``.

The stages, one module each: ``schema`` (fields, spellings, the output table), ``layout`` (the
file's encoding, delimiter and header), ``cells`` (typing one cell), ``checks`` (the row checks),
``stream`` (blocks typed and masked, personal data hashed), ``store`` (DuckDB: rows against each
other, counts, outputs), ``importer`` (the entry point); ``result`` is what an import returns.
"""

from analysis.ingest.dossiers.cells import level_of_agency, parse_bool, parse_date, parse_whole
from analysis.ingest.dossiers.importer import ingest_dossiers
from analysis.ingest.dossiers.result import CountedReport, DossierImport
from analysis.ingest.dossiers.schema import (
    DICTIONARY_COLUMNS,
    FIELD,
    FIELDS,
    LEVEL_WORDS,
    OUTPUT_COLUMNS,
    OUTPUT_SCHEMA,
    PARQUET_SCHEMA_VERSION,
    field_of,
)

__all__ = [
    "DICTIONARY_COLUMNS",
    "FIELD",
    "FIELDS",
    "LEVEL_WORDS",
    "OUTPUT_COLUMNS",
    "OUTPUT_SCHEMA",
    "PARQUET_SCHEMA_VERSION",
    "CountedReport",
    "DossierImport",
    "field_of",
    "ingest_dossiers",
    "level_of_agency",
    "parse_bool",
    "parse_date",
    "parse_whole",
]
