"""Citation markers: find them, rewrite them (keep only valid ones, link them), split answers into claims.

Pure text logic (no model): every `[n]` that reaches the user maps to a shown source.

May touch: nothing but the text it is given (no index, no model).
"""

from __future__ import annotations

import re

from ..text import replace_markers


def sanitize(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """Rewrite markers as canonical `[n]`, dropping numbers not in `valid`.

    Returns the cleaned text and the invalid numbers that were removed.
    """
    removed: list[int] = []

    def keep(n: int) -> str:
        if n in valid:
            return f"[{n}]"
        removed.append(n)
        return ""

    out = replace_markers(text, keep)
    out = re.sub(r"[ \t]+([.,;:])", r"\1", out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    return out.strip(), removed


def sanitize_partial(text: str, valid: set[int]) -> str:
    """For streaming: sanitize, and hide a marker that is still being typed."""
    cut = text.rfind("[")
    if cut != -1 and "]" not in text[cut:]:
        text = text[:cut]
    return sanitize(text, valid)[0]
