"""What a dossier import read and wrote (``DossierImport``) and its counted problem report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from analysis.ingest import personal
from analysis.ingest.problems import SHOWN, IngestError, Problem, ProblemReport


@dataclass(frozen=True)
class DossierImport:
    """What one dossier import read and wrote.

    Attributes
    ----------
    read : int
        Dossier rows read (blank rows excepted).
    accepted : int
        Rows written to Parquet.
    rejected : int
        Rows with at least one problem (``read = accepted + rejected``).
    outputs : dict of str to Path
        ``"dossiers"``: the Parquet file; ``"rejected"``: the rejected rows (only when some were).
    source : str
        The raw file as the user named it.
    sha256 : str
        SHA-256 of the raw file.
    problems : dict of str to int
        Exact number of problems by kind (a row can have several).
    personal_columns : tuple of str
        Kinds of personal data found in the header and dropped (``applicant_name``, ...).
    ignored_columns : int
        Columns outside the schema, dropped unread (their headers are not repeated anywhere:
        in a file without a header row they would be personal data).
    blank_rows : int
        Rows with every schema field empty (Excel's trailing ",,,," lines), skipped.
    personal_headers : tuple of (str, str)
        (header as written, kind) of each personal column: ID numbers hashed into
        ``applicant_key``, the others dropped unread.
    text_dropped : tuple of str
        Free-text columns (headers as written) not kept: ``keep_text`` was not given.
    hashed_ids : int
        Dossier ids that were, or held, an ID or phone number or an e-mail address, stored as
        their keyed hash (:func:`analysis.ingest.personal.dossier_key`).
    duplicate_of : str
        The Parquet file already holding exactly these dossiers (the export saved again), when
        nothing was written for that reason; else empty.
    used_columns : dict of str to str
        Schema field -> the header(s) it was read from.
    ignored_names : tuple of str
        The headers of the ignored columns (empty when the header row named no schema field).
    absent_columns : tuple of str
        Schema fields the file has no column for (null in every row, never 0).
    given : dict of str to str
        Fields given by option instead of a column (``province``, ``level``), and ``level``
        -> "agency" when the agency's name gave it.
    """

    read: int
    accepted: int
    rejected: int
    outputs: dict[str, Path]
    source: str = ""
    sha256: str = ""
    problems: dict[str, int] = field(default_factory=dict)
    personal_columns: tuple[str, ...] = ()
    ignored_columns: int = 0
    blank_rows: int = 0
    personal_headers: tuple[tuple[str, str], ...] = ()
    text_dropped: tuple[str, ...] = ()
    hashed_ids: int = 0
    duplicate_of: str = ""

    def personal_summary(self) -> str:
        """One line naming what happened to personal data, for the import's summary.

        Examples
        --------
        >>> DossierImport(1, 1, 0, {}, personal_headers=(("Số CCCD", "id_number"),
        ...     ("SĐT", "phone")), hashed_ids=2).personal_summary()
        "personal data: hashed 'Số CCCD' (applicant_key); dropped 'SĐT' (phone); 2 dossier ids holding personal numbers hashed"
        """
        hashed = [f"{h!r} (applicant_key)" for h, k in self.personal_headers if k == "id_number"]
        dropped = [f"{h!r} ({k})" for h, k in self.personal_headers if k != "id_number"]
        parts = []
        if hashed:
            parts.append("hashed " + ", ".join(hashed))
        if dropped:
            parts.append("dropped " + ", ".join(dropped))
        if self.hashed_ids:
            parts.append(f"{self.hashed_ids} dossier ids holding personal numbers hashed")
        if self.text_dropped:
            shown = ", ".join(repr(h) for h in self.text_dropped)
            parts.append(f"free text dropped: {shown} (--keep-text keeps it, redacted)")
        if self.ignored_columns:
            parts.append(f"{self.ignored_columns} column(s) outside the schema dropped unread")
        return "personal data: " + ("; ".join(parts) if parts else "none found")

    used_columns: dict[str, str] = field(default_factory=dict)
    ignored_names: tuple[str, ...] = ()
    absent_columns: tuple[str, ...] = ()
    given: dict[str, str] = field(default_factory=dict)

    def manifest_entry(self) -> dict:
        """A JSON-ready record of this import for the manifest."""
        return {
            "kind": "dossiers",
            "file": self.source,
            "sha256": self.sha256,
            "rows_read": self.read,
            "rows_accepted": self.accepted,
            "rows_rejected": self.rejected,
            "blank_rows": self.blank_rows,
            "problems": dict(self.problems),
            "personal_columns_dropped": list(self.personal_columns),
            "ignored_columns": self.ignored_columns,
            "personal_columns": [{"column": h, "kind": k} for h, k in self.personal_headers],
            "free_text_dropped": list(self.text_dropped),
            "dossier_ids_hashed": self.hashed_ids,
            "duplicate_of": self.duplicate_of or None,
            "ignored_column_names": list(self.ignored_names),
            "used_columns": dict(self.used_columns),
            "absent_columns": list(self.absent_columns),
            "given": dict(self.given),
            "outputs": {k: str(v) for k, v in self.outputs.items()},
        }


@dataclass
class CountedReport(ProblemReport):
    """A report that lists a capped number of problems but counts all of them.

    Attributes
    ----------
    omitted : collections.Counter
        Problems not listed, by kind.
    """

    omitted: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.problems) + sum(self.omitted.values())

    def counts(self) -> Counter:
        return super().counts() + self.omitted

    def render(self, limit: int = SHOWN) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self) > limit:
            lines.append(f"… and {len(self) - limit} more problems")
        lines.append(
            "problems by kind: " + ", ".join(f"{k} {n}" for k, n in self.counts().most_common())
        )
        return "\n".join(lines)


def make_problem(name: str, kind: str, message: str, hint: str, row=None, column=None, value=""):
    return Problem(
        file=name,
        row=row,
        column=column,
        value=personal.redact_text(value),
        kind=kind,
        message=message,
        hint=hint,
    )


def fail(report: ProblemReport, problem: Problem) -> IngestError:
    report.add(problem)
    return IngestError(report, file_level=True)
