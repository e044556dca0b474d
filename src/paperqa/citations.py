"""Citation markers: find them, rewrite them (keep only valid ones, link them), split answers into claims.

Pure text logic (no model): every `[n]` that reaches the user maps to a shown source.

May touch: nothing but the text it is given (no index, no model).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# [1]  [1, 2]  [1-3]  [1][2]  [Source 1]  【1】
_MARKER = re.compile(
    r"[\[【]\s*(?:sources?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*(?:sources?\s*)?\d+)*)\s*[\]】]", re.I
)
_NUM = re.compile(r"\d+")
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_ABBREV = r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bet al\.)(?<!\bvs\.)(?<!\bFig\.)(?<!\bEq\.)(?<!\bNo\.)"
# A sentence ends at . ! ? — also when a closing bracket or quote follows it ("….} Our code …").
_SENT_SPLIT = re.compile(_ABBREV + r"(?:(?<=[.!?])|(?<=[.!?][)\]}\"'”]))\s+(?=[A-Z0-9\"'(\[*])")


def _numbers_in(group: str) -> list[int]:
    out: list[int] = []
    for m in _RANGE.finditer(group):
        a, b = int(m.group(1)), int(m.group(2))
        if 0 < b - a < 20:
            out.extend(range(a, b + 1))
    group = _RANGE.sub("", group)
    out.extend(int(x) for x in _NUM.findall(group))
    seen: list[int] = []
    for n in out:
        if n not in seen:
            seen.append(n)
    return seen


def marker_numbers(text: str) -> list[int]:
    """Every source number a marker in `text` cites, in order, repeats kept ("[1] … [1, 2]" ->
    [1, 1, 2]): what a citation check counts."""
    return [n for m in _MARKER.finditer(text) for n in _numbers_in(m.group(1))]


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited in `text`, in order of first appearance."""
    return list(dict.fromkeys(marker_numbers(text)))


def replace_markers(text: str, repl: Callable[[int], str]) -> str:
    """Each marker in `text` replaced by `repl(n)` for every number it cites, joined in order
    ("[1, 2]" -> repl(1) + repl(2)): how markers are rewritten, linked or dropped."""
    return _MARKER.sub(lambda m: "".join(repl(n) for n in _numbers_in(m.group(1))), text)


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


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; markers stay with the sentence before them."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    # Move a marker that follows the full stop ("… results. [2]") before it.
    text = re.sub(r"([.!?])\s*((?:\[\d+\])+)", r" \2\1", text)
    return [s.strip() for s in _SENT_SPLIT.split(text) if s.strip()]


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


_NUMBERISH = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s?(?:%|x|×|k|K|M|B|b|T)\b|%)?")


def numbers_of(text: str) -> set[str]:
    """Numeric facts in a text ('53.0', '1.9x', '32K'), marker numbers excluded."""
    out: set[str] = set()
    for m in _NUMBERISH.finditer(strip_markers(text)):
        num = m.group(1).replace(",", "")
        out.add(num.rstrip("0").rstrip(".") if "." in num else num)
    return out


def unsupported_numbers(claim: str, evidence: str) -> set[str]:
    """Numbers the claim states that the evidence does not contain."""
    return numbers_of(claim) - numbers_of(evidence)
