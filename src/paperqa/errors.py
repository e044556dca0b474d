"""One error type for user mistakes and misconfiguration: a message plus how to fix it.

The CLI and the UI print `str(error)`; no traceback is shown for these.
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
