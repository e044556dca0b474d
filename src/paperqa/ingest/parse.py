"""Ingest: turn source files into deduplicated `Paper` objects with stable ids.

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

May touch: the files it is given (read only); no index, no model.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date as _date
from pathlib import Path
from typing import Any

from ..errors import PaperQAError, first_line
from ..text import normalize_title
from ..types import IngestError, Paper, ParseResult, paper_id_for

log = logging.getLogger(__name__)

# Most characters of a parser's error quoted in a skipped file's reason (it can hold a whole record).
QUOTED_ERROR_CHARS = 120

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
_URL = re.compile(r"https?://[^\s<>()\[\]{}\"']+")
_TEXTBF = re.compile(r"\\?(?:text(?:bf|it|rm|tt|sc)|emph|mathrm|mathbf)\{([^}]*)\}")
# {\it asynchronous}, {\bf x}, {\em x}: the old-style font switches.
_FONT_GROUP = re.compile(r"\{\\(?:it|bf|em|rm|tt|sc|sl)\s+([^{}]*)\}")
# T\"ULU, \'a, \"{\i}, \`e, \^o, \~n: a LaTeX accent on one letter -> the accented letter.
_ACCENT = re.compile(r"\\([\"'`^~])\{?\\?([A-Za-z])\}?")
_COMBINING = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303"}
# \o, \Delta, \times: LaTeX letter and symbol macros -> their characters (others stay as written).
_MACRO_TEXT = {
    "o": "ø",
    "O": "Ø",
    "ss": "ß",
    "ae": "æ",
    "aa": "å",
    "l": "ł",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "lambda": "λ",
    "mu": "μ",
    "sigma": "σ",
    "theta": "θ",
    "tau": "τ",
    "Delta": "Δ",
    "Sigma": "Σ",
    "Theta": "Θ",
    "times": "×",
    "rightarrow": "→",
    "leq": "≤",
    "geq": "≥",
    "approx": "≈",
    "sim": "~",
}
_MACRO = re.compile(r"\\([A-Za-z]+)(?:\{\}|\b ?)")
_FOOTNOTE = re.compile(r"\\footnote\{([^{}]*)\}")
_SENTENCE_END = re.compile(r"[.!?](\s|$)")


def clean_text(text: str) -> str:
    """Undo common scraping artefacts: LaTeX markup (font commands, accents, escaped % and &,
    ``quotes'', 57--87), HTML-entity remnants."""
    text = _TEXTBF.sub(r"\1", text)
    text = _FONT_GROUP.sub(r"\1", text)
    text = _FOOTNOTE.sub(r" (\1)", text)
    text = _ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _COMBINING[m.group(1)]), text)
    text = re.sub(r"\\([%&_#$])", r"\1", text)
    text = re.sub(r"``([^`]{1,300}?)''", r"“\1”", text)
    text = re.sub(r"(?<=\d)--(?=\d)", "–", text)
    text = text.replace("\\(", "").replace("\\)", "")
    text = _MACRO.sub(lambda m: _MACRO_TEXT.get(m.group(1), m.group(0)), text)
    text = re.sub(r"(?<=[a-z])x2013(?=[a-z])", " – ", text)
    text = text.replace("$", "")
    return re.sub(r"\s+", " ", text).strip()


def extract_links(text: str) -> list[str]:
    links: list[str] = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:")
        if url not in links:
            links.append(url)
    return links


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


def merge_papers(kept: Paper, other: Paper, *, other_wins: bool = False) -> Paper:
    """One paper from two records of it (the same normalised title), as a new object: the one
    merge policy of ingest (duplicates across pages) and of the store (a paper ingested again).

    Lists (links, pages, locations) accumulate, `kept`'s first; a field one record lacks comes
    from the other. Where both have a value, duplicates found in one parse keep the fuller one:
    the title without LaTeX, the longer abstract, the dated record's date, the higher upvote
    count (the first-seen authors and organisation). A record ingested again (`other_wins`)
    replaces the stored values instead: it is the newer text.
    """
    first, second = (other, kept) if other_wins else (kept, other)
    merged = first.model_copy(deep=True)
    if not other_wins:
        if "$" in kept.title and "$" not in other.title:
            merged.title = other.title
        if len(other.abstract) > len(kept.abstract):
            merged.abstract = other.abstract
        if kept.date is None and other.date is not None:  # a date comes with its own wording
            merged.date, merged.date_text = other.date, other.date_text
        if kept.upvotes is not None and other.upvotes is not None:
            merged.upvotes = max(kept.upvotes, other.upvotes)
    for name in (
        "date",
        "date_text",
        "authors",
        "upvotes",
        "organization",
        "doi",
        "arxiv_id",
        "author_names",
    ):
        if getattr(merged, name) in (None, "", []):
            setattr(merged, name, getattr(second, name))
    for name in ("links", "pages", "locations"):
        values: list[str] = list(getattr(kept, name))
        values += [v for v in getattr(other, name) if v not in values]
        setattr(merged, name, values)
    return merged


def _draft_to_paper(d: _Draft, page: str) -> Paper:
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


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    """One paper per DOI, arXiv id or else normalised title (in that order), keeping first-seen
    order: a Zotero record and a daily-papers page of the same paper become one."""
    kept: dict[str, Paper] = {}
    alias: dict[str, str] = {}  # DOI, arXiv id or another title of a kept paper -> its key
    for p in papers:
        title_key = normalize_title(p.title)
        names = identifier_keys(p)
        key = next((alias[n] for n in names if n in alias), alias.get(title_key, title_key))
        # merge_papers makes a new paper and changes neither record: no copy needed (a copy of
        # every paper is hundreds of MB at 100k papers)
        kept[key] = merge_papers(kept[key], p) if key in kept else p
        for name in (*identifier_keys(kept[key]), title_key):
            alias.setdefault(name, key)
    return list(kept.values())


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


# --------------------------------------------------------------------------- other formats
def _record(
    file: str,
    line: int,
    title: Any,
    abstract: Any,
    *,
    date: Any = None,
    authors: Any = None,
    links: list[str] | None = None,
) -> Paper | IngestError:
    """One paper from a structured record, or the reason it cannot be one."""
    title = clean_text(str(title or ""))
    abstract = clean_text(str(abstract or ""))
    if not title:
        return IngestError(file=file, line=line, reason="record has no title; skipped")
    if not abstract:
        return IngestError(file=file, line=line, reason=f"'{title[:60]}' has no abstract; skipped")
    n_authors: int | None = None
    if isinstance(authors, list):
        n_authors = len(authors) or None
    elif isinstance(authors, str) and authors.strip():
        n_authors = len([a for a in re.split(r",|\band\b", authors) if a.strip()])
    iso, text = None, None
    if date:
        text = str(date).strip()
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", text)
        iso = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
    return Paper(
        id=paper_id_for(title),
        title=title,
        abstract=abstract,
        date=iso,
        date_text=text,
        authors=n_authors,
        links=list(dict.fromkeys([*(links or []), *extract_links(abstract)])),
        pages=[file],
        locations=[f"{file}:{line}"],
    )


def _arxiv_link(arxiv_id: Any) -> list[str]:
    return [f"https://arxiv.org/abs/{arxiv_id}"] if arxiv_id else []


def parse_jsonl(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """arXiv-metadata-snapshot style: one object a line (id, title, abstract, authors, update_date)."""
    import json

    papers: list[Paper] = []
    errors: list[IngestError] = []
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of the same objects
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            return [], [IngestError(file=name, line=e.lineno, reason=f"invalid JSON: {e.msg}")]
        except RecursionError:
            return [], [IngestError(file=name, line=1, reason="invalid JSON: nested too deeply")]
        rows = [(i + 1, item) for i, item in enumerate(items)]
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((lineno, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(IngestError(file=name, line=lineno, reason=f"invalid JSON: {e.msg}"))
            except RecursionError:
                errors.append(IngestError(file=name, line=lineno, reason="invalid JSON: nested too deeply"))
    for lineno, obj in rows:
        if not isinstance(obj, dict):
            errors.append(IngestError(file=name, line=lineno, reason="not a JSON object"))
            continue
        date = obj.get("update_date") or obj.get("published") or obj.get("date")
        links = obj.get("links") or []
        links = [links] if isinstance(links, str) else links
        if not isinstance(links, list) or not all(isinstance(u, str) for u in links):
            errors.append(IngestError(file=name, line=lineno, reason="'links' must be a list of URLs"))
            continue
        rec = _record(
            name,
            lineno,
            obj.get("title"),
            obj.get("abstract") or obj.get("summary"),
            date=date,
            authors=obj.get("authors"),
            links=_arxiv_link(obj.get("id")) + links,
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    return papers, sorted(errors, key=lambda e: e.line or 0)


# How much of a BibTeX syntax error's explanation a per-record error quotes.
_BIB_REASON_CHARS = 120


def parse_bibtex(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """BibTeX (Zotero's "Export Library… → BibTeX" among others), read with `bibtexparser` 2:
    @string macros resolved, and each entry that is not valid BibTeX reported with its line."""
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # its failures are reported below
    library = bibtexparser.parse_string(text)
    papers: list[Paper] = []
    errors: list[IngestError] = []
    for block in library.blocks:
        line = (block.start_line or 0) + 1  # bibtexparser counts from 0
        entry = block.ignore_error_block if isinstance(block, DuplicateBlockKeyBlock) else block
        if isinstance(block, ParsingFailedBlock) and not isinstance(entry, Entry):
            why = getattr(block.error, "abort_reason", "") or first_line(block.error)
            reason = f"invalid BibTeX entry ({why.strip()[:_BIB_REASON_CHARS]}); skipped"
            errors.append(IngestError(file=name, line=line, reason=reason))
            continue
        if not isinstance(entry, Entry):  # @comment, @preamble, @string, text between entries
            continue
        f = {k.lower(): re.sub(r"[{}]", "", str(v.value)).strip() for k, v in entry.fields_dict.items()}
        links = [f["url"]] if f.get("url") else []
        if f.get("doi"):
            links.append(f"https://doi.org/{f['doi']}")
        links += _arxiv_link(f.get("eprint"))
        date = f.get("date") or (f"{f['year']}" if f.get("year") else None)
        authors = [a for a in re.split(r"\s+and\s+", f.get("author", "")) if a.strip()]
        rec = _record(name, line, f.get("title"), f.get("abstract"), date=date, authors=authors, links=links)
        if isinstance(rec, Paper):
            rec.author_names = [clean_text(a) for a in authors]
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    if not library.entries and not errors:
        errors.append(IngestError(file=name, line=None, reason="no BibTeX entries found"))
    return papers, errors


def parse_csv(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    import csv
    import io

    # Abstracts can be long; an upload is size-limited anyway (the default limit is 128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 2**20))
    reader = csv.DictReader(io.StringIO(text))
    try:
        cols = {c.lower().strip(): c for c in (reader.fieldnames or [])}
    except csv.Error as e:
        return [], [IngestError(file=name, line=1, reason=f"invalid CSV header: {e}")]
    if "title" not in cols or not ({"abstract", "summary"} & cols.keys()):
        return [], [IngestError(file=name, line=1, reason="CSV header needs 'title' and 'abstract' columns")]
    papers: list[Paper] = []
    errors: list[IngestError] = []
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as e:  # the rest of the file cannot be read reliably
            errors.append(IngestError(file=name, line=reader.line_num, reason=f"invalid CSV: {e}"))
            break

        def get(k: str, row: dict[str, Any] = row) -> Any:
            return row.get(cols[k]) if k in cols else None

        rec = _record(
            name,
            reader.line_num,
            get("title"),
            get("abstract") or get("summary"),
            date=get("date") or get("update_date") or get("published"),
            authors=get("authors"),
            links=[u for u in (get("url"), get("link")) if u] + _arxiv_link(get("id")),
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    return papers, errors


def parse_atom(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """arXiv API Atom XML."""
    import xml.etree.ElementTree as ET

    ns = {"a": "http://www.w3.org/2005/Atom"}
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return [], [IngestError(file=name, line=e.position[0], reason=f"invalid XML: {e}")]
    papers: list[Paper] = []
    errors: list[IngestError] = []
    for i, entry in enumerate(root.findall("a:entry", ns), 1):

        def tx(tag: str, entry: Any = entry) -> str | None:
            el = entry.find(f"a:{tag}", ns)
            return el.text if el is not None else None

        links = [el.get("href", "") for el in entry.findall("a:link", ns) if el.get("href")]
        authors = [a.findtext("a:name", default="", namespaces=ns) for a in entry.findall("a:author", ns)]
        rec = _record(
            name,
            i,
            tx("title"),
            tx("summary"),
            date=tx("published"),
            authors=authors,
            links=[tx("id") or "", *links],
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    return papers, errors


# --------------------------------------------------------------------------- Zotero exports
# Zotero exports a library as BibTeX, CSL JSON (a JSON array of CSL items) or RIS. Each record
# keeps its DOI, arXiv id, author names and year, so the same paper from a Zotero export and from
# a daily-papers page is one paper (see dedupe: DOI, then arXiv id, then normalised title).

_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.I)
# arXiv ids, new style (2309.00001) and old style (hep-th/9901001); a version suffix is dropped.
_ARXIV_ID = r"(\d{4}\.\d{4,5}|[a-z][a-z.-]+/\d{7})(?:v\d+)?"
_ARXIV_DOI = re.compile(rf"^10\.48550/arxiv\.{_ARXIV_ID}$", re.I)
_ARXIV_URL = re.compile(rf"arxiv\.org/(?:abs|pdf)/{_ARXIV_ID}", re.I)
_ARXIV_NOTE = re.compile(rf"\barxiv:\s*{_ARXIV_ID}", re.I)
# Rich-text markup Zotero and Crossref put in titles and abstracts (<i>, <sup>, <jats:p>, …).
_MARKUP_TAG = re.compile(
    r"</?(?:jats:)?(?:i|b|em|strong|sup|sub|sc|span|u|p|italic|bold|title|sec|inline-formula)\b[^<>]*>", re.I
)
# How much of a bad record's title an error message quotes.
_TITLE_IN_ERROR = 60


def normalize_doi(value: str) -> str | None:
    """'https://doi.org/10.1/ABC' -> '10.1/abc' (DOIs are case-insensitive); None if not a DOI."""
    m = _DOI.match(value.strip())
    return m.group(1).lower().rstrip(".") if m else None


def arxiv_id_of(*texts: str) -> str | None:
    """The arXiv id named by an arXiv DOI, an arxiv.org link or an 'arXiv:2309.00001' note."""
    for text in texts:
        doi = normalize_doi(text)
        m = (_ARXIV_DOI.match(doi) if doi else None) or _ARXIV_URL.search(text) or _ARXIV_NOTE.search(text)
        if m:
            return m.group(1).lower()
    return None


def identifier_keys(p: Paper) -> list[str]:
    """The keys that make two records one paper before their titles are compared."""
    return [f"{kind}:{v}" for kind, v in (("doi", p.doi), ("arxiv", p.arxiv_id)) if v]


def fill_identifiers(p: Paper) -> Paper:
    """DOI and arXiv id from the paper's links when its source had no such fields (BibTeX doi and
    eprint, a JSONL arXiv id, an Atom entry id)."""
    if p.doi is None:
        p.doi = next((d for d in map(normalize_doi, p.links) if d), None)
    if p.arxiv_id is None:
        p.arxiv_id = arxiv_id_of(*p.links)
    return p


def identifier_index(known: Iterable[Paper]) -> dict[str, str]:
    """Identifier key (`identifier_keys`) -> the id of the paper that has it."""
    return {name: k.id for k in known for name in identifier_keys(k)}


def adopt_known_ids(papers: list[Paper], by_name: Mapping[str, str]) -> list[Paper]:
    """An incoming paper whose DOI or arXiv id is already indexed under another title takes that
    paper's id, so it updates it instead of becoming a second copy (same title: same id anyway).
    `by_name`: identifier key -> indexed paper id (`identifier_index`, or the catalog's)."""
    if not by_name:
        return papers
    out: dict[str, Paper] = {}
    for p in papers:
        pid = next((by_name[n] for n in identifier_keys(p) if n in by_name), p.id)
        if pid in out:  # two incoming records of one indexed paper (one by DOI, one by arXiv id)
            out[pid] = merge_papers(out[pid], p)
        else:
            out[pid] = p if pid == p.id else p.model_copy(update={"id": pid})
    return list(out.values())


def _strip_markup(text: str) -> str:
    import html

    return html.unescape(_MARKUP_TAG.sub("", text))


def _bibliographic(
    file: str,
    line: int,
    where: str,
    *,
    title: str,
    abstract: str,
    date: str | None,
    authors: list[str],
    doi: str | None,
    links: list[str],
    notes: Iterable[str] = (),
    fields: tuple[str, str],
) -> Paper | IngestError:
    """One paper from a bibliographic record (CSL JSON, RIS), or the reason naming the field
    (`fields`: what the format calls the title and the abstract)."""
    title, abstract = clean_text(_strip_markup(title)), clean_text(_strip_markup(abstract))
    if not title:
        return IngestError(file=file, line=line, reason=f"{where}: no title ({fields[0]}); skipped")
    if not abstract:
        reason = f"{where} ('{title[:_TITLE_IN_ERROR]}'): no abstract ({fields[1]}); skipped"
        return IngestError(file=file, line=line, reason=reason)
    rec = _record(file, line, title, abstract, date=date, authors=authors, links=links)
    if isinstance(rec, IngestError):  # not reached: title and abstract were checked above
        return rec
    rec.doi = normalize_doi(doi) if doi else None
    rec.arxiv_id = arxiv_id_of(*filter(None, [doi, *links, *notes]))
    rec.author_names = [clean_text(a) for a in authors if a.strip()]
    if rec.doi:
        rec.links = list(dict.fromkeys([*rec.links, f"https://doi.org/{rec.doi}"]))
    return rec


def _csl_date(value: Any) -> str | None:
    """A CSL date ({"date-parts": [[2023, 9, 16]]}, or {"raw": "2023-09-16"}) as text."""
    if not isinstance(value, dict):
        raise ValueError
    parts = value.get("date-parts")
    if parts is None:
        raw = value.get("raw") or value.get("literal")
        if raw is not None and not isinstance(raw, str):
            raise ValueError
        return raw or None
    if not (isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]):
        raise ValueError
    numbers = [int(x) for x in parts[0][:3]]  # Zotero writes them as numbers or as strings
    return "-".join([f"{numbers[0]:04d}", *(f"{n:02d}" for n in numbers[1:])])


def _csl_name(name: Any) -> str:
    if not isinstance(name, dict):
        raise ValueError
    literal = name.get("literal")
    given, family = name.get("given", ""), name.get("family", "")
    if not all(isinstance(x, str) for x in (given, family, literal or "")):
        raise ValueError
    return str(literal or " ".join(x for x in (given, family) if x)).strip()


def _json_array_items(text: str) -> tuple[list[tuple[int, Any]], IngestError | None]:
    """The items of a top-level JSON array with the line each starts on. A syntax error stops
    the reading there; the items before it are kept."""
    import json

    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    i = text.index("[") + 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i < len(text) and text[i] == "]":
            return items, None
        line = text.count("\n", 0, i) + 1
        try:
            obj, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            where = f"record {len(items) + 1}: " if i < len(text) else ""
            return items, IngestError(file="", line=e.lineno, reason=f"{where}invalid JSON: {e.msg}")
        except RecursionError:
            return items, IngestError(file="", line=line, reason="invalid JSON: nested too deeply")
        items.append((line, obj))


def looks_like_csl_json(text: str) -> bool:
    """A JSON array whose first item has a key only CSL uses (the arXiv/JSONL shape has none)."""
    head = text.lstrip()[:4000]
    return head.startswith("[") and bool(
        re.search(r'"(?:issued|container-title|citation-key|DOI|URL)"\s*:|"author"\s*:\s*\[\s*\{', head)
    )


def parse_csl_json(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """CSL JSON, as Zotero's "Export Library… → CSL JSON" writes it: a JSON array of items."""
    papers: list[Paper] = []
    errors: list[IngestError] = []
    items, broken = _json_array_items(text)
    for n, (line, item) in enumerate(items, 1):
        where = f"record {n}"
        if not isinstance(item, dict):
            errors.append(IngestError(file=name, line=line, reason=f"{where}: not a JSON object; skipped"))
            continue
        bad = next((k for k in _CSL_TEXT_FIELDS if not isinstance(item.get(k, ""), str)), None)
        if bad is None:
            try:
                authors = [_csl_name(a) for a in item.get("author") or []]
            except (ValueError, TypeError):
                bad = "author"
        if bad is None:
            try:
                date = _csl_date(item["issued"]) if item.get("issued") else None
            except (ValueError, TypeError):
                bad = "issued"
        if bad is not None:
            reason = f"{where}: field '{bad}' is malformed ({_CSL_SHAPES[bad]}); skipped"
            errors.append(IngestError(file=name, line=line, reason=reason))
            continue
        rec = _bibliographic(
            name,
            line,
            where,
            title=item.get("title", ""),
            abstract=item.get("abstract", ""),
            date=date,
            authors=authors,
            doi=item.get("DOI"),
            links=[item["URL"]] if item.get("URL") else [],
            notes=[item.get("number", ""), item.get("note", "")],
            fields=("field 'title'", "field 'abstract'"),
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    if broken is not None:
        errors.append(broken.model_copy(update={"file": name}))
    return papers, errors


_CSL_TEXT_FIELDS = ("title", "abstract", "DOI", "URL", "number", "note")
_CSL_SHAPES = {
    **dict.fromkeys(_CSL_TEXT_FIELDS, "text expected"),
    "author": 'a list of {"family": …, "given": …} names expected',
    "issued": '{"date-parts": [[year, month, day]]} expected',
}

# A RIS tag line: two characters, two spaces, a dash ("TY  - JOUR"); "ER  -" ends a record.
_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
_RIS_DATE = re.compile(r"^(\d{4})(?:[/-](\d{1,2})?(?:[/-](\d{1,2})?)?)?")


def _ris_date(*values: Any) -> str | None:
    """'2023/09/16/' (DA, Y1) or '2023' (PY) as '2023-09-16' / '2023'; the first that parses."""
    for value in values:
        m = _RIS_DATE.match(str(value or "").strip())
        if m:
            return "-".join([m.group(1), *(f"{int(g):02d}" for g in m.groups()[1:] if g)])
    return None


def _ris_records(text: str, name: str) -> tuple[list[tuple[int, int, str]], list[IngestError]]:
    """Split a RIS file into (record number, start line, text) per record; text outside a record,
    and a record that never ends ("ER  -"), are reported with their line."""
    records: list[tuple[int, int, str]] = []
    errors: list[IngestError] = []
    started, start = 0, 0  # records begun so far; the line the open one began on (0: none open)
    lines: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        m = _RIS_TAG.match(raw.rstrip())
        tag = m.group(1) if m else None
        if tag == "TY":
            if start:
                reason = f"record {started}: no 'ER  -' line before the next 'TY'; skipped"
                errors.append(IngestError(file=name, line=start, reason=reason))
            started, start, lines = started + 1, lineno, [raw]
        elif not start:
            if raw.strip():
                reason = "text outside a record (a record starts with 'TY  - '); ignored"
                errors.append(IngestError(file=name, line=lineno, reason=reason))
        else:
            lines.append(raw)
            if tag == "ER":
                records.append((started, start, "\n".join(lines)))
                start = 0
    if start:
        reason = f"record {started}: no 'ER  -' line (the file ends inside it); skipped"
        errors.append(IngestError(file=name, line=start, reason=reason))
    return records, errors


def parse_ris(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """RIS (Zotero's "Export Library… → RIS"), read record by record with `rispy`."""
    import rispy

    papers: list[Paper] = []
    records, errors = _ris_records(text, name)
    for n, line, chunk in records:
        where = f"record {n}"
        try:
            (entry,) = rispy.loads(chunk)
        except Exception as e:  # rispy's own checks on a record
            errors.append(
                IngestError(
                    file=name, line=line, reason=f"{where}: not a RIS record ({first_line(e)}); skipped"
                )
            )
            continue
        urls = [u for u in entry.get("urls", []) if isinstance(u, str)]
        rec = _bibliographic(
            name,
            line,
            where,
            title=entry.get("title") or entry.get("primary_title") or "",
            abstract=entry.get("abstract") or entry.get("notes_abstract") or "",
            date=_ris_date(entry.get("date"), entry.get("publication_year"), entry.get("year")),
            authors=[
                a.strip() for a in entry.get("authors") or entry.get("first_authors") or [] if a.strip()
            ],
            doi=entry.get("doi"),
            links=urls,
            notes=[entry.get("note", ""), *entry.get("notes", []), entry.get("accession_number", "")],
            fields=("tag TI or T1", "tag AB or N2"),
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    if not records and not errors:
        errors.append(IngestError(file=name, line=None, reason="no RIS records found"))
    return papers, sorted(errors, key=lambda e: e.line or 0)


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
        raw.extend(_draft_to_paper(d, page) for d in parsed.drafts)
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
