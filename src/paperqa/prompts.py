"""Prompts are text files in `prompts/`, shipped with the package and loaded by name.

Each prompt declares the placeholders it must contain; loading fails loudly when a
file is missing one, and rendering fails when a value is missing.

May touch: the package's own prompt files.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from .errors import PaperQAError

# name -> placeholders the template must use
REQUIRED: dict[str, set[str]] = {
    "system": set(),
    "answer": {"sources", "question", "instructions"},
}


def prompts_dir() -> Path:
    """The packaged copy (wheel) or the repository's prompts/ folder (editable install)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "prompts", here.parents[1] / "prompts"):
        if cand.is_dir():
            return cand
    raise PaperQAError("prompt folder not found", hint="reinstall the package (make install)")


def placeholders(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@cache
def load(name: str) -> str:
    path = prompts_dir() / f"{name}.txt"
    if not path.is_file():
        raise PaperQAError(f"prompt '{name}' not found at {path}", hint="reinstall the package")
    text = path.read_text(encoding="utf-8").strip()
    found = placeholders(text)
    need = REQUIRED.get(name, set())
    if need - found:
        raise PaperQAError(f"prompt {path} lacks placeholders {sorted(need - found)}")
    if found - need and name in REQUIRED:
        raise PaperQAError(f"prompt {path} has unknown placeholders {sorted(found - need)}")
    return text


def render(name: str, **values: str) -> str:
    template = load(name)
    missing = placeholders(template) - values.keys()
    if missing:
        raise PaperQAError(f"prompt '{name}' rendered without {sorted(missing)}")
    return template.format(**values)
