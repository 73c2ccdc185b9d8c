"""Problems found in a user's file, and the report that lists them.

Every importer collects :class:`Problem` records (file, row, column, value, what, hint) instead
of stopping at the first one, so the user fixes a file in one pass. Strict mode writes nothing
when there is any problem; quarantine mode writes the valid rows and the rejected ones beside
them with their reason. Never a silent drop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from analysis.errors import WorkbenchError

SHOWN = 50  # problems printed in full; the rest are counted by kind


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file.

    Attributes
    ----------
    file : str
        The file as the user named it.
    row : int or None
        Row number as the user sees it in a spreadsheet (header = 1); None for the whole file.
    column : str or None
        Column header as written in the file; None when the problem is not in one column.
    value : str
        The offending value as read ("" when there is none).
    kind : str
        Short stable code, e.g. ``unknown_province``, ``numerator_gt_denominator``.
    message : str
        What is wrong.
    hint : str
        What to do about it.
    """

    file: str
    row: int | None
    column: str | None
    value: str
    kind: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        value = f" (value {self.value!r})" if self.value != "" else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{', '.join(where)}: {self.message}{value}{hint}"


@dataclass
class ProblemReport:
    """Problems collected while reading one or more files."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def counts(self) -> Counter:
        """Number of problems by kind."""
        return Counter(p.kind for p in self.problems)

    def render(self, limit: int = SHOWN) -> str:
        """The first ``limit`` problems in full, then the counts by kind."""
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"… and {len(self.problems) - limit} more problems")
        lines.append(
            "problems by kind: " + ", ".join(f"{k} {n}" for k, n in self.counts().most_common())
        )
        return "\n".join(lines)


class IngestError(WorkbenchError):
    """Invalid input in strict mode: nothing was written; exit code 1 with the whole report."""

    exit_code = 1

    def __init__(
        self, report: ProblemReport, *, file_level: bool = False, kept_none: bool = False
    ) -> None:
        if kept_none:
            hint = (
                "every row of a file was rejected (named above), so nothing was imported: fix "
                "it and import again"
            )
        elif file_level:
            # Quarantine keeps rows back; it cannot make a file readable.
            hint = "fix the file(s) and import again"
        else:
            hint = "fix the file(s), or rerun with --quarantine to import the valid rows"
        super().__init__(
            f"{len(report)} problem(s) found; nothing was written\n{report.render()}",
            hint=hint,
        )
        self.report = report
        self.file_level = file_level


class FileRejectedError(Exception):
    """A whole file cannot be read; ``problems`` say why (file-level, or the first bad cells)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
