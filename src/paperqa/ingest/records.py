"""What every format's record goes through: text cleaning (LaTeX and markup), links, DOIs and arXiv ids,
and `record` / `bibliographic_record`, which turn one record's fields into a `Paper` or an `IngestError`.

May touch: nothing but the text it is given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from ..types import IngestError, Paper, paper_id_for

# Most characters of a parser's error quoted in a skipped file's reason (it can hold a whole record).
QUOTED_ERROR_CHARS = 120


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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


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
    text = _CONTROL.sub(" ", text)  # a terminal escape in a title would reach `paperqa papers`
    return re.sub(r"\s+", " ", text).strip()


def extract_links(text: str) -> list[str]:
    links: list[str] = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:")
        if url not in links:
            links.append(url)
    return links


def record(
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


def arxiv_link(arxiv_id: Any) -> list[str]:
    return [f"https://arxiv.org/abs/{arxiv_id}"] if arxiv_id else []


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


def fill_identifiers(p: Paper) -> Paper:
    """DOI and arXiv id from the paper's links when its source had no such fields (BibTeX doi and
    eprint, a JSONL arXiv id, an Atom entry id)."""
    if p.doi is None:
        p.doi = next((d for d in map(normalize_doi, p.links) if d), None)
    if p.arxiv_id is None:
        p.arxiv_id = arxiv_id_of(*p.links)
    return p


def _strip_markup(text: str) -> str:
    import html

    return html.unescape(_MARKUP_TAG.sub("", text))


def bibliographic_record(
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
    rec = record(file, line, title, abstract, date=date, authors=authors, links=links)
    if isinstance(rec, IngestError):  # not reached: title and abstract were checked above
        return rec
    rec.doi = normalize_doi(doi) if doi else None
    rec.arxiv_id = arxiv_id_of(*filter(None, [doi, *links, *notes]))
    rec.author_names = [clean_text(a) for a in authors if a.strip()]
    if rec.doi:
        rec.links = list(dict.fromkeys([*rec.links, f"https://doi.org/{rec.doi}"]))
    return rec
