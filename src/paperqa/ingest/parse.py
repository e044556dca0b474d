"""Files in, papers out: read a file, detect its format, parse it, merge duplicates across every file
(`parse_files`); the suffixes an upload may have and the safe names uploads are stored under.

May touch: the files it is given (read only); no index, no model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import PaperQAError, first_line
from ..types import IngestError, Paper, ParseResult
from .atom import parse_atom
from .bibtex import parse_bibtex
from .jsonl import parse_jsonl
from .merge import dedupe
from .pages import draft_to_paper, parse_daily_page
from .records import QUOTED_ERROR_CHARS, clean_text, fill_identifiers
from .tables import parse_csv
from .zotero import looks_like_csl_json, parse_csl_json, parse_ris

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """Read a source file as UTF-8, with an error that names the file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PaperQAError(f"cannot read {path}: {e.strerror}", hint="check the path and permissions") from e
    if b"\x00" in data[:4096]:
        raise PaperQAError(
            f"{path}: looks like a binary file, not text", hint="pass a text page, JSONL or BibTeX"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise PaperQAError(f"{path}:{line}: not valid UTF-8", hint="re-save the file as UTF-8") from e


UPLOAD_SUFFIXES = (
    ".txt",
    ".jsonl",
    ".json",
    ".ndjson",
    ".bib",
    ".bibtex",
    ".csv",
    ".xml",
    ".atom",
    ".ris",
)
"""File types accepted from uploads (the formats `detect_format` knows)."""


def safe_file_name(name: str) -> str:
    """A base name safe to store: no folders, no leading dots, only [A-Za-z0-9._-], type kept."""
    base = re.split(r"[\\/]", name)[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    only_ext = re.search(r"\.[A-Za-z0-9]+$", base)
    if "." not in safe and only_ext:  # ".jsonl" keeps its type
        safe = "upload" + only_ext.group(0)
    if len(safe) > 120:
        stem, dot, ext = safe.rpartition(".")
        safe = stem[:100] + dot + ext[:16] if dot else safe[:120]
    return safe or "upload"  # no type: refused as an upload


def detect_format(path: Path, text: str) -> str:
    """By extension, then by content."""
    ext = path.suffix.lower()
    head = text.lstrip()[:200]
    if ext not in (".jsonl", ".ndjson") and looks_like_csl_json(text):  # Zotero's CSL JSON is a .json array
        return "csl"
    if ext == ".ris" or re.match(r"TY  - ", head):
        return "ris"
    if ext in (".jsonl", ".json", ".ndjson") or head.startswith(("{", "[")):
        return "jsonl"
    if ext in (".bib", ".bibtex") or head.startswith("@"):
        return "bibtex"
    if ext in (".xml", ".atom") or head.startswith("<?xml") or "<feed" in head:
        return "atom"
    if ext == ".csv":
        return "csv"
    return "daily"


def parse_files(paths: Iterable[Path]) -> ParseResult:
    """Parse every file (format detected per file); merge duplicates across all of them."""
    result = ParseResult()
    raw: list[Paper] = []
    orphans: list[tuple[str, int, str]] = []
    structured = {
        "jsonl": parse_jsonl,
        "bibtex": parse_bibtex,
        "csv": parse_csv,
        "atom": parse_atom,
        "csl": parse_csl_json,
        "ris": parse_ris,
    }
    for path in paths:
        page = path.name
        try:
            text = read_text(path)
        except PaperQAError as e:  # one unreadable file does not stop the others
            line = re.search(r":(\d+):", e.message)
            reason = e.message.split(": ", 1)[-1] if ": " in e.message else e.message
            result.errors.append(
                IngestError(file=page, line=int(line.group(1)) if line else None, reason=reason)
            )
            continue
        if not text.strip():
            result.errors.append(IngestError(file=page, line=None, reason="empty file"))
            continue
        fmt = detect_format(path, text)
        try:
            if fmt in structured:
                papers, errors = structured[fmt](text, page)
                raw.extend(map(fill_identifiers, papers))
                result.errors.extend(errors)
                continue
            parsed = parse_daily_page(text, page)
        except Exception as e:  # a file nobody anticipated: report it, keep the others
            log.debug("parsing %s failed", path, exc_info=True)
            why = first_line(e, named=True, limit=QUOTED_ERROR_CHARS)
            result.errors.append(
                IngestError(file=page, line=None, reason=f"could not be parsed as {fmt} ({why})")
            )
            continue
        raw.extend(draft_to_paper(d, page) for d in parsed.drafts)
        orphans.extend((page, ln, text) for ln, text in parsed.orphans)
        result.errors.extend(parsed.errors)
        if not parsed.drafts and not parsed.orphans and text.strip():
            result.errors.append(
                IngestError(file=page, line=None, reason="no papers recognised in this file")
            )
    papers = dedupe(raw)
    by_abstract = {clean_text(p.abstract): p for p in papers}
    for page, ln, text in orphans:
        match = by_abstract.get(clean_text(text))
        if match is not None:
            if page not in match.pages:
                match.pages.append(page)
            match.locations.append(f"{page}:{ln}")
        else:
            result.errors.append(IngestError(file=page, line=ln, reason="abstract without a title; skipped"))
    result.papers = papers
    result.skipped = len(result.errors)
    return result


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files given directly, or every *.txt file of a folder (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.is_file() and not x.name.startswith(".")))
        elif p.exists():
            out.append(p)
        else:
            raise PaperQAError(f"no such file or folder: {p}", hint="check the path you passed to ingest")
    return out
