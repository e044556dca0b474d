"""The one check of what a user types, wherever it enters (CLI, Python API, chat UI, /ask, MCP):
papers per answer, dates, and the question itself. Each refusal says in one line what to fix.

May touch: nothing; pure functions over the values given.
"""

from __future__ import annotations

import calendar
import re
import unicodedata

from .errors import PaperQAError

TOP_K_MIN, TOP_K_MAX = 1, 50  # more than 50 papers is no longer an answer, and costs minutes
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
# A question is in English when at least this share of its letters are Latin: a method name in
# Latin letters inside a sentence of another script does not make it English.
MIN_LATIN_SHARE = 0.5


def check_top_k(top_k: int | None) -> int | None:
    """Papers per answer: None (the setting's default) or a whole number from 1 to 50."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not TOP_K_MIN <= top_k <= TOP_K_MAX:
        raise PaperQAError(
            f"papers per answer (top_k) must be a whole number from {TOP_K_MIN} to {TOP_K_MAX}, not {top_k!r}",
            hint="pass e.g. --top-k 5",
        )
    return top_k


def check_date(text: str | None, field: str, end: bool = False) -> str | None:
    """An ISO date `YYYY-MM-DD`, `YYYY-MM` or `YYYY` as a full date: the first day of the month
    or year, or with `end` (a `to` date) its last day. None or "" stays None."""
    if text is not None and not isinstance(text, str):
        raise PaperQAError(
            f"{field} must be a date as text (YYYY-MM-DD), not {text!r}", hint="e.g. 2024-05-01"
        )
    value = (text or "").strip()
    if not value:
        return None
    m = _DATE.fullmatch(value)
    problem = f"{field} must be a date as YYYY-MM-DD, YYYY-MM or YYYY, not {value!r}"
    if m is None:
        raise PaperQAError(problem, hint="e.g. 2024-05-01, 2024-05 or 2024")
    year, month, day = int(m[1]), int(m[2] or (12 if end else 1)), m[3]
    if not 1 <= month <= 12:
        raise PaperQAError(f"{problem}: there is no month {month}", hint="months run from 01 to 12")
    last = calendar.monthrange(year, month)[1]
    d = int(day) if day else (last if end else 1)
    if not 1 <= d <= last:
        raise PaperQAError(
            f"{problem}: {year}-{month:02d} has {last} days", hint=f"use a day from 01 to {last}"
        )
    return f"{year:04d}-{month:02d}-{d:02d}"


def check_dates(date_from: str | None, date_to: str | None) -> tuple[str | None, str | None]:
    """Both ends of a date range, as full dates, the first not after the second."""
    start = check_date(date_from, "the from date")
    stop = check_date(date_to, "the to date", end=True)
    if start and stop and start > stop:
        raise PaperQAError(
            f"the from date {start} is after the to date {stop}", hint="swap them, or leave one empty"
        )
    return start, stop


# Characters that print as nothing yet are letters or symbols to Unicode: the Braille blank, the
# Hangul fillers, the combining grapheme joiner.
_BLANKS = set("\u2800\u3164\u115f\u1160\uffa0\u034f")


def _visible(ch: str) -> bool:
    """Not a format character (zero-width spaces and joiners, BOM, soft hyphen), a control, a
    mark standing alone (variation selectors, combining marks) nor a blank that prints nothing."""
    if ch in "\n\t":
        return True
    return unicodedata.category(ch) not in ("Cf", "Cc") and ch not in _BLANKS


def clean_question(question: str | None, what: str = "question") -> str:
    """The question without invisible characters and outer spaces; refused when nothing is left,
    or when it is not in English (most of its letters in another script)."""
    text = "".join(ch for ch in (question or "") if _visible(ch)).strip()
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in text):  # only marks and spaces
        raise PaperQAError(f"the {what} is empty", hint="type a question about the papers")
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    if letters and latin < MIN_LATIN_SHARE * len(letters):
        raise PaperQAError(
            "PaperQA answers questions in English",
            hint="ask in English; names of methods can stay as written",
        )
    return text
