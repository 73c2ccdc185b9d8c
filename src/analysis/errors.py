"""Errors a user can act on.

Everything that is the user's mistake (an unknown province, a missing file, a bad parameter)
raises :class:`WorkbenchError`; the CLI prints its one-line message on stderr and exits with
code 2, never a traceback. Bugs stay ordinary exceptions.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """A problem with the user's input, with a hint on how to fix it.

    Parameters
    ----------
    message : str
        What is wrong, naming the file/row/column/value where there is one.
    hint : str, optional
        What to do about it.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message
