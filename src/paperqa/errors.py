"""One error type for user mistakes and misconfiguration: a message plus how to fix it.

The CLI and the UI print `str(error)`; no traceback is shown for these.

May touch: nothing (every module imports it).
"""

from __future__ import annotations


class PaperQAError(Exception):
    """A problem the user can fix. `hint` says how."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(PaperQAError):
    """Settings point at something that does not work (missing file, server down, bad key)."""


class StoreError(PaperQAError):
    """The index could not be opened or written."""


def first_line(e: BaseException, *, named: bool = False, limit: int | None = None) -> str:
    """An exception as one line of a message: the first line of its text, or its type when it
    has none. `named` puts the type in front ("ValueError: …"); `limit` cuts the text."""
    text = str(e).strip()
    if not text:
        return type(e).__name__
    line = text.splitlines()[0][:limit]
    return f"{type(e).__name__}: {line}" if named else line
