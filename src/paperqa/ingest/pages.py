"""The daily-papers pages: scraped text, each paper a title line and an abstract line.

The "daily papers" pages are scraped text. Each paper is a title line followed by an
abstract line, optionally followed by what the page says of it:

    Title line
    Abstract (one long line)
      • 6 authors            (or an organisation line: "<handle> <display name>")
    ·
    Sep 16, 2023 1           (date, then the upvote count when there is one)

Around that: boilerplate ("Get trending papers…", "Subscribe", "Daily Papers",
"byAK and the research community", "new"), a page date ("Jun 10"), blank lines,
and on some pages the first title glued to "Subscribe" ("SubscribeFreePRM: …").

Decisions (documented in the README):
* A title glued to "Subscribe" is split off and kept.
* An abstract with no title line above it ("orphan") is attached to the paper with
  the same abstract on another page when there is one; otherwise it is skipped and
  reported with its file and line (a paper nobody can name cannot be cited checkably).
* A title line with no abstract is skipped and reported likewise.
* Papers on several pages (same normalised title) become one paper that lists every
  page; metadata is merged (the most specific date, the highest upvote count).

May touch: nothing but the text it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as _date

from ..types import IngestError, Paper, paper_id_for
from .records import clean_text, extract_links

_SENTENCE_END = re.compile(r"[.!?](\s|$)")
BOILERPLATE = {
    "new",
    "subscribe",
    "daily papers",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "byak and the research community",
}


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


_DATE = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{1,2})(?:, (\d{4}))?(?: (\d+))?$")


_AUTHORS = re.compile(r"^•\s*(\d+)\s+authors?$")


def _is_abstract(line: str) -> bool:
    """Abstracts are long prose; titles are short and rarely end in a full stop."""
    if len(line) >= 250:
        return True
    return len(line) >= 120 and len(_SENTENCE_END.findall(line)) >= 2


@dataclass
class _Draft:
    title: str
    title_line: int
    abstract: str = ""
    abstract_line: int = 0
    authors: int | None = None
    organization: str | None = None
    date: str | None = None
    date_text: str | None = None
    upvotes: int | None = None


@dataclass
class _PageParse:
    name: str
    drafts: list[_Draft] = field(default_factory=list)
    orphans: list[tuple[int, str]] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


def _parse_date(m: re.Match[str]) -> tuple[str | None, str, int | None]:
    month, day, year, votes = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    text = f"{month} {day}" + (f", {year}" if year else "")
    iso = None
    if year:
        try:
            iso = _date(int(year), _MONTHS[month], day).isoformat()
        except ValueError:
            iso = None
    return iso, text, int(votes) if votes is not None else None


def parse_daily_page(text: str, name: str) -> _PageParse:
    """Parse one scraped daily-papers page into drafts (not yet deduplicated)."""
    out = _PageParse(name=name)
    lines = text.splitlines()
    pending: _Draft | None = None  # title seen, waiting for its abstract
    current: _Draft | None = None  # complete paper, may still receive metadata

    def next_nonblank(i: int) -> str:
        for j in range(i + 1, min(i + 4, len(lines))):
            if lines[j].strip():
                return lines[j].strip()
        return ""

    for idx, raw in enumerate(lines):
        lineno = idx + 1
        line = raw.strip()
        if not line or line == "·":
            continue
        low = line.lower()
        if low in BOILERPLATE:
            continue
        if low.startswith("subscribe") and len(line) > len("subscribe"):
            line = line[len("subscribe") :].strip()
        m = _AUTHORS.match(line)
        if m:
            if current is not None:
                current.authors = int(m.group(1))
            continue
        m = _DATE.match(line)
        if m:
            if current is not None and current.date_text is None:
                current.date, current.date_text, current.upvotes = _parse_date(m)
            # else: the page's own date ("Jun 10") — not a paper's
            continue
        if _is_abstract(line):
            if pending is not None:
                pending.abstract, pending.abstract_line = line, lineno
                out.drafts.append(pending)
                current, pending = pending, None
            else:
                out.orphans.append((lineno, line))
                current = None
            continue
        # A short line: an organisation line (followed by "·") or a title.
        if current is not None and pending is None and next_nonblank(idx) == "·":
            parts = line.split(maxsplit=1)
            current.organization = parts[1] if len(parts) == 2 else parts[0]
            continue
        if pending is not None:
            out.errors.append(
                IngestError(file=name, line=pending.title_line, reason="title without an abstract; skipped")
            )
        pending = _Draft(title=line, title_line=lineno)
        current = None
    if pending is not None:
        out.errors.append(
            IngestError(file=name, line=pending.title_line, reason="title without an abstract; skipped")
        )
    return out


def draft_to_paper(d: _Draft, page: str) -> Paper:
    title = clean_text(d.title)
    abstract = clean_text(d.abstract)
    return Paper(
        id=paper_id_for(title),
        title=title,
        abstract=abstract,
        date=d.date,
        date_text=d.date_text,
        authors=d.authors,
        upvotes=d.upvotes,
        organization=d.organization,
        links=extract_links(d.abstract),
        pages=[page],
        locations=[f"{page}:{d.title_line}"],
    )
