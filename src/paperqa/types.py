"""Typed domain objects passed between the pipeline stages.

ingest -> Paper;  index -> (stores Papers, returns ChunkHit);  retrieve -> Source;
answer -> Answer (with Citation).  Nothing here touches chromadb / llama-index / openai.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from .text import cited_numbers, normalize_title

_HTTP_URL = re.compile(r"https?://[^/?#\s]+\S*", re.IGNORECASE)
_UNSAFE_IN_LINK = set('{}\\<>"`')
_DOI_LINK = re.compile(r"(?:doi:\s*)?(10\.\d{4,9}/\S+)", re.IGNORECASE)


def http_link(url: str) -> str | None:
    """A link a reader may follow: an http(s) URL (outer spaces removed), a DOI as
    https://doi.org/…, else None. `javascript:`, `data:`, `vbscript:`, `file:` and every other
    scheme, in any case and behind any spaces or control characters, are no links."""
    text = url.strip(" \t\r\n\f\v\x00") if isinstance(url, str) else ""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in _UNSAFE_IN_LINK for ch in text):
        # A browser drops tabs and newlines inside a URL ("java\tscript:" runs); braces, quotes
        # and angle brackets are never raw in a URL, and would close a BibTeX field or an attribute.
        return None
    if _HTTP_URL.fullmatch(text):
        return text
    doi = _DOI_LINK.fullmatch(text)
    return f"https://doi.org/{doi.group(1)}" if doi else None


def paper_id_for(title: str) -> str:
    """Stable, content-derived paper id: the same title gives the same id in every
    file format and on every machine."""
    return "p" + hashlib.sha1(normalize_title(title).encode()).hexdigest()[:12]


class Paper(BaseModel):
    """One paper, after deduplication across every page it appeared on."""

    id: str = Field(description="Stable id derived from the normalised title.")
    title: str
    abstract: str
    date: str | None = Field(None, description="ISO date (YYYY-MM-DD) when the page gives a year.")
    date_text: str | None = Field(None, description="The date exactly as the page shows it.")
    authors: int | None = Field(None, description="Author count ('• 6 authors').")
    upvotes: int | None = None
    organization: str | None = None
    links: list[str] = Field(default_factory=list, description="URLs found in the abstract.")
    pages: list[str] = Field(default_factory=list, description="Every source page it came from.")
    locations: list[str] = Field(default_factory=list, description="file:line of each occurrence.")
    doi: str | None = Field(None, description="Normalised DOI (lower case, no resolver prefix).")
    arxiv_id: str | None = Field(None, description="arXiv identifier without its version ('2309.00001').")
    author_names: list[str] = Field(
        default_factory=list, description="Author names, when the source lists them."
    )

    @field_validator("links", mode="before")
    @classmethod
    def _http_links_only(cls, links: object) -> object:
        """Every format's links, and every paper read back from a store, pass here: a link that
        is not http(s) is dropped (the paper is kept)."""
        if not isinstance(links, list):
            return links
        kept = [u for u in (http_link(x) for x in links if isinstance(x, str)) if u]
        return list(dict.fromkeys(kept))

    @property
    def text_hash(self) -> str:
        """Hash of what gets embedded: a change here means re-embedding."""
        return hashlib.sha1(f"{self.title}\n{self.abstract}".encode()).hexdigest()[:16]

    @property
    def meta_hash(self) -> str:
        """Hash of everything; a change with the same text_hash is a metadata-only update.
        Identifier fields left empty are not hashed, so papers stored before they existed keep
        their hash (no metadata rewrite of the whole index on upgrade)."""
        empty = {name for name in _IDENTIFIER_FIELDS if not getattr(self, name)}
        return hashlib.sha1(self.model_dump_json(exclude=empty).encode()).hexdigest()[:16]

    @property
    def shown_date(self) -> str:
        """The date a reader sees: ISO when the page gave a year, else as the page wrote it
        ("May 25"); "" when it gave none."""
        return self.date or self.date_text or ""

    def mentions(self, text: str) -> bool:
        """Whether the title, the abstract or the author names contain `text`, in any case (an
        empty text is in every paper): what a corpus search matches."""
        needle = text.strip().lower()
        return (
            needle in self.title.lower()
            or needle in self.abstract.lower()
            or needle in "; ".join(self.author_names).lower()
        )

    def public_dict(self) -> dict[str, object]:
        """The `paperqa papers --json` shape."""
        return {
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "date": self.shown_date or None,
            "authors": self.authors,
            "upvotes": self.upvotes,
            "organization": self.organization,
            "links": self.links,
            "pages": self.pages,
            "doi": self.doi,
            "arxiv_id": self.arxiv_id,
            "author_names": self.author_names,
        }


# Fields added for bibliographic exports (Zotero's CSL JSON and RIS, BibTeX): see Paper.meta_hash.
_IDENTIFIER_FIELDS = ("doi", "arxiv_id", "author_names")


class IngestError(BaseModel):
    """A record that could not be ingested, or was skipped on purpose."""

    file: str
    line: int | None = None
    reason: str


class ParseResult(BaseModel):
    papers: list[Paper] = Field(default_factory=list)
    errors: list[IngestError] = Field(default_factory=list)
    skipped: int = 0


class IngestReport(BaseModel):
    papers: int = Field(description="Papers now in the index.")
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[IngestError] = Field(default_factory=list)
    seconds: float = 0.0


class ChunkHit(BaseModel):
    """A chunk returned by a search, with its score (higher is better)."""

    paper_id: str
    chunk_id: str
    text: str
    score: float
    record: dict[str, Any] | None = Field(
        None,
        exclude=True,
        repr=False,
        description="The chunk's stored metadata while its text is not read yet (see "
        "PaperIndex.with_texts): a search reads the texts of the papers it returns only.",
    )


class Source(BaseModel):
    """A paper put in front of the model, numbered n (1-based)."""

    n: int
    paper: Paper
    score: float = Field(description="Fused retrieval score (higher is better).")
    dense: float = Field(0.0, description="Best cosine similarity of the paper's chunks.")
    keyword: float = Field(0.0, description="BM25 score of the paper.")
    chunks: list[ChunkHit] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="Sentences shown to the LLM.")


class Citation(BaseModel):
    n: int
    paper_id: str
    title: str
    supported: bool = True


Style = Literal["factoid", "comparison", "summary", "listing"]


class PriorTurn(BaseModel):
    """An earlier turn of a conversation as a follow-up needs it: the question, and the papers its
    answer's lead cited — what "it", "the paper" or "they" in the next question refer to."""

    question: str
    papers: list[str] = Field(default_factory=list, description="Paper ids the answer's lead cites.")


def asked(turn: str | PriorTurn) -> str:
    """The question of an earlier turn, given as its text or as a `PriorTurn`."""
    return turn.question if isinstance(turn, PriorTurn) else turn


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool = False
    forced: bool = Field(
        False, description="Answered although retrieval judged the corpus not to cover the question."
    )
    style: Style = "factoid"
    citations: list[Citation] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list, description="What the verifier changed.")
    standalone_question: str | None = None

    def lead_papers(self) -> list[str]:
        """The ids of the papers the answer's lead (its first cited paragraph) cites, in order; none
        for a refusal."""
        if self.refused:
            return []
        by_n = {s.n: s.paper.id for s in self.sources}
        for para in re.split(r"\n[ \t]*\n", self.answer):
            ns = [n for n in cited_numbers(para) if n in by_n]
            if ns:
                return list(dict.fromkeys(by_n[n] for n in ns))
        return []

    def as_prior(self) -> PriorTurn:
        """This answer as the earlier turn of a follow-up."""
        return PriorTurn(question=self.question, papers=self.lead_papers())

    def to_json_dict(self) -> dict[str, object]:
        """The `paperqa ask --json` shape."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "forced": self.forced,
            "style": self.style,
            "citations": [c.model_dump() for c in self.citations],
            "sources": [
                {"n": s.n, "paper_id": s.paper.id, "title": s.paper.title, "score": round(s.score, 4)}
                for s in self.sources
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "notes": self.notes,
        }
